"""The asyncio SMTP client: streams around the shared logic.

The twin of :mod:`._client`: the same operations from :mod:`._client_logic`,
carried out with ``asyncio`` streams. Timeouts use ``asyncio.wait_for``;
STARTTLS uses ``StreamWriter.start_tls`` (Python 3.11+).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Awaitable, Iterable, Mapping
from types import TracebackType
from typing import Any

from ._client_logic import READ, START_TLS, ClientBase, ClientSession, SendResult, Step, T, make_dsn
from ._connection import NEED_DATA
from ._errors import SMTPServerDisconnected, SMTPTimeoutError
from ._events import ConnectionClosed, Reply
from ._outgoing import DSN

__all__ = ["AsyncSMTPClient"]

_RECV = 1 << 16


class AsyncSMTPClient(ClientBase):
    """An asyncio SMTP client: :class:`~._client.SMTPClient`'s methods, awaited.

    ::

        async with AsyncSMTPClient("smtp.example.com", tls="starttls") as c:
            await c.login("user", "password")
            result = await c.send(message)

    The arguments, rules and errors are those of
    :class:`~._client.SMTPClient`.
    """

    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None
    _broken = False

    async def _timed(self, awaitable: Awaitable[T], what: str) -> T:
        try:
            return await asyncio.wait_for(awaitable, self.timeout)
        except TimeoutError as exc:
            raise SMTPTimeoutError(f"{what} {self.host}:{self.port}: no answer within "
                                   f"{self.timeout} s") from exc

    # -- connection ---------------------------------------------------------------

    async def connect(self) -> Reply:
        """Connect, read the greeting, EHLO, and STARTTLS if asked (see
        :meth:`SMTPClient.connect`)."""
        if self._session is not None:
            raise SMTPServerDisconnected("already connected")
        self._broken = False
        implicit = self.tls_mode == "implicit"
        try:
            reader, writer = await self._timed(asyncio.open_connection(
                self.host, self.port, ssl=self._context() if implicit else None,
                server_hostname=self.host if implicit else None), "connecting to")
        except (SMTPTimeoutError, ssl.SSLError):
            raise  # both are OSErrors too, but say more as they are
        except OSError as exc:
            raise SMTPServerDisconnected(
                f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        self._reader, self._writer = reader, writer
        try:
            fqdn = ""
            if self.local_hostname is None:
                fqdn = await asyncio.get_running_loop().run_in_executor(None, socket.getfqdn)
            local = writer.get_extra_info("sockname")
            peer = writer.get_extra_info("peername")
            self._session = self._new_session(fqdn, local[0] if local else None,
                                              peer[0] if peer else None)
            reply = await self._run(self._live().greet())
            if self.tls_mode == "starttls":
                reply = await self._run(self._live().starttls())
        except BaseException:
            await self.close()
            raise
        return reply

    async def close(self) -> None:
        """Close the connection without QUIT (idempotent)."""
        writer, self._writer, self._reader, self._session = self._writer, None, None, None
        if writer is not None:
            writer.close()
            # A TLS peer may never answer our close_notify: bounded wait.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 5 if self.timeout is None
                                       else min(self.timeout, 5))

    async def __aenter__(self) -> AsyncSMTPClient:
        if self._session is None:
            await self.connect()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            if self._session is not None:
                await self.quit()
        finally:
            await self.close()

    # -- moving bytes ---------------------------------------------------------------

    async def _run(self, step: Step[T]) -> T:
        """Carry out an operation's requests (see :mod:`._client_logic`)."""
        session = self._live()
        value: Reply | None = None
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
                        value = await self._read_reply(session)
                    elif request is START_TLS:
                        await self._start_tls()
                    else:
                        assert isinstance(request, bytes)
                        await self._write(request)
                except (SMTPServerDisconnected, SMTPTimeoutError) as exc:
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
            raise SMTPServerDisconnected("the connection is closed")
        return self._reader, self._writer

    async def _write(self, data: bytes) -> None:
        _, writer = self._streams()
        try:
            writer.write(data)
            await self._timed(writer.drain(), "sending to")
        except SMTPTimeoutError:
            raise
        except OSError as exc:
            raise SMTPServerDisconnected(f"connection lost while sending: {exc}") from exc

    async def _read_reply(self, session: ClientSession) -> Reply:
        conn = session.conn
        while True:
            event = conn.next_event()
            if isinstance(event, Reply):
                return event
            if isinstance(event, ConnectionClosed):
                raise SMTPServerDisconnected("the server closed the connection")
            assert event is NEED_DATA
            reader, _ = self._streams()
            try:
                data = await self._timed(reader.read(_RECV), "waiting for")
            except SMTPTimeoutError:
                raise
            except OSError as exc:
                raise SMTPServerDisconnected(f"connection lost: {exc}") from exc
            conn.receive_data(data)

    async def _start_tls(self) -> None:
        _, writer = self._streams()
        await self._timed(writer.start_tls(self._context(), server_hostname=self.host),
                          "TLS handshake with")

    # -- commands -------------------------------------------------------------------

    async def ehlo(self) -> Reply:
        """EHLO again (HELO if refused); updates :attr:`extensions`."""
        return await self._run(self._live().ehlo())

    async def starttls(self) -> Reply:
        """STARTTLS now (when ``tls=None`` was given); returns the new EHLO reply."""
        return await self._run(self._live().starttls())

    async def login(self, user: str, password: str | None = None,
                    mechanism: str | None = None, *, token: str | None = None,
                    authzid: str = "") -> Reply:
        """Authenticate; see :meth:`SMTPClient.login`."""
        return await self._run(self._live().login(user, password, mechanism=mechanism,
                                                  token=token, authzid=authzid))

    async def oauth2(self, user: str, token: str) -> Reply:
        """Authenticate with XOAUTH2 and an OAuth 2.0 access token."""
        return await self.login(user, mechanism="XOAUTH2", token=token)

    async def send(self, message: Any, sender: str | None = None,
                   recipients: Iterable[Any] | str | None = None, *,
                   mail_options: Mapping[str, str | None] | Iterable[str] | None = None,
                   rcpt_options: Mapping[str, str | None] | Iterable[str] | None = None,
                   dsn: DSN | Mapping[str, Any] | None = None) -> SendResult:
        """Send one message; see :meth:`SMTPClient.send`."""
        return await self._run(self._live().send(message, sender, recipients,
                                                 mail_options=mail_options,
                                                 rcpt_options=rcpt_options,
                                                 dsn=make_dsn(dsn)))

    async def noop(self) -> Reply:
        """NOOP."""
        return await self._run(self._live().simple("NOOP"))

    async def rset(self) -> Reply:
        """RSET: abort any mail transaction."""
        return await self._run(self._live().simple("RSET"))

    async def quit(self) -> Reply | None:
        """QUIT, then close; see :meth:`SMTPClient.quit`."""
        if self._session is None:
            return None
        try:
            return await self._run(self._live().quit())
        except Exception:
            return None
        finally:
            await self.close()
