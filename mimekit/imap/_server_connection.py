"""The sans-I/O IMAP server core: bytes in, command events out; responses in, bytes out.

The same transition table (:mod:`._states`) and the same reader
(:mod:`._lexer`) as the client core. A server adapter runs::

    conn = ServerConnection(max_literal=50 << 20)
    write(conn.send(StatusResponse(status="OK", text="ready")))     # the greeting
    while True:
        event = conn.next_event()
        if event is NEED_DATA:  conn.receive_data(read()); continue
        if event is PAUSED:     ...   # a response is due: the tagged one, a "+", TLS
        if isinstance(event, InvalidCommand):
            write(conn.send(event.response))
        elif isinstance(event, LiteralAnnounced):
            write(conn.send(ContinuationRequest(text="Ready")))
        elif isinstance(event, Select):
            write(conn.send(ExistsResponse(count=3)))   # ... and the other data
            write(conn.send(StatusResponse(tag=event.tag, status="OK")))

One command is handed out at a time: until its tagged response is sent,
:meth:`ServerConnection.next_event` says :data:`PAUSED` (pipelined
commands wait in the buffer). Untagged responses may be sent at any time
after the greeting.

**Refused before anyone sees them** (an :class:`InvalidCommand` with
the ``BAD``/``NO`` to send): unknown commands, commands the state does not
allow (before their literals are read: a synchronizing literal of such a
command is never invited), bad syntax, lines over ``max_line``, literals
over ``max_literal`` (``NO [TOOBIG]``, before the ``+``: nothing is
allocated for them; a non-synchronizing one is read and dropped).

**Inside a command.** AUTHENTICATE: each ``ContinuationRequest`` the
server sends makes the next client line an :class:`AuthenticateData`.
IDLE: the ``+`` starts idling; the client's ``DONE`` arrives as
:class:`IdleDone`, anything else ends the IDLE with a BAD. STARTTLS: after
its tagged OK the core is PAUSED until :meth:`tls_established`, and
whatever the client sent in plaintext after the command is dropped
(CVE-2011-0411 style injection).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from ._command_events import AuthenticateData, IdleDone, InvalidCommand, LiteralAnnounced
from ._command_parse import COMMAND_NAMES, UID_COMMANDS, CommandSyntaxError, parse_command
from ._commands import Authenticate, Command, Idle, Logout, StartTLS
from ._connection import NEED_DATA, PAUSED, NextEvent
from ._errors import LocalProtocolError
from ._lexer import LineTooLong, LiteralHeader, ParseError, Reader, ValueParser
from ._responses import (
    ConnectionClosed,
    ContinuationRequest,
    DataResponse,
    Event,
    Response,
    ResponseCode,
    StatusResponse,
)
from ._states import ALLOWED, TRANSITIONS, Kind, Outcome, State, outcome_of

__all__ = ["DEFAULT_MAX_LINE", "DEFAULT_MAX_LITERAL", "ServerConnection"]

#: Dovecot's ``imap_max_line_length`` default: 64 KiB of non-literal octets
#: per command.
DEFAULT_MAX_LINE = 64 << 10
#: The most literal octets one command may carry (an APPEND's message).
DEFAULT_MAX_LITERAL = 64 << 20

# tag SP command-name [SP subcommand]; the tag leniently any run without
# SP, CTL, 8-bit bytes (no response could carry the tag back) or the
# atom-specials that cannot start anything ("+", quotes...).
_START = re.compile(rb'([^ \x00-\x1f\x7f-\xff(){%*"\\+]+) +([A-Za-z][A-Za-z0-9._-]*)')
_TAG_ONLY = re.compile(rb'[^ \x00-\x1f\x7f-\xff(){%*"\\+]{1,64}(?= |$)')
_SUBCOMMAND = re.compile(rb" +([A-Za-z]+)")
_TAIL_LITERAL = re.compile(rb"~?\{([0-9]{1,19})(\+?)\} *\Z")


def _tail_literal(data: bytes) -> LiteralHeader | None:
    """A literal header at the end of a fragment we are not parsing."""
    m = _TAIL_LITERAL.search(data[-40:])
    if m is None:
        return None
    return LiteralHeader(int(m.group(1)), not m.group(2), m.group(0).startswith(b"~"))


@dataclass(slots=True)
class _Incoming:
    """A command being read."""

    tag: str | None
    name: str = ""
    kind: Kind | None = None
    uid: bool = False
    parser: ValueParser = field(default_factory=ValueParser)
    #: Set when the command is refused: the rest of it is skipped.
    invalid: StatusResponse | None = None
    #: Skipping the rest of an over-long fragment.
    skipping_line: bool = False
    literal_total: int = 0
    #: A synchronizing literal waiting for the server's decision.
    announced: LiteralHeader | None = None


class ServerConnection:
    """The server side of one IMAP session.

    Args:
        max_line: The most non-literal octets one command may have.
        max_literal: The most literal octets one command may carry; bigger
            literals are refused with ``NO [TOOBIG]`` before the ``+``.
        max_depth: How deeply lists in a command may nest.
    """

    def __init__(self, *, max_line: int = DEFAULT_MAX_LINE,
                 max_literal: int = DEFAULT_MAX_LITERAL, max_depth: int = 20) -> None:
        self.state = State.GREETING
        self._reader = Reader(max_line)
        self._max_literal = max_literal
        self._max_depth = max_depth
        self._events: deque[Event] = deque()
        self._incoming: _Incoming | None = None
        #: The command whose tagged response is due.
        self._due: Command | None = None
        #: The tag of a refused command whose NO/BAD is due ("" for untagged).
        self._due_invalid: str | None = None
        self._auth_line = False
        self._idling = False
        self._tls_pending = False
        self._bye_sent = False
        #: Plaintext received after STARTTLS and thrown away (CVE-2011-0411).
        self.discarded_after_starttls = 0

    # -- input --------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add received bytes; ``b""`` means the client closed the connection."""
        self._reader.feed(data)

    def next_event(self) -> NextEvent:
        """The next event, :data:`NEED_DATA`, or :data:`PAUSED`.

        Never raises on input: what is not a valid command becomes an
        :class:`InvalidCommand`; the end of input becomes
        :class:`ConnectionClosed`.
        """
        if self._events:
            return self._events.popleft()
        if self.state is State.LOGOUT:
            return ConnectionClosed()
        if self._tls_pending or (self._incoming is not None
                                 and self._incoming.announced is not None):
            return PAUSED
        if self._auth_line:
            return self._read_auth_line()
        if self._idling:
            return self._read_idle_line()
        if self._due is not None or self._due_invalid is not None or self.state is State.GREETING:
            return PAUSED
        return self._read_command()

    def _need_more(self) -> NextEvent:
        if self._reader.eof:
            self.state = State.LOGOUT
            return ConnectionClosed()
        return NEED_DATA

    def _line(self) -> bytes | None:
        """One whole line (AUTHENTICATE and IDLE), or None; an over-long one
        is skipped and read as empty."""
        try:
            line = self._reader.take_fragment()
        except LineTooLong:
            if self._reader.discard_fragment() is None:
                return None
            line = b""
        self._reader.new_line()
        return line

    def _read_auth_line(self) -> NextEvent:
        line = self._line()
        if line is None:
            return self._need_more()
        self._auth_line = False
        text = line.strip().decode("ascii", "replace")
        return AuthenticateData(data="" if text == "*" else text, cancelled=text == "*")

    def _read_idle_line(self) -> NextEvent:
        line = self._line()
        if line is None:
            return self._need_more()
        self._idling = False
        if line.strip().upper() == b"DONE":
            return IdleDone()
        due = self._due
        assert due is not None
        self._due = None
        self._due_invalid = due.tag
        return InvalidCommand(tag=due.tag, name="IDLE", response=StatusResponse(
            tag=due.tag, status="BAD", text="Expected DONE to end IDLE"))

    def _refuse(self, incoming: _Incoming, text: str, status: str = "BAD",
                code: ResponseCode | None = None) -> None:
        if incoming.invalid is None:
            incoming.invalid = StatusResponse(tag=incoming.tag, status=status, code=code,
                                              text=text)

    def _finish_invalid(self, incoming: _Incoming) -> InvalidCommand:
        self._incoming = None
        self._reader.new_line()
        assert incoming.invalid is not None
        self._due_invalid = incoming.tag if incoming.tag is not None else ""
        return InvalidCommand(tag=incoming.tag, name=incoming.name, response=incoming.invalid)

    def _start(self, fragment: bytes) -> tuple[_Incoming, int]:
        """Read ``tag NAME [subcommand]`` and check the command is known and
        allowed now. Returns the command being read and where its arguments
        start."""
        m = _START.match(fragment)
        if m is None:
            tag_m = _TAG_ONLY.match(fragment)
            incoming = _Incoming(tag=tag_m.group(0).decode("ascii", "replace") if tag_m else None)
            self._refuse(incoming, "Missing command" if tag_m else "Error in IMAP command")
            return incoming, len(fragment)
        tag = m.group(1).decode("utf-8", "replace")
        name = m.group(2).decode("ascii").upper()
        incoming = _Incoming(tag=tag, name=name,
                             parser=ValueParser(self._max_depth))
        pos = m.end()
        if name == "UID":
            sub = _SUBCOMMAND.match(fragment, pos)
            sub_name = sub.group(1).decode("ascii").upper() if sub else ""
            if sub is None or sub_name not in UID_COMMANDS:
                self._refuse(incoming, "Unknown UID command")
                return incoming, len(fragment)
            incoming.uid = True
            incoming.name = f"UID {sub_name}"
            name = sub_name
            pos = sub.end()
        kind = COMMAND_NAMES.get(name)
        if kind is None:
            self._refuse(incoming, f"Unknown command {name}")
            return incoming, len(fragment)
        incoming.kind = kind
        if (self.state, kind) not in ALLOWED:
            self._refuse(incoming, f"{incoming.name} is not allowed in the "
                                   f"{self.state.value} state")
        return incoming, pos

    def _read_command(self) -> NextEvent:
        reader = self._reader
        while True:
            incoming = self._incoming
            if reader.in_literal:
                data = reader.take_literal()
                if data is None:
                    return self._need_more()
                if incoming is not None and incoming.invalid is None:
                    incoming.parser.add_literal(data)
            if incoming is not None and incoming.skipping_line:
                tail = reader.discard_fragment()
                if tail is None:
                    return self._need_more()
                incoming.skipping_line = False
                header = _tail_literal(tail)
                if header is not None and not header.synchronizing:
                    reader.start_literal(header.size, store=False)
                    continue
                return self._finish_invalid(incoming)
            try:
                fragment = reader.take_fragment()
            except LineTooLong:
                if incoming is None:
                    incoming = self._incoming = self._start(reader.peek(80))[0]
                self._refuse(incoming, "Command line too long")
                incoming.skipping_line = True
                continue
            if fragment is None:
                return self._need_more()
            pos = 0
            if incoming is None:
                incoming, pos = self._start(fragment)
                self._incoming = incoming
            header = None
            if incoming.invalid is None:
                try:
                    header = incoming.parser.feed(fragment, pos)
                except ParseError as exc:
                    self._refuse(incoming, f"Error in IMAP command {incoming.name}: {exc}")
            if incoming.invalid is not None:
                header = _tail_literal(fragment)
                if header is None or header.synchronizing:
                    # A refused command's synchronizing literal is never
                    # invited with "+": the client gives up on it.
                    return self._finish_invalid(incoming)
                reader.start_literal(header.size, store=False)
                continue
            if header is not None:
                if incoming.literal_total + header.size > self._max_literal:
                    self._refuse(incoming, f"Literal of {header.size} octets is too big",
                                 "NO", ResponseCode(name="TOOBIG"))
                    if header.synchronizing:
                        return self._finish_invalid(incoming)
                    reader.start_literal(header.size, store=False)
                    continue
                incoming.literal_total += header.size
                if header.synchronizing:
                    incoming.announced = header
                    assert incoming.tag is not None
                    return LiteralAnnounced(tag=incoming.tag, name=incoming.name,
                                            size=header.size,
                                            arguments=tuple(incoming.parser.items))
                reader.start_literal(header.size)
                continue
            return self._complete(incoming)

    def _complete(self, incoming: _Incoming) -> NextEvent:
        try:
            values = incoming.parser.finish()
            assert incoming.tag is not None
            name = incoming.name.removeprefix("UID ")
            command = parse_command(incoming.tag, name, values, incoming.uid)
        except (ParseError, CommandSyntaxError) as exc:
            self._refuse(incoming, f"Error in IMAP command {incoming.name}: {exc}")
            return self._finish_invalid(incoming)
        self._incoming = None
        self._reader.new_line()
        self._due = command
        return command

    # -- output -------------------------------------------------------------------------

    def send(self, response: Response) -> bytes:
        """The octets of a response, after checking it fits the session.

        * The greeting (an untagged OK, PREAUTH or BYE) comes first.
        * A tagged response completes the command that is due (moving the
          state per the table), refuses an announced literal, or answers an
          :class:`InvalidCommand`.
        * A :class:`ContinuationRequest` accepts an announced literal,
          challenges during AUTHENTICATE, or starts IDLE.
        * Untagged data and status responses may go at any time after the
          greeting; a ``BYE`` ends the session (after LOGOUT's tagged OK
          when it answers LOGOUT).

        Raises:
            LocalProtocolError: the response does not fit (no such tag due,
                an OK where the table has none, a ``+`` nothing waits for,
                data before the greeting), or cannot be written.
        """
        data = response.to_bytes()
        if isinstance(response, StatusResponse):
            if response.tag is None:
                self._untagged_status(response)
            else:
                self._tagged(response)
        elif isinstance(response, ContinuationRequest):
            self._continue()
        elif isinstance(response, DataResponse):
            if self.state is State.GREETING:
                raise LocalProtocolError("send the greeting first")
        else:
            raise LocalProtocolError(f"a server does not send {type(response).__name__}")
        return data

    def _untagged_status(self, response: StatusResponse) -> None:
        status = response.status.upper()
        if self.state is State.GREETING:
            if status not in ("OK", "PREAUTH", "BYE"):
                raise LocalProtocolError(f"a greeting is OK, PREAUTH or BYE, not {status}")
            self.state = TRANSITIONS[(State.GREETING, Kind.GREETING, outcome_of(status))]
            return
        if status == "PREAUTH":
            raise LocalProtocolError("PREAUTH is only a greeting")
        if status == "BYE":
            self._bye_sent = True
            if not isinstance(self._due, Logout):
                self.state = State.LOGOUT
        elif status == "BAD" and self._due_invalid == "":
            self._due_invalid = None

    def _tagged(self, response: StatusResponse) -> None:
        tag = response.tag
        outcome = outcome_of(response.status)
        incoming = self._incoming
        if incoming is not None and incoming.announced is not None and tag == incoming.tag:
            if outcome is Outcome.OK:
                raise LocalProtocolError("refuse a literal with NO or BAD, or accept it with +")
            self._incoming = None
            self._reader.new_line()
            return
        if self._due_invalid is not None and tag == self._due_invalid:
            if outcome is Outcome.OK:
                raise LocalProtocolError("an invalid command is answered with NO or BAD")
            self._due_invalid = None
            return
        due = self._due
        if due is None or tag != due.tag:
            raise LocalProtocolError(f"no command with tag {tag!r} is waiting for a response")
        if self.state is State.LOGOUT:
            self._due = None
            return
        new_state = TRANSITIONS.get((self.state, due.kind, outcome))
        if new_state is None:
            raise LocalProtocolError(
                f"{response.status} does not complete {due.name} in state {self.state.value}")
        self._due = None
        self._auth_line = self._idling = False
        self.state = new_state
        if isinstance(due, StartTLS) and outcome is Outcome.OK:
            self._tls_pending = True
            self.discarded_after_starttls += self._reader.buffered
            self._reader.clear()

    def _continue(self) -> None:
        incoming = self._incoming
        if incoming is not None and incoming.announced is not None:
            self._reader.start_literal(incoming.announced.size)
            incoming.announced = None
            return
        due = self._due
        if isinstance(due, Authenticate) and not self._auth_line:
            self._auth_line = True
            return
        if isinstance(due, Idle) and not self._idling:
            self._idling = True
            return
        raise LocalProtocolError("nothing waits for a continuation request")

    def tls_established(self) -> None:
        """The adapter finished the TLS handshake after STARTTLS's OK.

        Raises:
            LocalProtocolError: no STARTTLS was accepted.
        """
        if not self._tls_pending:
            raise LocalProtocolError("no STARTTLS was accepted")
        self._tls_pending = False

    # -- inspection ---------------------------------------------------------------------

    @property
    def due(self) -> Command | None:
        """The command whose tagged response is due, or None."""
        return self._due

    @property
    def receiving(self) -> bool:
        """Part of a command (or of its literal) has arrived and the rest is
        awaited: a server shutting down lets such a command complete."""
        return self._incoming is not None or self._reader.buffered > 0

    @property
    def idling(self) -> bool:
        """IDLE was accepted (``+`` sent) and DONE has not arrived."""
        return self._idling

    @property
    def tls_pending(self) -> bool:
        """STARTTLS was accepted: the adapter must do the TLS handshake."""
        return self._tls_pending
