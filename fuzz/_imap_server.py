"""The ``imap-server`` target: the server core fed a client's byte stream
(see ``fuzz/_imap.py`` for what it checks)."""

from __future__ import annotations

import base64
import random

from mimekit.codecs import decode_imap_utf7
from mimekit.imap import (
    NEED_DATA,
    PAUSED,
    Append,
    Atom,
    Authenticate,
    AuthenticateData,
    Capability,
    CapabilityResponse,
    Command,
    ConnectionClosed,
    ContinuationRequest,
    Copy,
    DataResponse,
    Enable,
    EnabledResponse,
    Event,
    Examine,
    ExistsResponse,
    Expunge,
    ExpungeResponse,
    Fetch,
    FetchResponse,
    FlagsResponse,
    Id,
    Idle,
    IdleDone,
    IdResponse,
    InvalidCommand,
    List,
    ListResponse,
    LiteralAnnounced,
    LocalProtocolError,
    Logout,
    Lsub,
    MailboxStatusResponse,
    Move,
    Namespace,
    NamespaceResponse,
    RecentResponse,
    ResponseCode,
    Search,
    SearchResponse,
    Select,
    ServerConnection,
    Status,
    StatusResponse,
    check_atom,
)
from mimekit.imap._fetch_data import MessageData
from mimekit.imap._search import SearchSyntaxError, parse_search
from mimekit.imap._sections import Section, SectionError
from mimekit.imap._seqset import SequenceSet, SequenceSetError
from mimekit.imap._states import ALLOWED, TRANSITIONS, Outcome, State

from ._common import chunkings, corpus_messages
from ._smtp import _truncate

__all__ = ["ServerDriver", "generate_commands", "run_server"]

#: Small limits, so that the refusals are reached often.
MAX_LINE = 4096
MAX_LITERAL = 2048

_FLAGS = (Atom("\\Seen"), Atom("\\Answered"), Atom("\\Deleted"), Atom("$Junk"))


def _writable_tag(tag: str) -> bool:
    try:
        check_atom(tag)
    except LocalProtocolError:
        return False
    return True


def _server_parsers(command: Command, features: set[object]) -> None:
    """What an adapter parses in a command before acting on it; each parser
    may raise only its documented error (the adapter answers BAD)."""
    seq = getattr(command, "sequence_set", None)
    try:
        if isinstance(seq, str):
            parsed = SequenceSet.parse(seq)
            parsed.ranges(100)
            parsed.ranges(0)
            str(parsed)
        if isinstance(command, Search):
            parse_search(command.criteria, command.charset)
        if isinstance(command, Fetch):
            for item in command.items:
                if "[" in item:
                    spec = item[item.index("[") + 1:item.rindex("]")] if "]" in item else ""
                    Section.parse(spec)
        for name in ("mailbox", "new_name"):
            value = getattr(command, name, None)
            if isinstance(value, str):
                decode_imap_utf7(value)
    except (SequenceSetError, SearchSyntaxError, SectionError) as exc:
        features.add(("arg-error", type(exc).__name__))


