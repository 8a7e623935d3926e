"""The sans-I/O SMTP core: bytes in, events out; events in, bytes out.

One state machine (:mod:`._states`) serves both roles. A
:class:`ServerConnection` turns received bytes into command and content
events and turns the replies it is given into bytes; a
:class:`ClientConnection` does the reverse. Neither touches a socket: the
sync client, the asyncio client and the asyncio server all drive these
objects, and tests drive them with byte lists (convention 6).

Server flow, one command at a time (pipelining works because a client may
send a batch; the server answers them in order)::

    conn = ServerConnection(hostname="mx.example")
    sock.send(conn.send(Reply(code=220, lines=("mx.example ESMTP",))))
    while True:
        event = conn.next_event()
        if event is NEED_DATA: conn.receive_data(sock.recv(65536)); continue
        if event is PAUSED: ...  # a reply is due: conn.send(Reply(...))
        ...

The core validates every step against the transition table and refuses
what is not in it: a client gets ``LocalProtocolError`` for a command its
state does not allow; a server meets such a command as
:class:`~._events.InvalidCommand` carrying a ``503`` to send.
"""

from __future__ import annotations

from collections import deque

from ._data import DataDecoder, DataEncoder
from ._errors import LocalProtocolError, RemoteProtocolError
from ._events import (
    Auth,
    AuthResponse,
    Bdat,
    ChunkEnd,
    Command,
    ConnectionClosed,
    Data,
    Ehlo,
    EndOfMessage,
    Event,
    Helo,
    Help,
    InvalidCommand,
    Mail,
    MessageData,
    Noop,
    Quit,
    Rcpt,
    Reply,
    Rset,
    StartTLS,
    Vrfy,
)
from ._states import ALLOWED, TRANSITIONS, Kind, State, outcome_of
from ._syntax import (
    CommandSyntaxError,
    format_command,
    format_reply,
    parse_command,
    parse_ehlo_keywords,
    parse_reply_line,
    split_enhanced,
)

__all__ = ["NEED_DATA", "PAUSED", "ClientConnection", "ServerConnection", "kind_of"]


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: ``next_event()`` needs more bytes (call ``receive_data``).
NEED_DATA = _Sentinel("NEED_DATA")
#: ``next_event()`` waits for us to act (a reply to send, or a TLS handshake).
PAUSED = _Sentinel("PAUSED")

NextEvent = Event | _Sentinel

_KIND_OF: dict[type[Command], Kind] = {
    Ehlo: Kind.EHLO, Helo: Kind.HELO, Mail: Kind.MAIL, Rcpt: Kind.RCPT, Data: Kind.DATA,
    Rset: Kind.RSET, Noop: Kind.NOOP, Quit: Kind.QUIT, Vrfy: Kind.VRFY, Help: Kind.HELP,
    StartTLS: Kind.STARTTLS, Auth: Kind.AUTH, AuthResponse: Kind.AUTH_RESPONSE,
}

#: RFC 5321 section 4.5.3.1.4: a command line is at most 512 octets with CRLF.
MAX_COMMAND_LINE = 512
#: RFC 4954 section 4: an AUTH line (and a SASL response) may be 12288 octets.
MAX_AUTH_LINE = 12288
#: Longest reply line a client accepts (RFC 5321 says 512; real servers send
#: longer ones, so be generous but bounded).
MAX_REPLY_LINE = 8192
#: Most lines in one (multi-line) reply.
MAX_REPLY_LINES = 1000


def kind_of(command: Command) -> Kind:
    """The table's kind for a command event."""
    if isinstance(command, Bdat):
        return Kind.BDAT_LAST if command.last else Kind.BDAT
    try:
        return _KIND_OF[type(command)]
    except KeyError:
        raise LocalProtocolError(f"{command!r} is not an SMTP command") from None


def _take_line(buffer: bytearray, limit: int) -> tuple[bytes | None, bool]:
    """Cut one line (without its line ending) off the buffer.

    Returns ``(line, too_long)``: ``(None, False)`` when no full line is there
    yet; ``(b"", True)`` when more than ``limit`` octets came without a line
    ending (they are dropped up to the next LF, see the callers).
    """
    nl = buffer.find(b"\n", 0, limit + 1)
    if nl < 0:
        return None, len(buffer) > limit
    line = bytes(buffer[:nl])
    del buffer[:nl + 1]
    # A CRLF line ending, or (leniently, for commands) a bare LF.
    return (line[:-1] if line.endswith(b"\r") else line), False


