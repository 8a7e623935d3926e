"""``mimekit serve`` end to end, as a real process on 127.0.0.1.

Real clients (smtplib, swaks) deliver into the Maildirs; authenticated
submission goes through the outgoing queue to a real aiosmtpd smarthost
(../shared/peers smtp-sink), which is down at first to force a retry; a
permanent refusal comes back as an RFC 3464 bounce.
"""

from __future__ import annotations

import mailbox
import os
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TESTS

import mimekit

PEERS = Path(os.environ.get("MIMEKIT_PEERS", TESTS.parent.parent / "shared" / "peers"))
BASE = 16000  # our own port range: smtp BASE+25, submission BASE+587, sink BASE+1000+25


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _free(port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open")


class Served:
    def __init__(self, directory: Path, proc: subprocess.Popen[str]) -> None:
        self.dir = directory
        self.proc = proc
        self.smtp = BASE + 25
        self.submission = BASE + 587

    @property
    def ca(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.dir / "tls" / "cert.pem"))

    def maildir(self, user: str) -> list[bytes]:
        md = self.dir / "mail" / user
        files = sorted((md / "new").iterdir()) + sorted((md / "cur").iterdir()) \
            if md.exists() else []
        return [f.read_bytes() for f in files]

    def wait_for_mail(self, user: str, count: int, timeout: float = 20.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.maildir(user)
            if len(got) >= count:
                return got
            time.sleep(0.1)
        raise AssertionError(f"{user} has {len(self.maildir(user))} messages, wanted {count}")


@pytest.fixture
def served() -> Iterator[Served]:
    directory = Path(tempfile.mkdtemp(prefix="mimekit-serve-"))
    for name in ("alice", "bob"):
        subprocess.run([sys.executable, "-m", "mimekit", "user", "add", name, "--password",
                        "secret", "--dir", str(directory)], check=True, capture_output=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mimekit", "serve", "--dir", str(directory),
         "--domain", "example.test", "--smtp-port", str(BASE + 25),
         "--submission-port", str(BASE + 587), "--pop3-port", "0", "--imap-port", "0",
         "--relay-host", f"127.0.0.1:{BASE + 1025}", "--retry", "1", "-v"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        assert lines == [f"smtp listening on 127.0.0.1:{BASE + 25}\n",
                         f"submission listening on 127.0.0.1:{BASE + 587}\n"], (
            lines, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        yield Served(directory, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
        shutil.rmtree(directory, ignore_errors=True)


MSG = (b"From: Carol <carol@far.test>\r\nTo: alice@example.test\r\n"
       b"Subject: hello\r\nMessage-ID: <1@far.test>\r\n\r\n"
       b".starts with a dot\r\nline two\r\n")


def test_local_delivery_is_byte_intact(served: Served) -> None:
    with smtplib.SMTP("127.0.0.1", served.smtp) as c:
        assert c.sendmail("carol@far.test", ["alice@example.test", "alice+lists@example.test"],
                          MSG) == {}
    (stored,) = served.wait_for_mail("alice", 1)
    assert stored.startswith(b"Return-Path: <carol@far.test>\r\nReceived: from ")
    assert stored.endswith(MSG)  # the message below the trace fields, byte for byte
    msg = mimekit.parse(stored)
    assert msg.subject == "hello" and msg.headers.get("Received") is not None
    # The stdlib reads our Maildir too.
    assert len(mailbox.Maildir(served.dir / "mail" / "alice", create=False)) == 1


def test_unknown_user_and_relay_refused(served: Served) -> None:
    with smtplib.SMTP("127.0.0.1", served.smtp) as c:
        c.ehlo()
        assert c.mail("carol@far.test")[0] == 250
        code, text = c.rcpt("nobody@example.test")
        assert (code, text[:5]) == (550, b"5.1.1")
        code, text = c.rcpt("someone@elsewhere.test")
        assert (code, text[:5]) == (554, b"5.7.1")
    assert served.maildir("alice") == []


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks not installed "
                    "(../shared/peers/install-peers)")
def test_swaks_and_smuggling(served: Served) -> None:
    proc = subprocess.run(["swaks", "--server", f"127.0.0.1:{served.smtp}", "--from",
                           "x@far.test", "--to", "bob@example.test", "--header",
                           "Subject: via swaks"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout
    assert b"Subject: via swaks" in served.wait_for_mail("bob", 1)[0]
    with socket.create_connection(("127.0.0.1", served.smtp), timeout=5) as s:
        s.sendall(b"EHLO x\r\nMAIL FROM:<a@far.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        time.sleep(0.3)
        s.sendall(b"Subject: a\r\n\r\nx\n.\nMAIL FROM:<evil@far.test>\nRCPT TO:"
                  b"<bob@example.test>\nDATA\nSubject: smuggled\n\n.\n\r\n.\r\nQUIT\r\n")
        time.sleep(0.5)
        out = s.recv(65536)
    assert b"550 5.6.0" in out
    assert len(served.maildir("bob")) == 1  # nothing new, smuggled or not


def _sink(workdir: str, *opts: str) -> dict[str, str]:
    out = subprocess.run([str(PEERS / "smtp-sink-up"), workdir, str(BASE + 1000), *opts],
                         check=True, capture_output=True, text=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


@pytest.mark.skipif(not (PEERS / "smtp-sink-up").exists(), reason="../shared/peers missing")
def test_submission_queue_retry_and_bounce(served: Served) -> None:
    pytest.importorskip("aiosmtpd", reason="aiosmtpd not installed: ../shared/peers/install-peers")
    workdir = tempfile.mkdtemp(prefix="mimekit-sink-")
    try:
        # The smarthost is down: the message must wait in the queue.
        with smtplib.SMTP("127.0.0.1", served.submission) as c:
            c.starttls(context=served.ca)
            c.login("alice", "secret")
            c.sendmail("alice@example.test", ["friend@elsewhere.test"],
                       b"From: alice@example.test\r\nTo: friend@elsewhere.test\r\n"
                       b"Bcc: secret@elsewhere.test\r\nSubject: queued\r\n\r\nhello\r\n")
        time.sleep(1.5)
        queue = served.dir / "queue"
        assert len(list(queue.glob("*.json"))) == 1
        # Up it comes; the retry (1 s, then 2 s...) delivers it.
        info = _sink(workdir, "--reject", "gone@elsewhere.test")
        deadline = time.monotonic() + 20
        sink = mailbox.Maildir(info["MAILDIR"], create=False)
        while time.monotonic() < deadline and len(sink) == 0:
            time.sleep(0.2)
        (got,) = [bytes(m) for m in sink]
        assert b"Subject: queued" in got and b"X-Sink-Rcpt-To: <friend@elsewhere.test>" in got
        assert b"Bcc:" not in got
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and list(queue.glob("*.json")):
            time.sleep(0.1)
        assert list(queue.glob("*.json")) == []
        # A permanent refusal: a bounce lands in alice's INBOX.
        with smtplib.SMTP("127.0.0.1", served.submission) as c:
            c.starttls(context=served.ca)
            c.login("alice", "secret")
            c.sendmail("alice@example.test", ["gone@elsewhere.test"],
                       b"From: alice@example.test\r\nSubject: to a ghost\r\n\r\nboo\r\n")
        (bounce,) = served.wait_for_mail("alice", 1)
        msg = mimekit.parse(bounce)
        assert msg.content_type.mime_type == "multipart/report"
        status = msg.parts[1].get_bytes()
        assert b"Final-Recipient: rfc822; gone@elsewhere.test" in status
        assert b"Status: 5.1.1" in status
        assert msg.parts[2].message is not None
        assert msg.parts[2].message.subject == "to a ghost"
    finally:
        subprocess.run([str(PEERS / "smtp-sink-down"), workdir, "--purge"], check=False,
                       capture_output=True)
