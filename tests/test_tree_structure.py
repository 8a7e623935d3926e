"""The parser on the shapes the issue lists: line endings, folding, broken
header blocks, mbox lines, boundaries gone wrong, nested messages, odd bodies.

Every case also checks the invariant that holds for all input:
``bytes(parse(x)) == x``.
"""

from __future__ import annotations

import pytest

import mimekit
from mimekit import DefectKind


def parse(raw: bytes) -> mimekit.Message:
    msg = mimekit.parse(raw)
    assert bytes(msg) == raw
    return msg


def kinds(part: mimekit.Part) -> set[DefectKind]:
    return {d.kind for d in part.defects}


def all_kinds(msg: mimekit.Message) -> set[DefectKind]:
    return {d.kind for d in msg.all_defects()}


# -- line endings ------------------------------------------------------------------


@pytest.mark.parametrize("nl", [b"\r\n", b"\n"])
def test_line_endings(nl: bytes) -> None:
    raw = nl.join([b"Subject: hi", b"To: a@b.c", b"", b"body", b""])
    msg = parse(raw)
    assert msg.subject == "hi"
    assert msg.headers.linesep == nl
    assert msg.get_bytes() == b"body" + nl
    assert msg.defects == ()


def test_mixed_line_endings() -> None:
    raw = b"Subject: hi\r\nTo: a@b.c\n\r\nbody\nmore\r\n"
    msg = parse(raw)
    assert [h.name for h in msg.headers] == ["Subject", "To"]
    assert msg.get_bytes() == b"body\nmore\r\n"
    assert msg.headers.get("To").raw == b"To: a@b.c\n"


def test_bare_cr_is_not_a_line_ending() -> None:
    # A bare CR must not end a header: a reader that split on it would see
    # a "Bcc" header that others do not.
    raw = b"Subject: hi\rBcc: evil@x.test\r\n\r\nbody"
    msg = parse(raw)
    assert [h.name for h in msg.headers] == ["Subject"]
    assert "Bcc" not in msg.headers
    assert DefectKind.BARE_CR in kinds(msg)


# -- header blocks -------------------------------------------------------------------


def test_folded_and_obs_folded_headers() -> None:
    raw = (b"Subject: a long\r\n  folded\r\n\tsubject\r\n"
           b"X-Obs: first\r\n \r\n  after-empty-continuation\r\n"
           b"\r\nbody")
    msg = parse(raw)
    subj = msg.headers["subject"]
    assert subj.raw == b"Subject: a long\r\n  folded\r\n\tsubject\r\n"
    assert subj.unfolded == " a long  folded\tsubject"
    assert msg.subject == "a long  folded\tsubject"
    assert msg.headers["X-Obs"].text == "first   after-empty-continuation"
    assert msg.get_bytes() == b"body"


def test_encoded_word_folded_in_the_middle() -> None:
    # RFC 2047 forbids it, some mailers do it; the fold must not leave a space.
    msg = parse(b"Subject: =?utf-8?Q?Hello\r\n _there!?=\r\n"
                b"X-Two: =?utf-8?q?a?=\r\n =?utf-8?q?b?= c\r\n\r\n")
    assert msg.subject == "Hello there!"
    assert msg.headers.text("X-Two") == "ab c"  # ordinary fold between words


def test_obsolete_space_before_colon() -> None:
    msg = parse(b"Subject : spaced\r\n\r\nbody")
    assert msg.subject == "spaced"
    assert msg.headers["Subject"].name == "Subject"


def test_header_line_without_colon_ends_the_block() -> None:
    raw = b"Subject: hi\r\nThis is not a header\r\nTo: a@b.c\r\n\r\nbody"
    msg = parse(raw)
    assert [h.name for h in msg.headers] == ["Subject"]
    assert msg.get_bytes() == b"This is not a header\r\nTo: a@b.c\r\n\r\nbody"
    d = [d for d in msg.defects if d.kind is DefectKind.MISSING_HEADER_BODY_SEPARATOR]
    assert d and d[0].offset == raw.index(b"This")


