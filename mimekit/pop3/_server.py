"""The asyncio POP3 server: sockets around a :class:`ServerConnection`.

The adapter reads bytes, feeds the core, answers each command (asking the
:class:`~._handler.Handler` who may log in and which Maildir is theirs), and
writes the responses. It owns what the core cannot: time (timeouts, the
failed-login delay), the TLS handshake, counting connections, the maildrop
(:mod:`._maildrop`: lock, listing, sizes, UIDL, deletion at QUIT) and policy.

Limits and security defaults (each configurable in :class:`ServerConfig`):

=========================  ==========================================
Command line               512 octets (the core; SASL lines 12288)
Idle timeout               600 s per read (RFC 1939 section 3: at
                           least 10 minutes)
Session time               3600 s in all
Connections                100 at once, 20 per client address (loopback
                           not counted); ``-ERR [SYS/TEMP]`` beyond
Errors                     20 bad commands, then ``-ERR`` and close
Failed logins              a delay that doubles with each failure from the
                           same address (1 s, 2 s, 4 s... up to 60 s);
                           3 per connection, then close
USER/PASS, AUTH PLAIN      refused without TLS except from loopback
                           (``-ERR [AUTH]``); STLS is offered
Maildrop                   one session per user: ``-ERR [IN-USE]``
APOP                       off (needs plaintext secrets; see Handler)
=========================  ==========================================
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import ssl
import time
from dataclasses import dataclass
from typing import Any

from .._guard import ClientGuard, is_loopback, oldest_idle
from ..smtp._sasl import Challenge, Credentials, SaslServer, server_mechanism, server_mechanisms
from ._connection import NEED_DATA, PAUSED, ServerConnection
from ._events import (
    Apop,
    Auth,
    AuthResponse,
    Capa,
    ConnectionClosed,
    Continuation,
    Dele,
    EndOfResponse,
    Event,
    InvalidCommand,
    List,
    Noop,
    Pass,
    Quit,
    Response,
    ResponseData,
    Retr,
    Rset,
    Stat,
    Stls,
    Top,
    Uidl,
    User,
)
from ._handler import Handler, Session
from ._maildrop import CHUNK, Entry, Maildrop, MaildropInUse, iter_top
from ._states import State

__all__ = ["POP3Server", "ServerConfig"]

log = logging.getLogger("mimekit.pop3.server")


@dataclass(slots=True)
class ServerConfig:
    """Server settings; every field has a safe default.

    Attributes:
        hostname: Our name in the greeting (and the APOP timestamp).
        idle_timeout: Seconds to wait for the next bytes from the client.
        login_timeout: Seconds a client may take to log in, however busy:
            a slowloris that dribbles bytes cannot hold a connection slot
            for the whole session time.
        session_timeout: Seconds a connection may last in all.
        max_connections: Simultaneous connections.
        max_connections_per_ip: Simultaneous connections from one address
            (loopback clients are not counted).
        max_errors: Invalid commands tolerated per connection.
        ssl_context: Offer STLS with this context (server side).
        implicit_tls: Wrap connections in TLS at once (port 995 style);
            needs ``ssl_context``.
        auth_mechanisms: SASL mechanisms to offer (of PLAIN and LOGIN).
        auth_over_plaintext: Allow USER/PASS and AUTH without TLS:
            ``"never"``, ``"loopback"`` (the default: clients on 127.0.0.0/8
            or ::1) or ``"always"``.
        auth_failure_delay: Seconds to wait before answering the first failed
            login from an address; it doubles with each further failure from
            that address, across connections, up to ``auth_failure_delay_max``.
        auth_failure_delay_max: The longest such delay.
        max_auth_failures: Failed logins before the connection is closed.
        apop: Offer APOP (a timestamp in the greeting); the handler's
            ``on_apop`` must then know plaintext secrets.
    """

    hostname: str = "localhost"
    idle_timeout: float = 600.0
    login_timeout: float = 120.0
    session_timeout: float = 3600.0
    max_connections: int = 100
    max_connections_per_ip: int = 20
    max_errors: int = 20
    ssl_context: ssl.SSLContext | None = None
    implicit_tls: bool = False
    auth_mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN")
    auth_over_plaintext: str = "loopback"
    auth_failure_delay: float = 1.0
    auth_failure_delay_max: float = 60.0
    max_auth_failures: int = 3
    apop: bool = False


def _ok(text: str = "", code: str | None = None) -> Response:
    return Response(ok=True, text=text, code=code)


def _err(text: str, code: str | None = None) -> Response:
    return Response(ok=False, text=text, code=code)


_SHUTTING_DOWN = _err("server shutting down, try again later", "SYS/TEMP")
_AUTOLOGOUT = _err("autologout: idle for too long")
_TOO_SLOW = _err("autologout: took too long to log in")
_EVICTED = _err("too many connections, closing idle ones", "SYS/TEMP")


class _Closing(Exception):
    """End the session after writing what is pending."""


class POP3Server:
    """An asyncio POP3 server driving one :class:`ServerConnection` per client.

    Example::

        handler = MaildirHandler("/var/mail", verify=users.verify)
        server = POP3Server(handler, ServerConfig(hostname="pop.example", ssl_context=ctx))
        await server.start("127.0.0.1", 2110)
        ...
        await server.close()
    """

    def __init__(self, handler: Handler, config: ServerConfig | None = None) -> None:
        self.handler = handler
        self.config = config or ServerConfig()
        c = self.config
        if c.implicit_tls and c.ssl_context is None:
            raise ValueError("implicit_tls needs an ssl_context")
        if c.auth_over_plaintext not in ("never", "loopback", "always"):
            raise ValueError("auth_over_plaintext is 'never', 'loopback' or 'always'")
        self._server: asyncio.base_events.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._live: set[_Session] = set()
        self._active = 0
        self.guard = ClientGuard(max_per_address=c.max_connections_per_ip,
                                 failure_delay=c.auth_failure_delay,
                                 failure_delay_max=c.auth_failure_delay_max)
        self.closing = False

    async def start(self, host: str = "127.0.0.1", port: int = 110) -> None:
        """Listen on ``host:port`` (port 0 picks a free one; see :attr:`port`)."""
        ctx = self.config.ssl_context if self.config.implicit_tls else None
        self._server = await asyncio.start_server(self._accept, host, port, ssl=ctx,
                                                  reuse_address=True)

    @property
    def port(self) -> int:
        """The port listened on."""
        assert self._server is not None, "start() first"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def close(self, grace: float = 30.0) -> None:
        """Stop accepting. Sessions waiting for a command get ``-ERR
        [SYS/TEMP] server shutting down`` at once; the others finish their
        current command (a QUIT's deletions complete), up to ``grace``
        seconds, and are then cut. Uncommitted deletions are lost: the
        messages stay."""
        self.closing = True
        if self._server is not None:
            self._server.close()
        for session in list(self._live):
            session.shutdown()
        if self._sessions:
            _, pending = await asyncio.wait(self._sessions, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        self._active += 1
        peer = (writer.get_extra_info("peername") or ("?",))[0]
        allowed = self.guard.connect(peer)
        try:
            full = self._active > self.config.max_connections
            if full and allowed and not self.closing:
                victim = oldest_idle(self._live)
                if victim is not None:
                    victim.evict()
                    full = False
            if full or self.closing or not allowed:
                conn = ServerConnection()
                writer.write(conn.send(_err("too many connections, try again later",
                                            "SYS/TEMP")))
                await writer.drain()
                return
            session = _Session(self, reader, writer)
            self._live.add(session)
            try:
                await asyncio.wait_for(session.run(), self.config.session_timeout)
            finally:
                self._live.discard(session)
                session.release()
        except TimeoutError:
            with contextlib.suppress(Exception):
                writer.write(b"-ERR session time limit reached\r\n")
                await writer.drain()
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError) as exc:
            log.debug("connection error: %s", exc)
        finally:
            self._active -= 1
            self.guard.disconnect(peer)
            self._sessions.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class _Session:
    """One connection's loop."""

    def __init__(self, server: POP3Server, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.config = server.config
        self.handler = server.handler
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername") or ("", 0)
        local = writer.get_extra_info("sockname") or ("", 0)
        self.session = Session(peer=(peer[0], peer[1]), local=(local[0], local[1]),
                               tls=self.config.implicit_tls, loopback=is_loopback(peer[0]))
        self.conn = ServerConnection()
        self.out = bytearray()
        self.errors = 0
        self.auth_failures = 0
        self.user: str | None = None  # the name of a USER awaiting its PASS
        self.sasl: SaslServer | None = None
        self.maildrop: Maildrop | None = None
        self.timestamp = (f"<{os.getpid()}.{time.time_ns()}.{secrets.token_hex(4)}"
                          f"@{self.config.hostname}>")
        #: Waiting for the client's next command (nothing half done), since when.
        self.idle = False
        self.loop = asyncio.get_running_loop()
        self.idle_since = self.connected_at = self.loop.time()
        self.watchdog: asyncio.TimerHandle | None = None

    # -- plumbing ---------------------------------------------------------------

    def _say(self, event: Response | Continuation | ResponseData | EndOfResponse, *,
             crlf: bool | None = None) -> None:
        self.out += self.conn.send(event, crlf=crlf)

    async def _flush(self) -> None:
        if self.out:
            self.writer.write(bytes(self.out))
            self.out.clear()
            await self.writer.drain()

    @property
    def evictable(self) -> bool:
        """Waiting for a command before logging in."""
        return (self.idle and self.session.authenticated is None
                and self.conn.state is State.AUTHORIZATION)

    def evict(self) -> None:
        """Close this session to make room for a new one (the server is full)."""
        self.shutdown(_EVICTED)

    def shutdown(self, response: Response = _SHUTTING_DOWN) -> None:
        """End the session now with a last ``-ERR`` if it is idle (waiting
        for a command); a busy one ends after its command (see :meth:`run`)."""
        if self.idle and self.conn.state is not State.CLOSED:
            self.idle = False
            with contextlib.suppress(Exception):
                self.writer.write(self.conn.abort(response))
            # The read in progress sees EOF and the loop ends normally.
            self.writer.close()

    def _watch(self) -> None:
        """The autologout timer (RFC 1939 section 3: at least 10 minutes).
        One timer per session, checked when it fires, rather than a timeout
        armed around every read: reads are many, autologouts rare."""
        timeout = self.config.idle_timeout
        now = self.loop.time()
        if self.idle and now - self.idle_since >= timeout:
            self.shutdown(_AUTOLOGOUT)
            return
        due = (self.idle_since if self.idle else now) + timeout
        if self.session.authenticated is None:
            login_due = self.connected_at + self.config.login_timeout
            if self.idle and now >= login_due:
                self.shutdown(_TOO_SLOW)
                return
            # Busy (a login being checked): look again in a moment.
            due = min(due, login_due if login_due > now else now + 1.0)
        self.watchdog = self.loop.call_at(due, self._watch)

    def release(self) -> None:
        """Unlock the maildrop (without committing: a dropped connection
        deletes nothing)."""
        if self.maildrop is not None:
            self.maildrop.close()
            self.maildrop = None

    async def run(self) -> None:
        try:
            greeting = await self.handler.on_connect(self.session)
            if greeting is None:
                text = f"{self.config.hostname} POP3 server ready"
                greeting = _ok(f"{text} {self.timestamp}" if self.config.apop else text)
            self._say(greeting)
            if not greeting.ok:
                return
            self.watchdog = self.loop.call_later(
                min(self.config.idle_timeout, self.config.login_timeout), self._watch)
            while True:
                event = self.conn.next_event()
                if event is NEED_DATA:
                    if self.server.closing:
                        self.out += self.conn.abort(_SHUTTING_DOWN)
                        return
                    await self._flush()
                    self.idle, self.idle_since = True, self.loop.time()
                    try:
                        data = await self.reader.read(65536)
                    finally:
                        self.idle = False
                    self.conn.receive_data(data)
                    continue
                if event is PAUSED:
                    await self._start_tls()
                    continue
                assert isinstance(event, Event)
                if isinstance(event, ConnectionClosed):
                    return
                await self._dispatch(event)
        except _Closing:
            pass
        finally:
            if self.watchdog is not None:
                self.watchdog.cancel()
            with contextlib.suppress(Exception):
                await self._flush()
            self.release()
            with contextlib.suppress(Exception):
                await self.handler.on_disconnect(self.session)

    async def _start_tls(self) -> None:
        # The core pauses after +OK to STLS (and discarded any pipelined
        # plaintext): flush the +OK, then shake hands.
        assert self.conn.state is State.TLS, "paused without a response due"
        await self._flush()
        ctx = self.config.ssl_context
        assert ctx is not None
        await self.writer.start_tls(ctx)
        self.conn.tls_established()
        self.session.tls = True
        self.user = None

    async def _dispatch(self, event: Event) -> None:
        if isinstance(event, InvalidCommand):
            self.errors += 1
            if self.errors > self.config.max_errors:
                self.out += self.conn.abort(_err("too many errors, closing connection"))
                raise _Closing
            self._say(event.response)
            return
        handler = _DISPATCH.get(type(event))
        if handler is None:  # pragma: no cover - every command type is listed
            raise AssertionError(f"unhandled event {event!r}")
        try:
            response = await handler(self, event)
        except (ConnectionError, ssl.SSLError):
            raise  # the client is gone: nothing to tell it
        except Exception:
            # A handler hook or the file system failed. If nothing went out
            # yet the client gets a -ERR; inside a multi-line response it
            # cannot, so the connection ends (the message is not complete).
            log.exception("%s failed", type(event).__name__)
            if not self.conn.response_due:
                raise _Closing from None
            response = _err("internal error, try again later", "SYS/TEMP")
        if response is not None:
            self._say(response)
        if isinstance(event, Quit) or self.auth_failures >= self.config.max_auth_failures:
            raise _Closing

    # -- AUTHORIZATION ------------------------------------------------------------

    def _plaintext_ok(self) -> bool:
        policy = self.config.auth_over_plaintext
        return (self.session.tls or policy == "always"
                or (policy == "loopback" and self.session.loopback))

    _NO_PLAINTEXT = ("plaintext authentication disallowed on a non-secure connection; "
                     "use STLS first")

    def _capabilities(self) -> list[str]:
        caps = ["CAPA", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
        if self.conn.state is not State.TRANSACTION:
            if self._plaintext_ok():
                caps.append("USER")
                mechanisms = self._mechanisms()
                if mechanisms:
                    caps.append("SASL " + " ".join(mechanisms))
            if self.config.ssl_context is not None and not self.session.tls:
                caps.append("STLS")
        caps.append("IMPLEMENTATION mimekit")
        return caps

    def _mechanisms(self) -> list[str]:
        return [m for m in self.config.auth_mechanisms if m in server_mechanisms()]

    async def _capa(self, event: Capa) -> None:
        self._say(_ok("capability list follows"))
        self._say(ResponseData(data="".join(c + "\r\n" for c in self._capabilities()).encode()))
        self._say(EndOfResponse())

    async def _stls(self, event: Stls) -> Response:
        if self.config.ssl_context is None:
            return _err("TLS not available")
        if self.session.tls:
            return _err("already using TLS")
        return _ok("begin TLS negotiation")

    async def _user(self, event: User) -> Response:
        self.user = None
        if not self._plaintext_ok():
            return _err(self._NO_PLAINTEXT, "AUTH")
        # Always +OK: an -ERR for unknown names would let anyone list users.
        self.user = event.name
        return _ok("send PASS")

    async def _pass(self, event: Pass) -> Response:
        user, self.user = self.user, None
        assert user is not None  # the table allows PASS only after a USER +OK
        ok = await self.handler.on_auth(self.session, "USER", user, event.password)
        if not ok:
            return await self._failed(user, "USER")
        return await self._login(user, "USER")

    async def _apop(self, event: Apop) -> Response:
        self.user = None
        if not self.config.apop:
            return _err("APOP not offered")
        ok = await self.handler.on_apop(self.session, event.name, self.timestamp, event.digest)
        if not ok:
            return await self._failed(event.name, "APOP")
        return await self._login(event.name, "APOP")

    async def _auth(self, event: Auth) -> Response | Continuation:
        self.user = None
        if event.mechanism not in self._mechanisms():
            return _err(f"unsupported authentication mechanism {event.mechanism}")
        if not self._plaintext_ok():
            return _err(self._NO_PLAINTEXT, "AUTH")
        self.sasl = server_mechanism(event.mechanism)
        return await self._sasl_step(event.initial_response)

    async def _auth_response(self, event: AuthResponse) -> Response | Continuation:
        if event.cancelled or self.sasl is None:
            self.sasl = None
            return _err("authentication cancelled")
        return await self._sasl_step(event.data)

    async def _sasl_step(self, data: str | None) -> Response | Continuation:
        sasl = self.sasl
        assert sasl is not None
        result = sasl.step(data)
        if isinstance(result, Challenge):
            return Continuation(data=result.challenge or "")
        self.sasl = None
        if not isinstance(result, Credentials):
            return _err(result.error or "authentication failed")
        assert result.username is not None and result.password is not None
        if result.authzid and result.authzid != result.username:
            # Acting as another user is not supported.
            return await self._failed(result.username, sasl.mechanism)
        ok = await self.handler.on_auth(self.session, sasl.mechanism, result.username,
                                        result.password)
        if not ok:
            return await self._failed(result.username, sasl.mechanism)
        return await self._login(result.username, sasl.mechanism)

    async def _failed(self, user: str | None, mechanism: str) -> Response:
        self.auth_failures += 1
        await asyncio.sleep(self.server.guard.failed_login(
            self.session.peer[0], service="pop3", user=user, mechanism=mechanism))
        if self.auth_failures >= self.config.max_auth_failures:
            return _err("too many failed logins, closing connection", "AUTH")
        return _err("authentication failed", "AUTH")

    async def _login(self, user: str, mechanism: str) -> Response:
        """The credentials are good: open and lock the maildrop."""
        mailbox = await self.handler.open_mailbox(self.session, user)
        if mailbox is None:
            return _err("no maildrop for this user", "SYS/PERM")
        try:
            self.maildrop = await asyncio.to_thread(Maildrop.open, mailbox)
        except MaildropInUse:
            return _err("maildrop already locked by another session", "IN-USE")
        except OSError as exc:
            log.warning("cannot open the maildrop of %s: %s", user, exc)
            return _err("cannot open the maildrop", "SYS/TEMP")
        self.session.authenticated = user
        self.session.mechanism = mechanism
        self.server.guard.logged_in(self.session.peer[0], service="pop3", user=user,
                                    mechanism=mechanism)
        count, octets = self.maildrop.stat()
        return _ok(f"maildrop has {count} message{'s' if count != 1 else ''} ({octets} octets)")

    # -- TRANSACTION ----------------------------------------------------------------

    def _drop(self) -> Maildrop:
        assert self.maildrop is not None  # the table allows these only in TRANSACTION
        return self.maildrop

    def _entry(self, msg: int) -> Entry | Response:
        entry = self._drop().get(msg)
        if entry is None:
            deleted = 1 <= msg <= len(self._drop().entries)
            return _err(f"message {msg} is deleted" if deleted else f"no message {msg}")
        return entry

    async def _stat(self, event: Stat) -> Response:
        count, octets = self._drop().stat()
        return _ok(f"{count} {octets}")

    async def _list(self, event: List | Uidl) -> Response | None:
        uidl = isinstance(event, Uidl)
        if event.msg is not None:
            entry = self._entry(event.msg)
            if isinstance(entry, Response):
                return entry
            return _ok(f"{event.msg} {entry.uid if uidl else entry.size}")
        drop = self._drop()
        count, octets = drop.stat()
        self._say(_ok("unique-id listing follows" if uidl
                      else f"{count} messages ({octets} octets)"))
        lines = [f"{n} {e.uid if uidl else e.size}\r\n"
                 for n, e in enumerate(drop.entries, 1) if not e.deleted]
        if lines:
            self._say(ResponseData(data="".join(lines).encode("ascii")))
        self._say(EndOfResponse())
        return None

    async def _send_message(self, entry: Entry, lines: int | None) -> Response | None:
        try:
            f = self._drop().open_file(entry)
        except KeyError:
            return _err("message was removed by another client", "SYS/PERM")
        with f:
            self._say(_ok(f"{entry.size} octets" if lines is None else "top of message follows"),
                      crlf=entry.crlf)
            chunks = iter(lambda: f.read(CHUNK), b"") if lines is None else iter_top(f, lines)
            # A read error now cannot be told to the client (the +OK is
            # out): it propagates and the connection closes.
            for chunk in chunks:
                self._say(ResponseData(data=chunk))
                if len(self.out) >= CHUNK:
                    await self._flush()
        self._say(EndOfResponse())
        return None

    async def _retr(self, event: Retr) -> Response | None:
        entry = self._entry(event.msg)
        if isinstance(entry, Response):
            return entry
        refused = await self._send_message(entry, None)
        if refused is None and not entry.retrieved:
            entry.retrieved = True
            self.session.retrieved += 1
        return refused

    async def _top(self, event: Top) -> Response | None:
        entry = self._entry(event.msg)
        if isinstance(entry, Response):
            return entry
        return await self._send_message(entry, event.lines)

    async def _dele(self, event: Dele) -> Response:
        entry = self._entry(event.msg)
        if isinstance(entry, Response):
            return entry
        entry.deleted = True
        return _ok(f"message {event.msg} deleted")

    async def _rset(self, event: Rset) -> Response:
        drop = self._drop()
        drop.reset()
        count, octets = drop.stat()
        return _ok(f"maildrop has {count} messages ({octets} octets)")

    async def _noop(self, event: Noop) -> Response:
        return _ok()

    async def _quit(self, event: Quit) -> Response:
        name = self.config.hostname
        if self.maildrop is None:
            return _ok(f"{name} POP3 server signing off")
        # The UPDATE state (RFC 1939 section 6): the core entered it when
        # QUIT arrived; now the marked messages go, then the answer.
        drop = self.maildrop
        marked = sum(e.deleted for e in drop.entries)
        failed = await asyncio.to_thread(drop.commit)
        self.session.deleted = marked - failed
        self.release()
        if failed:
            return _err(f"{failed} deleted message(s) not removed", "SYS/TEMP")
        return _ok(f"{name} POP3 server signing off ({marked} deleted)")


_DISPATCH: dict[type[Event], Any] = {
    Capa: _Session._capa, Stls: _Session._stls, User: _Session._user, Pass: _Session._pass,
    Apop: _Session._apop, Auth: _Session._auth, AuthResponse: _Session._auth_response,
    Stat: _Session._stat, List: _Session._list, Uidl: _Session._list, Retr: _Session._retr,
    Top: _Session._top, Dele: _Session._dele, Rset: _Session._rset, Noop: _Session._noop,
    Quit: _Session._quit,
}