class ServerDriver:
    """Drives an IMAP ServerConnection as an adapter does; checks invariants."""

    def __init__(self, answers: int = 0) -> None:
        self.conn = ServerConnection(max_line=MAX_LINE, max_literal=MAX_LITERAL)
        self.rng = random.Random(answers)
        self.log: list[tuple[object, ...]] = []
        self.features: set[object] = set()
        self.closed = False
        self.tls = False
        self._eof = False
        self._challenges = 0
        roll = self.rng.random()
        status = "OK" if roll < 0.9 else "PREAUTH" if roll < 0.98 else "BYE"
        greeting = StatusResponse(status=status, code=ResponseCode(
            name="CAPABILITY", values=(Atom("IMAP4rev1"), Atom("LITERAL+"), Atom("IDLE"))),
            text="ready")
        self.out = bytearray(self.conn.send(greeting))
        self.closed = status == "BYE"

    def feed(self, data: bytes) -> bytes:
        if not self.closed:
            self.conn.receive_data(data)
            self._eof = self._eof or not data
        budget = 300 + 4 * len(data)
        while not self.closed:
            budget -= 1
            assert budget > 0, "the core makes no progress"
            event = self.conn.next_event()
            if event is NEED_DATA:
                assert not self._eof, "NEED_DATA after the end of input"
                break
            if event is PAUSED:
                assert self.conn.tls_pending, "PAUSED with nothing due"
                self.conn.tls_established()
                self.tls = True
                self.log.append(("TLS",))
                continue
            assert isinstance(event, Event)
            self._handle(event)
        out = bytes(self.out)
        self.out.clear()
        return out

    def _send(self, response: StatusResponse | ContinuationRequest | DataResponse) -> None:
        self.out += self.conn.send(response)
        if self.conn.state is State.LOGOUT:
            self.closed = True

    def _data(self, command: Command) -> None:
        """Untagged data an adapter would send for the command."""
        rng = self.rng
        out: list[DataResponse] = []
        if isinstance(command, Select | Examine):
            out = [FlagsResponse(flags=tuple(_FLAGS)), ExistsResponse(count=rng.randint(0, 9)),
                   RecentResponse(count=0)]
        elif isinstance(command, Fetch):
            items: dict[str, object] = {"FLAGS": (_FLAGS[0],), "UID": rng.randint(1, 99)}
            if rng.random() < 0.5:
                data = MessageData(rng.choice(corpus_messages()[:100]))
                items.update({"ENVELOPE": data.envelope(), "BODYSTRUCTURE": data.body_structure(),
                              "RFC822.SIZE": data.rfc822_size,
                              "BODY[HEADER]": data.section("HEADER"),
                              "INTERNALDATE": "17-Jul-1996 02:44:25 -0700"})
            out = [FetchResponse(seq=rng.randint(1, 9), items=items)]
        elif isinstance(command, Search):
            out = [SearchResponse(numbers=tuple(rng.sample(range(1, 50), rng.randint(0, 5))))]
        elif isinstance(command, List | Lsub):
            out = [ListResponse(flags=("\\HasNoChildren",), delimiter="/", mailbox="INBOX",
                                kind="LSUB" if isinstance(command, Lsub) else "LIST")]
        elif isinstance(command, Status):
            out = [MailboxStatusResponse(mailbox=command.mailbox, items={"MESSAGES": 3})]
        elif isinstance(command, Capability):
            out = [CapabilityResponse(capabilities=("IMAP4rev1", "LITERAL+", "IDLE", "UIDPLUS",
                                                    "ENABLE", "MOVE"))]
        elif isinstance(command, Id):
            out = [IdResponse(params={"name": "fuzz"})]
        elif isinstance(command, Namespace):
            out = [NamespaceResponse(personal=(("", "/"),))]
        elif isinstance(command, Enable):
            # Only what the server knows is echoed back as enabled.
            out = [EnabledResponse(capabilities=tuple(
                c for c in command.capabilities if c.upper() in ("UTF8=ACCEPT", "CONDSTORE")))]
        elif isinstance(command, Expunge):
            out = [ExpungeResponse(seq=1)]
        for response in out:
            self._send(response)

    def _complete(self, command: Command, outcome: Outcome | None = None) -> None:
        state = self.conn.state
        outcomes = [o for o in (Outcome.OK, Outcome.NO, Outcome.BAD)
                    if (state, command.kind, o) in TRANSITIONS]
        assert outcomes, f"nothing completes {command.kind} in {state}"
        if outcome is None:
            outcome = Outcome.OK if Outcome.OK in outcomes and self.rng.random() < 0.7 \
                else self.rng.choice(outcomes)
        code = None
        if outcome is Outcome.OK and isinstance(command, Append):
            code = ResponseCode(name="APPENDUID", values=(7, self.rng.randint(1, 9)))
        elif outcome is Outcome.OK and isinstance(command, Copy | Move):
            code = ResponseCode(name="COPYUID", values=(7, Atom("1:3"), Atom("4:6")))
        elif outcome is Outcome.OK and isinstance(command, Select):
            code = ResponseCode(name="READ-WRITE")
        if outcome is Outcome.OK:
            self._data(command)
        if isinstance(command, Logout) and outcome is Outcome.OK:
            self._send(StatusResponse(status="BYE", text="bye"))
        before = self.conn.state
        self._send(StatusResponse(tag=command.tag, status=outcome.value, code=code, text="done"))
        after = self.conn.state
        self.log.append(("tagged", command.tag, outcome, after))
        self.features.add((before, command.kind, outcome, after))
        if before is not State.LOGOUT:
            expected = TRANSITIONS[(before, command.kind, outcome)]
            assert after is expected, f"{before} + {command.kind} {outcome} -> {after}"

    def _handle(self, event: Event) -> None:
        rng = self.rng
        state = self.conn.state
        if isinstance(event, ConnectionClosed):
            self.log.append(("closed",))
            assert self.conn.next_event() == ConnectionClosed(), "not closed for good"
            self.closed = True
            return
        tag = getattr(event, "tag", None)
        # Every tag the core hands out must be writable in the response
        # (it once accepted 8-bit tags, and no response could carry them).
        assert not isinstance(tag, str) or _writable_tag(tag), f"unwritable tag {tag!r}"
        if isinstance(event, InvalidCommand):
            assert event.response.status in ("BAD", "NO"), event
            self.log.append(("invalid", event.tag, event.response.status))
            self.features.add(("invalid", state, event.response.status,
                               event.response.code and event.response.code.name))
            self._send(event.response)
            return
        if isinstance(event, LiteralAnnounced):
            self.log.append(("literal", event.tag, event.size))
            assert event.size <= MAX_LITERAL, "a literal over max_literal was announced"
            if rng.random() < 0.85:
                self._send(ContinuationRequest(text="go on"))
            else:
                self._send(StatusResponse(tag=event.tag, status="NO", text="no literal"))
            return
        due = self.conn.due
        if isinstance(event, AuthenticateData):
            assert isinstance(due, Authenticate), "AuthenticateData without AUTHENTICATE"
            self.log.append(("auth-data", event.cancelled))
            self._challenges += 1
            if not event.cancelled and self._challenges < 3 and rng.random() < 0.3:
                self._send(ContinuationRequest(text=base64.b64encode(b"more").decode()))
            else:
                outcome = Outcome.BAD if event.cancelled else None
                self._complete(due, outcome)
            return
        if isinstance(event, IdleDone):
            assert isinstance(due, Idle), "DONE without IDLE"
            self.log.append(("done",))
            self._complete(due, Outcome.OK)
            return
        assert isinstance(event, Command), event
        assert (state, event.kind) in ALLOWED, f"the core handed out {event.kind} in {state}"
        assert due is event, "the command is not the one due"
        self.log.append(("command", event))
        _server_parsers(event, self.features)
        if rng.random() < 0.01:
            self._send(StatusResponse(status="BYE", text="shutting down"))
            self.closed = True
            return
        if isinstance(event, Authenticate) and rng.random() < 0.6:
            self._challenges = 0
            self._send(ContinuationRequest(text=""))
        elif isinstance(event, Idle) and rng.random() < 0.8:
            self._send(ContinuationRequest(text="idling"))
            if rng.random() < 0.5:
                self._send(ExistsResponse(count=4))
        else:
            self._complete(event)


