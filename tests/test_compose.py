"""mimekit.compose: structure, encodings, header fields, argument checking."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from test_compose_stdlib import assert_same, check_invariants

import mimekit
from mimekit import AddressList, Group, Mailbox
from mimekit.tree._compose import make_message_id

DATE = datetime(2024, 5, 17, 9, 30, tzinfo=timezone(timedelta(hours=2)))


def compose(**kwargs: object) -> mimekit.Message:
    """compose with a fixed date and id unless given, checked for the
    invariants and for agreement with CPython."""
    kwargs.setdefault("date", DATE)
    kwargs.setdefault("message_id", "fixed@example.org")
    msg = mimekit.compose(**kwargs)  # type: ignore[arg-type]
    raw = bytes(msg)
    utf8 = bool(kwargs.get("utf8"))
    linesep = kwargs.get("linesep", "\r\n")
    assert isinstance(linesep, str)
    check_invariants(raw, utf8=utf8, linesep=linesep.encode())
    assert_same(raw, utf8=utf8)
    assert bytes(mimekit.parse(raw)) == raw
    return msg


def shape(part: mimekit.Part) -> object:
    """The tree as nested (mime_type, [children]) for structure checks."""
    if part.is_multipart:
        return (part.content_type.mime_type, [shape(p) for p in part.parts])
    return part.content_type.mime_type


def cte(part: mimekit.Part) -> str:
    return part.transfer_encoding


# -- structure -------------------------------------------------------------------


def test_text_only_is_a_single_part() -> None:
    msg = compose(from_="a@x.org", to="b@y.org", subject="hi", text="Hello\n")
    assert shape(msg) == "text/plain"
    assert msg.content_type.charset == "us-ascii"
    assert cte(msg) == "7bit"
    assert msg.text_body is msg
    assert msg.get_text() == "Hello\r\n"
    assert msg.headers.names() == ["Date", "From", "Subject", "To", "Message-ID",
                                   "MIME-Version", "Content-Type",
                                   "Content-Transfer-Encoding"]


def test_html_only() -> None:
    msg = compose(from_="a@x.org", html="<p>hi</p>")
    assert shape(msg) == "text/html"
    assert msg.html_body is msg


def test_text_and_html_make_an_alternative_text_first() -> None:
    msg = compose(from_="a@x.org", text="plain", html="<b>rich</b>")
    assert shape(msg) == ("multipart/alternative", ["text/plain", "text/html"])
    assert msg.text_body is not None and msg.text_body.get_text() == "plain"
    assert msg.html_body is not None and msg.html_body.get_text() == "<b>rich</b>"
    assert msg.attachments == []


def test_inline_parts_make_a_related_around_the_html() -> None:
    msg = compose(from_="a@x.org", text="plain", html='<img src="cid:logo@x.org">',
                  inline={"logo@x.org": ("logo.png", b"\x89PNG", "image/png")},
                  attachments=[("a.pdf", b"%PDF")])
    assert shape(msg) == ("multipart/mixed", [
        ("multipart/alternative", ["text/plain", ("multipart/related",
                                                  ["text/html", "image/png"])]),
        "application/pdf"])
    related = msg.parts[0].parts[1]
    # RFC 2387 section 3.1: the type parameter names the root's type.
    assert related.content_type.params["type"] == "text/html"
    image = related.parts[1]
    assert image.content_id == "logo@x.org"
    assert image.disposition == "inline"
    assert image.filename == "logo.png"
    assert msg.html_body is related.parts[0]
    assert [p.filename for p in msg.attachments] == ["logo.png", "a.pdf"]


@pytest.mark.parametrize("cid", ["logo@x.org", "<logo@x.org>", "cid:logo@x.org"])
def test_inline_as_four_tuples(cid: str) -> None:
    msg = compose(html='<img src="cid:logo@x.org">',
                  inline=[("logo.png", b"PNG", None, cid)])
    assert shape(msg) == ("multipart/related", ["text/html", "image/png"])
    assert msg.parts[1].content_id == "logo@x.org"


def test_make_message_id_serves_as_content_id() -> None:
    cid = make_message_id("x.org")
    assert re.fullmatch(r"[0-9a-f]+\.[0-9a-f]{24}@x\.org", cid)
    msg = compose(html=f'<img src="cid:{cid}">', inline={cid: ("a.gif", b"GIF89a")})
    assert msg.parts[1].content_id == cid
    assert make_message_id() != make_message_id()
    assert make_message_id().endswith("@localhost")
    with pytest.raises(ValueError):
        make_message_id("bad domain")


def test_attachments_only() -> None:
    msg = compose(from_="a@x.org", attachments=[("a.bin", b"\x00\x01")])
    assert shape(msg) == ("multipart/mixed", ["application/octet-stream"])
    assert msg.text_body is None


def test_nothing_at_all_is_an_empty_text_draft() -> None:
    msg = compose()
    assert shape(msg) == "text/plain"
    assert msg.get_text() == ""
    assert "From" not in msg.headers and "To" not in msg.headers
    assert msg.date == DATE and msg.message_id == "fixed@example.org"


# -- transfer encodings ----------------------------------------------------------------


@pytest.mark.parametrize(("text", "encoding", "charset"), [
    ("plain ascii\nlines\n", "7bit", "us-ascii"),
    ("Grüße aus Köln, sonst nur ASCII\n", "quoted-printable", "utf-8"),
    ("Привет, как дела? Всё хорошо.\n" * 3, "base64", "utf-8"),
    ("日本語のテキスト\n", "base64", "utf-8"),
    ("x" * 2000, "quoted-printable", "us-ascii"),
    ("nul\x00inside", "quoted-printable", "us-ascii"),
    ("", "7bit", "us-ascii"),
])
def test_text_encoding_is_chosen_per_part(text: str, encoding: str, charset: str) -> None:
    msg = compose(text=text)
    assert (cte(msg), msg.content_type.charset) == (encoding, charset)
    assert msg.get_text() == text.replace("\n", "\r\n")


def test_utf8_mode_sends_8bit_text() -> None:
    msg = compose(from_="Jörg <jörg@bücher.de>", subject="Grüße", text="Grüße\n", utf8=True)
    assert cte(msg) == "8bit"
    assert "From: Jörg <jörg@bücher.de>\r\n".encode() in bytes(msg)
    assert msg.from_[0] == Mailbox("Jörg", "jörg@bücher.de")
    # Long lines still need an encoding, even in 8bit.
    assert cte(compose(text="ü" * 1000, utf8=True)) == "base64"


def test_line_breaks_become_the_message_line_ending() -> None:
    msg = compose(text="a\nb\r\nc\rd")
    assert msg.get_text() == "a\r\nb\r\nc\r\nd"
    lf = compose(text="a\r\nb\rc\n", html="<p>x</p>", attachments=[("a.txt", b"x\ny\n")],
                 linesep="\n")
    raw = bytes(lf)
    assert b"\r" not in raw
    assert lf.text_body is not None and lf.text_body.get_text() == "a\nb\nc\n"
    assert lf.attachments[0].get_bytes() == b"x\ny\n"
    assert cte(lf.attachments[0]) == "7bit"
    with pytest.raises(ValueError):
        mimekit.compose(linesep="\r")


@pytest.mark.parametrize(("data", "encoding"), [
    (b"ascii text\r\nwith CRLF\r\n", "7bit"),
    (b"bare LF\n", "base64"),
    (b"bare CR\r", "base64"),
    (b"\x00", "base64"),
    (b"\xff\xfe", "base64"),
    (b"y" * 999, "base64"),
    (b"", "7bit"),
])
def test_attachment_encoding(data: bytes, encoding: str) -> None:
    msg = compose(attachments=[("f.txt", data)])
    part = msg.attachments[0]
    assert cte(part) == encoding
    assert part.get_bytes() == data


def test_lines_never_exceed_998_and_headers_fold_at_78() -> None:
    msg = compose(
        from_="Someone With A Rather Long Display Name <someone.long@example.org>",
        to=[f"user{i}@example.org" for i in range(30)],
        subject="word " * 60, text=("x" * 5000 + "\n") * 3)
    raw = bytes(msg)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    assert msg.subject == ("word " * 60)
    assert len(msg.to) == 30


# -- header fields ---------------------------------------------------------------------


def test_addresses_in_every_form() -> None:
    msg = compose(
        from_=("Jörg Müller", "j@bücher.de"),
        to=["a@x.org, \"B, b\" <b@y.org>", Mailbox("C", "c@z.org"), ("", "d@z.org")],
        cc=AddressList([Group("Team", [Mailbox("", "e@z.org")])]),
        bcc=Group("undisclosed-recipients", []),
        reply_to="Liste <list@x.org>", sender="Bot <bot@x.org>")
    assert msg.from_[0] == Mailbox("Jörg Müller", "j@xn--bcher-kva.de")
    assert [m.addr_spec for m in msg.to.mailboxes] == ["a@x.org", "b@y.org", "c@z.org",
                                                        "d@z.org"]
    assert msg.to[1] == Mailbox("B, b", "b@y.org")
    assert isinstance(msg.cc[0], Group) and msg.cc[0].name == "Team"
    assert msg.headers.text("Bcc") == "undisclosed-recipients:;"
    assert msg.reply_to[0] == Mailbox("Liste", "list@x.org")
    assert msg.sender[0] == Mailbox("Bot", "bot@x.org")


def test_bcc_is_kept() -> None:
    msg = compose(from_="a@x.org", to="b@y.org", bcc=["secret@z.org"])
    assert msg.bcc.addr_specs == ("secret@z.org",)


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"to": "Jörg"}, ValueError),                      # no domain
    ({"to": "x@"}, ValueError),
    ({"to": "a@b.c, <broken"}, ValueError),
    ({"to": ("a@x.org", "b@y.org")}, ValueError),      # two addresses, not a pair
    ({"to": 42}, TypeError),
    ({"to": b"a@b.c"}, TypeError),
    ({"to": [("Name", None)]}, ValueError),
    ({"from_": ["a@x.org", "b@x.org"]}, ValueError),   # needs a sender
    ({"from_": Group("G", [])}, ValueError),
    ({"sender": ["a@x.org", "b@x.org"]}, ValueError),
    ({"to": "jörg@x.org"}, ValueError),                # non-ASCII local part needs utf8
    ({"subject": "a\r\nBcc: evil@x.org"}, mimekit.HeaderInjectionError),
    ({"to": "a@x.org\r\nBcc: evil@x.org"}, mimekit.HeaderInjectionError),
    ({"headers": {"X-Evil": "a\nb"}}, mimekit.HeaderInjectionError),
    ({"headers": {"Bad Name": "x"}}, mimekit.InvalidHeaderNameError),
    ({"headers": {"Content-Type": "text/html"}}, ValueError),
    ({"headers": {"Subject": "two"}, "subject": "one"}, ValueError),
    ({"headers": [("Subject", "a"), ("Subject", "b")]}, ValueError),
    ({"headers": {"Date": DATE}, "date": DATE}, ValueError),
    ({"headers": "X-A: b"}, TypeError),
    ({"headers": [("X-A",)]}, TypeError),
    ({"date": datetime(2024, 1, 1)}, ValueError),      # naive
    ({"message_id": "no-at-sign"}, ValueError),
    ({"subject": 1}, TypeError),
    ({"text": b"bytes"}, TypeError),
    ({"text": "lone \ud800 surrogate"}, ValueError),
    ({"inline": {"x@y": ("a.png", b"")}}, ValueError),  # no html
    ({"html": "x", "inline": {"no-at": ("a.png", b"")}}, ValueError),
    ({"html": "x", "inline": [("a.png", b"", None, "a@x"), ("b.png", b"", None, "A@x")]},
     ValueError),
    ({"html": "x", "inline": "a.png"}, TypeError),
    ({"attachments": ("a.pdf", b"")}, TypeError),     # one attachment, not a list
    ({"attachments": ["a.pdf"]}, TypeError),
    ({"attachments": [("a.pdf", 42)]}, TypeError),
    ({"attachments": [("", b"")]}, ValueError),
    ({"attachments": [("a\r\n.pdf", b"")]}, mimekit.HeaderInjectionError),
    ({"attachments": [("a.pdf", b"", "not a type")]}, ValueError),
    ({"attachments": [("a", b"", "multipart/mixed")]}, ValueError),
])
def test_caller_mistakes_raise_at_once(kwargs: dict[str, object],
                                       error: type[Exception]) -> None:
    with pytest.raises(error):
        mimekit.compose(**kwargs)  # type: ignore[arg-type]


def test_generated_date_and_message_id() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    msg = mimekit.compose(from_="a@bücher.de")
    assert msg.date is not None and msg.date >= before
    assert msg.date.utcoffset() is not None
    assert msg.message_id is not None and msg.message_id.endswith("@xn--bcher-kva.de")
    assert msg.headers.text("MIME-Version") == "1.0"
    other = mimekit.compose(from_="a@x.org", domain="mail.example.net")
    assert other.message_id is not None and other.message_id.endswith("@mail.example.net")
    assert mimekit.compose().message_id.endswith("@localhost")  # type: ignore[union-attr]


def test_extra_headers_and_overrides() -> None:
    msg = compose(
        from_="a@x.org", subject="s",
        headers=[("X-Mailer", "mimekit"), ("Keywords", "a, b"), ("X-Tag", "1"),
                 ("X-Tag", "2"), ("MIME-Version", "1.0"), ("In-Reply-To", "<p@x.org>"),
                 ("Comments", "Grüße")],
        date=None, message_id=None)
    assert [h.text for h in msg.headers.get_all("X-Tag")] == ["1", "2"]
    assert msg.headers.text("X-Mailer") == "mimekit"
    assert msg.headers.text("Comments") == "Grüße"
    assert msg.in_reply_to == ["p@x.org"]
    assert len(msg.headers.get_all("MIME-Version")) == 1
    over = compose(headers={"Date": "Fri, 17 May 2024 09:30:00 +0200",
                            "Message-ID": "<given@x.org>"},
                   date=None, message_id=None)
    assert over.date == DATE and over.message_id == "given@x.org"
    assert len(over.headers.get_all("Date")) == 1


# -- attachments -----------------------------------------------------------------------


def test_non_ascii_filenames_are_written_both_ways() -> None:
    msg = compose(attachments=[("Grüße.pdf", b"%PDF")])
    part = msg.attachments[0]
    ct = part.headers["Content-Type"].unfolded
    cd = part.headers["Content-Disposition"].unfolded
    # RFC 2231 for standard readers, RFC 2047 in "name" for Outlook.
    assert "filename*=utf-8''Gr%C3%BC%C3%9Fe.pdf" in cd
    assert "name=\"=?utf-8?" in ct
    assert part.filename == part.content_type.params["name"] == "Grüße.pdf"
    raw = compose(attachments=[("Grüße.pdf", b"%PDF")], utf8=True).attachments[0]
    assert 'filename="Grüße.pdf"' in raw.headers["Content-Disposition"].unfolded


def test_quoted_tokens_for_rfc2231_specials() -> None:
    # "'" and "*" are token characters, but RFC 2231 readers (CPython) misread
    # them unquoted.
    msg = compose(attachments=[("it's.pdf", b""), ("a*b", b"")])
    assert [p.filename for p in msg.attachments] == ["it's.pdf", "a*b"]
    assert 'filename="it\'s.pdf"' in msg.attachments[0].headers["Content-Disposition"].unfolded


@pytest.mark.parametrize("name", ["=?utf-8?q?x?=.txt", "=?utf-8?Q?..=2F..=2Fetc=2Fpasswd?="])
@pytest.mark.parametrize("utf8", [False, True])
def test_literal_encoded_word_in_filename(name: str, utf8: bool) -> None:
    # Readers decode RFC 2047 in filename= and name=: a literal that looks
    # like an encoded word must not come back as something else ("../..").
    msg = mimekit.parse(bytes(mimekit.compose(attachments=[(name, b"")], utf8=utf8)))
    part = msg.attachments[0]
    assert part.filename == name and part.content_type.params["name"] == name
    assert "filename*=" in part.headers["Content-Disposition"].unfolded


@pytest.mark.parametrize(("name", "mime_type"), [
    ("report.pdf", "application/pdf"),
    ("photo.JPG", "image/jpeg"),
    ("archive.tar.gz", "application/gzip"),
    ("notes.txt", "text/plain"),
    ("no-extension", "application/octet-stream"),
    ("x.unknown-ext", "application/octet-stream"),
])
def test_type_is_guessed_from_the_name(name: str, mime_type: str) -> None:
    msg = compose(attachments=[(name, b"data")])
    assert msg.attachments[0].content_type.mime_type == mime_type


def test_explicit_type_with_parameters() -> None:
    msg = compose(attachments=[("a.txt", b"abc", "text/plain; charset=iso-8859-1"),
                               ("b.csv", "ä;b\n", None), ("c", b"", None)])
    a, b, c = msg.attachments
    assert a.content_type.charset == "iso-8859-1"
    assert b.content_type.mime_type == "text/csv" and b.content_type.charset == "utf-8"
    # Text is text: line breaks become CRLF and the encoding is chosen as
    # for a body.
    assert b.get_bytes() == "ä;b\r\n".encode()
    assert cte(b) == "quoted-printable"
    assert c.content_type.mime_type == "application/octet-stream"


def test_text_attachment_given_as_str() -> None:
    msg = compose(attachments=[("a.csv", "x;y\n1;2\n"), ("b.json", "{\"k\": \"ü\"}"),
                               ("c.txt", "Привет " * 50)])
    a, b, c = msg.attachments
    assert (cte(a), a.content_type.charset, a.get_bytes()) == ("7bit", "us-ascii",
                                                                b"x;y\r\n1;2\r\n")
    assert b.content_type.mime_type == "application/json" and b.content_type.charset is None
    assert b.get_bytes() == '{"k": "ü"}'.encode()
    assert (cte(c), c.content_type.charset) == ("base64", "utf-8")
    with pytest.raises(TypeError):
        mimekit.compose(attachments=[("m.eml", "Subject: x\n\nbody", "message/rfc822")])


def test_path_attachment(tmp_path: Path) -> None:
    path = tmp_path / "Bericht ü.pdf"
    path.write_bytes(b"%PDF-1.7\x00\xff" * 100)
    msg = compose(attachments=[path])
    part = msg.attachments[0]
    assert part.filename == "Bericht ü.pdf"
    assert part.content_type.mime_type == "application/pdf"
    assert part.get_bytes() == path.read_bytes()
    with pytest.raises(OSError):
        mimekit.compose(attachments=[tmp_path / "missing.pdf"])


def test_message_attachment_is_byte_identical() -> None:
    inner_raw = (b"From mbox-line Mon Jan  1 00:00:00 2024\r\n"
                 b"From: a@x.org\r\nSubject: Inner\r\n"
                 b"Content-Type: text/plain; charset=utf-8\r\n\r\nbody \xc3\xbc\r\n")
    inner = mimekit.parse(inner_raw)
    assert inner.mbox_from is not None
    msg = compose(text="see attached", attachments=[inner])
    part = msg.attachments[0]
    assert part.content_type.mime_type == "message/rfc822"
    assert part.filename == "Inner.eml"
    assert cte(part) == "8bit"
    # The mbox separator line is not part of the message (RFC 4155).
    assert part.get_bytes() == inner_raw[inner_raw.index(b"\n") + 1:]
    assert part.message is not None and part.message.subject == "Inner"


@pytest.mark.parametrize(("raw", "encoding"), [
    (b"Subject: x\r\n\r\nascii\r\n", "7bit"),
    (b"Subject: x\r\n\r\n" + b"y" * 1200 + b"\r\n", "binary"),
    (b"Subject: x\r\n\r\nbare\rCR\r\n", "binary"),
    (b"Subject: x\r\n\r\nNUL\x00\r\n", "binary"),
])
def test_message_attachment_encoding(raw: bytes, encoding: str) -> None:
    msg = mimekit.compose(attachments=[("m.eml", mimekit.parse(raw))])
    assert cte(msg.attachments[0]) == encoding
    assert msg.attachments[0].get_bytes() == raw


def test_part_of_another_message_is_copied() -> None:
    source = compose(text="x", attachments=[("Grüße.pdf", b"%PDF\x00"),
                                            ("n.txt", "text ü", "text/plain")])
    msg = compose(attachments=source.attachments)
    assert [(p.filename, p.content_type.mime_type, p.get_bytes())
            for p in msg.attachments] == [("Grüße.pdf", "application/pdf", b"%PDF\x00"),
                                          ("n.txt", "text/plain", "text ü".encode())]
    assert msg.attachments[1].content_type.charset == "utf-8"
    renamed = compose(attachments=[("new.pdf", source.attachments[0])])
    assert renamed.attachments[0].filename == "new.pdf"


def test_multipart_part_is_refused() -> None:
    outer = mimekit.compose(text="x", html="y", attachments=[("a", b"")])
    alternative = outer.parts[0]
    assert alternative.is_multipart
    with pytest.raises(ValueError):
        mimekit.compose(attachments=[alternative])
    # A whole message is attached as message/rfc822.
    assert mimekit.compose(attachments=[outer]).attachments[0].message is not None


def test_boundary_never_occurs_in_bodies() -> None:
    msg = compose(text="--=_mimekit_ in the text\n", attachments=[("a.txt", b"--=_mimekit_x")])
    boundary = msg.content_type.boundary
    assert boundary is not None and boundary.startswith("=_mimekit_")
    for part in msg.parts:
        assert f"--{boundary}".encode() not in part.get_raw_body()
