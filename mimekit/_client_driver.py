"""Moving bytes for the SMTP and POP3 clients, over sockets or asyncio streams.

Each client's decisions live in its package's ``_client_logic``: an
operation is a generator that yields *requests* (bytes to send,
:data:`READ`, :data:`START_TLS`) and is sent the protocol event that
answers a READ. Running those requests is the same job for both protocols,
so it lives here once: :class:`SyncDriver` over a blocking socket,
:class:`AsyncDriver` over asyncio streams. A client class mixes one in
after its ``ClientBase`` and names its errors and events in
:class:`DriverSpec`.

The rules both drivers keep: a timeout or a lost connection is thrown into
the operation (which may still report an error of its own) and no more I/O
happens on that connection; when an operation fails, the connection is
closed unless the client's ``_keeps_connection`` says it is still in a known
state (a refusal between commands).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Awaitable, Generator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["READ", "START_TLS", "AsyncDriver", "DriverSpec", "Op", "Request", "SyncDriver", "T",
           "explain_tls_mismatch"]


class Op:
    """A request an operation yields besides bytes (the SMTP, POP3 and IMAP
    clients share :data:`READ` and :data:`START_TLS`)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: Request: read the next event (a reply, a response) and send it in.
READ = Op("READ")
#: Request: start TLS on the connection (the server has agreed to it).
START_TLS = Op("START_TLS")

Request = bytes | Op
T = TypeVar("T")
E = TypeVar("E")

#: Bytes read at a time.
_RECV = 1 << 16


class _Connection(Protocol):
    def next_event(self) -> object: ...

    def receive_data(self, data: bytes) -> None: ...


class _Session(Protocol):
    @property
    def conn(self) -> _Connection: ...


@dataclass(frozen=True)
class DriverSpec:
    """What a driver needs to know of a protocol."""

    #: Raised for a lost connection (and for I/O on a closed one).
    disconnected: type[Exception]
    #: Raised when the server does not answer within the client's timeout.
    timed_out: type[Exception]
    #: The connection's event for "the server closed the connection".
    closed_event: type[Any]
    #: The connection's "give me more bytes" sentinel.
    need_data: object
    #: What a server's answer is called, for error texts ("reply", "response").
    answer: str


def explain_tls_mismatch(exc: BaseException, host: str, port: int, tls_mode: str | None,
                         timed_out: type[Exception]) -> None:
    """Note the likely cause on an error met before the greeting (Python
    shows notes under the message; the exception stays what it was).

    The commonest mistake is a TLS setting that does not fit the port: plain
    text to 465/993/995 waits for a greeting that never comes, TLS to
    25/587/110/143 reads the plain greeting as a broken TLS record.
    """
    if isinstance(exc, timed_out) and tls_mode != "implicit":
        exc.add_note(f"no greeting from {host}:{port}: if the server expects TLS from the "
                     "first byte there (as on ports 465, 993 and 995), connect with "
                     "tls='implicit'")
    elif isinstance(exc, ssl.SSLError) and tls_mode == "implicit" \
            and "WRONG_VERSION_NUMBER" in str(exc):
        exc.add_note(f"{host}:{port} did not answer in TLS: if the server starts in plain "
                     "text there (as on ports 25, 587, 110 and 143), connect with "
                     "tls='starttls' (or tls=None)")


class _DriverBase:
    """The attributes of a client's ``ClientBase`` the drivers use."""

    spec: DriverSpec
    host: str
    port: int
    timeout: float | None
    tls_mode: str | None
    _session: Any
    _broken = False

    def _context(self) -> ssl.SSLContext:
        raise NotImplementedError

    def _live(self) -> Any:
        raise NotImplementedError

    @staticmethod
    def _keeps_connection(session: Any, exc: BaseException) -> bool:
        raise NotImplementedError

    def _cannot_connect(self, exc: OSError) -> Exception:
        return self.spec.disconnected(f"cannot connect to {self.host}:{self.port}: {exc}")

    def _no_answer(self, what: str) -> Exception:
        return self.spec.timed_out(f"{what} {self.host}:{self.port}: no {self.spec.answer} "
                                   f"within {self.timeout} s")

    def _closed(self) -> Exception:
        return self.spec.disconnected("the connection is closed")

    def _explain_tls_mismatch(self, exc: BaseException) -> None:
        explain_tls_mismatch(exc, self.host, self.port, self.tls_mode, self.spec.timed_out)

    def _next_event(self, session: _Session) -> object:
        """The connection's next event, or :attr:`DriverSpec.need_data`;
        raises when the server closed the connection."""
        event = session.conn.next_event()
        if isinstance(event, self.spec.closed_event):
            raise self.spec.disconnected("the server closed the connection")
        return event


