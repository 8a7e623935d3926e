"""Slow clients do not starve others; after ``kill -9`` the queue resumes."""

from __future__ import annotations

import contextlib
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
import threading
import time
from pathlib import Path

import pytest
from conftest import TESTS
from smtp_server_helpers import RecordingHandler, running_server

from mimekit.smtp import ServerConfig

PEERS = Path(os.environ.get("MIMEKIT_PEERS", TESTS.parent.parent / "shared" / "peers"))
BASE = 16700  # serve: submission BASE+587; sink: BASE+100+25


def test_slowloris_is_timed_out_and_does_not_starve_others() -> None:
    handler = RecordingHandler()
    config = ServerConfig(idle_timeout=0.5, session_timeout=2.0, max_connections=60)
    with running_server(handler, config) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(30)]
        dribblers = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(5)]
        stop = threading.Event()

        def dribble() -> None:
            while not stop.is_set():
                for s in dribblers:
                    with contextlib.suppress(OSError):
                        s.send(b"x")  # never a whole line
                time.sleep(0.2)

        t = threading.Thread(target=dribble)
        t.start()
        try:
            start = time.monotonic()
            with smtplib.SMTP("127.0.0.1", server.port, timeout=5) as c:  # not starved
                c.sendmail("a@example.test", ["b@example.test"], b"Subject: x\r\n\r\nhi\r\n")
            assert time.monotonic() - start < 1.5
            time.sleep(1.0)
            for s in idle:  # the idle ones were told and closed
                s.settimeout(2)
                data = s.recv(4096) + s.recv(4096)
                assert b"421 4.4.2" in data
            time.sleep(1.5)  # the dribblers hit the session time limit
            for s in dribblers:
                s.settimeout(2)
                chunks = b""
                try:
                    while chunk := s.recv(4096):
                        chunks += chunk
                except OSError:
                    pass
                assert b"421" in chunks
        finally:
            stop.set()
            t.join()
            for s in idle + dribblers:
                s.close()
    assert len(handler.messages) == 1


@pytest.mark.skipif(not (PEERS / "smtp-sink-up").exists(), reason="../shared/peers missing")
def test_queue_resumes_after_kill_9() -> None:
    pytest.importorskip("aiosmtpd", reason="aiosmtpd not installed: ../shared/peers/install-peers")
    directory = Path(tempfile.mkdtemp(prefix="mimekit-recover-"))
    sink_dir = tempfile.mkdtemp(prefix="mimekit-sink-")
    subprocess.run([sys.executable, "-m", "mimekit", "user", "add", "alice", "--password",
                    "secret", "--dir", str(directory)], check=True, capture_output=True)
    args = [sys.executable, "-m", "mimekit", "serve", "--dir", str(directory), "--domain",
            "example.test", "--smtp-port", "0", "--submission-port", str(BASE + 587),
            "--pop3-port", "0", "--imap-port", "0", "--relay-host",
            f"127.0.0.1:{BASE + 125}", "--retry", "1"]

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith(b"submission listening")
        return proc

    proc = start()
    try:
        ctx = ssl.create_default_context(cafile=str(directory / "tls" / "cert.pem"))
        with smtplib.SMTP("127.0.0.1", BASE + 587) as c:
            c.starttls(context=ctx)
            c.login("alice", "secret")
            for i in range(5):
                c.sendmail("alice@example.test", [f"friend{i}@elsewhere.test"],
                           f"Subject: queued {i}\r\n\r\nhello\r\n".encode())
        os.kill(proc.pid, signal.SIGKILL)  # with five messages queued, relay down
        proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()
        assert len(list((directory / "queue").glob("*.json"))) == 5
        subprocess.run([str(PEERS / "smtp-sink-up"), sink_dir, str(BASE + 100)], check=True,
                       capture_output=True)
        proc = start()  # the queue resumes on its own
        sink = mailbox.Maildir(Path(sink_dir) / "maildir", create=False)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(sink) < 5:
            time.sleep(0.2)
        subjects = sorted(m["Subject"] for m in sink)
        assert subjects == [f"queued {i}" for i in range(5)]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and list((directory / "queue").glob("*.json")):
            time.sleep(0.1)
        assert list((directory / "queue").glob("*.json")) == []
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
        if proc.stdout:
            proc.stdout.close()
        subprocess.run([str(PEERS / "smtp-sink-down"), sink_dir, "--purge"], check=False,
                       capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)
