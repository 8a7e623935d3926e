"""Hypothesis properties of mimekit.fields: no exceptions, round trips, fast path == slow path."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from mimekit.fields import (
    AddressList,
    ContentType,
    Group,
    Mailbox,
    format_date,
    format_field,
    parse_address_list,
    parse_content_disposition,
    parse_content_type,
    parse_date,
    parse_field,
    parse_keywords,
    parse_mailbox,
    parse_message_id,
    parse_message_id_list,
    parse_unstructured,
    parse_url_list,
)
from mimekit.fields._address import parse_address_list_slow
from mimekit.fields._content_type import parse_content_type_slow
from mimekit.fields._date import parse_date_slow
from mimekit.fields._msgid import parse_message_id_list_slow, parse_message_id_slow

# Text that hits the interesting paths: every RFC 5322 special, whitespace,
# encoded-word fragments, non-ASCII, controls.
_PIECES = [
    '"',
    "(",
    ")",
    "<",
    ">",
    "[",
    "]",
    ":",
    ";",
    "@",
    "\\",
    ",",
    ".",
    " ",
    "\t",
    "=?",
    "?=",
    "=?utf-8?q?a?=",
    "*",
    "'",
    "%",
    "=",
    "/",
    "é",
    "日",
    "\x00",
    "\r\n ",
    "a",
    "b.c",
    "x@y.z",
    "--",
    "0",
    "12",
    ":34",
    "+0200",
    "Jul",
    "Tue,",
]
hostile = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(_PIECES), max_size=40).map("".join),
)

PARSERS = [
    parse_address_list,
    parse_address_list_slow,
    parse_mailbox,
    parse_date,
    parse_date_slow,
    parse_content_type,
    parse_content_disposition,
    parse_message_id,
    parse_message_id_list,
    parse_url_list,
    parse_keywords,
    parse_unstructured,
]


@given(hostile)
def test_parsers_never_raise(text: str) -> None:
    for parse in PARSERS:
        value, defects = parse(text)
        assert isinstance(defects, list)
        for d in defects:
            assert -1 <= d.offset <= len(text)
        del value


@given(
    hostile,
    st.sampled_from(
        [
            "From",
            "To",
            "Sender",
            "Return-Path",
            "Date",
            "Message-ID",
            "References",
            "Content-Type",
            "Content-Disposition",
            "Content-Transfer-Encoding",
            "MIME-Version",
            "List-Post",
            "Keywords",
            "Subject",
        ]
    ),
)
def test_parse_field_never_raises(text: str, name: str) -> None:
    parse_field(name, text)


# --- unstructured round trip ---------------------------------------------------

no_breaks = st.text(
    st.characters(blacklist_characters="\r\n\x00", blacklist_categories=["Cs"]), max_size=120
)
spacey = st.lists(
    st.sampled_from(
        [
            "a",
            "b ",
            " ",
            "  ",
            "\t",
            "=?",
            "?=",
            "é",
            "x" * 40,
            "=?utf-8?q?x?=",
            "日本",
            "\x01",
            "\u2028",
        ]
    ),
    max_size=30,
).map("".join)


def fold_unfold(value: str, seed: int) -> str:
    """What the tree does: fold before some spaces, write, unfold on reading."""
    rnd = random.Random(seed)
    folded = "".join("\r\n " if c == " " and rnd.random() < 0.3 else c for c in " " + value)
    return folded.replace("\r\n", "")


@given(st.one_of(no_breaks, spacey), st.booleans(), st.integers(0, 1000))
def test_unstructured_round_trip(value: str, utf8: bool, seed: int) -> None:
    out = format_field("Subject", value, utf8=utf8)
    assert "\r" not in out and "\n" not in out
    assert utf8 or out.isascii()
    assert max(len(w) for w in out.split(" ")) <= 900
    assert parse_unstructured(fold_unfold(out, seed))[0] == value


# --- address round trips --------------------------------------------------------

_ATEXT = "abcxyzABC0123456789!#$%&'*+-/=?^_`{|}~"
atom = st.text(st.sampled_from(_ATEXT), min_size=1, max_size=8)
dot_atom = st.lists(atom, min_size=1, max_size=3).map(".".join)
local_part = st.one_of(
    dot_atom, st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=12)
)
domain = st.one_of(
    st.lists(
        st.text(st.sampled_from("abcxyz0123-"), min_size=1, max_size=8), min_size=1, max_size=3
    ).map(".".join),
    st.just("[192.0.2.1]"),
)
names = st.one_of(
    st.just(""),
    st.text(
        st.characters(blacklist_characters="\r\n\x00", blacklist_categories=["Cs"]), max_size=30
    ),
    st.lists(
        st.sampled_from(["John", "Doe", ",", ".", '"', "\\", "=?", "é", " ", "  ", "(x)"]),
        max_size=8,
    ).map("".join),
)
mailboxes = st.builds(
    lambda n, lp, d: Mailbox(n, local_part=lp, domain=d), names, local_part, domain
)
items = st.one_of(
    mailboxes,
    st.builds(Group, names.filter(bool), st.lists(mailboxes, max_size=3)),
)


@given(st.lists(items, min_size=1, max_size=4), st.booleans())
def test_address_round_trip(addrs: list[Mailbox | Group], utf8: bool) -> None:
    al = AddressList(addrs)
    out = format_field("To", al, utf8=utf8)
    assert utf8 or out.isascii()
    assert max(len(w) for w in out.split(" ")) <= 900
    back, defects = parse_address_list(fold_unfold(out, 1))
    assert back == al, (out, defects)


@given(hostile)
def test_address_str_round_trip(text: str) -> None:
    """Formatting a parsed str value and parsing again gives the same mailboxes."""
    try:
        out = format_field("To", text)
    except ValueError:
        return  # refused input: fine (HeaderInjectionError is a ValueError too)
    first = parse_address_list(text)[0]
    # A non-ASCII domain goes on the wire as its IDNA A-label (xn--...); it is
    # the same domain, so compare domains in their Unicode form.
    def key(al: AddressList) -> list[tuple[str, str, str]]:
        return [(m.name, m.local_part, m.domain_unicode) for m in al.mailboxes]

    assert key(parse_address_list(out)[0]) == key(first)


# --- fast path == slow path ------------------------------------------------------

simple_name = st.lists(atom, min_size=1, max_size=3).map(" ".join)
common_address = st.one_of(
    st.builds(lambda lp, d: f"{lp}@{d}", dot_atom, dot_atom),
    st.builds(lambda n, lp, d: f"{n} <{lp}@{d}>", simple_name, dot_atom, dot_atom),
    st.builds(lambda n, lp, d: f'"{n}" <{lp}@{d}>', st.text(max_size=10), dot_atom, dot_atom),
)
address_lists = st.lists(st.one_of(common_address, hostile), min_size=1, max_size=4).map(", ".join)


@given(st.one_of(address_lists, hostile))
def test_address_fast_path_agrees(text: str) -> None:
    assert parse_address_list(text) == parse_address_list_slow(text)


aware = st.datetimes(
    min_value=datetime(1900, 1, 1),  # RFC 5322 section 3.3: "1900 or later"
    max_value=datetime(9999, 12, 30),
    timezones=st.integers(-1439, 1439).map(lambda m: timezone(timedelta(minutes=m))),
)


@given(aware)
def test_date_round_trip_and_fast_path(dt: datetime) -> None:
    text = format_date(dt)
    back, defects = parse_date(text)
    assert not defects and back == dt.replace(microsecond=0)
    assert back is not None and back.utcoffset() == dt.utcoffset()
    assert parse_date(text) == parse_date_slow(text)
    variant = text.replace(", 0", ", ").replace(":00 ", " ", 1)
    assert parse_date(variant) == parse_date_slow(variant)


@given(st.one_of(hostile, st.builds(lambda d: format_date(d) + " (PDT)", aware)))
def test_date_fast_path_agrees(text: str) -> None:
    assert parse_date(text) == parse_date_slow(text)


token = st.text(st.sampled_from("abcXYZ019-+."), min_size=1, max_size=8)
ct_text = st.builds(
    lambda t, s, ps: f"{t}/{s}" + "".join(f"; {k}={v}" for k, v in ps),
    token,
    token,
    st.lists(
        st.tuples(token, st.one_of(token, st.text(max_size=8).map(lambda v: f'"{v}"'))), max_size=3
    ),
)


@given(st.one_of(ct_text, hostile))
def test_content_type_fast_path_agrees(text: str) -> None:
    assert parse_content_type(text) == parse_content_type_slow(text)


@given(
    st.one_of(
        st.lists(st.builds(lambda a, b: f"<{a}@{b}>", dot_atom, dot_atom), max_size=4).map(
            " ".join
        ),
        hostile,
    )
)
def test_message_id_fast_path_agrees(text: str) -> None:
    assert parse_message_id(text) == parse_message_id_slow(text)
    assert parse_message_id_list(text) == parse_message_id_list_slow(text)


params = st.dictionaries(
    st.text(st.sampled_from("abcxyz-"), min_size=1, max_size=6),
    st.text(
        st.characters(blacklist_characters="\r\n\x00", blacklist_categories=["Cs"]), max_size=100
    ),
    max_size=4,
)


@given(params, st.booleans())
@settings(max_examples=200)
def test_parameter_round_trip(ps: dict[str, str], utf8: bool) -> None:
    ct = ContentType("application/x-test", ps)
    out = format_field("Content-Type", ct, utf8=utf8)
    assert utf8 or out.isascii()
    assert max(len(w) for w in out.split(" ")) <= 900
    back, _defects = parse_content_type(fold_unfold(out, 2))
    assert back == ct, out


ALL_NAMES = ["From", "To", "Sender", "Return-Path", "Date", "Message-ID", "References",
             "Content-Type", "Content-Disposition", "Content-Transfer-Encoding", "MIME-Version",
             "List-Post", "List-Unsubscribe", "Keywords", "Subject", "X-Anything"]


@given(hostile, st.sampled_from(ALL_NAMES), st.booleans())
def test_format_field_contract(text: str, name: str, utf8: bool) -> None:
    """Only ValueError (HeaderInjectionError included); output is one foldable line."""
    try:
        out = format_field(name, text, utf8=utf8)
    except ValueError:
        return
    assert "\r" not in out and "\n" not in out and "\x00" not in out
    assert utf8 or out.isascii()
    assert max(len(w) for w in out.split(" ")) <= 900
    parse_field(name, out)
