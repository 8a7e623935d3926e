"""Test helpers for POP3: a scripted server over a real loopback socket
(driving our own ``ServerConnection`` core), a blocking facade over
``AsyncPOP3Client`` so one test body covers both clients, our asyncio
``POP3Server`` in a background thread, and the shared/peers plumbing."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import select
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import TESTS

from mimekit.pop3 import (
    NEED_DATA,
    PAUSED,
    Apop,
    AsyncPOP3Client,
    Auth,
    AuthResponse,
    Capa,
    ConnectionClosed,
    Continuation,
    Dele,
    EndOfResponse,
    Handler,
    InvalidCommand,
    List,
    Noop,
    Pass,
    POP3Client,
    POP3Server,
    Quit,
    Response,
    ResponseData,
    Retr,
    Rset,
    ServerConfig,
    ServerConnection,
    Stat,
    Stls,
    Top,
    Uidl,
    User,
    apop_digest,
)
from mimekit.smtp._sasl import Challenge, Credentials, SaslServer, server_mechanism

PEERS = Path(os.environ.get("MIMEKIT_PEERS", TESTS.parent.parent / "shared" / "peers")).resolve()

DEFAULT_CAPA = ("TOP", "UIDL", "RESP-CODES", "PIPELINING", "USER", "SASL PLAIN LOGIN CRAM-MD5",
                "STLS")
TIMESTAMP = "<1896.697170952@dbc.mtview.ca.us>"


def _ok(text: str = "", code: str | None = None) -> Response:
    return Response(ok=True, text=text, code=code)


def _err(text: str, code: str | None = None) -> Response:
    return Response(ok=False, text=text, code=code)


@dataclass
class Script:
    """What the fake server does. ``messages`` are sent as stored (the core
    does the CRLF conversion and stuffing); ``stall_on``/``drop_on`` name a
    command class at which the server stops answering or closes."""

    messages: list[bytes] = field(default_factory=list)
    capa: tuple[str, ...] | None = DEFAULT_CAPA  # None: CAPA is answered -ERR
    greeting: Response = field(default_factory=lambda: _ok(f"fake POP3 ready {TIMESTAMP}"))
    users: dict[str, str] = field(default_factory=lambda: {"alice": "secret"})
    login_error: Response | None = None  # e.g. -ERR [IN-USE] after good credentials
    stall_on: type | None = None
    drop_on: type | None = None
    tls: ssl.SSLContext | None = None
    #: Raw bytes written instead of the response to this command class.
    raw: dict[type, bytes] = field(default_factory=dict)
    #: Chunk size for message content writes (exercise streaming).
    chunk: int = 1 << 16


class FakeServer:
    """A threaded POP3 server on 127.0.0.1 that records every command.

    Attributes:
        commands: Every command event, in order (passwords included: tests only).
        deleted: Message numbers removed at QUIT, per session.
    """

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.commands: list[Any] = []
        self.deleted: list[list[int]] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._accept = threading.Thread(target=self._accept_loop, daemon=True)
        self._accept.start()

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", self.port), 1).close()
        self._accept.join(5)
        self._listener.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for t in self._threads:
            t.join(5)
        for conn in self._conns:
            conn.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            if self._stop.is_set():
                sock.close()
                return
            self._conns.append(sock)
            t = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(10)
        session = _FakeSession(self, sock)
        try:
            session.run()
        except (OSError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(OSError):
                session.sock.close()
            with contextlib.suppress(OSError):
                sock.close()


class _FakeSession:
    def __init__(self, server: FakeServer, sock: socket.socket) -> None:
        self.server = server
        self.script = server.script
        self.sock: socket.socket | ssl.SSLSocket = sock
        self.conn = ServerConnection()
        self.user: str | None = None
        self.sasl: SaslServer | None = None
        self.marked: set[int] = set()

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def say(self, event: Any) -> None:
        self.write(self.conn.send(event))

    def read(self) -> bytes:
        data = self.sock.recv(1 << 16)
        while data and select.select([self.sock], [], [], 0.002)[0]:
            more = self.sock.recv(1 << 16)
            if not more:
                break
            data += more
        return data

    def run(self) -> None:
        self.say(self.script.greeting)
        if not self.script.greeting.ok:
            return
        while not self.server._stop.is_set():
            ev = self.conn.next_event()
            if ev is NEED_DATA:
                self.conn.receive_data(self.read())
                continue
            if ev is PAUSED:
                raise AssertionError("paused without a response due")
            if isinstance(ev, ConnectionClosed):
                return
            self.server.commands.append(ev)
            if self.script.stall_on is not None and isinstance(ev, self.script.stall_on):
                self.server._stop.wait(5)
                return
            if self.script.drop_on is not None and isinstance(ev, self.script.drop_on):
                return
            if type(ev) in self.script.raw:
                self.write(self.script.raw[type(ev)])
                return
            if not self.handle(ev):
                return

    def lines(self, head: Response, lines: list[str]) -> None:
        self.say(head)
        self.say(ResponseData(data="".join(f"{x}\r\n" for x in lines).encode()))
        self.say(EndOfResponse())

    def live(self) -> list[int]:
        return [n for n in range(1, len(self.script.messages) + 1) if n not in self.marked]

    def size(self, n: int) -> int:
        # The wire size, as the real server computes it.
        data = self.script.messages[n - 1]
        return len(data) + data.count(b"\n") - data.count(b"\r\n")

    def handle(self, ev: Any) -> bool:
        s = self.script
        if isinstance(ev, InvalidCommand):
            self.say(ev.response)
        elif isinstance(ev, Capa):
            if s.capa is None:
                self.say(_err("unknown command"))
            else:
                self.lines(_ok("capabilities follow"), list(s.capa))
        elif isinstance(ev, Stls):
            assert s.tls is not None
            self.say(_ok("go"))
            self.sock = s.tls.wrap_socket(self.sock, server_side=True)
            self.conn.tls_established()
        elif isinstance(ev, User):
            self.user = ev.name
            self.say(_ok())
        elif isinstance(ev, Pass):
            self.login(s.users.get(self.user or "") == ev.password)
        elif isinstance(ev, Apop):
            secret = s.users.get(ev.name)
            self.login(secret is not None and apop_digest(TIMESTAMP, secret) == ev.digest)
        elif isinstance(ev, Auth | AuthResponse):
            self.auth(ev)
        elif isinstance(ev, Stat):
            self.say(_ok(f"{len(self.live())} {sum(self.size(n) for n in self.live())}"))
        elif isinstance(ev, List | Uidl):
            what = (lambda n: f"uid-{n}") if isinstance(ev, Uidl) else self.size
            if ev.msg is None:
                self.lines(_ok(), [f"{n} {what(n)}" for n in self.live()])
            elif ev.msg in self.live():
                self.say(_ok(f"{ev.msg} {what(ev.msg)}"))
            else:
                self.say(_err("no such message"))
        elif isinstance(ev, Retr | Top):
            if ev.msg not in self.live():
                self.say(_err("no such message"))
                return True
            data = s.messages[ev.msg - 1]
            if isinstance(ev, Top):
                head, sep, body = data.partition(b"\n\n")
                data = head + sep + b"".join(body.splitlines(True)[:ev.lines])
            self.say(_ok("message follows"))
            for i in range(0, len(data), s.chunk):
                self.write(self.conn.send(ResponseData(data=data[i:i + s.chunk])))
            self.say(EndOfResponse())
        elif isinstance(ev, Dele):
            if ev.msg in self.live():
                self.marked.add(ev.msg)
                self.say(_ok("marked"))
            else:
                self.say(_err("no such message"))
        elif isinstance(ev, Rset):
            self.marked.clear()
            self.say(_ok())
        elif isinstance(ev, Noop):
            self.say(_ok())
        elif isinstance(ev, Quit):
            self.server.deleted.append(sorted(self.marked))
            self.say(_ok("bye"))
            return False
        else:  # pragma: no cover
            raise AssertionError(ev)
        return True

    def login(self, good: bool) -> None:
        if good and self.script.login_error is not None:
            self.say(self.script.login_error)
        elif good:
            self.say(_ok("logged in"))
        else:
            self.say(_err("authentication failed", "AUTH"))

    def auth(self, ev: Auth | AuthResponse) -> None:
        if isinstance(ev, Auth):
            self.sasl = server_mechanism(ev.mechanism, hostname="fake")
            step = self.sasl.step(ev.initial_response)
        else:
            assert self.sasl is not None
            step = self.sasl.step("*" if ev.cancelled else ev.data)
        if isinstance(step, Challenge):
            self.say(Continuation(data=step.challenge or ""))
        elif isinstance(step, Credentials):
            self.login(self.script.users.get(step.username or "") == step.password)
        elif step.username is not None and hasattr(step, "verify"):
            self.login(step.verify(self.script.users.get(step.username, "\x00")))
        else:
            self.say(_err(step.error or "failed"))


class AsyncFacade:
    """``AsyncPOP3Client`` behind a blocking interface (one event loop per
    client), so a test body written for ``POP3Client`` covers both."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._runner = asyncio.Runner()
        self._client = AsyncPOP3Client(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *a, **k: self._runner.run(attr(*a, **k))
        return attr

    def __enter__(self) -> AsyncFacade:
        try:
            self._runner.run(self._client.__aenter__())
        except BaseException:
            self._runner.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self._runner.run(self._client.__aexit__(*exc))
        finally:
            self._runner.close()

    def shutdown(self) -> None:
        """Close (no QUIT) and end the loop, for tests that never used ``with``."""
        try:
            self._runner.run(self._client.close())
        finally:
            self._runner.close()


#: The two clients, for ``pytest.mark.parametrize``.
CLIENTS: dict[str, Callable[..., Any]] = {"sync": POP3Client, "async": AsyncFacade}


@contextlib.contextmanager
def running_server(handler: Handler, config: ServerConfig | None = None,
                   host: str = "127.0.0.1") -> Iterator[POP3Server]:
    """Start our POP3Server on a free port in a thread; stop it afterwards."""
    loop = asyncio.new_event_loop()
    server = POP3Server(handler, config)
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start(host, 0))
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.close(grace=5), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def worker_slot(config: Any) -> int:
    """0 without pytest-xdist, else the worker's number."""
    worker = str(getattr(config, "workerinput", {}).get("workerid", "master"))
    return 0 if worker == "master" else int(worker.lstrip("gw"))


def peers_up(script: str, workdir: str, base: int, *args: str) -> dict[str, str]:
    """Start a peer, moving up a slot when another run holds the ports."""
    for attempt in range(5):
        run = subprocess.run([str(PEERS / script), workdir, str(base + 100 * attempt), *args],
                             capture_output=True, text=True)
        if run.returncode == 0 or "already in use" not in run.stderr + run.stdout:
            break
    if run.returncode:
        raise RuntimeError(f"{script} failed: {run.stderr.strip()}")
    info = dict(line.split("=", 1) for line in run.stdout.splitlines() if "=" in line)
    info["WORKDIR"] = workdir
    return info