class SyncDriver(_DriverBase, Generic[E]):
    """Runs operations over a blocking socket."""

    _sock: socket.socket | None = None

    def _open_socket(self) -> socket.socket:
        """A connected socket (TLS from the first byte when ``tls="implicit"``),
        or the protocol's errors."""
        try:
            sock = socket.create_connection((self.host, self.port), self.timeout)
        except TimeoutError as exc:
            raise self._no_answer("connecting to") from exc
        except OSError as exc:
            raise self._cannot_connect(exc) from exc
        try:
            # Writes are already gathered (a pipelined batch, a command and
            # its data); Nagle would only hold a batch's tail for a delayed
            # ACK. asyncio sets the same option on its transports.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls_mode == "implicit":
                sock = self._context().wrap_socket(sock, server_hostname=self.host)
        except BaseException as exc:
            sock.close()
            self._explain_tls_mismatch(exc)
            raise
        return sock

    def _greet(self, step: Generator[Request, E | None, T]) -> T:
        """Run the greeting step, explaining a TLS mismatch if it fails."""
        try:
            return self._run(step)
        except BaseException as exc:
            self._explain_tls_mismatch(exc)
            raise

    def close(self) -> None:
        """Close the socket without QUIT (idempotent)."""
        sock, self._sock, self._session = self._sock, None, None
        if sock is not None:
            sock.close()

    def _run(self, step: Generator[Request, E | None, T]) -> T:
        """Carry out an operation's requests."""
        session = self._live()
        value: E | None = None
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
                except (self.spec.disconnected, self.spec.timed_out) as exc:
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
            raise self._closed()
        return self._sock

    def _write(self, data: bytes) -> None:
        sock = self._sock_or_raise()
        try:
            sock.sendall(data)
        except TimeoutError as exc:
            raise self._no_answer("sending to") from exc
        except OSError as exc:
            raise self.spec.disconnected(f"connection lost while sending: {exc}") from exc

    def _read_event(self, session: _Session) -> E:
        while True:
            event = self._next_event(session)
            if event is not self.spec.need_data:
                return event  # type: ignore[return-value]  # the protocol's event type
            sock = self._sock_or_raise()
            try:
                data = sock.recv(_RECV)
            except TimeoutError as exc:
                raise self._no_answer("waiting for") from exc
            except OSError as exc:
                raise self.spec.disconnected(f"connection lost: {exc}") from exc
            session.conn.receive_data(data)

    def _start_tls(self) -> None:
        sock = self._sock_or_raise()
        # The handshake runs under the socket's timeout; on failure the
        # SSLSocket closes the descriptor and the error propagates.
        self._sock = self._context().wrap_socket(sock, server_hostname=self.host)


class AsyncDriver(_DriverBase, Generic[E]):
    """Runs operations over asyncio streams; timeouts use ``asyncio.wait_for``
    and STARTTLS ``StreamWriter.start_tls`` (Python 3.11+)."""

    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None

    async def _timed(self, awaitable: Awaitable[T], what: str) -> T:
        try:
            return await asyncio.wait_for(awaitable, self.timeout)
        except TimeoutError as exc:
            raise self._no_answer(what) from exc

    async def _open_streams(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connected streams (TLS from the first byte when ``tls="implicit"``),
        or the protocol's errors."""
        implicit = self.tls_mode == "implicit"
        try:
            return await self._timed(asyncio.open_connection(
                self.host, self.port, ssl=self._context() if implicit else None,
                server_hostname=self.host if implicit else None), "connecting to")
        except (self.spec.timed_out, ssl.SSLError) as exc:
            self._explain_tls_mismatch(exc)
            raise  # both are OSErrors too, but say more as they are
        except OSError as exc:
            raise self._cannot_connect(exc) from exc

    async def _greet(self, step: Generator[Request, E | None, T]) -> T:
        """Run the greeting step, explaining a TLS mismatch if it fails."""
        try:
            return await self._run(step)
        except BaseException as exc:
            self._explain_tls_mismatch(exc)
            raise

    async def close(self) -> None:
        """Close the connection without QUIT (idempotent)."""
        writer, self._writer, self._reader, self._session = self._writer, None, None, None
        if writer is not None:
            writer.close()
            # A TLS peer may never answer our close_notify: bounded wait.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 5 if self.timeout is None
                                       else min(self.timeout, 5))

    async def _run(self, step: Generator[Request, E | None, T]) -> T:
        """Carry out an operation's requests."""
        session = self._live()
        value: E | None = None
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
                except (self.spec.disconnected, self.spec.timed_out) as exc:
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
            raise self._closed()
        return self._reader, self._writer

    async def _write(self, data: bytes) -> None:
        _, writer = self._streams()
        try:
            writer.write(data)
            await self._timed(writer.drain(), "sending to")
        except self.spec.timed_out:
            raise
        except OSError as exc:
            raise self.spec.disconnected(f"connection lost while sending: {exc}") from exc

    async def _read_event(self, session: _Session) -> E:
        while True:
            event = self._next_event(session)
            if event is not self.spec.need_data:
                return event  # type: ignore[return-value]  # the protocol's event type
            reader, _ = self._streams()
            try:
                data = await self._timed(reader.read(_RECV), "waiting for")
            except self.spec.timed_out:
                raise
            except OSError as exc:
                raise self.spec.disconnected(f"connection lost: {exc}") from exc
            session.conn.receive_data(data)

    async def _start_tls(self) -> None:
        _, writer = self._streams()
        await self._timed(writer.start_tls(self._context(), server_hostname=self.host),
                          "TLS handshake with")