class ServerConnection:
    """The server side of one SMTP session.

    Args:
        max_size: The SIZE limit in octets (content beyond it is counted but
            not delivered; ``EndOfMessage.too_big`` says so), or None.
        smtputf8: Accept UTF-8 in command lines (RFC 6531).
    """

    def __init__(self, *, max_size: int | None = None, smtputf8: bool = True) -> None:
        self.state = State.GREETING
        self._buffer = bytearray()
        self._eof = False
        self._max_size = max_size
        self._smtputf8 = smtputf8
        #: The kind of the command whose reply is due (the greeting at first).
        self._due: Kind | None = Kind.GREETING
        self._due_invalid = False
        self._events: deque[Event] = deque()
        self._decoder: DataDecoder | None = None
        self._chunk_left = 0
        self._chunk_kind: Kind | None = None
        self._chunk_invalid: InvalidCommand | None = None
        self._chunk_size = 0
        self._chunk_too_big = False
        self._discarding = False
        #: Plaintext received after STARTTLS and thrown away (CVE-2011-0411).
        self.discarded_after_starttls = 0

    # -- input -----------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add received bytes; ``b""`` means the client closed the connection."""
        if data:
            self._buffer += data
        else:
            self._eof = True

    def next_event(self) -> NextEvent:
        """The next event, :data:`NEED_DATA`, or :data:`PAUSED`.

        Raises:
            RemoteProtocolError: never for bad commands (those become
                ``InvalidCommand``); only for input after the session closed.
        """
        if self._events:
            return self._events.popleft()
        if self.state is State.CLOSED:
            return ConnectionClosed()
        if self._due is not None or self._due_invalid or self.state is State.TLS:
            return PAUSED
        if self._chunk_left or self._chunk_kind is not None:
            return self._next_chunk_event()
        if self.state is State.DATA:
            return self._next_data_event()
        return self._next_command()

    def _need_more(self) -> NextEvent:
        if self._eof:
            self.state = State.CLOSED
            return ConnectionClosed()
        return NEED_DATA

    def _next_command(self) -> NextEvent:
        in_auth = self.state is State.AUTH
        limit = MAX_AUTH_LINE if in_auth else MAX_COMMAND_LINE
        if self._discarding:
            # The rest of an over-long line (already answered): drop it.
            nl = self._buffer.find(b"\n")
            if nl < 0:
                self._buffer.clear()
                return self._need_more()
            del self._buffer[:nl + 1]
            self._discarding = False
        line, too_long = _take_line(self._buffer, limit)
        if too_long:
            self._discarding = True
            return self._invalid(b"", 500, (5, 5, 2), "line too long")
        if line is None:
            return self._need_more()
        if in_auth:
            text = line.decode("ascii", "replace").strip()
            self._due = Kind.AUTH_RESPONSE
            return AuthResponse(data="" if text == "*" else text, cancelled=text == "*")
        try:
            command = parse_command(line, smtputf8=self._smtputf8)
        except CommandSyntaxError as exc:
            return self._invalid(line, exc.code, exc.enhanced, str(exc))
        kind = kind_of(command)
        if isinstance(command, Bdat):
            # The chunk follows the command whatever the reply; read it first.
            self._chunk_left = command.size
            self._chunk_kind = kind
            if (self.state, kind) not in ALLOWED:
                self._chunk_invalid = InvalidCommand(
                    line=line[:512], reply=_bad_sequence("BDAT"))
                return self._next_chunk_event()
            return command
        if (self.state, kind) not in ALLOWED:
            return self._invalid(line, 503, (5, 5, 1),
                                 f"bad sequence of commands: {kind.value} not allowed now")
        self._due = kind
        return command

    def _invalid(self, line: bytes, code: int, enhanced: tuple[int, int, int],
                 text: str) -> InvalidCommand:
        self._due = None
        self._due_invalid = True
        return InvalidCommand(line=line[:512],
                              reply=Reply(code=code, lines=(text,), enhanced=enhanced))

    def _next_data_event(self) -> NextEvent:
        decoder = self._decoder
        assert decoder is not None
        if not self._buffer:
            if self._eof:
                self.state = State.CLOSED
                return ConnectionClosed()
            return NEED_DATA
        content, rest = decoder.feed(bytes(self._buffer))
        self._buffer = bytearray(rest)
        if decoder.done:
            self._due = Kind.END_DATA
            end = EndOfMessage(size=decoder.size, too_big=decoder.too_big,
                               long_line=decoder.long_line,
                               bare_line_ending=decoder.bare_line_ending)
            if content:
                self._events.append(end)
                return MessageData(data=content)
            return end
        return MessageData(data=content) if content else self._need_more()

    def _next_chunk_event(self) -> NextEvent:
        if self._chunk_left:
            if not self._buffer:
                return self._need_more()
            take = min(self._chunk_left, len(self._buffer))
            data = bytes(self._buffer[:take])
            del self._buffer[:take]
            self._chunk_left -= take
            if self._chunk_invalid is None:
                before = self._chunk_size
                self._chunk_size += take
                if self._max_size is not None and self._chunk_size > self._max_size:
                    self._chunk_too_big = True
                    data = data[:max(self._max_size - before, 0)]
                if data:
                    return MessageData(data=data)
            if self._chunk_left:
                return self._next_chunk_event()
        # The whole chunk is in: now the command can be answered.
        invalid = self._chunk_invalid
        kind = self._chunk_kind
        self._chunk_kind = None
        self._chunk_invalid = None
        if invalid is not None:
            self._due_invalid = True
            return invalid
        self._due = kind
        return ChunkEnd(last=kind is Kind.BDAT_LAST, size=self._chunk_size,
                        too_big=self._chunk_too_big)

    # -- output ------------------------------------------------------------------

    def send(self, reply: Reply) -> bytes:
        """Answer the command (or greeting, or content end) that is due.

        A ``421`` may be sent at any time and closes the session.

        Raises:
            LocalProtocolError: no reply is due, or this reply does not fit
                the command (a 354 to MAIL, a 250 to an out-of-sequence
                command...).
        """
        data = format_reply(reply)
        if reply.code == 421:
            self.state = State.CLOSED
            self._due = None
            return data
        if self._due_invalid:
            if reply.is_positive or reply.is_intermediate:
                raise LocalProtocolError(f"{reply.code} is not a reply to an invalid command")
            self._due_invalid = False
            return data
        kind = self._due
        if kind is None:
            raise LocalProtocolError("no command is waiting for a reply")
        key = (self.state, kind, outcome_of(reply.code))
        try:
            new_state = TRANSITIONS[key]
        except KeyError:
            raise LocalProtocolError(
                f"reply {reply.code} does not fit {kind.value} in state {self.state.value}"
            ) from None
        self._due = None
        self._enter(kind, new_state)
        return data

    def _enter(self, kind: Kind, new_state: State) -> None:
        old = self.state
        self.state = new_state
        if new_state is State.DATA and old is not State.DATA:
            self._decoder = DataDecoder(self._max_size)
        if old is State.DATA and new_state is not State.DATA:
            self._decoder = None
        if new_state is State.TLS:
            # RFC 3207 section 6 / CVE-2011-0411: anything the client sent
            # after STARTTLS was sent in plaintext before the handshake and
            # must not be read as if it came over TLS.
            self.discarded_after_starttls += len(self._buffer)
            self._buffer.clear()
        if new_state is State.READY or kind in (Kind.RSET, Kind.EHLO, Kind.HELO):
            self._chunk_size = 0
            self._chunk_too_big = False

    def tls_established(self) -> None:
        """The adapter finished the TLS handshake: the client must EHLO again."""
        if self.state is not State.TLS:
            raise LocalProtocolError("no STARTTLS was accepted")
        self.state = State.INIT


