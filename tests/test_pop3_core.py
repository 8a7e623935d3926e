"""The POP3 sans-I/O core, driven with byte lists: no sockets.

Server side: commands in, events out, responses in, bytes out. Client side:
the reverse. A client and a server are also wired back to back. Hypothesis
walks every state x every command x every outcome, on both sides, and
checks byte-stuffing round trips under any chunking.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mimekit.pop3 import (
    NEED_DATA,
    PAUSED,
    Apop,
    Auth,
    AuthList,
    AuthResponse,
    Capa,
    ClientConnection,
    ConnectionClosed,
    Continuation,
    Dele,
    EndOfResponse,
    InvalidCommand,
    List,
    LocalProtocolError,
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
    State,
    Stls,
    Top,
    Uidl,
    User,
    apop_digest,
)
from mimekit.pop3._states import ALLOWED, TRANSITIONS, Kind, Outcome
from mimekit.pop3._syntax import (
    format_command,
    parse_command,
)

OK = Response(ok=True)
ERR = Response(ok=False, text="no")


def server() -> ServerConnection:
    conn = ServerConnection()
    assert conn.send(Response(ok=True, text="ready")) == b"+OK ready\r\n"
    return conn


def events(conn: ServerConnection, data: bytes = b"") -> list[object]:
    """Feed data and collect events up to NEED_DATA/PAUSED."""
    if data:
        conn.receive_data(data)
    out: list[object] = []
    while True:
        ev = conn.next_event()
        out.append(ev)
        if ev is NEED_DATA or ev is PAUSED or isinstance(ev, ConnectionClosed):
            return out


def logged_in() -> ServerConnection:
    s = server()
    events(s, b"USER alice\r\n")
    s.send(OK)
    events(s, b"PASS secret\r\n")
    s.send(OK)
    assert s.state is State.TRANSACTION
    return s


# -- server ------------------------------------------------------------------------------


def test_server_session() -> None:
    s = server()
    assert events(s, b"CAPA\r\n") == [Capa(), PAUSED]
    out = s.send(Response(ok=True, text="list follows"))
    out += s.send(ResponseData(data=b"TOP\r\nUSER\r\n")) + s.send(EndOfResponse())
    assert out == b"+OK list follows\r\nTOP\r\nUSER\r\n.\r\n"
    assert events(s, b"user alice\r\n") == [User(name="alice"), PAUSED]
    s.send(OK)
    assert s.state is State.USER
    assert events(s, b"PASS my secret \r\n") == [Pass(password="my secret "), PAUSED]
    assert s.send(Response(ok=True, text="2 messages")) == b"+OK 2 messages\r\n"
    assert s.state is State.TRANSACTION
    assert events(s, b"STAT\r\nLIST\r\nLIST 2\r\n")[:2] == [Stat(), PAUSED]
    s.send(Response(ok=True, text="2 30"))
    assert events(s)[0] == List()
    out = s.send(OK) + s.send(ResponseData(data=b"1 10\r\n2 20\r\n")) + s.send(EndOfResponse())
    assert out == b"+OK\r\n1 10\r\n2 20\r\n.\r\n"
    assert events(s)[0] == List(msg=2)
    assert s.send(Response(ok=True, text="2 20")) == b"+OK 2 20\r\n"  # single line
    with pytest.raises(LocalProtocolError):
        s.send(EndOfResponse())
    assert events(s, b"RETR 1\r\n")[0] == Retr(msg=1)
    out = s.send(OK) + s.send(ResponseData(data=b".starts\nwith a dot\n."))
    out += s.send(ResponseData(data=b"\n")) + s.send(EndOfResponse())
    assert out == b"+OK\r\n..starts\r\nwith a dot\r\n..\r\n.\r\n"
    assert events(s, b"DELE 1\r\nQUIT\r\n")[0] == Dele(msg=1)
    s.send(OK)
    assert events(s)[0] == Quit()
    assert s.state is State.UPDATE  # entered on receipt: deletions happen now
    assert s.send(Response(ok=True, text="bye")) == b"+OK bye\r\n"
    assert s.state is State.CLOSED
    assert isinstance(s.next_event(), ConnectionClosed)


def test_quit_in_authorization_has_no_update_state() -> None:
    s = server()
    assert events(s, b"QUIT\r\n")[0] == Quit()
    assert s.state is State.AUTHORIZATION
    s.send(OK)
    assert s.state is State.CLOSED


def test_update_may_answer_err_and_still_closes() -> None:
    s = logged_in()
    events(s, b"QUIT\r\n")
    assert s.send(Response(ok=False, text="some deleted messages not removed",
                           code="SYS/TEMP")) == (
        b"-ERR [SYS/TEMP] some deleted messages not removed\r\n")
    assert s.state is State.CLOSED


def test_out_of_sequence_and_bad_syntax_become_invalid_commands() -> None:
    s = server()
    for line, text in ((b"STAT\r\n", "STAT is not valid in the AUTHORIZATION state"),
                       (b"PASS x\r\n", "PASS is not valid in the AUTHORIZATION state"),
                       (b"FOO\r\n", "unknown command 'FOO'"),
                       (b"USER\r\n", "USER takes 1 argument"),
                       (b"USER a  b\r\n", "USER: arguments are separated by one space"),
                       (b"APOP alice xyz\r\n", "APOP digest must be 32 hex digits"),
                       (b"AUTH PLAIN !!!\r\n", "initial response is not base64"),
                       (b"USER \xff\r\n", "command is not valid UTF-8"),
                       (b"USER a\x01\r\n", "control character in command")):
        (ev, paused) = events(s, line)
        assert isinstance(ev, InvalidCommand), line
        assert ev.response == Response(ok=False, text=text)
        assert paused is PAUSED
        with pytest.raises(LocalProtocolError):
            s.send(OK)  # an invalid command gets -ERR only
        s.send(ev.response)
        assert s.state is State.AUTHORIZATION
    s = logged_in()
    for line in (b"RETR 0\r\n", b"RETR x\r\n", b"TOP 1\r\n", b"TOP 1 -1\r\n", b"LIST 1 2\r\n",
                 b"DELE 99999999999\r\n", b"STAT now\r\n", b"USER bob\r\n", b"STLS\r\n"):
        (ev, _) = events(s, line)
        assert isinstance(ev, InvalidCommand), line
        s.send(ev.response)
        assert s.state is State.TRANSACTION


def test_invalid_pass_line_does_not_keep_the_password() -> None:
    s = server()
    (ev, _) = events(s, b"PASS hunter2\r\n")
    assert isinstance(ev, InvalidCommand) and ev.line == b"PASS"
    assert "hunter2" not in repr(Pass(password="hunter2"))
    assert "c2VjcmV0" not in repr(AuthResponse(data="c2VjcmV0"))


def test_overlong_command_line() -> None:
    s = server()
    (ev, _) = events(s, b"USER " + b"x" * 600 + b"\r\nCAPA\r\n")
    assert isinstance(ev, InvalidCommand) and ev.response.text == "line too long"
    s.send(ev.response)
    assert events(s) == [Capa(), PAUSED]  # the rest of the long line was skipped


def test_overlong_line_arriving_in_pieces() -> None:
    s = server()
    s.receive_data(b"X" * 300)
    assert s.next_event() is NEED_DATA
    s.receive_data(b"X" * 300)
    ev = s.next_event()
    assert isinstance(ev, InvalidCommand)
    s.send(ev.response)
    s.receive_data(b"X" * 1000)
    assert s.next_event() is NEED_DATA
    s.receive_data(b"XX\r\nNOOP\r\n")
    (ev, _) = events(s)
    assert isinstance(ev, InvalidCommand) and "not valid" in ev.response.text  # NOOP before login


def test_stls_discards_pipelined_plaintext() -> None:
    s = server()
    assert events(s, b"STLS\r\nUSER injected\r\n") == [Stls(), PAUSED]
    s.send(Response(ok=True, text="begin TLS"))
    assert s.state is State.TLS and s.discarded_after_stls == len(b"USER injected\r\n")
    assert s.next_event() is PAUSED
    s.tls_established()
    assert s.state is State.AUTHORIZATION
    assert events(s, b"CAPA\r\n")[0] == Capa()


def test_stls_refused_stays_in_authorization() -> None:
    s = server()
    events(s, b"STLS\r\n")
    s.send(Response(ok=False, text="TLS not available"))
    assert s.state is State.AUTHORIZATION
    with pytest.raises(LocalProtocolError):
        s.tls_established()


def test_sasl_exchange() -> None:
    s = server()
    assert events(s, b"AUTH LOGIN\r\n") == [Auth(mechanism="LOGIN"), PAUSED]
    assert s.send(Continuation(data="VXNlcm5hbWU6")) == b"+ VXNlcm5hbWU6\r\n"
    assert s.state is State.SASL
    assert events(s, b"YWxpY2U=\r\n") == [AuthResponse(data="YWxpY2U="), PAUSED]
    s.send(Continuation(data="UGFzc3dvcmQ6"))
    assert events(s, b"*\r\n") == [AuthResponse(data="", cancelled=True), PAUSED]
    s.send(Response(ok=False, text="cancelled"))
    assert s.state is State.AUTHORIZATION
    assert events(s, b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")[0] == Auth(
        mechanism="PLAIN", initial_response="AGFsaWNlAHNlY3JldA==")
    with pytest.raises(LocalProtocolError):
        s.send(Continuation(data="bad\r\ninjection"))
    s.send(OK)
    assert s.state is State.TRANSACTION


def test_overlong_sasl_line_cancels_the_exchange() -> None:
    s = server()
    events(s, b"AUTH PLAIN\r\n")
    s.send(Continuation())
    (ev, _) = events(s, b"A" * 13000)
    assert ev == AuthResponse(data="", cancelled=True)
    s.send(Response(ok=False, text="line too long"))
    assert s.state is State.AUTHORIZATION
    assert events(s, b"AAAA\r\nCAPA\r\n")[0] == Capa()


def test_abort_ends_the_session() -> None:
    s = logged_in()
    assert s.abort(Response(ok=False, text="autologout")) == b"-ERR autologout\r\n"
    assert s.state is State.CLOSED
    with pytest.raises(LocalProtocolError):
        server().abort(OK)


def test_responses_must_fit_the_command() -> None:
    s = logged_in()
    events(s, b"STAT\r\n")
    with pytest.raises(LocalProtocolError):
        s.send(Continuation())
    fresh = ServerConnection()
    assert fresh.next_event() is PAUSED  # the greeting is due first
    with pytest.raises(LocalProtocolError):
        fresh.send(ResponseData(data=b"x"))
    fresh.send(Response(ok=False, text="go away"))
    assert fresh.state is State.CLOSED
    s2 = server()
    with pytest.raises(LocalProtocolError):
        s2.send(OK)  # nothing is due
    with pytest.raises(LocalProtocolError):
        s2.send(Response(ok=True, text="a\r\nb"))
    with pytest.raises(LocalProtocolError):
        s2.send(Response(ok=False, text="x", code="BAD]CODE"))


def test_eof_closes() -> None:
    s = server()
    s.receive_data(b"CAP")
    assert s.next_event() is NEED_DATA
    s.receive_data(b"")
    assert isinstance(s.next_event(), ConnectionClosed)
    assert s.state is State.CLOSED


# -- client --------------------------------------------------------------------------------


def client(greeting: bytes = b"+OK POP3 ready <1.2@host>\r\n") -> ClientConnection:
    c = ClientConnection()
    c.receive_data(greeting)
    assert isinstance(c.next_event(), Response)
    return c


def drain(c: ClientConnection) -> list[object]:
    out = []
    while True:
        ev = c.next_event()
        out.append(ev)
        if ev is NEED_DATA or isinstance(ev, ConnectionClosed):
            return out


def test_client_session_and_response_parsing() -> None:
    c = client()
    assert c.state is State.AUTHORIZATION
    assert c.send(Capa()) == b"CAPA\r\n"
    c.receive_data(b"+OK\r\nTOP\r\nSASL PLAIN\r\n.\r\n")
    assert drain(c) == [OK, ResponseData(data=b"TOP\r\nSASL PLAIN\r\n"), EndOfResponse(),
                        NEED_DATA]
    out = c.send(User(name="alice")) + c.send(Pass(password="two words"))
    assert out == b"USER alice\r\nPASS two words\r\n"
    c.receive_data(b"+OK\r\n-ERR [IN-USE] locked\r\n")
    assert drain(c) == [OK, Response(ok=False, text="locked", code="IN-USE"), NEED_DATA]
    assert c.state is State.AUTHORIZATION
    c.send(Apop(name="alice", digest=apop_digest("<1.2@host>", "secret")))
    c.receive_data(b"+OK maildrop locked and ready\r\n")
    c.next_event()
    assert c.state is State.TRANSACTION
    c.send(Retr(msg=1))
    c.receive_data(b"+OK 9 octets\r\n..dot\r\n")
    assert c.next_event() == Response(ok=True, text="9 octets")
    first = c.next_event()  # what could start the end marker is held back
    assert first == ResponseData(data=b".do") and c.next_event() is NEED_DATA
    c.receive_data(b"x\r\n.\r\n")
    assert drain(c) == [ResponseData(data=b"t\r\nx\r\n"), EndOfResponse(), NEED_DATA]
    c.send(Quit())
    assert c.state is State.UPDATE
    c.receive_data(b"+OK bye\r\n")
    c.next_event()
    assert c.state is State.CLOSED


def test_bare_auth_is_a_multiline_listing_on_both_sides() -> None:
    s = server()
    events(s, b"USER alice\r\n")
    s.send(OK)
    assert events(s, b"AUTH\r\n") == [AuthList(), PAUSED]
    s.send(Response(ok=True, text="mechanisms"))
    s.send(ResponseData(data=b"PLAIN\r\n"))
    assert s.send(EndOfResponse()) == b".\r\n"
    assert s.state is State.USER  # a listing moves nothing
    c = client()
    assert c.send(AuthList()) == b"AUTH\r\n"
    c.receive_data(b"+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n")
    assert drain(c) == [OK, ResponseData(data=b"PLAIN\r\nLOGIN\r\n"), EndOfResponse(),
                        NEED_DATA]
    assert c.state is State.AUTHORIZATION


def test_client_refuses_what_the_table_forbids() -> None:
    c = ClientConnection()
    with pytest.raises(LocalProtocolError):
        c.send(Stat())  # before the greeting
    c = client()
    for cmd in (Stat(), Retr(msg=1), Pass(password="x"), AuthResponse(data="x"), Noop()):
        with pytest.raises(LocalProtocolError):
            c.send(cmd)
    for bad in (User(name="a\r\nDELE 1"), User(name="a b"), Pass(password=""),
                Retr(msg=0), Top(msg=1, lines=-1), Apop(name="a", digest="zz")):
        with pytest.raises(ValueError):
            c.send(bad)
    c.send(Stls())
    c.receive_data(b"+OK go ahead\r\nleftover")
    c.next_event()
    assert c.state is State.TLS
    with pytest.raises(LocalProtocolError):
        c.send(Capa())
    c.tls_established()
    assert c.state is State.AUTHORIZATION and c.next_event() is NEED_DATA  # buffer dropped


def test_client_rejects_garbage_and_unsolicited_responses() -> None:
    c = ClientConnection()
    c.receive_data(b"+OK hi\r\n+OK surprise\r\n")
    c.next_event()
    with pytest.raises(RemoteProtocolError):
        c.next_event()
    for garbage in (b"HTTP/1.1 200 OK\r\n", b"+OKAY\r\n", b"+ continuation\r\n",
                    b"+OK " + b"x" * 9000):
        c = ClientConnection()
        c.receive_data(garbage)
        with pytest.raises(RemoteProtocolError):
            c.next_event()
    c = client()
    c.send(Capa())
    c.receive_data(b"+ not in sasl\r\n")
    with pytest.raises(RemoteProtocolError):
        c.next_event()


def test_client_sasl_continuations() -> None:
    c = client()
    assert c.send(Auth(mechanism="plain")) == b"AUTH PLAIN\r\n"
    c.receive_data(b"+ \r\n")
    assert c.next_event() == Continuation(data="")
    assert c.state is State.SASL
    assert c.send(AuthResponse(data="AGFsaWNlAHNlY3JldA==")) == b"AGFsaWNlAHNlY3JldA==\r\n"
    c.receive_data(b"+OK logged in\r\n")
    c.next_event()
    assert c.state is State.TRANSACTION


def test_client_eof_in_the_middle_of_a_message() -> None:
    c = client()
    c.send(User(name="a"))
    c.send(Pass(password="b"))
    c.receive_data(b"+OK\r\n+OK\r\n")
    drain(c)
    c.send(Retr(msg=1))
    c.receive_data(b"+OK\r\npart of it\r\n")
    c.receive_data(b"")
    evs = drain(c)
    assert isinstance(evs[-1], ConnectionClosed) and c.state is State.CLOSED


def test_lenient_lf_line_endings_from_the_server() -> None:
    c = client(b"+OK hi\n")
    c.send(Capa())
    c.receive_data(b"+OK\nTOP\n.\n")
    assert drain(c)[:3] == [OK, ResponseData(data=b"TOP\n"), EndOfResponse()]


def test_pipelined_commands_are_answered_in_order() -> None:
    c, s = ClientConnection(), ServerConnection()
    c.receive_data(s.send(Response(ok=True, text="hi")))
    c.next_event()
    wire = c.send(User(name="a")) + c.send(Pass(password="b")) + c.send(Stat())
    wire += c.send(List()) + c.send(Uidl(msg=1)) + c.send(Top(msg=1, lines=0)) + c.send(Quit())
    s.receive_data(wire)
    out = b""
    answers = {User: [OK], Pass: [OK], Stat: [Response(ok=True, text="1 5")],
               List: [OK, ResponseData(data=b"1 5\r\n"), EndOfResponse()],
               Uidl: [Response(ok=True, text="1 abc")],
               Top: [OK, ResponseData(data=b"A: b\r\n\r\n"), EndOfResponse()],
               Quit: [Response(ok=True, text="bye")]}
    while not isinstance(ev := s.next_event(), ConnectionClosed):
        if ev is NEED_DATA:
            break
        for a in answers[type(ev)]:
            out += s.send(a)
    c.receive_data(out)
    got = [type(e).__name__ for e in drain(c)[:-1]]
    assert got == ["Response", "Response", "Response", "Response", "ResponseData",
                   "EndOfResponse", "Response", "Response", "ResponseData", "EndOfResponse",
                   "Response"]
    assert c.state is State.CLOSED and s.state is State.CLOSED


# -- the table: every state x every command x every outcome ---------------------------------

_COMMANDS = {
    Kind.USER: User(name="a"), Kind.PASS: Pass(password="b"),
    Kind.APOP: Apop(name="a", digest="0" * 32), Kind.AUTH: Auth(mechanism="PLAIN"),
    Kind.STAT: Stat(), Kind.LIST: List(), Kind.RETR: Retr(msg=1), Kind.DELE: Dele(msg=1),
    Kind.NOOP: Noop(), Kind.RSET: Rset(), Kind.QUIT: Quit(), Kind.TOP: Top(msg=1, lines=2),
    Kind.UIDL: Uidl(), Kind.CAPA: Capa(), Kind.STLS: Stls(),
}
_REACH = {
    State.AUTHORIZATION: [],
    State.USER: [(b"USER a\r\n", OK)],
    State.SASL: [(b"AUTH PLAIN\r\n", Continuation())],
    State.TRANSACTION: [(b"USER a\r\n", OK), (b"PASS b\r\n", OK)],
}
_OUTCOMES = {Outcome.OK: OK, Outcome.ERR: ERR, Outcome.MORE: Continuation(data="")}


def _server_in(state: State) -> ServerConnection:
    s = server()
    for line, response in _REACH[state]:
        events(s, line)
        s.send(response)
    assert s.state is state
    return s


def _client_in(state: State) -> ClientConnection:
    c = client()
    for line, response in _REACH[state]:
        c.send(parse_command(line.rstrip(b"\r\n")))
        c.receive_data(b"+ \r\n" if isinstance(response, Continuation) else b"+OK\r\n")
        c.next_event()
    assert c.state is state
    return c


@given(st.sampled_from(sorted(_REACH, key=str)), st.sampled_from(sorted(_COMMANDS, key=str)),
       st.sampled_from(sorted(_OUTCOMES, key=str)))
def test_every_state_and_command_server(state: State, kind: Kind, outcome: Outcome) -> None:
    """Anything in the table is accepted and moves as the table says;
    anything else is refused before a handler sees it."""
    command = _COMMANDS[kind]
    s = _server_in(state)
    line = format_command(command)
    if state is State.SASL:
        return  # every line is a SASL response here; covered below
    evs = events(s, line)
    first = evs[0]
    if (state, kind) not in ALLOWED:
        assert isinstance(first, InvalidCommand) and not first.response.ok
        s.send(first.response)
        assert s.state is state
        return
    assert first == command
    now = TRANSITIONS.get((state, kind, Outcome.RECEIVED), state)
    assert s.state is now
    key = (now, kind, outcome)
    if key in TRANSITIONS:
        s.send(_OUTCOMES[outcome])
        assert s.state is TRANSITIONS[key]
    else:
        with pytest.raises(LocalProtocolError):
            s.send(_OUTCOMES[outcome])


@given(st.sampled_from(sorted(_OUTCOMES, key=str)))
def test_every_outcome_in_sasl(outcome: Outcome) -> None:
    s = _server_in(State.SASL)
    assert isinstance(events(s, b"anything\r\n")[0], AuthResponse)
    key = (State.SASL, Kind.AUTH_RESPONSE, outcome)
    s.send(_OUTCOMES[outcome])
    assert s.state is TRANSITIONS[key]


@given(st.sampled_from(sorted(_REACH, key=str)), st.sampled_from(sorted(_COMMANDS, key=str)),
       st.sampled_from(sorted(_OUTCOMES, key=str)))
def test_every_state_and_command_client(state: State, kind: Kind, outcome: Outcome) -> None:
    c = _client_in(state)
    command = _COMMANDS[kind]
    if (state, kind) not in ALLOWED:
        with pytest.raises(LocalProtocolError):
            c.send(command)
        assert c.state is state
        return
    c.send(command)
    now = TRANSITIONS.get((state, kind, Outcome.RECEIVED), state)
    assert c.state is now
    wire = {Outcome.OK: b"+OK\r\n", Outcome.ERR: b"-ERR no\r\n", Outcome.MORE: b"+ \r\n"}[outcome]
    c.receive_data(wire)
    key = (now, kind, outcome)
    if key in TRANSITIONS:
        c.next_event()
        assert c.state is TRANSITIONS[key]
    elif outcome is Outcome.ERR:
        c.next_event()  # a refusal never breaks the client
        assert c.state is now
    else:
        with pytest.raises(RemoteProtocolError):
            c.next_event()


def test_table_shape() -> None:
    # Every command that may be sent may also be refused.
    for (state, kind) in ALLOWED:
        if kind is not Kind.GREETING:
            assert (state, kind, Outcome.ERR) in TRANSITIONS or \
                (TRANSITIONS.get((state, kind, Outcome.RECEIVED)), kind, Outcome.ERR) in \
                TRANSITIONS
    # UPDATE is reached only through QUIT in TRANSACTION, and only awaits its answer.
    into_update = [k for k, v in TRANSITIONS.items() if v is State.UPDATE]
    assert into_update == [(State.TRANSACTION, Kind.QUIT, Outcome.RECEIVED)]
    assert not any(s is State.UPDATE for s, _ in ALLOWED)
    assert (State.AUTHORIZATION, Kind.RETR) not in ALLOWED
    assert (State.TRANSACTION, Kind.USER) not in ALLOWED
    assert (State.USER, Kind.STLS) not in ALLOWED
