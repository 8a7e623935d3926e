"""The synchronous POP3 client: blocking sockets around the shared logic.

This module only moves bytes (DESIGN.md convention 6): every decision is in
:mod:`._client_logic`, which :class:`~._async_client.AsyncPOP3Client` runs
too. Here: connect, write, read until the core has an event, wrap the socket
in TLS, and turn socket errors into POP3 errors.
"""

from __future__ import annotations

import builtins
import os
import socket
from types import TracebackType
from typing import IO

from ..tree import Message, parse
from ._client_logic import READ, START_TLS, ClientBase, ClientSession, Step, T, writer_for
from ._connection import NEED_DATA
from ._errors import POP3Error, POP3ServerDisconnected, POP3TimeoutError
from ._events import ConnectionClosed, Event, Response

__all__ = ["POP3Client"]

_RECV = 1 << 16


class POP3Client(ClientBase):
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

    _sock: socket.socket | None = None
    _broken = False

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
        try:
            sock = socket.create_connection((self.host, self.port), self.timeout)
        except TimeoutError as exc:
            raise POP3TimeoutError(f"connecting to {self.host}:{self.port} timed out") from exc
        except OSError as exc:
            raise POP3ServerDisconnected(
                f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        try:
            # Commands are single small writes; Nagle would only delay them.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls_mode == "implicit":
                sock = self._context().wrap_socket(sock, server_hostname=self.host)
            self._session = self._new_session(sock.getpeername()[0])
            self._sock = sock
            greeting = self._run(self._live().greet())
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
        sock, self._sock, self._session = self._sock, None, None
        if sock is not None:
            sock.close()

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

    # -- moving bytes ---------------------------------------------------------------

    def _run(self, step: Step[T]) -> T:
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
                        value = self._read_event(session)
                    elif request is START_TLS:
                        self._start_tls()
                    else:
                        assert isinstance(request, bytes)
                        self._write(request)
                except (POP3ServerDisconnected, POP3TimeoutError) as exc:
                    # Thrown into the operation; no more I/O on this socket.
                    self._broken = True
                    error = exc
        except BaseException as exc:
            if self._session is session and not self._keeps_connection(session, exc):
                self.close()
            raise
        finally:
            step.close()

    def _sock_or_raise(self) -> socket.socket:
        if self._sock is None or self._broken:
            raise POP3ServerDisconnected("the connection is closed")
        return self._sock

    def _write(self, data: bytes) -> None:
        sock = self._sock_or_raise()
        try:
            sock.sendall(data)
        except TimeoutError as exc:
            raise POP3TimeoutError(f"sending to {self.host} timed out") from exc
        except OSError as exc:
            raise POP3ServerDisconnected(f"connection lost while sending: {exc}") from exc

    def _read_event(self, session: ClientSession) -> Event:
        conn = session.conn
        while True:
            event = conn.next_event()
            if isinstance(event, ConnectionClosed):
                raise POP3ServerDisconnected("the server closed the connection")
            if isinstance(event, Event):
                return event
            assert event is NEED_DATA
            sock = self._sock_or_raise()
            try:
                data = sock.recv(_RECV)
            except TimeoutError as exc:
                raise POP3TimeoutError(
                    f"no response from {self.host} within {self.timeout} s") from exc
            except OSError as exc:
                raise POP3ServerDisconnected(f"connection lost: {exc}") from exc
            conn.receive_data(data)

    def _start_tls(self) -> None:
        sock = self._sock_or_raise()
        # The handshake runs under the socket's timeout; on failure the
        # SSLSocket closes the descriptor and the error propagates.
        self._sock = self._context().wrap_socket(sock, server_hostname=self.host)

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
