"""The asyncio SMTP server: sockets around a :class:`ServerConnection`.

The adapter reads bytes, feeds the core, answers each event (asking the
:class:`~._handler.Handler` where the application decides), and writes the
replies. It owns what the core cannot: time (timeouts, the failed-AUTH
delay), the TLS handshake, counting connections, and policy (AUTH only over
TLS, SIZE, recipients, bare line endings).

Limits and security defaults (each configurable):

=========================  ==========================================
Command line               512 octets (the core; AUTH lines 12288)
Text line                  1000 octets (RFC 5321 section 4.5.3.1.6)
Message size               25 MiB, advertised as SIZE; 552 beyond
Recipients                 100 per message; 452 4.5.3 beyond
Idle timeout               300 s per read (RFC 5321 section 4.5.3.2)
Session time               1800 s in all
Connections                100 at once, 20 per client address (loopback
                           not counted); when full, the session idle
                           longest outside a transaction and AUTH is
                           closed for a newcomer, else 421
Errors                     20 bad commands, then 421
Failed AUTH                a delay that doubles with each failure from the
                           same address (1 s, 2 s, 4 s... up to 60 s, reset
                           after 15 quiet minutes); 3 per connection, then 421
AUTH                       only over TLS (loopback plaintext if allowed)
Bare LF/CR in DATA         refused (SMTP smuggling, see ``_data``)
VRFY                       252 (does not confirm addresses)
=========================  ==========================================
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass, field
from typing import Any

from .._guard import ClientGuard, is_loopback, linger, make_room
from ._connection import NEED_DATA, PAUSED, ServerConnection
from ._events import (
    Auth,
    AuthResponse,
    Bdat,
    ChunkEnd,
    ConnectionClosed,
    Data,
    Ehlo,
    EndOfMessage,
    Event,
    Helo,
    Help,
    InvalidCommand,
    Mail,
    MessageData,
    Noop,
    Quit,
    Rcpt,
    Reply,
    Rset,
    StartTLS,
    Vrfy,
)
from ._handler import Envelope, Handler, Session
from ._sasl import (
    Challenge,
    Credentials,
    Failure,
    SaslServer,
    server_mechanism,
    server_mechanisms,
)
from ._states import State

__all__ = ["SMTPServer", "ServerConfig"]

log = logging.getLogger("mimekit.smtp.server")


@dataclass(slots=True)
class ServerConfig:
    """Server settings; every field has a safe default.

    Attributes:
        hostname: Our name in the greeting and EHLO reply.
        max_size: Largest message accepted (SIZE), in octets.
        max_recipients: RCPTs per message.
        idle_timeout: Seconds to wait for the next bytes from the client.
        session_timeout: Seconds a connection may last in all.
        max_connections: Simultaneous connections.
        max_connections_per_ip: Simultaneous connections from one address
            (a slowloris flood from one host cannot take every slot); local
            clients (loopback) are not counted: they are this machine's own.
        max_errors: Invalid commands tolerated per connection.
        ssl_context: Offer STARTTLS with this context (server side).
        implicit_tls: Wrap connections in TLS at once (port 465 style);
            needs ``ssl_context``.
        auth_mechanisms: SASL mechanisms to offer.
        auth_over_plaintext: Offer AUTH without TLS: ``"never"`` (the
            default), ``"loopback"`` (clients on 127.0.0.0/8 or ::1) or
            ``"always"``.
        auth_required: Refuse MAIL until the client authenticated (530),
            as a submission port does.
        auth_failure_delay: Seconds to wait before answering the first failed
            AUTH from an address; it doubles with each further failure from
            that address (brute force meets a growing delay), up to
            ``auth_failure_delay_max``.
        auth_failure_delay_max: The longest such delay.
        max_auth_failures: Failed AUTHs before the connection is closed.
        smtputf8, chunking, dsn, pipelining: Extensions to offer.
        refuse_bare_line_endings: Refuse a message with a bare LF or CR.
    """

    hostname: str = "localhost"
    max_size: int = 25 * 1024 * 1024
    max_recipients: int = 100
    idle_timeout: float = 300.0
    session_timeout: float = 1800.0
    max_connections: int = 100
    max_connections_per_ip: int = 20
    max_errors: int = 20
    ssl_context: ssl.SSLContext | None = None
    implicit_tls: bool = False
    auth_mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN")
    auth_over_plaintext: str = "never"
    auth_required: bool = False
    auth_failure_delay: float = 1.0
    auth_failure_delay_max: float = 60.0
    max_auth_failures: int = 3
    smtputf8: bool = True
    chunking: bool = True
    dsn: bool = True
    pipelining: bool = True
    refuse_bare_line_endings: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def _reply(code: int, enhanced: tuple[int, int, int] | None, *lines: str) -> Reply:
    return Reply(code=code, lines=lines or ("",), enhanced=enhanced)


_OK = _reply(250, (2, 0, 0), "OK")
_BUSY = _reply(421, (4, 7, 0), "too many connections, try again later")
_TIMEOUT = _reply(421, (4, 4, 2), "timeout, closing connection")


class _Closing(Exception):
    """End the session after writing what is pending."""


class SMTPServer:
    """An asyncio SMTP server driving one :class:`ServerConnection` per client.

    Example::

        server = SMTPServer(MyHandler(), ServerConfig(hostname="mx.example"))
        await server.start("127.0.0.1", 2525)
        ...
        await server.close()
    """

    def __init__(self, handler: Handler, config: ServerConfig | None = None) -> None:
        self.handler = handler
        self.config = config or ServerConfig()
        if self.config.implicit_tls and self.config.ssl_context is None:
            raise ValueError("implicit_tls needs an ssl_context")
        self._server: asyncio.base_events.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        #: The sessions running (for :func:`make_room`).
        self._live: set[_Session] = set()
        self._active = 0
        c = self.config
        self.guard = ClientGuard(max_per_address=c.max_connections_per_ip,
                                 failure_delay=c.auth_failure_delay,
                                 failure_delay_max=c.auth_failure_delay_max)
        self._closing = False

    async def start(self, host: str = "127.0.0.1", port: int = 25) -> None:
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
        """Stop accepting; let sessions finish their current command, up to
        ``grace`` seconds, then cut them."""
        self._closing = True
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._sessions:
            _, pending = await asyncio.wait(self._sessions, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        self._active += 1
        peer = (writer.get_extra_info("peername") or ("?",))[0]
        allowed = self.guard.connect(peer)
        try:
            full = self._active > self.config.max_connections
            if full and allowed and not self._closing:
                full = not make_room(self._live)
            if full or self._closing or not allowed:
                writer.write(ServerConnection().send(_BUSY))
                await writer.drain()
                return
            session = _Session(self, reader, writer)
            self._live.add(session)
            try:
                await asyncio.wait_for(session.run(), self.config.session_timeout)
            finally:
                self._live.discard(session)
        except TimeoutError:
            with contextlib.suppress(Exception):
                writer.write(b"421 4.4.2 session time limit reached\r\n")
                await writer.drain()
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError) as exc:
            log.debug("connection error: %s", exc)
        finally:
            self._active -= 1
            self.guard.disconnect(peer)
            self._sessions.discard(task)
            try:
                if not self._closing:
                    await linger(reader, writer)
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()


async def _drain(writer: asyncio.StreamWriter, timeout: float) -> None:
    """Wait until the client has taken what was written; a client that stops
    reading for ``timeout`` seconds is cut off (as idle as a silent one)."""
    transport = writer.transport
    if transport.get_write_buffer_size() <= transport.get_write_buffer_limits()[0]:
        # At or below the low-water mark the transport is not paused and
        # drain() does not wait: spare the timer.
        await writer.drain()
        return
    try:
        async with asyncio.timeout(timeout):
            await writer.drain()
    except TimeoutError:
        writer.transport.abort()
        raise ConnectionError("the client stopped reading") from None


class _Session:
    """One connection's loop."""

    def __init__(self, server: SMTPServer, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.config = server.config
        self.handler = server.handler
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername") or ("", 0)
        local = writer.get_extra_info("sockname") or ("", 0)
        self.session = Session(peer=(peer[0], peer[1]), local=(local[0], local[1]),
                               tls=self.config.implicit_tls,
                               loopback=is_loopback(peer[0]))
        self.conn = ServerConnection(max_size=self.config.max_size,
                                     smtputf8=self.config.smtputf8)
        self.envelope = Envelope()
        self.out = bytearray()
        self.errors = 0
        self.auth_failures = 0
        self.sasl: SaslServer | None = None
        self.sasl_mechanism = ""
        self.loop = asyncio.get_running_loop()
        #: Waiting for the client's next bytes, since when (loop clock).
        self.waiting = False
        self.idle_since = 0.0
        #: Closed to make room (:meth:`evict`): bytes already read are dropped.
        self.evicted = False

    @property
    def evictable(self) -> bool:
        """Waiting for the client, not authenticated and outside a
        transaction (mid-AUTH too): closing it loses nothing."""
        return (self.waiting and self.session.authenticated is None
                and self.conn.state in (State.INIT, State.READY, State.AUTH))

    def evict(self) -> None:
        """Close this session to make room for a new one (the server is full)."""
        self.waiting = False
        self.evicted = True
        with contextlib.suppress(Exception):
            self.writer.write(b"421 4.7.0 too many connections, closing idle ones\r\n")
        self.writer.close()
        self.reader.feed_eof()

    # -- plumbing ---------------------------------------------------------------

    def _say(self, reply: Reply) -> None:
        self.out += self.conn.send(reply)

    async def _flush(self) -> None:
        if self.out:
            self.writer.write(bytes(self.out))
            self.out.clear()
            await _drain(self.writer, self.config.idle_timeout)

    async def run(self) -> None:
        try:
            greeting = await self.handler.on_connect(self.session) or _reply(
                220, None, f"{self.config.hostname} ESMTP mimekit")
            self._say(greeting)
            if greeting.code != 220:
                return
            while True:
                event = self.conn.next_event()
                if event is NEED_DATA:
                    await self._flush()
                    # asyncio.timeout, not wait_for: wait_for wraps each read
                    # in a new Task, which costs more than the read itself.
                    self.waiting, self.idle_since = True, self.loop.time()
                    try:
                        async with asyncio.timeout(self.config.idle_timeout):
                            data = await self.reader.read(65536)
                    finally:
                        self.waiting = False
                    if self.evicted:
                        # Told 421: what the client had already sent (a whole
                        # pipelined transaction, perhaps) must not be acted on.
                        return
                    self.conn.receive_data(data)
                    continue
                if event is PAUSED:
                    await self._start_tls()
                    continue
                assert isinstance(event, Event)
                if isinstance(event, ConnectionClosed):
                    return
                await self._dispatch(event)
        except TimeoutError:
            self.out += self.conn.send(_TIMEOUT)
        except _Closing:
            pass
        finally:
            with contextlib.suppress(Exception):
                await self._flush()
            with contextlib.suppress(Exception):
                await self.handler.on_disconnect(self.session)

    async def _start_tls(self) -> None:
        # The core pauses after a 220 to STARTTLS (and discarded any
        # pipelined plaintext): flush the 220, then shake hands.
        await self._flush()
        ctx = self.config.ssl_context
        assert ctx is not None
        await self.writer.start_tls(ctx)
        self.conn.tls_established()
        self.session.tls = True
        self.session.host_name = None
        self.session.extended = False
        self.session.authenticated = None
        self.envelope = Envelope()

    # -- events -----------------------------------------------------------------

    async def _dispatch(self, event: Event) -> None:
        if isinstance(event, InvalidCommand):
            self.errors += 1
            if self.errors > self.config.max_errors:
                self._say(_reply(421, (4, 7, 0), "too many errors, closing connection"))
                raise _Closing
            self._say(event.reply)
            return
        handler = _DISPATCH.get(type(event))
        if handler is None:  # pragma: no cover - every event type is listed
            raise AssertionError(f"unhandled event {event!r}")
        reply = await handler(self, event)
        if reply is not None:
            self._say(reply)
            if reply.code == 421 or isinstance(event, Quit):
                raise _Closing

    def _extensions(self) -> list[str]:
        c = self.config
        ext = ["8BITMIME", "ENHANCEDSTATUSCODES", f"SIZE {c.max_size}"]
        if c.pipelining:
            ext.append("PIPELINING")
        if c.smtputf8:
            ext.append("SMTPUTF8")
        if c.chunking:
            ext.append("CHUNKING")
        if c.dsn:
            ext.append("DSN")
        if c.ssl_context is not None and not self.session.tls:
            ext.append("STARTTLS")
        if self._auth_allowed() and not self.session.authenticated:
            mechanisms = [m for m in c.auth_mechanisms if m in server_mechanisms()]
            if mechanisms:
                ext.append("AUTH " + " ".join(mechanisms))
        ext.append("HELP")
        return ext

    def _auth_allowed(self) -> bool:
        policy = self.config.auth_over_plaintext
        return (self.session.tls or policy == "always"
                or (policy == "loopback" and self.session.loopback))

    async def _ehlo(self, event: Ehlo | Helo) -> Reply:
        self.session.host_name = event.domain
        self.session.extended = isinstance(event, Ehlo)
        self.envelope = Envelope()
        refused = await self.handler.on_ehlo(self.session, event.domain)
        if refused is not None:
            return refused
        greeting = f"{self.config.hostname} greets {event.domain}"
        if isinstance(event, Helo):
            return _reply(250, None, greeting)
        return _reply(250, None, greeting, *self._extensions())

    async def _mail(self, event: Mail) -> Reply:
        c = self.config
        if c.auth_required and not self.session.authenticated:
            return _reply(530, (5, 7, 0), "authentication required")
        params = event.params
        size = params.get("SIZE")
        if size is not None and (not size.isdigit() or int(size) > c.max_size):
            return _reply(552, (5, 3, 4), f"message size exceeds the limit of {c.max_size}")
        body = (params.get("BODY") or "7BIT").upper()
        if body not in ("7BIT", "8BITMIME", "BINARYMIME") or (
                body == "BINARYMIME" and not c.chunking):
            return _reply(501, (5, 5, 4), f"unsupported BODY={body}")
        if "SMTPUTF8" in params and not c.smtputf8:
            return _reply(555, (5, 5, 4), "SMTPUTF8 not supported")
        unknown = set(params) - {"SIZE", "BODY", "SMTPUTF8", "RET", "ENVID", "AUTH"}
        if unknown:
            return _reply(555, (5, 5, 4), f"unsupported parameter {sorted(unknown)[0]}")
        if not event.sender.isascii() and "SMTPUTF8" not in params:
            return _reply(553, (5, 6, 7), "non-ASCII address needs SMTPUTF8")
        self.envelope = Envelope()
        refused = await self.handler.on_mail(self.session, self.envelope, event.sender, params)
        if refused is not None and not refused.is_positive:
            return refused
        self.envelope.mail_from = event.sender
        self.envelope.mail_params = dict(params)
        return refused or _reply(250, (2, 1, 0), "sender OK")

    async def _rcpt(self, event: Rcpt) -> Reply:
        if len(self.envelope.rcpt_tos) >= self.config.max_recipients:
            return _reply(452, (4, 5, 3), "too many recipients")
        unknown = set(event.params) - {"NOTIFY", "ORCPT"}
        if unknown:
            return _reply(555, (5, 5, 4), f"unsupported parameter {sorted(unknown)[0]}")
        if not event.recipient.isascii() and not self.envelope.smtputf8:
            return _reply(553, (5, 6, 7), "non-ASCII address needs SMTPUTF8")
        reply = await self.handler.on_rcpt(self.session, self.envelope, event.recipient,
                                           event.params)
        if reply is not None and not reply.is_positive:
            return reply
        self.envelope.rcpt_tos.append(event.recipient)
        self.envelope.rcpt_params.append(dict(event.params))
        return reply or _reply(250, (2, 1, 5), "recipient OK")

    async def _data(self, event: Data) -> Reply:
        if not self.envelope.rcpt_tos:
            return _reply(554, (5, 5, 1), "no valid recipients")
        return _reply(354, None, "end data with <CR><LF>.<CR><LF>")

    async def _content(self, event: MessageData) -> None:
        self.envelope.content += event.data

    async def _end(self, event: EndOfMessage | ChunkEnd) -> Reply:
        c = self.config
        if event.too_big:
            self.envelope = Envelope()
            return _reply(552, (5, 3, 4), f"message size exceeds the limit of {c.max_size}")
        if isinstance(event, EndOfMessage):
            if event.long_line:
                self.envelope = Envelope()
                return _reply(500, (5, 5, 6), "line too long (RFC 5321 limit is 1000)")
            if event.bare_line_ending and c.refuse_bare_line_endings:
                self.envelope = Envelope()
                return _reply(550, (5, 6, 0), "bare LF or CR in message (not allowed, "
                              "see SMTP smuggling)")
        elif not c.chunking:
            # BDAT was not offered; its chunk has been read (it must be), now refuse.
            self.envelope = Envelope()
            return _reply(502, (5, 5, 1), "BDAT not implemented")
        elif not event.last:
            return _reply(250, (2, 0, 0), f"{event.size} octets received")
        envelope = self.envelope
        self.envelope = Envelope()
        try:
            reply = await self.handler.on_message(self.session, envelope)
        except Exception:
            log.exception("on_message failed")
            return _reply(451, (4, 3, 0), "local error in processing, try again later")
        if reply is None or reply.is_positive:
            self.session.transactions += 1
        return reply or _reply(250, (2, 0, 0), "message accepted")

    async def _rset(self, event: Rset) -> Reply:
        self.envelope = Envelope()
        return _OK

    async def _noop(self, event: Noop) -> Reply:
        return _OK

    async def _quit(self, event: Quit) -> Reply:
        return _reply(221, (2, 0, 0), f"{self.config.hostname} closing connection")

    async def _vrfy(self, event: Vrfy) -> Reply:
        return _reply(252, (2, 5, 0), "cannot VRFY user, but will accept message")

    async def _help(self, event: Help) -> Reply:
        return _reply(214, (2, 0, 0), "see RFC 5321 (https://www.rfc-editor.org/rfc/rfc5321)")

    async def _starttls(self, event: StartTLS) -> Reply:
        if self.config.ssl_context is None:
            return _reply(454, (4, 7, 0), "TLS not available")
        if self.session.tls:
            return _reply(503, (5, 5, 1), "already using TLS")
        return _reply(220, (2, 0, 0), "ready to start TLS")

    async def _bdat(self, event: Bdat) -> None:
        return None  # answered at the end of its chunk (ChunkEnd)

    async def _auth(self, event: Auth) -> Reply:
        if self.session.authenticated:
            return _reply(503, (5, 5, 1), "already authenticated")
        if not self._auth_allowed():
            return _reply(538, (5, 7, 11), "encryption required for requested authentication")
        if event.mechanism not in self.config.auth_mechanisms or \
                event.mechanism not in server_mechanisms():
            return _reply(504, (5, 5, 4), f"unrecognized authentication type {event.mechanism}")
        self.sasl = server_mechanism(event.mechanism)
        self.sasl_mechanism = event.mechanism
        return await self._sasl_step(event.initial_response)

    async def _auth_response(self, event: AuthResponse) -> Reply:
        if event.cancelled:
            self.sasl = None
            return _reply(501, (5, 0, 0), "authentication cancelled")
        return await self._sasl_step(event.data)

    async def _sasl_step(self, data: str | None) -> Reply:
        sasl = self.sasl
        assert sasl is not None
        result = sasl.step(data)
        if isinstance(result, Challenge):
            return result.reply
        self.sasl = None
        if isinstance(result, Failure) or not isinstance(result, Credentials):
            return result.reply if isinstance(result, Failure) else _reply(
                504, (5, 5, 4), "mechanism not usable here")
        assert result.username is not None and result.password is not None
        ok = await self.handler.on_auth(self.session, self.sasl_mechanism, result.username,
                                        result.password)
        peer = self.session.peer[0]
        if ok:
            self.session.authenticated = result.username
            self.server.guard.logged_in(peer, service="smtp", user=result.username,
                                        mechanism=self.sasl_mechanism)
            return _reply(235, (2, 7, 0), "authentication successful")
        self.auth_failures += 1
        await asyncio.sleep(self.server.guard.failed_login(
            peer, service="smtp", user=result.username, mechanism=self.sasl_mechanism))
        if self.auth_failures >= self.config.max_auth_failures:
            return _reply(421, (4, 7, 0), "too many failed authentications")
        return _reply(535, (5, 7, 8), "authentication credentials invalid")


_DISPATCH: dict[type[Event], Any] = {
    Ehlo: _Session._ehlo, Helo: _Session._ehlo, Mail: _Session._mail, Rcpt: _Session._rcpt,
    Data: _Session._data, MessageData: _Session._content, EndOfMessage: _Session._end,
    ChunkEnd: _Session._end, Rset: _Session._rset, Noop: _Session._noop, Quit: _Session._quit,
    Vrfy: _Session._vrfy, Help: _Session._help, StartTLS: _Session._starttls,
    Bdat: _Session._bdat, Auth: _Session._auth, AuthResponse: _Session._auth_response,
}