def run_server(data: bytes) -> set[object]:
    """IMAP server core on a client's byte stream: never raises; follows the
    table; argument parsers raise only their documented errors; the same
    events for any chunking."""
    whole = ServerDriver()
    whole.feed(data)
    whole.feed(b"")
    reference = _truncate(whole.log)
    for pieces in chunkings(data):
        other = ServerDriver()
        for piece in pieces:
            if piece and not other.closed:
                other.feed(piece)
        other.feed(b"")
        assert _truncate(other.log) == reference, "another chunking gives other events"
    return whole.features


# -- the client ---------------------------------------------------------------------------

_ARGS = (b"INBOX", b"\"a b\"", b"{3}\r\nabc", b"{3+}\r\nabc", b"~{2}\r\n\x00\x01", b"NIL",
         b"(\\Seen \\Deleted)", b"1:*", b"*", b"0", b"1,2,3:5", b"4294967296", b"\"\\\"\"",
         b"(a (b (c)))", b"&AOk-", b"&Jjo", b"{99999}\r\n", b"{0}\r\n", b"\"unclosed")


def _imap_line(rng: random.Random, tag: bytes) -> bytes:
    r = rng.randrange(24)
    arg = rng.choice(_ARGS)
    if r < 3:
        return tag + b" LOGIN " + rng.choice((b"alice secret", b"{5}\r\nalice {6}\r\nsecret",
                                              b"\"a\" \"b\"", b"alice", arg + b" " + arg))
    if r < 5:
        return tag + b" " + rng.choice((b"SELECT", b"EXAMINE", b"CREATE", b"DELETE",
                                        b"SUBSCRIBE", b"STATUS", b"RENAME")) + b" " + arg + (
            b" (MESSAGES UIDNEXT)" if rng.random() < 0.3 else b"")
    if r < 8:
        items = rng.choice((b"FLAGS", b"(FLAGS UID)", b"ALL", b"FULL", b"BODY[]",
                            b"(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]<0.100>)",
                            b"BODY[1.2.MIME]", b"BODY[TEXT]<5>", b"(BINARY[1] ENVELOPE)",
                            b"BODY[HEADER.FIELDS ()]", b"BODY[0]", b"(x"))
        return tag + rng.choice((b" FETCH ", b" UID FETCH ")) + rng.choice(_ARGS[6:12]) + \
            b" " + items
    if r < 10:
        crit = rng.choice((b"ALL", b"UNSEEN SINCE 1-Jan-2024", b"OR FROM a TO b",
                           b"NOT (SUBJECT {3}\r\nabc)", b"CHARSET UTF-8 BODY x", b"CHARSET X y",
                           b"HEADER X-A b", b"UID 1:*", b"LARGER x", b"(((((ALL)))))",
                           b"OR OR OR a", b"1:3 SEEN"))
        if rng.random() < 0.3:
            order = rng.choice((b"(DATE)", b"(REVERSE SUBJECT SIZE)", b"(DISPLAYFROM ARRIVAL)",
                                b"(REVERSE)", b"()", b"(FOO)", b"DATE"))
            return tag + rng.choice((b" SORT ", b" UID SORT ")) + order + b" UTF-8 " + crit
        return tag + rng.choice((b" SEARCH ", b" UID SEARCH ")) + crit
    if r < 12:
        msg = rng.choice(corpus_messages()[:50])[:rng.choice((10, 200, 3000))]
        head = tag + b" APPEND INBOX " + rng.choice((b"", b"(\\Seen) ",
                                                      b"\"01-Jan-2024 00:00:00 +0000\" "))
        return head + b"{%d%s}\r\n" % (len(msg), rng.choice((b"", b"+"))) + msg
    if r == 12:
        return tag + rng.choice((b" STORE 1 +FLAGS (\\Seen)", b" UID STORE 1:* FLAGS.SILENT ()",
                                 b" STORE 1 -FLAGS \\Deleted", b" STORE x FLAGS y"))
    if r == 13:
        return tag + rng.choice((b" COPY 1 Archive", b" UID MOVE 1:3 {4}\r\nWork", b" MOVE"))
    if r == 14:
        return tag + b" AUTHENTICATE PLAIN" + rng.choice((b"", b" AGFsaWNlAHNlY3JldA==")) + (
            b"\r\n" + rng.choice((b"AGFsaWNlAHNlY3JldA==", b"*", b"", b"!!")))
    if r == 15:
        return tag + b" IDLE\r\n" + rng.choice((b"DONE", b"done", b"NOOP", b"A1 NOOP"))
    if r == 16:
        return tag + b" STARTTLS\r\n" + tag + b"x NOOP"
    if r == 17:
        return tag + b" X" + b"a" * rng.choice((100, 4090, 5000))
    if r == 18:
        return tag + b" LIST \"\" " + rng.choice((b"*", b"%", b"\"\"", b"{1}\r\n*"))
    if r == 19:
        return tag + b" ID (" + rng.choice((b"\"name\" \"x\"", b"NIL", b"\"a\"")) + b")"
    if r == 20:
        return tag + b" ENABLE " + rng.choice((b"UTF8=ACCEPT", b"CONDSTORE", b""))
    return tag + b" " + rng.choice((b"NOOP", b"CAPABILITY", b"LOGOUT", b"CHECK", b"CLOSE",
                                    b"UNSELECT", b"EXPUNGE", b"UID EXPUNGE 1:3", b"NAMESPACE",
                                    b"UID", b"UID NOOP", b"", b"FOO", b"noop x", b"LSUB \"\" *"))


