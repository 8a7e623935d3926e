"""SORT (RFC 5256, with RFC 5957 DISPLAYFROM/DISPLAYTO) in our IMAP server.

The base-subject rules of RFC 5256 section 2.1 one by one; every sort key
on the wire against messages whose order differs per key; ties kept in
mailbox order; REVERSE per key; the charset and the refusals; and
imapclient's ``sort()`` (a real client) against the server.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from imap_server_fixtures import PASSWORD, Running, Wire, running_server

from mimekit.imap._sort import base_subject


@pytest.mark.parametrize(("subject", "base"), [
    ("Hello", "Hello"),
    ("Re: Hello", "Hello"),
    ("RE: re: Fwd: Hello", "Hello"),
    ("Fw: Hello", "Hello"),
    ("Re[2]: Hello", "Hello"),                 # a blob inside subj-refwd
    ("[list] Re: Hello", "Hello"),              # blobs before subj-refwd
    ("Re: [list] Hello", "Hello"),              # a blob alone, then the base
    ("[list]", "[list]"),                       # a blob alone is the base
    ("Hello (fwd)", "Hello"),
    ("Hello (FWD) (fwd)  ", "Hello"),
    ("[fwd: Hello]", "Hello"),
    ("Re: [fwd: Re: Hello] (fwd)", "Hello"),
    ("  Hello \t  world  ", "Hello world"),
    ("Re:Hello", "Hello"),
    ("Reply: Hello", "Reply: Hello"),          # not "re" then ":"
    ("", ""),
])
def test_base_subject(subject: str, base: str) -> None:
    assert base_subject(subject) == base


def test_base_subject_is_bounded_on_hostile_input() -> None:
    started = time.perf_counter()
    for hostile in ("[a]" * 100_000, "Re: " * 100_000 + "x", " " * 100_000 + "x",
                    "(fwd)" * 100_000, "[fwd:" * 50_000 + "]" * 50_000):
        base_subject(hostile)
    assert time.perf_counter() - started < 5


def _msg(subject: str, from_: str, to: str, date: str, size: int = 0, cc: str = "") -> bytes:
    head = (f"From: {from_}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n"
            + (f"Cc: {cc}\r\n" if cc else ""))
    return (head + "\r\n" + "x" * size + "\r\n").encode()


# Five messages whose order differs for every key (appended in this order,
# with INTERNALDATEs in another order).
MESSAGES = [
    (_msg("Re: banana", "Zed <zed@a.test>", "bob@b.test", "Tue, 2 Jan 2024 10:00:00 +0000",
          300, "carol@c.test"), "05-Jan-2024 10:00:00 +0000"),
    (_msg("apple", "Amy <yolanda@a.test>", "Xavier <alice@b.test>",
          "Fri, 5 Jan 2024 10:00:00 +0000", 10), "01-Jan-2024 10:00:00 +0000"),
    (_msg("[list] cherry", "mike@a.test", "Yves <yves@b.test>",
          "Thu, 4 Jan 2024 12:00:00 +0200", 200, "amy@c.test"), "03-Jan-2024 10:00:00 +0000"),
    (_msg("Fwd: apple", "bob@a.test", "zoe@b.test", "not a date", 100),
     "04-Jan-2024 10:00:00 +0000"),
    (_msg("banana", "Bea <bea@a.test>", "Walt <walt@b.test>", "Wed, 3 Jan 2024 10:00:00 +0000",
          50), "02-Jan-2024 10:00:00 +0000"),
]


@pytest.fixture(scope="module")
def srv() -> Iterator[Running]:
    with running_server() as running:
        c = running.imap("sorter")
        for raw, when in MESSAGES:
            typ, _ = c.append("INBOX", None, f'"{when}"', raw)
            assert typ == "OK"
        c.logout()
        yield running


def _sort(srv: Running, command: str) -> list[bytes]:
    with Wire(srv.port) as w:
        w.cmd(f"LOGIN sorter {PASSWORD}")
        w.cmd("SELECT INBOX", "s")
        return w.cmd(command, "t")


@pytest.mark.parametrize(("criteria", "order"), [
    ("ARRIVAL", [2, 5, 3, 4, 1]),
    ("SIZE", [2, 5, 4, 3, 1]),
    # Message 4 has no valid Date: its INTERNALDATE (4 Jan 10:00) stands in;
    # message 3 is 4 Jan 12:00 +0200, i.e. 10:00 UTC, the same instant: tie,
    # mailbox order.
    ("DATE", [1, 5, 3, 4, 2]),
    ("FROM", [5, 4, 3, 2, 1]),                 # local parts: bea, bob, mike, yolanda, zed
    ("SUBJECT", [2, 4, 1, 5, 3]),              # apple, apple, banana, banana, cherry
    ("CC", [2, 4, 5, 3, 1]),                   # none sorts first, then amy, carol
    ("TO", [2, 1, 5, 3, 4]),                   # alice, bob, walt, yves, zoe
    ("DISPLAYFROM", [2, 5, 4, 3, 1]),          # Amy, Bea, bob@a.test, mike@a.test, Zed
    ("DISPLAYTO", [1, 5, 2, 3, 4]),            # bob@b.test, Walt, Xavier, Yves, zoe@b.test
    ("REVERSE SIZE", [1, 3, 4, 5, 2]),
    ("SUBJECT REVERSE ARRIVAL", [4, 2, 1, 5, 3]),
    ("REVERSE SUBJECT ARRIVAL", [3, 5, 1, 2, 4]),
])
def test_sort_keys_on_the_wire(srv: Running, criteria: str, order: list[int]) -> None:
    lines = _sort(srv, f"SORT ({criteria}) UTF-8 ALL")
    assert lines[-1] == b"t OK SORT completed"
    assert lines[0] == b"* SORT " + " ".join(map(str, order)).encode()


def test_uid_sort_with_search_criteria(srv: Running) -> None:
    lines = _sort(srv, "UID SORT (SUBJECT) US-ASCII NOT SUBJECT cherry")
    assert lines == [b"* SORT 2 4 1 5", b"t OK UID SORT completed"]
    assert _sort(srv, "SORT (DATE) UTF-8 SUBJECT nothing-matches") == [
        b"* SORT", b"t OK SORT completed"]


@pytest.mark.parametrize("command", [
    "SORT () UTF-8 ALL", "SORT (REVERSE) UTF-8 ALL", "SORT (FOO) UTF-8 ALL",
    "SORT DATE UTF-8 ALL", "SORT (DATE) UTF-8",
])
def test_malformed_sort_is_bad(srv: Running, command: str) -> None:
    assert _sort(srv, command)[-1].startswith(b"t BAD")


def test_unknown_charset_is_badcharset(srv: Running) -> None:
    assert _sort(srv, "SORT (DATE) X-NOPE SUBJECT a")[-1].startswith(b"t NO [BADCHARSET")


def test_capabilities_name_sort(srv: Running) -> None:
    c = srv.imap("sorter")
    try:
        caps = c.capabilities
        assert "SORT" in caps and "SORT=DISPLAY" in caps
    finally:
        c.logout()


def test_imapclient_sort(srv: Running) -> None:
    imapclient = pytest.importorskip("imapclient")
    c = imapclient.IMAPClient("127.0.0.1", port=srv.port, ssl=False, timeout=15)
    try:
        c.login("sorter", PASSWORD)
        c.select_folder("INBOX", readonly=True)
        assert c.sort(["REVERSE", "ARRIVAL"]) == [1, 4, 3, 5, 2]  # UIDs
        assert c.sort("SUBJECT", ["UNSEEN"]) == [2, 4, 1, 5, 3]
        # SINCE is on INTERNALDATE (3, 4 and 1 arrived from 3 January on).
        assert c.sort(["DATE"], ["SINCE", datetime(2024, 1, 3, tzinfo=UTC).date()]) == [
            1, 3, 4]
    finally:
        c.logout()
