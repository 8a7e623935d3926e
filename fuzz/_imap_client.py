"""The ``imap-client`` target: the client core fed a server's byte stream
(see ``fuzz/_imap.py`` for what it checks)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from mimekit.imap import (
    NEED_DATA,
    Append,
    Atom,
    Authenticate,
    AuthenticateData,
    Capability,
    Check,
    ClientConnection,
    Close,
    Command,
    ConnectionClosed,
    ContinuationRequest,
    Copy,
    Create,
    Delete,
    Enable,
    Examine,
    Expunge,
    Fetch,
    FetchResponse,
    Id,
    Idle,
    IdleDone,
    List,
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
    Sort,
    StartTLS,
    Status,
    StatusResponse,
    Store,
    Subscribe,
    Unselect,
    Unsubscribe,
    UntaggedResponse,
)
from mimekit.imap._connection import capabilities_in
from mimekit.imap._results import append_result, copy_result, fetch_result
from mimekit.imap._states import ALLOWED, TRANSITIONS, Kind, Outcome, State

from ._common import ClientDriverBase, chunkings, corpus_messages
from ._imap_server import _FLAGS, ServerDriver

_NAMES = ("INBOX", "Work/Reports", "&AOk-t&AOk-", "caf\u00e9", "a b", "", "\"q\"", "x*%")


def _client_command(rng: random.Random, planned: State) -> Command | None:
    options = [k for k in Kind if (planned, k) in ALLOWED and k is not Kind.GREETING]
    if not options:
        return None
    weights = {Kind.LOGIN: 4, Kind.SELECT: 4, Kind.FETCH: 4, Kind.APPEND: 2, Kind.LOGOUT: 0.2,
               Kind.STARTTLS: 0.2, Kind.SEARCH: 2}
    kind = rng.choices(options, [weights.get(k, 1) for k in options])[0]
    name = rng.choice(_NAMES)
    seq = rng.choice(("1", "1:*", "2,4:7", "*"))
    uid = rng.random() < 0.5
    made: dict[Kind, Callable[[], Command]] = {
        Kind.CAPABILITY: Capability, Kind.NOOP: Noop, Kind.LOGOUT: Logout,
        Kind.ID: lambda: Id(params=rng.choice((None, {"name": "fuzz"}))),
        Kind.STARTTLS: StartTLS,
        Kind.AUTHENTICATE: lambda: Authenticate(mechanism="PLAIN", initial_response=rng.choice(
            (None, "AGFsaWNlAHNlY3JldA=="))),
        Kind.LOGIN: lambda: Login(user=rng.choice(("alice", "a b", "\u00e9")),
                                  password=rng.choice(("secret", "p\"w", "x" * 100))),
        Kind.SELECT: lambda: Select(mailbox=name), Kind.EXAMINE: lambda: Examine(mailbox=name),
        Kind.CREATE: lambda: Create(mailbox=name), Kind.DELETE: lambda: Delete(mailbox=name),
        Kind.RENAME: lambda: Rename(mailbox=name, new_name="New"),
        Kind.SUBSCRIBE: lambda: Subscribe(mailbox=name),
        Kind.UNSUBSCRIBE: lambda: Unsubscribe(mailbox=name),
        Kind.LIST: lambda: List(reference="", pattern=rng.choice(("*", "%"))),
        Kind.LSUB: lambda: Lsub(reference="", pattern="*"),
        Kind.STATUS: lambda: Status(mailbox=name, items=("MESSAGES", "UIDNEXT")),
        Kind.APPEND: lambda: Append(mailbox=name, message=rng.choice(corpus_messages()[:60]),
                                    flags=(_FLAGS[0],) if rng.random() < 0.5 else (),
                                    internal_date=rng.choice((None, datetime(2024, 1, 2,
                                                                             tzinfo=UTC)))),
        Kind.NAMESPACE: Namespace, Kind.ENABLE: lambda: Enable(capabilities=("UTF8=ACCEPT",)),
        Kind.IDLE: Idle, Kind.CHECK: Check, Kind.CLOSE: Close, Kind.UNSELECT: Unselect,
        Kind.EXPUNGE: lambda: Expunge(uids=rng.choice((None, "1:3"))),
        Kind.SEARCH: lambda: Search(criteria=rng.choice(((Atom("ALL"),), (Atom("UNSEEN"),),
                                                          (Atom("SUBJECT"), "x y")))),
        Kind.SORT: lambda: Sort(order=rng.choice((("DATE",), ("REVERSE", "SUBJECT", "SIZE"))),
                                uid=uid),
        Kind.FETCH: lambda: Fetch(sequence_set=seq, uid=uid, items=rng.choice((
            ("FLAGS",), ("ENVELOPE", "BODYSTRUCTURE"), ("BODY.PEEK[HEADER.FIELDS (SUBJECT)]",),
            ("BODY[]<0.100>", "RFC822.SIZE")))),
        Kind.STORE: lambda: Store(sequence_set=seq, flags=("\\Seen",), uid=uid),
        Kind.COPY: lambda: Copy(sequence_set=seq, mailbox="Archive", uid=uid),
        Kind.MOVE: lambda: Move(sequence_set=seq, mailbox="Archive", uid=uid),
    }
    return made[kind]()


class ClientDriver(ClientDriverBase):
    """Drives an IMAP ClientConnection; types what it reads."""

    need_data = NEED_DATA
    closed_type = ConnectionClosed
    remote_error = RemoteProtocolError

    def __init__(self, plan: int) -> None:
        self.conn = ClientConnection()
        self.rng = random.Random(plan)
        self.log: list[tuple[object, ...]] = []
        self.features: set[object] = set()
        self.finished = False
        self.done = False
        self.batches = 0
        self._eof = False

    def act(self) -> bytes:
        conn = self.conn
        if self.done or self.finished or conn.pending or conn.tls_pending or conn.state in (
                State.GREETING, State.LOGOUT):
            return b""
        self.batches += 1
        out = bytearray()
        if self.batches > 30:
            out += conn.send(Logout())
            self.done = True
            return bytes(out)
        planned = conn.state
        for _ in range(self.rng.choice((1, 1, 2, 4))):
            command = _client_command(self.rng, planned)
            if command is None:
                break
            try:
                out += conn.send(command)
            except (LocalProtocolError, TypeError) as exc:
                # A value the encoder cannot write (a caller error): fine.
                self.features.add(("refused", command.kind, type(exc).__name__))
                break
            self.features.add(("sent", planned, command.kind))
            planned = TRANSITIONS.get((planned, command.kind, Outcome.OK), planned)
            last = conn.pending[-1] if conn.pending else None
            if planned is State.LOGOUT or isinstance(last, Authenticate | Idle | StartTLS):
                break
        return bytes(out)

    def _continue(self) -> bytes:
        """Answer a "+" the way the session needs: the next literal piece,
        a SASL response, or DONE."""
        conn = self.conn
        for attempt in (conn.continue_literal,
                        lambda: conn.send(AuthenticateData(
                            data="" if self.rng.random() < 0.1 else "AGFsaWNlAHNlY3JldA==",
                            cancelled=self.rng.random() < 0.1)),
                        lambda: conn.send(IdleDone())):
            try:
                return attempt()
            except LocalProtocolError:
                continue
        raise AssertionError("a continuation the client accepted, but nothing can answer it")

    def _type(self, event: object) -> None:
        """The client's typed readers: they never raise."""
        if isinstance(event, FetchResponse):
            result = fetch_result(event.seq, event.items)
            _ = (result.uid, result.flags, result.envelope, result.bodystructure,
                 result.internaldate, result.size)
            self.features.add(("fetch", tuple(sorted(result))[:4]))
        elif isinstance(event, StatusResponse):
            append_result(event.code)
            copy_result(event.code)
            capabilities_in(event.code)
            if event.code is not None:
                self.features.add(("code", event.code.name[:20]))
        elif isinstance(event, UntaggedResponse):
            self.features.add(("untagged", event.name[:20]))

    def handle(self, event: Any) -> bytes:
        self.log.append(("event", event, self.conn.state))
        self.features.add((type(event).__name__, self.conn.state))
        self._type(event)
        sent = self._continue() if isinstance(event, ContinuationRequest) else b""
        if self.conn.tls_pending:
            self.log.append(("TLS",))
            self.finished = True
        elif self.conn.state is State.LOGOUT:
            self.finished = True
        return sent


