"""The sans-I/O POP3 core: bytes in, events out; events in, bytes out.

One state machine (:mod:`._states`) serves both roles. A
:class:`ServerConnection` turns received bytes into command events and the
responses it is given into bytes; a :class:`ClientConnection` does the
reverse. Neither touches a socket: the sync client, the asyncio client and
the asyncio server all drive these objects, and tests drive them with byte
lists (convention 6).

Server flow, one command at a time (a pipelining client, RFC 2449 section
6.6, may send several; they are answered in order)::

    conn = ServerConnection()
    sock.send(conn.send(Response(ok=True, text="POP3 ready")))
    while True:
        event = conn.next_event()
        if event is NEED_DATA: conn.receive_data(sock.recv(65536)); continue
        if event is PAUSED: ...  # a response is due: conn.send(Response(...))
        ...

A multi-line ``+OK`` (to CAPA, RETR, TOP, and LIST or UIDL without an
argument) is followed by any number of :class:`~._events.ResponseData` and
one :class:`~._events.EndOfResponse`; the core does the byte-stuffing.
"""

from __future__ import annotations

from collections import deque

from ._errors import LocalProtocolError, RemoteProtocolError
from ._events import (
    Apop,
    Auth,
    AuthList,
    AuthResponse,
    Capa,
    Command,
    ConnectionClosed,
    Continuation,
    Dele,
    EndOfResponse,
    Event,
    InvalidCommand,
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
from ._multiline import MultilineDecoder, MultilineEncoder
from ._states import ALLOWED, MULTILINE, TRANSITIONS, Kind, Outcome, State
from ._syntax import CommandSyntaxError, format_command, format_response, parse_command
from ._syntax import parse_response_line as _parse_status

__all__ = [
    "MAX_AUTH_LINE",
    "MAX_COMMAND_LINE",
    "MAX_RESPONSE_LINE",
    "NEED_DATA",
    "PAUSED",
    "ClientConnection",
    "ServerConnection",
    "is_multiline",
    "kind_of",
]


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: ``next_event()`` needs more bytes (call ``receive_data``).
NEED_DATA = _Sentinel("NEED_DATA")
#: ``next_event()`` waits for us to act (a response to send, or a TLS handshake).
PAUSED = _Sentinel("PAUSED")

NextEvent = Event | _Sentinel

_KIND_OF: dict[type[Command], Kind] = {
    User: Kind.USER, Pass: Kind.PASS, Apop: Kind.APOP, Auth: Kind.AUTH,
    AuthList: Kind.AUTH_LIST, AuthResponse: Kind.AUTH_RESPONSE, Stat: Kind.STAT,
    List: Kind.LIST, Retr: Kind.RETR,
    Dele: Kind.DELE, Noop: Kind.NOOP, Rset: Kind.RSET, Quit: Kind.QUIT, Top: Kind.TOP,
    Uidl: Kind.UIDL, Capa: Kind.CAPA, Stls: Kind.STLS,
}

#: A command line, CRLF included. RFC 2449 section 4 says 255; we take 512
#: (see the module docs of ``_syntax``).
MAX_COMMAND_LINE = 512
#: A client line in a SASL exchange (RFC 5034 lifts the limit for them;
#: bounded so a client cannot make us hold arbitrary data).
MAX_AUTH_LINE = 12288
#: The longest status line a client accepts. RFC 2449 says 512; real servers
#: send longer greetings and texts, so be generous but bounded. The content
#: of a multi-line response has no line limit: it is streamed.
MAX_RESPONSE_LINE = 8192


def kind_of(command: Command) -> Kind:
    """The table's kind for a command event."""
    try:
        return _KIND_OF[type(command)]
    except KeyError:
        raise LocalProtocolError(f"{command!r} is not a POP3 command") from None


def is_multiline(kind: Kind, command: Command | None) -> bool:
    """Whether a ``+OK`` to this command is multi-line (RFC 1939 section 3)."""
    if kind not in MULTILINE:
        return False
    return not (isinstance(command, List | Uidl) and command.msg is not None)


def _take_line(buffer: bytearray, limit: int) -> tuple[bytes | None, bool]:
    """Cut one line (without its line ending) off the buffer.

    Returns ``(line, too_long)``: ``(None, False)`` when no full line is there
    yet; ``(None, True)`` when more than ``limit`` octets came without a
    line ending. A bare LF is accepted as a line ending (leniently).
    """
    nl = buffer.find(b"\n", 0, limit)
    if nl < 0:
        return None, len(buffer) >= limit
    line = bytes(buffer[:nl])
    del buffer[:nl + 1]
    return (line[:-1] if line.endswith(b"\r") else line), False


def _outcome(event: Response | Continuation) -> Outcome:
    if isinstance(event, Continuation):
        return Outcome.MORE
    return Outcome.OK if event.ok else Outcome.ERR


def _continuation_bytes(event: Continuation) -> bytes:
    if any(c in event.data for c in "\r\n\x00") or not event.data.isascii():
        raise LocalProtocolError("a continuation carries base64 text only")
    return b"+ " + event.data.encode("ascii") + b"\r\n"


class ServerConnection:
    """The server side of one POP3 session."""

    def __init__(self) -> None:
        self.state = State.GREETING
        self._buffer = bytearray()
        self._eof = False
        #: The kind of the command whose response is due (the greeting first).
        self._due: Kind | None = Kind.GREETING
        self._due_command: Command | None = None
        self._due_invalid = False
        self._discarding = False
        self._body: MultilineEncoder | None = None
        #: Plaintext received after STLS and thrown away (CVE-2011-0411).
        self.discarded_after_stls = 0

    # -- input -----------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add received bytes; ``b""`` means the client closed the connection."""
        if data:
            self._buffer += data
        else:
            self._eof = True

    def next_event(self) -> NextEvent:
        """The next command, :data:`NEED_DATA`, :data:`PAUSED` or
        :class:`~._events.ConnectionClosed`.

        Bad commands become :class:`~._events.InvalidCommand` (with the
        ``-ERR`` to send); nothing on the receive path raises.
        """
        if self.state is State.CLOSED:
            return ConnectionClosed()
        if self._due is not None or self._due_invalid or self._body is not None \
                or self.state is State.TLS:
            return PAUSED
        return self._next_command()

    def _need_more(self) -> NextEvent:
        if self._eof:
            self.state = State.CLOSED
            return ConnectionClosed()
        return NEED_DATA

    def _next_command(self) -> NextEvent:
        in_sasl = self.state is State.SASL
        if self._discarding:
            # The rest of an over-long line (already answered): drop it.
            nl = self._buffer.find(b"\n")
            if nl < 0:
                self._buffer.clear()
                return self._need_more()
            del self._buffer[:nl + 1]
            self._discarding = False
        line, too_long = _take_line(self._buffer, MAX_AUTH_LINE if in_sasl else MAX_COMMAND_LINE)
        if too_long:
            # Answered now; the rest of the line is dropped on the next call.
            self._discarding = True
            if in_sasl:
                # The exchange cannot continue; the response ends it.
                self._due = Kind.AUTH_RESPONSE
                return AuthResponse(data="", cancelled=True)
            return self._invalid(b"", "line too long")
        if line is None:
            return self._need_more()
        if in_sasl:
            text = line.decode("ascii", "replace").strip()
            self._due = Kind.AUTH_RESPONSE
            return AuthResponse(data="" if text == "*" else text, cancelled=text == "*")
        try:
            command = parse_command(line)
        except CommandSyntaxError as exc:
            return self._invalid(line, str(exc))
        kind = kind_of(command)
        if (self.state, kind) not in ALLOWED:
            verb = kind.value.split("-")[0]  # AUTH-LIST is a bare AUTH
            return self._invalid(line, f"{verb} is not valid in the "
                                 f"{self.state.value.upper()} state")
        self._due = kind
        self._due_command = command
        # QUIT in TRANSACTION enters UPDATE now, before its response.
        self.state = TRANSITIONS.get((self.state, kind, Outcome.RECEIVED), self.state)
        return command

    def _invalid(self, line: bytes, text: str) -> InvalidCommand:
        self._due_invalid = True
        if line[:5].upper() in (b"PASS", b"PASS "):
            line = b"PASS"  # never keep a password for the logs
        return InvalidCommand(line=line[:512], response=Response(ok=False, text=text))

    # -- output ------------------------------------------------------------------

    def send(self, event: Response | Continuation | ResponseData | EndOfResponse, *,
             crlf: bool | None = None) -> bytes:
        """Bytes for the response that is due, or for a multi-line content.

        Args:
            event: The response, or a piece of content, or its end.
            crlf: With a multi-line ``+OK``, what is known of the content to
                come: True if its line endings are all CRLF already, False if
                it has bare LFs, None (the default) if unknown. Only saves
                work: the bytes sent are the same (every bare LF goes out as
                CRLF) as long as the hint is true.

        Raises:
            LocalProtocolError: nothing is due, the response does not fit the
                command (a ``+`` continuation to STAT, a ``+OK`` to an
                invalid command), or content outside a multi-line ``+OK``.
        """
        if isinstance(event, ResponseData):
            if self._body is None:
                raise LocalProtocolError("ResponseData outside a multi-line response")
            return self._body.encode(event.data)
        if isinstance(event, EndOfResponse):
            if self._body is None:
                raise LocalProtocolError("EndOfResponse outside a multi-line response")
            data = self._body.finish()
            self._body = None
            return data
        if self._body is not None:
            raise LocalProtocolError("finish the multi-line response (EndOfResponse) first")
        if isinstance(event, Continuation):
            data = _continuation_bytes(event)
        elif isinstance(event, Response):
            data = format_response(event)
        else:
            raise LocalProtocolError(f"a server does not send {type(event).__name__}")
        outcome = _outcome(event)
        if self._due_invalid:
            if outcome is not Outcome.ERR:
                raise LocalProtocolError("an invalid command gets -ERR")
            self._due_invalid = False
            return data
        kind = self._due
        if kind is None:
            raise LocalProtocolError("no command is waiting for a response")
        new_state = TRANSITIONS.get((self.state, kind, outcome))
        if new_state is None:
            raise LocalProtocolError(f"{outcome.value} does not fit {kind.value} in the "
                                     f"{self.state.value} state")
        command = self._due_command
        self._due = None
        self._due_command = None
        self.state = new_state
        if outcome is Outcome.OK and is_multiline(kind, command):
            self._body = MultilineEncoder(crlf)
        if new_state is State.TLS:
            # RFC 2595 section 4 / CVE-2011-0411: anything the client sent
            # after STLS was sent in plaintext before the handshake and must
            # not be read as if it came over TLS.
            self.discarded_after_stls += len(self._buffer)
            self._buffer.clear()
        return data

    def abort(self, response: Response) -> bytes:
        """End the session with a last ``-ERR`` (idle timeout, too many
        errors, shutting down), whatever was due. Not inside a multi-line
        response: there the adapter can only close the connection.

        Raises:
            LocalProtocolError: ``+OK``, or a multi-line response is open.
        """
        if response.ok or self._body is not None:
            raise LocalProtocolError("abort() sends a -ERR, outside a multi-line response")
        self.state = State.CLOSED
        self._due = None
        self._due_invalid = False
        return format_response(response)

    def tls_established(self) -> None:
        """The adapter finished the TLS handshake: back to AUTHORIZATION."""
        if self.state is not State.TLS:
            raise LocalProtocolError("no STLS was accepted")
        self.state = State.AUTHORIZATION

    @property
    def command(self) -> Command | None:
        """The command whose response is due (None for the greeting)."""
        return self._due_command

    @property
    def response_due(self) -> bool:
        """A command (or the greeting) waits for its status line: nothing of
        its response has been sent yet."""
        return self._due is not None or self._due_invalid


class ClientConnection:
    """The client side of one POP3 session.

    Send commands with :meth:`send` (several at once when the server offers
    PIPELINING); read responses with :meth:`next_event`. Each response is
    matched to the oldest command still waiting for one.
    """

    def __init__(self) -> None:
        self.state = State.GREETING
        self._buffer = bytearray()
        self._eof = False
        self._pending: deque[tuple[Kind, Command | None]] = deque([(Kind.GREETING, None)])
        self._body: MultilineDecoder | None = None
        self._events: deque[Event] = deque()

    # -- output ------------------------------------------------------------------

    def _planned_state(self) -> State:
        """The state once every pending command has succeeded."""
        state = self.state
        for kind, _ in self._pending:
            state = TRANSITIONS.get((state, kind, Outcome.RECEIVED), state)
            for outcome in (Outcome.OK, Outcome.MORE):
                nxt = TRANSITIONS.get((state, kind, outcome))
                if nxt is not None:
                    state = nxt
                    break
        return state

    def send(self, command: Command) -> bytes:
        """Bytes to write for a command.

        Raises:
            LocalProtocolError: the command is not allowed now (checked
                against the state after the pending commands succeed, and
                nothing may follow an AUTH before its response), or an
                argument would break the line.
        """
        if not isinstance(command, Command) or isinstance(command, InvalidCommand):
            raise LocalProtocolError(f"a client does not send {type(command).__name__}")
        kind = kind_of(command)
        if any(k in (Kind.AUTH, Kind.AUTH_RESPONSE) for k, _ in self._pending):
            # A "+" continuation may come instead of a result: a command
            # sent now would be read as the SASL response (found by fuzz/).
            raise LocalProtocolError("wait for the response to AUTH before sending more")
        planned = self._planned_state()
        if isinstance(command, AuthResponse):
            if planned is not State.SASL:
                raise LocalProtocolError("no SASL continuation to answer")
            if command.cancelled:
                data = b"*\r\n"
            elif any(c in command.data for c in "\r\n\x00") or not command.data.isascii():
                raise LocalProtocolError("a SASL response is base64 text")
            else:
                data = command.data.encode("ascii") + b"\r\n"
        else:
            if (planned, kind) not in ALLOWED:
                raise LocalProtocolError(f"{kind.value} is not allowed in the "
                                         f"{planned.value} state")
            data = format_command(command)
        if not self._pending:
            self.state = TRANSITIONS.get((self.state, kind, Outcome.RECEIVED), self.state)
        self._pending.append((kind, command))
        return data

    # -- input -------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add received bytes; ``b""`` means the server closed the connection."""
        if data:
            self._buffer += data
        else:
            self._eof = True

    def next_event(self) -> NextEvent:
        """The next :class:`~._events.Response`, :class:`~._events.Continuation`,
        :class:`~._events.ResponseData`, :class:`~._events.EndOfResponse`,
        :data:`NEED_DATA` or :class:`~._events.ConnectionClosed`.

        Raises:
            RemoteProtocolError: the server sent something that is not a
                response, a response nobody asked for, a status line over
                :data:`MAX_RESPONSE_LINE`, or a continuation outside SASL.
        """
        if self._events:
            return self._events.popleft()
        if self._body is not None:
            return self._next_content()
        line, too_long = _take_line(self._buffer, MAX_RESPONSE_LINE)
        if too_long:
            raise RemoteProtocolError("response line too long")
        if line is None:
            return self._closed() if self._eof else NEED_DATA
        if not self._pending:
            raise RemoteProtocolError(f"unexpected response: {line[:80]!r}")
        kind, command = self._pending[0]
        event: Response | Continuation
        if kind in (Kind.AUTH, Kind.AUTH_RESPONSE) and (line == b"+" or line.startswith(b"+ ")):
            event = Continuation(data=line[2:].decode("ascii", "replace").strip())
        else:
            parsed = _parse_status(line)
            if parsed is None:
                raise RemoteProtocolError(f"not a POP3 status line: {line[:80]!r}")
            event = parsed
        self._settle(kind, _outcome(event))
        if isinstance(event, Response) and event.ok and is_multiline(kind, command):
            self._body = MultilineDecoder()
        return event

    def _closed(self) -> ConnectionClosed:
        self.state = State.CLOSED
        return ConnectionClosed()

    def _next_content(self) -> NextEvent:
        decoder = self._body
        assert decoder is not None
        if not self._buffer:
            return self._closed() if self._eof else NEED_DATA
        content, rest = decoder.feed(bytes(self._buffer))
        self._buffer = bytearray(rest)
        if decoder.done:
            self._body = None
            if content:
                self._events.append(EndOfResponse())
                return ResponseData(data=content)
            return EndOfResponse()
        if content:
            return ResponseData(data=content)
        return self._closed() if self._eof else NEED_DATA

    def _settle(self, kind: Kind, outcome: Outcome) -> None:
        self._pending.popleft()
        self.state = TRANSITIONS.get((self.state, kind, Outcome.RECEIVED), self.state)
        new_state = TRANSITIONS.get((self.state, kind, outcome))
        if new_state is None:
            if outcome is Outcome.ERR:
                return  # a refusal of a command the server saw out of sequence
            raise RemoteProtocolError(
                f"{outcome.value} does not fit {kind.value} in the {self.state.value} state")
        self.state = new_state

    def tls_established(self) -> None:
        """The adapter finished the TLS handshake: back to AUTHORIZATION."""
        if self.state is not State.TLS:
            raise LocalProtocolError("STLS was not accepted")
        self.state = State.AUTHORIZATION
        self._buffer.clear()

    @property
    def waiting(self) -> int:
        """How many commands still wait for their response."""
        return len(self._pending)

    @property
    def in_response(self) -> bool:
        """A multi-line response is being received."""
        return self._body is not None or bool(self._events)
