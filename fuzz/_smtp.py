"""SMTP targets: the server core fed command streams, the client core fed
reply streams.

``smtp-server``: the input is what a client sends. :class:`ServerDriver`
drives a :class:`~mimekit.smtp.ServerConnection` the way the asyncio server
does: it answers every event that needs a reply with a reply the transition
table allows (the real SASL mechanisms answer AUTH), and checks that the
core never raises, hands out only commands its state allows, moves the
state exactly as the table says, never delivers more than the SIZE limit,
reports bare line endings and long lines truthfully, and gives the same
events for any chunking of the input.

``smtp-client``: the input is two bytes choosing the client's plan, then
what the server sends. :class:`ClientDriver` sends pipelined batches of
commands its state allows (and the message content after a 354), and reads
replies; the only exception allowed on the receive path is
``RemoteProtocolError``. The generator runs a client driver against a
server driver (a connection pair over a fake wire) and records the server's
bytes, checking that both ends agree on the state whenever the client is
idle.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterable
from typing import Any

from mimekit.smtp import (
    NEED_DATA,
    PAUSED,
    Auth,
    AuthResponse,
    Bdat,
    ChunkEnd,
    ClientConnection,
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
    RemoteProtocolError,
    Reply,
    Rset,
    ServerConnection,
    StartTLS,
    Vrfy,
)
from mimekit.smtp._connection import kind_of
from mimekit.smtp._sasl import Challenge, Credentials, server_mechanism
from mimekit.smtp._states import ALLOWED, TRANSITIONS, Kind, Outcome, State

from ._common import ClientDriverBase, chunkings, corpus_messages
from ._engine import Target

__all__ = ["SMTP_TARGETS", "ClientDriver", "ServerDriver"]

#: The server's SIZE limit: small, so that "too big" is reached often.
MAX_SIZE = 3000

_OK_CODE = {Kind.QUIT: 221, Kind.STARTTLS: 220, Kind.AUTH: 235, Kind.AUTH_RESPONSE: 235,
            Kind.VRFY: 252, Kind.HELP: 214, Kind.GREETING: 220}
_MORE_CODE = {Kind.DATA: 354, Kind.AUTH: 334, Kind.AUTH_RESPONSE: 334}
_FAIL_CODES = (450, 451, 452, 500, 501, 502, 503, 504, 530, 535, 550, 552, 553, 554, 555)
_EHLO_LINES = ("PIPELINING", "SIZE 3000", "SIZE", "SIZE x", "8BITMIME", "SMTPUTF8", "CHUNKING",
               "DSN", "STARTTLS", "AUTH PLAIN LOGIN CRAM-MD5", "AUTH=LOGIN", "ENHANCEDSTATUSCODES",
               "X-WEIRD  a  b", "", "HELP")


def _bare_and_long(content: bytes) -> tuple[bool, bool]:
    """What DataDecoder must report for this unstuffed content (see smtp._data)."""
    crlf = content.count(b"\r\n")
    bare = content.count(b"\n") != crlf or content.count(b"\r") != crlf
    lines = content.split(b"\n")
    long = any(len(x) + 1 > 1000 for x in lines[:-1]) or len(lines[-1]) > 1000
    return bare, long


class ServerDriver:
    """Drives a ServerConnection as the asyncio server does; checks invariants.

    :meth:`feed` takes client bytes (``b""`` for the end of input) and
    returns the bytes the server writes. :attr:`log` records what happened,
    for comparing chunkings.
    """

    def __init__(self, answers: int = 0, max_size: int = MAX_SIZE) -> None:
        self.conn = ServerConnection(max_size=max_size)
        self.rng = random.Random(answers)
        self.max_size = max_size
        self.log: list[tuple[object, ...]] = []
        self.features: set[object] = set()
        self.closed = False
        self.tls = False
        self._sasl = None
        self._content = bytearray()  # the current DATA message, as delivered
        self._delivered = 0  # octets delivered in this transaction (BDAT)
        self._chunk_open = False
        self._eof = False
        greeting = Reply(code=554, lines=("no service",)) if self.rng.random() < 0.02 else \
            Reply(code=220, lines=("mx.example ESMTP",))
        self.out = bytearray(self.conn.send(greeting))

    def feed(self, data: bytes) -> bytes:
        if self._eof and not self.closed:
            raise AssertionError("input after the end of input")
        if data:
            self.conn.receive_data(data)
        else:
            self._eof = True
            self.conn.receive_data(b"")
        budget = 200 + 4 * len(data)
        while not self.closed:
            budget -= 1
            assert budget > 0, "the core makes no progress"
            event = self.conn.next_event()
            if event is NEED_DATA:
                assert not self._eof, "NEED_DATA after the end of input"
                break
            if event is PAUSED:
                assert self.conn.state is State.TLS, f"PAUSED in {self.conn.state} with nothing due"
                self.conn.tls_established()
                self.tls = True
                self.log.append(("TLS",))
                continue
            assert isinstance(event, Event)
            self._handle(event)
        out = bytes(self.out)
        self.out.clear()
        return out

    # -- events -------------------------------------------------------------------------

    def _say(self, reply: Reply, kind: Kind | None) -> None:
        before = self.conn.state
        self.out += self.conn.send(reply)
        after = self.conn.state
        self.log.append(("reply", reply.code, after))
        self.features.add((before, kind, reply.code // 100, after))
        if reply.code == 421:
            assert after is State.CLOSED
        elif kind is None:
            assert after is before, f"a refusal moved the state: {before} -> {after}"
        elif kind is not None:
            outcome = (Outcome.OK if reply.is_positive else Outcome.MORE
                       if reply.is_intermediate else Outcome.FAIL)
            expected = TRANSITIONS[(before, kind, outcome)]
            assert after is expected, f"{before} + {kind} {reply.code} -> {after}, not {expected}"
            if after is State.READY or kind in (Kind.RSET, Kind.EHLO, Kind.HELO):
                self._delivered = 0
        if after is State.CLOSED:
            self.closed = True

    def _pick(self, kind: Kind) -> tuple[Outcome, Reply]:
        state = self.conn.state
        assert (state, kind) in ALLOWED, f"the core handed out {kind} in {state}"
        outcomes = [o for o in Outcome if (state, kind, o) in TRANSITIONS]
        outcome = Outcome.OK if Outcome.OK in outcomes and self.rng.random() < 0.6 \
            else self.rng.choice(outcomes)
        if outcome is Outcome.OK:
            code = _OK_CODE.get(kind, 250)
            lines: tuple[str, ...] = ("ok",)
            if kind is Kind.EHLO:
                lines = ("mx.example", *self.rng.sample(_EHLO_LINES, self.rng.randint(0, 6)))
        elif outcome is Outcome.MORE:
            code, lines = _MORE_CODE[kind], ("go on",)
        else:
            code, lines = self.rng.choice(_FAIL_CODES), ("no",)
        return outcome, Reply(code=code, lines=lines)

    def _answer(self, kind: Kind) -> None:
        if self.rng.random() < 0.01:
            self._say(Reply(code=421, lines=("closing",)), kind)
            return
        _, reply = self._pick(kind)
        self._say(reply, kind)

    def _auth(self, kind: Kind, data: str | None, mechanism: str | None) -> None:
        # The adapter's way: the real SASL mechanism reads the (hostile) text.
        assert (self.conn.state, kind) in ALLOWED
        if mechanism is not None:
            self._sasl = server_mechanism(mechanism)
        sasl = self._sasl
        if sasl is None or self.rng.random() < 0.1:
            self._sasl = None
            self._answer(kind)
            return
        result = sasl.step(data)
        if isinstance(result, Challenge):
            reply = result.reply
        elif isinstance(result, Credentials):
            assert result.username is not None and result.password is not None
            reply = Reply(code=235 if result.password == "secret" else 535, lines=("auth",))
        else:
            reply = result.reply  # type: ignore[attr-defined]
        if not isinstance(result, Challenge):
            self._sasl = None
        self.features.add(("sasl", type(result).__name__))
        self._say(reply, kind)

    def _handle(self, event: Event) -> None:
        state = self.conn.state
        if isinstance(event, ConnectionClosed):
            self.log.append(("closed",))
            assert self.conn.next_event() == ConnectionClosed(), "not closed for good"
            self.closed = True
            return
        if isinstance(event, MessageData):
            assert event.data, "empty MessageData"
            if state is State.DATA:
                self._content += event.data
            self._delivered += len(event.data)
            assert self._delivered <= self.max_size, "delivered more than the SIZE limit"
            if self.log and self.log[-1][0] == "data":
                self.log[-1] = ("data", self.log[-1][1] + event.data)  # type: ignore[operator]
            else:
                self.log.append(("data", event.data))
            return
        if isinstance(event, InvalidCommand):
            self.log.append(("invalid", event.reply.code))
            assert 500 <= event.reply.code <= 599, event.reply
            self.features.add(("invalid", state, event.reply.code))
            self._chunk_open = False
            reply = Reply(code=421, lines=("bye",)) if self.rng.random() < 0.02 else event.reply
            self._say(reply, None)
            return
        if isinstance(event, Bdat):
            assert (state, kind_of(event)) in ALLOWED, f"BDAT handed out in {state}"
            self.log.append(("bdat", event.size, event.last))
            self._chunk_open = True
            return
        if isinstance(event, EndOfMessage):
            assert state is State.DATA, f"EndOfMessage in {state}"
            content = bytes(self._content)
            self._content.clear()
            self.log.append(("end", event))
            if event.too_big:
                assert event.size > self.max_size and len(content) <= self.max_size
            else:
                assert event.size == len(content), (event.size, len(content))
                assert (event.bare_line_ending, event.long_line) == _bare_and_long(content), \
                    f"wrong flags {event} for {content[:200]!r}"
            self._delivered = 0
            self._answer(Kind.END_DATA)
            return
        if isinstance(event, ChunkEnd):
            assert self._chunk_open, "ChunkEnd without BDAT"
            self._chunk_open = False
            self.log.append(("chunk-end", event))
            if not event.too_big:
                assert event.size == self._delivered, (event.size, self._delivered)
            self._answer(Kind.BDAT_LAST if event.last else Kind.BDAT)
            return
        assert isinstance(event, Command), event
        kind = kind_of(event)
        self.log.append(("command", event))
        if isinstance(event, Auth):
            self._auth(kind, event.initial_response, event.mechanism)
        elif isinstance(event, AuthResponse):
            self._auth(kind, "*" if event.cancelled else event.data, None)
        else:
            self._answer(kind)


def _truncate(log: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """A log up to the TLS handshake: plaintext after STARTTLS is dropped by
    the core, and how much of it was buffered depends on the chunking."""
    for i, rec in enumerate(log):
        if rec[0] == "TLS":
            return log[:i + 1]
    return log


def run_server(data: bytes) -> set[object]:
    """SMTP server core on a client's byte stream: never raises; follows the
    table; the same events for any chunking."""
    whole = ServerDriver()
    whole.feed(data)
    whole.feed(b"")
    reference = _truncate(whole.log)
    for pieces in chunkings(data):
        other = ServerDriver()
        for piece in pieces:
            if other.closed:
                break
            if piece:
                other.feed(piece)
        if not other.closed:
            other.feed(b"")
        assert _truncate(other.log) == reference, "another chunking gives other events"
    return whole.features


# -- the client ---------------------------------------------------------------------------

_SENDERS = ("a@b.example", "", "bounce@x.example", "\u00e9@b.example")
_RCPTS = ("c@d.example", "e@f.example", "postmaster", "g@[192.0.2.1]")


class ClientDriver(ClientDriverBase):
    """Drives a ClientConnection: pipelined batches the state allows, the
    content after 354; reads replies. Deterministic for a plan seed."""

    need_data = NEED_DATA
    closed_type = ConnectionClosed
    remote_error = RemoteProtocolError

    def __init__(self, plan: int) -> None:
        self.conn = ClientConnection()
        self.rng = random.Random(plan)
        self.log: list[tuple[object, ...]] = []
        self.features: set[object] = set()
        #: The plan is over (QUIT sent): only replies are read now.
        self.done = False
        #: The session is over: closed, a protocol error, or TLS.
        self.finished = False
        self.batches = 0
        self._eof = False

    def _command(self, planned: State) -> Command | None:
        rng = self.rng
        if planned is State.AUTH:
            choice = rng.random()
            if choice < 0.1:
                return AuthResponse(data="", cancelled=True)
            return AuthResponse(data=base64.b64encode(rng.choice(
                (b"alice", b"secret", b"\x00alice\x00secret", b"x" * 50))).decode())
        options = [k for k in Kind if (planned, k) in ALLOWED
                   and k not in (Kind.AUTH_RESPONSE, Kind.GREETING, Kind.END_DATA)]
        if not options:
            return None
        weights = {Kind.MAIL: 4, Kind.RCPT: 4, Kind.DATA: 3, Kind.EHLO: 3, Kind.BDAT: 2,
                   Kind.BDAT_LAST: 2, Kind.QUIT: 0.3, Kind.STARTTLS: 0.3}
        kind = rng.choices(options, [weights.get(k, 1) for k in options])[0]
        if kind is Kind.EHLO:
            return Ehlo(domain="client.example")
        if kind is Kind.HELO:
            return Helo(domain="client.example")
        if kind is Kind.MAIL:
            params: dict[str, str | None] = rng.choice(
                ({}, {"SIZE": "100"}, {"BODY": "8BITMIME"}, {"SMTPUTF8": None}))
            return Mail(sender=rng.choice(_SENDERS), params=params)
        if kind is Kind.RCPT:
            return Rcpt(recipient=rng.choice(_RCPTS),
                        params=rng.choice(({}, {"NOTIFY": "SUCCESS,FAILURE"})))
        if kind in (Kind.BDAT, Kind.BDAT_LAST):
            return Bdat(size=rng.choice((0, 1, 10, 100, 4000)), last=kind is Kind.BDAT_LAST)
        if kind is Kind.AUTH:
            mech = rng.choice(("PLAIN", "LOGIN", "CRAM-MD5", "X-NONE"))
            initial = None
            if mech == "PLAIN" and rng.random() < 0.7:
                initial = base64.b64encode(b"\x00alice\x00secret").decode()
            return Auth(mechanism=mech, initial_response=initial)
        simple: dict[Kind, Command] = {Kind.DATA: Data(), Kind.RSET: Rset(), Kind.NOOP: Noop(),
                                       Kind.QUIT: Quit(), Kind.STARTTLS: StartTLS(),
                                       Kind.VRFY: Vrfy(argument="u"), Kind.HELP: Help()}
        return simple[kind]

    def _content(self) -> bytes:
        rng = self.rng
        if rng.random() < 0.3:
            return rng.choice(corpus_messages()[:200])
        lines = [rng.choice((b"Subject: x", b".", b"..", b".x", b"a" * 1001, b"", b"hello",
                             b"\r", b"a\rb", b"a\nb")) for _ in range(rng.randint(0, 6))]
        return rng.choice((b"\r\n", b"\n")).join(lines) + rng.choice((b"", b"\r\n", b"\r"))

    def act(self) -> bytes:
        """Send what the plan says now: content after a 354, else a batch
        when nothing is pending."""
        conn = self.conn
        out = bytearray()
        if self.done or self.finished or conn.waiting or conn.state in (State.CLOSED, State.TLS,
                                                                         State.GREETING):
            return b""
        if conn.state is State.DATA:
            content = self._content()
            for i in range(0, len(content), 700):
                out += conn.send(MessageData(data=content[i:i + 700]))
            out += conn.send(EndOfMessage())
            return bytes(out)
        self.batches += 1
        if self.batches > 40:
            out += conn.send(Quit()) if (conn.state, Kind.QUIT) in ALLOWED else b""
            self.done = True
            return bytes(out)
        planned = conn.state
        for _ in range(self.rng.choice((1, 1, 2, 3, 5))):
            command = self._command(planned)
            if command is None:
                break
            kind = kind_of(command)
            out += conn.send(command)
            self.features.add(("sent", planned, kind))
            if isinstance(command, Bdat):
                out += conn.send(MessageData(data=b"x" * command.size)) if command.size else b""
            nxt = TRANSITIONS.get((planned, kind, Outcome.OK)) or TRANSITIONS.get(
                (planned, kind, Outcome.MORE))
            if nxt is None or nxt in (State.DATA, State.AUTH, State.TLS, State.CLOSED) \
                    or kind in (Kind.AUTH, Kind.AUTH_RESPONSE):
                break  # the core refuses to pipeline behind these
            planned = nxt
        return bytes(out)

    def handle(self, event: Any) -> bytes:
        assert isinstance(event, Reply), event
        self.log.append(("reply", event, self.conn.state))
        self.features.add(("reply", event.code // 100, self.conn.state))
        if self.conn.state is State.TLS:
            self.log.append(("TLS",))
            self.finished = True
        elif self.conn.state is State.CLOSED:
            self.log.append(("closed by reply",))
            self.finished = True
        return b""


def run_client(data: bytes) -> set[object]:
    """SMTP client core on a server's byte stream (after two plan bytes):
    only RemoteProtocolError on the receive path; the same events for any
    chunking."""
    plan, stream = int.from_bytes(data[:2], "big"), data[2:]
    logs = []
    features: set[object] = set()
    for pieces in [[stream], *chunkings(stream)]:
        client = ClientDriver(plan)
        client.pump()
        for piece in [*(p for p in pieces if p), b""]:  # b"": the end of input
            if client.finished:
                break
            client.receive(piece)
            client.pump()
        logs.append(client.log)
        features |= client.features
    assert all(log == logs[0] for log in logs), "another chunking gives other events"
    return features


def pair(rng: random.Random) -> bytes:
    """A client and a server core over a fake wire; returns the plan bytes
    and the server's output. Checks that both agree on the state."""
    plan = rng.randrange(1 << 16)
    client = ClientDriver(plan)
    server = ServerDriver(rng.randrange(1 << 30))
    stream = bytearray(server.out)
    server.out.clear()
    client.receive(bytes(stream))
    for _ in range(200):
        sent = client.pump()
        if client.done and not client.conn.waiting:
            break
        if not sent and not server.out:
            break
        reply = server.feed(sent) if sent else b""
        stream += reply
        if reply:
            client.receive(reply)
        client.pump(act=False)  # read all of it before comparing the states
        idle = not client.conn.waiting and client.conn.state is not State.DATA
        if idle and not server.closed and not server.tls and not client.done:
            assert client.conn.state is server.conn.state, \
                f"client in {client.conn.state}, server in {server.conn.state}"
        if server.closed or server.tls:
            client.pump()
            break
    return plan.to_bytes(2, "big") + bytes(stream)


