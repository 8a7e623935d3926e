"""POP3 targets: the server core fed command streams, the client core fed
response streams (the same plan as ``_smtp``; see its module docs).

``pop3-server``: :class:`ServerDriver` answers each command as the asyncio
server does (``+OK``/``-ERR`` per the table, multi-line content after a
multi-line ``+OK``, the real SASL mechanisms for AUTH), and checks: no
exception, only commands the state allows, the state moves as the table
says (QUIT in TRANSACTION enters UPDATE on receipt), the same events for any
chunking.

``pop3-client``: :class:`ClientDriver` pipelines commands its state allows
and reads responses (only ``RemoteProtocolError`` may come out), and runs
the client's response parsers on what it reads (STAT, LIST/UIDL lines,
CAPA, the APOP timestamp). The generator runs a client against a server
core and checks that every multi-line content arrives as sent (byte-stuffing
undone, bare LFs as CRLF) and that both ends agree on the state.
"""

from __future__ import annotations

import base64
import random
from typing import Any

from mimekit.pop3 import (
    NEED_DATA,
    PAUSED,
    Apop,
    Auth,
    AuthList,
    AuthResponse,
    Capa,
    ClientConnection,
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
    RemoteProtocolError,
    Response,
    ResponseData,
    Retr,
    Rset,
    ServerConnection,
    Stat,
    Stls,
    Top,
    Uidl,
    User,
)
from mimekit.pop3._client_logic import _ints, _num_and_word
from mimekit.pop3._connection import is_multiline, kind_of
from mimekit.pop3._states import ALLOWED, TRANSITIONS, Kind, Outcome, State
from mimekit.pop3._syntax import apop_timestamp, parse_capabilities
from mimekit.smtp._sasl import Challenge, Credentials, server_mechanism

from ._common import ClientDriverBase, chunkings, corpus_messages
from ._engine import Target
from ._smtp import _truncate

__all__ = ["POP3_TARGETS"]

_GREETING = "POP3 ready <1896.697170952@dbc.mtview.ca.us>"


def _wire_content(content: bytes) -> bytes:
    """What a client must read for content the server sent: bare LFs as
    CRLF, and a line ending added to a last line without one."""
    out = content.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return out + b"\r\n" if out and not out.endswith(b"\n") else out


