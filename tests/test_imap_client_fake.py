"""Both IMAP clients against a fake server on 127.0.0.1 (our own
``ServerConnection`` in a thread, with an in-memory store): every method,
literal synchronization, capability refreshes, the MOVE fallback, IDLE
(events, timeout, break, BYE, a dropped connection, renewal), TLS, and the
errors."""

from __future__ import annotations

import base64
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from imap_client_helpers import CAPABILITIES, FakeIMAPServer, Script, make_client

from mimekit import compose
from mimekit.imap import (
    Append,
    Authenticate,
    Capability,
    Copy,
    ExistsResponse,
    Expunge,
    Idle,
    IMAPAuthenticationError,
    IMAPCommandError,
    IMAPDisconnected,
    IMAPNoSuchMessage,
    IMAPNotSupportedError,
    IMAPTimeoutError,
    Login,
    Move,
    Search,
    SearchSummary,
    State,
    Store,
)
from mimekit.serve._tls import ensure_self_signed, server_context

pytestmark = pytest.mark.parametrize("kind", ["sync", "async"])

MSG = b"From: a@example.test\r\nSubject: hello\r\n\r\nbody\r\n"


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return ensure_self_signed(tmp_path_factory.mktemp("imaptls"), "localhost")


def _logged_in(kind: str, srv: FakeIMAPServer, **kwargs: Any) -> Any:
    c = make_client(kind, srv.port, **kwargs)
    c.__enter__()
    c.login("alice", "secret")
    return c


def test_session_basics(kind: str) -> None:
    with FakeIMAPServer() as srv, make_client(kind, srv.port) as c:
        assert c.greeting.text == "fake ready"
        assert "IDLE" in c.capabilities and c.state is State.NOT_AUTHENTICATED
        c.login("alice", "secret")
        # The tagged OK's [CAPABILITY] code refreshed them: no extra command.
        assert "X-LOGGED-IN" in c.capabilities and c.authenticated == "alice"
        assert not any(isinstance(e, Capability) for e in srv.commands)
        assert c.namespace().personal == (("", "/"),)
        assert c.id({"name": "mimekit"}) == {"name": "fake"}
        assert c.enable("CONDSTORE") == {"CONDSTORE"}
        assert c.noop() == []
    assert c.state is State.LOGOUT


def test_capabilities_asked_after_login_without_code(kind: str) -> None:
    with FakeIMAPServer(Script(login_code=False)) as srv, make_client(kind, srv.port) as c:
        c.login("alice", "secret")
        assert isinstance(srv.commands[-1], Capability)
        with make_client(kind, srv.port) as other, \
                pytest.raises(IMAPAuthenticationError) as info:
            other.login("alice", "wrong")
        assert info.value.code_name == "AUTHENTICATIONFAILED"


def test_authenticate_plain_with_and_without_sasl_ir(kind: str) -> None:
    with FakeIMAPServer() as srv, make_client(kind, srv.port) as c:
        c.authenticate("PLAIN", "alice", "secret")
        assert c.state is State.AUTHENTICATED
        auth = next(e for e in srv.commands if isinstance(e, Authenticate))
        assert base64.b64decode(auth.initial_response or "") == b"\x00alice\x00secret"
    no_ir = tuple(c for c in CAPABILITIES if c != "SASL-IR")
    with FakeIMAPServer(Script(capabilities=no_ir)) as srv, make_client(kind, srv.port) as c:
        c.authenticate("plain", "alice", "secret")
        assert c.authenticated == "alice"
        auth = next(e for e in srv.commands if isinstance(e, Authenticate))
        assert auth.initial_response is None
        with pytest.raises(IMAPNotSupportedError, match="XOAUTH2"):
            c.authenticate("XOAUTH2", "alice", token="t")


def test_xoauth2_on_the_wire(kind: str) -> None:
    caps = (*CAPABILITIES, "AUTH=XOAUTH2")
    with FakeIMAPServer(Script(capabilities=caps)) as srv, make_client(kind, srv.port) as c:
        with pytest.raises(IMAPAuthenticationError):
            c.authenticate("XOAUTH2", "alice", token="ya29.tok")  # the fake cannot check
        auth = next(e for e in srv.commands if isinstance(e, Authenticate))
        assert base64.b64decode(auth.initial_response or "") == \
            b"user=alice\x01auth=Bearer ya29.tok\x01\x01"
        assert c.state is State.NOT_AUTHENTICATED  # still usable
        c.login("alice", "secret")


