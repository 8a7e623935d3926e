"""Several sessions on one mailbox, and deliveries while clients IDLE.

* EXISTS, EXPUNGE and FETCH FLAGS reach the other sessions: at their next
  command, or at once in IDLE (no polling).
* RFC 3501 section 7.4.1: no EXPUNGE during FETCH, STORE or SEARCH (their
  UID forms excepted); the numbers stay valid until the next command, and a
  FETCH of an expunged message is ``NO [EXPUNGEISSUED]``.
* A delivery in this process (``MailboxHub.notify``, what ``mimekit serve``
  does after SMTP) wakes IDLE at once; a file dropped in by another process
  is found by the IDLE poll.
* A mailbox deleted under a session ends that session with BYE.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from imap_server_fixtures import MSG, PASSWORD, Running, Wire, message, running_server

from mimekit.imap import IMAPServerConfig, MailboxHub
from mimekit.mailstore import Maildir
from mimekit.serve._delivery import LocalDelivery


@pytest.fixture(scope="module")
def hub() -> MailboxHub:
    return MailboxHub()


@pytest.fixture(scope="module")
def srv(hub: MailboxHub) -> Iterator[Running]:
    # A long disk poll, so that a wake-up within it proves the notification.
    with running_server(IMAPServerConfig(idle_poll=30.0, auth_failure_delay=0.0),
                        hub=hub) as running:
        yield running


def login(srv: Running, user: str, select: str | None = "INBOX") -> Wire:
    w = Wire(srv.port)
    assert w.cmd(f"LOGIN {user} {PASSWORD}", "l")[-1].startswith(b"l OK")
    if select:
        assert w.cmd(f"SELECT {select}", "s")[-1].startswith(b"s OK")
    return w


def append(srv: Running, user: str, count: int) -> None:
    c = srv.imap(user)
    for n in range(1, count + 1):
        assert c.append("INBOX", None, None, message(n))[0] == "OK"
    c.logout()


def test_updates_reach_other_sessions_at_their_next_command(srv: Running) -> None:
    append(srv, "conc1", 3)
    a, b = login(srv, "conc1"), login(srv, "conc1")
    with a, b:
        a.cmd("STORE 2 +FLAGS.SILENT (\\Flagged)")
        a.cmd(b"APPEND INBOX {%d+}\r\n" % len(MSG) + MSG)
        a.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
        a.cmd("EXPUNGE")
        lines = b.cmd("NOOP", "n")
        assert lines == [b"* 1 EXPUNGE", b"* 3 EXISTS", b"* 0 RECENT",
                         b"* 1 FETCH (UID 2 FLAGS (\\Flagged))", b"n OK NOOP completed"]
        assert b.cmd("NOOP", "m") == [b"m OK NOOP completed"]  # told once


def test_no_expunge_during_fetch_store_search(srv: Running) -> None:
    append(srv, "conc2", 4)
    a, b = login(srv, "conc2"), login(srv, "conc2")
    with a, b:
        a.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)")
        a.cmd("EXPUNGE")
        # FETCH: message 2 keeps its number, has no data: NO [EXPUNGEISSUED].
        lines = b.cmd("FETCH 1:4 (UID)", "f")
        assert lines == [b"* 1 FETCH (UID 1)", b"* 3 FETCH (UID 3)", b"* 4 FETCH (UID 4)",
                         lines[-1]]
        assert lines[-1].startswith(b"f NO [EXPUNGEISSUED]")
        lines = b.cmd("SEARCH ALL", "s")
        assert lines == [b"* SEARCH 1 3 4", b"s OK SEARCH completed"]
        lines = b.cmd("STORE 4 +FLAGS (\\Seen)", "t")
        assert lines == [b"* 4 FETCH (FLAGS (\\Seen))", b"t OK STORE completed"]
        # A UID command may renumber: the EXPUNGE goes out now.
        lines = b.cmd("UID FETCH 4 (FLAGS)", "u")
        assert lines == [b"* 4 FETCH (UID 4 FLAGS (\\Seen))", b"* 2 EXPUNGE",
                         b"u OK UID FETCH completed"]


def test_idle_woken_at_once_by_sessions_and_deliveries(srv: Running, hub: MailboxHub) -> None:
    watchers = [login(srv, "conc3") for _ in range(3)]
    try:
        for i, w in enumerate(watchers):
            w.send(f"i{i} IDLE\r\n".encode())
            assert w.line().startswith(b"+")
        # A delivery by this process (as mimekit serve's SMTP side does it).
        delivery = LocalDelivery(srv.root, delivered=hub.notify)
        started = time.monotonic()
        delivery.deliver("conc3", MSG)
        recent = []
        for w in watchers:
            assert w.line() == b"* 1 EXISTS"
            recent.append(w.line())
        assert time.monotonic() - started < 2  # not the 30 s poll
        # \Recent belongs to one session only (RFC 3501 2.3.2).
        assert sorted(recent) == [b"* 0 RECENT", b"* 0 RECENT", b"* 1 RECENT"]
        # Another session's change.
        other = login(srv, "conc3")
        with other:
            other.cmd("STORE 1 +FLAGS.SILENT (\\Answered)")
            for w, r in zip(watchers, recent, strict=True):
                assert w.line() == b"* 1 FETCH (UID 1 FLAGS (\\Answered%s))" % (
                    b" \\Recent" if r == b"* 1 RECENT" else b"")
        for i, w in enumerate(watchers):
            w.send(b"DONE\r\n")
            assert w.line().startswith(f"i{i} OK".encode())
    finally:
        for w in watchers:
            w.close()


def test_idle_poll_finds_changes_by_other_processes() -> None:
    with running_server(IMAPServerConfig(idle_poll=0.3)) as srv:
        w = login(srv, "conc4")
        with w:
            w.send(b"i IDLE\r\n")
            assert w.line().startswith(b"+")
            # A file written by someone else (an MDA, Dovecot's LDA): no notify.
            Maildir(srv.maildir("conc4")).add(MSG)
            started = time.monotonic()
            assert w.line() == b"* 1 EXISTS"
            assert time.monotonic() - started < 3


def test_deleted_under_a_session_ends_it(srv: Running) -> None:
    c = srv.imap("conc5")
    c.create("Doomed")
    c.logout()
    victim = login(srv, "conc5", select="Doomed")
    killer = login(srv, "conc5", select=None)
    with victim, killer:
        assert killer.cmd("DELETE Doomed")[-1].startswith(b"a OK")
        victim.send(b"n NOOP\r\n")
        assert victim.line().startswith(b"* BYE")
        assert victim.closed()
        # The session's own selected mailbox cannot be deleted or renamed.
        killer.cmd("SELECT INBOX")
        assert b"NO [" in killer.cmd("DELETE INBOX", "d")[-1]
        killer.cmd("CREATE Mine", "e")
        killer.cmd("SELECT Mine", "f")
        assert b"NO [INUSE]" in killer.cmd("DELETE Mine", "g")[-1]
        assert b"NO [INUSE]" in killer.cmd("RENAME Mine Yours", "h")[-1]


def test_concurrent_appends_get_distinct_uids(srv: Running) -> None:
    errors: list[BaseException] = []
    uids: list[int] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        try:
            c = srv.imap("conc6")
            for n in range(10):
                typ, data = c.append("INBOX", None, None, message(k * 100 + n))
                assert typ == "OK"
                uid = int(data[0].split()[2].rstrip(b"]"))  # type: ignore[union-attr]
                with lock:
                    uids.append(uid)
            c.logout()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sorted(uids) == list(range(1, 41))
    c = srv.imap("conc6")
    c.select("INBOX")
    assert c.search(None, "ALL")[1][0].split()[-1] == b"40"  # type: ignore[union-attr]
    c.logout()
