"""ENVELOPE, BODYSTRUCTURE and BODY[section] from the message tree.

The expected values are what Dovecot 2.3.19 answered for the same messages
(probed with imaplib; ``test_imap_fetch_data_dovecot.py`` compares the whole
corpus live). Compared case-folded, as the RFC makes types and parameter
names case-insensitive.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from corpus_files import corpus_id, message_files
from hypothesis import given
from hypothesis import strategies as st
from imap_server_helpers import norm

from mimekit.imap._bodystructure import strip_extensions
from mimekit.imap._fetch_data import MessageData, Section, SectionError, crlf, partial

US_ASCII = ("charset", "us-ascii")


def bs(raw: bytes) -> Any:
    return MessageData(raw).body_structure()


def env(raw: bytes) -> Any:
    return MessageData(raw).envelope()


# -- ENVELOPE ------------------------------------------------------------------------------


def test_envelope_fields_as_dovecot_writes_them() -> None:
    raw = (b"Date:   Mon, 1 Jan 2024\r\n  10:00 +0000  \r\nSubject:  a\r\n\t b  \r\n"
           b"Message-ID: <a@b>\r\n <c@d>\r\nIn-Reply-To:\r\n <x@y>\r\n"
           b"From: \"Joe\r\n Q\" <j@x>\r\nTo: undisclosed-recipients:;\r\n"
           b"Cc: grp: a@b, c@d;, e@f\r\nBcc: <@route,@r2:u@d>\r\n\r\nbody\r\n")
    joe = (("Joe Q", None, "j", "x"),)
    assert env(raw) == (
        "Mon, 1 Jan 2024  10:00 +0000  ", "a b", joe, joe, joe,
        ((None, None, "undisclosed-recipients", None), (None, None, None, None)),
        ((None, None, "grp", None), (None, None, "a", "b"), (None, None, "c", "d"),
         (None, None, None, None), (None, None, "e", "f")),
        ((None, "@route,@r2", "u", "d"),),
        " <x@y>", "<a@b> <c@d>")


def test_envelope_duplicates_defaults_and_encoded_words() -> None:
    raw = (b"From: a@b\r\nFrom: c@d\r\nSubject: one\r\nSubject: two\r\n"
           b"To: =?utf-8?q?J=C3=B6rg?= <j@x>\r\nSender: \r\nReply-To: \r\n\r\nbody\r\n")
    both = ((None, None, "a", "b"), (None, None, "c", "d"))
    # Address fields add up, string fields take the last one; an empty
    # Sender or Reply-To defaults to From; RFC 2047 words stay encoded.
    assert env(raw) == (None, "two", both, both, both,
                        (("=?utf-8?q?J=C3=B6rg?=", None, "j", "x"),), None, None, None, None)


@pytest.mark.parametrize(("value", "expected"), [
    (b"foo", ((None, None, "foo", "MISSING_DOMAIN"),)),
    (b"John Smith", (("John Smith", None, "MISSING_MAILBOX", "MISSING_DOMAIN"),)),
    (b"a@b (Joe)", (("Joe", None, "a", "b"),)),
    (b"<a@b>", ((None, None, "a", "b"),)),
    (b"Joe <a@>", (("Joe", None, "a", "SYNTAX_ERROR"),)),
    (b"\"a b\"@c", ((None, None, "a b", "c"),)),
    (b"a@[1.2.3.4]", ((None, None, "a", "[1.2.3.4]"),)),
    (b"", None),
    (b"a@b,", ((None, None, "a", "b"),)),
])
def test_envelope_address_recovery(value: bytes, expected: Any) -> None:
    assert env(b"From: " + value + b"\r\n\r\n")[2] == expected


def test_envelope_8bit_survives_as_surrogates() -> None:
    raw = b"Subject: caf\xe9\r\n\r\n"
    subject = env(raw)[1]
    assert subject.encode("utf-8", "surrogateescape") == b"caf\xe9"


# -- BODYSTRUCTURE ---------------------------------------------------------------------------


def test_plain_text_defaults() -> None:
    assert bs(b"Subject: a\r\n\r\nbody\nline2\n") == (
        "text", "plain", US_ASCII, None, None, "7bit", 13, 2, None, None, None, None)


def test_content_fields_without_mime_version() -> None:
    # Content-Type makes a message MIME (Dovecot is not strict about
    # MIME-Version); a lone Content-Description does not.
    assert bs(b"Content-Type: text/plain; format=flowed\r\n\r\nbody\r\n")[2] == (
        "format", "flowed", "charset", "us-ascii")
    assert bs(b"Content-Description: hi\r\n\r\nbody\r\n")[4] is None


@pytest.mark.parametrize(("ctype", "head"), [
    (b"text", ("text", "", US_ASCII)),
    (b"text ", ("text", "", US_ASCII)),
    (b"foo", ("foo", "", None)),
    (b"", ("", "", None)),
    (b"text/", ("", "", None)),
    (b"text/plain garbage", ("", "", None)),
    (b"/plain", ("", "", None)),
    (b"text;", ("", "", None)),
    (b"text/;", ("", "", None)),
    (b"text /plain", ("text", "plain", US_ASCII)),
    (b"Text/Plain", ("Text", "Plain", US_ASCII)),
    (b"text/plain (comment); a=b", ("text", "plain", ("a", "b", *US_ASCII))),
    (b"text/plain;;a=b; c=d", ("text", "plain", ("c", "d", *US_ASCII))),
    (b"text/plain; a", ("text", "plain", US_ASCII)),
    (b"text/plain; a=", ("text", "plain", ("a", "", *US_ASCII))),
    (b"text/plain; a=b c=d; e=f", ("text", "plain", ("a", "b", "e", "f", *US_ASCII))),
    (b'text/plain; a="b', ("text", "plain", US_ASCII)),
    (b"text/plain; A=b; a*0=x; a*1=y", ("text", "plain", ("A", "b", "a", "xy", *US_ASCII))),
    (b"text/plain; n*=x; m*0=a; m*2=b; z*1*=q",
     ("text", "plain", ("m*0", "a", "m*2", "b", "n*", "x", "z*1*", "q", *US_ASCII))),
])
def test_content_type_parsing_like_dovecot(ctype: bytes, head: tuple[Any, ...]) -> None:
    got = bs(b"Content-Type: " + ctype + b"\r\n\r\nx\r\n")
    assert norm(got[:3]) == norm(head)
    # Only text has a line count.
    assert len(got) == (12 if head[0].lower() == "text" else 11)


def test_extension_data_and_rfc2231_quirk() -> None:
    raw = (b"Content-Type: text/plain; charset=\"utf-8\"; name*0*=utf-8''a%20b; name*1=c; "
           b"title*=us-ascii'en'x; z=\"q\\\"\r\n w\"\r\nContent-Disposition: ATTACHMENT; "
           b"filename=a.txt\r\nContent-Language: en, de-DE (c)\r\nContent-Location: "
           b"http://x/\r\n y\r\nContent-MD5: abc\r\nContent-ID: <id>\r\n"
           b"Content-Transfer-Encoding: QUOTED-PRINTABLE\r\n\r\nx\r\n")
    # "title*" without an index inherits the index of the continuation
    # before it: Dovecot's rfc2231_parse does that, so we do too.
    assert bs(raw) == (
        "text", "plain", ("charset", "utf-8", "z", 'q" w', "name*", "utf-8''a%20bc",
                          "title*1*", "us-ascii'en'x"),
        "<id>", None, "QUOTED-PRINTABLE", 3, 1, "abc", ("ATTACHMENT", ("filename", "a.txt")),
        ("en", "de-DE"), "http://x/ y")


def test_multipart_without_parts_has_one_empty_part() -> None:
    empty = ("text", "plain", US_ASCII, None, None, "7bit", 0, 0, None, None, None, None)
    no_boundary = b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\n\r\na\r\n"
    assert bs(no_boundary) == (empty, "mixed", None, None, None, None)
    not_found = (b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
                 b"--x\r\n\r\na\r\n--x--\r\n")
    assert bs(not_found) == (empty, "mixed", ("boundary", "zz"), None, None, None)
    # ";;" loses the boundary for Dovecot: the rest of the value is skipped.
    double = (b"Content-Type: multipart/mixed;; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n")
    assert bs(double) == (empty, "mixed", None, None, None, None)


def test_header_block_goes_on_over_junk_lines() -> None:
    # Dovecot reads a line without a colon as a field: the header ends at
    # the empty line, so the body is 4 octets, 0 lines.
    raw = b"Subject: a\r\nno colon line\r\nTo: b@c\r\n\r\nbody"
    assert bs(raw)[6:8] == (4, 0)
    assert env(raw)[5] == ((None, None, "b", "c"),)


def test_message_rfc822_parts() -> None:
    inner = b"Subject: inner\r\nFrom: a@b\r\n\r\nhello\r\n"
    encoded = base64.encodebytes(inner).replace(b"\n", b"\r\n")
    raw = (b"MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded)
    # Not decoded: the base64 text is read as a header block (as Dovecot does).
    got = bs(raw)
    assert got[:7] == ("message", "rfc822", None, None, None, "base64", 50)
    assert got[7] == (None,) * 10
    assert got[8][6:8] == (0, 0)
    assert bs(b"MIME-Version: 1.0\r\nContent-Type: message/global\r\n\r\nSubject: x\r\n\r\nb\r\n"
              ) == ("message", "global", None, None, None, "7bit", 17, None, None, None, None)


def test_digest_parts_default_to_message_rfc822() -> None:
    raw = (b"MIME-Version: 1.0\r\nContent-Type: multipart/digest; boundary=x\r\n\r\n"
           b"--x\r\n\r\nSubject: d\r\n\r\nbody\r\n--x--\r\n")
    part = bs(raw)[0]
    assert part[:7] == ("message", "rfc822", None, None, None, "7bit", 18)
    assert part[7][1] == "d" and part[9] == 2


def test_line_break_before_a_delimiter_after_a_nested_close_line() -> None:
    # The inner multipart's close line is followed straight by the outer
    # delimiter: Dovecot counts that line break in the message/rfc822 part.
    raw = (b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
           b"--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\n"
           b"Content-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\ninner1\r\n"
           b"--c\r\n\r\ninner2\r\n--c--\r\n--b--\r\n")
    part = bs(raw)[0]
    assert part[6] == 101 and part[9] == 10
    assert MessageData(raw).section("1").endswith(b"--c--\r\n")


def test_duplicate_delimiters_make_empty_parts() -> None:
    raw = (b"Content-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\n\r\na\r\n--X\r\n--X\r\n"
           b"\r\nb\r\n--X--\r\n")
    got = bs(raw)
    assert [p[6] for p in got[:-5]] == [1, 0, 1]


def test_nested_multipart_with_the_same_boundary() -> None:
    # Outlook Express for Mac nests multipart/alternative in multipart/mixed
    # with one boundary. Dovecot gives the delimiter lines to the inner one
    # until its close line, then the outer one goes on: so do we.
    raw = (b"Mime-version: 1.0\r\nContent-type: multipart/mixed; boundary=\"B\"\r\n\r\n"
           b"--B\r\nContent-type: multipart/alternative; boundary=\"B\"\r\n\r\n\r\n"
           b"--B\r\nContent-type: text/plain\r\n\r\nplain\r\n"
           b"--B\r\nContent-type: text/html\r\n\r\n<p>html</p>\r\n--B--\r\n\r\n"
           b"--B\r\nContent-type: image/gif\r\n\r\nGIF\r\n--B--\r\n")
    data = MessageData(raw)
    got = data.body_structure()
    assert [p[0][:2] for p in got[:1]] == [("text", "plain")]
    assert got[0][1][:2] == ("text", "html") and got[0][2] == "alternative"
    assert got[1][:2] == ("image", "gif") and got[2] == "mixed"
    assert data.section("1.2") == b"<p>html</p>"
    assert data.section("2") == b"GIF"
    inner = data.section("1")  # the inner multipart's body, up to its close line
    assert inner.startswith(b"\r\n--B\r\nContent-type: text/plain")
    assert inner.endswith(b"<p>html</p>\r\n--B--\r\n")
    assert data.section("1.MIME").endswith(b"\r\n\r\n")


# -- BODY and sections -----------------------------------------------------------------------


def test_body_is_bodystructure_without_extensions() -> None:
    raw = (b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
           b"--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b--\r\n")
    assert MessageData(raw).body() == (
        ("text", "plain", US_ASCII, None, None, "7bit", 3, 0), "mixed")


M1 = b"Subject: hi\nX-A: 1\nX-B: 2\n  folded\nx-b: again\n\nline1\nline2\n"
M2 = (b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\n"
      b"Content-Type: text/plain\r\n\r\none\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
      b"Subject: in\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\n"
      b"inner1\r\n--c\r\n\r\ninner2\r\n--c--\r\n--b--\r\nepi\r\n")


@pytest.mark.parametrize(("raw", "spec", "expected"), [
    (M1, "", M1.replace(b"\n", b"\r\n")),
    (M1, "HEADER", b"Subject: hi\r\nX-A: 1\r\nX-B: 2\r\n  folded\r\nx-b: again\r\n\r\n"),
    (M1, "TEXT", b"line1\r\nline2\r\n"),
    (M1, "1", b"line1\r\nline2\r\n"),
    (M1, "2", b""),
    (M1, "1.1", b"line1\r\nline2\r\n"),
    (M1, "1.2", b""),
    (M1, "1.HEADER", b""),
    (M1, "1.TEXT", b""),
    (M1, "1.MIME", b"Subject: hi\r\nX-A: 1\r\nX-B: 2\r\n  folded\r\nx-b: again\r\n\r\n"),
    (M1, "HEADER.FIELDS (x-b subject)",
     b"Subject: hi\r\nX-B: 2\r\n  folded\r\nx-b: again\r\n\r\n"),
    (M1, "HEADER.FIELDS.NOT (x-b subject)", b"X-A: 1\r\n\r\n"),
    (M1, "HEADER.FIELDS (nothere)", b"\r\n"),
    (M2, "1", b"one"),
    (M2, "1.MIME", b"Content-Type: text/plain\r\n\r\n"),
    (M2, "2.MIME", b"Content-Type: message/rfc822\r\n\r\n"),
    (M2, "2.HEADER", b"Subject: in\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n"),
    (M2, "2.TEXT", b"--c\r\n\r\ninner1\r\n--c\r\n\r\ninner2\r\n--c--\r\n"),
    (M2, "2.1", b"inner1"),
    (M2, "2.2", b"inner2"),
    (M2, "2.1.MIME", b"\r\n"),
    (M2, "2.1.1", b"inner1"),
    (M2, "2.3", b""),
    (M2, "3", b""),
    (M2, "1.1", b"one"),
    (M2, "1.HEADER", b""),
    (M2, "2.HEADER.FIELDS (SUBJECT)", b"Subject: in\r\n\r\n"),
])
def test_sections_like_dovecot(raw: bytes, spec: str, expected: bytes) -> None:
    assert MessageData(raw).section(spec) == expected


def test_section_2_is_the_whole_attached_message() -> None:
    got = MessageData(M2).section("2")
    assert got.startswith(b"Subject: in\r\n") and got.endswith(b"--c--\r\n")
    assert len(got) == 101


def test_partials() -> None:
    data = MessageData(M1)
    assert data.section("1", 2, 3) == b"ne1"
    assert data.section("", 100, 5) == b""
    assert data.section("", 0, 0) == b""
    assert partial(b"abc", 1) == b"bc"
    with pytest.raises(SectionError):
        partial(b"abc", -1)


@pytest.mark.parametrize("spec", ["MIME", "0", "01", "1.FOO", "HEADER.FIELDS", "TEXT (a)",
                                  "HEADER.FIELDS ()", "HEADER.FIELDS (a b", "HEADER.FIELDS (a:b)",
                                  "1.2.", ".1", "HEADER.FIELDS (a) x"])
def test_bad_sections(spec: str) -> None:
    with pytest.raises(SectionError):
        Section.parse(spec)


def test_section_canonical_form() -> None:
    assert str(Section.parse("1.2.header.fields (From \"To\")")) == "1.2.HEADER.FIELDS (FROM TO)"
    assert str(Section.parse("")) == ""
    assert Section.parse("3.MIME") == Section((3,), "MIME")


def test_crlf_and_nul() -> None:
    assert crlf(b"a\nb\r\nc\r\r\n") == b"a\r\nb\r\nc\r\r\n"
    assert crlf(b"a\x00b") == b"a\x80b"
    data = MessageData(b"Subject: x\n\nT\x00e\n")
    assert data.rfc822_size == len(data.section(""))
    assert data.section("TEXT") == b"T\x80e\r\n"


# -- robustness ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", message_files(), ids=corpus_id)
def test_never_raises_on_the_corpus(path: Any) -> None:
    data = MessageData(path.read_bytes())
    data.envelope()
    data.body()
    structure = data.body_structure()
    assert data.rfc822_size == len(data.section(""))
    # Every part named by BODYSTRUCTURE can be fetched, and its size agrees.
    for spec, size in _leaf_sizes(structure, ()):
        assert len(data.section(spec)) == size, spec
        data.section(spec + ".MIME")


def _leaf_sizes(node: Any, prefix: tuple[int, ...]) -> list[tuple[str, int]]:
    """``(section, size)`` of every non-multipart part a BODYSTRUCTURE names."""
    if isinstance(node[0], tuple):  # multipart: the parts come before the subtype
        out: list[tuple[str, int]] = []
        for i, child in enumerate(node):
            if not isinstance(child, tuple):
                break
            out += _leaf_sizes(child, (*prefix, i + 1))
        return out
    return [(".".join(map(str, prefix or (1,))), node[6])]


def _timed(fn: Any) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


@pytest.mark.parametrize("make", [
    lambda n: b"From: " + b"a," * n + b"\r\n\r\n",
    lambda n: b"From: " + b"a " * n + b"\r\n\r\n",
    lambda n: b"To: " + b"(" * n + b"\r\n\r\n",
    lambda n: b"To: \"" + b"\\x" * n + b"\r\n\r\n",
    lambda n: b"Content-Type: text/plain" + b";" * n + b"\r\n\r\n",
    lambda n: b"Content-Type: text/plain; a=\"" + b"x" * n + b"\r\n\r\n",
    lambda n: b"Content-Type: multipart/mixed; boundary=a\r\n\r\n" + b"--a\r\n" * (n // 5),
    lambda n: b"Subject: x\r\n" * (n // 10) + b"\r\n",
    lambda n: b"Content-Type: multipart/mixed; boundary=a\r\n\r\n" +
    b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\nx\r\n" * (n // 50),
    lambda n: b"Content-Type: multipart/mixed; boundary=a\r\n\r\n" +
    b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a--\r\n" * (n // 50),
])
def test_linear_time_on_hostile_headers(make: Any) -> None:
    small, big = make(10_000), make(40_000)

    def run(raw: bytes) -> None:
        data = MessageData(raw)
        data.envelope()
        data.body_structure()
        data.section("HEADER.FIELDS (FROM)")

    t_small, t_big = _timed(lambda: run(small)), _timed(lambda: run(big))
    assert t_big < 8 * t_small + 0.05


def test_deep_nesting_is_bounded() -> None:
    depth = 3000
    raw = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
                   for i in range(depth))
    raw = b"MIME-Version: 1.0\r\n" + raw + b"\r\nend\r\n"
    structure = MessageData(raw).body_structure()
    assert structure[-5] == "mixed"
    # Encoded message/rfc822 bodies are read again as messages: nested
    # quoted-printable layers stop at the depth limit too.
    layer = b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    deep = layer * 500 + b"\r\nx\r\n"
    assert MessageData(b"MIME-Version: 1.0\r\n" + deep).body_structure()[0] == "message"


_TOKENS = [b"\r\n", b"\n", b"\r", b" ", b"\t", b":", b";", b"=", b"\"", b"\\", b"(", b")",
           b"<", b">", b"@", b",", b"--b", b"--b--", b"--c", b"Content-Type: ",
           b"multipart/mixed; boundary=b", b"multipart/alternative; boundary=c",
           b"message/rfc822", b"text/plain", b"Content-Transfer-Encoding: base64",
           b"MIME-Version: 1.0", b"From: ", b"To: ", b"Subject: ", b"g: a@b;", b"x*0*=",
           b"\x00", b"\xff", b"=?utf-8?q?x?=", b"a"]


@given(st.lists(st.sampled_from(_TOKENS), max_size=60))
def test_never_raises_on_mime_shaped_noise(pieces: list[bytes]) -> None:
    data = MessageData(b"".join(pieces))
    data.envelope()
    structure = data.body_structure()
    assert data.body() == strip_extensions(structure)
    assert data.rfc822_size == len(data.section(""))
    for spec, size in _leaf_sizes(structure, ()):
        assert len(data.section(spec)) == size