def test_plaintext_refused_off_loopback(kind: str) -> None:
    with FakeIMAPServer() as srv, make_client(kind, srv.port) as c:
        c._session.loopback = False  # pretend the server is remote
        with pytest.raises(IMAPNotSupportedError, match="clear text"):
            c.login("alice", "secret")
        with pytest.raises(IMAPNotSupportedError, match="clear text"):
            c.authenticate("PLAIN", "alice", "secret")
        assert not srv.commands
    with FakeIMAPServer() as srv, make_client(kind, srv.port, allow_insecure_auth=True) as c:
        c._session.loopback = False
        c.login("alice", "secret")


def test_mailboxes(kind: str) -> None:
    with FakeIMAPServer() as srv:
        c = _logged_in(kind, srv)
        try:
            c.create("Entwürfe")
            assert "Entw&APw-rfe" in srv.boxes
            names = {m.name: m for m in c.list_mailboxes()}
            assert set(names) == {"INBOX", "Sent", "Trash", "Entwürfe"}
            assert names["Entwürfe"].raw_name == "Entw&APw-rfe"
            assert names["Sent"].special_use == "\\Sent" and names["INBOX"].special_use is None
            assert [m.name for m in c.list_mailboxes(special_use=True)] == ["Sent", "Trash"]
            c.rename("Entwürfe", "Drafts")
            c.unsubscribe("Drafts")
            assert "Drafts" not in [m.name for m in c.list_mailboxes(subscribed=True)]
            c.subscribe("Drafts")
            assert c.status("Drafts") == {"MESSAGES": 0, "RECENT": 0, "UIDNEXT": 1,
                                          "UIDVALIDITY": 13, "UNSEEN": 0}
            c.delete("Drafts")
            with pytest.raises(IMAPCommandError) as info:
                c.delete("Drafts")
            assert info.value.status == "NO" and info.value.code_name == "NONEXISTENT"
            st = c.select("INBOX")
            assert (st.exists, st.uidvalidity, st.uidnext, st.readonly) == (0, 1, 1, False)
            assert st.permanent_flags == ("\\Seen", "\\Deleted", "\\*")
            assert c.examine("INBOX").readonly and c.state is State.SELECTED
            c.unselect()
            assert c.state is State.AUTHENTICATED and c.selected is None
            with pytest.raises(IMAPCommandError):
                c.select("Nope")
        finally:
            c.__exit__(None, None, None)


