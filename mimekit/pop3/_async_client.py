"""The asyncio POP3 client: streams around the shared logic.

The twin of :mod:`._client`: the same operations from :mod:`._client_logic`,
carried out with ``asyncio`` streams by
:class:`mimekit._client_driver.AsyncDriver`.
"""

from __future__ import annotations

import builtins
import os
from types import TracebackType
from typing import IO

from .._client_driver import AsyncDriver
from ..tree import Message, parse
from ._client_logic import DRIVER_SPEC, ClientBase, writer_for
from ._errors import POP3Error, POP3ServerDisconnected
from ._events import Event, Response

__all__ = ["AsyncPOP3Client"]


class AsyncPOP3Client(ClientBase, AsyncDriver[Event]):
    """An asyncio POP3 client: :class:`~._client.POP3Client`'s methods, awaited.

    ::

        async with AsyncPOP3Client("pop.example.com", tls="implicit") as c:
            await c.login("user", "password")
            for n, uid in await c.uidl():
                msg = await c.retrieve(n)

    The arguments, rules and errors are those of
    :class:`~._client.POP3Client`.
    """

    spec = DRIVER_SPEC

    # -- connection ---------------------------------------------------------------

    async def connect(self) -> str:
        """Connect, read the greeting, ask CAPA, and STLS if asked (see
        :meth:`POP3Client.connect`)."""
        if self._session is not None:
            raise POP3ServerDisconnected("already connected")
        self._broken = False
        reader, writer = await self._open_streams()
        self._reader, self._writer = reader, writer
        try:
            peer = writer.get_extra_info("peername")
            self._session = self._new_session(peer[0] if peer else None)
            greeting = await self._greet(self._live().greet())
            if self.tls_mode == "starttls":
                await self._run(self._live().starttls())
        except BaseException:
            await self.close()
            raise
        return greeting.text

    async def close(self) -> None:
        """Close the connection without QUIT (idempotent); see :meth:`POP3Client.close`."""
        await super().close()

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
