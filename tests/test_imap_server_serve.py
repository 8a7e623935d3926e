"""``mimekit serve --imap-port`` end to end, as a real process on 127.0.0.1:
the start-up line, IDLE woken at once by a message delivered over SMTP,
the same users file and Maildirs as SMTP and POP3, STARTTLS with the served
certificate, ``--imap-plaintext-auth never`` (LOGINDISABLED), and a clean
shutdown on SIGTERM that says BYE to a client in IDLE."""

from __future__ import annotations

import imaplib
import shutil
import signal
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from imap_server_fixtures import MSG, Wire, free_port

import mimekit


class Served:
    def __init__(self, directory: Path, smtp: int, imap: int,
                 proc: subprocess.Popen[str]) -> None:
        self.dir, self.smtp, self.imap, self.proc = directory, smtp, imap, proc


def _start(directory: Path, smtp: int, imap: int, *extra: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mimekit", "serve", "--dir", str(directory),
         "--domain", "example.test", "--smtp-port", str(smtp), "--submission-port", "0",
         "--pop3-port", "0", "--imap-port", str(imap), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    lines = [proc.stdout.readline(), proc.stdout.readline()]
    assert lines == [f"smtp listening on 127.0.0.1:{smtp}\n",
                     f"imap listening on 127.0.0.1:{imap}\n"], (
        lines, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
    return proc


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    return proc.returncode


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    directory = Path(tempfile.mkdtemp(prefix="mimekit-imap-serve-"))
    for name in ("alice", "bob"):
        subprocess.run([sys.executable, "-m", "mimekit", "user", "add", name, "--password",
                        "secret", "--dir", str(directory)], check=True, capture_output=True)
    smtp = free_port(15025, 15100)
    imap = free_port(15143, 15200)
    proc = _start(directory, smtp, imap)
    try:
        yield Served(directory, smtp, imap, proc)
    finally:
        code = _stop(proc)
        shutil.rmtree(directory, ignore_errors=True)
        assert code == 0  # a clean shutdown on SIGTERM


def test_idle_is_woken_by_an_smtp_delivery(served: Served) -> None:
    with Wire(served.imap) as w:
        assert b"IMAP4rev1" in w.greeting and b"AUTH=PLAIN" in w.greeting
        assert w.cmd("LOGIN alice secret")[-1].startswith(b"a OK")
        assert b"* 0 EXISTS" in w.cmd("SELECT INBOX", "b")
        w.send(b"c IDLE\r\n")
        assert w.line().startswith(b"+")
        started = time.monotonic()
        with smtplib.SMTP("127.0.0.1", served.smtp) as s:
            assert s.sendmail("carol@far.test", ["alice@example.test"], MSG) == {}
        assert w.line() == b"* 1 EXISTS"
        # At once: the delivery tells the IMAP side (the disk poll is 5 s).
        assert time.monotonic() - started < 2.5
        assert w.line() == b"* 1 RECENT"
        w.send(b"DONE\r\n")
        assert w.line().startswith(b"c OK")
        lines = w.cmd("FETCH 1 (ENVELOPE BODY.PEEK[])", "d")
        assert b"Subject: hello" in lines[0] and lines[0].endswith(b"line two\r\n)")
    # The bytes are the delivered file's, trace fields included.
    stored = next((served.dir / "mail" / "alice" / "cur").iterdir()).read_bytes()
    c = imaplib.IMAP4("127.0.0.1", served.imap)
    c.login("alice", "secret")
    c.select("INBOX")
    _typ, data = c.fetch("1", "(BODY.PEEK[])")
    assert data[0][1] == stored and stored.endswith(MSG)  # type: ignore[index]
    assert mimekit.parse(stored).subject == "hello"
    c.logout()


def test_starttls_with_the_served_certificate(served: Served) -> None:
    c = imaplib.IMAP4("127.0.0.1", served.imap)
    assert "STARTTLS" in c.capabilities
    ctx = ssl.create_default_context(cafile=str(served.dir / "tls" / "cert.pem"))
    ctx.check_hostname = False  # the certificate names the mail domain
    c.starttls(ctx)
    c.login("bob", "secret")
    assert c.select("INBOX") == ("OK", [b"0"])
    c.logout()


def test_plaintext_never_then_shutdown_says_bye_to_idle(served: Served) -> None:
    directory = Path(tempfile.mkdtemp(prefix="mimekit-imap-serve2-"))
    try:
        subprocess.run([sys.executable, "-m", "mimekit", "user", "add", "alice", "--password",
                        "secret", "--dir", str(directory)], check=True, capture_output=True)
        smtp = free_port(15300, 15400)
        imap = free_port(15400, 15500)
        proc = _start(directory, smtp, imap, "--imap-plaintext-auth", "never")
        try:
            with Wire(imap) as w:
                assert b"LOGINDISABLED" in w.greeting and b"AUTH=" not in w.greeting
                assert b"PRIVACYREQUIRED" in w.cmd("LOGIN alice secret")[-1]
            c = imaplib.IMAP4("127.0.0.1", imap)
            ctx = ssl.create_default_context(cafile=str(directory / "tls" / "cert.pem"))
            ctx.check_hostname = False
            c.starttls(ctx)
            assert "LOGINDISABLED" not in c.capability()[1][0].decode()  # type: ignore[union-attr]
            c.login("alice", "secret")
            c.select("INBOX")
            tag = c._new_tag()  # type: ignore[attr-defined]
            c.send(tag + b" IDLE\r\n")
            assert c.readline().startswith(b"+")
            assert _stop(proc) == 0
            assert c.readline().startswith(b"* BYE [UNAVAILABLE]")
            c.shutdown()
        finally:
            if proc.poll() is None:
                _stop(proc)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
