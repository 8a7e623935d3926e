"""What the POP3 clients do, written once for the sync and the asyncio client.

Each operation (greeting and CAPA, STLS, login, STAT, RETR...) is a
generator over one :class:`~._connection.ClientConnection`. It yields I/O
requests and gets their results back:

* ``bytes``: write them (the result is None);
* :data:`READ`: read until the core has the next event (a status line, a
  continuation, a piece of content or the end of a multi-line response)
  and send it back; a closed connection is *thrown* into the generator as
  :class:`~._errors.POP3ServerDisconnected`, a timeout as
  :class:`~._errors.POP3TimeoutError`;
* :data:`START_TLS`: do the TLS handshake on the socket (after ``+OK`` to STLS).

:class:`~._client.POP3Client` and :class:`~._async_client.AsyncPOP3Client`
only carry these requests out, so the decisions (which login method, the
plaintext policy, error mapping) are the same in both by construction
(DESIGN.md convention 6).
"""

from __future__ import annotations

import builtins
import contextlib
import os
import ssl
from collections.abc import Callable, Generator, Iterator
from typing import IO

from .._client_driver import READ, START_TLS, DriverSpec, Request, T
from .._guard import is_loopback
from ..smtp._sasl import SaslClient, SASLError, client_mechanism
from ._connection import NEED_DATA, ClientConnection
from ._errors import (
    POP3AuthenticationError,
    POP3Error,
    POP3InUseError,
    POP3NotSupportedError,
    POP3ResponseError,
    POP3ServerDisconnected,
    POP3TimeoutError,
    RemoteProtocolError,
)
from ._events import (
    Apop,
    Auth,
    AuthResponse,
    Capa,
    Command,
    ConnectionClosed,
    Continuation,
    Dele,
    EndOfResponse,
    Event,
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
from ._states import State
from ._syntax import apop_digest, apop_timestamp, parse_capabilities

__all__ = ["DRIVER_SPEC", "READ", "START_TLS", "ClientBase", "ClientSession", "Step", "T",
           "is_loopback", "writer_for"]


#: An operation: yields requests, receives an Event (for READ) or None.
Step = Generator[Request, "Event | None", T]

#: The most a listing (CAPA, LIST, UIDL) may hold: these are kept in memory,
#: so a hostile server must not make them grow without bound.
MAX_LISTING = 64 * 1024 * 1024
#: More continuations than any mechanism we speak needs.
_MAX_SASL_ROUNDS = 8
#: RFC 5034 section 4: an AUTH line with its initial response must fit in
#: 255 octets; otherwise the response goes after an empty continuation.
_MAX_AUTH_COMMAND = 255
#: SASL mechanisms the client picks: over TLS (or loopback) PLAIN first, as
#: the issue asks, then LOGIN, then CRAM-MD5; in clear only CRAM-MD5, which
#: never puts the password on the wire.
_SECURE_ORDER = ("PLAIN", "LOGIN", "CRAM-MD5")
_CLEAR_ORDER = ("CRAM-MD5",)


def _error(response: Response, command: str, *, auth: bool = False) -> POP3ResponseError:
    if (response.code or "").upper() == "IN-USE":
        return POP3InUseError(response.text, response.code, command)
    if auth:
        return POP3AuthenticationError(response.text, response.code, command)
    return POP3ResponseError(response.text, response.code, command)


def _ints(text: str, what: str) -> tuple[int, int]:
    """The two numbers at the start of ``text`` (``"2 320"``; RFC 1939 allows
    more after them)."""
    words = text.split()
    if len(words) < 2 or not (words[0].isdigit() and words[1].isdigit()):
        raise RemoteProtocolError(f"malformed {what}: {text[:80]!r}")
    return int(words[0]), int(words[1])


def _num_and_word(text: str, what: str) -> tuple[int, str]:
    words = text.split()
    if len(words) < 2 or not words[0].isdigit():
        raise RemoteProtocolError(f"malformed {what}: {text[:80]!r}")
    return int(words[0]), words[1]


class ClientSession:
    """The client's state over one connection, and its operations as generators.

    Args:
        allow_insecure_auth: Allow USER/PASS and AUTH PLAIN/LOGIN without
            TLS even to a server that is not on loopback.
    """

    def __init__(self, *, allow_insecure_auth: bool = False) -> None:
        self.conn = ClientConnection()
        self.allow_insecure_auth = allow_insecure_auth
        #: The connection is encrypted (implicit TLS, or after STLS).
        self.tls = False
        #: The server is on a loopback address (set by the adapter).
        self.loopback = False
        #: The greeting (``+OK ...``).
        self.greeting: Response | None = None
        #: The APOP timestamp of the greeting, or None (no APOP offered).
        self.timestamp: str | None = None
        #: The last CAPA answer, ``{TAG: [params]}``.
        self.capabilities: dict[str, list[str]] = {}
        #: The server answered CAPA with +OK (None: not asked yet).
        self.capa_supported: bool | None = None
        #: The user we logged in as, or None.
        self.authenticated: str | None = None

    # -- helpers --------------------------------------------------------------

    def _response(self) -> Step[Response]:
        event = yield READ
        if not isinstance(event, Response):
            raise RemoteProtocolError(f"expected a status line, got {event!r}")
        return event

    def _status(self, command: Command) -> Step[Response]:
        """Send one command and read its status line."""
        yield self.conn.send(command)
        return (yield from self._response())

    def _ok(self, command: Command, verb: str) -> Step[Response]:
        """Send one command; raise on ``-ERR``."""
        response = yield from self._status(command)
        if not response.ok:
            raise _error(response, verb)
        return response

    def _content(self, sink: Callable[[bytes], object]) -> Step[int]:
        """Pass a multi-line response's content to ``sink``; return its size."""
        total = 0
        while True:
            event = yield READ
            if isinstance(event, EndOfResponse):
                return total
            if not isinstance(event, ResponseData):
                raise RemoteProtocolError(f"expected content, got {event!r}")
            total += len(event.data)
            sink(event.data)

    def _lines(self, what: str) -> Step[list[str]]:
        buf = bytearray()

        def keep(data: bytes) -> None:
            if len(buf) + len(data) > MAX_LISTING:
                raise RemoteProtocolError(f"{what} listing larger than {MAX_LISTING} octets")
            buf.extend(data)

        yield from self._content(keep)
        return bytes(buf).decode("utf-8", "replace").splitlines()

    def _require(self, state: State, what: str) -> None:
        conn = self.conn
        if conn.state is State.CLOSED:
            raise POP3ServerDisconnected("not connected")
        if conn.waiting or conn.in_response:
            raise POP3Error("a previous command is still waiting for its response")
        if conn.state is not state:
            hint = {State.AUTHORIZATION: "already logged in",
                    State.TRANSACTION: "log in first"}.get(state, "")
            raise POP3Error(f"{what} needs the {state.value.upper()} state "
                            f"(now {conn.state.value.upper()}){': ' + hint if hint else ''}")

    # -- session ----------------------------------------------------------------

    def greet(self) -> Step[Response]:
        """Read the greeting, then ask CAPA (RFC 2449)."""
        greeting = yield from self._response()
        if not greeting.ok:
            raise POP3ResponseError(greeting.text, greeting.code, "greeting")
        self.greeting = greeting
        self.timestamp = apop_timestamp(greeting.text)
        yield from self.capa()
        return greeting

    def capa(self) -> Step[dict[str, list[str]]]:
        """CAPA; a server without it (``-ERR``) gives an empty dict."""
        response = yield from self._status(Capa())
        if not response.ok:
            self.capabilities, self.capa_supported = {}, False
            return {}
        lines = yield from self._lines("CAPA")
        self.capabilities, self.capa_supported = parse_capabilities(lines), True
        return dict(self.capabilities)

    def starttls(self) -> Step[Response]:
        """STLS (RFC 2595), the handshake, and CAPA again: what was offered
        before TLS is forgotten (section 4) and asked anew."""
        if self.tls:
            raise POP3Error("TLS is already active")
        self._require(State.AUTHORIZATION, "STLS")
        if self.capa_supported and "STLS" not in self.capabilities:
            raise POP3NotSupportedError("the server does not offer STLS")
        response = yield from self._status(Stls())
        if not response.ok:
            raise POP3NotSupportedError(f"the server refused STLS: {response}")
        yield START_TLS
        self.conn.tls_established()
        self.tls = True
        yield from self.capa()
        return response

    def quit(self) -> Step[Response | None]:
        """QUIT. From TRANSACTION the server deletes the marked messages
        before it answers, so a ``-ERR`` is raised."""
        if self.conn.state is State.CLOSED:
            return None
        response = yield from self._status(Quit())
        if not response.ok:
            raise _error(response, "QUIT")
        return response

    # -- login ----------------------------------------------------------------------

    def login(self, user: str, password: str, apop: bool = False,
              mechanism: str | None = None) -> Step[Response]:
        """APOP, AUTH or USER/PASS; see :meth:`POP3Client.login` for the rules."""
        self._require(State.AUTHORIZATION, "login")
        secure = self.tls or self.loopback or self.allow_insecure_auth
        if apop:
            if self.timestamp is None:
                raise POP3NotSupportedError(
                    "the server does not offer APOP (no timestamp in its greeting)")
            digest = apop_digest(self.timestamp, password)
            response = yield from self._status(Apop(name=user, digest=digest))
            if not response.ok:
                raise _error(response, "APOP", auth=True)
        elif mechanism is not None or self._choose(secure) is not None:
            name = mechanism.upper() if mechanism else self._choose(secure)
            assert name is not None
            response = yield from self._sasl(user, password, name, secure)
        elif "USER" in self.capabilities or not self.capa_supported:
            if not secure:
                raise self._clear_text("USER/PASS")
            response = yield from self._status(User(name=user))
            if not response.ok:
                raise _error(response, "USER", auth=True)
            response = yield from self._status(Pass(password=password))
            if not response.ok:
                raise _error(response, "PASS", auth=True)
        else:
            offered = " ".join(self.capabilities.get("SASL", [])) or "nothing"
            hint = " before STLS (use tls='starttls')" if "STLS" in self.capabilities \
                and not self.tls else ""
            raise POP3NotSupportedError(
                f"no usable login method{hint}: the server offers SASL {offered}"
                + ("" if secure else " and the channel is not encrypted"))
        self.authenticated = user
        return response

    def _clear_text(self, method: str) -> POP3NotSupportedError:
        offered = "STLS" in self.capabilities
        return POP3NotSupportedError(
            f"{method} would send the password in clear text without TLS; use "
            + ("tls='starttls' (the server offers STLS)" if offered
               else "tls='starttls' or 'implicit'")
            + (", apop=True (the server offers APOP)" if self.timestamp else "")
            + ", or pass allow_insecure_auth=True")

    def _choose(self, secure: bool) -> str | None:
        offered = {m.upper() for m in self.capabilities.get("SASL", [])}
        for name in _SECURE_ORDER if secure else _CLEAR_ORDER:
            if name in offered:
                return name
        return None

    def _sasl(self, user: str, password: str, name: str, secure: bool) -> Step[Response]:
        """AUTH (RFC 5034) with one mechanism."""
        if self.capa_supported and name not in {
                m.upper() for m in self.capabilities.get("SASL", [])}:
            raise POP3NotSupportedError(f"the server does not offer SASL {name}")
        if name in ("PLAIN", "LOGIN") and not secure:
            raise self._clear_text(f"AUTH {name}")
        if name not in _SECURE_ORDER:
            raise POP3NotSupportedError(f"SASL mechanism {name!r} is not implemented "
                                        f"(use one of {', '.join(_SECURE_ORDER)})")
        mech: SaslClient = client_mechanism(name, user, password)
        initial = mech.initial_response()
        if initial is not None and len(f"AUTH {name} {initial}\r\n") > _MAX_AUTH_COMMAND:
            initial = None  # sent after the server's empty continuation instead
        yield self.conn.send(Auth(mechanism=name, initial_response=initial))
        event = yield READ
        rounds = 0
        while isinstance(event, Continuation):
            rounds += 1
            try:
                if rounds > _MAX_SASL_ROUNDS:
                    raise SASLError("too many challenges")
                answer = mech.respond(event.data or "=")
            except SASLError as exc:
                # RFC 5034 section 4: "*" cancels; the server answers -ERR.
                yield self.conn.send(AuthResponse(data="", cancelled=True))
                final = yield from self._response()
                raise POP3AuthenticationError(f"{exc} ({final.text})", final.code,
                                              f"AUTH {name}") from exc
            yield self.conn.send(AuthResponse(data=answer))
            event = yield READ
        if not isinstance(event, Response):
            raise RemoteProtocolError(f"expected a status line, got {event!r}")
        if not event.ok:
            raise _error(event, f"AUTH {name}", auth=True)
        return event

    # -- TRANSACTION -------------------------------------------------------------------

    def stat(self) -> Step[tuple[int, int]]:
        """STAT: ``(count, octets)``."""
        self._require(State.TRANSACTION, "STAT")
        response = yield from self._ok(Stat(), "STAT")
        return _ints(response.text, "STAT response")

    def list(self, msg: int | None = None) -> Step[list[tuple[int, int]]]:
        """LIST: ``[(n, octets)]``, one entry when ``msg`` is given."""
        self._require(State.TRANSACTION, "LIST")
        response = yield from self._ok(List(msg=msg), "LIST" if msg is None else f"LIST {msg}")
        if msg is not None:
            return [_ints(response.text, "scan listing")]
        return [_ints(line, "scan listing") for line in (yield from self._lines("LIST"))
                if line.strip()]

    def uidl(self, msg: int | None = None) -> Step[builtins.list[tuple[int, str]]]:
        """UIDL: ``[(n, unique id)]``, one entry when ``msg`` is given."""
        self._require(State.TRANSACTION, "UIDL")
        response = yield from self._ok(Uidl(msg=msg), "UIDL" if msg is None else f"UIDL {msg}")
        if msg is not None:
            return [_num_and_word(response.text, "unique-id listing")]
        return [_num_and_word(line, "unique-id listing")
                for line in (yield from self._lines("UIDL")) if line.strip()]

    def retrieve(self, msg: int, sink: Callable[[bytes], object]) -> Step[int]:
        """RETR: the content goes to ``sink`` piece by piece; returns its size."""
        self._require(State.TRANSACTION, "RETR")
        yield from self._ok(Retr(msg=msg), f"RETR {msg}")
        return (yield from self._content(sink))

    def top(self, msg: int, lines: int, sink: Callable[[bytes], object]) -> Step[int]:
        """TOP: the header and ``lines`` body lines go to ``sink``."""
        self._require(State.TRANSACTION, "TOP")
        yield from self._ok(Top(msg=msg, lines=lines), f"TOP {msg} {lines}")
        return (yield from self._content(sink))

    def simple(self, verb: str, msg: int | None = None) -> Step[Response]:
        """DELE, RSET or NOOP."""
        self._require(State.TRANSACTION, verb)
        if verb == "DELE":
            assert msg is not None
            return (yield from self._ok(Dele(msg=msg), f"DELE {msg}"))
        return (yield from self._ok(Rset() if verb == "RSET" else Noop(), verb))


# -- what both adapters share ---------------------------------------------------------------


@contextlib.contextmanager
def writer_for(target: IO[bytes] | str | os.PathLike[str]) -> Iterator[Callable[[bytes], object]]:
    """A ``write`` for ``retrieve_to``: the file's own, or a new file at a
    path (removed again when the retrieval fails, so no partial file stays)."""
    if not isinstance(target, str | os.PathLike):
        yield target.write
        return
    path = os.fspath(target)
    with open(path, "wb") as f:
        try:
            yield f.write
        except BaseException:
            f.close()
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise

_TLS_MODES = (None, "starttls", "implicit")
_DEFAULT_PORTS = {None: 110, "starttls": 110, "implicit": 995}


#: How :mod:`mimekit._client_driver` runs this protocol's operations.
DRIVER_SPEC = DriverSpec(disconnected=POP3ServerDisconnected, timed_out=POP3TimeoutError,
                         closed_event=ConnectionClosed, need_data=NEED_DATA, answer="response")


class ClientBase:
    """Configuration and state both client adapters share; see
    :class:`~._client.POP3Client` for the arguments."""

    def __init__(self, host: str = "localhost", port: int | None = None, *,
                 tls: str | None = None, ssl_context: ssl.SSLContext | None = None,
                 timeout: float | None = 30.0, allow_insecure_auth: bool = False) -> None:
        if tls not in _TLS_MODES:
            raise ValueError(f"tls must be None, 'starttls' or 'implicit', not {tls!r}")
        self.host = host
        self.port = _DEFAULT_PORTS[tls] if port is None else port
        self.tls_mode = tls
        self.timeout = timeout
        self.allow_insecure_auth = allow_insecure_auth
        self._ssl_context = ssl_context
        self._session: ClientSession | None = None

    def _context(self) -> ssl.SSLContext:
        # Certificates and host names are verified unless the caller passes
        # a context that does otherwise.
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _new_session(self, peer: str | None) -> ClientSession:
        session = ClientSession(allow_insecure_auth=self.allow_insecure_auth)
        session.tls = self.tls_mode == "implicit"
        session.loopback = is_loopback(peer)
        return session

    def _live(self) -> ClientSession:
        if self._session is None:
            raise POP3ServerDisconnected("not connected: call connect() or use 'with'")
        return self._session

    @staticmethod
    def _keeps_connection(session: ClientSession, exc: BaseException) -> bool:
        """After an exception, is the connection still usable? Only after a
        ``-ERR`` or a caller mistake caught before anything was sent: not in
        the middle of a response, nor after a timeout, a dropped connection
        or garbage from the server."""
        conn = session.conn
        return (conn.state is not State.CLOSED and not conn.waiting and not conn.in_response
                and isinstance(exc, POP3Error | ValueError)
                and not isinstance(exc, POP3ServerDisconnected | POP3TimeoutError
                                   | RemoteProtocolError))

    @property
    def connected(self) -> bool:
        """A connection is open."""
        return self._session is not None

    @property
    def tls(self) -> bool:
        """The connection is encrypted (implicit TLS, or after STLS)."""
        return self._session is not None and self._session.tls

    @property
    def authenticated(self) -> str | None:
        """The user we logged in as, or None."""
        return self._session.authenticated if self._session else None

    @property
    def greeting(self) -> str | None:
        """The server's greeting text, or None before connecting."""
        s = self._session
        return s.greeting.text if s and s.greeting else None

    @property
    def apop_offered(self) -> bool:
        """The greeting carries an APOP timestamp (RFC 1939 section 7)."""
        return self._session is not None and self._session.timestamp is not None
