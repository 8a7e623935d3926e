"""Helpers for the IMAP server tests: our ``IMAPServer`` on a free loopback
port in a background thread (with its own event loop), a raw-socket client
for wire-level checks, and the shared/peers plumbing.

Work directories come from ``tempfile.mkdtemp`` under /tmp (mode 0755),
because the real clients of shared/peers run as ``nobody`` in places.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from conftest import TESTS

from mimekit.imap import IMAPServer, IMAPServerConfig, MailboxHub, MaildirHandler, Session

PEERS = Path(os.environ.get("MIMEKIT_PEERS", TESTS.parent.parent / "shared" / "peers")).resolve()
#: Every user name logs in with this password (a test uses its own user for
#: a fresh store).
PASSWORD = "secret"

MSG = (b"From: Carol <carol@far.test>\r\nTo: alice@example.test\r\n"
       b"Subject: hello\r\nMessage-ID: <1@far.test>\r\n"
       b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nline one\r\nline two\r\n")


def message(n: int, subject: str | None = None, body: str = "body") -> bytes:
    return (f"From: Sender {n} <s{n}@far.test>\r\nTo: alice@example.test\r\n"
            f"Subject: {subject or f'message {n}'}\r\nMessage-ID: <{n}@far.test>\r\n"
            f"Date: Mon, {n % 28 + 1} Jan 2024 10:00:00 +0000\r\n\r\n{body} {n}\r\n").encode()


def workdir(prefix: str) -> Path:
    path = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(path, 0o755)  # the peers' clients may run as nobody
    return Path(path)


class Recorder(MaildirHandler):
    """Records logins; ``remote=True`` makes every client look non-loopback
    (to test the plaintext policy over 127.0.0.1)."""

    def __init__(self, root: Path, hub: MailboxHub | None = None) -> None:
        super().__init__(root, lambda u, p: p == PASSWORD, hub=hub)
        self.logins: list[tuple[str, str, bool]] = []
        self.remote = False

    async def on_connect(self, session: Session) -> str | None:
        if self.remote:
            session.loopback = False
        return None

    async def on_auth(self, session: Session, mechanism: str, username: str,
                      password: str) -> bool:
        self.logins.append((username, mechanism, session.tls))
        return await super().on_auth(session, mechanism, username, password)


class Running:
    """Our server running in a thread: ``port``, ``root`` (the mail
    directory), ``handler``, and ``call(coro)`` to run on its loop."""

    def __init__(self, server: IMAPServer, loop: asyncio.AbstractEventLoop, root: Path,
                 handler: Recorder, host: str = "127.0.0.1") -> None:
        self.server, self.loop, self.root, self.handler = server, loop, root, handler
        self.host = host

    @property
    def port(self) -> int:
        return self.server.port

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def imap(self, user: str = "alice", login: bool = True) -> imaplib.IMAP4:
        c = imaplib.IMAP4(self.host, self.port, timeout=15)
        if login:
            c.login(user, PASSWORD)
        return c

    def maildir(self, user: str = "alice") -> Path:
        return self.root / user


@contextlib.contextmanager
def running_server(config: IMAPServerConfig | None = None, root: Path | None = None,
                   hub: MailboxHub | None = None, host: str = "127.0.0.1") -> Iterator[Running]:
    """Start our IMAPServer on a free port in a thread; stop it afterwards."""
    own = root is None
    root = root or workdir("mimekit-imapsrv-")
    handler = Recorder(root, hub)
    config = config or IMAPServerConfig(auth_failure_delay=0.0)
    loop = asyncio.new_event_loop()
    server = IMAPServer(handler, config)
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start(host, 0))
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield Running(server, loop, root, handler, host)
    finally:
        asyncio.run_coroutine_threadsafe(server.close(grace=5), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        if own:
            shutil.rmtree(root, ignore_errors=True)


class Wire:
    """A raw IMAP connection: send lines, read until a tagged response."""

    def __init__(self, port: int, *, host: str = "127.0.0.1",
                 sock: socket.socket | None = None) -> None:
        self.sock = sock or socket.create_connection((host, port), timeout=10)
        self.buf = b""
        self.greeting = self.line()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Wire:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed; buffer {self.buf[:200]!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def until(self, tag: bytes) -> list[bytes]:
        """Lines up to and including the one starting with ``tag``
        (literals are read and kept inline)."""
        out: list[bytes] = []
        while True:
            line = self.line()
            while line.endswith(b"}") and b"{" in line:
                size = int(line[line.rindex(b"{") + 1:-1].rstrip(b"+"))
                line += b"\r\n" + self.read_exact(size) + self.line()
            out.append(line)
            if line.startswith(tag + b" "):
                return out

    def cmd(self, text: str | bytes, tag: str = "a") -> list[bytes]:
        data = text.encode() if isinstance(text, str) else text
        self.send(tag.encode() + b" " + data + b"\r\n")
        return self.until(tag.encode())

    def closed(self, timeout: float = 5.0) -> bool:
        """Wait for the server to close the connection (EOF)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (TimeoutError, ConnectionError):
            return False


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def mail_client(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    run = subprocess.run([str(PEERS / "mail-client"), *args], capture_output=True, text=True,
                         timeout=timeout)
    assert run.returncode == 0, run.stdout + run.stderr
    return run


def free_port(start: int, end: int) -> int:
    """A port in ``[start, end)`` nobody listens on (our reserved range)."""
    for port in range(start, end):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port in {start}-{end}")


def non_loopback_address() -> str | None:
    """An address of this host that is not loopback (to be a "remote"
    client of ourselves), or None."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # no packet is sent: this picks the route's address
        address: str = s.getsockname()[0]
        if not address.startswith("127."):
            with socket.socket() as probe:
                probe.bind((address, 0))
            return address
    return None
