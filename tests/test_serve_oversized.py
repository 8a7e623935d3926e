"""Oversized input to ``mimekit serve``: the right refusal, and memory that
does not grow with the size sent or claimed (issue 8).

The server runs as a subprocess so that its peak resident set (``VmHWM``
in /proc) is its own: after a warm-up, every hostile session below may
raise it by at most :data:`HEADROOM` bytes, while each sends or claims tens
of megabytes to gigabytes.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

MAX_SIZE = 1 << 20  # --max-size: 1 MiB
SENT = 64 << 20  # what each flood below sends: 64 MiB
#: The most the server's peak RSS may grow by in all: a quarter of one flood.
HEADROOM = 16 << 20
#: Every login runs scrypt (16 MiB) in a worker thread, and glibc's dynamic
#: mmap threshold then keeps such blocks in per-thread heaps, so the peak
#: would step up by 16 MiB whenever a login lands on a fresh worker: noise
#: that says nothing about buffering. A fixed threshold unmaps big blocks
#: when freed; a buffer that grew with the input would still count in full.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(1 << 20)}

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(),
                                reason="needs /proc to read the server's peak RSS")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    directory: Path
    smtp: int
    pop3: int
    imap: int

    def peak_rss(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmHWM")


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    d = Path(tempfile.mkdtemp(prefix="mimekit-oversized-"))
    subprocess.run([sys.executable, "-m", "mimekit", "user", "add", "alice", "--password",
                    "secret", "--dir", str(d)], check=True, capture_output=True)
    smtp, pop3, imap = _free_port(), _free_port(), _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mimekit", "serve", "--dir", str(d), "--domain", "example.test",
         "--smtp-port", str(smtp), "--submission-port", "0", "--pop3-port", str(pop3),
         "--imap-port", str(imap), "--max-size", str(MAX_SIZE),
         "--allow-plaintext-auth-on-loopback"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, **MALLOC_ENV})
    assert proc.stdout is not None
    for _ in range(3):
        assert b"listening on" in proc.stdout.readline()
    srv = Server(proc, d, smtp, pop3, imap)
    try:
        # Warm up every code path (twice), so that the baseline includes them.
        for _ in range(2):
            _session(smtp, b"EHLO x\r\nMAIL FROM:<a@far.test>\r\n"
                     b"RCPT TO:<alice@example.test>\r\nDATA\r\n",
                     b"Subject: warm\r\n\r\n" + b"x" * 900 + b"\r\n.\r\nQUIT\r\n")
            _session(pop3, b"USER alice\r\nPASS secret\r\nRETR 1\r\nQUIT\r\n")
            _session(imap, b"a LOGIN alice secret\r\nb SELECT INBOX\r\nc FETCH 1 BODY[]\r\n"
                     b"d LOGOUT\r\n")
        yield srv
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        proc.stdout.close()
        shutil.rmtree(d, ignore_errors=True)


def _session(port: int, start: bytes, flood: bytes = b"", repeat: int = 1,
             end: bytes = b"") -> bytes:
    """Send ``start``, ``flood`` ``repeat`` times (stopping early if the
    server closes), then ``end``; return everything the server said."""
    got = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(start)
        try:
            for _ in range(repeat):
                s.sendall(flood)
            s.sendall(end)
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server hung up on the flood: what it said is read below
        try:
            while chunk := s.recv(65536):
                got += chunk
        except ConnectionResetError:
            pass
    return bytes(got)


CHUNK = b"x" * 65536
REPEAT = SENT // len(CHUNK)


def test_smtp_oversized(server: Server) -> None:
    base = server.peak_rss()
    envelope = b"EHLO x\r\nMAIL FROM:<a@far.test>\r\nRCPT TO:<alice@example.test>\r\n"
    # A declared SIZE over the limit: refused before any data.
    out = _session(server.smtp, b"EHLO x\r\nMAIL FROM:<a@far.test> SIZE=4294967296\r\nQUIT\r\n")
    assert b"\r\n552 5.3.4" in out and b"\r\n221 " in out
    # A 64 MiB message against a 1 MiB limit: read, dropped, 552 at the end.
    lines = b"\r\n".join([CHUNK[:998]] * 64) + b"\r\n"
    out = _session(server.smtp, envelope + b"DATA\r\n", lines, SENT // len(lines),
                   b".\r\nQUIT\r\n")
    assert b"\r\n354 " in out and b"\r\n552 5.3.4" in out, out[-300:]
    # The same through BDAT.
    out = _session(server.smtp, envelope + b"BDAT %d LAST\r\n" % SENT, CHUNK, REPEAT,
                   b"QUIT\r\n")
    assert b"\r\n552 5.3.4" in out, out[-300:]
    # A BDAT chunk claiming 4 GiB: consumed as it comes (the chunk must be
    # read to stay in step), never buffered; the client gives up first.
    out = _session(server.smtp, envelope + b"BDAT 4294967296 LAST\r\n", CHUNK, REPEAT)
    assert out.endswith(b"250 2.1.5 recipient OK\r\n"), out[-300:]
    # A 64 MiB command line without an end.
    out = _session(server.smtp, b"EHLO x\r\nMAIL FROM:<", CHUNK, REPEAT, b">\r\nQUIT\r\n")
    assert b"\r\n500 5.5.2" in out, out[-300:]
    assert server.peak_rss() - base < HEADROOM
    assert not list((server.directory / "mail" / "alice" / "new").iterdir())[2:]  # warm-ups


def test_pop3_oversized(server: Server) -> None:
    base = server.peak_rss()
    out = _session(server.pop3, b"USER ", CHUNK, REPEAT, b"\r\nQUIT\r\n")
    assert b"-ERR line too long" in out
    out = _session(server.pop3, b"USER alice\r\nPASS ", CHUNK, REPEAT, b"\r\nQUIT\r\n")
    assert b"-ERR line too long" in out
    assert server.peak_rss() - base < HEADROOM


def test_imap_oversized(server: Server) -> None:
    base = server.peak_rss()
    login = b"a LOGIN alice secret\r\n"
    # A 4 GiB literal claim: refused before the "+", nothing allocated.
    out = _session(server.imap, login + b"b APPEND INBOX {4294967296}\r\n", b"c LOGOUT\r\n")
    assert b"\r\nb NO [TOOBIG] " in out and b"\r\n+ " not in out
    # A literal over --max-size with LITERAL+ (no "+" to wait for): sent anyway, skipped.
    out = _session(server.imap, login + b"b APPEND INBOX {%d+}\r\n" % SENT, CHUNK, REPEAT,
                   b"\r\nc LOGOUT\r\n")
    assert b"\r\nb NO [TOOBIG] " in out and b"\r\nc OK LOGOUT" in out
    # A 64 MiB command line.
    out = _session(server.imap, login + b"b SELECT ", CHUNK, REPEAT, b"\r\nc LOGOUT\r\n")
    assert b"\r\nb BAD Command line too long" in out and b"\r\nc OK LOGOUT" in out
    assert server.peak_rss() - base < HEADROOM
    out = _session(server.imap, login + b"b SELECT INBOX\r\nc LOGOUT\r\n")
    assert b"* 2 EXISTS" in out and b"\r\nb OK" in out  # the two warm-up messages only