def test_missing_blank_line() -> None:
    raw = b"Subject: hi\r\nContent-Type: text/plain\r\n<html>body</html>\r\n"
    msg = parse(raw)
    assert msg.get_bytes() == b"<html>body</html>\r\n"
    assert DefectKind.MISSING_HEADER_BODY_SEPARATOR in kinds(msg)


def test_headers_only_no_body_no_newline() -> None:
    msg = parse(b"Subject: only headers")
    assert msg.subject == "only headers"
    assert msg.get_bytes() == b""
    assert msg.defects == ()


def test_empty_input_and_body_only() -> None:
    msg = parse(b"")
    assert list(msg.headers) == [] and msg.get_bytes() == b""
    msg = parse(b"\r\njust a body\r\n")
    assert list(msg.headers) == [] and msg.get_bytes() == b"just a body\r\n"


def test_first_line_continuation_and_empty_name() -> None:
    raw = b"  leading continuation\r\n: no name\r\nSubject: ok\r\n\r\nb"
    msg = parse(raw)
    assert [h.name for h in msg.headers] == ["Subject"]
    assert {DefectKind.FIRST_LINE_IS_CONTINUATION, DefectKind.INVALID_HEADER_NAME} <= kinds(msg)


def test_mbox_from_line_at_top() -> None:
    raw = b"From alice@example.org Mon Jan  1 00:00:00 2024\nSubject: hi\n\nbody\n"
    msg = parse(raw)
    assert msg.mbox_from == b"From alice@example.org Mon Jan  1 00:00:00 2024\n"
    assert msg.subject == "hi"
    assert msg.defects == ()


def test_misplaced_mbox_from_line() -> None:
    raw = b"Subject: hi\nFrom alice Mon Jan  1 00:00:00 2024\nTo: a@b.c\n\nbody\n"
    msg = parse(raw)
    assert msg.mbox_from is None
    assert [h.name for h in msg.headers] == ["Subject", "To"]
    assert DefectKind.MISPLACED_ENVELOPE_HEADER in kinds(msg)


def test_nul_and_8bit_in_headers() -> None:
    raw = "Subject: Grüße\r\nX-Nul: a\x00b\r\n\r\nbody".encode()
    msg = parse(raw)
    assert msg.subject == "Grüße"  # raw UTF-8, RFC 6532
    assert msg.headers["X-Nul"].text == "a\x00b"
    assert DefectKind.NUL_IN_HEADER in kinds(msg)


# -- multipart -----------------------------------------------------------------------


def mp(body: bytes, boundary: bytes = b"b", extra: bytes = b"") -> bytes:
    return (b"Content-Type: multipart/mixed; boundary=\"" + boundary + b"\"\r\n" + extra
            + b"\r\n" + body)


def test_simple_multipart() -> None:
    raw = mp(b"preamble\r\n--b\r\n\r\none\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>two"
             b"\r\n--b--\r\nepilogue\r\n")
    msg = parse(raw)
    assert msg.is_multipart
    assert [p.get_bytes() for p in msg.parts] == [b"one", b"<p>two"]
    assert [p.content_type.mime_type for p in msg.parts] == ["text/plain", "text/html"]
    assert msg.preamble == b"preamble"
    assert msg.epilogue == b"epilogue\r\n"
    assert msg.all_defects() == []


def test_transport_padding_after_boundaries() -> None:
    raw = mp(b"--b  \t\r\n\r\none\r\n--b \r\n\r\ntwo\r\n--b--   \r\n")
    msg = parse(raw)
    assert [p.get_bytes() for p in msg.parts] == [b"one", b"two"]
    assert msg.all_defects() == []


def test_missing_close_delimiter() -> None:
    raw = mp(b"--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n")
    msg = parse(raw)
    assert [p.get_bytes() for p in msg.parts] == [b"one", b"two\r\n"]
    assert DefectKind.CLOSE_BOUNDARY_NOT_FOUND in kinds(msg)


def test_missing_boundary_parameter() -> None:
    raw = b"Content-Type: multipart/mixed\r\n\r\n--b\r\n\r\none\r\n--b--\r\n"
    msg = parse(raw)
    assert not msg.is_multipart and msg.parts == ()
    assert msg.get_bytes() == b"--b\r\n\r\none\r\n--b--\r\n"  # nothing lost
    assert DefectKind.MULTIPART_MISSING_BOUNDARY in kinds(msg)