class ServerDriver:
    """Drives a POP3 ServerConnection as the asyncio server does."""

    def __init__(self, answers: int = 0) -> None:
        self.conn = ServerConnection()
        self.rng = random.Random(answers)
        self.log: list[tuple[object, ...]] = []
        self.features: set[object] = set()
        #: The contents of the multi-line responses sent, in order.
        self.contents: list[bytes] = []
        self.closed = False
        self.tls = False
        self._sasl = None
        self._eof = False
        ok = self.rng.random() > 0.02
        self.out = bytearray(self.conn.send(Response(ok=ok, text=_GREETING if ok else "busy")))
        if not ok:
            self.closed = True

    def feed(self, data: bytes) -> bytes:
        if not self.closed:
            self.conn.receive_data(data)
            self._eof = self._eof or not data
        budget = 200 + 4 * len(data)
        while not self.closed:
            budget -= 1
            assert budget > 0, "the core makes no progress"
            before = self.conn.state
            event = self.conn.next_event()
            if event is NEED_DATA:
                assert not self._eof, "NEED_DATA after the end of input"
                break
            if event is PAUSED:
                assert self.conn.state is State.TLS, f"PAUSED in {self.conn.state}, nothing due"
                self.conn.tls_established()
                self.tls = True
                self.log.append(("TLS",))
                continue
            assert isinstance(event, Event)
            self._handle(event, before)
        out = bytes(self.out)
        self.out.clear()
        return out

    def _send(self, response: Response | Continuation, kind: Kind | None) -> None:
        before = self.conn.state
        command = self.conn.command
        outcome = Outcome.MORE if isinstance(response, Continuation) else (
            Outcome.OK if response.ok else Outcome.ERR)
        multiline = outcome is Outcome.OK and kind is not None and is_multiline(kind, command)
        content = self._pick_content() if multiline else b""
        bare = content.count(b"\n") != content.count(b"\r\n")
        # The hint must be true when given (it only saves work).
        hint = None if self.rng.random() < 0.5 else not bare
        if isinstance(response, Response):
            self.out += self.conn.send(response, crlf=hint if multiline else None)
        else:
            self.out += self.conn.send(response)
        after = self.conn.state
        self.log.append(("sent", outcome, after))
        self.features.add((before, kind, outcome, after))
        if kind is None:
            assert after is before, f"a refusal moved the state: {before} -> {after}"
        else:
            expected = TRANSITIONS[(before, kind, outcome)]
            assert after is expected, f"{before} + {kind} {outcome} -> {after}, not {expected}"
        if multiline:
            self.contents.append(content)
            self.log.append(("content", content))
            pos = 0
            while pos < len(content):
                step = self.rng.choice((1, 3, 100, 4096))
                self.out += self.conn.send(ResponseData(data=content[pos:pos + step]))
                pos += step
            self.out += self.conn.send(EndOfResponse())
        if after is State.CLOSED:
            self.closed = True

    def _pick_content(self) -> bytes:
        rng = self.rng
        if rng.random() < 0.3:
            return rng.choice(corpus_messages()[:200])
        return b"".join(rng.choice((b"line\r\n", b".dot\r\n", b".\r\n", b"..\r\n", b"bare\n",
                                    b".\n", b"\r", b"x", b"\r\n", b"\n.\n", b"1 120\r\n"))
                        for _ in range(rng.randint(0, 8)))

    def _answer(self, kind: Kind) -> None:
        state = self.conn.state
        if self.rng.random() < 0.01:
            self.out += self.conn.abort(Response(ok=False, text="closing"))
            self.log.append(("abort",))
            self.closed = True
            return
        outcomes = [o for o in (Outcome.OK, Outcome.ERR, Outcome.MORE)
                    if (state, kind, o) in TRANSITIONS]
        assert outcomes, f"nothing answers {kind} in {state}"
        outcome = Outcome.OK if Outcome.OK in outcomes and self.rng.random() < 0.7 \
            else self.rng.choice(outcomes)
        if outcome is Outcome.MORE:
            self._send(Continuation(data=base64.b64encode(b"challenge").decode()), kind)
        else:
            self._send(Response(ok=outcome is Outcome.OK, text="x" if outcome is Outcome.OK
                                else "no", code=self.rng.choice((None, None, "IN-USE",
                                                                 "SYS/TEMP", "AUTH"))), kind)

    def _auth(self, kind: Kind, data: str | None, mechanism: str | None) -> None:
        if mechanism is not None:
            self._sasl = server_mechanism(mechanism)
        sasl = self._sasl
        if sasl is None or self.rng.random() < 0.1:
            self._sasl = None
            self._answer(kind)
            return
        result = sasl.step(data)
        self.features.add(("sasl", type(result).__name__))
        if isinstance(result, Challenge):
            self._send(Continuation(data=result.challenge or ""), kind)
            return
        self._sasl = None
        ok = isinstance(result, Credentials) and result.password == "secret"
        self._send(Response(ok=ok, text="auth"), kind)

    def _handle(self, event: Event, before: State) -> None:
        if isinstance(event, ConnectionClosed):
            self.log.append(("closed",))
            assert self.conn.next_event() == ConnectionClosed(), "not closed for good"
            self.closed = True
            return
        if isinstance(event, InvalidCommand):
            assert not event.response.ok, event
            if isinstance(event.line, bytes) and event.line.upper().startswith(b"PASS "):
                raise AssertionError("a password kept in InvalidCommand.line")
            self.log.append(("invalid", event.response.text))
            self.features.add(("invalid", before))
            self._send(event.response, None)
            return
        assert isinstance(event, Command), event
        kind = kind_of(event)
        assert (before, kind) in ALLOWED, f"the core handed out {kind} in {before}"
        self.log.append(("command", event))
        if isinstance(event, Auth):
            self._auth(kind, event.initial_response, event.mechanism)
        elif isinstance(event, AuthResponse):
            self._auth(kind, "*" if event.cancelled else event.data, None)
        else:
            self._answer(kind)


