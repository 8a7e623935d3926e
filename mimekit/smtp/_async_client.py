"""The asyncio SMTP client: streams around the shared logic.

The twin of :mod:`._client`: the same operations from :mod:`._client_logic`,
carried out with ``asyncio`` streams by
:class:`mimekit._client_driver.AsyncDriver`.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

from .._client_driver import AsyncDriver
from ._client_logic import DRIVER_SPEC, ClientBase, SendResult, make_dsn
from ._errors import SMTPServerDisconnected
from ._events import Reply
from ._outgoing import DSN

__all__ = ["AsyncSMTPClient"]


class AsyncSMTPClient(ClientBase, AsyncDriver[Reply]):
    """An asyncio SMTP client: :class:`~._client.SMTPClient`'s methods, awaited.

    ::

        async with AsyncSMTPClient("smtp.example.com", tls="starttls") as c:
            await c.login("user", "password")
            result = await c.send(message)

    The arguments, rules and errors are those of
    :class:`~._client.SMTPClient`.
    """

    spec = DRIVER_SPEC

    # -- connection ---------------------------------------------------------------

    async def connect(self) -> Reply:
        """Connect, read the greeting, EHLO, and STARTTLS if asked (see
        :meth:`SMTPClient.connect`)."""
        if self._session is not None:
            raise SMTPServerDisconnected("already connected")
        self._broken = False
        reader, writer = await self._open_streams()
        self._reader, self._writer = reader, writer
        try:
            fqdn = ""
            if self.local_hostname is None:
                fqdn = await asyncio.get_running_loop().run_in_executor(None, socket.getfqdn)
            local = writer.get_extra_info("sockname")
            peer = writer.get_extra_info("peername")
            self._session = self._new_session(fqdn, local[0] if local else None,
                                              peer[0] if peer else None)
            reply = await self._greet(self._live().greet())
            if self.tls_mode == "starttls":
                reply = await self._run(self._live().starttls())
        except BaseException:
            await self.close()
            raise
        return reply

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
