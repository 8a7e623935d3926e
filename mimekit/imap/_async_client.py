"""The asyncio IMAP client: streams around the shared logic.

The twin of :mod:`._client`: the same operations from :mod:`._client_logic`
and :mod:`._client_ops`, carried out with ``asyncio`` streams. Timeouts use
``asyncio.wait_for``; STARTTLS uses ``StreamWriter.start_tls`` (3.11+).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Iterable
from datetime import datetime
from types import TracebackType
from typing import Any

from .._client_driver import explain_tls_mismatch
from ..tree import Message, parse
from ._client_base import ClientBase, set_keepalive
from ._client_logic import READ, START_TLS, Deliver, Request, Step, T, Wait, is_loopback
from ._client_ops import IDLE_RENEW, StopIdle
from ._connection import NEED_DATA
from ._errors import IMAPDisconnected, IMAPError, IMAPTimeoutError
from ._responses import ConnectionClosed, Response, StatusResponse
from ._results import (
    AppendResult,
    CopyResult,
    FetchResult,
    MailboxInfo,
    Namespaces,
    SearchSummary,
    SelectInfo,
)

__all__ = ["AsyncIMAPClient"]

_RECV = 1 << 18


class _Result(Exception):
    """Carries an operation's result out of :meth:`AsyncIMAPClient._drive`
    (an async generator cannot return a value)."""

    def __init__(self, value: object) -> None:
        self.value = value


class AsyncIMAPClient(ClientBase):
    """An asyncio IMAP client: :class:`~._client.IMAPClient`'s methods, awaited.

    ::

        async with AsyncIMAPClient("imap.example.com", tls="implicit") as c:
            await c.login("user", "password")
            await c.select("INBOX")
            async for event in c.idle(timeout=300):
                ...

    The arguments, rules and errors are those of :class:`~._client.IMAPClient`.
    Stop an ``async for`` over :meth:`idle` with ``break`` inside
    ``contextlib.aclosing(c.idle())`` to end IDLE at once; otherwise the
    next command ends it first.
    """

    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None
    _active_idle: AsyncGenerator[Response, None] | None = None

    async def _timed(self, awaitable: Awaitable[T], what: str) -> T:
        try:
            return await asyncio.wait_for(awaitable, self.timeout)
        except TimeoutError as exc:
            raise IMAPTimeoutError(f"{what} {self.host}:{self.port}: no answer within "
                                   f"{self.timeout} s") from exc

    # -- connection -------------------------------------------------------------------

    async def connect(self) -> StatusResponse:
        """Connect, read the greeting, STARTTLS if asked (see :meth:`IMAPClient.connect`)."""
        if self._session is not None:
            raise IMAPDisconnected("already connected")
        self._broken = False
        implicit = self.tls_mode == "implicit"
        try:
            reader, writer = await self._timed(asyncio.open_connection(
                self.host, self.port, ssl=self._context() if implicit else None,
                server_hostname=self.host if implicit else None, limit=_RECV), "connecting to")
        except (IMAPTimeoutError, ssl.SSLError) as exc:
            explain_tls_mismatch(exc, self.host, self.port, self.tls_mode, IMAPTimeoutError)
            raise
        except OSError as exc:
            raise IMAPDisconnected(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        self._reader, self._writer = reader, writer
        greeted = False
        try:
            set_keepalive(writer.get_extra_info("socket"))
            peer = writer.get_extra_info("peername")
            self._session = self._new_session(is_loopback(peer[0] if peer else None))
            greeting = await self._run(self._live().greet())
            greeted = True
            if self.tls_mode == "starttls":
                await self._run(self._live().starttls())
        except BaseException as exc:
            await self.close()
            if not greeted:
                explain_tls_mismatch(exc, self.host, self.port, self.tls_mode, IMAPTimeoutError)
            raise
        return greeting

    async def close(self) -> None:
        """Close the connection without LOGOUT (idempotent)."""
        writer, self._writer, self._reader, self._session = self._writer, None, None, None
        if writer is not None:
            writer.close()
            # A TLS peer may never answer our close_notify: bounded wait.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 5 if self.timeout is None
                                       else min(self.timeout, 5))

    async def __aenter__(self) -> AsyncIMAPClient:
        if self._session is None:
            await self.connect()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            if self._session is not None:
                await self.logout()
        finally:
            await self.close()

    # -- moving bytes -----------------------------------------------------------------

    async def _perform(self, request: Request) -> Response | None:
        if request is READ:
            return await self._read_event(None)
        if isinstance(request, Wait):
            return await self._read_event(request.seconds)
        if request is START_TLS:
            _, writer = self._streams()
            await self._timed(writer.start_tls(self._context(), server_hostname=self.host),
                              "TLS handshake with")
            return None
        assert isinstance(request, bytes)
        await self._write(request)
        return None

    async def _drive(self, step: Step[T]) -> AsyncGenerator[Response, None]:
        """Carry out an operation's requests, yielding what it delivers; the
        result leaves as :class:`_Result`."""
        session = self._live()
        value: Response | None = None
        error: BaseException | None = None
        stopped = False
        try:
            while True:
                try:
                    request = step.send(value) if error is None else step.throw(error)
                except StopIteration as stop:
                    raise _Result(stop.value) from None
                value, error = None, None
                if isinstance(request, Deliver):
                    if stopped:
                        raise IMAPError("the operation delivered after being stopped")
                    try:
                        yield request.event
                    except GeneratorExit:
                        stopped = True
                        error = StopIdle()
                    continue
                try:
                    value = await self._perform(request)
                except (IMAPDisconnected, IMAPTimeoutError) as exc:
                    self._broken = True
                    error = exc
        except _Result:
            if stopped:
                return
            raise
        except BaseException as exc:
            if self._session is session and not self._keeps_connection(session, exc):
                await self.close()
            if stopped and isinstance(exc, IMAPError | OSError):
                return
            raise
        finally:
            step.close()

    async def _run(self, step: Step[T]) -> T:
        await self._finish_idle()
        driver = self._drive(step)
        try:
            await driver.__anext__()
        except _Result as result:
            return result.value  # type: ignore[return-value]
        await driver.aclose()
        raise IMAPError("this operation cannot deliver events")

    def _streams(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._broken:
            raise IMAPDisconnected("the connection is closed")
        return self._reader, self._writer

    async def _write(self, data: bytes) -> None:
        _, writer = self._streams()
        try:
            writer.write(data)
            await self._timed(writer.drain(), "sending to")
        except IMAPTimeoutError:
            raise
        except OSError as exc:
            raise IMAPDisconnected(f"connection lost while sending: {exc}") from exc

    async def _read_event(self, wait: float | None) -> Response | None:
        conn = self._live().conn
        while True:
            event = conn.next_event()
            if isinstance(event, ConnectionClosed):
                raise IMAPDisconnected("the server closed the connection")
            if event is not NEED_DATA:
                assert isinstance(event, Response)
                return event
            reader, _ = self._streams()
            try:
                if wait is None:
                    data = await self._timed(reader.read(_RECV), "waiting for")
                else:
                    try:
                        data = await asyncio.wait_for(reader.read(_RECV), max(wait, 0.001))
                    except TimeoutError:
                        return None
            except IMAPTimeoutError:
                raise
            except OSError as exc:
                raise IMAPDisconnected(f"connection lost: {exc}") from exc
            conn.receive_data(data)

    # -- session ----------------------------------------------------------------------

    async def capability(self) -> frozenset[str]:
        """CAPABILITY; see :meth:`IMAPClient.capability`."""
        return await self._run(self._live().capability())

    async def starttls(self) -> None:
        """STARTTLS now; see :meth:`IMAPClient.starttls`."""
        await self._run(self._live().starttls())

    async def login(self, user: str, password: str) -> StatusResponse:
        """LOGIN; see :meth:`IMAPClient.login`."""
        return await self._run(self._live().login(user, password))

    async def authenticate(self, mechanism: str, user: str, password: str | None = None, *,
                           token: str | None = None, authzid: str = "") -> StatusResponse:
        """AUTHENTICATE; see :meth:`IMAPClient.authenticate`."""
        return await self._run(self._live().authenticate(mechanism, user, password,
                                                         token=token, authzid=authzid))

    async def noop(self) -> list[Response]:
        """NOOP; see :meth:`IMAPClient.noop`."""
        return await self._run(self._live().noop())

    async def logout(self) -> None:
        """LOGOUT, then close; errors are not raised."""
        if self._session is None:
            return
        try:
            await self._run(self._live().logout())
        except Exception:
            pass
        finally:
            await self.close()

    async def namespace(self) -> Namespaces:
        """NAMESPACE; see :meth:`IMAPClient.namespace`."""
        return await self._run(self._live().namespace())

    async def id(self, params: dict[str, str | None] | None = None
                 ) -> dict[str, str | None] | None:
        """ID; see :meth:`IMAPClient.id`."""
        return await self._run(self._live().id(params))

    async def enable(self, *capabilities: str) -> frozenset[str]:
        """ENABLE; see :meth:`IMAPClient.enable`."""
        return await self._run(self._live().enable(capabilities))

    # -- mailboxes --------------------------------------------------------------------

    async def list_mailboxes(self, pattern: str = "*", reference: str = "", *,
                             subscribed: bool = False, special_use: bool = False
                             ) -> list[MailboxInfo]:
        """LIST; see :meth:`IMAPClient.list_mailboxes`."""
        return await self._run(self._live().list_mailboxes(
            pattern, reference, subscribed=subscribed, special_use=special_use))

    async def select(self, mailbox: str = "INBOX", readonly: bool = False) -> SelectInfo:
        """SELECT or EXAMINE; see :meth:`IMAPClient.select`."""
        return await self._run(self._live().select(mailbox, readonly))

    async def examine(self, mailbox: str = "INBOX") -> SelectInfo:
        """EXAMINE; see :meth:`IMAPClient.examine`."""
        return await self.select(mailbox, readonly=True)

    async def close_mailbox(self) -> None:
        """CLOSE; see :meth:`IMAPClient.close_mailbox`."""
        await self._run(self._live().close_mailbox())

    async def unselect(self) -> None:
        """UNSELECT; see :meth:`IMAPClient.unselect`."""
        await self._run(self._live().unselect())

    async def create(self, mailbox: str, special_use: str | None = None) -> None:
        """CREATE; see :meth:`IMAPClient.create`."""
        await self._run(self._live().create(mailbox, special_use))

    async def delete(self, mailbox: str) -> None:
        """DELETE."""
        await self._run(self._live().delete(mailbox))

    async def rename(self, mailbox: str, new_name: str) -> None:
        """RENAME."""
        await self._run(self._live().rename(mailbox, new_name))

    async def subscribe(self, mailbox: str) -> None:
        """SUBSCRIBE."""
        await self._run(self._live().subscribe(mailbox))

    async def unsubscribe(self, mailbox: str) -> None:
        """UNSUBSCRIBE."""
        await self._run(self._live().unsubscribe(mailbox))

    async def status(self, mailbox: str, items: Iterable[str] | None = None) -> dict[str, int]:
        """STATUS; see :meth:`IMAPClient.status`."""
        return await self._run(self._live().status(mailbox, items))

    # -- messages ---------------------------------------------------------------------

    async def search(self, criteria: object = None, charset: str | None = None,
                     **keys: object) -> list[int]:
        """UID SEARCH; see :meth:`IMAPClient.search`."""
        return await self._run(self._live().search(criteria, charset, **keys))

    async def search_summary(self, criteria: object = None, charset: str | None = None, *,
                             uids: bool = False, **keys: object) -> SearchSummary:
        """UID SEARCH for a summary; see :meth:`IMAPClient.search_summary`."""
        return await self._run(self._live().search_summary(criteria, charset, uids=uids,
                                                           **keys))

    async def sort(self, order: str | Iterable[str], criteria: object = None,
                   charset: str = "UTF-8", **keys: object) -> list[int]:
        """UID SORT (RFC 5256); see :meth:`IMAPClient.sort`."""
        return await self._run(self._live().sort(order, criteria, charset, **keys))

    async def fetch(self, uids: int | str | Iterable[int], items: str | Iterable[str]
                    ) -> dict[int, FetchResult]:
        """UID FETCH; see :meth:`IMAPClient.fetch`."""
        return await self._run(self._live().fetch(uids, items))

    async def fetch_bytes(self, uid: int) -> bytes:
        """The message as stored; see :meth:`IMAPClient.fetch_bytes`."""
        return await self._run(self._live().fetch_bytes(uid))

    async def fetch_message(self, uid: int) -> Message:
        """The message as a :class:`~mimekit.Message`."""
        return parse(await self.fetch_bytes(uid))

    async def append(self, mailbox: str, message: Any, flags: Iterable[str] = (),
                     date: datetime | None = None) -> AppendResult | None:
        """APPEND; see :meth:`IMAPClient.append`."""
        return await self._run(self._live().append(mailbox, message, flags, date))

    async def store(self, uids: int | str | Iterable[int], *,
                    add_flags: Iterable[str] | None = None,
                    remove_flags: Iterable[str] | None = None,
                    set_flags: Iterable[str] | None = None,
                    silent: bool = False) -> dict[int, tuple[str, ...]]:
        """UID STORE; see :meth:`IMAPClient.store`."""
        return await self._run(self._live().store(uids, add_flags=add_flags,
                                                  remove_flags=remove_flags,
                                                  set_flags=set_flags, silent=silent))

    async def copy(self, uids: int | str | Iterable[int], mailbox: str) -> CopyResult | None:
        """UID COPY; see :meth:`IMAPClient.copy`."""
        return await self._run(self._live().copy(uids, mailbox))

    async def move(self, uids: int | str | Iterable[int], mailbox: str) -> CopyResult | None:
        """UID MOVE (or the fallback); see :meth:`IMAPClient.move`."""
        return await self._run(self._live().move(uids, mailbox))

    async def expunge(self, uids: int | str | Iterable[int] | None = None) -> list[int]:
        """EXPUNGE or UID EXPUNGE; see :meth:`IMAPClient.expunge`."""
        return await self._run(self._live().expunge(uids))

    def idle(self, timeout: float | None = None, *, renew: float = IDLE_RENEW
             ) -> AsyncIterator[Response]:
        """IDLE as an async iterator; see :meth:`IMAPClient.idle`."""
        return self._idle(timeout, renew)

    async def _idle(self, timeout: float | None, renew: float) -> AsyncIterator[Response]:
        await self._finish_idle()
        driver = self._drive(self._live().idle(timeout, renew))
        self._active_idle = driver
        try:
            async for event in driver:
                yield event
        except _Result:
            return
        finally:
            if self._active_idle is driver:
                self._active_idle = None
            await driver.aclose()

    async def _finish_idle(self) -> None:
        """End an IDLE whose iterator was abandoned without ``aclose()``."""
        driver, self._active_idle = self._active_idle, None
        if driver is not None:
            await driver.aclose()
