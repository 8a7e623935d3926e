"""``mimekit serve`` under load and faults: many concurrent clients, cut
connections, and ``kill -9`` — no acknowledged message is lost or doubled."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import mimekit
from mimekit.smtp import SMTPClient

BASE = 16500  # smtp BASE+25 (16525)
PORT = BASE + 25


def _start(directory: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mimekit", "serve", "--dir", str(directory), "--domain",
         "example.test", "--smtp-port", str(PORT), "--submission-port", "0", "--pop3-port",
         "0", "--imap-port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith(b"smtp listening on"), line
    return proc


@pytest.fixture
def mail_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="mimekit-faults-"))
    subprocess.run([sys.executable, "-m", "mimekit", "user", "add", "alice", "--password",
                    "secret", "--dir", str(d)], check=True, capture_output=True)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    if proc.stdout:
        proc.stdout.close()


def _delivered_ids(directory: Path) -> list[str]:
    ids = []
    for sub in ("new", "cur"):
        folder = directory / "mail" / "alice" / sub
        if not folder.exists():
            continue
        for f in folder.iterdir():
            msg = mimekit.parse(f.read_bytes())
            assert msg.get_bytes().endswith(b"end of message\r\n"), f  # never partial
            ids.append(msg.message_id or "")
    return ids


def _message(n: str) -> bytes:
    return (f"From: load@far.test\r\nTo: alice@example.test\r\nMessage-ID: <{n}@far.test>\r\n"
            f"Subject: {n}\r\n\r\n").encode() + b"some body text\r\n" * 50 + b"end of message\r\n"


def test_our_client_with_bdat_and_pipelining(mail_dir: Path) -> None:
    proc = _start(mail_dir)
    try:
        with SMTPClient("127.0.0.1", PORT) as c:
            assert "CHUNKING" in c.extensions and "PIPELINING" in c.extensions
            big = _message("bdat").replace(b"some body text", b"x" * 3000)
            result = c.send(big, recipients=["alice@example.test"])
            assert result.chunking and list(result.accepted) == ["alice@example.test"]
        stored = (mail_dir / "mail" / "alice" / "new")
        (only,) = list(stored.iterdir())
        assert only.read_bytes().endswith(big)
    finally:
        _stop(proc)


def test_forty_concurrent_clients_400_messages_each_exactly_once(mail_dir: Path) -> None:
    proc = _start(mail_dir)
    errors: list[BaseException] = []

    def client(k: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", PORT, timeout=60) as c:
                for i in range(10):
                    c.sendmail("load@far.test", ["alice@example.test"], _message(f"c{k}-{i}"))
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=client, args=(k,)) for k in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
    finally:
        _stop(proc)
    ids = _delivered_ids(mail_dir)
    assert sorted(ids) == sorted(f"c{k}-{i}@far.test" for k in range(40) for i in range(10))


def test_cut_connection_mid_data_delivers_nothing(mail_dir: Path) -> None:
    proc = _start(mail_dir)
    try:
        s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
        s.sendall(b"EHLO x\r\nMAIL FROM:<a@far.test>\r\nRCPT TO:<alice@example.test>\r\n"
                  b"DATA\r\n")
        time.sleep(0.3)
        s.sendall(b"Subject: cut\r\n\r\nhalf a mess")
        s.close()  # no CRLF.CRLF: the message never ended
        time.sleep(0.5)
        with smtplib.SMTP("127.0.0.1", PORT) as c:  # the server is fine
            c.noop()
    finally:
        _stop(proc)
    md = mail_dir / "mail" / "alice"
    assert not md.exists() or not any((md / sub).iterdir() for sub in ("new", "cur", "tmp"))


def test_kill_9_under_load_loses_nothing_acknowledged(mail_dir: Path) -> None:
    proc = _start(mail_dir)
    acked: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(k: int) -> None:
        i = 0
        while not stop.is_set():
            try:
                with smtplib.SMTP("127.0.0.1", PORT, timeout=10) as c:
                    while not stop.is_set():
                        ident = f"k{k}-{i}"
                        i += 1
                        c.sendmail("load@far.test", ["alice@example.test"], _message(ident))
                        with lock:
                            acked.append(f"{ident}@far.test")  # the 250 came back
            except (OSError, smtplib.SMTPException):
                return  # the server died under us: expected

    threads = [threading.Thread(target=client, args=(k,)) for k in range(10)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    stop.set()
    for t in threads:
        t.join(30)
    if proc.stdout:
        proc.stdout.close()
    assert len(acked) > 20, "the load did not get going"
    # Restart: the store is intact and every acknowledged message is there, once.
    proc = _start(mail_dir)
    try:
        with smtplib.SMTP("127.0.0.1", PORT) as c:
            c.sendmail("load@far.test", ["alice@example.test"], _message("after"))
    finally:
        _stop(proc)
    ids = _delivered_ids(mail_dir)
    # Half-written deliveries of the killed process were cleaned at start.
    assert list((mail_dir / "mail" / "alice" / "tmp").iterdir()) == []
    assert len(ids) == len(set(ids)), "a message was delivered twice"
    missing = set(acked) - set(ids)
    assert not missing, f"{len(missing)} acknowledged messages lost"
    assert "after@far.test" in ids
    assert all(re.fullmatch(r"k\d+-\d+@far\.test|after@far\.test", i) for i in ids)


def test_disk_errors_give_4xx_and_nothing_is_acknowledged(mail_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC or EIO in the store: 451, and the message is not there."""
    import asyncio
    import errno

    from mimekit.mailstore import Maildir
    from mimekit.serve import MailSystem, ServeOptions

    failures = [errno.ENOSPC, errno.EIO]
    real_add = Maildir.add

    def failing_add(self: Maildir, *args: object, **kwargs: object) -> str:
        if failures:
            code = failures.pop(0)
            raise OSError(code, os.strerror(code))
        return real_add(self, *args, **kwargs)  # type: ignore[arg-type]

    async def scenario() -> list[int]:
        system = MailSystem(ServeOptions(directory=mail_dir, domains=["example.test"],
                                         smtp_port=0, submission_port=0, pop3_port=0,
                                         imap_port=0), out=io.StringIO())
        await system.start()
        port = 0
        try:
            from mimekit.serve._handlers import MailSystemHandler
            from mimekit.smtp import ServerConfig, SMTPServer
            handler = MailSystemHandler(users=system.users, domains={"example.test"},
                                        delivery=system.delivery, queue=system.queue,
                                        hostname="example.test", can_relay=False)
            server = SMTPServer(handler, ServerConfig())
            await server.start("127.0.0.1", 0)
            port = server.port

            def send() -> list[int]:
                codes = []
                for n in ("one", "two", "three"):
                    with smtplib.SMTP("127.0.0.1", port) as c:
                        try:
                            c.sendmail("x@far.test", ["alice@example.test"], _message(n))
                            codes.append(250)
                        except smtplib.SMTPDataError as exc:
                            codes.append(exc.smtp_code)
                return codes

            monkeypatch.setattr(Maildir, "add", failing_add)
            codes = await asyncio.to_thread(send)
            await server.close()
            return codes
        finally:
            await system.stop()

    codes = asyncio.run(scenario())
    assert codes == [451, 451, 250]
    assert _delivered_ids(mail_dir) == ["three@far.test"]
