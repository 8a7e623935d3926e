"""The sans-I/O IMAP client core: commands in, bytes out; bytes in, responses out.

One state machine (:mod:`._states`) serves both roles; this is the client
side (the server side is :mod:`._server_connection`). It never touches a
socket: the sync client and the asyncio client drive it, and tests drive it
with byte lists (convention 6)::

    conn = ClientConnection()
    conn.receive_data(sock.recv(65536))          # the greeting
    event = conn.next_event()                    # StatusResponse(status="OK", ...)
    sock.sendall(conn.send(Login(user="alice", password="secret")))
    while True:
        event = conn.next_event()
        if event is NEED_DATA: conn.receive_data(sock.recv(65536)); continue
        if isinstance(event, ContinuationRequest): sock.sendall(conn.continue_literal())
        if isinstance(event, StatusResponse) and event.tag == conn.last_tag: break

**Literals.** :meth:`send` returns the command's octets up to its first
synchronizing literal; after the server's ``+`` (a
:class:`ContinuationRequest` event), :meth:`continue_literal` gives the
next piece. When the server offers ``LITERAL+`` (or ``LITERAL-`` for small
literals) the whole command comes at once as ``{n+}`` (RFC 7888). A tagged
NO/BAD in place of the ``+`` ends the command; its rest is dropped.

**Tracking.** The core follows the state (only a tagged OK moves it, per
the table), the server's capabilities (CAPABILITY responses and
``[CAPABILITY ...]`` codes; forgotten after STARTTLS, RFC 3501 6.2.1), the
extensions ENABLE turned on, and which command each tagged response
completes. Commands may be pipelined; each is checked against the state
the earlier ones lead to when they succeed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

from ._command_events import AuthenticateData, IdleDone
from ._commands import Authenticate, Command, Idle, StartTLS
from ._encode import Encoding, encode_line
from ._errors import LocalProtocolError, RemoteProtocolError
from ._lexer import LineTooLong, ParseError, Reader, ValueParser
from ._response_parse import classify, data_response, parse_resp_text
from ._responses import (
    CapabilityResponse,
    ConnectionClosed,
    ContinuationRequest,
    EnabledResponse,
    Event,
    Response,
    ResponseCode,
    StatusResponse,
)
from ._states import ALLOWED, TRANSITIONS, Kind, Outcome, State, outcome_of

__all__ = ["DEFAULT_CLIENT_MAX_LINE", "NEED_DATA", "PAUSED", "ClientConnection", "NextEvent"]


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: ``next_event()`` needs more bytes (call ``receive_data``).
NEED_DATA = _Sentinel("NEED_DATA")
#: ``next_event()`` waits for us to act (a response to send, a TLS handshake,
#: a decision about a literal).
PAUSED = _Sentinel("PAUSED")

NextEvent = Event | _Sentinel

#: A client bounds the non-literal part of one response, generously: a
#: SEARCH result for millions of messages is one line ("no line-length
#: limits on responses" in practice; pass ``max_line=None`` for none).
DEFAULT_CLIENT_MAX_LINE = 64 << 20


@dataclass(slots=True)
class _Pending:
    """A command sent and not yet completed by its tagged response."""

    command: Command
    #: Octets still to send, each after the server's "+".
    parts: deque[bytes] = field(default_factory=deque)
    #: The server sent "+" and the next part may go.
    ready: bool = False
    #: AUTHENTICATE: a "+" challenge is waiting for its answer.
    challenged: bool = False
    #: IDLE: the server accepted ("+"); DONE ends it.
    idling: bool = False
    done_sent: bool = False


def capabilities_in(code: ResponseCode | None) -> frozenset[str] | None:
    """The capabilities listed in a ``[CAPABILITY ...]`` code, upper-cased."""
    if code is None or code.name != "CAPABILITY":
        return None
    return frozenset(str(v).upper() for v in code.values if isinstance(v, str))


class ClientConnection:
    """The client side of one IMAP session.

    Args:
        tag_prefix: Tags are the prefix and a counter (``A0001``).
        max_line: Bound on the non-literal octets of one response (see
            :data:`DEFAULT_CLIENT_MAX_LINE`); None for no bound.
        max_literal: Bound on one literal's size, or None (the default:
            a client asked for the data).
        max_depth: Bound on list nesting.
    """

    def __init__(self, *, tag_prefix: str = "A", max_line: int | None = DEFAULT_CLIENT_MAX_LINE,
                 max_literal: int | None = None, max_depth: int = 100) -> None:
        self.state = State.GREETING
        self._reader = Reader(max_line)
        self._parser: ValueParser | None = None
        self._max_literal = max_literal
        self._max_depth = max_depth
        self._pending: dict[str, _Pending] = {}
        self._prefix = tag_prefix
        self._counter = 0
        self._tls_pending = False
        #: The capabilities last announced, upper-cased.
        self.capabilities: frozenset[str] = frozenset()
        #: Counts capability announcements (to tell whether LOGIN sent any).
        self.capability_updates = 0
        #: Extensions turned on by ENABLE (RFC 5161), upper-cased.
        self.enabled: frozenset[str] = frozenset()
        #: The tag of the last command sent.
        self.last_tag = ""

    # -- output -------------------------------------------------------------------------

    def _encoding(self) -> Encoding:
        caps = self.capabilities
        return Encoding(literal_plus="LITERAL+" in caps, literal_minus="LITERAL-" in caps,
                        utf8="UTF8=ACCEPT" in self.enabled or "IMAP4REV2" in self.enabled)

    def _planned_state(self) -> State:
        """The state once every pending command has succeeded."""
        state = self.state
        for pending in self._pending.values():
            state = TRANSITIONS.get((state, pending.command.kind, Outcome.OK), state)
        return state

    def new_tag(self) -> str:
        """A fresh tag (the core uses these when a command's tag is ``""``)."""
        self._counter += 1
        return f"{self._prefix}{self._counter:04d}"

    def send(self, event: Command | AuthenticateData | IdleDone) -> bytes:
        """The octets to write for a command (up to its first synchronizing
        literal), a SASL response line, or IDLE's ``DONE``.

        Raises:
            LocalProtocolError: the command is not allowed now (checked
                against the state the pending commands lead to), another
                command is still sending a literal or holds the line
                (AUTHENTICATE, IDLE, STARTTLS), no challenge waits for an
                answer, or an argument cannot be written.
            TypeError: an argument of a type IMAP cannot carry.
        """
        if isinstance(event, AuthenticateData):
            return self._send_auth_data(event)
        if isinstance(event, IdleDone):
            return self._send_done()
        if not isinstance(event, Command):
            raise LocalProtocolError(f"a client does not send {type(event).__name__}")
        if self.state is State.GREETING:
            raise LocalProtocolError("wait for the server's greeting first")
        if self.state is State.LOGOUT:
            raise LocalProtocolError("the session has ended (LOGOUT or BYE)")
        if self._tls_pending:
            raise LocalProtocolError("finish the TLS handshake first (tls_established)")
        for pending in self._pending.values():
            if pending.parts:
                raise LocalProtocolError(
                    f"{pending.command.name} is still sending its literals")
            if isinstance(pending.command, Authenticate | Idle | StartTLS):
                raise LocalProtocolError(
                    f"{pending.command.name} must complete before another command")
        planned = self._planned_state()
        if (planned, event.kind) not in ALLOWED:
            raise LocalProtocolError(
                f"{event.name} is not allowed in state {planned.value}")
        tag = event.tag or self.new_tag()
        if tag in self._pending:
            raise LocalProtocolError(f"tag {tag} is already in use")
        parts = encode_line(f"{tag} {event.name}", event.arguments(), self._encoding())
        if event.tag != tag:
            event = replace(event, tag=tag)
        self._pending[tag] = _Pending(command=event, parts=deque(parts[1:]))
        self.last_tag = tag
        return parts[0]

    def continue_literal(self) -> bytes:
        """The next piece of a command, after the server's ``+`` for its literal.

        Raises:
            LocalProtocolError: no command waits to go on.
        """
        for pending in self._pending.values():
            if pending.parts and pending.ready:
                pending.ready = False
                return pending.parts.popleft()
        raise LocalProtocolError("no command is waiting to send a literal")

    def _send_auth_data(self, event: AuthenticateData) -> bytes:
        for pending in self._pending.values():
            if isinstance(pending.command, Authenticate) and pending.challenged:
                pending.challenged = False
                if event.cancelled:
                    return b"*\r\n"
                if any(c in event.data for c in "\r\n\x00") or not event.data.isascii():
                    raise LocalProtocolError("a SASL response is base64 text")
                return event.data.encode("ascii") + b"\r\n"
        raise LocalProtocolError("no AUTHENTICATE challenge to answer")

    def _send_done(self) -> bytes:
        for pending in self._pending.values():
            if isinstance(pending.command, Idle) and pending.idling and not pending.done_sent:
                pending.done_sent = True
                return b"DONE\r\n"
        raise LocalProtocolError("not idling: DONE needs an IDLE the server accepted")

    # -- input --------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add received bytes; ``b""`` means the server closed the connection."""
        self._reader.feed(data)

    def next_event(self) -> NextEvent:
        """The next response, :data:`NEED_DATA`, or :class:`ConnectionClosed`.

        Returns the events in the order the server sent them: untagged data
        (typed where the response is known, else ``UntaggedResponse``),
        continuation requests, and tagged completions (after which the
        command is no longer pending and the state has moved).

        Raises:
            RemoteProtocolError: the server sent something that is not an
                IMAP response, a line or literal over the limits, a tagged
                response for no pending command, a ``+`` nobody waits for,
                or a completion the state table does not allow (an OK to a
                command that could not succeed).
        """
        reader = self._reader
        while True:
            if reader.in_literal:
                data = reader.take_literal()
                if data is None:
                    return self._need_more()
                assert self._parser is not None
                self._parser.add_literal(data)
            try:
                fragment = reader.take_fragment()
            except LineTooLong as exc:
                raise RemoteProtocolError(str(exc)) from None
            if fragment is None:
                return self._need_more()
            try:
                event = self._fragment(fragment)
            except ParseError as exc:
                raise RemoteProtocolError(f"bad response: {exc}") from None
            if event is not None:
                reader.new_line()
                return event

    def _fragment(self, fragment: bytes) -> Response | None:
        parser = self._parser
        if parser is None:
            start = classify(fragment)
            if start.kind == "+":
                code, text = parse_resp_text(fragment[start.offset:])
                return self._continuation(ContinuationRequest(text=text, code=code))
            if start.kind == "status":
                assert start.status is not None
                code, text = parse_resp_text(fragment[start.offset:])
                return self._settle(StatusResponse(tag=start.tag, status=start.status,
                                                   code=code, text=text))
            parser = self._parser = ValueParser(self._max_depth)
            header = parser.feed(fragment, start.offset)
        else:
            header = parser.feed(fragment)
        if header is not None:
            if self._max_literal is not None and header.size > self._max_literal:
                raise RemoteProtocolError(
                    f"literal of {header.size} octets is over the limit of {self._max_literal}")
            self._reader.start_literal(header.size)
            return None
        values = parser.finish()
        self._parser = None
        if self.state is State.GREETING:
            raise RemoteProtocolError("the server sent data before its greeting")
        response = data_response(values)
        if isinstance(response, CapabilityResponse):
            self._set_capabilities(frozenset(c.upper() for c in response.capabilities))
        elif isinstance(response, EnabledResponse):
            self.enabled |= {c.upper() for c in response.capabilities}
        return response

    def _need_more(self) -> NextEvent:
        if self._reader.eof:
            self.state = State.LOGOUT
            self._pending.clear()
            self._parser = None
            return ConnectionClosed()
        return NEED_DATA

    def _set_capabilities(self, caps: frozenset[str]) -> None:
        self.capabilities = caps
        self.capability_updates += 1

    def _continuation(self, event: ContinuationRequest) -> ContinuationRequest:
        for pending in self._pending.values():
            command = pending.command
            if pending.parts and not pending.ready:
                pending.ready = True
                return event
            if isinstance(command, Authenticate) and not pending.challenged:
                pending.challenged = True
                return event
            if isinstance(command, Idle) and not pending.idling:
                pending.idling = True
                return event
        raise RemoteProtocolError(f"unexpected continuation request: + {event.text[:60]}")

    def _settle(self, response: StatusResponse) -> StatusResponse:
        caps = capabilities_in(response.code)
        if caps is not None:
            self._set_capabilities(caps)
        if self.state is State.GREETING:
            if response.tag is not None or response.status not in ("OK", "PREAUTH", "BYE"):
                raise RemoteProtocolError(f"not a greeting: {response}")
            self.state = TRANSITIONS[(State.GREETING, Kind.GREETING, outcome_of(response.status))]
            return response
        if response.tag is None:
            if response.status == "BYE":
                # The server is closing (RFC 3501 7.1.5); a LOGOUT's tagged
                # OK may still follow, and is then taken as it comes.
                self.state = State.LOGOUT
            elif response.status == "PREAUTH":
                raise RemoteProtocolError("PREAUTH outside the greeting")
            return response
        pending = self._pending.pop(response.tag, None)
        if pending is None:
            raise RemoteProtocolError(f"tagged response for no pending command: {response}")
        if self.state is State.LOGOUT:
            return response
        outcome = outcome_of(response.status)
        new_state = TRANSITIONS.get((self.state, pending.command.kind, outcome))
        if new_state is None:
            if outcome is Outcome.OK:
                raise RemoteProtocolError(
                    f"OK to {pending.command.name} does not fit state {self.state.value}")
            return response  # the server refused what it saw out of sequence
        self.state = new_state
        if isinstance(pending.command, StartTLS) and outcome is Outcome.OK:
            self._tls_pending = True
        return response

    def tls_established(self) -> None:
        """The adapter finished the TLS handshake after STARTTLS's OK.

        The capabilities are forgotten (RFC 3501 6.2.1: the client must ask
        again) and anything received in plaintext after the OK is dropped
        (it cannot have come over TLS).

        Raises:
            LocalProtocolError: no STARTTLS was accepted.
        """
        if not self._tls_pending:
            raise LocalProtocolError("STARTTLS was not accepted")
        self._tls_pending = False
        self._reader.clear()
        self.capabilities = frozenset()

    # -- inspection ---------------------------------------------------------------------

    @property
    def pending(self) -> tuple[Command, ...]:
        """The commands sent and not yet completed, oldest first."""
        return tuple(p.command for p in self._pending.values())

    @property
    def tls_pending(self) -> bool:
        """STARTTLS was accepted: the TLS handshake must come next."""
        return self._tls_pending

    @property
    def idling(self) -> bool:
        """An IDLE was accepted and DONE not yet sent."""
        return any(isinstance(p.command, Idle) and p.idling and not p.done_sent
                   for p in self._pending.values())

