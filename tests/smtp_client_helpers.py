"""Test helpers for the SMTP clients: a scripted server over a real loopback
socket (driving our own ``ServerConnection`` core), and a blocking facade
over ``AsyncSMTPClient`` so one test body covers both clients."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import select
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mimekit.smtp import (
    NEED_DATA,
    PAUSED,
    AsyncSMTPClient,
    Auth,
    AuthResponse,
    Bdat,
    ChunkEnd,
    ConnectionClosed,
    Data,
    Ehlo,
    EndOfMessage,
    Helo,
    InvalidCommand,
    Mail,
    MessageData,
    Quit,
    Rcpt,
    Reply,
    ServerConnection,
    SMTPClient,
    StartTLS,
)
from mimekit.smtp._sasl import Challenge, Credentials, SaslServer, server_mechanism

OK = Reply(code=250, lines=("ok",), enhanced=(2, 0, 0))
DEFAULT_EXTENSIONS = ("PIPELINING", "SIZE 100000", "8BITMIME", "SMTPUTF8",
                      "ENHANCEDSTATUSCODES", "DSN", "CHUNKING", "AUTH PLAIN LOGIN CRAM-MD5")


@dataclass
class Received:
    """One message the fake server accepted."""

    sender: str
    mail_params: dict[str, str | None]
    recipients: list[str]
    rcpt_params: list[dict[str, str | None]]
    content: bytes
    bdat: bool


@dataclass
class Script:
    """What the fake server answers. Each hook returns a Reply, or None for
    the default; ``stall_on``/``drop_on`` name an event class at which the
    server stops answering (timeout tests) or closes the socket."""

    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    greeting: Reply = field(default_factory=lambda: Reply(code=220, lines=("fake ESMTP",)))
    ehlo: Reply | None = None
    mail: Callable[[Mail], Reply | None] | None = None
    rcpt: Callable[[Rcpt], Reply | None] | None = None
    data: Reply | None = None
    end: Reply | None = None
    users: dict[str, str] = field(default_factory=lambda: {"alice": "secret"})
    stall_on: type | None = None
    drop_on: type | None = None
    tls: ssl.SSLContext | None = None


class FakeServer:
    """A threaded SMTP server on 127.0.0.1 that records everything.

    Attributes:
        transcript: Per connection, ``[("C", bytes) | ("S", bytes)]`` in
            order; the client's bytes are read with a short coalescing
            wait, so one client write is one "C" entry.
        messages: Every accepted message.
        commands: Every command event, in order.
    """

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.transcript: list[list[tuple[str, bytes]]] = []
        self.messages: list[Received] = []
        self.commands: list[Any] = []
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
            # Wake the accept loop.
            socket.create_connection(("127.0.0.1", self.port), 1).close()
        self._accept.join(5)
        self._listener.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)  # unblock a recv()
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

    # -- one session -------------------------------------------------------------

    def _serve(self, sock: socket.socket) -> None:
        log: list[tuple[str, bytes]] = []
        self.transcript.append(log)
        sock.settimeout(10)
        # Each reply is its own write; without this, Nagle holds the second
        # of a pipelined batch's replies for the client's delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = _Session(self, sock, log)
        try:
            session.run()
        except (OSError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(OSError):
                session.sock.close()  # the TLS socket after STARTTLS
            with contextlib.suppress(OSError):
                sock.close()


class _Session:
    def __init__(self, server: FakeServer, sock: socket.socket | ssl.SSLSocket,
                 log: list[tuple[str, bytes]]) -> None:
        self.server = server
        self.script = server.script
        self.sock = sock
        self.log = log
        self.conn = ServerConnection(max_size=None)
        self.sasl: SaslServer | None = None
        self.msg: dict[str, Any] = {}

    def write(self, data: bytes) -> None:
        self.log.append(("S", data))
        self.sock.sendall(data)

    def read(self) -> bytes:
        data = self.sock.recv(1 << 16)
        # Coalesce what arrives right after, so one client write is one entry.
        while data and select.select([self.sock], [], [], 0.003)[0]:
            more = self.sock.recv(1 << 16)
            if not more:
                break
            data += more
        self.log.append(("C", data))
        return data

    def reply(self, reply: Reply) -> None:
        self.write(self.conn.send(reply))

    def run(self) -> None:
        self.reply(self.script.greeting)
        while not self.server._stop.is_set():
            ev = self.conn.next_event()
            if ev is NEED_DATA:
                self.conn.receive_data(self.read())
                continue
            if ev is PAUSED:
                raise AssertionError("paused without a reply due")
            if isinstance(ev, ConnectionClosed):
                return
            if not isinstance(ev, MessageData | ChunkEnd | EndOfMessage):
                self.server.commands.append(ev)
            if self.script.stall_on is not None and isinstance(ev, self.script.stall_on):
                self.server._stop.wait(5)
                return
            if self.script.drop_on is not None and isinstance(ev, self.script.drop_on):
                return
            if not self.handle(ev):
                return

    def handle(self, ev: Any) -> bool:
        s = self.script
        if isinstance(ev, InvalidCommand):
            self.reply(ev.reply)
        elif isinstance(ev, Ehlo):
            self.reply(s.ehlo or Reply(code=250, lines=("fake", *s.extensions)))
        elif isinstance(ev, Helo):
            self.reply(Reply(code=250, lines=("fake",)))
        elif isinstance(ev, Mail):
            self.msg = {"sender": ev.sender, "params": ev.params, "rcpts": [], "rparams": [],
                        "content": b""}
            self.reply((s.mail and s.mail(ev)) or OK)
        elif isinstance(ev, Rcpt):
            reply = (s.rcpt and s.rcpt(ev)) or OK
            if reply.is_positive:
                self.msg["rcpts"].append(ev.recipient)
                self.msg["rparams"].append(ev.params)
            self.reply(reply)
        elif isinstance(ev, Data):
            if not (self.msg and self.msg["rcpts"]):
                # What real servers say to DATA without a recipient (RFC 5321).
                self.reply(Reply(code=554, lines=("no valid recipients",), enhanced=(5, 5, 1)))
            else:
                self.reply(s.data or Reply(code=354, lines=("go ahead",)))
        elif isinstance(ev, MessageData):
            self.msg["content"] += ev.data
        elif isinstance(ev, Bdat):
            pass  # answered at ChunkEnd
        elif isinstance(ev, EndOfMessage | ChunkEnd):
            reply = s.end or OK
            last = isinstance(ev, EndOfMessage) or ev.last
            if last and reply.is_positive:
                m = self.msg
                self.server.messages.append(Received(
                    m["sender"], m["params"], m["rcpts"], m["rparams"], m["content"],
                    isinstance(ev, ChunkEnd)))
            self.reply(reply if last else OK)
        elif isinstance(ev, Auth | AuthResponse):
            self.auth(ev)
        elif isinstance(ev, StartTLS):
            assert s.tls is not None
            self.reply(Reply(code=220, lines=("go",)))
            self.sock = s.tls.wrap_socket(self.sock, server_side=True)
            self.conn.tls_established()
        elif isinstance(ev, Quit):
            self.reply(Reply(code=221, lines=("bye",)))
            return False
        else:
            self.reply(OK)
        return True

    def auth(self, ev: Auth | AuthResponse) -> None:
        if isinstance(ev, Auth) and ev.mechanism == "XOAUTH2":
            # Google's behaviour: a bad token gets a 334 JSON error, and the
            # final 535 only after the client's empty line.
            self.sasl = None
            want = base64.b64encode(b"user=alice\x01auth=Bearer good-token\x01\x01").decode()
            if ev.initial_response == want:
                self.reply(Reply(code=235, lines=("ok",), enhanced=(2, 7, 0)))
            else:
                error = base64.b64encode(b'{"status":"401","schemes":"bearer"}').decode()
                self.reply(Reply(code=334, lines=(error,)))
            return
        if isinstance(ev, AuthResponse) and self.sasl is None:
            self.reply(Reply(code=535, lines=("bad token",), enhanced=(5, 7, 8)))
            return
        if isinstance(ev, Auth):
            self.sasl = server_mechanism(ev.mechanism, hostname="fake")
            step = self.sasl.step(ev.initial_response)
        else:
            assert self.sasl is not None
            step = self.sasl.step("*" if ev.cancelled else ev.data)
        if isinstance(step, Challenge):
            self.reply(step.reply)
            return
        if isinstance(step, Credentials):
            good = self.script.users.get(step.username or "") == step.password
        elif step.username is not None and hasattr(step, "verify"):
            good = step.verify(self.script.users.get(step.username, "\x00"))
        else:
            self.reply(Reply(code=step.code or 501, lines=(step.error or "failed",),
                             enhanced=step.enhanced))
            return
        self.reply(Reply(code=235, lines=("ok",), enhanced=(2, 7, 0)) if good
                   else Reply(code=535, lines=("bad credentials",), enhanced=(5, 7, 8)))


class AsyncFacade:
    """``AsyncSMTPClient`` behind a blocking interface: every coroutine
    method is run on one event loop (``asyncio.Runner``) that lives as long
    as the client, so a test body written for ``SMTPClient`` covers both."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._runner = asyncio.Runner()
        self._client = AsyncSMTPClient(*args, **kwargs)

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
CLIENTS = {"sync": SMTPClient, "async": AsyncFacade}
