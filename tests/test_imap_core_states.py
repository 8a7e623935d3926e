"""The IMAP transition table, walked with Hypothesis: every state x every
command x every outcome, on both sides, and random walks of a client and a
server back to back (their states must agree at every step)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mimekit.imap import (
    NEED_DATA,
    PAUSED,
    Append,
    Authenticate,
    Capability,
    Check,
    ClientConnection,
    Close,
    Command,
    ContinuationRequest,
    Copy,
    Create,
    Delete,
    Enable,
    Encoding,
    Examine,
    Expunge,
    Fetch,
    Id,
    Idle,
    InvalidCommand,
    List,
    LiteralAnnounced,
    LocalProtocolError,
    Login,
    Logout,
    Lsub,
    Move,
    Namespace,
    Noop,
    RemoteProtocolError,
    Rename,
    Search,
    Select,
    ServerConnection,
    Sort,
    StartTLS,
    State,
    Status,
    StatusResponse,
    Store,
    Subscribe,
    Unselect,
    Unsubscribe,
    encode_line,
)
from mimekit.imap._states import ALLOWED, TRANSITIONS, Kind, Outcome

SAMPLES: dict[Kind, Command] = {
    Kind.CAPABILITY: Capability(), Kind.NOOP: Noop(), Kind.LOGOUT: Logout(),
    Kind.ID: Id(params={"name": "x"}), Kind.STARTTLS: StartTLS(),
    Kind.AUTHENTICATE: Authenticate(mechanism="PLAIN", initial_response="AGEAYg=="),
    Kind.LOGIN: Login(user="u", password="p"), Kind.SELECT: Select(mailbox="INBOX"),
    Kind.EXAMINE: Examine(mailbox="INBOX"), Kind.CREATE: Create(mailbox="A"),
    Kind.DELETE: Delete(mailbox="A"), Kind.RENAME: Rename(mailbox="A", new_name="B"),
    Kind.SUBSCRIBE: Subscribe(mailbox="A"), Kind.UNSUBSCRIBE: Unsubscribe(mailbox="A"),
    Kind.LIST: List(), Kind.LSUB: Lsub(), Kind.STATUS: Status(mailbox="A", items=("MESSAGES",)),
    Kind.APPEND: Append(mailbox="A", message=b"hi\r\n", flags=("\\Seen",),
                        internal_date=datetime(2024, 1, 1, tzinfo=UTC)),
    Kind.NAMESPACE: Namespace(), Kind.ENABLE: Enable(capabilities=("CONDSTORE",)),
    Kind.IDLE: Idle(), Kind.CHECK: Check(), Kind.CLOSE: Close(), Kind.UNSELECT: Unselect(),
    Kind.EXPUNGE: Expunge(uids="1:3"), Kind.SEARCH: Search(uid=True),
    Kind.SORT: Sort(order=("REVERSE", "DATE"), uid=True),
    Kind.FETCH: Fetch(sequence_set="1:*", items=("FLAGS",)),
    Kind.STORE: Store(sequence_set="1", flags=("\\Seen",)),
    Kind.COPY: Copy(sequence_set="1", mailbox="A"), Kind.MOVE: Move(sequence_set="1", mailbox="A"),
}
LIVE = [State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED]
OUTCOMES = [Outcome.OK, Outcome.NO, Outcome.BAD]


def test_every_kind_has_a_sample() -> None:
    assert set(SAMPLES) == set(Kind) - {Kind.GREETING}


def _pair(state: State) -> tuple[ClientConnection, ServerConnection]:
    client = ClientConnection()
    server = ServerConnection()
    client.receive_data(server.send(StatusResponse(status="OK", text="[CAPABILITY IMAP4rev1 "
                                                                      "LITERAL+] hi")))
    client.next_event()
    client.receive_data(b"* CAPABILITY IMAP4rev1 LITERAL+\r\n")
    client.next_event()
    steps: list[Command] = {State.NOT_AUTHENTICATED: [],
                            State.AUTHENTICATED: [SAMPLES[Kind.LOGIN]],
                            State.SELECTED: [SAMPLES[Kind.LOGIN], SAMPLES[Kind.SELECT]]}[state]
    for command in steps:
        _exchange(client, server, command, Outcome.OK)
    assert client.state is state and server.state is state
    return client, server


def _server_event(server: ServerConnection, data: bytes) -> object:
    server.receive_data(data)
    event = server.next_event()
    assert event is not NEED_DATA and event is not PAUSED
    return event


def _exchange(client: ClientConnection, server: ServerConnection, command: Command,
              outcome: Outcome) -> None:
    """One command through both sides, completed with ``outcome``; both
    must follow the table."""
    state = client.state
    allowed = (state, command.kind) in ALLOWED
    if not allowed:
        with pytest.raises(LocalProtocolError):
            client.send(command)
        wire = b"".join(encode_line(f"x1 {command.name}", command.arguments(),
                                    Encoding(literal_plus=True)))
        event = _server_event(server, wire)
        assert isinstance(event, InvalidCommand) and event.response.status == "BAD"
        server.send(event.response)
        assert server.state is state
        return
    event = _server_event(server, client.send(command))
    while isinstance(event, LiteralAnnounced):
        # A synchronizing literal: after STARTTLS the client has forgotten
        # LITERAL+ (RFC 3501 section 6.2.1) until it asks CAPABILITY again.
        client.receive_data(server.send(ContinuationRequest(text="go on")))
        assert isinstance(client.next_event(), ContinuationRequest)
        event = _server_event(server, client.continue_literal())
    assert isinstance(event, Command) and event.kind is command.kind
    key = (state, command.kind, outcome)
    reply = StatusResponse(tag=event.tag, status=outcome.value, text="done")
    if key not in TRANSITIONS:
        with pytest.raises(LocalProtocolError):
            server.send(reply)
        client.receive_data(reply.to_bytes())
        with pytest.raises(RemoteProtocolError):
            client.next_event()
        return
    client.receive_data(server.send(reply))
    assert client.next_event() == reply
    assert server.state is TRANSITIONS[key]
    assert client.state is TRANSITIONS[key]
    if server.tls_pending:
        server.tls_established()
        client.tls_established()


@given(st.sampled_from(LIVE), st.sampled_from(sorted(SAMPLES, key=lambda k: k.value)),
       st.sampled_from(OUTCOMES))
def test_every_state_command_and_outcome(state: State, kind: Kind, outcome: Outcome) -> None:
    client, server = _pair(state)
    _exchange(client, server, SAMPLES[kind], outcome)


@given(st.sampled_from(LIVE), st.lists(st.tuples(
    st.sampled_from(sorted(SAMPLES, key=lambda k: k.value)), st.sampled_from(OUTCOMES)),
    max_size=12))
@example(
    start=State.NOT_AUTHENTICATED,
    steps=[(Kind.STARTTLS, Outcome.OK),
     (Kind.AUTHENTICATE, Outcome.OK),
     (Kind.APPEND, Outcome.OK)],
).via('discovered failure')
# Found by Hypothesis: after STARTTLS, APPEND's literal is a synchronizing one.
@example(start=State.NOT_AUTHENTICATED, steps=[(Kind.STARTTLS, Outcome.OK),
                                               (Kind.AUTHENTICATE, Outcome.OK),
                                               (Kind.APPEND, Outcome.OK)])
def test_random_walks_agree(start: State, steps: list[tuple[Kind, Outcome]]) -> None:
    client, server = _pair(start)
    for kind, outcome in steps:
        if client.state is State.LOGOUT:
            with pytest.raises(LocalProtocolError):
                client.send(SAMPLES[kind])
            break
        if (client.state, kind, outcome) not in TRANSITIONS and \
                (client.state, kind) in ALLOWED:
            continue  # an impossible completion: covered by the test above
        _exchange(client, server, SAMPLES[kind], outcome)
        assert client.state is server.state


def test_table_shape() -> None:
    # Every allowed command can fail without moving anywhere surprising,
    # and the table knows only the RFC 3501 states.
    for state, kind in ALLOWED:
        assert (state, kind, Outcome.BAD) in TRANSITIONS
        assert state in LIVE
    assert (State.NOT_AUTHENTICATED, Kind.FETCH) not in ALLOWED
    assert (State.AUTHENTICATED, Kind.FETCH) not in ALLOWED
    assert (State.SELECTED, Kind.LOGIN) not in ALLOWED
    assert (State.SELECTED, Kind.ENABLE) not in ALLOWED  # RFC 5161: AUTHENTICATED only
    assert TRANSITIONS[(State.SELECTED, Kind.SELECT, Outcome.NO)] is State.AUTHENTICATED
    assert TRANSITIONS[(State.SELECTED, Kind.CLOSE, Outcome.OK)] is State.AUTHENTICATED


def test_untagged_bye_ends_the_session_on_both_sides() -> None:
    client, server = _pair(State.SELECTED)
    client.receive_data(server.send(StatusResponse(status="BYE", text="shutting down")))
    assert client.next_event() == StatusResponse(status="BYE", text="shutting down")
    assert client.state is State.LOGOUT and server.state is State.LOGOUT
    with pytest.raises(LocalProtocolError):
        client.send(Noop())
