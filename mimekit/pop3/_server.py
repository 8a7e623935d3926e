"""The asyncio POP3 server: sockets around a :class:`ServerConnection`.

The adapter (this module and :mod:`._server_session`, one connection's
loop) reads bytes, feeds the core, answers each command (asking the
:class:`~._handler.Handler` who may log in and which Maildir is theirs), and
writes the responses. It owns what the core cannot: time (timeouts, the
failed-login delay), the TLS handshake, counting connections, the maildrop
(:mod:`._maildrop`: lock, listing, sizes, UIDL, deletion at QUIT) and policy.

Limits and security defaults (each configurable in :class:`ServerConfig`):

=========================  ==========================================
Command line               512 octets (the core; SASL lines 12288)
Idle timeout               600 s per read (RFC 1939 section 3: at
                           least 10 minutes)
Login deadline             120 s from connecting, silent or not
Session time               3600 s in all
Connections                100 at once, 20 per client address (loopback
                           not counted); when full, the session idle
                           longest before login is closed for a newcomer,
                           else ``-ERR [SYS/TEMP]``
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
import ssl
from dataclasses import dataclass

from .._guard import ClientGuard, linger, make_room
from ._connection import ServerConnection
from ._handler import Handler
from ._server_session import ServerSession, _err

__all__ = ["POP3Server", "ServerConfig"]

log = logging.getLogger("mimekit.pop3.server")


@dataclass(slots=True)
class ServerConfig:
    """Server settings; every field has a safe default.

    Attributes:
        hostname: Our name in the greeting (and the APOP timestamp).
        idle_timeout: Seconds to wait for the next bytes from the client.
        login_timeout: Seconds a client may take to log in, silent or not:
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
        self._live: set[ServerSession] = set()
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
                full = not make_room(self._live)
            if full or self.closing or not allowed:
                conn = ServerConnection()
                writer.write(conn.send(_err("too many connections, try again later",
                                            "SYS/TEMP")))
                await writer.drain()
                return
            session = ServerSession(self, reader, writer)
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
            try:
                if not self.closing:
                    await linger(reader, writer)
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
