"""Header edge cases an outside review found: each test is one finding.

Parameters given twice in two forms, file names that look like encoded
words, values set through the API that must fold within 998 octets (also
in UTF-8 mode) and read back exactly, comments holding ``;`` in dates,
parentheses in message-id literals, one-digit and pre-1900 years, and
display names decoded from hostile encoded words.
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mimekit
from mimekit import DefectKind
from mimekit.fields import ContentDisposition, ContentType, parse_date, parse_message_id_list


def _with(name: str, value: object, *, utf8: bool = False) -> bytes:
    msg = mimekit.parse(b"From: a@b.example\r\n\r\nbody\r\n")
    if utf8:
        msg.headers.set(name, value, utf8=True)
    else:
        msg.headers.set(name, value)
    return bytes(msg)


def _lines(raw: bytes) -> list[bytes]:
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


# -- parameters ---------------------------------------------------------------------------


def test_plain_and_rfc2231_boundaries_that_disagree_use_the_plain_one() -> None:
    # A reader without RFC 2231 (CPython) splits at "aaa": so do we, and say
    # so; taking "bbb" would show a scanner and us different parts.
    raw = (b"Content-Type: multipart/mixed; boundary=\"aaa\"; boundary*=utf-8''bbb\r\n\r\n"
           b"--aaa\r\n\r\nbenign\r\n--bbb\r\nContent-Disposition: attachment; "
           b"filename=evil.exe\r\n\r\nx\r\n--bbb--\r\n--aaa--\r\n")
    msg = mimekit.parse(raw)
    assert msg.content_type.boundary == "aaa"
    assert [p.filename for p in msg.parts] == [None]
    assert [d.kind for d in msg.defects] == [DefectKind.DUPLICATE_PARAMETER]
    charset = mimekit.parse(b"Content-Type: text/plain; charset=utf-8; "
                            b"charset*=iso-8859-1''x\r\n\r\nx")
    assert charset.content_type.charset == "utf-8"


def test_filename_and_filename_star_may_differ_without_a_defect() -> None:
    # What compatible mailers send: an ASCII fallback and the real name.
    msg = mimekit.parse(b"Content-Type: text/plain\r\nContent-Disposition: attachment; "
                        b"filename=\"Resume.pdf\"; filename*=utf-8''R%C3%A9sum%C3%A9.pdf\r\n\r\nx")
    assert msg.filename == "R\u00e9sum\u00e9.pdf" and not msg.all_defects()


@pytest.mark.parametrize("name", ["=?utf-8?q?x?=", "=?utf-8?Q?..=2F..=2Fetc=2Fpasswd?=",
                                  "a =?iso-8859-1?b?YQ==?= b"])
def test_typed_parameters_that_look_encoded_read_back_as_written(name: str) -> None:
    for utf8 in (False, True):
        raw = _with("Content-Disposition", ContentDisposition("attachment", {"filename": name}),
                    utf8=utf8)
        assert mimekit.parse(raw).filename == name
        raw = _with("Content-Type", ContentType("application/pdf", {"name": name}), utf8=utf8)
        assert mimekit.parse(raw).content_type.params["name"] == name


def test_a_non_ascii_name_parameter_is_written_as_outlook_reads_it() -> None:
    raw = _with("Content-Type", ContentType("application/pdf", {"name": "Gr\u00fc\u00dfe.pdf"}))
    assert b'name="=?utf-8?' in raw
    assert mimekit.parse(raw).content_type.params["name"] == "Gr\u00fc\u00dfe.pdf"


# -- writing values: 998 octets, exact round trips ------------------------------------------


@pytest.mark.parametrize(("name", "value", "utf8"), [
    ("X-" + "N" * 100, "\u4e2d" * 300, True),
    ("X-" + "N" * 100, "a" * 899, False),
    ("Subject", "a\tb" * 400, False),
    ("Subject", "x" + "\t" * 1000 + "y", False),
    ("Subject", "x" + " " * 1000 + "y", False),
    ("Subject", "x" + " " * 1000 + "y", True),
    ("Subject", "\u00e9" * 2000, False),
    ("Subject", "\u4e2d " * 500, True),
])
def test_values_fold_within_998_octets_and_read_back(name: str, value: str, utf8: bool) -> None:
    raw = _with(name, value, utf8=utf8)
    assert max(len(line) for line in _lines(raw)) <= 998
    back = mimekit.parse(raw)
    assert back.headers.get(name).text == value
    assert not any(d.kind is DefectKind.HEADER_LINE_TOO_LONG for d in back.all_defects())


def test_a_long_utf8_filename_folds_by_octets() -> None:
    name = "\u4e2d" * 800 + ".txt"
    raw = _with("Content-Disposition", ContentDisposition("attachment", {"filename": name}),
                utf8=True)
    assert max(len(line) for line in _lines(raw)) <= 998
    assert mimekit.parse(raw).filename == name


@pytest.mark.parametrize("name", ["Subject", "X-A-Rather-Long-Header-Field-Name"])
def test_an_encoded_first_word_keeps_the_first_line_within_78(name: str) -> None:
    raw = _with(name, "\u00e9" * 100)
    assert max(len(line) for line in _lines(raw)) <= 78
    assert mimekit.parse(raw).headers.get(name).text == "\u00e9" * 100


def test_encoded_words_only_where_a_reader_would_decode() -> None:
    raw = _with("Subject", "What =? is this ?= then")
    assert b"Subject: What =? is this ?= then\r\n" in raw
    raw = _with("Subject", "literal =?utf-8?q?x?= word")
    assert b"literal =?utf-8?q?x?= word" not in raw  # a reader would decode it
    assert mimekit.parse(raw).subject == "literal =?utf-8?q?x?= word"


@given(st.text(st.sampled_from(" \t=?ab\u00e9\u4e2d"), max_size=1500))
def test_whitespace_heavy_text_round_trips(value: str) -> None:
    if value != value.strip(" \t") and not value.strip(" \t"):
        value = value + "x"
    raw = _with("Subject", value)
    assert max(len(line) for line in _lines(raw)) <= 998
    assert mimekit.parse(raw).headers.get("Subject").text == value


# -- dates --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Tue, 1 Jul 2003 10:52:37 +0200 (Central European; Summer)",
    "Tue, 1 Jul 2003 10:52:37 +0200 (GMT+02:00; Europe/Paris)",
    "(Sent; via x) Tue, 1 Jul 2003 10:52:37 +0200",
    "Tue, 1 Jul 2003 10:52:37 +0200 (a (nested; x) b)",
])
def test_a_semicolon_inside_a_comment_is_not_a_received_separator(text: str) -> None:
    dt, defects = parse_date(text)
    assert dt is not None and dt.isoformat() == "2003-07-01T10:52:37+02:00"
    assert defects == []


def test_a_received_clause_with_an_unclosed_comment_still_gives_its_date() -> None:
    dt, defects = parse_date("from x (helo y; Tue, 1 Jul 2003 10:52:37 +0200")
    assert dt is not None and dt.isoformat() == "2003-07-01T10:52:37+02:00"
    assert [d.detail for d in defects] == ["text before ';' ignored"]


@pytest.mark.parametrize("text", ["1 Jan 0 00:00:00 +0000", "1 Jan 1 00:00:00 +0000",
                                  "Fri, 9 Jul 7 10:52:37 +0200"])
def test_a_one_digit_year_is_no_date(text: str) -> None:
    dt, defects = parse_date(text)
    assert dt is None and [d.detail for d in defects] == ["one-digit year"]


def test_a_year_before_1900_is_kept_with_a_defect() -> None:
    dt, defects = parse_date("1 Jul 0049 10:52:37 +0200")
    assert dt is not None and dt.year == 49
    assert [d.detail for d in defects] == ["year before 1900"]


# -- message identifiers ------------------------------------------------------------------


@pytest.mark.parametrize(("text", "ids"), [
    ("<x@[a(b)]>", ["x@[a(b)]"]),
    ("<[a(b)]@host>", ["[a(b)]@host"]),
    ("<x@[1(2]> <c@d>", ["x@[1(2]", "c@d"]),
    ("<a@b> (comment) <c@d>", ["a@b", "c@d"]),
    ("[PATCH (v2)] <a@b>", ["a@b"]),
])
def test_parentheses_in_identifier_literals_are_not_comments(text: str, ids: list[str]) -> None:
    assert parse_message_id_list(text)[0] == ids


def test_a_message_id_with_a_literal_can_be_written_and_read_back() -> None:
    raw = _with("References", ["x@[a(b)]", "c@d"])
    assert mimekit.parse(raw).references == ["x@[a(b)]", "c@d"]


# -- display names from hostile encoded words ---------------------------------------------


@pytest.mark.parametrize("decoded", ["Evil\r\nBcc: x@evil.test", "a\rb", "nul\x00here"])
def test_printing_and_replying_to_a_hostile_name_never_injects(decoded: str) -> None:
    word = base64.b64encode(decoded.encode()).decode()
    raw = f"From: =?utf-8?b?{word}?= <evil@evil.test>\r\nSubject: hi\r\n\r\nx".encode()
    msg = mimekit.parse(raw)
    assert msg.from_.mailboxes[0].name == decoded
    shown = str(msg.from_)
    assert "\r" not in shown and "\n" not in shown and "\x00" not in shown
    out = mimekit.parse(b"From: me@here.example\r\n\r\nx")
    out.headers.set("Cc", msg.from_)
    back = mimekit.parse(bytes(out))
    assert back.headers.get("Bcc") is None
    # Written as an encoded word: no line break on the wire, the same value back.
    assert back.cc.mailboxes[0].name == decoded
    assert back.cc.mailboxes[0].addr_spec == "evil@evil.test"


def test_printing_a_parsed_address_never_shows_raw_controls() -> None:
    box = mimekit.parse(b'To: "\x1b[31mred"@x.example\r\n\r\nx').to.mailboxes[0]
    assert "\x1b" in box.local_part and "\x1b" not in str(box)
    group = mimekit.parse(b'To: g: "\x1b[31mred"@x.example;\r\n\r\nx').to
    assert "\x1b" not in str(group)


def test_a_utf8_tab_run_over_998_octets_is_encoded_not_refused() -> None:
    value = "\u00e9\t" * 400  # 400 characters of text, 800 octets plus tabs
    raw = _with("Subject", value, utf8=True)
    assert max(len(line) for line in _lines(raw)) <= 998
    assert mimekit.parse(raw).subject == value


def test_received_for_address_with_equals_signs_is_written() -> None:
    # SRS and VERP recipients: "=" is fine inside <>.
    raw = (b"Received: by mx.example for <bounce+u=example.org@list.example>; "
           b"Mon, 01 Jan 2024 00:00:00 +0000\r\n\r\nx")
    msg = mimekit.parse(raw)
    value = msg.headers.get("Received").value
    msg.headers.set("Received", value)
    assert mimekit.parse(bytes(msg)).headers.get("Received").value.for_ == \
        "bounce+u=example.org@list.example"


def test_a_semicolon_in_an_unclosed_trailing_comment_keeps_the_date() -> None:
    dt, defects = parse_date("Tue, 1 Jul 2003 10:52:37 +0200 (CEST; summer")
    assert dt is not None and dt.isoformat() == "2003-07-01T10:52:37+02:00"
    assert [d.detail for d in defects] == ["unterminated comment"]


# -- fields that may occur once -----------------------------------------------------------


def test_a_repeated_single_instance_field_is_a_defect() -> None:
    msg = mimekit.parse(b"From: a@b.example\r\nFrom: d@e.example\r\nTo: a@b.example\r\n"
                        b"Comments: x\r\nComments: y\r\nTO: x@y.example\r\n\r\nx")
    assert [(d.kind, d.detail) for d in msg.defects] == [
        (DefectKind.DUPLICATE_HEADER, "second From field (the first one is used)"),
        (DefectKind.DUPLICATE_HEADER, "second TO field (the first one is used)"),
    ]
    assert msg.from_.mailboxes[0].addr_spec == "a@b.example"
    with pytest.raises(mimekit.MalformedMessageError):
        mimekit.parse(b"Subject: a\r\nSubject: b\r\n\r\nx", strict=True)
