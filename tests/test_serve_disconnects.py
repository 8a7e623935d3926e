"""``mimekit serve`` when clients vanish mid-command (issue 8).

A client cut off in the middle of an AUTH exchange, an APPEND literal, a
DATA transfer or a POP3 session with pending DELEs must leave nothing
delivered, nothing deleted, no stray file in any ``tmp/`` and no lock held:
the next client gets normal service. Each check goes over real sockets to
the SMTP, POP3 and IMAP listeners of one in-process :class:`MailSystem`.

The same faults at higher volume (40 clients, ``kill -9`` under load, disk
errors) are in ``test_serve_faults.py``; the literal limits are in
``test_imap_server_limits.py``.
"""

from __future__ import annotations

import base64
import imaplib
import poplib
import smtplib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_helpers import PASSWORD, Running, running_mail_system

from mimekit.mailstore import Maildir


@pytest.fixture(scope="module")
def serve() -> Iterator[Running]:
    with running_mail_system() as run:
        yield run


def _files(maildir: Path) -> dict[str, list[str]]:
    """Every file under new/, cur/ and tmp/ of the Maildir and its folders."""
    out: dict[str, list[str]] = {}
    for sub in ("new", "cur", "tmp"):
        out[sub] = sorted(str(p.relative_to(maildir)) for p in maildir.glob(f"**/{sub}/*"))
    return out


def _cut(port: int, *steps: bytes, then: bytes = b"") -> None:
    """Connect, send each step and read its reply (one line, or an SMTP
    multi-line reply), send ``then`` (which gets no reply), then drop."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s, \
            s.makefile("rb") as f:
        f.readline()  # the greeting
        for step in steps:
            s.sendall(step)
            line = f.readline()
            while line[3:4] == b"-":
                line = f.readline()
            assert line, f"server closed after {step!r}"
        s.sendall(then)
    time.sleep(0.2)  # let the server notice the close


def _plain(user: str = "alice", password: str = PASSWORD) -> bytes:
    return base64.b64encode(f"\0{user}\0{password}".encode())


def _smtp_works(run: Running) -> None:
    with smtplib.SMTP("127.0.0.1", run.smtp, timeout=10) as c:
        c.login("alice", PASSWORD)
        c.noop()


def _pop3_works(run: Running) -> int:
    """Log in and count; a maildrop still locked after a few seconds (the
    server has not seen a dropped session end) fails the test."""
    deadline = time.monotonic() + 5
    while True:
        c = poplib.POP3("127.0.0.1", run.pop3, timeout=10)
        try:
            c.user("alice")
            c.pass_(PASSWORD)
            return int(c.stat()[0])
        except poplib.error_proto as exc:
            if b"[IN-USE]" not in exc.args[0] or time.monotonic() > deadline:
                raise
        finally:
            c.quit()
        time.sleep(0.2)


def _imap_works(run: Running) -> int:
    with imaplib.IMAP4("127.0.0.1", run.imap, timeout=10) as c:
        c.login("alice", PASSWORD)
        typ, data = c.select("INBOX")
        assert typ == "OK"
        assert data[0] is not None
        return int(data[0])


def test_smtp_cut_mid_auth_and_mid_data(serve: Running) -> None:
    before = _files(serve.maildir) if serve.maildir.exists() else None
    _cut(serve.smtp, b"EHLO x\r\n", b"AUTH PLAIN\r\n")  # at the 334, no answer
    _cut(serve.smtp, b"EHLO x\r\n", b"AUTH LOGIN\r\n", base64.b64encode(b"alice") + b"\r\n")
    _cut(serve.smtp, b"EHLO x\r\n", b"MAIL FROM:<a@far.test>\r\n",
         b"RCPT TO:<alice@example.test>\r\n", b"DATA\r\n",
         then=b"Subject: half\r\n\r\n" + b"never ended\r\n" * 1000)
    _cut(serve.smtp, b"EHLO x\r\n", b"MAIL FROM:<a@far.test>\r\n",
         b"RCPT TO:<alice@example.test>\r\n", then=b"BDAT 100000\r\nSubject: short\r\n")
    _smtp_works(serve)
    after = _files(serve.maildir) if serve.maildir.exists() else None
    assert after == before
    assert not after or after["tmp"] == []


def test_pop3_cut_mid_auth_and_mid_session(serve: Running) -> None:
    with smtplib.SMTP("127.0.0.1", serve.smtp, timeout=10) as c:
        c.sendmail("a@far.test", ["alice@example.test"], b"Subject: keep me\r\n\r\nbody\r\n")
    count = _pop3_works(serve)
    assert count >= 1
    _cut(serve.pop3, b"USER alice\r\n")  # before PASS
    _cut(serve.pop3, b"AUTH PLAIN\r\n")  # at the "+", no answer
    _cut(serve.pop3, b"AUTH LOGIN\r\n", base64.b64encode(b"alice") + b"\r\n")
    # Logged in, every message marked deleted, then the connection drops:
    # no UPDATE state, so nothing is deleted and the maildrop is unlocked.
    dele = b"".join(b"DELE %d\r\n" % (i + 1) for i in range(count))
    with socket.create_connection(("127.0.0.1", serve.pop3), timeout=10) as s, \
            s.makefile("rb") as f:
        f.readline()
        s.sendall(b"USER alice\r\nPASS " + PASSWORD.encode() + b"\r\n" + dele)
        replies = [f.readline() for _ in range(2 + count)]
        assert all(r.startswith(b"+OK") for r in replies), replies
    time.sleep(0.2)
    assert _pop3_works(serve) == count
    assert _files(serve.maildir)["tmp"] == []


def test_imap_cut_mid_auth_and_mid_literal(serve: Running) -> None:
    count = _imap_works(serve)
    _cut(serve.imap, b"a AUTHENTICATE PLAIN\r\n")  # at the "+", no answer
    _cut(serve.imap, b"a LOGIN alice {11}\r\n")  # at the "+", before the literal
    _cut(serve.imap, b"a LOGIN alice " + PASSWORD.encode() + b"\r\n",
         b"b APPEND INBOX {5000}\r\n", then=b"From: half\r\n\r\n" + b"x" * 1000)
    _cut(serve.imap, b"a LOGIN alice " + PASSWORD.encode() + b"\r\n",
         then=b"b APPEND Sent (\\Seen) {5000+}\r\nFrom: half\r\n\r\n")
    assert _imap_works(serve) == count
    files = _files(serve.maildir)
    assert files["tmp"] == []
    for folder in ("INBOX", "Sent"):
        md = Maildir(serve.maildir) if folder == "INBOX" else Maildir(serve.maildir).folder(folder)
        keys = md.keys()
        assert not any(b"From: half" in md.get_bytes(key) for key in keys), folder