# -- command streams ----------------------------------------------------------------------

_ADDRS = (b"<a@b.example>", b"<>", b"<\xc3\xa9@b.example>", b"a@b", b"<@r,@s:a@b>",
          b"<a@[127.0.0.1]>", b'<"q p"@b>', b"<a@b", b"", b"<a@b>x", b" <a@b>", b"<a@b >")
_MAIL_PARAMS = (b"SIZE=100", b"SIZE=99999999999", b"BODY=8BITMIME", b"BODY=BINARYMIME",
                b"SMTPUTF8", b"RET=HDRS", b"ENVID=x+2Bz", b"AUTH=<>", b"X=", b"=y", b"SIZE",
                b"SIZE=", b"BODY=7BIT")
_RCPT_PARAMS = (b"NOTIFY=SUCCESS,FAILURE", b"NOTIFY=NEVER", b"ORCPT=rfc822;a@b", b"X-Y=z")


def _data_block(rng: random.Random, nl: bytes) -> bytes:
    if rng.random() < 0.3:
        body = rng.choice(corpus_messages()[:300])
        body = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n").replace(b"\r\n.", b"\r\n..")
        return b"DATA" + nl + body + rng.choice((b"", b"\r\n")) + b".\r\n"
    pieces = [rng.choice((b"line", b"..stuffed", b".", b"a" * rng.choice((998, 999, 1000, 2000)),
                          b"x\n.\ny", b"x\r.\ry", b"\r\n.\n", b"\n.\r\n", b"\xff\x00", b""))
              for _ in range(rng.randint(0, 8))]
    end = rng.choice((b".\r\n", b".\r\n", b".\n", b"\r\n.\r\n"))
    return b"DATA" + nl + b"\r\n".join(pieces) + b"\r\n" + end