def test_boundary_never_found() -> None:
    raw = mp(b"--other\r\n\r\none\r\n--other--\r\n")
    msg = parse(raw)
    assert not msg.is_multipart
    assert msg.get_bytes() == b"--other\r\n\r\none\r\n--other--\r\n"
    assert DefectKind.START_BOUNDARY_NOT_FOUND in kinds(msg)


def test_duplicated_boundary_is_one_delimiter() -> None:
    raw = mp(b"--b\r\n--b\r\n\r\none\r\n--b\r\n--b\r\n--b\r\n\r\ntwo\r\n--b--\r\n")
    msg = parse(raw)
    assert [p.get_bytes() for p in msg.parts] == [b"one", b"two"]
    assert [d.kind for d in msg.defects].count(DefectKind.DUPLICATE_BOUNDARY) == 3
    # An empty line between two delimiters is a real (empty) part.
    msg = parse(mp(b"--b\r\n\r\n--b\r\n\r\none\r\n--b--\r\n"))
    assert [p.get_bytes() for p in msg.parts] == [b"", b"one"]


def test_boundary_string_inside_preamble_and_bodies() -> None:
    # Not at the start of a line, or glued to other text: not a delimiter.
    raw = mp(b"see --b here\r\n--bx\r\n--b\r\n\r\nline --b\r\n--b--trailing\r\n--b--\r\n")
    msg = parse(raw)
    assert msg.preamble == b"see --b here\r\n--bx"
    assert [p.get_bytes() for p in msg.parts] == [b"line --b\r\n--b--trailing"]


def test_delimiter_with_words_after_whitespace() -> None:
    # RFC 2046: "it is sufficient that the boundary appear in its entirety
    # following the CRLF" -- words after whitespace do not matter.
    raw = mp(b"--b ignored words\r\n\r\none\r\n--b-- also ignored\r\nepilogue")
    msg = parse(raw)
    assert [p.get_bytes() for p in msg.parts] == [b"one"]
    assert msg.epilogue == b"epilogue"


def test_nested_multiparts_with_prefix_sharing_boundaries() -> None:
    inner = (b"Content-Type: multipart/alternative; boundary=\"abc\"\r\n\r\n"
             b"--abc\r\n\r\nplain\r\n--abc\r\nContent-Type: text/html\r\n\r\nhtml\r\n--abc--\r\n")
    for outer in (b"ab", b"abcd", b"abc-"):
        raw = mp(b"--" + outer + b"\r\n" + inner + b"--" + outer + b"\r\n\r\nlast\r\n--"
                 + outer + b"--\r\n", boundary=outer)
        msg = parse(raw)
        assert len(msg.parts) == 2, outer
        alt = msg.parts[0]
        assert alt.is_multipart and [p.get_bytes() for p in alt.parts] == [b"plain", b"html"]
        assert msg.parts[1].get_bytes() == b"last"
        assert msg.all_defects() == []


def test_inner_multipart_missing_close_inside_outer() -> None:
    inner = b"Content-Type: multipart/mixed; boundary=in\r\n\r\n--in\r\n\r\nx\r\n"
    raw = mp(b"--b\r\n" + inner + b"--b\r\n\r\ny\r\n--b--\r\n")
    msg = parse(raw)
    assert [p.get_bytes() for p in msg.parts[0].parts] == [b"x"]
    assert msg.parts[1].get_bytes() == b"y"
    assert DefectKind.CLOSE_BOUNDARY_NOT_FOUND in kinds(msg.parts[0])


def test_lf_only_multipart_and_boundary_at_eof() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b--"
    msg = parse(raw)
    assert [p.get_bytes() for p in msg.parts] == [b"one"]
    assert msg.epilogue == b""
    assert msg.all_defects() == []


def test_multipart_digest_default_type() -> None:
    raw = (b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\n"
           b"Subject: inner\r\n\r\ninner body\r\n--d--\r\n")
    msg = parse(raw)
    part = msg.parts[0]
    assert part.content_type.mime_type == "message/rfc822"
    assert part.message is not None and part.message.subject == "inner"


