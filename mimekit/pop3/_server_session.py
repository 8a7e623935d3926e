"""One POP3 connection's loop, for :class:`~mimekit.pop3.POP3Server`:
reading commands through the core, answering them from the handler and the
locked maildrop, the autologout and login deadline, and making room when
the server is full (see the server module's docs)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import ssl
import time
from typing import Any

from .._guard import is_loopback
from ..smtp._sasl import Challenge, Credentials, SaslServer, server_mechanism, server_mechanisms
from ._connection import NEED_DATA, PAUSED, ServerConnection
from ._events import (
    Apop,
    Auth,
    AuthList,
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
from ._handler import Session
from ._maildrop import CHUNK, Entry, Maildrop, MaildropInUse, iter_top
from ._states import State

__all__ = ["ServerSession"]

log = logging.getLogger("mimekit.pop3.server")


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


class ServerSession:
    """One connection's loop."""

    def __init__(self, server: Any, reader: asyncio.StreamReader,
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
            # A client that stops reading is cut off like a silent one (and
            # before login, at the login deadline's pace).
            transport = self.writer.transport
            if transport.get_write_buffer_size() <= transport.get_write_buffer_limits()[0]:
                # At or below the low-water mark the transport is not paused
                # and drain() does not wait: spare the timer.
                await self.writer.drain()
                return
            c = self.config
            timeout = c.idle_timeout if self.session.authenticated else c.login_timeout
            try:
                async with asyncio.timeout(timeout):
                    await self.writer.drain()
            except TimeoutError:
                self.writer.transport.abort()
                raise ConnectionError("the client stopped reading") from None

    @property
    def evictable(self) -> bool:
        """Waiting for the client before logging in (USER given or a SASL
        exchange begun too: nothing is under way before a login)."""
        return (self.idle and self.session.authenticated is None
                and self.conn.state in (State.AUTHORIZATION, State.USER, State.SASL))

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
            # (Closing a TLS transport waits for the client's close_notify,
            # which a client that is not reading never sends: end the read
            # ourselves rather than wait for the transport.)
            self.writer.close()
            self.reader.feed_eof()

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
            mechanisms = self._offered_mechanisms()
            if mechanisms:
                caps.append("SASL " + " ".join(mechanisms))
            if self.config.ssl_context is not None and not self.session.tls:
                caps.append("STLS")
        caps.append("IMPLEMENTATION mimekit")
        return caps

    def _mechanisms(self) -> list[str]:
        return [m for m in self.config.auth_mechanisms if m in server_mechanisms()]

    def _offered_mechanisms(self) -> list[str]:
        """The mechanisms CAPA and a bare AUTH list: none where a password
        may not be sent yet (they would all be refused)."""
        return self._mechanisms() if self._plaintext_ok() else []

    async def _auth_list(self, event: AuthList) -> None:
        self._say(_ok("SASL mechanisms follow"))
        self._say(ResponseData(data="".join(m + "\r\n" for m in self._offered_mechanisms())
                               .encode()))
        self._say(EndOfResponse())

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


_S = ServerSession  # (short, for the table below)
_DISPATCH: dict[type[Event], Any] = {
    Capa: _S._capa, Stls: _S._stls, User: _S._user, Pass: _S._pass, Apop: _S._apop,
    Auth: _S._auth, AuthList: _S._auth_list, AuthResponse: _S._auth_response,
    Stat: _S._stat, List: _S._list,
    Uidl: _S._list, Retr: _S._retr, Top: _S._top, Dele: _S._dele, Rset: _S._rset,
    Noop: _S._noop, Quit: _S._quit,
}