def run_server(data: bytes) -> set[object]:
    """POP3 server core on a client's byte stream: never raises; follows the
    table; the same events for any chunking."""
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


class ClientDriver(ClientDriverBase):
    """Drives a POP3 ClientConnection; runs the client's parsers on what it reads."""

    need_data = NEED_DATA
    closed_type = ConnectionClosed
    remote_error = RemoteProtocolError

    def __init__(self, plan: int) -> None:
        self.conn = ClientConnection()
        self.rng = random.Random(plan)
        self.log: list[tuple[object, ...]] = []
        self.features: set[object] = set()
        #: The multi-line contents read, in order.
        self.contents: list[bytes] = []
        self.finished = False
        self.done = False
        self.batches = 0
        self._pending: list[Command] = []
        self._content = bytearray()
        self._in_content = False
        self._eof = False

    def _command(self, planned: State) -> Command | None:
        rng = self.rng
        if planned is State.SASL:
            if rng.random() < 0.1:
                return AuthResponse(data="", cancelled=True)
            return AuthResponse(data=base64.b64encode(rng.choice(
                (b"alice", b"secret", b"\x00alice\x00secret"))).decode())
        options = [k for k in Kind if (planned, k) in ALLOWED
                   and k not in (Kind.AUTH_RESPONSE, Kind.GREETING)]
        if not options:
            return None
        weights = {Kind.QUIT: 0.2, Kind.STLS: 0.2, Kind.RETR: 3, Kind.LIST: 2, Kind.USER: 3,
                   Kind.PASS: 3}
        kind = rng.choices(options, [weights.get(k, 1) for k in options])[0]
        n = rng.choice((1, 2, 3, 100))
        made: dict[Kind, Command] = {
            Kind.USER: User(name="alice"), Kind.PASS: Pass(password="secret s"),
            Kind.APOP: Apop(name="alice", digest="0" * 32),
            Kind.AUTH: Auth(mechanism=rng.choice(("PLAIN", "LOGIN", "X-NONE")),
                            initial_response=rng.choice((None, "AGFsaWNlAHNlY3JldA==", "="))),
            Kind.STAT: Stat(), Kind.LIST: List(msg=rng.choice((None, n))),
            Kind.RETR: Retr(msg=n), Kind.DELE: Dele(msg=n), Kind.NOOP: Noop(), Kind.RSET: Rset(),
            Kind.QUIT: Quit(), Kind.TOP: Top(msg=n, lines=rng.choice((0, 5))),
            Kind.UIDL: Uidl(msg=rng.choice((None, n))), Kind.CAPA: Capa(), Kind.STLS: Stls(),
            Kind.AUTH_LIST: AuthList(),
        }
        return made[kind]

    def act(self) -> bytes:
        conn = self.conn
        if self.done or self.finished or conn.waiting or conn.in_response or conn.state in (
                State.CLOSED, State.TLS, State.GREETING, State.UPDATE):
            return b""
        self.batches += 1
        out = bytearray()
        if self.batches > 40:
            if (conn.state, Kind.QUIT) in ALLOWED:
                out += conn.send(Quit())
                self._pending.append(Quit())
            self.done = True
            return bytes(out)
        planned = conn.state
        for _ in range(self.rng.choice((1, 1, 2, 4))):
            command = self._command(planned)
            if command is None:
                break
            kind = kind_of(command)
            out += conn.send(command)
            self._pending.append(command)
            self.features.add(("sent", planned, kind))
            planned = TRANSITIONS.get((planned, kind, Outcome.RECEIVED), planned)
            nxt = TRANSITIONS.get((planned, kind, Outcome.OK)) or TRANSITIONS.get(
                (planned, kind, Outcome.MORE))
            if nxt is None or nxt in (State.SASL, State.TLS, State.CLOSED) \
                    or kind in (Kind.AUTH, Kind.AUTH_RESPONSE):
                break  # the core refuses to pipeline behind these
            planned = nxt
        return bytes(out)

    def _parse(self, command: Command | None, event: Response) -> None:
        """The client's response parsers (documented errors only)."""
        try:
            if command is None:
                apop_timestamp(event.text)
            elif isinstance(command, Stat) and event.ok:
                _ints(event.text, "STAT")
            elif isinstance(command, List | Uidl) and command.msg is not None and event.ok:
                (_ints if isinstance(command, List) else _num_and_word)(event.text, "LIST")
        except RemoteProtocolError:
            self.features.add(("parse-error", type(command).__name__))

    def _parse_content(self, command: Command | None, content: bytes) -> None:
        lines = content.decode("utf-8", "replace").splitlines()
        try:
            if isinstance(command, Capa):
                parse_capabilities(lines)
            elif isinstance(command, List):
                for line in lines:
                    _ints(line, "LIST")
            elif isinstance(command, Uidl):
                for line in lines:
                    _num_and_word(line, "UIDL")
        except RemoteProtocolError:
            self.features.add(("parse-error", type(command).__name__))

    def handle(self, event: Any) -> bytes:
        if isinstance(event, ResponseData):
            assert self._in_content, "ResponseData outside a multi-line response"
            self._content += event.data
            return b""
        if isinstance(event, EndOfResponse):
            assert self._in_content, "EndOfResponse outside a multi-line response"
            content = bytes(self._content)
            self._content.clear()
            self._in_content = False
            self.contents.append(content)
            self.log.append(("content", content))
            self._parse_content(self._current, content)
            return b""
        assert isinstance(event, Response | Continuation), event
        command = self._pending.pop(0) if self._greeted and self._pending else None
        self._greeted = True
        self._current = command
        self.log.append(("response", event, self.conn.state))
        self.features.add(("response", type(event).__name__, self.conn.state))
        if isinstance(event, Response):
            self._parse(command, event)
            self._in_content = self.conn.in_response
        if self.conn.state is State.TLS:
            self.log.append(("TLS",))
            self.finished = True
        elif self.conn.state is State.CLOSED:
            self.finished = True
        return b""

    _current: Command | None = None
    _greeted = False


