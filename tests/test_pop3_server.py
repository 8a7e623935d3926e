"""The asyncio POP3 server over real sockets on 127.0.0.1, read by poplib,
raw sockets and our own clients: every command, STLS and implicit TLS, the
maildrop lock, DELE applied only at QUIT, dropped connections, new -> cur,
UIDL stability, wire sizes, TOP, the plaintext policy and the limits."""

from __future__ import annotations

import contextlib
import mailbox
import poplib
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pop3_helpers import CLIENTS, running_server

from mimekit.mailstore import Maildir
from mimekit.pop3 import (
    MaildirHandler,
    POP3InUseError,
    POP3Server,
    ServerConfig,
)
from mimekit.pop3._maildrop import LOCK_NAME, unique_id
from mimekit.serve._tls import ensure_self_signed, server_context

USERS = {"alice": "secret", "bob": "secret"}
MSG_LF = (b"From: a@example.test\nSubject: lf\n\n.starts with a dot\nline 2\n..two dots\n"
          b"line 4\nline 5\n")
MSG_CRLF = b"Subject: crlf\r\n\r\nbody 1\r\n.\r\nbody 3\r\n"
MSG_NO_BODY = b"Subject: only a header\n"


def crlf(data: bytes) -> bytes:
    """What goes on the wire for stored bytes: bare LF made CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class Box:
    """A Maildir root with alice's and bob's mail, and a server over it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.alice = Maildir(root / "alice", create=True)
        self.keys = [self.alice.add(m) for m in (MSG_LF, MSG_CRLF, MSG_NO_BODY)]
        Maildir(root / "bob", create=True).add(MSG_CRLF)

    def handler(self) -> MaildirHandler:
        return MaildirHandler(self.root, lambda u, p: USERS.get(u) == p,
                              apop_secrets=USERS.get)


@pytest.fixture
def box(tmp_path: Path) -> Box:
    return Box(tmp_path / "mail")


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return ensure_self_signed(tmp_path_factory.mktemp("pop3tls"), "localhost")


def config(**kw: object) -> ServerConfig:
    kw.setdefault("auth_failure_delay", 0.0)
    return ServerConfig(hostname="pop.example.test", **kw)  # type: ignore[arg-type]


@pytest.fixture
def served(box: Box) -> Iterator[POP3Server]:
    with running_server(box.handler(), config(apop=True)) as server:
        yield server


def pop(server: POP3Server, user: str = "alice") -> poplib.POP3:
    p = poplib.POP3("127.0.0.1", server.port, timeout=5)
    try:
        p.user(user)
        p.pass_(USERS[user])
    except BaseException:
        p.close()
        raise
    return p


