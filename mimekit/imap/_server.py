"""The asyncio IMAP server: sockets around a :class:`ServerConnection` per client.

The adapter reads bytes, feeds the core, answers each command from the
user's :class:`~._mailbox.MailStore` (asking the :class:`~._server_handler.Handler`
who may log in and where their mail is), and writes the responses. It owns
what the core cannot: time (timeouts, the failed-login delay), the TLS
handshake, counting connections and sessions, worker threads for the file
work, and policy. The session itself is :mod:`._server_session`.

Limits and security defaults (each configurable in :class:`IMAPServerConfig`):

=========================  ==================================================
Command line               64 KiB of non-literal octets (the core)
Literals                   64 MiB per command (APPEND's message;
                           ``APPENDLIMIT``); a bigger one is refused with
                           ``NO [TOOBIG]`` before the ``+``, nothing is
                           allocated for it
Autologout                 120 s before login (silent or not), 30 min
                           idle after (RFC 3501 section 5.4), IDLE included
Connections                200 at once, 20 per client address (loopback
                           not counted); when full, the session idle
                           longest before login is closed for a newcomer,
                           else ``* BYE [UNAVAILABLE]``
Sessions per user          20 at once: ``NO [LIMIT]`` at login beyond
Errors                     20 invalid commands, then ``* BYE`` and close
Failed logins              a delay that doubles with each failure from the
                           same address (1 s, 2 s, 4 s... up to 60 s);
                           3 per connection, then ``* BYE``
LOGIN, AUTHENTICATE PLAIN  refused without TLS except from loopback
                           (``NO [PRIVACYREQUIRED]``, ``LOGINDISABLED``
                           advertised); STARTTLS is offered
Mailbox names              strictly checked: nothing outside the user's store
=========================  ==================================================
"""

from __future__ import annotations

import asyncio
import ssl
from collections import OrderedDict
from dataclasses import dataclass

from .._guard import ClientGuard, linger, make_room
from ._mailbox_folder import Folder
from ._responses import ResponseCode, StatusResponse
from ._server_base import log
from ._server_connection import DEFAULT_MAX_LINE, DEFAULT_MAX_LITERAL, ServerConnection
from ._server_fetch import EncodedCache
from ._server_handler import Handler
from ._server_session import ServerSession

__all__ = ["IMAPServer", "IMAPServerConfig"]

#: Folders kept open after their last session leaves, so that the next
#: session (a client polling every few minutes) finds the ENVELOPE and
#: BODYSTRUCTURE cache warm.
KEEP_FOLDERS = 16
#: Seconds to wait for a connection to close cleanly (TLS close_notify).
CLOSE_TIMEOUT = 2.0


@dataclass(slots=True)
class IMAPServerConfig:
    """Server settings; every field has a safe default.

    Attributes:
        hostname: Our name in the greeting.
        login_timeout: Seconds a client may take to log in, silent or not
            (and the most a TLS handshake may take).
        idle_timeout: Seconds a logged-in client may stay silent, IDLE
            included (RFC 3501 section 5.4: at least 30 minutes).
        idle_poll: During IDLE, re-read the selected mailbox this often to
            notice changes by other processes (changes in this process wake
            IDLE at once).
        write_timeout: Seconds a client may take to read what we write
            before it is cut off.
        max_connections: Simultaneous connections.
        max_connections_per_ip: Simultaneous connections from one address
            (loopback clients are not counted).
        max_sessions_per_user: Simultaneous logged-in sessions of one user.
        max_errors: Invalid commands tolerated per connection.
        max_line: The most non-literal octets of one command.
        max_literal: The most literal octets of one command: the largest
            message APPEND takes (advertised as ``APPENDLIMIT``).
        ssl_context: Offer STARTTLS with this context (server side).
        implicit_tls: Wrap connections in TLS at once (port 993 style);
            needs ``ssl_context``.
        auth_mechanisms: SASL mechanisms to offer (of PLAIN and LOGIN).
        auth_over_plaintext: Allow LOGIN and AUTHENTICATE without TLS:
            ``"never"``, ``"loopback"`` (the default: clients on
            127.0.0.0/8 or ::1) or ``"always"``.
        auth_failure_delay: Seconds to wait before answering the first
            failed login from an address; it doubles with each further
            failure from that address, up to ``auth_failure_delay_max``.
        auth_failure_delay_max: The longest such delay.
        max_auth_failures: Failed logins before the connection is closed.
        fetch_cache_bytes: The most octets of encoded ENVELOPE and
            BODYSTRUCTURE kept for the next FETCH (shared by all sessions).
    """

    hostname: str = "localhost"
    login_timeout: float = 120.0
    idle_timeout: float = 1800.0
    idle_poll: float = 5.0
    write_timeout: float = 300.0
    max_connections: int = 200
    max_connections_per_ip: int = 20
    max_sessions_per_user: int = 20
    max_errors: int = 20
    max_line: int = DEFAULT_MAX_LINE
    max_literal: int = DEFAULT_MAX_LITERAL
    ssl_context: ssl.SSLContext | None = None
    implicit_tls: bool = False
    auth_mechanisms: tuple[str, ...] = ("PLAIN",)
    auth_over_plaintext: str = "loopback"
    auth_failure_delay: float = 1.0
    auth_failure_delay_max: float = 60.0
    max_auth_failures: int = 3
    fetch_cache_bytes: int = 64 << 20