def run_client(data: bytes) -> set[object]:
    """IMAP client core on a server's byte stream (after two plan bytes):
    only RemoteProtocolError on the receive path; the typed readers never
    raise; the same events for any chunking."""
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


_RAW_UNTAGGED = (
    b"* 3 FETCH (FLAGS (\\Seen) UID 7 BODY[] {5}\r\nhello)\r\n",
    b"* 1 FETCH (ENVELOPE (NIL \"s\" ((\"n\" NIL \"a\" \"b\")) NIL NIL NIL NIL NIL NIL NIL))\r\n",
    b"* 2 FETCH (BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 3 1)"
    b")\r\n",
    b"* 4 FETCH (INTERNALDATE \" 1-Jan-2024 00:00:00 +0000\" MODSEQ (12))\r\n",
    b"* SEARCH 1 2 3 (MODSEQ 9)\r\n", b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n",
    b"* OK [PERMANENTFLAGS (\\Seen \\*)] ok\r\n", b"* X-UNKNOWN a (b {3}\r\nxyz) c\r\n",
    b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n", b"* 5 EXPUNGE\r\n", b"* ID NIL\r\n",
    b"* STATUS \"a b\" (MESSAGES 2 UIDNEXT 9)\r\n", b"* LIST (\\Noselect) NIL \"\"\r\n",
)


def pair(rng: random.Random) -> bytes:
    """A client and a server core over a fake wire; returns the plan bytes
    and the server's output (with valid untagged data mixed in). Checks that
    both ends agree on the state."""
    plan = rng.randrange(1 << 16)
    client = ClientDriver(plan)
    server = ServerDriver(rng.randrange(1 << 30))
    stream = bytearray(server.out)
    server.out.clear()
    client.receive(bytes(stream))
    for _ in range(300):
        sent = client.pump()
        if client.finished or (not sent and not server.out):
            break
        reply = server.feed(sent)
        if reply and rng.random() < 0.2 and client.conn.state is not State.GREETING \
                and not server.closed and not server.tls:
            reply = rng.choice(_RAW_UNTAGGED) + reply
        stream += reply
        if reply:
            client.receive(reply)
        client.pump(act=False)
        idle = not client.conn.pending
        if idle and not server.closed and not server.tls and not client.finished:
            assert client.conn.state is server.conn.state, \
                f"client in {client.conn.state}, server in {server.conn.state}"
        if server.closed or server.tls:
            client.pump()
            break
    return plan.to_bytes(2, "big") + bytes(stream)


# -- command streams ----------------------------------------------------------------------


def _client_seeds() -> list[bytes]:
    return [b"\x00\x01* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\nA0001 OK done\r\n",
            b"\x00\x02* PREAUTH hi\r\n* 1 FETCH (BODY[] {3}\r\nabc)\r\n* BYE x\r\n"]