def run_client(data: bytes) -> set[object]:
    """POP3 client core on a server's byte stream (after two plan bytes):
    only RemoteProtocolError on the receive path; the same events for any
    chunking; the response parsers raise only their documented error."""
    plan, stream = int.from_bytes(data[:2], "big"), data[2:]
    logs = []
    features: set[object] = set()
    for pieces in [[stream], *chunkings(stream)]:
        client = ClientDriver(plan)
        client.pump()
        for piece in [*(p for p in pieces if p), b""]:
            if client.finished:
                break
            client.receive(piece)
            client.pump()
        logs.append(client.log)
        features |= client.features
    assert all(log == logs[0] for log in logs), "another chunking gives other events"
    return features


def pair(rng: random.Random) -> bytes:
    """A client and a server core over a fake wire; checks that multi-line
    contents arrive as sent and that both ends agree on the state."""
    plan = rng.randrange(1 << 16)
    client = ClientDriver(plan)
    server = ServerDriver(rng.randrange(1 << 30))
    stream = bytearray(server.out)
    server.out.clear()
    client.receive(bytes(stream))
    for _ in range(200):
        sent = client.pump()
        if client.finished or (not sent and not server.out):
            break
        reply = server.feed(sent)
        stream += reply
        if reply:
            client.receive(reply)
        client.pump(act=False)  # read all of it before comparing the states
        idle = not client.conn.waiting and not client.conn.in_response
        if idle and not server.closed and not server.tls and not client.finished:
            assert client.conn.state is server.conn.state, \
                f"client in {client.conn.state}, server in {server.conn.state}"
        if server.closed or server.tls:
            client.pump()
            break
    sent_contents = [_wire_content(c) for c in server.contents]
    got = client.contents
    assert got == sent_contents[:len(got)], "multi-line content changed on the way"
    return plan.to_bytes(2, "big") + bytes(stream)