def test_messages(kind: str) -> None:
    with FakeIMAPServer() as srv:
        c = _logged_in(kind, srv)
        try:
            when = datetime(2024, 3, 4, 5, 6, 7, tzinfo=UTC)
            result = c.append("INBOX", MSG, flags=["\\Flagged"], date=when)
            assert (result.uidvalidity, result.uid) == (1, 1)
            message = compose(from_="b@example.test", to=["c@example.test"], subject="Grüße",
                              text="hi")
            assert c.append("INBOX", message).uid == 2
            c.select("INBOX")
            assert c.selected.exists == 2
            assert c.search() == [1, 2]
            assert c.search("UNSEEN") == [1, 2]
            assert c.search(flagged=True) == [1]
            assert c.search([("BODY", "body"), ("SINCE", date(2020, 1, 1))]) == [1]
            assert c.search(subject="Grüße") == []  # (the fake reads raw octets)
            search = [e for e in srv.commands if isinstance(e, Search)][-1]
            assert search.charset == "UTF-8" and search.uid
            # No ESEARCH offered: the summary is worked out from UID SEARCH.
            assert c.search_summary(flagged=True, uids=True) == SearchSummary(
                count=1, min=1, max=1, uids=(1,))
            assert c.search_summary("DELETED") == SearchSummary(count=0)
            search = [e for e in srv.commands if isinstance(e, Search)][-1]
            assert search.return_options is None
            with pytest.raises(ValueError):
                c.sort("SIZE REVERSE")  # nothing sent
            with pytest.raises(IMAPNotSupportedError):
                c.sort("DATE")  # the fake offers no SORT
            got = c.fetch([1, 2], ["FLAGS", "ENVELOPE", "BODYSTRUCTURE", "BODY.PEEK[]",
                                   "INTERNALDATE", "RFC822.SIZE"])
            assert got[1]["BODY.PEEK[]"] == MSG and got[1].flags == ("\\Flagged",)
            assert got[1].envelope is not None and got[1].envelope.subject == "hello"
            assert got[1].bodystructure.mime_type == "text/plain"
            assert got[1].internaldate.year == 2024 and got[1].size == len(MSG)
            assert got[2]["BODY[]"] == message.to_bytes()
            assert c.fetch_bytes(1) == MSG
            assert c.fetch_message(2).subject == "Grüße"
            with pytest.raises(IMAPNoSuchMessage):
                c.fetch_bytes(99)
            assert c.fetch([], "FLAGS") == {}
            assert c.store([1, 2], add_flags=["\\Seen"]) == {1: ("\\Flagged", "\\Seen"),
                                                             2: ("\\Seen",)}
            assert c.store(1, remove_flags=["\\Flagged"], silent=True) == {}
            assert c.store("1:*", set_flags=["$Work"]) == {1: ("$Work",), 2: ("$Work",)}
            copied = c.copy([1, 2], "Trash")
            assert copied.mapping == {1: 1, 2: 2}
            with pytest.raises(IMAPCommandError) as info:
                c.copy(1, "Nope")
            assert info.value.code_name == "TRYCREATE"
            moved = c.move([2], "Sent")
            assert moved.source_uids == (2,) and moved.uidvalidity == 2
            assert c.selected.exists == 1
            assert any(isinstance(e, Move) for e in srv.commands)
            c.store(1, add_flags=["\\Deleted"])
            assert c.expunge(1) == [1]
            assert c.selected.exists == 0
            c.close_mailbox()
            assert c.state is State.AUTHENTICATED
        finally:
            c.__exit__(None, None, None)


def test_move_fallback_without_move(kind: str) -> None:
    caps = tuple(x for x in CAPABILITIES if x != "MOVE")
    with FakeIMAPServer(Script(capabilities=caps)) as srv:
        srv.add("INBOX", MSG)
        srv.add("INBOX", MSG, {"\\Deleted"})
        c = _logged_in(kind, srv)
        try:
            c.select("INBOX")
            result = c.move([1], "Trash")
            assert result is not None and result.dest_uids == (1,)
            kinds = [type(e) for e in srv.commands[-3:]]
            assert kinds == [Copy, Store, Expunge]
            assert srv.commands[-1].uids == "1"  # UID EXPUNGE: message 2 stays
            assert [m.uid for m in srv.boxes["INBOX"].messages] == [2]
        finally:
            c.__exit__(None, None, None)


def test_literals_without_literal_plus(kind: str) -> None:
    caps = tuple(x for x in CAPABILITIES if x != "LITERAL+")
    with FakeIMAPServer(Script(capabilities=caps)) as srv:
        c = _logged_in(kind, srv)
        try:
            big = MSG + b"x" * 100_000 + b"\r\n"
            assert c.append("INBOX", big).uid == 1
            assert srv.boxes["INBOX"].messages[0].data == big
            assert any(chunk.endswith(b"{%d}\r\n" % len(big)) for chunk in srv.wire)
            # The server refuses before the "+": nothing of the message is sent.
            before = sum(map(len, srv.wire))
            with pytest.raises(IMAPCommandError) as info:
                c.append("Nope", big)
            assert info.value.code_name == "TRYCREATE"
            assert sum(map(len, srv.wire)) - before < 100
            assert c.status("INBOX")["MESSAGES"] == 1
        finally:
            c.__exit__(None, None, None)


def _pusher(srv: FakeIMAPServer, *events: Any) -> threading.Thread:
    def push() -> None:
        srv.idling.wait(5)
        for event in events:
            srv.pushes.put(event)
    thread = threading.Thread(target=push)
    thread.start()
    return thread


def test_idle_delivers_and_ends_cleanly(kind: str) -> None:
    with FakeIMAPServer() as srv:
        c = _logged_in(kind, srv)
        try:
            c.select("INBOX")
            pusher = _pusher(srv, ExistsResponse(count=1))
            got = []
            for event in c.idle(timeout=10):
                got.append(event)
                if isinstance(event, ExistsResponse):
                    break
            pusher.join()
            assert got == [ExistsResponse(count=1)]
            assert c.selected.exists == 1
            # The break ended IDLE (DONE, tagged OK): the connection works on.
            assert c.noop() is not None and c.state is State.SELECTED
            start = time.monotonic()
            assert list(c.idle(timeout=0.3)) == []
            assert 0.25 < time.monotonic() - start < 3
            assert c.status("INBOX")["MESSAGES"] == 0
        finally:
            c.__exit__(None, None, None)