def generate_commands(rng: random.Random) -> bytes:
    """A client's side of an IMAP session: literals (synchronizing, LITERAL+,
    literal8), UID commands, SEARCH and FETCH grammars, AUTHENTICATE, IDLE,
    STARTTLS, long lines, pipelined, with junk."""
    nl = b"\r\n" if rng.random() < 0.9 else b"\n"
    lines = [b"a0 LOGIN alice secret", b"a1 SELECT INBOX"] if rng.random() < 0.7 else []
    for i in range(rng.randint(1, 12)):
        tag = rng.choice((b"t%d" % i, b"t%d" % i, b"*", b"+", b"", b"t(", b"x" * 70))
        lines.append(_imap_line(rng, tag))
    if rng.random() < 0.5:
        lines.append(b"z LOGOUT")
    return nl.join(lines) + nl


def _server_seeds() -> list[bytes]:
    return [b"a LOGIN alice secret\r\nb SELECT INBOX\r\nc FETCH 1:* (FLAGS BODY.PEEK[])\r\n"
            b"d UID SEARCH UNSEEN\r\ne APPEND INBOX {5}\r\nhello\r\nf IDLE\r\nDONE\r\n"
            b"g LOGOUT\r\n",
            b"a AUTHENTICATE PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\nb STARTTLS\r\nc NOOP\r\n",
            b"a LOGIN {5+}\r\nalice {6+}\r\nsecret\r\nb APPEND x {9999999}\r\n"]
