"""IMAP values that are more than tokens: SEARCH criteria (built and read
back), ENVELOPE and BODYSTRUCTURE, dates, sequence sets, FETCH item names,
and modified UTF-7 mailbox names (RFC 3501 section 5.1.3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mimekit import Group, Mailbox
from mimekit.codecs import decode_imap_utf7, encode_imap_utf7
from mimekit.imap import (
    Atom,
    Encoding,
    SearchKey,
    build_search,
    encode,
    fetch_key,
    format_datetime,
    format_sequence_set,
    parse_bodystructure,
    parse_datetime,
    parse_envelope,
    parse_search,
    parse_sequence_set,
    parse_values,
)
from mimekit.imap._results import copy_result, uid_list
from mimekit.imap._search import SearchCharsetError, SearchSyntaxError
from mimekit.mailstore._names import decode_folder_name, encode_folder_name

# -- SEARCH ------------------------------------------------------------------------------------


def _wire(key: SearchKey, utf8: bool = False) -> bytes:
    return b"".join(encode(key.to_values(), Encoding(literal_plus=True, utf8=utf8)))


@pytest.mark.parametrize(("criteria", "keys", "wire"), [
    (None, {}, b"ALL"),
    ("UNSEEN", {}, b"UNSEEN"),
    ("unseen", {}, b"UNSEEN"),
    (["UNSEEN", ("SINCE", date(2024, 1, 1)), ("FROM", "alice")], {},
     b'UNSEEN SINCE 1-Jan-2024 FROM "alice"'),
    (("OR", "FLAGGED", ("SUBJECT", "urgent")), {}, b'OR FLAGGED SUBJECT "urgent"'),
    (("NOT", ["DELETED", ("LARGER", 100)]), {}, b"NOT (DELETED LARGER 100)"),
    ([("UID", [1, 2, 3, 9]), ("HEADER", "List-Id", "dev")], {},
     b'UID 1:3,9 HEADER "List-Id" "dev"'),
    ("FROM alice SINCE 1-Feb-1994", {}, b'FROM "alice" SINCE 1-Feb-1994'),
    (None, {"seen": False, "flagged": True, "before": datetime(2024, 5, 6, 23, 0)},
     b"UNSEEN FLAGGED BEFORE 6-May-2024"),
    (None, {"from_": "bob", "header": {"X-Spam": "yes"}, "keyword": ["$Junk", "Work"],
            "sent_since": date(2020, 2, 29), "recent": False},
     b'FROM "bob" HEADER "X-Spam" "yes" KEYWORD $Junk KEYWORD Work SENTSINCE 29-Feb-2020 '
     b"NOT RECENT"),
    (None, {"or_": ("SEEN", ("TO", "x")), "not_": "DRAFT", "uid": "5:*"},
     b'OR SEEN TO "x" NOT DRAFT UID 5:*'),
    (("SEQUENCE", [4, 5]), {}, b"4:5"),
    (("X-GM-RAW", "has:attachment"), {}, b'X-GM-RAW "has:attachment"'),
])
def test_build_search(criteria: object, keys: dict[str, object], wire: bytes) -> None:
    key = build_search(criteria, **keys)
    assert _wire(key) == wire
    if not key.needs_charset and b"X-GM" not in wire:
        assert parse_search(tuple(parse_values(wire)), None) == key


def test_non_ascii_needs_a_charset() -> None:
    key = build_search(subject="Grüße")
    assert key.needs_charset
    assert _wire(key) == b"SUBJECT {7+}\r\nGr\xc3\xbc\xc3\x9fe"
    assert _wire(key, utf8=True) == b'SUBJECT "Gr\xc3\xbc\xc3\x9fe"'
    assert build_search("FROM jürgen").needs_charset
    parsed = parse_search((Atom("SUBJECT"), "Grüße".encode("latin-1")), "ISO-8859-1")
    assert parsed == SearchKey("AND", (SearchKey("SUBJECT", ("Grüße",)),))


@pytest.mark.parametrize(("criteria", "keys"), [
    (("SINCE", "yesterday"), {}), (("LARGER", -1), {}), (("FROM",), {}), (42, {}),
    ("FROM \"x", {}), (("SUBJECT", "a\r\nb"), {}), (None, {"bogus": 1}),
    (None, {"or_": "SEEN"}), ("FROB", {}), (("UID", []), {}),
])
def test_bad_criteria_raise_at_once(criteria: object, keys: dict[str, object]) -> None:
    with pytest.raises(SearchSyntaxError):
        build_search(criteria, **keys)


def test_server_side_reading_errors() -> None:
    with pytest.raises(SearchCharsetError):
        parse_search((Atom("ALL"),), "X-NO-SUCH-CHARSET")
    for bad in [(Atom("SINCE"), "soon"), (Atom("FROM"),), (Atom("FRO"),), ((),),
                (Atom("LARGER"), Atom("x"))]:
        with pytest.raises(SearchSyntaxError):
            parse_search(bad, None)


# -- ENVELOPE and BODYSTRUCTURE ----------------------------------------------------------------

DOVECOT_ENVELOPE = (
    b'("Mon, 01 Jan 2024 10:00:00 +0000" "=?utf-8?q?Gr=C3=BC=C3=9Fe?= all" '
    b'(("=?utf-8?q?J=C3=BCrgen?=" NIL "j" "example.test")) '
    b'(("=?utf-8?q?J=C3=BCrgen?=" NIL "j" "example.test")) '
    b'(("=?utf-8?q?J=C3=BCrgen?=" NIL "j" "example.test")) '
    b'((NIL NIL "a" "example.test")(NIL NIL "Friends" NIL)(NIL NIL "b" "x.test")'
    b'(NIL NIL NIL NIL)) NIL NIL "<parent@x>" "<abc@x>")')


def test_envelope() -> None:
    (value,) = parse_values(DOVECOT_ENVELOPE)
    env = parse_envelope(value)
    assert env is not None
    assert env.date == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert env.subject == "Grüße all"
    assert list(env.from_) == [Mailbox("Jürgen", "j@example.test")]
    assert list(env.to) == [Mailbox(None, "a@example.test"),
                            Group("Friends", [Mailbox(None, "b@x.test")])]
    assert env.to.addr_specs == ("a@example.test", "b@x.test")
    assert not env.cc and not env.bcc
    assert env.in_reply_to == "<parent@x>" and env.message_id == "abc@x"
    assert parse_envelope((None,) * 3) is None
    assert parse_envelope(tuple([None, b"\xe4rger"] + [None] * 8)).subject == "ärger"  # type: ignore[union-attr]


BODYSTRUCTURE = (
    b'(("TEXT" "PLAIN" ("CHARSET" "UTF-8") NIL NIL "QUOTED-PRINTABLE" 120 4 NIL NIL NIL NIL)'
    b'("APPLICATION" "PDF" ("NAME" "a.pdf") "<id@x>" "=?utf-8?q?R=C3=A9sum=C3=A9?=" "BASE64" '
    b'5000 NIL ("ATTACHMENT" ("FILENAME*" "utf-8\'\'r%C3%A9sum%C3%A9.pdf")) ("en" "de") '
    b'"http://x/a.pdf")'
    b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 300 ("Tue, 2 Jan 2024 00:00:00 +0100" "inner" '
    b'NIL NIL NIL NIL NIL NIL NIL NIL) ("TEXT" "HTML" NIL NIL NIL "7BIT" 20 1 NIL NIL NIL NIL) '
    b'9 NIL NIL NIL NIL) "MIXED" ("BOUNDARY" "xyz") NIL NIL NIL)')


def test_bodystructure() -> None:
    (value,) = parse_values(BODYSTRUCTURE)
    body = parse_bodystructure(value)
    assert body is not None
    assert body.mime_type == "multipart/mixed" and body.is_multipart
    assert body.params == {"boundary": "xyz"} and body.section == ""
    text, pdf, message = body.parts
    assert (text.mime_type, text.charset, text.encoding, text.size, text.lines,
            text.section) == ("text/plain", "UTF-8", "quoted-printable", 120, 4, "1")
    assert pdf.filename == "résumé.pdf" and pdf.id == "<id@x>"
    assert pdf.description == "Résumé" and pdf.disposition == "attachment"
    assert pdf.language == ("en", "de") and pdf.location == "http://x/a.pdf"
    assert pdf.lines is None and pdf.section == "2"
    assert message.envelope is not None and message.envelope.subject == "inner"
    assert message.body is not None and message.body.mime_type == "text/html"
    assert message.lines == 9 and message.body.section == "3.1"
    assert [p.section for p in body.walk()] == ["", "1", "2", "3", "3.1"]
    single = parse_bodystructure(parse_values(
        b'("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 15 1 NIL NIL NIL NIL)')[0])
    assert single is not None and single.section == "1" and single.md5 is None
    # No extension data at all (BODY, or minimal servers): still fine.
    bare = parse_bodystructure(parse_values(b'("IMAGE" "PNG" NIL NIL NIL "BASE64" 7)')[0])
    assert bare is not None and bare.params == {} and bare.disposition is None
    for bad in (b"()", b'("TEXT")', b'(("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1))', b"NIL"):
        assert parse_bodystructure(parse_values(bad)[0]) is None


# -- dates, sets, item names ----------------------------------------------------------------------


def test_datetimes() -> None:
    moment = datetime(1996, 7, 17, 2, 44, 25, tzinfo=timezone(timedelta(hours=-7)))
    assert format_datetime(moment) == "17-Jul-1996 02:44:25 -0700"
    assert parse_datetime("17-Jul-1996 02:44:25 -0700") == moment
    assert parse_datetime(" 7-Jul-1996 02:44:25 +0000").day == 7  # type: ignore[union-attr]
    assert parse_datetime("17-Foo-1996 02:44:25 -0700") is None
    assert parse_datetime("31-Feb-1996 02:44:25 -0700") is None


@given(st.lists(st.integers(1, 10**6), min_size=1, max_size=50))
def test_sequence_sets_round_trip(numbers: list[int]) -> None:
    text = format_sequence_set(numbers)
    ranges = parse_sequence_set(text)
    assert ranges is not None
    assert sorted({n for lo, hi in ranges for n in range(lo, hi + 1)}) == sorted(set(numbers))


def test_sequence_set_edges() -> None:
    assert parse_sequence_set("1:4294967295") == [(1, 4294967295)]
    assert parse_sequence_set("5:*", largest=3) == [(3, 5)]
    assert parse_sequence_set("*", largest=0) == []
    assert parse_sequence_set("1:*") is None
    assert parse_sequence_set("1,,2") is None
    with pytest.raises(ValueError):
        format_sequence_set([])
    with pytest.raises(ValueError):
        format_sequence_set("1;2")
    assert uid_list("304,319:320,5:3") == (304, 319, 320, 5, 4, 3)


def test_copyuid_code() -> None:
    from mimekit.imap import ResponseCode
    code = ResponseCode(name="COPYUID", values=(38505, Atom("304,319:320"), Atom("3956:3958")))
    result = copy_result(code)
    assert result is not None
    assert result.mapping == {304: 3956, 319: 3957, 320: 3958}


@pytest.mark.parametrize(("asked", "answered"), [
    ("BODY.PEEK[]", "BODY[]"), ("body.peek[text]<0.100>", "BODY[TEXT]<0>"),
    ("BINARY.PEEK[1]", "BINARY[1]"), ("FLAGS", "FLAGS"),
    ("BODY[HEADER.FIELDS (Subject)]", "BODY[HEADER.FIELDS (SUBJECT)]"),
])
def test_fetch_keys(asked: str, answered: str) -> None:
    assert fetch_key(asked) == answered


# -- modified UTF-7 ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "wire"), [
    ("INBOX", "INBOX"), ("a&b", "a&-b"), ("Entwürfe", "Entw&APw-rfe"),
    ("日本語", "&ZeVnLIqe-"), ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
    ("😀", "&2D3eAA-"), ("", ""),
])
def test_utf7_examples(text: str, wire: str) -> None:
    assert encode_imap_utf7(text) == wire
    assert decode_imap_utf7(wire, strict=True) == text
    assert encode_folder_name(text) == wire and decode_folder_name(wire) == text


@given(st.text(st.characters(exclude_categories=["Cs"])))
def test_utf7_round_trip(text: str) -> None:
    wire = encode_imap_utf7(text)
    assert wire.isascii() and wire.isprintable()
    assert decode_imap_utf7(wire, strict=True) == text


@pytest.mark.parametrize("bad", ["&AGE-", "&AOQ-&APY-", "&Jjo", "&AOR-", "a\x01", "ä", "&A-"])
def test_utf7_strict_refuses_odd_spellings(bad: str) -> None:
    with pytest.raises(ValueError):
        decode_imap_utf7(bad, strict=True)
    decode_imap_utf7(bad)  # lenient: never raises


def test_utf7_lenient_keeps_malformed_runs() -> None:
    assert decode_imap_utf7("a&Jj-b&") == "a&Jj-b&"
    with pytest.raises(TypeError):
        encode_imap_utf7(b"x")  # type: ignore[arg-type]
