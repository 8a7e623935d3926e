"""One IMAP server session: the read loop, login, STARTTLS, IDLE, and the
commands valid in any state (RFC 3501 sections 6.1 and 6.2; RFC 2177 IDLE,
RFC 2342 NAMESPACE, RFC 2971 ID, RFC 5161 ENABLE).

The loop is the one the core's docs describe (:mod:`._server_connection`):
the greeting first; then read on ``NEED_DATA``, answer each command, each
refusal (:class:`InvalidCommand`) and each synchronizing literal
(:class:`LiteralAnnounced`); shake hands on ``PAUSED`` after STARTTLS.
Before each tagged response go the pending updates of the selected mailbox
(:meth:`SessionBase.updates`).

**IDLE** (RFC 2177): after the ``+`` the session waits for three things at
once: the client's ``DONE``, a wake-up from another session or an in-process
delivery (``MailboxHub.notify``, through the view's listener: immediate),
and a timer that re-reads the mailbox every ``idle_poll`` seconds to catch
changes by other processes (Dovecot's LDA, a second server).

**Login policy.** LOGIN and AUTHENTICATE PLAIN put the password on the wire
in clear, so without TLS they are refused (``NO [PRIVACYREQUIRED]``, and
``LOGINDISABLED`` is advertised) unless ``auth_over_plaintext`` allows it:
``"loopback"`` by default, i.e. only for clients on 127.0.0.0/8 or ::1.
Each failed login from an address waits longer than the one before
(:class:`~mimekit._guard.ClientGuard`); after ``max_auth_failures`` in one
connection the server says BYE. A user may have at most
``max_sessions_per_user`` sessions at once (``NO [LIMIT]``).

**Autologout.** A client that sends nothing for ``login_timeout`` seconds
before logging in, or ``idle_timeout`` seconds after (RFC 3501 section
5.4: at least 30 minutes; IDLE counts as idle, and RFC 2177 clients
re-issue IDLE every 29 minutes), gets ``* BYE`` and is disconnected. A
client that has not logged in ``login_timeout`` seconds after connecting
is disconnected too, silent or not: a slowloris that dribbles a byte now
and then cannot hold a connection slot (Dovecot does the same).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from .. import __version__
from ..smtp._sasl import Challenge, Credentials, SaslServer, server_mechanism, server_mechanisms
from ._command_events import AuthenticateData, IdleDone, InvalidCommand, LiteralAnnounced
from ._commands import (
    Append,
    Authenticate,
    Capability,
    Check,
    Close,
    Command,
    Copy,
    Create,
    Delete,
    Enable,
    Examine,
    Expunge,
    Fetch,
    Id,
    Idle,
    List,
    Login,
    Logout,
    Lsub,
    Move,
    Namespace,
    Noop,
    Rename,
    Search,
    Select,
    Sort,
    StartTLS,
    Status,
    Store,
    Subscribe,
    Unselect,
    Unsubscribe,
)
from ._connection import NEED_DATA, PAUSED
from ._responses import (
    CapabilityResponse,
    ConnectionClosed,
    ContinuationRequest,
    EnabledResponse,
    Event,
    IdResponse,
    NamespaceResponse,
    Response,
    ResponseCode,
    StatusResponse,
)
from ._server_base import Closing, log
from ._server_mailboxes import MailboxCommands
from ._server_messages import MessageCommands
from ._states import State
from ._values import Atom

__all__ = ["ServerSession"]

_READ_SIZE = 65536
_TCP_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


class ServerSession(MailboxCommands, MessageCommands):
    """One connection's loop (see the module docs)."""

    def __init__(self, server: Any, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        super().__init__(server, reader, writer)
        self.errors = 0
        self.auth_failures = 0
        self.sasl: SaslServer | None = None
        #: The user counted in the server's per-user session limit.
        self.counted_user: str | None = None
        #: Waiting for the client (between commands, or in IDLE), since when.
        self.waiting = False
        self.idle_since = self.connected_at = self.loop.time()
        self.watchdog: asyncio.TimerHandle | None = None
        #: A literal was invited: ACK it at once (see :meth:`_quickack`).
        self.quickack = False

    # -- capabilities and policy ---------------------------------------------------------

    def plaintext_ok(self) -> bool:
        policy = self.config.auth_over_plaintext
        return (self.session.tls or policy == "always"
                or (policy == "loopback" and self.session.loopback))

    def mechanisms(self) -> list[str]:
        return [m for m in self.config.auth_mechanisms if m in server_mechanisms()]

    def capabilities(self) -> list[str]:
        """What this session offers now (RFC 3501 section 6.1.1)."""
        caps = ["IMAP4rev1", "SASL-IR", "LITERAL+", "ID", "ENABLE", "IDLE", "NAMESPACE",
                "UIDPLUS", "MOVE", "SPECIAL-USE", "UNSELECT", "CHILDREN", "ESEARCH",
                "SORT", "SORT=DISPLAY",
                f"APPENDLIMIT={self.config.max_literal}"]
        if self.session.authenticated is None:
            if self.config.ssl_context is not None and not self.session.tls:
                caps.append("STARTTLS")
            if self.plaintext_ok():
                caps += [f"AUTH={m}" for m in self.mechanisms()]
            else:
                # RFC 3501 6.2.3: LOGIN is refused until TLS.
                caps.append("LOGINDISABLED")
        return caps

    def _capability_code(self) -> ResponseCode:
        return ResponseCode(name="CAPABILITY",
                            values=tuple(Atom(c) for c in self.capabilities()))

    # -- the loop ----------------------------------------------------------------------------

    def shutdown(self, text: str, code: str | None = None, *, mid_command: bool = False) -> None:
        """End the session now with ``* BYE`` if it is waiting for the
        client (between commands or in IDLE; with ``mid_command`` also in
        the middle of one, as the autologout does); a busy one ends after
        its command (the loop checks ``server.closing``)."""
        if not mid_command and self.conn.receiving:
            return  # e.g. an APPEND's literal is on its way: let it complete
        if self.waiting and self.conn.state is not State.LOGOUT:
            self.waiting = False
            with contextlib.suppress(Exception):
                self.writer.write(self.conn.send(StatusResponse(
                    status="BYE", text=text, code=ResponseCode(name=code) if code else None)))
            # The read in progress sees EOF and the loop ends normally.
            # (Closing a TLS transport waits for the client's close_notify,
            # which a client that is not reading never sends: end the read
            # ourselves rather than wait for the transport.)
            self.writer.close()
            self.reader.feed_eof()

    @property
    def evictable(self) -> bool:
        """Waiting for the client before logging in (mid-line or mid-SASL
        too: nothing is under way before a login)."""
        return self.waiting and self.session.authenticated is None

    def evict(self) -> None:
        """Close this session to make room for a new one (the server is full)."""
        self.shutdown("Too many connections; closing idle ones", "UNAVAILABLE",
                      mid_command=True)

    def _timeout(self) -> float:
        return (self.config.idle_timeout if self.session.authenticated is not None
                else self.config.login_timeout)

    def _watch(self) -> None:
        """The autologout timer: one per session, checked when it fires,
        rather than a timeout around every read (reads are many)."""
        timeout = self._timeout()
        now = self.loop.time()
        if self.waiting and now - self.idle_since >= timeout:
            self.shutdown("Autologout; idle for too long", mid_command=True)
            return
        due = (self.idle_since if self.waiting else now) + timeout
        if self.session.authenticated is None:
            login_due = self.connected_at + self.config.login_timeout
            if self.waiting and now >= login_due:
                self.shutdown("Autologout; took too long to log in", mid_command=True)
                return
            # Busy (a login being checked): look again in a moment.
            due = min(due, login_due if login_due > now else now + 1.0)
        self.watchdog = self.loop.call_at(due, self._watch)

    def _quickack(self) -> None:
        """ACK the literal we just invited at once. Clients such as imaplib
        write a literal and the CRLF after it in two sends; with Nagle's
        algorithm the CRLF waits for the ACK of the literal, which Linux
        delays by up to 40 ms: every APPEND would take 40 ms more."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None and _TCP_QUICKACK is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)

    def _reading(self) -> None:
        self.waiting, self.idle_since = True, self.loop.time()

    async def _read(self) -> None:
        if self.quickack:
            self.quickack = False
            self._quickack()
        self._reading()
        try:
            data = await self.reader.read(_READ_SIZE)
        finally:
            self.waiting = False
        self.conn.receive_data(data)

    async def run(self) -> None:
        try:
            refusal = await self.handler.on_connect(self.session)
            if refusal is not None:
                self.say(StatusResponse(status="BYE", text=refusal))
                return
            self.say(StatusResponse(status="OK", code=self._capability_code(),
                                    text=f"{self.config.hostname} mimekit IMAP4rev1 ready"))
            self.watchdog = self.loop.call_later(self._timeout(), self._watch)
            while True:
                event = self.conn.next_event()
                if event is NEED_DATA:
                    if self.server.closing:
                        raise Closing("Server shutting down", "UNAVAILABLE")
                    await self.flush()
                    await self._read()
                    continue
                if event is PAUSED:
                    await self._start_tls()
                    continue
                assert isinstance(event, Event)
                if isinstance(event, ConnectionClosed):
                    return
                await self._dispatch(event)
        except Closing as exc:
            if exc.text and self.conn.state is not State.LOGOUT:
                with contextlib.suppress(Exception):
                    self.say(StatusResponse(status="BYE", text=exc.text, code=ResponseCode(
                        name=exc.code) if exc.code else None))
        finally:
            if self.watchdog is not None:
                self.watchdog.cancel()
            with contextlib.suppress(Exception):
                await self.flush()
            self.leave()
            if self.counted_user is not None:
                self.server.session_end(self.counted_user)
                self.counted_user = None
            with contextlib.suppress(Exception):
                await self.handler.on_disconnect(self.session)

    async def _start_tls(self) -> None:
        # The core pauses after STARTTLS's OK (and dropped any plaintext
        # pipelined after the command): flush the OK, then shake hands.
        assert self.conn.tls_pending, "paused without a response due"
        await self.flush()
        ctx = self.config.ssl_context
        assert ctx is not None
        async with asyncio.timeout(self.config.login_timeout):
            await self.writer.start_tls(ctx)
        self.conn.tls_established()
        self.session.tls = True

    async def _dispatch(self, event: Event) -> None:
        if isinstance(event, InvalidCommand):
            self.errors += 1
            if self.errors > self.config.max_errors:
                raise Closing("Too many invalid commands")
            self.say(event.response)
            return
        if isinstance(event, LiteralAnnounced):
            decision = self.literal_decision(event)
            self.say(decision)
            if isinstance(decision, ContinuationRequest):
                self.quickack = True
            return
        command = self.conn.due if isinstance(event, AuthenticateData) else event
        assert isinstance(command, Command)
        try:
            if isinstance(event, AuthenticateData):
                response: Response = await self._auth_data(command, event)
            else:
                response = await _COMMANDS[type(command)](self, command)
        except (Closing, ConnectionError, ssl.SSLError, TimeoutError):
            raise
        except Exception:
            log.exception("%s failed", command.name)
            response = self.no(command, "Internal error; try again later", "SERVERBUG")
        if isinstance(response, StatusResponse) and response.tag is not None:
            fetch_like = isinstance(command, Fetch | Store | Search | Sort) and not command.uid
            try:
                await self.send_updates(allow_expunge=not fetch_like)
            except Closing:
                raise
            except Exception:
                log.exception("updates after %s failed", command.name)
            self.session.commands += 1
        self.say(response)
        if self.server.closing and self.conn.state is not State.LOGOUT and \
                not isinstance(response, ContinuationRequest):
            raise Closing("Server shutting down", "UNAVAILABLE")

    # -- any state (RFC 3501 6.1; RFC 2971, 2342, 5161) ------------------------------------

    async def cmd_capability(self, command: Capability) -> StatusResponse:
        self.say(CapabilityResponse(capabilities=tuple(self.capabilities())))
        return self.ok(command, "CAPABILITY completed")

    async def cmd_noop(self, command: Noop | Check) -> StatusResponse:
        return self.ok(command, f"{command.name} completed")

    async def cmd_logout(self, command: Logout) -> StatusResponse:
        self.say(StatusResponse(status="BYE", text="Logging out"))
        self.say(self.ok(command, "LOGOUT completed"))
        raise Closing()

    async def cmd_id(self, command: Id) -> StatusResponse:
        self.session.client_id = command.params
        self.say(IdResponse(params={"name": "mimekit", "version": __version__}))
        return self.ok(command, "ID completed")

    async def cmd_namespace(self, command: Namespace) -> StatusResponse:
        self.say(NamespaceResponse(personal=(("", "/"),)))
        return self.ok(command, "NAMESPACE completed")

    async def cmd_enable(self, command: Enable) -> StatusResponse:
        # Nothing here needs enabling (no CONDSTORE, QRESYNC or UTF8=ACCEPT):
        # RFC 5161 3.1 answers with an empty ENABLED.
        self.say(EnabledResponse(capabilities=()))
        return self.ok(command, "ENABLE completed")

    # -- not authenticated (RFC 3501 6.2) -----------------------------------------------------

    async def cmd_starttls(self, command: StartTLS) -> StatusResponse:
        if self.config.ssl_context is None:
            return self.no(command, "TLS is not available")
        if self.session.tls:
            return self.bad(command, "TLS is already active")
        return self.ok(command, "Begin TLS negotiation now")

    _NO_PLAINTEXT = ("Plaintext authentication is disallowed on non-secure connections; "
                     "use STARTTLS first")

    async def cmd_login(self, command: Login) -> StatusResponse:
        if not self.plaintext_ok():
            return self.no(command, self._NO_PLAINTEXT, "PRIVACYREQUIRED")
        ok = await self.handler.on_auth(self.session, "LOGIN", command.user, command.password)
        if not ok:
            return await self._failed(command, command.user, "LOGIN")
        return await self._login(command, command.user, "LOGIN")

    async def cmd_authenticate(self, command: Authenticate) -> Response:
        mechanism = command.mechanism.upper()
        if mechanism not in self.mechanisms():
            return self.no(command, f"Unsupported authentication mechanism {mechanism}",
                           "CANNOT")
        if not self.plaintext_ok():
            return self.no(command, self._NO_PLAINTEXT, "PRIVACYREQUIRED")
        self.sasl = server_mechanism(mechanism)
        initial = command.initial_response
        # RFC 4959: "=" is an empty initial response; take it as none, so
        # the mechanism asks with an empty challenge.
        return await self._sasl_step(command, None if initial == "=" else initial)

    async def _auth_data(self, command: Command, event: AuthenticateData) -> Response:
        if event.cancelled or self.sasl is None:
            self.sasl = None
            return self.bad(command, "AUTHENTICATE cancelled")
        return await self._sasl_step(command, event.data)

    async def _sasl_step(self, command: Command, data: str | None) -> Response:
        sasl = self.sasl
        assert sasl is not None
        result = sasl.step(data)
        if isinstance(result, Challenge):
            return ContinuationRequest(text=result.challenge or "")
        self.sasl = None
        if not isinstance(result, Credentials):
            return self.bad(command, result.error or "Authentication failed")
        assert result.username is not None and result.password is not None
        if result.authzid and result.authzid != result.username:
            # Acting as another user is not supported.
            return await self._failed(command, result.username, sasl.mechanism)
        ok = await self.handler.on_auth(self.session, sasl.mechanism, result.username,
                                        result.password)
        if not ok:
            return await self._failed(command, result.username, sasl.mechanism)
        return await self._login(command, result.username, sasl.mechanism)

    async def _failed(self, command: Command, user: str | None,
                      mechanism: str) -> StatusResponse:
        self.auth_failures += 1
        await asyncio.sleep(self.server.guard.failed_login(
            self.session.peer[0], service="imap", user=user, mechanism=mechanism))
        refusal = self.no(command, "Authentication failed", "AUTHENTICATIONFAILED")
        if self.auth_failures >= self.config.max_auth_failures:
            self.say(refusal)
            raise Closing("Too many failed logins")
        return refusal

    async def _login(self, command: Command, user: str, mechanism: str) -> StatusResponse:
        """The credentials are good: open the user's store."""
        name = user.lower()
        if not self.server.session_start(name):
            return self.no(command, "Too many sessions for this user", "LIMIT")
        try:
            store = await self.handler.open_store(self.session, name)
        except OSError as exc:
            log.warning("cannot open the mail store of %s: %s", name, exc)
            store = None
        if store is None:
            self.server.session_end(name)
            return self.no(command, "Cannot open the mail store", "UNAVAILABLE")
        self.counted_user = name
        self.store = store
        self.session.authenticated = name
        self.session.mechanism = mechanism
        self.server.guard.logged_in(self.session.peer[0], service="imap", user=name,
                                    mechanism=mechanism)
        return self.ok(command, "Logged in", self._capability_code())

    # -- IDLE (RFC 2177) -------------------------------------------------------------------------

    async def cmd_idle(self, command: Idle) -> Response:
        self.say(ContinuationRequest(text="idling"))
        self.wake.clear()
        await self.send_updates()
        await self.flush()
        read: asyncio.Task[bytes] | None = None
        try:
            while True:
                event = self.conn.next_event()
                if event is NEED_DATA:
                    if self.server.closing:
                        raise Closing("Server shutting down", "UNAVAILABLE")
                    if read is None:
                        self._reading()
                        read = asyncio.ensure_future(self.reader.read(_READ_SIZE))
                    woken = asyncio.ensure_future(self.wake.wait())
                    done, _ = await asyncio.wait(
                        (read, woken), timeout=self.config.idle_poll,
                        return_when=asyncio.FIRST_COMPLETED)
                    woken.cancel()
                    if read in done:
                        self.waiting = False
                        data, read = read.result(), None
                        self.conn.receive_data(data)
                        continue
                    # Woken by a change, or time to look at the disk.
                    self.wake.clear()
                    await self.send_updates()
                    await self.flush()
                    continue
                if isinstance(event, IdleDone):
                    return self.ok(command, "IDLE terminated")
                if isinstance(event, InvalidCommand):
                    return event.response
                if isinstance(event, ConnectionClosed):
                    raise Closing()
                raise AssertionError(f"unexpected event in IDLE: {event!r}")
        finally:
            self.waiting = False
            if read is not None:
                read.cancel()


_Handler = Callable[[ServerSession, Any], Awaitable[Response]]

_COMMANDS: dict[type[Command], _Handler] = {
    Capability: ServerSession.cmd_capability, Noop: ServerSession.cmd_noop,
    Logout: ServerSession.cmd_logout, Id: ServerSession.cmd_id,
    Namespace: ServerSession.cmd_namespace, Enable: ServerSession.cmd_enable,
    StartTLS: ServerSession.cmd_starttls, Login: ServerSession.cmd_login,
    Authenticate: ServerSession.cmd_authenticate, Idle: ServerSession.cmd_idle,
    Select: ServerSession.cmd_select, Examine: ServerSession.cmd_select,
    Create: ServerSession.cmd_create, Delete: ServerSession.cmd_delete,
    Rename: ServerSession.cmd_rename, Subscribe: ServerSession.cmd_subscribe,
    Unsubscribe: ServerSession.cmd_subscribe, List: ServerSession.cmd_list,
    Lsub: ServerSession.cmd_list, Status: ServerSession.cmd_status,
    Append: ServerSession.cmd_append, Check: ServerSession.cmd_check,
    Close: ServerSession.cmd_close, Unselect: ServerSession.cmd_close,
    Expunge: ServerSession.cmd_expunge, Search: ServerSession.cmd_search,
    Sort: ServerSession.cmd_sort,
    Fetch: ServerSession.cmd_fetch, Store: ServerSession.cmd_store,
    Copy: ServerSession.cmd_copy, Move: ServerSession.cmd_copy,
}
