"""SEARCH evaluation over a real Maildir: every RFC 3501 key."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from mimekit.imap._mailbox import MailboxHub, MailStore
from mimekit.imap._mailbox_view import MailboxView
from mimekit.imap._search import SearchCharsetError, SearchKey, parse_search
from mimekit.imap._search_eval import SearchError, search
from mimekit.imap._values import Atom, format_date

MESSAGES = [
    # 1: plain, seen
    (b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nCc: carol@example.org\r\n"
     b"Subject: Lunch plans\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\nX-Tag: red\r\n\r\n"
     b"Shall we meet at noon?\r\n", ["\\Seen", "$Work"], datetime(2024, 1, 1, 12)),
    # 2: encoded subject, quoted-printable latin-1 body, flagged + answered
    (b"From: =?utf-8?q?J=C3=B6rg?= <jorg@example.de>\r\nTo: alice@example.org\r\n"
     b"Subject: =?iso-8859-1?q?Gr=FC=DFe?=\r\nDate: Tue, 02 Jan 2024 23:30:00 -0500\r\n"
     b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
     b"Content-Transfer-Encoding: quoted-printable\r\n\r\nSch=F6ne Gr=FC=DFe aus K=F6ln\r\n",
     ["\\Flagged", "\\Answered"], datetime(2024, 1, 3, 12)),
    # 3: multipart with base64 text and an attached message; deleted + draft
    (b"From: bob@example.org\r\nBcc: secret@example.org\r\nSubject: Report\r\n"
     b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
     b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
     b"VGhlIHF1YXJ0ZXJseSBudW1iZXJzIGFyZSBpbg==\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
     b"Subject: Forwarded thing\r\n\r\nInner needle text\r\n--b--\r\n" + b"x" * 2000,
     ["\\Deleted", "\\Draft"], datetime(2024, 2, 1, 12)),
    # 4: no Date, nothing set
    (b"From: dave@example.net\r\nSubject: no date here\r\n\r\nshort\r\n", [],
     datetime(2024, 3, 1, 12)),
]


@pytest.fixture
def view(tmp_path: Path) -> MailboxView:
    store = MailStore(tmp_path / "u", hub=MailboxHub())
    for raw, flags, when in MESSAGES:
        store.append("INBOX", raw, flags, when.timestamp())
    store.append("INBOX", b"Subject: later\r\n\r\nx\r\n")  # 5, recent for the view below
    peek = store.select("INBOX")  # takes \Recent of 1-5
    peek.unselect()
    store.append("INBOX", b"Subject: newest\r\n\r\nx\r\n")  # 6
    return store.select("INBOX")


def run(view: MailboxView, *values: Any, uid: bool = False, charset: str | None = None
        ) -> list[int]:
    def conv(v: Any) -> Any:
        if isinstance(v, list):
            return tuple(conv(x) for x in v)
        if isinstance(v, str) and v.isupper() and v.isalpha():
            return Atom(v)
        if isinstance(v, date):
            return Atom(format_date(v))
        return v
    key = parse_search([conv(v) for v in values], charset)
    return search(view, key, uid=uid)


@pytest.mark.parametrize(("values", "expected"), [
    (["ALL"], [1, 2, 3, 4, 5, 6]),
    (["SEEN"], [1]), (["UNSEEN"], [2, 3, 4, 5, 6]),
    (["ANSWERED"], [2]), (["UNANSWERED"], [1, 3, 4, 5, 6]),
    (["FLAGGED"], [2]), (["UNFLAGGED"], [1, 3, 4, 5, 6]),
    (["DELETED"], [3]), (["UNDELETED"], [1, 2, 4, 5, 6]),
    (["DRAFT"], [3]), (["UNDRAFT"], [1, 2, 4, 5, 6]),
    (["RECENT"], [6]), (["OLD"], [1, 2, 3, 4, 5]), (["NEW"], [6]),
    (["KEYWORD", Atom("$Work")], [1]), (["KEYWORD", Atom("$work")], [1]),
    (["KEYWORD", Atom("Unknown")], []), (["UNKEYWORD", Atom("$Work")], [2, 3, 4, 5, 6]),
    (["LARGER", 1000], [3]), (["SMALLER", 50], [5, 6]),
    (["FROM", "ALICE"], [1]), (["FROM", "jörg"], [2]), (["TO", "alice@"], [2]),
    (["CC", "carol"], [1]), (["BCC", "secret"], [3]),
    (["SUBJECT", "grüße"], [2]), (["SUBJECT", "lunch"], [1]),
    (["HEADER", "X-Tag", "RED"], [1]), (["HEADER", "x-tag", ""], [1]),
    (["HEADER", "Date", ""], [1, 2]),
    (["BODY", "schöne"], [2]), (["BODY", "QUARTERLY"], [3]), (["BODY", "needle"], [3]),
    (["BODY", "Lunch"], []), (["TEXT", "Lunch"], [1]), (["TEXT", "forwarded thing"], [3]),
    (["BEFORE", date(2024, 1, 3)], [1]), (["ON", date(2024, 1, 3)], [2]),
    (["SINCE", date(2024, 2, 1)], [3, 4, 5, 6]),
    # Sent dates: the Date field's own day (23:30 -0500 is still 2 Jan).
    (["SENTON", date(2024, 1, 2)], [2]), (["SENTBEFORE", date(2024, 1, 2)], [1]),
    (["SENTSINCE", date(2024, 1, 2)], [2]),
    (["NOT", "SEEN"], [2, 3, 4, 5, 6]),
    (["OR", "SEEN", "FLAGGED"], [1, 2]),
    (["OR", ["FROM", "bob", "DELETED"], "RECENT"], [3, 6]),
    (["UNSEEN", "UNDELETED", "SMALLER", 100], [4, 5, 6]),
    ([Atom("2:4")], [2, 3, 4]), ([Atom("5:*")], [5, 6]), ([Atom("4,1")], [1, 4]),
    (["UID", Atom("1,3:*")], [1, 3, 4, 5, 6]),
    (["NOT", ["OR", "SEEN", ["NOT", "UNSEEN"]]], [2, 3, 4, 5, 6]),
    (["YOUNGER", 3600], [5, 6]), (["OLDER", 3600], [1, 2, 3, 4]),
])
def test_keys(view: MailboxView, values: list[Any], expected: list[int]) -> None:
    assert run(view, *values) == expected


def test_uid_results(view: MailboxView) -> None:
    view.store([1], "+", ["\\Deleted"])
    view.expunge()  # 1 and 3 (deleted already)
    assert run(view, "ALL") == [1, 2, 3, 4]
    assert run(view, "ALL", uid=True) == [2, 4, 5, 6]
    assert run(view, "UID", Atom("2:4"), uid=True) == [2, 4]


def test_charset(view: MailboxView) -> None:
    assert run(view, "SUBJECT", "Grüße".encode("iso-8859-1"), charset="iso-8859-1") == [2]
    assert run(view, "BODY", "köln".encode(), charset="utf-8") == [2]
    with pytest.raises(SearchCharsetError):
        run(view, "ALL", charset="x-no-such-charset")


def test_cheap_keys_do_not_open_files(view: MailboxView, monkeypatch: pytest.MonkeyPatch
                                      ) -> None:
    def boom(uid: int) -> bytes:
        raise AssertionError("a message file was read")
    monkeypatch.setattr(view.folder, "read", boom)
    assert run(view, "UNSEEN", "LARGER", 10, "SINCE", date(2024, 1, 1), "UID", Atom("1:*"),
               "NOT", "DELETED") == [2, 4, 5, 6]
    # An AND tries the cheap key first: BODY is only looked at for survivors.
    assert run(view, "DELETED", "SEEN", "BODY", "x") == []


def test_expunged_by_another_session_never_matches(view: MailboxView, tmp_path: Path) -> None:
    other = MailStore(view.mailstore.root, hub=view.mailstore.hub).select("INBOX")
    other.store([2], "+", ["\\Deleted"])
    other.expunge()  # 2 and 3 (deleted already)
    view.refresh(allow_expunge=False)
    assert view.exists == 6
    assert run(view, "ALL") == [1, 4, 5, 6]


@pytest.mark.parametrize("key", [
    SearchKey("AND", (SearchKey("UID", ("$",)),)),
    SearchKey("AND", (SearchKey("MODSEQ", (5,)),)),
    SearchKey("AND", (SearchKey("BOGUS"),)),
    SearchKey("AND", (SearchKey("OR", (SearchKey("ALL"),)),)),
    SearchKey("AND", (SearchKey("SEQUENCE", ("0:3",)),)),
])
def test_unsupported_or_malformed(view: MailboxView, key: SearchKey) -> None:
    with pytest.raises(SearchError):
        search(view, key)


def test_raw_values_are_parsed(view: MailboxView) -> None:
    assert search(view, [Atom("FLAGGED")]) == [2]
    assert view.search(SearchKey("AND", (SearchKey("SEEN"),)), uid=True) == [1]


def test_deep_nesting_is_refused_not_crashing(view: MailboxView) -> None:
    key = SearchKey("ALL")
    for _ in range(500):
        key = SearchKey("NOT", (key,))
    with pytest.raises(SearchError):
        search(view, SearchKey("AND", (key,)))


def test_internal_dates_use_the_file_mtime(view: MailboxView) -> None:
    path = view.folder.path / "cur"
    assert all(os.stat(path / n).st_mtime for n in os.listdir(path))
    assert view.internal_date(2).date() == date(2024, 1, 3)