class IMAPServer:
    """An asyncio IMAP4rev1 server (RFC 3501) over per-user Maildir++ stores.

    Example::

        hub = MailboxHub()
        handler = MaildirHandler("/var/mail", users.verify, hub=hub)
        server = IMAPServer(handler, IMAPServerConfig(hostname="imap.example",
                                                      ssl_context=ctx))
        await server.start("127.0.0.1", 2143)
        ...
        await server.close()
    """

    def __init__(self, handler: Handler, config: IMAPServerConfig | None = None) -> None:
        self.handler = handler
        self.config = config or IMAPServerConfig()
        c = self.config
        if c.implicit_tls and c.ssl_context is None:
            raise ValueError("implicit_tls needs an ssl_context")
        if c.auth_over_plaintext not in ("never", "loopback", "always"):
            raise ValueError("auth_over_plaintext is 'never', 'loopback' or 'always'")
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._live: set[ServerSession] = set()
        self._active = 0
        self._users: dict[str, int] = {}
        self._folders: OrderedDict[int, Folder] = OrderedDict()
        self.guard = ClientGuard(max_per_address=c.max_connections_per_ip,
                                 failure_delay=c.auth_failure_delay,
                                 failure_delay_max=c.auth_failure_delay_max)
        self.closing = False
        #: ENVELOPE/BODYSTRUCTURE as sent, shared by the sessions.
        self.fetch_cache = EncodedCache(c.fetch_cache_bytes)

    async def start(self, host: str = "127.0.0.1", port: int = 143) -> None:
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

    @property
    def sessions(self) -> int:
        """Connections being served now."""
        return len(self._live)

    async def close(self, grace: float = 30.0) -> None:
        """Stop accepting. Sessions waiting for the client (between
        commands, or in IDLE) get ``* BYE [UNAVAILABLE]`` at once; the others
        finish their current command (an APPEND completes) and then get it,
        up to ``grace`` seconds, after which they are cut."""
        self.closing = True
        if self._server is not None:
            self._server.close()
        for session in list(self._live):
            session.shutdown("Server shutting down", "UNAVAILABLE")
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        self._folders.clear()

    # -- what sessions share ---------------------------------------------------------------

    def session_start(self, user: str) -> bool:
        """Count a login; False when the user has too many sessions."""
        count = self._users.get(user, 0)
        if count >= self.config.max_sessions_per_user:
            return False
        self._users[user] = count + 1
        return True

    def session_end(self, user: str) -> None:
        count = self._users.get(user, 1) - 1
        if count > 0:
            self._users[user] = count
        else:
            self._users.pop(user, None)

    def keep_folder(self, folder: Folder) -> None:
        """Keep a recently selected folder (and its cache) alive."""
        key = id(folder)
        self._folders[key] = folder
        self._folders.move_to_end(key)
        while len(self._folders) > KEEP_FOLDERS:
            self._folders.popitem(last=False)

    # -- connections -------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._active += 1
        peer = (writer.get_extra_info("peername") or ("?",))[0]
        allowed = self.guard.connect(peer)
        try:
            full = self._active > self.config.max_connections
            if full and allowed and not self.closing:
                full = not make_room(self._live)
            if full or self.closing or not allowed:
                writer.write(ServerConnection().send(StatusResponse(
                    status="BYE", code=ResponseCode(name="UNAVAILABLE"),
                    text="Too many connections; try again later")))
                await writer.drain()
                return
            session = ServerSession(self, reader, writer)
            self._live.add(session)
            try:
                await session.run()
            finally:
                self._live.discard(session)
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, TimeoutError) as exc:
            log.debug("connection error: %s", exc)
        finally:
            self._active -= 1
            self.guard.disconnect(peer)
            self._tasks.discard(task)
            try:
                if not self.closing:
                    await linger(reader, writer)
            finally:
                writer.close()
            try:
                # A TLS close waits for the client's close_notify; a client
                # that does not answer is cut rather than waited for.
                await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT)
            except Exception:  # timeouts and dead connections alike
                writer.transport.abort()
