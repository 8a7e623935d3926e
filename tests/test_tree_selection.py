"""Body selection: which parts are the text body, the HTML body and the
attachments (RFC 8621 section 4.1.4, with mimekit's two deviations: inline
media are attachments too, and no part is left out of every list).

The messages are built from a small tree notation; every leaf's body is a
short label, so a selection reads as a list of labels.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from corpus_files import corpus_id, message_files

import mimekit

_boundaries = itertools.count(1)


def leaf(label: str, ctype: str = "text/plain", *headers: str) -> bytes:
    """A body part whose body is ``label``; ``ctype=""`` leaves Content-Type out."""
    lines = ([f"Content-Type: {ctype}"] if ctype else []) + list(headers)
    return ("".join(line + "\r\n" for line in lines) + "\r\n" + label).encode()


def multi(subtype: str, *children: bytes, extra: str = "") -> bytes:
    """A multipart of the given children."""
    b = f"b{next(_boundaries)}".encode()
    out = b"Content-Type: multipart/" + subtype.encode() + b"; boundary=\"" + b + b"\"\r\n"
    out += extra.encode() + b"\r\n"
    for child in children:
        out += b"--" + b + b"\r\n" + child + b"\r\n"
    return out + b"--" + b + b"--\r\n"


def attached(inner: bytes, *headers: str) -> bytes:
    """A message/rfc822 part holding ``inner`` (a whole message)."""
    head = "".join(h + "\r\n" for h in ("Content-Type: message/rfc822", *headers))
    return head.encode() + b"\r\n" + inner


def label(part: mimekit.Part) -> str:
    if part.message is not None:
        return f"msg:{part.message.subject}"
    return part.get_bytes().decode()


def select(raw: bytes) -> tuple[list[str], list[str], list[str]]:
    msg = mimekit.parse(raw)
    assert bytes(msg) == raw
    return ([label(p) for p in msg.text_parts], [label(p) for p in msg.html_parts],
            [label(p) for p in msg.attachments])


INLINE = "Content-Disposition: inline"
ATTACHMENT = "Content-Disposition: attachment"


# -- single parts -------------------------------------------------------------------


def test_plain_text_message_is_both_bodies() -> None:
    assert select(b"Subject: s\r\n\r\nhello") == (["hello"], ["hello"], [])


def test_html_message_is_both_bodies() -> None:
    raw = b"Content-Type: text/html\r\n\r\n<p>hi"
    assert select(raw) == (["<p>hi"], ["<p>hi"], [])


def test_missing_content_type_is_plain_text() -> None:
    assert select(multi("mixed", leaf("A", ""), leaf("B", ""))) == (
        ["A", "B"], ["A", "B"], [])


def test_single_attachment_message() -> None:
    raw = leaf("%PDF", "application/pdf", ATTACHMENT + "; filename=a.pdf")
    assert select(raw) == ([], [], ["%PDF"])


# -- multipart/alternative ----------------------------------------------------------


def test_alternative_splits_text_and_html() -> None:
    raw = multi("alternative", leaf("T"), leaf("H", "text/html"))
    assert select(raw) == (["T"], ["H"], [])
    msg = mimekit.parse(raw)
    assert msg.text_body is not None and msg.text_body.get_bytes() == b"T"
    assert msg.html_body is not None and msg.html_body.get_bytes() == b"H"


def test_alternative_with_html_only_fills_the_text_view() -> None:
    raw = multi("alternative", leaf("H", "text/html"))
    assert select(raw) == (["H"], ["H"], [])
    # text_body is only ever a text/plain part.
    assert mimekit.parse(raw).text_body is None


def test_alternative_with_text_only_fills_the_html_view() -> None:
    assert select(multi("alternative", leaf("T"))) == (["T"], ["T"], [])


def test_calendar_and_image_in_alternative_are_attachments() -> None:
    raw = multi("alternative", leaf("T"), leaf("H", "text/html"),
                leaf("ICS", "text/calendar; method=REQUEST"), leaf("IMG", "image/png"))
    assert select(raw) == (["T"], ["H"], ["ICS", "IMG"])


def test_attachment_disposition_in_alternative() -> None:
    raw = multi("alternative", leaf("T"), leaf("H", "text/html", ATTACHMENT))
    assert select(raw) == (["T"], ["T"], ["H"])


# -- multipart/related --------------------------------------------------------------


def test_related_inline_image_with_cid_is_an_attachment_only() -> None:
    related = multi("related", leaf('<img src="cid:logo@x">', "text/html"),
                    leaf("PNG", "image/png", "Content-ID: <logo@x>", INLINE))
    raw = multi("alternative", leaf("T"), related)
    assert select(raw) == (["T"], ['<img src="cid:logo@x">'], ["PNG"])


def test_related_root_text_and_resources() -> None:
    raw = multi("related", leaf("H", "text/html"), leaf("CSS", "text/css"),
                leaf("T", "text/plain"))
    # After the root, even a text/plain part of a related is a resource.
    assert select(raw) == (["H"], ["H"], ["CSS", "T"])


def test_related_whose_root_is_an_image() -> None:
    raw = multi("related", leaf("PNG", "image/png"), leaf("H", "text/html"))
    assert select(raw) == (["PNG"], ["PNG"], ["PNG", "H"])


# -- multipart/mixed and inline media ------------------------------------------------


def test_mixed_inline_image_is_body_and_attachment() -> None:
    """Deviation 1: a photo between two texts (as Apple Mail sends it)."""
    raw = multi("mixed", leaf("A"), leaf("PNG", "image/png", INLINE + "; filename=p.png"),
                leaf("B"))
    assert select(raw) == (["A", "PNG", "B"], ["A", "PNG", "B"], ["PNG"])


def test_mixed_audio_and_video_without_disposition() -> None:
    raw = multi("mixed", leaf("A"), leaf("MP3", "audio/mpeg"), leaf("AVI", "video/avi"))
    assert select(raw) == (["A", "MP3", "AVI"], ["A", "MP3", "AVI"], ["MP3", "AVI"])


def test_mixed_image_with_attachment_disposition() -> None:
    raw = multi("mixed", leaf("A"), leaf("PNG", "image/png", ATTACHMENT + "; filename=p.png"))
    assert select(raw) == (["A"], ["A"], ["PNG"])


def test_alternative_then_inline_images() -> None:
    raw = multi("mixed", multi("alternative", leaf("T"), leaf("H", "text/html")),
                leaf("JPG", "image/jpeg"), leaf("GIF", "image/gif", INLINE))
    assert select(raw) == (["T", "JPG", "GIF"], ["H", "JPG", "GIF"], ["JPG", "GIF"])


def test_alternative_branch_with_inline_image() -> None:
    # Inside the HTML branch the text view is closed; the image goes to the
    # HTML view and the attachments.
    html_branch = multi("mixed", leaf("H", "text/html"), leaf("PNG", "image/png"))
    raw = multi("alternative", leaf("T"), html_branch)
    assert select(raw) == (["T"], ["H", "PNG"], ["PNG"])


def test_application_parts_are_attachments() -> None:
    raw = multi("mixed", leaf("A"), leaf("ZIP", "application/zip"),
                leaf("BIN", "application/octet-stream", INLINE))
    assert select(raw) == (["A"], ["A"], ["ZIP", "BIN"])


# -- text parts with file names and dispositions --------------------------------------


def test_named_text_part_after_the_first_is_an_attachment() -> None:
    raw = multi("mixed", leaf("A"), leaf("NOTES", "text/plain; name=notes.txt"),
                leaf("PAGE", "text/html", INLINE + "; filename=page.html"))
    assert select(raw) == (["A"], ["A"], ["NOTES", "PAGE"])


def test_named_text_part_first_is_the_body() -> None:
    raw = multi("mixed", leaf("A", "text/plain", INLINE + "; filename=a.txt"), leaf("B"))
    assert select(raw) == (["A", "B"], ["A", "B"], [])


def test_inline_disposition_without_name_is_body() -> None:
    raw = multi("mixed", leaf("A"), leaf("B", "text/plain", INLINE))
    assert select(raw) == (["A", "B"], ["A", "B"], [])


def test_attachment_disposition_wins_even_first() -> None:
    raw = multi("mixed", leaf("A", "text/plain", ATTACHMENT), leaf("B"))
    assert select(raw) == (["B"], ["B"], ["A"])


def test_other_text_types_are_attachments() -> None:
    raw = multi("mixed", leaf("A"), leaf("RTF", "text/enriched"), leaf("V", "text/x-vcard"))
    assert select(raw) == (["A"], ["A"], ["RTF", "V"])


# -- attached messages ----------------------------------------------------------------


def test_attached_message_is_an_attachment_with_its_own_bodies() -> None:
    inner = b"Subject: inner\r\n" + multi(
        "mixed", leaf("inner text"), leaf("GIF", "image/gif", INLINE + "; filename=m.gif"),
        leaf("DOC", "application/msword", ATTACHMENT + "; filename=d.doc"))
    raw = multi("mixed", leaf("outer text"), attached(inner, INLINE))
    assert select(raw) == (["outer text"], ["outer text"], ["msg:inner"])
    msg = mimekit.parse(raw)
    nested = msg.attachments[0].message
    assert nested is not None
    assert [label(p) for p in nested.text_parts] == ["inner text", "GIF"]
    assert [label(p) for p in nested.attachments] == ["GIF", "DOC"]


def test_message_in_alternative_is_an_attachment() -> None:
    raw = multi("alternative", leaf("T"), attached(b"Subject: fwd\r\n\r\nx"))
    assert select(raw) == (["T"], ["T"], ["msg:fwd"])


def test_digest_parts_default_to_messages() -> None:
    # No Content-Type in a digest means message/rfc822 (RFC 2046 section 5.1.5).
    raw = multi("digest", leaf("Subject: one\r\n\r\n1", ""), leaf("Subject: two\r\n\r\n2", ""))
    assert select(raw) == ([], [], ["msg:one", "msg:two"])


# -- deviation 2: no part is lost -------------------------------------------------------


def test_html_after_text_in_an_alternative_branch_is_kept() -> None:
    # The pseudo-code closes the HTML view at the text part and the text view
    # at the HTML part, and then drops the HTML part altogether.
    raw = multi("alternative", multi("mixed", leaf("T"), leaf("H", "text/html")))
    assert select(raw) == (["T"], ["T"], ["H"])


def test_alternative_nested_in_a_closed_branch_keeps_its_parts() -> None:
    inner = multi("alternative", leaf("T2"), leaf("H2", "text/html"))
    raw = multi("alternative", multi("mixed", leaf("T1"), inner))
    # The mixed branch closed the HTML view, so H2 has no view to go to.
    assert select(raw) == (["T1", "T2"], ["T1", "T2"], ["H2"])


# -- on every corpus message -------------------------------------------------------------


def _own_leaves(msg: mimekit.Part) -> list[mimekit.Part]:
    leaves, stack = [], [msg]
    while stack:
        part = stack.pop()
        if part.is_multipart:
            stack.extend(reversed(part.parts))
        else:
            leaves.append(part)
    return leaves


FILES = message_files()


@pytest.mark.parametrize("path", FILES, ids=[corpus_id(p) for p in FILES])
def test_every_leaf_is_selected_once_per_list(path: Path) -> None:
    msg = mimekit.parse(path.read_bytes())
    lists = (msg.text_parts, msg.html_parts, msg.attachments)
    for parts in lists:
        assert len({id(p) for p in parts}) == len(parts)
    # Files found inside text (uuencode, yEnc) are virtual parts, not leaves.
    virtual = [p for p in msg.attachments if p.embedded_in is not None]
    assert all(p.embedded_in in msg.text_parts for p in virtual)
    selected = {id(p) for parts in lists for p in parts if p.embedded_in is None}
    leaves = _own_leaves(msg)
    assert selected == {id(p) for p in leaves}
    # Body lists hold only what a client can draw.
    for part in (*msg.text_parts, *msg.html_parts):
        mime_type = part.content_type.mime_type
        assert mime_type in ("text/plain", "text/html") or mime_type.startswith(
            ("image/", "audio/", "video/"))
