"""The SMTP sans-I/O core, driven with byte lists: no sockets.

Server side: commands in, events out, replies in, bytes out. Client side:
the reverse. A client and a server are also wired back to back over a fake
wire. Hypothesis walks every state x every command.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mimekit.smtp import (
    NEED_DATA,
    PAUSED,
    Auth,
    AuthResponse,
    Bdat,
    ChunkEnd,
    ClientConnection,
    ConnectionClosed,
    Data,
    Ehlo,
    EndOfMessage,
    Helo,
    InvalidCommand,
    LocalProtocolError,
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
    State,
)
from mimekit.smtp._states import ALLOWED, TRANSITIONS, Kind, Outcome, outcome_of
from mimekit.smtp._syntax import format_command

OK = Reply(code=250, lines=("ok",), enhanced=(2, 0, 0))


def server() -> ServerConnection:
    conn = ServerConnection(max_size=1000)
    assert conn.send(Reply(code=220, lines=("mx.example ESMTP",))) == b"220 mx.example ESMTP\r\n"
    return conn


def events(conn: ServerConnection, data: bytes = b"") -> list[object]:
    """Feed data and collect events up to NEED_DATA/PAUSED."""
    if data:
        conn.receive_data(data)
    out: list[object] = []
    while True:
        ev = conn.next_event()
        if ev is NEED_DATA or ev is PAUSED:
            out.append(ev)
            return out
        out.append(ev)
        if isinstance(ev, ConnectionClosed):
            return out


# -- server ------------------------------------------------------------------------------


def test_server_session() -> None:
    s = server()
    assert events(s, b"EHLO client.example\r\n") == [Ehlo(domain="client.example"), PAUSED]
    assert s.send(Reply(code=250, lines=("mx.example", "PIPELINING", "SIZE 1000"))) == (
        b"250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n")
    assert events(s, b"MAIL FROM:<a@b.example> SIZE=12 BODY=8BITMIME\r\n") == [
        Mail(sender="a@b.example", params={"SIZE": "12", "BODY": "8BITMIME"}), PAUSED]
    s.send(OK)
    assert s.state is State.MAIL
    assert events(s, b"RCPT TO:<c@d.example> NOTIFY=SUCCESS,FAILURE\r\n")[0] == Rcpt(
        recipient="c@d.example", params={"NOTIFY": "SUCCESS,FAILURE"})
    s.send(OK)
    assert events(s, b"DATA\r\n") == [Data(), PAUSED]
    s.send(Reply(code=354, lines=("go ahead",)))
    assert s.state is State.DATA
    evs = events(s, b"Subject: x\r\n\r\n..dotted\r\n.\r\nQUIT\r\n")
    assert evs[0] == MessageData(data=b"Subject: x\r\n\r\n.dotted\r\n")
    assert evs[1] == EndOfMessage(size=23)
    assert s.send(OK) == b"250 2.0.0 ok\r\n"
    assert events(s) == [Quit(), PAUSED]
    s.send(Reply(code=221, lines=("bye",)))
    assert s.state is State.CLOSED
    assert isinstance(s.next_event(), ConnectionClosed)


def test_pipelined_commands_are_answered_one_at_a_time() -> None:
    s = server()
    s.receive_data(b"EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<x@y.z>\r\nRCPT TO:<v@w.z>\r\nDATA\r\n")
    seen = []
    while (ev := s.next_event()) is not NEED_DATA:
        if ev is PAUSED:
            continue
        seen.append(type(ev).__name__)
        s.send(Reply(code=354) if isinstance(ev, Data) else OK)
    assert seen == ["Ehlo", "Mail", "Rcpt", "Rcpt", "Data"]
    assert s.state is State.DATA


def test_out_of_sequence_and_bad_syntax_become_invalid_commands() -> None:
    s = server()
    (ev, _) = events(s, b"MAIL FROM:<a@b.c>\r\n")
    assert isinstance(ev, InvalidCommand) and ev.reply.code == 503
    s.send(ev.reply)
    (ev, _) = events(s, b"FOO bar\r\n")
    assert isinstance(ev, InvalidCommand) and ev.reply.code == 500
    s.send(ev.reply)
    events(s, b"EHLO x\r\n")
    s.send(OK)
    (ev, _) = events(s, b"MAIL FROM:a-b-c\r\n")
    assert isinstance(ev, InvalidCommand) and ev.reply.code == 501
    s.send(ev.reply)
    (ev, _) = events(s, b"DATA\r\n")  # no recipients yet
    assert isinstance(ev, InvalidCommand) and ev.reply.code == 503
    with pytest.raises(LocalProtocolError):
        s.send(OK)  # a 250 to an invalid command
    s.send(ev.reply)
    assert s.state is State.READY


def test_overlong_command_line() -> None:
    s = server()
    (ev, _) = events(s, b"EHLO " + b"x" * 600 + b"\r\nNOOP\r\n")
    assert isinstance(ev, InvalidCommand) and ev.reply.code == 500
    s.send(ev.reply)
    assert events(s) == [Noop(), PAUSED]  # the rest of the long line was skipped


def test_reply_must_fit_the_command() -> None:
    s = server()
    events(s, b"EHLO x\r\n")
    s.send(OK)
    events(s, b"MAIL FROM:<a@b.c>\r\n")
    with pytest.raises(LocalProtocolError):
        s.send(Reply(code=354))
    fresh = ServerConnection()
    assert fresh.next_event() is PAUSED  # the greeting is due first
    with pytest.raises(LocalProtocolError):
        fresh.send(Reply(code=354))


@pytest.mark.parametrize("smuggled", [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n"])
def test_smtp_smuggling_never_ends_data(smuggled: bytes) -> None:
    s = server()
    for cmd, reply in ((b"EHLO x\r\n", OK), (b"MAIL FROM:<a@b.c>\r\n", OK),
                       (b"RCPT TO:<d@e.f>\r\n", OK), (b"DATA\r\n", Reply(code=354))):
        events(s, cmd)
        s.send(reply)
    evs = events(s, b"hi" + smuggled + b"MAIL FROM:<evil@x>\r\n.\r\n")
    data = b"".join(e.data for e in evs if isinstance(e, MessageData))
    assert b"MAIL FROM:<evil@x>" in data  # still content, not a command
    end = next(e for e in evs if isinstance(e, EndOfMessage))
    assert end.bare_line_ending


def test_size_limit_and_long_lines() -> None:
    s = server()
    for cmd, reply in ((b"EHLO x\r\n", OK), (b"MAIL FROM:<a@b.c>\r\n", OK),
                       (b"RCPT TO:<d@e.f>\r\n", OK), (b"DATA\r\n", Reply(code=354))):
        events(s, cmd)
        s.send(reply)
    evs = events(s, b"y" * 1200 + b"\r\n" + b"z\r\n.\r\n")
    end = evs[-2]
    assert isinstance(end, EndOfMessage) and end.too_big and end.long_line and end.size == 1205
    assert sum(len(e.data) for e in evs if isinstance(e, MessageData)) <= 1000


def test_starttls_discards_pipelined_plaintext() -> None:
    s = server()
    events(s, b"EHLO x\r\n")
    s.send(OK)
    assert events(s, b"STARTTLS\r\nMAIL FROM:<injected@x>\r\n") == [StartTLS(), PAUSED]
    s.send(Reply(code=220, lines=("go",)))
    assert s.state is State.TLS and s.discarded_after_starttls == len(b"MAIL FROM:<injected@x>\r\n")
    assert s.next_event() is PAUSED
    s.tls_established()
    s.receive_data(b"MAIL FROM:<a@b.c>\r\n")
    (ev, _) = events(s)
    assert isinstance(ev, InvalidCommand) and ev.reply.code == 503  # EHLO again first


def test_auth_exchange() -> None:
    s = server()
    events(s, b"EHLO x\r\n")
    s.send(OK)
    assert events(s, b"AUTH LOGIN\r\n") == [Auth(mechanism="LOGIN"), PAUSED]
    s.send(Reply(code=334, lines=("VXNlcm5hbWU6",)))
    assert events(s, b"YWxpY2U=\r\n") == [AuthResponse(data="YWxpY2U="), PAUSED]
    s.send(Reply(code=334, lines=("UGFzc3dvcmQ6",)))
    assert events(s, b"*\r\n") == [AuthResponse(data="", cancelled=True), PAUSED]
    s.send(Reply(code=501, lines=("cancelled",), enhanced=(5, 0, 0)))
    assert s.state is State.READY
    assert events(s, b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")[0] == Auth(
        mechanism="PLAIN", initial_response="AGFsaWNlAHNlY3JldA==")
    s.send(Reply(code=235, lines=("ok",)))


def test_bdat() -> None:
    s = server()
    for cmd in (b"EHLO x\r\n", b"MAIL FROM:<a@b.c>\r\n", b"RCPT TO:<d@e.f>\r\n"):
        events(s, cmd)
        s.send(OK)
    evs = events(s, b"BDAT 5\r\nhe\r\n.BDAT 3 LAST\r\nllo")
    assert evs == [Bdat(size=5), MessageData(data=b"he\r\n."), ChunkEnd(last=False, size=5), PAUSED]
    s.send(OK)
    assert s.state is State.BDAT
    evs = events(s)
    assert evs == [Bdat(size=3, last=True), MessageData(data=b"llo"),
                   ChunkEnd(last=True, size=8), PAUSED]
    s.send(OK)
    assert s.state is State.READY
    # BDAT out of sequence: its chunk is still read (and dropped) first.
    evs = events(s, b"BDAT 4 LAST\r\nxxxxNOOP\r\n")
    assert isinstance(evs[0], InvalidCommand) and evs[0].reply.code == 503
    s.send(evs[0].reply)
    assert events(s) == [Noop(), PAUSED]


def test_eof_closes() -> None:
    s = server()
    s.receive_data(b"EHL")
    assert s.next_event() is NEED_DATA
    s.receive_data(b"")
    assert isinstance(s.next_event(), ConnectionClosed)


# -- client --------------------------------------------------------------------------------


def test_client_session_and_reply_parsing() -> None:
    c = ClientConnection()
    c.receive_data(b"220 mx ESMTP\r\n")
    assert c.next_event() == Reply(code=220, lines=("mx ESMTP",))
    assert c.send(Ehlo(domain="me.example")) == b"EHLO me.example\r\n"
    c.receive_data(b"250-mx\r\n250-PIPELINING\r\n250-SIZE 100\r\n250-AUTH PLAIN LOGIN\r\n"
                   b"250-AUTH=LOGIN\r\n250 8BITMIME\r\n")
    assert c.next_event().code == 250
    assert c.extensions == {"PIPELINING": "", "SIZE": "100", "AUTH": "PLAIN LOGIN",
                            "8BITMIME": ""}
    # Pipelining: several commands before any reply.
    out = c.send(Mail(sender="", params={"SIZE": "10"})) + c.send(Rcpt(recipient="a@b.c"))
    out += c.send(Rcpt(recipient="x@b.c")) + c.send(Data())
    assert out == b"MAIL FROM:<> SIZE=10\r\nRCPT TO:<a@b.c>\r\nRCPT TO:<x@b.c>\r\nDATA\r\n"
    with pytest.raises(LocalProtocolError):
        c.send(MessageData(data=b"too early"))
    c.receive_data(b"250 2.1.0 ok\r\n550 5.1.1 no such user\r\n250 ok\r\n354 go\r\n")
    assert c.next_event() == Reply(code=250, lines=("ok",), enhanced=(2, 1, 0))
    assert c.next_event() == Reply(code=550, lines=("no such user",), enhanced=(5, 1, 1))
    assert c.next_event().code == 250
    assert c.next_event().code == 354
    assert c.send(MessageData(data=b".line\nbare lf\rbare cr")) == (
        b"..line\r\nbare lf\r\nbare cr")
    assert c.send(EndOfMessage()) == b"\r\n.\r\n"
    c.receive_data(b"250 queued\r\n")
    assert c.next_event().code == 250 and c.state is State.READY


def test_client_refuses_what_the_table_forbids() -> None:
    c = ClientConnection()
    with pytest.raises(LocalProtocolError):
        c.send(Data())  # before the greeting, and without MAIL/RCPT
    c.receive_data(b"220 x\r\n")
    c.next_event()
    with pytest.raises(LocalProtocolError):
        c.send(Mail(sender="a@b.c"))  # before EHLO
    with pytest.raises(ValueError):
        c.send(Ehlo(domain="x\r\nRCPT TO:<evil@x>"))


def test_client_rejects_garbage_and_unsolicited_replies() -> None:
    c = ClientConnection()
    c.receive_data(b"220 x\r\n250 surprise\r\n")
    c.next_event()
    with pytest.raises(RemoteProtocolError):
        c.next_event()
    c = ClientConnection()
    c.receive_data(b"HTTP/1.1 200 OK\r\n")
    with pytest.raises(RemoteProtocolError):
        c.next_event()


def test_421_closes_from_any_state() -> None:
    c = ClientConnection()
    c.receive_data(b"220 x\r\n")
    c.next_event()
    c.send(Ehlo(domain="a"))
    c.receive_data(b"421 4.3.2 shutting down\r\n")
    assert c.next_event().code == 421 and c.state is State.CLOSED


# -- client and server back to back -------------------------------------------------------


def _pump(client: ClientConnection, srv: ServerConnection, wire: bytes,
          answer: dict[type, Reply]) -> list[Reply]:
    """Deliver client bytes to the server, answer each event, return client replies."""
    srv.receive_data(wire)
    out = b""
    while True:
        ev = srv.next_event()
        if ev is NEED_DATA or ev is PAUSED or isinstance(ev, ConnectionClosed):
            break
        if isinstance(ev, MessageData):
            continue
        reply = ev.reply if isinstance(ev, InvalidCommand) else answer.get(type(ev), OK)
        out += srv.send(reply)
    client.receive_data(out)
    replies = []
    while isinstance(r := client.next_event(), Reply):
        replies.append(r)
    return replies


@given(st.binary(max_size=3000), st.lists(st.integers(1, 50), min_size=1, max_size=20))
def test_content_survives_any_chunking(body: bytes, chunk_sizes: list[int]) -> None:
    c, s = ClientConnection(), ServerConnection()
    c.receive_data(s.send(Reply(code=220)))
    c.next_event()
    wire = c.send(Ehlo(domain="c")) + c.send(Mail(sender="a@b.c")) + c.send(Rcpt(recipient="d@e.f"))
    wire += c.send(Data())
    _pump(c, s, wire, {Data: Reply(code=354)})
    assert c.state is State.DATA
    wire = b""
    pos = 0
    for size in chunk_sizes * 200:
        if pos >= len(body):
            break
        wire += c.send(MessageData(data=body[pos:pos + size]))
        pos += size
    wire += c.send(EndOfMessage())
    s.receive_data(wire)
    got = b""
    while True:
        ev = s.next_event()
        if isinstance(ev, MessageData):
            got += ev.data
        elif isinstance(ev, EndOfMessage):
            assert not ev.bare_line_ending  # the client never sends one
            break
        else:
            raise AssertionError(ev)
    expected = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    if expected and not expected.endswith(b"\r\n"):
        expected += b"\r\n"
    assert got == expected


# -- the table: every state x every command ------------------------------------------------

_COMMANDS = {
    Kind.EHLO: Ehlo(domain="x"), Kind.HELO: Helo(domain="x"), Kind.MAIL: Mail(sender="a@b.c"),
    Kind.RCPT: Rcpt(recipient="a@b.c"), Kind.DATA: Data(), Kind.RSET: Rset(),
    Kind.NOOP: Noop(), Kind.QUIT: Quit(), Kind.STARTTLS: StartTLS(),
    Kind.AUTH: Auth(mechanism="PLAIN"), Kind.BDAT: Bdat(size=0),
    Kind.BDAT_LAST: Bdat(size=0, last=True),
}
_STATES_TO_REACH = [State.INIT, State.READY, State.MAIL, State.RCPT, State.BDAT]


def _server_in(state: State) -> ServerConnection:
    s = server()
    steps = {State.INIT: [], State.READY: [b"EHLO x\r\n"],
             State.MAIL: [b"EHLO x\r\n", b"MAIL FROM:<a@b.c>\r\n"],
             State.RCPT: [b"EHLO x\r\n", b"MAIL FROM:<a@b.c>\r\n", b"RCPT TO:<d@e.f>\r\n"],
             State.BDAT: [b"EHLO x\r\n", b"MAIL FROM:<a@b.c>\r\n", b"RCPT TO:<d@e.f>\r\n",
                          b"BDAT 0\r\n"]}[state]
    for line in steps:
        for ev in events(s, line):
            if isinstance(ev, Bdat) or ev is PAUSED or ev is NEED_DATA:
                continue  # a BDAT is answered after its chunk (ChunkEnd)
            s.send(OK)
    assert s.state is state
    return s


@given(st.sampled_from(_STATES_TO_REACH), st.sampled_from(sorted(_COMMANDS, key=str)),
       st.sampled_from([250, 354, 334, 451, 550]))
def test_every_state_and_command(state: State, kind: Kind, code: int) -> None:
    """Anything in the table is accepted and moves as the table says;
    anything else is refused, on both sides."""
    command = _COMMANDS[kind]
    s = _server_in(state)
    evs = events(s, format_command(command))
    first = evs[0]
    if (state, kind) not in ALLOWED:
        assert isinstance(first, InvalidCommand) and first.reply.code == 503
        s.send(first.reply)
        assert s.state is state
        return
    assert not isinstance(first, InvalidCommand)
    if isinstance(command, Bdat):
        assert isinstance(evs[1], ChunkEnd)
    key = (state, kind, outcome_of(code))
    reply = Reply(code=code)
    if key in TRANSITIONS:
        s.send(reply)
        assert s.state is TRANSITIONS[key]
    else:
        with pytest.raises(LocalProtocolError):
            s.send(reply)


def test_table_shape() -> None:
    # Every allowed command has a failure transition too (any command may be
    # refused) except those whose refusal closes or ends nothing.
    for (state, kind) in ALLOWED:
        assert any((state, kind, o) in TRANSITIONS for o in (Outcome.FAIL, Outcome.MORE)) or \
            kind in (Kind.QUIT, Kind.NOOP, Kind.RSET)
    assert (State.DATA, Kind.MAIL) not in ALLOWED
    assert (State.INIT, Kind.MAIL) not in ALLOWED