def test_empty_multipart() -> None:
    raw = mp(b"--b--\r\n")
    msg = parse(raw)
    assert msg.is_multipart and msg.parts == ()
    assert DefectKind.MULTIPART_WITHOUT_PARTS in kinds(msg)


# -- messages inside messages --------------------------------------------------------


@pytest.mark.parametrize("subtype", [b"rfc822", b"global"])
def test_attached_message(subtype: bytes) -> None:
    inner = "Subject: inner Grüße\r\nFrom: a@b.c\r\n\r\ninner body\r\n".encode()
    raw = mp(b"--b\r\n\r\nouter text\r\n--b\r\nContent-Type: message/" + subtype
             + b"\r\n\r\n" + inner + b"--b--\r\n")
    msg = parse(raw)
    att = msg.parts[1]
    assert att.message is not None
    assert att.message.subject == "inner Grüße"
    assert att.message.get_bytes() == b"inner body"
    assert bytes(att.message) == inner[:-2]
    assert [p.content_type.mime_type for p in msg.walk()] == [
        "multipart/mixed", "text/plain", f"message/{subtype.decode()}", "text/plain"]
    assert msg.attachments == [att]


def test_base64_encoded_attached_message() -> None:
    import base64
    inner = b"Subject: encoded\r\n\r\nhello\r\n"
    raw = (b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(inner))
    msg = parse(raw)
    assert msg.message is not None and msg.message.subject == "encoded"
    assert DefectKind.INVALID_COMPOSITE_ENCODING in kinds(msg)


# -- bodies ----------------------------------------------------------------------------


def test_empty_bodies() -> None:
    msg = parse(mp(b"--b\r\n\r\n\r\n--b\r\n\r\n--b--\r\n"))
    assert [p.get_bytes() for p in msg.parts] == [b"", b""]


def test_8bit_binary_and_nul_bodies() -> None:
    body = bytes(range(256)) * 4
    raw = b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    msg = parse(raw + body)
    assert msg.get_bytes() == body
    assert b"".join(msg.iter_bytes(chunk_size=7)) == body


def test_base64_and_qp_bodies() -> None:
    raw = mp(b"--b\r\nContent-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8=\r\n"
             b"--b\r\nContent-Transfer-Encoding: Quoted-Printable\r\n\r\nGr=C3=BC=\r\n=C3=9Fe\r\n"
             b"--b--\r\n")
    msg = parse(raw)
    assert msg.parts[0].get_bytes() == b"hello"
    assert msg.parts[1].get_bytes() == "Grüße".encode()
    assert msg.parts[1].get_text() == "Grüße"
    assert msg.all_defects() == []


def test_unknown_transfer_encoding_keeps_bytes() -> None:
    msg = parse(b"Content-Transfer-Encoding: x-weird\r\n\r\nabc")
    assert msg.get_bytes() == b"abc"
    assert DefectKind.UNKNOWN_TRANSFER_ENCODING in kinds(msg)


def test_get_text_charsets() -> None:
    latin = "Ünïcödé".encode("latin-1")
    msg = parse(b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\n" + latin)
    assert msg.get_text() == "Ünïcödé"
    msg = parse(b"Content-Type: text/plain\r\n\r\n" + "Ünïcödé".encode())
    assert msg.get_text() == "Ünïcödé"  # undeclared but valid UTF-8


def test_part_properties() -> None:
    raw = mp(b"--b\r\nContent-Type: application/pdf; name=\"n.pdf\"\r\n"
             b"Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n"
             b"Content-ID: <cid1@x>\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b--\r\n")
    part = parse(raw).parts[0]
    assert part.filename == "résumé.pdf"
    assert part.disposition == "attachment"
    assert part.content_id == "cid1@x"
    assert part.transfer_encoding == "base64"
    assert part.get_bytes() == b"\x00\x00\x00"


def test_undeclared_8bit_header_charset_is_guessed_and_reported() -> None:
    raw = "Subject: Привет, это тест кодировки заголовка\r\n\r\nbody".encode("koi8-r")
    msg = parse(raw)
    assert msg.subject == "Привет, это тест кодировки заголовка"
    (defect,) = msg.defects
    assert defect.kind is DefectKind.CHARSET_DECODE_ERROR and "koi8-r" in defect.detail
