"""The asyncio POP3 client: streams around the shared logic.

The twin of :mod:`._client`: the same operations from :mod:`._client_logic`,
carried out with ``asyncio`` streams. Timeouts use ``asyncio.wait_for``;
STLS uses ``StreamWriter.start_tls`` (Python 3.11+).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import ssl
from collections.abc import Awaitable
from types import TracebackType
from typing import IO

from ..tree import Message, parse
from ._client_logic import READ, START_TLS, ClientBase, ClientSession, Step, T, writer_for
from ._connection import NEED_DATA
from ._errors import POP3Error, POP3ServerDisconnected, POP3TimeoutError
from ._events import ConnectionClosed, Event, Response

__all__ = ["AsyncPOP3Client"]

_RECV = 1 << 16


class AsyncPOP3Client(ClientBase):
    """An asyncio POP3 client: :class:`~._client.POP3Client`'s methods, awaited.

    ::

        async with AsyncPOP3Client("pop.example.com", tls="implicit") as c:
            await c.login("user", "password")
            for n, uid in await c.uidl():
                msg = await c.retrieve(n)

    The arguments, rules and errors are those of
    :class:`~._client.POP3Client`.
    """

    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None
    _broken = False

    async def _timed(self, awaitable: Awaitable[T], what: str) -> T:
        try:
            return await asyncio.wait_for(awaitable, self.timeout)
        except TimeoutError as exc:
            raise POP3TimeoutError(f"{what} {self.host}:{self.port}: no answer within "
                                   f"{self.timeout} s") from exc

    # -- connection ---------------------------------------------------------------

    async def connect(self) -> str:
        """Connect, read the greeting, ask CAPA, and STLS if asked (see
        :meth:`POP3Client.connect`)."""
        if self._session is not None:
            raise POP3ServerDisconnected("already connected")
        self._broken = False
        implicit = self.tls_mode == "implicit"
        try:
            reader, writer = await self._timed(asyncio.open_connection(
                self.host, self.port, ssl=self._context() if implicit else None,
                server_hostname=self.host if implicit else None), "connecting to")
        except (POP3TimeoutError, ssl.SSLError):
            raise  # both are OSErrors too, but say more as they are
        except OSError as exc:
            raise POP3ServerDisconnected(
                f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        self._reader, self._writer = reader, writer
        try:
            peer = writer.get_extra_info("peername")
            self._session = self._new_session(peer[0] if peer else None)
            greeting = await self._run(self._live().greet())
            if self.tls_mode == "starttls":
                await self._run(self._live().starttls())
        except BaseException:
            await self.close()
            raise
        return greeting.text

    async def close(self) -> None:
        """Close the connection without QUIT (idempotent); see :meth:`POP3Client.close`."""
        writer, self._writer, self._reader, self._session = self._writer, None, None, None
        if writer is not None:
            writer.close()
            # A TLS peer may never answer our close_notify: bounded wait.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 5 if self.timeout is None
                                       else min(self.timeout, 5))

    async def __aenter__(self) -> AsyncPOP3Client:
        if self._session is None:
            await self.connect()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            if self._session is not None:
                try:
                    await self.quit()
                except POP3Error:
                    if exc is None:
                        raise
        finally:
            await self.close()

    # -- moving bytes ---------------------------------------------------------------

    async def _run(self, step: Step[T]) -> T:
        """Carry out an operation's requests (see :mod:`._client_logic`)."""
        session = self._live()
        value: Event | None = None
        error: BaseException | None = None
        try:
            while True:
                try:
                    request = step.send(value) if error is None else step.throw(error)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                value, error = None, None
                try:
                    if request is READ:
                        value = await self._read_event(session)
                    elif request is START_TLS:
                        await self._start_tls()
                    else:
                        assert isinstance(request, bytes)
                        await self._write(request)
                except (POP3ServerDisconnected, POP3TimeoutError) as exc:
                    self._broken = True
                    error = exc
        except BaseException as exc:
            if self._session is session and not self._keeps_connection(session, exc):
                await self.close()
            raise
        finally:
            step.close()

    def _streams(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._broken:
            raise POP3ServerDisconnected("the connection is closed")
        return self._reader, self._writer

    async def _write(self, data: bytes) -> None:
        _, writer = self._streams()
        try:
            writer.write(data)
            await self._timed(writer.drain(), "sending to")
        except POP3TimeoutError:
            raise
        except OSError as exc:
            raise POP3ServerDisconnected(f"connection lost while sending: {exc}") from exc

    async def _read_event(self, session: ClientSession) -> Event:
        conn = session.conn
        while True:
            event = conn.next_event()
            if isinstance(event, ConnectionClosed):
                raise POP3ServerDisconnected("the server closed the connection")
            if isinstance(event, Event):
                return event
            assert event is NEED_DATA
            reader, _ = self._streams()
            try:
                data = await self._timed(reader.read(_RECV), "waiting for")
            except POP3TimeoutError:
                raise
            except OSError as exc:
                raise POP3ServerDisconnected(f"connection lost: {exc}") from exc
            conn.receive_data(data)

    async def _start_tls(self) -> None:
        _, writer = self._streams()
        await self._timed(writer.start_tls(self._context(), server_hostname=self.host),
                          "TLS handshake with")

    # -- commands -------------------------------------------------------------------

    async def starttls(self) -> None:
        """STLS now, then CAPA again."""
        await self._run(self._live().starttls())

    async def capabilities(self) -> dict[str, list[str]]:
        """CAPA; see :meth:`POP3Client.capabilities`."""
        return await self._run(self._live().capa())

    async def login(self, user: str, password: str, apop: bool = False, *,
                    mechanism: str | None = None) -> str:
        """Log in; see :meth:`POP3Client.login`."""
        return (await self._run(self._live().login(user, password, apop, mechanism))).text

    async def stat(self) -> tuple[int, int]:
        """STAT: ``(message count, total octets)``."""
        return await self._run(self._live().stat())

    async def list(self, msg: int | None = None) -> list[tuple[int, int]]:
        """LIST: ``[(n, octets)]``."""
        return await self._run(self._live().list(msg))

    async def uidl(self, msg: int | None = None) -> builtins.list[tuple[int, str]]:
        """UIDL: ``[(n, unique id)]``."""
        return await self._run(self._live().uidl(msg))

    async def retrieve_to(self, msg: int, file: IO[bytes] | str | os.PathLike[str]) -> int:
        """RETR into a binary file (or a new file at a path), in bounded memory."""
        with writer_for(file) as write:
            return await self._run(self._live().retrieve(msg, write))

    async def retrieve_bytes(self, msg: int) -> bytes:
        """RETR: the message's exact bytes."""
        buf = bytearray()
        await self._run(self._live().retrieve(msg, buf.extend))
        return bytes(buf)

    async def retrieve(self, msg: int) -> Message:
        """RETR, parsed: a :class:`~mimekit.Message`."""
        return parse(await self.retrieve_bytes(msg))

    async def top_bytes(self, msg: int, lines: int) -> bytes:
        """TOP: the header, the blank line and ``lines`` body lines."""
        buf = bytearray()
        await self._run(self._live().top(msg, lines, buf.extend))
        return bytes(buf)

    async def top(self, msg: int, lines: int = 0) -> Message:
        """TOP, parsed: a :class:`~mimekit.Message`."""
        return parse(await self.top_bytes(msg, lines))

    async def delete(self, msg: int) -> str:
        """DELE: mark for deletion (done at :meth:`quit`)."""
        return (await self._run(self._live().simple("DELE", msg))).text

    async def reset(self) -> str:
        """RSET: unmark every message marked for deletion."""
        return (await self._run(self._live().simple("RSET"))).text

    async def noop(self) -> str:
        """NOOP."""
        return (await self._run(self._live().simple("NOOP"))).text

    async def quit(self) -> Response | None:
        """QUIT, then close; see :meth:`POP3Client.quit`."""
        if self._session is None:
            return None
        try:
            return await self._run(self._live().quit())
        finally:
            await self.close()