def _command_line(rng: random.Random, nl: bytes) -> bytes:
    r = rng.randrange(20)
    if r < 3:
        return rng.choice((b"EHLO", b"HELO", b"ehlo", b"EHLO ")) + b" " + rng.choice(
            (b"client.example", b"[192.0.2.1]", b"", b"a b", b"\xc3\xa9.example")) + nl
    if r < 6:
        params = b" ".join(rng.sample(_MAIL_PARAMS, rng.randint(0, 3)))
        return b"MAIL FROM:" + rng.choice(_ADDRS) + (b" " + params if params else b"") + nl
    if r < 9:
        params = b" ".join(rng.sample(_RCPT_PARAMS, rng.randint(0, 2)))
        return b"RCPT TO:" + rng.choice(_ADDRS) + (b" " + params if params else b"") + nl
    if r < 11:
        return _data_block(rng, nl)
    if r == 11:
        size = rng.choice((0, 1, 5, 100, 4000))
        claimed = size if rng.random() < 0.8 else rng.choice((size + 3, max(size - 1, 0)))
        return (b"BDAT %d" % claimed + rng.choice((b"", b" LAST", b" last", b" LAST x")) + nl
                + rng.randbytes(size))
    if r == 12:
        plain = base64.b64encode(rng.choice((b"\x00alice\x00secret", b"alice\x00alice\x00x",
                                             b"\x00\x00", b"\xff\x00a\x00b")))
        return rng.choice((
            b"AUTH PLAIN " + plain + nl,
            b"AUTH PLAIN" + nl + plain + nl,
            b"AUTH LOGIN" + nl + base64.b64encode(b"alice") + nl + base64.b64encode(b"x") + nl,
            b"AUTH LOGIN " + base64.b64encode(b"alice") + nl + b"*" + nl,
            b"AUTH CRAM-MD5" + nl + base64.b64encode(b"alice 0123456789abcdef") + nl,
            b"AUTH PLAIN =" + nl, b"AUTH X-UNKNOWN" + nl, b"AUTH PLAIN !!!" + nl,
            b"AUTH" + nl))
    if r == 13:
        return rng.choice((b"STARTTLS", b"STARTTLS x")) + nl + rng.choice((b"", b"NOOP" + nl))
    if r == 14:
        return b"X" * rng.choice((510, 511, 600, 13000)) + nl
    return rng.choice((b"RSET", b"NOOP", b"NOOP x", b"QUIT", b"VRFY u", b"VRFY", b"EXPN x",
                       b"HELP", b"HELP MAIL", b"", b"\x00", b"DATA x", b"RSET x",
                       b"MAIL", b"RCPT TO", b"mail from:<a@b>")) + nl


