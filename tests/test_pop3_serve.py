"""``mimekit serve --pop3-port`` end to end, as a real process on 127.0.0.1:
mail sent with smtplib to its SMTP port is read back with poplib (STAT,
UIDL, byte-exact RETR, TOP, DELE at QUIT, STLS, the maildrop lock) from the
same users file."""

from __future__ import annotations

import poplib
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
from pop3_helpers import worker_slot

import mimekit

MSG = (b"From: Carol <carol@far.test>\r\nTo: alice@example.test\r\n"
       b"Subject: hello\r\nMessage-ID: <1@far.test>\r\n\r\n"
       b".starts with a dot\r\nline two\r\nline three\r\n")


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


class Served:
    def __init__(self, directory: Path, smtp: int, pop3: int) -> None:
        self.dir, self.smtp, self.pop3 = directory, smtp, pop3

    def pop(self, user: str = "alice") -> poplib.POP3:
        p = poplib.POP3("127.0.0.1", self.pop3, timeout=10)
        p.user(user)
        p.pass_("secret")
        return p


@pytest.fixture(scope="module")
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    # Our own port slot (other modules use 16000, 21000-22000, 24000+).
    base = 18200 + 3000 * worker_slot(request.config)
    while not (_free(base + 25) and _free(base + 110)):
        base += 7
    directory = Path(tempfile.mkdtemp(prefix="mimekit-pop3-serve-"))
    for name in ("alice", "bob"):
        subprocess.run([sys.executable, "-m", "mimekit", "user", "add", name, "--password",
                        "secret", "--dir", str(directory)], check=True, capture_output=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mimekit", "serve", "--dir", str(directory),
         "--domain", "example.test", "--smtp-port", str(base + 25), "--submission-port", "0",
         "--pop3-port", str(base + 110), "--imap-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        assert lines == [f"smtp listening on 127.0.0.1:{base + 25}\n",
                         f"pop3 listening on 127.0.0.1:{base + 110}\n"], (
            lines, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        yield Served(directory, base + 25, base + 110)
    finally:
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
            shutil.rmtree(directory, ignore_errors=True)
        assert proc.returncode == 0  # a clean shutdown on SIGTERM


def test_poplib_reads_what_smtp_delivered(served: Served) -> None:
    with smtplib.SMTP("127.0.0.1", served.smtp) as c:
        for _ in range(3):
            assert c.sendmail("carol@far.test", ["alice@example.test"], MSG) == {}
    md = served.dir / "mail" / "alice"
    deadline = time.monotonic() + 10
    while len(list((md / "new").iterdir())) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    stored = sorted((md / "new").iterdir())
    contents = [f.read_bytes() for f in stored]
    p = served.pop()
    count, octets = p.stat()
    assert count == 3 and octets == sum(map(len, contents))  # stored with CRLF
    uids = [line.split()[1].decode() for line in p.uidl()[1]]
    assert uids == [f.name.split(",")[0] for f in stored]  # the Maildir unique names
    _, lines, _ = p.retr(1)
    wire = b"\r\n".join(lines) + b"\r\n"
    assert wire == contents[0] and wire.endswith(MSG)  # byte-exact
    assert mimekit.parse(wire).subject == "hello"
    _, top, _ = p.top(2, 1)
    assert top[-2:] == [b"", b".starts with a dot"]
    # The lock: a second session for alice is refused while this one lives.
    q = poplib.POP3("127.0.0.1", served.pop3, timeout=10)
    q.user("alice")
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
        q.pass_("secret")
    q.quit()
    p.dele(1)
    p.dele(2)
    assert len(list((md / "cur").iterdir())) == 3  # new -> cur on sight, nothing deleted yet
    p.quit()
    left = list((md / "cur").iterdir())
    assert len(left) == 1 and left[0].name.split(",")[0] == uids[2]
    p = served.pop()
    assert p.uidl()[1] == [f"1 {uids[2]}".encode()]  # stable across sessions
    p.quit()


def test_stls_with_the_served_certificate(served: Served) -> None:
    p = poplib.POP3("127.0.0.1", served.pop3, timeout=10)
    assert "STLS" in p.capa()
    ctx = ssl.create_default_context(cafile=str(served.dir / "tls" / "cert.pem"))
    p.stls(ctx)
    p.user("bob")
    p.pass_("secret")
    assert p.stat() == (0, 0)
    p.quit()
    bad = poplib.POP3("127.0.0.1", served.pop3, timeout=10)
    bad.user("bob")
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        bad.pass_("wrong")
    bad.quit()