def _bad_sequence(verb: str) -> Reply:
    return Reply(code=503, lines=(f"bad sequence of commands: {verb} not allowed now",),
                 enhanced=(5, 5, 1))


class ClientConnection:
    """The client side of one SMTP session.

    Send commands with :meth:`send` (several at once when the server offers
    PIPELINING); read replies with :meth:`next_event`. Each reply is matched
    to the oldest command still waiting for one.
    """

    def __init__(self) -> None:
        self.state = State.GREETING
        self._buffer = bytearray()
        self._eof = False
        self._pending: deque[tuple[Kind, Command | None]] = deque([(Kind.GREETING, None)])
        self._reply_lines: list[str] = []
        self._reply_code: int | None = None
        self._encoder: DataEncoder | None = None
        self._chunk_left = 0
        #: The extensions of the last successful EHLO (keyword -> parameters).
        self.extensions: dict[str, str] = {}

    # -- output ------------------------------------------------------------------

    def _planned_state(self) -> State:
        """The state once every pending command has succeeded."""
        state = self.state
        for kind, _ in self._pending:
            if kind is Kind.GREETING:
                state = State.INIT
                continue
            for outcome in (outcome_of(250), outcome_of(354)):
                nxt = TRANSITIONS.get((state, kind, outcome))
                if nxt is not None:
                    state = nxt
                    break
        return state

    def send(self, event: Event) -> bytes:
        """Bytes to write for a command or for message content.

        Raises:
            LocalProtocolError: the command is not allowed now (checked
                against the state after the pending commands succeed, and
                nothing may follow an AUTH before its reply), or content is
                sent outside DATA/BDAT.
            ValueError: an argument contains CR, LF or NUL.
        """
        if isinstance(event, MessageData):
            if self._chunk_left:
                if len(event.data) > self._chunk_left:
                    raise LocalProtocolError("more data than the BDAT size announced")
                self._chunk_left -= len(event.data)
                return event.data
            if self.state is not State.DATA or self._pending or self._encoder is None:
                raise LocalProtocolError("message content may only follow a 354 reply")
            return self._encoder.encode(event.data)
        if isinstance(event, EndOfMessage):
            if self.state is not State.DATA or self._encoder is None or self._pending:
                raise LocalProtocolError("EndOfMessage outside DATA")
            data = self._encoder.finish()
            self._encoder = None
            self._pending.append((Kind.END_DATA, None))
            return data
        if not isinstance(event, Command):
            raise LocalProtocolError(f"a client does not send {type(event).__name__}")
        if self._chunk_left:
            raise LocalProtocolError("the BDAT chunk is not complete")
        if self.state is State.DATA and not self._pending:
            raise LocalProtocolError("finish the message (EndOfMessage) first")
        kind = kind_of(event)
        if any(k in (Kind.AUTH, Kind.AUTH_RESPONSE) for k, _ in self._pending):
            # A 334 challenge may come instead of a result: a command sent
            # now would be read as the SASL response (found by fuzz/).
            raise LocalProtocolError("wait for the reply to AUTH before sending more")
        planned = self._planned_state()
        if isinstance(event, AuthResponse):
            if planned is not State.AUTH:
                raise LocalProtocolError("no SASL challenge to answer")
            self._pending.append((kind, event))
            return (b"*" if event.cancelled else event.data.encode("ascii")) + b"\r\n"
        if (planned, kind) not in ALLOWED:
            raise LocalProtocolError(f"{kind.value} is not allowed in state {planned.value}")
        data = format_command(event)
        self._pending.append((kind, event))
        if isinstance(event, Bdat):
            self._chunk_left = event.size
        return data

    # -- input -------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add received bytes; ``b""`` means the server closed the connection."""
        if data:
            self._buffer += data
        else:
            self._eof = True

    def next_event(self) -> NextEvent:
        """The next :class:`Reply`, :data:`NEED_DATA`, or ``ConnectionClosed``.

        Raises:
            RemoteProtocolError: the server sent something that is not a
                reply, a reply nobody asked for, or a reply that does not fit
                the command (a 354 to MAIL).
        """
        while True:
            line, too_long = _take_line(self._buffer, MAX_REPLY_LINE)
            if too_long:
                raise RemoteProtocolError("reply line too long")
            if line is None:
                if self._eof:
                    self.state = State.CLOSED
                    return ConnectionClosed()
                return NEED_DATA
            parsed = parse_reply_line(line)
            if parsed is None:
                raise RemoteProtocolError(f"not an SMTP reply line: {line[:80]!r}")
            code, last, text = parsed
            if self._reply_code is not None and code != self._reply_code:
                raise RemoteProtocolError("reply code changed inside a multi-line reply")
            self._reply_code = code
            self._reply_lines.append(text)
            if len(self._reply_lines) > MAX_REPLY_LINES:
                raise RemoteProtocolError("too many lines in one reply")
            if last:
                break
        lines, enhanced = split_enhanced(self._reply_lines)
        reply = Reply(code=code, lines=lines, enhanced=enhanced)
        self._reply_lines = []
        self._reply_code = None
        self._settle(reply)
        return reply

    def _settle(self, reply: Reply) -> None:
        if reply.code == 421:
            # Service closing: whatever was pending is void.
            self.state = State.CLOSED
            self._pending.clear()
            return
        if not self._pending:
            raise RemoteProtocolError(f"unexpected reply: {reply}")
        kind, _ = self._pending.popleft()
        new_state = TRANSITIONS.get((self.state, kind, outcome_of(reply.code)))
        if new_state is None:
            if reply.is_positive or reply.is_intermediate:
                raise RemoteProtocolError(
                    f"reply {reply.code} does not fit {kind.value} in state {self.state.value}")
            return  # a refusal of a command the server saw out of sequence
        old = self.state
        self.state = new_state
        if kind is Kind.EHLO and reply.is_positive:
            self.extensions = parse_ehlo_keywords(reply)
        elif kind is Kind.HELO and reply.is_positive:
            self.extensions = {}
        if new_state is State.DATA and old is not State.DATA:
            self._encoder = DataEncoder()
        if new_state is State.TLS:
            self.extensions = {}

    def tls_established(self) -> None:
        """The adapter finished the TLS handshake: EHLO again next."""
        if self.state is not State.TLS:
            raise LocalProtocolError("STARTTLS was not accepted")
        self.state = State.INIT
        self._buffer.clear()

    @property
    def waiting(self) -> int:
        """How many commands still wait for their reply."""
        return len(self._pending)
