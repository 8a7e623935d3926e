"""The synchronous SMTP client: a blocking socket around the shared logic.

Every decision is in :mod:`._client_logic` (DESIGN.md convention 6), which
:class:`~._async_client.AsyncSMTPClient` runs too; moving the bytes is
:class:`mimekit._client_driver.SyncDriver`'s job. Here: the public methods,
and the connection's start (greeting, EHLO, STARTTLS).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

from .._client_driver import SyncDriver
from ._client_logic import DRIVER_SPEC, ClientBase, SendResult, make_dsn
from ._errors import SMTPServerDisconnected
from ._events import Reply
from ._outgoing import DSN

__all__ = ["SMTPClient"]


class SMTPClient(ClientBase, SyncDriver[Reply]):
    """An SMTP client over a blocking socket (RFC 5321, with ESMTP extensions).

    ::

        with SMTPClient("smtp.example.com", tls="starttls") as c:
            c.login("user", "password")
            result = c.send(message)        # envelope from the headers; Bcc not transmitted

    Args:
        host: The server's name or address (also the name TLS verifies).
        port: Default 25, 587 with ``tls="starttls"``, 465 with ``"implicit"``.
        tls: None (plain), ``"starttls"`` (RFC 3207; refused if the server
            does not offer it) or ``"implicit"`` (TLS from the first byte,
            RFC 8314).
        ssl_context: The TLS context. By default
            ``ssl.create_default_context()``: certificates and host names
            are verified. To accept an unverified server, pass your own
            context with that turned off.
        timeout: Seconds for connecting and for each read or write; None
            waits forever. A timeout raises :class:`SMTPTimeoutError` and
            closes the connection.
        local_hostname: The EHLO name; default ``socket.getfqdn()``, or an
            address literal when that is not a dotted name.
        allow_insecure_auth: Allow PLAIN/LOGIN/XOAUTH2 without TLS to a
            server that is not on loopback (the password would cross the
            network readable). Default: refused.
        chunking: Use BDAT when the server offers CHUNKING (RFC 3030).

    Errors: a refusal raises an :class:`SMTPReplyError` subclass carrying the
    code, enhanced code and text; a dropped connection
    :class:`SMTPServerDisconnected`; a certificate problem the
    :class:`ssl.SSLError` from :mod:`ssl`. After a timeout, a dropped
    connection or a protocol error the socket is closed; after a refusal it
    stays open and usable (a failed transaction is reset with RSET).
    """

    spec = DRIVER_SPEC

    # -- connection ---------------------------------------------------------------

    def connect(self) -> Reply:
        """Connect, read the greeting, EHLO, and STARTTLS if asked.

        Returns:
            The reply to the (last) EHLO.

        Raises:
            SMTPServerDisconnected: the connection could not be made.
            SMTPTimeoutError: no connection or reply in time.
            SMTPReplyError: the server refused the session (greeting, EHLO).
            SMTPNotSupportedError: ``tls="starttls"`` and no STARTTLS offered.
            ssl.SSLError: the TLS handshake failed (a bad certificate...).
        """
        if self._session is not None:
            raise SMTPServerDisconnected("already connected")
        self._broken = False
        sock = self._open_socket()
        try:
            fqdn = socket.getfqdn() if self.local_hostname is None else ""
            self._session = self._new_session(fqdn, sock.getsockname()[0],
                                              sock.getpeername()[0])
            self._sock = sock
            reply = self._greet(self._live().greet())
            if self.tls_mode == "starttls":
                reply = self._run(self._live().starttls())
        except BaseException:
            sock.close()
            self.close()
            raise
        return reply

    def __enter__(self) -> SMTPClient:
        if self._session is None:
            self.connect()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._session is not None:
                self.quit()
        finally:
            self.close()

    # -- commands -------------------------------------------------------------------

    def ehlo(self) -> Reply:
        """EHLO again (HELO if refused); updates :attr:`extensions`."""
        return self._run(self._live().ehlo())

    def starttls(self) -> Reply:
        """STARTTLS now (when ``tls=None`` was given); returns the new EHLO reply."""
        return self._run(self._live().starttls())

    def login(self, user: str, password: str | None = None, mechanism: str | None = None, *,
              token: str | None = None, authzid: str = "") -> Reply:
        """Authenticate (RFC 4954) with the best mechanism offered.

        Preference: XOAUTH2 if ``token`` is given; else CRAM-MD5, PLAIN,
        LOGIN. PLAIN, LOGIN and XOAUTH2 are used only over TLS, to a
        loopback address, or with ``allow_insecure_auth=True``.

        Args:
            user: The user name.
            password: The password (all mechanisms but XOAUTH2).
            mechanism: Force a mechanism (``"PLAIN"``, ``"LOGIN"``,
                ``"CRAM-MD5"``, ``"XOAUTH2"``).
            token: An OAuth 2.0 access token (XOAUTH2).
            authzid: PLAIN only: the identity to act as (RFC 4616).

        Raises:
            SMTPNotSupportedError: no AUTH, or no acceptable mechanism.
            SMTPAuthenticationError: the server refused the credentials.
        """
        return self._run(self._live().login(user, password, mechanism=mechanism, token=token,
                                            authzid=authzid))

    def oauth2(self, user: str, token: str) -> Reply:
        """Authenticate with XOAUTH2 and an OAuth 2.0 access token."""
        return self.login(user, mechanism="XOAUTH2", token=token)

    def send(self, message: Any, sender: str | None = None,
             recipients: Iterable[Any] | str | None = None, *,
             mail_options: Mapping[str, str | None] | Iterable[str] | None = None,
             rcpt_options: Mapping[str, str | None] | Iterable[str] | None = None,
             dsn: DSN | Mapping[str, Any] | None = None) -> SendResult:
        """Send one message.

        The envelope comes from the headers unless given: the sender from
        Sender, else From; the recipients from To, Cc and Bcc (or the latest
        ``Resent-*`` block when present, RFC 5322 section 3.6.6). Bcc and
        Resent-Bcc fields are never transmitted: they are removed from the
        content, every other byte unchanged.

        PIPELINING is used when offered (MAIL, every RCPT and DATA in one
        write), BDAT when CHUNKING is offered; SIZE, SMTPUTF8 and
        ``BODY=8BITMIME`` are sent when offered or needed.

        Args:
            message: A :class:`~mimekit.Message` or the message's bytes.
            sender: The envelope sender (``""`` for the null path).
            recipients: The envelope recipients.
            mail_options: Extra MAIL parameters (``{"KEY": "value"}`` or
                ``["KEY=value"]``).
            rcpt_options: Extra parameters for every RCPT.
            dsn: :class:`DSN` options (or a mapping of its fields); sent
                only when the server offers DSN (``result.dsn`` says so).

        Returns:
            A :class:`SendResult`: accepted and refused recipients with
            their replies, and the final reply. Some recipients refused is
            not an error.

        Raises:
            ValueError: no sender or no recipients found.
            SMTPNotSupportedError: the message needs SMTPUTF8 or 8BITMIME
                and the server lacks it; :class:`SMTPSizeError` when it is
                over the server's SIZE. Nothing was sent.
            SMTPSenderRefused: MAIL refused.
            SMTPRecipientsRefused: every recipient refused.
            SMTPDataError: DATA, a BDAT chunk or the message refused.
        """
        return self._run(self._live().send(message, sender, recipients,
                                           mail_options=mail_options,
                                           rcpt_options=rcpt_options, dsn=make_dsn(dsn)))

    def noop(self) -> Reply:
        """NOOP (keeps the session alive; checks the server answers)."""
        return self._run(self._live().simple("NOOP"))

    def rset(self) -> Reply:
        """RSET: abort any mail transaction."""
        return self._run(self._live().simple("RSET"))

    def quit(self) -> Reply | None:
        """QUIT, then close. Returns the 221 reply (None if the connection
        was already gone; errors are not raised)."""
        if self._session is None:
            return None
        try:
            return self._run(self._live().quit())
        except Exception:
            return None
        finally:
            self.close()
