"""Test helpers for the IMAP clients: a small IMAP server over a real
loopback socket (driving our own ``ServerConnection`` core in a thread, with
an in-memory store), and a blocking facade over ``AsyncIMAPClient`` so one
test body covers both clients."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import queue
import re
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import mimekit
from mimekit.imap import (
    NEED_DATA,
    PAUSED,
    Append,
    AsyncIMAPClient,
    Atom,
    Authenticate,
    AuthenticateData,
    Capability,
    CapabilityResponse,
    Check,
    Close,
    Command,
    ConnectionClosed,
    ContinuationRequest,
    Copy,
    Create,
    Delete,
    Enable,
    EnabledResponse,
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
    IMAPClient,
    InvalidCommand,
    List,
    ListResponse,
    LiteralAnnounced,
    Login,
    Logout,
    Lsub,
    MailboxStatusResponse,
    Move,
    Namespace,
    NamespaceResponse,
    Noop,
    Rename,
    Response,
    ResponseCode,
    Search,
    SearchKey,
    SearchResponse,
    Select,
    ServerConnection,
    StartTLS,
    Status,
    StatusResponse,
    Store,
    Subscribe,
    Unselect,
    Unsubscribe,
    parse_search,
    parse_sequence_set,
)
from mimekit.smtp._sasl import server_mechanism

CAPABILITIES = ("IMAP4rev1", "LITERAL+", "IDLE", "UIDPLUS", "MOVE", "NAMESPACE", "ID",
                "ENABLE", "UNSELECT", "SPECIAL-USE", "LIST-EXTENDED", "AUTH=PLAIN", "SASL-IR")


@dataclass
class Msg:
    uid: int
    data: bytes
    flags: set[str] = field(default_factory=set)
    date: datetime = field(default_factory=lambda: datetime(2024, 1, 1, tzinfo=UTC))


@dataclass
class Box:
    uidvalidity: int
    messages: list[Msg] = field(default_factory=list)
    uidnext: int = 1
    subscribed: bool = True
    special: str | None = None


@dataclass
class Script:
    """How the fake server behaves. ``drop_on`` names a command class at
    which the server closes the connection (after a ``+`` for IDLE);
    ``bye_in_idle`` makes it say BYE while idling; ``stall_on`` stops
    answering."""

    capabilities: tuple[str, ...] = CAPABILITIES
    users: dict[str, str] = field(default_factory=lambda: {"alice": "secret"})
    login_code: bool = True
    drop_on: type | None = None
    stall_on: type | None = None
    bye_in_idle: bool = False
    tls: ssl.SSLContext | None = None


class FakeIMAPServer:
    """A threaded IMAP server on 127.0.0.1 with an in-memory store.

    Attributes:
        commands: Every command event received, in order.
        wire: Every chunk the clients sent, in order.
        pushes: Responses to send to an IDLE session (put them here).
    """

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.boxes: dict[str, Box] = {
            "INBOX": Box(uidvalidity=1), "Sent": Box(uidvalidity=2, special="\\Sent"),
            "Trash": Box(uidvalidity=3, special="\\Trash")}
        self.commands: list[Any] = []
        self.wire: list[bytes] = []
        self.pushes: queue.Queue[Response] = queue.Queue()
        self.idling = threading.Event()
        self.lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._accept = threading.Thread(target=self._accept_loop, daemon=True)
        self._accept.start()

    def __enter__(self) -> FakeIMAPServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", self.port), 1).close()
        self._accept.join(5)
        self._listener.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for t in self._threads:
            t.join(5)
        for conn in self._conns:
            conn.close()

    def add(self, box: str, data: bytes, flags: set[str] | None = None) -> int:
        with self.lock:
            b = self.boxes[box]
            uid = b.uidnext
            b.uidnext += 1
            b.messages.append(Msg(uid, data, set(flags or ())))
            return uid

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            if self._stop.is_set():
                sock.close()
                return
            self._conns.append(sock)
            t = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = _Session(self, sock)
        with contextlib.suppress(OSError, ssl.SSLError):
            session.run()
        with contextlib.suppress(OSError):
            session.sock.close()


def _match(pattern: str, name: str) -> bool:
    regex = "".join(".*" if c == "*" else "[^/]*" if c == "%" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, name) is not None


class _Session:
    def __init__(self, server: FakeIMAPServer, sock: socket.socket) -> None:
        self.server = server
        self.sock: socket.socket = sock
        self.conn = ServerConnection(max_literal=1 << 20)
        self.box: Box | None = None
        self.closed = False

    def write(self, response: Response) -> None:
        self.sock.sendall(self.conn.send(response))

    def ok(self, command: Command, code: ResponseCode | None = None) -> None:
        self.write(StatusResponse(tag=command.tag, status="OK", code=code, text="done"))

    def no(self, command: Command, text: str, code: str | None = None) -> None:
        self.write(StatusResponse(tag=command.tag, status="NO", text=text,
                                  code=ResponseCode(name=code) if code else None))

    def read(self) -> bool:
        data = self.sock.recv(65536)
        if data:
            self.server.wire.append(data)
        self.conn.receive_data(data)
        return bool(data)

    def run(self) -> None:
        caps = " ".join(self.server.script.capabilities)
        self.write(StatusResponse(status="OK", code=ResponseCode(name="CAPABILITY", text=caps),
                                  text="fake ready"))
        while not self.closed:
            event = self.conn.next_event()
            if event is NEED_DATA:
                if not self.read():
                    continue
            elif event is PAUSED:
                if self.conn.tls_pending:
                    assert self.server.script.tls is not None
                    self.sock = self.server.script.tls.wrap_socket(self.sock, server_side=True)
                    self.conn.tls_established()
                    continue
                return
            elif isinstance(event, ConnectionClosed):
                return
            elif isinstance(event, InvalidCommand):
                self.write(event.response)
            elif isinstance(event, LiteralAnnounced):
                name = event.arguments[0] if event.arguments else None
                if event.name == "APPEND" and str(name) not in self.server.boxes:
                    self.write(StatusResponse(tag=event.tag, status="NO", text="no mailbox",
                                              code=ResponseCode(name="TRYCREATE")))
                else:
                    self.write(ContinuationRequest(text="go on"))
            else:
                self.server.commands.append(event)
                script = self.server.script
                if script.drop_on is not None and isinstance(event, script.drop_on) \
                        and not isinstance(event, Idle):
                    return
                if script.stall_on is not None and isinstance(event, script.stall_on):
                    self.sock.settimeout(10)
                    with contextlib.suppress(OSError):
                        self.sock.recv(1)
                    return
                self.handle(event)

    # -- commands -------------------------------------------------------------------

    def handle(self, ev: Command) -> None:
        method = getattr(self, "do_" + type(ev).__name__.lower())
        method(ev)

    def do_capability(self, ev: Capability) -> None:
        self.write(CapabilityResponse(capabilities=self.server.script.capabilities))
        self.ok(ev)

    def do_noop(self, ev: Noop | Check) -> None:
        self.ok(ev)

    do_check = do_noop

    def do_logout(self, ev: Logout) -> None:
        self.write(StatusResponse(status="BYE", text="bye"))
        self.ok(ev)
        self.closed = True

    def do_starttls(self, ev: StartTLS) -> None:
        self.ok(ev)

    def _logged_in(self, ev: Command, user: str, password: str) -> None:
        if self.server.script.users.get(user) != password:
            self.no(ev, "bad credentials", "AUTHENTICATIONFAILED")
            return
        caps = " ".join(self.server.script.capabilities) + " X-LOGGED-IN"
        self.ok(ev, ResponseCode(name="CAPABILITY", text=caps)
                if self.server.script.login_code else None)

    def do_login(self, ev: Login) -> None:
        self._logged_in(ev, ev.user, ev.password)

    def do_authenticate(self, ev: Authenticate) -> None:
        mech = server_mechanism(ev.mechanism)
        step = mech.step(ev.initial_response)
        while step.challenge is not None:
            self.write(ContinuationRequest(text=step.challenge))
            while (data := self.conn.next_event()) is NEED_DATA:
                if not self.read():
                    return
            assert isinstance(data, AuthenticateData)
            step = mech.step("*" if data.cancelled else data.data)
        if step.error is not None:
            self.write(StatusResponse(tag=ev.tag, status="BAD" if "cancel" in step.error
                                      else "NO", text=step.error))
            return
        self._logged_in(ev, step.username or "", step.password or "")

    def do_select(self, ev: Select | Examine) -> None:
        box = self.server.boxes.get(ev.mailbox)
        if box is None:
            self.box = None
            self.no(ev, "no such mailbox")
            return
        self.box = box
        self.write(FlagsResponse(flags=("\\Answered", "\\Flagged", "\\Deleted", "\\Seen",
                                        "\\Draft")))
        self.write(ExistsResponse(count=len(box.messages)))
        for name, value in (("UIDVALIDITY", box.uidvalidity), ("UIDNEXT", box.uidnext)):
            self.write(StatusResponse(status="OK", code=ResponseCode(name=name, values=(value,))))
        self.write(StatusResponse(status="OK", code=ResponseCode(
            name="PERMANENTFLAGS", values=((Atom("\\Seen"), Atom("\\Deleted"), Atom("\\*")),))))
        self.ok(ev, ResponseCode(name="READ-ONLY" if isinstance(ev, Examine) else "READ-WRITE"))

    do_examine = do_select

    def do_create(self, ev: Create) -> None:
        if ev.mailbox in self.server.boxes:
            self.no(ev, "exists", "ALREADYEXISTS")
            return
        self.server.boxes[ev.mailbox] = Box(uidvalidity=len(self.server.boxes) + 10)
        self.ok(ev)

    def do_delete(self, ev: Delete) -> None:
        if self.server.boxes.pop(ev.mailbox, None) is None:
            self.no(ev, "no such mailbox", "NONEXISTENT")
            return
        self.ok(ev)

    def do_rename(self, ev: Rename) -> None:
        self.server.boxes[ev.new_name] = self.server.boxes.pop(ev.mailbox)
        self.ok(ev)

    def do_subscribe(self, ev: Subscribe | Unsubscribe) -> None:
        self.server.boxes[ev.mailbox].subscribed = isinstance(ev, Subscribe)
        self.ok(ev)

    do_unsubscribe = do_subscribe

    def do_list(self, ev: List | Lsub) -> None:
        for name, box in self.server.boxes.items():
            if not _match(ev.reference + ev.pattern, name):
                continue
            only_special = isinstance(ev, List) and "SPECIAL-USE" in ev.select_options
            only_subscribed = isinstance(ev, Lsub) or (isinstance(ev, List) and "SUBSCRIBED"
                                                       in ev.select_options)
            if (only_special and box.special is None) or (only_subscribed
                                                          and not box.subscribed):
                continue
            flags = ("\\HasNoChildren",) + ((box.special,) if box.special else ())
            self.write(ListResponse(flags=flags, delimiter="/", mailbox=name,
                                    kind="LSUB" if isinstance(ev, Lsub) else "LIST"))
        self.ok(ev)

    do_lsub = do_list

    def do_status(self, ev: Status) -> None:
        box = self.server.boxes[ev.mailbox]
        values = {"MESSAGES": len(box.messages), "RECENT": 0, "UIDNEXT": box.uidnext,
                  "UIDVALIDITY": box.uidvalidity,
                  "UNSEEN": sum("\\Seen" not in m.flags for m in box.messages)}
        self.write(MailboxStatusResponse(mailbox=ev.mailbox,
                                         items={i: values[i] for i in ev.items}))
        self.ok(ev)

    def do_append(self, ev: Append) -> None:
        box = self.server.boxes.get(ev.mailbox)
        if box is None:
            self.no(ev, "no mailbox", "TRYCREATE")
            return
        uid = self.server.add(ev.mailbox, ev.message, set(ev.flags))
        if self.box is box:
            self.write(ExistsResponse(count=len(box.messages)))
        self.ok(ev, ResponseCode(name="APPENDUID", values=(box.uidvalidity, uid)))

    def do_namespace(self, ev: Namespace) -> None:
        self.write(NamespaceResponse(personal=(("", "/"),)))
        self.ok(ev)

    def do_id(self, ev: Id) -> None:
        self.write(IdResponse(params={"name": "fake"}))
        self.ok(ev)

    def do_enable(self, ev: Enable) -> None:
        self.write(EnabledResponse(capabilities=ev.capabilities))
        self.ok(ev)

    def do_idle(self, ev: Idle) -> None:
        self.write(ContinuationRequest(text="idling"))
        self.server.idling.set()
        if self.server.script.drop_on is Idle:
            self.closed = True
            return
        while True:
            if self.server.script.bye_in_idle:
                self.write(StatusResponse(status="BYE", text="idle timeout"))
                self.closed = True
                return
            ready, _, _ = select.select([self.sock], [], [], 0.02)
            if ready:
                if not self.read():
                    self.closed = True
                    return
                event = self.conn.next_event()
                if isinstance(event, IdleDone):
                    self.server.idling.clear()
                    self.ok(ev)
                    return
                continue
            with contextlib.suppress(queue.Empty):
                self.write(self.server.pushes.get_nowait())

    def do_close(self, ev: Close | Unselect) -> None:
        self.box = None
        self.ok(ev)

    do_unselect = do_close

    def _messages(self, seqset: str, uid: bool) -> list[tuple[int, Msg]]:
        assert self.box is not None
        msgs = self.box.messages
        largest = (msgs[-1].uid if msgs else 0) if uid else len(msgs)
        ranges = parse_sequence_set(seqset, largest) or []
        out = []
        for seq, msg in enumerate(msgs, 1):
            n = msg.uid if uid else seq
            if any(lo <= n <= hi for lo, hi in ranges):
                out.append((seq, msg))
        return out

    def do_expunge(self, ev: Expunge) -> None:
        assert self.box is not None
        chosen = {m.uid for _, m in self._messages(ev.uids, True)} if ev.uids else None
        seq = 1
        for msg in list(self.box.messages):
            if "\\Deleted" in msg.flags and (chosen is None or msg.uid in chosen):
                self.box.messages.remove(msg)
                self.write(ExpungeResponse(seq=seq))
            else:
                seq += 1
        self.ok(ev)

    def _matches(self, key: SearchKey, seq: int, msg: Msg) -> bool:
        name, args = key.name, key.args
        if name == "AND":
            return all(self._matches(k, seq, msg) for k in args)  # type: ignore[arg-type]
        if name == "OR":
            return any(self._matches(k, seq, msg) for k in args)  # type: ignore[arg-type]
        if name == "NOT":
            return not self._matches(args[0], seq, msg)  # type: ignore[arg-type]
        if name in ("SEEN", "FLAGGED", "DELETED", "ANSWERED", "DRAFT"):
            return f"\\{name.title()}" in msg.flags
        if name.startswith("UN") and name[2:] in ("SEEN", "FLAGGED", "DELETED"):
            return f"\\{name[2:].title()}" not in msg.flags
        if name in ("SUBJECT", "FROM", "TEXT", "BODY"):
            return str(args[0]).lower() in msg.data.decode("utf-8", "replace").lower()
        if name == "UID":
            ranges = parse_sequence_set(str(args[0]), self.box.messages[-1].uid  # type: ignore[union-attr]
                                        ) or []
            return any(lo <= msg.uid <= hi for lo, hi in ranges)
        return True  # dates and the rest: everything matches here

    def do_search(self, ev: Search) -> None:
        assert self.box is not None
        key = parse_search(ev.criteria, ev.charset)  # type: ignore[arg-type]
        found = [msg.uid if ev.uid else seq for seq, msg in enumerate(self.box.messages, 1)
                 if self._matches(key, seq, msg)]
        self.write(SearchResponse(numbers=tuple(found)))
        self.ok(ev)

    def do_fetch(self, ev: Fetch) -> None:
        for seq, msg in self._messages(ev.sequence_set, ev.uid):
            items: dict[str, object] = {}
            if ev.uid:
                items["UID"] = msg.uid
            for item in ev.items:
                if item == "UID":
                    items["UID"] = msg.uid
                elif item == "FLAGS":
                    items["FLAGS"] = tuple(Atom(f) for f in sorted(msg.flags))
                elif item == "RFC822.SIZE":
                    items[item] = len(msg.data)
                elif item == "INTERNALDATE":
                    items[item] = msg.date
                elif item in ("BODY[]", "BODY.PEEK[]"):
                    items["BODY[]"] = msg.data
                    if item == "BODY[]":
                        msg.flags.add("\\Seen")
                elif item == "ENVELOPE":
                    parsed = mimekit.parse(msg.data)
                    items[item] = (None, parsed.subject, None, None, None, None, None, None,
                                   None, None)
                elif item == "BODYSTRUCTURE":
                    items[item] = ("TEXT", "PLAIN", ("CHARSET", "us-ascii"), None, None,
                                   "7BIT", len(msg.data), 1, None, None, None, None)
            self.write(FetchResponse(seq=seq, items=items))
        self.ok(ev)

    def do_store(self, ev: Store) -> None:
        for seq, msg in self._messages(ev.sequence_set, ev.uid):
            if ev.operation == "add":
                msg.flags |= set(ev.flags)
            elif ev.operation == "remove":
                msg.flags -= set(ev.flags)
            else:
                msg.flags = set(ev.flags)
            if not ev.silent:
                items: dict[str, object] = {"FLAGS": tuple(Atom(f) for f in sorted(msg.flags))}
                if ev.uid:
                    items["UID"] = msg.uid
                self.write(FetchResponse(seq=seq, items=items))
        self.ok(ev)

    def do_copy(self, ev: Copy | Move) -> None:
        target = self.server.boxes.get(ev.mailbox)
        if target is None:
            self.no(ev, "no such mailbox", "TRYCREATE")
            return
        chosen = self._messages(ev.sequence_set, ev.uid)
        new = [self.server.add(ev.mailbox, m.data, set(m.flags)) for _, m in chosen]
        code = ResponseCode(name="COPYUID", values=(
            target.uidvalidity, Atom(",".join(str(m.uid) for _, m in chosen)),
            Atom(",".join(map(str, new)))))
        if isinstance(ev, Move):
            self.write(StatusResponse(status="OK", code=code, text="moved"))
            assert self.box is not None
            for seq, msg in reversed(chosen):
                self.box.messages.remove(msg)
                self.write(ExpungeResponse(seq=seq))
            self.ok(ev)
        else:
            self.ok(ev, code)

    do_move = do_copy


class AsyncFacade:
    """``AsyncIMAPClient`` behind a blocking interface: every coroutine
    method runs on one event loop (``asyncio.Runner``) that lives as long
    as the client, so a test body written for ``IMAPClient`` covers both."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._runner = asyncio.Runner()
        self._client = AsyncIMAPClient(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *a, **k: self._runner.run(attr(*a, **k))
        return attr

    def idle(self, *args: Any, **kwargs: Any) -> Iterator[Response]:
        events = self._client.idle(*args, **kwargs)
        try:
            while True:
                try:
                    yield self._runner.run(events.__anext__())  # type: ignore[arg-type]
                except StopAsyncIteration:
                    return
        finally:
            self._runner.run(events.aclose())  # type: ignore[attr-defined]

    def fetch_message(self, uid: int) -> mimekit.Message:
        return self._runner.run(self._client.fetch_message(uid))

    def __enter__(self) -> AsyncFacade:
        try:
            self._runner.run(self._client.__aenter__())
        except BaseException:
            self._runner.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self._runner.run(self._client.__aexit__(*exc))
        finally:
            self._runner.close()

    def shutdown(self) -> None:
        """Close (no LOGOUT) and end the loop, for tests that never used ``with``."""
        if self._runner._state.name == "CLOSED":  # __enter__ failed and closed it
            return
        try:
            self._runner.run(self._client.close())
        finally:
            self._runner.close()


#: The two clients, for ``pytest.mark.parametrize``.
CLIENTS: dict[str, Any] = {"sync": IMAPClient, "async": AsyncFacade}


def make_client(kind: str, port: int, **kwargs: Any) -> Any:
    return CLIENTS[kind]("127.0.0.1", port, **kwargs)