# -- command streams ----------------------------------------------------------------------


def _line(rng: random.Random, nl: bytes) -> bytes:
    r = rng.randrange(16)
    n = rng.choice((b"1", b"2", b"0", b"-1", b"99999999999999999999", b"x", b"01"))
    if r < 2:
        return b"USER " + rng.choice((b"alice", b"", b"a b", b"\xc3\xa9")) + nl
    if r < 4:
        return b"PASS " + rng.choice((b"secret", b"s e c", b"", b"\x00")) + nl
    if r == 4:
        return b"APOP alice " + rng.choice((b"c4c9334bac560ecc979e58001b3e22fb", b"x")) + nl
    if r == 5:
        plain = base64.b64encode(b"\x00alice\x00secret")
        return rng.choice((b"AUTH PLAIN " + plain + nl, b"AUTH PLAIN" + nl + plain + nl,
                           b"AUTH LOGIN" + nl + base64.b64encode(b"alice") + nl + b"*" + nl,
                           b"AUTH PLAIN =" + nl, b"AUTH X" + nl, b"AUTH PLAIN !!" + nl))
    if r < 10:
        return rng.choice((b"RETR ", b"DELE ", b"LIST ", b"UIDL ", b"TOP ")) + n + (
            b" " + rng.choice((b"0", b"10", b"x")) if rng.random() < 0.3 else b"") + nl
    if r == 10:
        return b"X" * rng.choice((254, 510, 600, 13000)) + nl
    return rng.choice((b"STAT", b"LIST", b"UIDL", b"NOOP", b"RSET", b"QUIT", b"CAPA", b"STLS",
                       b"STLS x", b"", b"stat", b"NOOP x", b"\x00", b"RETR")) + nl


def generate_commands(rng: random.Random) -> bytes:
    """A client's side of a POP3 session: mostly coherent, pipelined, with junk."""
    nl = b"\r\n" if rng.random() < 0.9 else b"\n"
    out = [b"USER alice" + nl + b"PASS secret" + nl] if rng.random() < 0.7 else []
    out += [_line(rng, nl) for _ in range(rng.randint(1, 15))]
    if rng.random() < 0.5:
        out.append(b"QUIT" + nl)
    return b"".join(out)


def _server_seeds() -> list[bytes]:
    return [b"CAPA\r\nUSER alice\r\nPASS secret\r\nSTAT\r\nLIST\r\nRETR 1\r\nTOP 1 0\r\n"
            b"UIDL\r\nDELE 1\r\nQUIT\r\n",
            b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nSTLS\r\nUSER injected\r\n",
            b"APOP alice c4c9334bac560ecc979e58001b3e22fb\r\nRSET\r\nNOOP\r\nQUIT\r\n"]


def _client_seeds() -> list[bytes]:
    return [b"\x00\x01+OK ready <1.2@x>\r\n+OK\r\n+OK\r\n+OK 2 320\r\n+OK\r\n1 120\r\n.\r\n",
            b"\x00\x02-ERR [IN-USE] busy\r\n"]


_TOKENS = (b"+OK ", b"-ERR ", b"+ ", b"\r\n.\r\n", b"\n.\n", b"..", b"[IN-USE]", b"USER x\r\n",
           b"PASS y\r\n", b"RETR 1\r\n", b"LIST\r\n", b"AUTH PLAIN\r\n", b"STLS\r\n")

POP3_TARGETS = [
    Target("pop3-server", run_server, _server_seeds, generate_commands, tokens=_TOKENS,
           gen_share=0.5, max_len=1 << 15),
    Target("pop3-client", run_client, _client_seeds, pair, tokens=_TOKENS, gen_share=0.5,
           max_len=1 << 15),
]