def test_idle_renews(kind: str) -> None:
    with FakeIMAPServer() as srv:
        c = _logged_in(kind, srv)
        try:
            c.select("INBOX")
            assert list(c.idle(timeout=0.7, renew=0.2)) == []
            assert sum(isinstance(e, Idle) for e in srv.commands) >= 3
        finally:
            c.__exit__(None, None, None)


@pytest.mark.parametrize("how", ["bye", "drop"])
def test_idle_survives_the_connection_ending(kind: str, how: str) -> None:
    script = Script(bye_in_idle=how == "bye", drop_on=Idle if how == "drop" else None)
    with FakeIMAPServer(script) as srv:
        c = _logged_in(kind, srv)
        c.select("INBOX")
        with pytest.raises(IMAPDisconnected) as info:
            for _ in c.idle(timeout=10):
                pass
        if how == "bye":
            assert info.value.bye == "idle timeout"
        assert not c.connected
        with pytest.raises(IMAPDisconnected):
            c.noop()
        if kind == "async":
            c.shutdown()


def test_timeout_and_drop_close_the_connection(kind: str) -> None:
    with FakeIMAPServer(Script(stall_on=Search)) as srv:
        c = _logged_in(kind, srv, timeout=0.5)
        c.select("INBOX")
        with pytest.raises(IMAPTimeoutError):
            c.search("ALL")
        assert not c.connected
        if kind == "async":
            c.shutdown()
    with FakeIMAPServer(Script(drop_on=Login)) as srv:
        c = make_client(kind, srv.port)
        c.__enter__()
        with pytest.raises(IMAPDisconnected):
            c.login("alice", "secret")
        assert not c.connected
        if kind == "async":
            c.shutdown()


def test_caller_mistakes_raise_at_once(kind: str) -> None:
    with FakeIMAPServer() as srv:
        c = _logged_in(kind, srv)
        try:
            with pytest.raises(ValueError):
                c.search(("SINCE", "tomorrow"))
            with pytest.raises(ValueError):
                c.store(1)
            with pytest.raises(TypeError):
                c.append("INBOX", 42)
            with pytest.raises(ValueError):
                c.fetch(1, "FLAGS")  # no mailbox selected: the state table says no
            c.select("INBOX")
            with pytest.raises(ValueError):
                c.fetch(1, "BAD ITEM(")  # not an atom: refused before sending
            with pytest.raises(IMAPNotSupportedError):
                c.create("X", special_use="\\Archive")  # no CREATE-SPECIAL-USE
            assert c.status("INBOX")["MESSAGES"] == 0  # and the session is fine
            assert not any(isinstance(e, Append) for e in srv.commands)
        finally:
            c.__exit__(None, None, None)


def test_starttls_and_certificate_checks(kind: str, tls_pair: tuple[Path, Path]) -> None:
    cert, key = tls_pair
    caps = (*CAPABILITIES, "STARTTLS")
    script = Script(capabilities=caps, tls=server_context(cert, key))
    ctx = ssl.create_default_context(cafile=str(cert))
    with FakeIMAPServer(script) as srv:
        with make_client(kind, srv.port, tls="starttls", ssl_context=ctx) as c:
            assert c.tls
            c.login("alice", "secret")
            assert c.capabilities
        # Capabilities asked again after TLS (RFC 3501 6.2.1).
        kinds = [type(e).__name__ for e in srv.commands[:2]]
        assert kinds == ["StartTLS", "Capability"]
        with pytest.raises(ssl.SSLError):
            make_client(kind, srv.port, tls="starttls").__enter__()  # default: verified
    with FakeIMAPServer() as srv, pytest.raises(IMAPNotSupportedError, match="STARTTLS"):
        make_client(kind, srv.port, tls="starttls").__enter__()


@pytest.fixture(autouse=True)
def _no_thread_leaks() -> Iterator[None]:
    before = threading.active_count()
    yield
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.02)