def raw(port: int, data: bytes, *, wait: float = 0.3) -> bytes:
    """Send bytes, collect what the server says until it goes quiet or closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.settimeout(wait)
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except TimeoutError:
            pass
        return out


# -- poplib: every command ------------------------------------------------------------------


def test_poplib_every_command(box: Box, served: POP3Server) -> None:
    p = poplib.POP3("127.0.0.1", served.port, timeout=5)
    assert p.getwelcome().startswith(b"+OK pop.example.test POP3 server ready <")
    caps = p.capa()
    assert {"TOP", "UIDL", "RESP-CODES", "PIPELINING", "USER"} <= set(caps)
    assert caps["SASL"] == ["PLAIN", "LOGIN"]
    assert "STLS" not in caps  # no TLS context
    p.user("alice")
    assert p.pass_("secret") == b"+OK maildrop has 3 messages (%d octets)" % (
        len(crlf(MSG_LF)) + len(MSG_CRLF) + len(crlf(MSG_NO_BODY)))
    sizes = [len(crlf(MSG_LF)), len(MSG_CRLF), len(crlf(MSG_NO_BODY))]
    assert p.stat() == (3, sum(sizes))
    assert p.list()[1] == [b"%d %d" % (n, s) for n, s in enumerate(sizes, 1)]
    assert p.list(2) == b"+OK 2 %d" % sizes[1]
    uids = [unique_id(k) for k in box.keys]
    assert p.uidl()[1] == [b"%d %s" % (n, u.encode()) for n, u in enumerate(uids, 1)]
    assert p.uidl(3) == b"+OK 3 " + uids[2].encode()
    for n, stored in enumerate((MSG_LF, MSG_CRLF, MSG_NO_BODY), 1):
        _, lines, _ = p.retr(n)
        assert b"\r\n".join(lines) + b"\r\n" == crlf(stored)  # byte-exact
    _, lines, _ = p.top(1, 2)
    assert lines == [b"From: a@example.test", b"Subject: lf", b"", b".starts with a dot",
                     b"line 2"]
    assert p.top(1, 0)[1] == [b"From: a@example.test", b"Subject: lf", b""]
    assert p.top(1, 99)[1] == crlf(MSG_LF).split(b"\r\n")[:-1]
    assert p.top(3, 5)[1] == [b"Subject: only a header"]  # no body: all of it
    assert p.noop() == b"+OK"
    p.dele(2)
    with pytest.raises(poplib.error_proto, match="deleted"):
        p.retr(2)
    assert p.stat() == (2, sizes[0] + sizes[2])
    assert p.rset().startswith(b"+OK")
    assert p.stat() == (3, sum(sizes))
    p.dele(1)
    with pytest.raises(poplib.error_proto, match="no message 9"):
        p.list(9)
    assert p.quit().startswith(b"+OK")
    md = Maildir(box.root / "alice")
    assert sorted(md.keys()) == sorted(box.keys[1:])  # 1 deleted at QUIT
    # RETR'd messages that stay are marked read; all moved to cur/.
    assert md.get_flags(box.keys[1]) == "S" and md.get_subdir(box.keys[2]) == "cur"


def test_apop_with_plaintext_secrets(served: POP3Server) -> None:
    p = poplib.POP3("127.0.0.1", served.port, timeout=5)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        p.apop("alice", "wrong")
    assert p.apop("alice", "secret").startswith(b"+OK")
    assert p.stat()[0] == 3
    p.quit()


def test_uidl_is_stable_across_restarts(box: Box) -> None:
    seen = []
    for _ in range(2):
        with running_server(box.handler(), config()) as server:
            p = pop(server)
            seen.append(p.uidl()[1])
            p.quit()
    assert seen[0] == seen[1]
    assert seen[0][0].split()[1].decode() == box.keys[0].split(",")[0]


def test_new_mail_moves_to_cur_as_it_is_seen(box: Box, served: POP3Server) -> None:
    assert all(box.alice.get_subdir(k) == "new" for k in box.keys)
    p = pop(served)
    assert all(box.alice.get_subdir(k) == "cur" for k in box.keys)
    assert all(box.alice.get_flags(k) == "" for k in box.keys)  # seen is not read
    late = box.alice.add(b"Subject: late\n\nx\n")
    assert p.stat()[0] == 3  # the maildrop is fixed for the session
    p.quit()
    assert box.alice.get_subdir(late) == "new"
    p = pop(served)
    assert p.stat()[0] == 4
    p.quit()


def test_sizes_of_files_without_a_size_field(box: Box, served: POP3Server) -> None:
    # A Maildir written by Python's mailbox module: no ,S= or ,W= in names.
    mb = mailbox.Maildir(str(box.root / "carol"), create=True)
    mb.add(b"Subject: stdlib\n\nbare\nline feeds\n")
    USERS["carol"] = "pw"
    try:
        p = pop(served, "carol")
        (line,) = p.list()[1]
        _, lines, _ = p.retr(1)
        wire = b"\r\n".join(lines) + b"\r\n"
        stored = b"Subject: stdlib\n\nbare\nline feeds\n"
        assert int(line.split()[1]) == len(wire) == len(stored) + 4  # 4 bare LFs
        p.quit()
    finally:
        del USERS["carol"]


# -- locking, DELE at QUIT, dropped connections -------------------------------------------


def test_maildrop_lock(box: Box, served: POP3Server) -> None:
    first = pop(served)
    second = poplib.POP3("127.0.0.1", served.port, timeout=5)
    second.user("alice")
    with pytest.raises(poplib.error_proto, match=r"-ERR \[IN-USE\]"):
        second.pass_("secret")
    other = pop(served, "bob")  # another user's maildrop is free
    other.quit()
    assert (box.root / "alice" / LOCK_NAME).exists()
    first.quit()
    second.user("alice")
    assert second.pass_("secret").startswith(b"+OK")  # free again after QUIT
    second.quit()


@pytest.mark.parametrize("kind", sorted(CLIENTS))
def test_lock_error_is_typed_for_our_clients(kind: str, served: POP3Server) -> None:
    holder = pop(served)
    try:
        with CLIENTS[kind]("127.0.0.1", served.port, timeout=5) as c:
            with pytest.raises(POP3InUseError) as info:
                c.login("alice", "secret")
            assert info.value.code == "IN-USE"
    finally:
        holder.quit()


def test_dele_applies_only_at_quit_and_a_drop_deletes_nothing(box: Box,
                                                            served: POP3Server) -> None:
    p = pop(served)
    p.dele(1)
    p.dele(2)
    p.retr(3)
    p.sock.close()  # dropped: no QUIT, so no UPDATE state
    p.file.close()
    deadline = time.monotonic() + 5
    while True:  # the server notices the drop and releases the lock
        q = poplib.POP3("127.0.0.1", served.port, timeout=5)
        q.user("alice")
        try:
            q.pass_("secret")
            break
        except poplib.error_proto:
            q.quit()
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert q.stat()[0] == 3
    assert sorted(Maildir(box.root / "alice").keys()) == sorted(box.keys)
    assert Maildir(box.root / "alice").get_flags(box.keys[2]) == ""  # not marked read
    q.dele(1)
    q.quit()
    assert sorted(Maildir(box.root / "alice").keys()) == sorted(box.keys[1:])


def test_a_client_vanishing_in_the_middle_of_retr(box: Box, served: POP3Server) -> None:
    big = b"Subject: big\n\n" + b"x" * 100 + b"\n" * 200_000
    box.alice.add(big)
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as s:
        s.sendall(b"USER alice\r\nPASS secret\r\nRETR 4\r\n")
        s.recv(100)
    p = None
    for _ in range(100):  # the lock comes free once the server sees the reset
        try:
            p = pop(served)
            break
        except poplib.error_proto:
            time.sleep(0.05)
    assert p is not None and p.stat()[0] == 4
    p.quit()


def test_message_removed_by_another_program(box: Box, served: POP3Server) -> None:
    p = pop(served)
    box.alice.remove(box.keys[0])
    with pytest.raises(poplib.error_proto, match=r"\[SYS/PERM\]"):
        p.retr(1)
    p.dele(1)  # marked; already gone at QUIT counts as removed
    assert p.quit().startswith(b"+OK")


# -- our own clients against our server --------------------------------------------------


@pytest.mark.parametrize("kind", sorted(CLIENTS))
def test_our_clients_against_our_server(kind: str, box: Box, served: POP3Server,
                                        tmp_path: Path) -> None:
    with CLIENTS[kind]("127.0.0.1", served.port, timeout=5) as c:
        c.login("alice", "secret")
        assert c.stat()[0] == 3
        assert c.retrieve_bytes(1) == crlf(MSG_LF)
        assert c.retrieve(2).subject == "crlf"
        assert c.retrieve_to(3, tmp_path / "three.eml") == len(crlf(MSG_NO_BODY))
        assert (tmp_path / "three.eml").read_bytes() == crlf(MSG_NO_BODY)
        assert c.top_bytes(1, 1) == crlf(b"From: a@example.test\nSubject: lf\n\n"
                                         b".starts with a dot\n")
        assert [u for _, u in c.uidl()] == [unique_id(k) for k in box.keys]
        c.delete(3)
    assert len(Maildir(box.root / "alice")) == 2
    with CLIENTS[kind]("127.0.0.1", served.port, timeout=5) as c:
        c.login("bob", "secret", apop=True)
        assert c.list() == [(1, len(MSG_CRLF))]


# -- TLS and the plaintext policy ---------------------------------------------------------


def test_stls_and_plaintext_policy(box: Box, tls_pair: tuple[Path, Path]) -> None:
    cert, key = tls_pair
    cfg = config(ssl_context=server_context(cert, key), auth_over_plaintext="never")
    with running_server(box.handler(), cfg) as server:
        p = poplib.POP3("127.0.0.1", server.port, timeout=5)
        caps = p.capa()
        assert "STLS" in caps and "USER" not in caps and "SASL" not in caps
        with pytest.raises(poplib.error_proto, match=r"\[AUTH\] plaintext"):
            p.user("alice")
        p.stls(ssl.create_default_context(cafile=str(cert)))
        caps = p.capa()
        assert "STLS" not in caps and "USER" in caps and caps["SASL"] == ["PLAIN", "LOGIN"]
        p.user("alice")
        p.pass_("secret")
        assert p.retr(2)[1][-1] == b"body 3"
        p.quit()
        # Our clients: STLS by request, certificates checked.
        for kind in CLIENTS:
            ctx = ssl.create_default_context(cafile=str(cert))
            with CLIENTS[kind]("127.0.0.1", server.port, tls="starttls", ssl_context=ctx) as c:
                c.login("alice", "secret")
                assert c.retrieve_bytes(2) == MSG_CRLF


def test_stls_discards_injected_plaintext(box: Box, tls_pair: tuple[Path, Path]) -> None:
    cert, key = tls_pair
    cfg = config(ssl_context=server_context(cert, key))
    with running_server(box.handler(), cfg) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.recv(1000)
        s.sendall(b"STLS\r\nUSER injected\r\n")
        assert s.recv(1000).startswith(b"+OK")
        tls = ssl.create_default_context(cafile=str(cert)).wrap_socket(
            s, server_hostname="localhost")
        tls.sendall(b"PASS secret\r\n")  # USER was discarded: PASS is out of sequence
        assert tls.recv(1000).startswith(b"-ERR PASS is not valid")
        tls.close()


def test_implicit_tls(box: Box, tls_pair: tuple[Path, Path]) -> None:
    cert, key = tls_pair
    cfg = config(ssl_context=server_context(cert, key), implicit_tls=True,
                 auth_over_plaintext="never")
    with running_server(box.handler(), cfg) as server:
        ctx = ssl.create_default_context(cafile=str(cert))
        p = poplib.POP3_SSL("127.0.0.1", server.port, context=ctx, timeout=5)
        assert "STLS" not in p.capa()
        p.user("alice")
        p.pass_("secret")
        assert p.stat()[0] == 3
        p.quit()
        with CLIENTS["sync"]("localhost", server.port, tls="implicit", ssl_context=ctx) as c:
            c.login("alice", "secret")
            assert c.tls and c.stat()[0] == 3


# -- failed logins, limits, timeouts ---------------------------------------------------


def test_failed_login_delay_and_limit(box: Box) -> None:
    with running_server(box.handler(), config(auth_failure_delay=0.2)) as server:
        p = poplib.POP3("127.0.0.1", server.port, timeout=5)
        started = time.monotonic()
        p.user("alice")
        with pytest.raises(poplib.error_proto, match=r"\[AUTH\] authentication failed"):
            p.pass_("nope")
        assert time.monotonic() - started >= 0.2
        p.user("nobody")  # unknown users get the same +OK and the same answer
        with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
            p.pass_("nope")
        p.user("alice")
        with pytest.raises(poplib.error_proto, match="too many failed logins"):
            p.pass_("nope")
        with pytest.raises((poplib.error_proto, OSError)):
            p.noop()  # closed
        p.close()


def test_limits(box: Box) -> None:
    cfg = config(max_errors=2, idle_timeout=0.5, max_connections=1)
    with running_server(box.handler(), cfg) as server:
        out = raw(server.port, b"FOO\r\nBAR\r\nBAZ\r\nNOOP\r\n")
        assert out.split(b"\r\n")[1:4] == [b"-ERR unknown command 'FOO'",
                                           b"-ERR unknown command 'BAR'",
                                           b"-ERR too many errors, closing connection"]
        out = raw(server.port, b"USER " + b"a" * 600 + b"\r\nQUIT\r\n")
        assert b"-ERR line too long\r\n+OK" in out
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            assert s.recv(100).startswith(b"+OK")
            # Logged in (an idle session that is not would be closed to make
            # room: test_idle_flood.py): the newcomer is turned away.
            s.sendall(b"USER alice\r\nPASS secret\r\n")
            got = b""
            while got.count(b"\r\n") < 2:
                got += s.recv(100)
            assert raw(server.port, b"", wait=0.3) == (
                b"-ERR [SYS/TEMP] too many connections, try again later\r\n")
            s.settimeout(3)
            assert s.recv(100) == b"-ERR autologout: idle for too long\r\n"
            assert s.recv(100) == b""


def test_sasl_plain_and_login_on_the_wire(box: Box, served: POP3Server) -> None:
    out = raw(served.port, b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nSTAT\r\nQUIT\r\n")
    assert out.split(b"\r\n")[1].startswith(b"+OK maildrop has 3")
    out = raw(served.port, b"AUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\nQUIT\r\n")
    assert b"+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\n+OK maildrop" in out
    out = raw(served.port, b"AUTH CRAM-MD5\r\nAUTH PLAIN\r\n*\r\nQUIT\r\n")
    assert b"-ERR unsupported authentication mechanism CRAM-MD5\r\n+ \r\n" \
           b"-ERR authentication cancelled\r\n+OK" in out


def test_bare_auth_lists_the_mechanisms(box: Box, served: POP3Server) -> None:
    # What Thunderbird and Outlook send when CAPA names no mechanism; Dovecot
    # answers it the same way. It keeps the session where it was: after USER,
    # PASS still works.
    out = raw(served.port, b"USER alice\r\nAUTH\r\nPASS secret\r\nQUIT\r\n")
    lines = out.split(b"\r\n")
    assert lines[2:6] == [b"+OK SASL mechanisms follow", b"PLAIN", b"LOGIN", b"."]
    assert lines[6].startswith(b"+OK maildrop has 3")
    # Refused once logged in, like AUTH itself.
    out = raw(served.port, b"USER alice\r\nPASS secret\r\nAUTH\r\nQUIT\r\n")
    assert out.split(b"\r\n")[3] == b"-ERR AUTH is not valid in the TRANSACTION state"


def test_bare_auth_lists_nothing_where_passwords_may_not_go(
        box: Box, tls_pair: tuple[Path, Path]) -> None:
    cert, key = tls_pair
    cfg = config(ssl_context=server_context(cert, key), auth_over_plaintext="never")
    with running_server(box.handler(), cfg) as server:
        out = raw(server.port, b"AUTH\r\nQUIT\r\n")
        assert out.split(b"\r\n")[1:3] == [b"+OK SASL mechanisms follow", b"."]


def test_server_rejects_bad_configuration(box: Box) -> None:
    with pytest.raises(ValueError):
        POP3Server(box.handler(), ServerConfig(implicit_tls=True))
    with pytest.raises(ValueError):
        POP3Server(box.handler(), ServerConfig(auth_over_plaintext="sometimes"))


def test_close_ends_idle_sessions_at_once(box: Box) -> None:
    with running_server(box.handler(), config()) as server:
        p = pop(server)
        p.dele(1)
        started = time.monotonic()
    assert time.monotonic() - started < 3  # not the 5 s grace
    try:
        assert p.file.readline() == b"-ERR [SYS/TEMP] server shutting down, try again later\r\n"
        assert p.file.readline() == b""
    finally:
        p.close()
    assert len(Maildir(box.root / "alice")) == 3  # no QUIT: nothing deleted


def test_a_failing_hook_is_a_temporary_error(box: Box, caplog: pytest.LogCaptureFixture) -> None:
    class Broken(MaildirHandler):
        async def open_mailbox(self, session: object, username: str) -> Maildir | None:
            raise RuntimeError("database down")

    handler = Broken(box.root, lambda u, p: True)
    with running_server(handler, config()) as server:
        p = poplib.POP3("127.0.0.1", server.port, timeout=5)
        p.user("alice")
        with pytest.raises(poplib.error_proto, match=r"\[SYS/TEMP\] internal error"):
            p.pass_("secret")
        assert p.capa()  # the session goes on
        p.quit()
    assert "database down" in caplog.text


def test_a_dribbling_client_meets_the_session_limit(box: Box) -> None:
    """A slowloris sending a byte now and then is never idle; the session
    time limit ends it, and others are served meanwhile."""
    with running_server(box.handler(), config(idle_timeout=0.5, session_timeout=1.0)) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        started = time.monotonic()
        s.settimeout(0.1)
        got = b""
        while time.monotonic() - started < 4:
            try:
                s.sendall(b"N")  # never a whole line
            except OSError:
                break
            try:
                # No reset before we read the -ERR: the server half-closes
                # and reads on for a moment (mimekit._guard.linger).
                chunk = s.recv(4096)
            except TimeoutError:
                continue
            if not chunk:
                break
            got += chunk
            if time.monotonic() - started < 0.5:
                p = pop(server)  # someone else is served meanwhile
                assert p.stat()[0] == 3
                p.quit()
        assert got.startswith(b"+OK"), got
        assert got.endswith(b"\r\n-ERR session time limit reached\r\n"), got
        assert 0.9 < time.monotonic() - started < 3.5


def test_a_dribbling_client_must_log_in_in_time(box: Box) -> None:
    """The login deadline comes before the session limit for a client that
    has not logged in; a logged-in one is not affected by it."""
    cfg = config(idle_timeout=5.0, login_timeout=1.0, session_timeout=30.0)
    with running_server(box.handler(), cfg) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            started = time.monotonic()
            s.settimeout(0.1)
            got = b""
            while time.monotonic() - started < 4:
                with contextlib.suppress(OSError):
                    s.sendall(b"N")
                try:
                    chunk = s.recv(4096)
                except TimeoutError:
                    continue
                if not chunk:
                    break
                got += chunk
            assert got.endswith(b"\r\n-ERR autologout: took too long to log in\r\n"), got
            assert 0.9 < time.monotonic() - started < 3.5
        p = pop(server)
        time.sleep(1.3)  # past the login deadline, logged in: still served
        assert p.stat()[0] == 3
        p.quit()
