"""The synchronous POP3 client: a blocking socket around the shared logic.

Every decision is in :mod:`._client_logic` (DESIGN.md convention 6), which
:class:`~._async_client.AsyncPOP3Client` runs too; moving the bytes is
:class:`mimekit._client_driver.SyncDriver`'s job. Here: the public methods,
and the connection's start (greeting, CAPA, STLS).
"""

from __future__ import annotations

import builtins
import os
from types import TracebackType
from typing import IO

from .._client_driver import SyncDriver
from ..tree import Message, parse
from ._client_logic import DRIVER_SPEC, ClientBase, writer_for
from ._errors import POP3Error, POP3ServerDisconnected
from ._events import Event, Response

__all__ = ["POP3Client"]


class POP3Client(ClientBase, SyncDriver[Event]):
    """A POP3 client over a blocking socket (RFC 1939, with CAPA, RESP-CODES,
    STLS and SASL: RFC 2449, 2595, 5034).

    ::

        with POP3Client("pop.example.com", tls="implicit") as c:
            c.login("user", "password")
            for n, uid in c.uidl():
                msg = c.retrieve(n)          # a mimekit.Message
                c.delete(n)                  # applied when the session QUITs

    Args:
        host: The server's name or address (also the name TLS verifies).
        port: Default 110, or 995 with ``tls="implicit"``.
        tls: None (plain), ``"starttls"`` (STLS, RFC 2595; refused if the
            server does not offer it) or ``"implicit"`` (TLS from the first
            byte, RFC 8314).
        ssl_context: The TLS context. By default
            ``ssl.create_default_context()``: certificates and host names
            are verified. To accept an unverified server, pass your own
            context with that turned off.
        timeout: Seconds for connecting and for each read or write; None
            waits forever. A timeout raises :class:`POP3TimeoutError` and
            closes the connection.
        allow_insecure_auth: Allow USER/PASS and AUTH PLAIN/LOGIN without
            TLS to a server that is not on loopback (the password would
            cross the network readable). Default: refused.

    Errors: a ``-ERR`` raises a :class:`POP3ResponseError` (subclasses
    :class:`POP3AuthenticationError` and :class:`POP3InUseError`) carrying
    the text and the RESP-CODE; a dropped connection
    :class:`POP3ServerDisconnected`; a certificate problem the
    :class:`ssl.SSLError` from :mod:`ssl`. After a timeout, a dropped
    connection or a protocol error the socket is closed; after a ``-ERR``
    it stays open and usable.
    """

    spec = DRIVER_SPEC

    # -- connection ---------------------------------------------------------------

    def connect(self) -> str:
        """Connect, read the greeting, ask CAPA, and STLS if asked.

        Returns:
            The greeting's text.

        Raises:
            POP3ServerDisconnected: the connection could not be made.
            POP3TimeoutError: no connection or response in time.
            POP3ResponseError: the server refused the session (``-ERR`` greeting).
            POP3NotSupportedError: ``tls="starttls"`` and no STLS offered.
            ssl.SSLError: the TLS handshake failed (a bad certificate...).
        """
        if self._session is not None:
            raise POP3ServerDisconnected("already connected")
        self._broken = False
        sock = self._open_socket()
        try:
            self._session = self._new_session(sock.getpeername()[0])
            self._sock = sock
            greeting = self._greet(self._live().greet())
            if self.tls_mode == "starttls":
                self._run(self._live().starttls())
        except BaseException:
            sock.close()
            self.close()
            raise
        return greeting.text

    def close(self) -> None:
        """Close the socket without QUIT (idempotent). Messages marked with
        :meth:`delete` are then *not* deleted (RFC 1939 section 6)."""
        super().close()

    def __enter__(self) -> POP3Client:
        if self._session is None:
            self.connect()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._session is not None:
                try:
                    self.quit()
                except POP3Error:
                    if exc is None:
                        raise  # the QUIT result matters (deletions): report it
        finally:
            self.close()

    # -- AUTHORIZATION --------------------------------------------------------------

    def starttls(self) -> None:
        """STLS now (when ``tls=None`` was given), then CAPA again."""
        self._run(self._live().starttls())

    def capabilities(self) -> dict[str, list[str]]:
        """CAPA (RFC 2449), asked now: ``{"TOP": [], "SASL": ["PLAIN"], ...}``;
        empty when the server does not know CAPA. The answer depends on the
        state (before or after login, before or after STLS)."""
        return self._run(self._live().capa())

    def login(self, user: str, password: str, apop: bool = False, *,
              mechanism: str | None = None) -> str:
        """Log in; the maildrop is then locked for this session.

        With ``apop=True``: APOP (RFC 1939 section 7), which needs the
        server's greeting timestamp (:attr:`apop_offered`) and does not send
        the password itself. Otherwise AUTH (RFC 5034) when CAPA lists a
        usable SASL mechanism (PLAIN, then LOGIN, then CRAM-MD5), else
        USER/PASS. PLAIN, LOGIN and USER/PASS put the password on the wire,
        so they are used only over TLS, to a loopback address, or with
        ``allow_insecure_auth=True``.

        Args:
            user: The user name.
            password: The password (the APOP shared secret with ``apop=True``).
            apop: Use APOP.
            mechanism: Force a SASL mechanism (``"PLAIN"``, ``"LOGIN"``,
                ``"CRAM-MD5"``).

        Returns:
            The server's ``+OK`` text.

        Raises:
            POP3NotSupportedError: no APOP, no usable method, or only methods
                that would send the password in clear.
            POP3AuthenticationError: the server refused the credentials.
            POP3InUseError: the credentials were right, but another session
                holds the maildrop (``[IN-USE]``).
        """
        return self._run(self._live().login(user, password, apop, mechanism)).text

    # -- TRANSACTION ---------------------------------------------------------------

    def stat(self) -> tuple[int, int]:
        """STAT: ``(message count, total octets)``, deleted messages excluded."""
        return self._run(self._live().stat())

    def list(self, msg: int | None = None) -> list[tuple[int, int]]:
        """LIST: ``[(n, octets)]`` for every message not deleted; with ``msg``,
        one entry. Octets are the size on the wire (CRLF line endings)."""
        return self._run(self._live().list(msg))

    def uidl(self, msg: int | None = None) -> builtins.list[tuple[int, str]]:
        """UIDL: ``[(n, unique id)]``; unique ids stay the same across sessions."""
        return self._run(self._live().uidl(msg))

    def retrieve_to(self, msg: int, file: IO[bytes] | str | os.PathLike[str]) -> int:
        """RETR into a binary file (or a new file at a path), in bounded
        memory; returns the number of octets written."""
        with writer_for(file) as write:
            return self._run(self._live().retrieve(msg, write))

    def retrieve_bytes(self, msg: int) -> bytes:
        """RETR: the message's exact bytes as sent (CRLF line endings,
        byte-stuffing undone)."""
        buf = bytearray()
        self._run(self._live().retrieve(msg, buf.extend))
        return bytes(buf)

    def retrieve(self, msg: int) -> Message:
        """RETR, parsed: a :class:`~mimekit.Message`."""
        return parse(self.retrieve_bytes(msg))

    def top_bytes(self, msg: int, lines: int) -> bytes:
        """TOP: the header, the blank line and the first ``lines`` body lines."""
        buf = bytearray()
        self._run(self._live().top(msg, lines, buf.extend))
        return bytes(buf)

    def top(self, msg: int, lines: int = 0) -> Message:
        """TOP, parsed: the header and ``lines`` body lines as a
        :class:`~mimekit.Message` (with defects if a multipart is cut short)."""
        return parse(self.top_bytes(msg, lines))

    def delete(self, msg: int) -> str:
        """DELE: mark for deletion; the server deletes at :meth:`quit` only."""
        return self._run(self._live().simple("DELE", msg)).text

    def reset(self) -> str:
        """RSET: unmark every message marked for deletion."""
        return self._run(self._live().simple("RSET")).text

    def noop(self) -> str:
        """NOOP (keeps the session alive)."""
        return self._run(self._live().simple("NOOP")).text

    def quit(self) -> Response | None:
        """QUIT, then close. After login the server now deletes the messages
        marked with :meth:`delete` (the UPDATE state) and says whether that
        worked; a ``-ERR`` raises :class:`POP3ResponseError`. Returns None
        when not connected."""
        if self._session is None:
            return None
        try:
            return self._run(self._live().quit())
        finally:
            self.close()