def generate_commands(rng: random.Random) -> bytes:
    """A client's side of a session: mostly coherent transactions, pipelined,
    with junk, long lines, smuggling shapes and SASL exchanges mixed in."""
    nl = b"\r\n" if rng.random() < 0.9 else b"\n"
    out = [b"EHLO client.example" + nl] if rng.random() < 0.8 else []
    for _ in range(rng.randint(1, 12)):
        if rng.random() < 0.4:
            out.append(b"MAIL FROM:<a@b.example>" + nl + b"RCPT TO:<c@d.example>" + nl)
        out.append(_command_line(rng, nl))
    if rng.random() < 0.5:
        out.append(b"QUIT" + nl)
    return b"".join(out)


def _server_seeds() -> list[bytes]:
    return [
        b"EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n"
        b".\r\nQUIT\r\n",
        b"EHLO a\r\nMAIL FROM:<> SIZE=10 BODY=8BITMIME\r\nRCPT TO:<c@d> NOTIFY=NEVER\r\n"
        b"BDAT 5\r\nhelloBDAT 0 LAST\r\nQUIT\r\n",
        b"EHLO a\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nAUTH LOGIN\r\nYWxpY2U=\r\n*\r\n",
        b"EHLO a\r\nSTARTTLS\r\nEHLO injected\r\n",
        b"HELO a\n\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\nx\n.\ny\r\n.\r\n",
    ]


def _client_seeds() -> list[bytes]:
    return [b"\x00\x01220 hi\r\n250-x\r\n250 PIPELINING\r\n250 ok\r\n250 ok\r\n354 go\r\n",
            b"\x00\x02220-a\r\n220 b\r\n421 bye\r\n"]


_TOKENS = (b"EHLO x\r\n", b"MAIL FROM:<a@b>\r\n", b"RCPT TO:<c@d>\r\n", b"DATA\r\n", b".\r\n",
           b"BDAT 3 LAST\r\n", b"AUTH PLAIN\r\n", b"STARTTLS\r\n", b"250-", b"250 ", b"354 ",
           b"334 ", b"421 ", b"220 ", b"5.1.1 ")


def _features(values: Iterable[object]) -> set[object]:
    return set(values)


SMTP_TARGETS = [
    Target("smtp-server", run_server, _server_seeds, generate_commands, tokens=_TOKENS,
           gen_share=0.5, max_len=1 << 15),
    Target("smtp-client", run_client, _client_seeds, pair, tokens=_TOKENS, gen_share=0.5,
           max_len=1 << 15),
]
