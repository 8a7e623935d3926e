"""Limits and safety of our IMAP server, over the wire.

* A literal bigger than the limit is refused before the ``+`` and nothing is
  allocated for it (``{4294967295}``: ``NO [TOOBIG]``, memory flat).
* Over-long command lines, too many errors, too many connections, too many
  sessions per user; autologout before and after login, IDLE included.
* Mailbox names never leave the user's store: ``..``, absolute paths, odd
  encodings, control characters, tried with every command that takes one.
* Plaintext LOGIN and AUTHENTICATE refused without TLS for remote clients
  (``LOGINDISABLED``), allowed after STARTTLS; plaintext pipelined after
  STARTTLS is dropped; failed logins wait longer each time.
* A client that disconnects in the middle of an APPEND literal leaves
  nothing stored and nothing in ``tmp/``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import resource
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from imap_server_fixtures import (
    MSG,
    PASSWORD,
    Wire,
    non_loopback_address,
    running_server,
    wait_for,
    workdir,
)

from mimekit.imap import IMAPServerConfig
from mimekit.serve._tls import ensure_self_signed, server_context


@pytest.fixture(scope="module")
def tls_files() -> Iterator[tuple[Path, Path]]:
    directory = workdir("mimekit-imapsrv-tls-")
    try:
        yield ensure_self_signed(directory, "localhost")
    finally:
        import shutil
        shutil.rmtree(directory, ignore_errors=True)


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def test_huge_literal_refused_before_continuation_memory_flat() -> None:
    with running_server(IMAPServerConfig(max_literal=1 << 20)) as srv, Wire(srv.port) as w:
        assert b"APPENDLIMIT=1048576" in w.greeting
        w.cmd(f"LOGIN big-user {PASSWORD}")
        before = _rss_kib()
        w.send(b"b APPEND INBOX {4294967295}\r\n")
        line = w.line()
        assert line.startswith(b"b NO [TOOBIG]"), line  # no "+" first
        assert _rss_kib() - before < 10_000  # nothing allocated for it
        # A non-synchronizing literal over the limit is read and dropped.
        big = b"x" * (2 << 20)
        w.send(b"c APPEND INBOX {%d+}\r\n" % len(big) + big + b"\r\n")
        assert w.until(b"c")[-1].startswith(b"c NO [TOOBIG]")
        # Under the limit it works, and the session goes on.
        w.send(b"d APPEND INBOX {%d+}\r\n" % len(MSG) + MSG + b"\r\n")
        assert w.until(b"d")[-1].startswith(b"d OK [APPENDUID")
        assert b"* 1 EXISTS" in w.cmd("SELECT INBOX", "e")
        assert not list((srv.maildir("big-user") / "tmp").iterdir())


def test_long_lines_and_too_many_errors() -> None:
    config = IMAPServerConfig(max_line=4096, max_errors=3)
    with running_server(config) as srv, Wire(srv.port) as w:
        w.send(b"a NOOP " + b"x" * 100_000 + b"\r\n")
        assert w.until(b"a")[-1].startswith(b"a BAD")
        assert w.cmd("NOOP", "b")[-1].startswith(b"b OK")  # the session goes on
        for tag in ("c", "d"):
            assert w.cmd("BOGUS", tag)[-1].startswith(tag.encode() + b" BAD")
        w.send(b"e BOGUS\r\n")
        assert w.line().startswith(b"* BYE")
        assert w.closed()


def test_sessions_per_user_and_connections() -> None:
    config = IMAPServerConfig(max_sessions_per_user=2, max_connections=3)
    with running_server(config) as srv:
        first, second = srv.imap("lim-user"), srv.imap("lim-user")
        with Wire(srv.port) as w:
            assert b"NO [LIMIT]" in w.cmd(f"LOGIN lim-user {PASSWORD}")[-1]
            second.logout()
            wait_for(lambda: srv.server.sessions <= 2)
            assert w.cmd(f"LOGIN lim-user {PASSWORD}", "b")[-1].startswith(b"b OK")
            other = srv.imap("lim-other")  # another user is not limited by it
            with Wire(srv.port) as refused:  # the fourth connection
                assert refused.greeting.startswith(b"* BYE [UNAVAILABLE]")
                assert refused.closed()
            other.logout()
        first.logout()


NAMES = [
    "..", "../x", "../../etc", "/etc", "/tmp/x", "a/../b", "a/./b", "a//b", "/",
    "~root", "~/x", ".hidden", "a.b", "a\\b", "%", "a*", "INBOX/../x", "..INBOX",
    "&AC8-etc",         # "/etc" hidden in base64
    "&AC4ALg-",         # ".." hidden in base64
    "&AGE-",            # "a" in base64: not the canonical spelling
    "&Jjo",             # unterminated
    "&Jjo-&Jjo-",       # adjacent runs
    "a\x01b", "a\x7fb",
]


def _literal(name: str) -> bytes:
    raw = name.encode("utf-8", "surrogateescape")
    return b"{%d+}\r\n" % len(raw) + raw


def _tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


def test_mailbox_names_never_escape_the_store() -> None:
    with running_server() as srv, Wire(srv.port) as w:
        w.cmd(f"LOGIN esc-user {PASSWORD}")
        store = srv.maildir("esc-user")
        outside = srv.root.parent
        outside_before = set(os.listdir(outside))
        root_before = set(os.listdir(srv.root))
        tree_before = _tree(store)
        for i, name in enumerate(NAMES):
            lit = _literal(name)
            for command in (b"CREATE " + lit, b"SELECT " + lit, b"EXAMINE " + lit,
                            b"DELETE " + lit, b"SUBSCRIBE " + lit,
                            b"RENAME INBOX " + lit, b"RENAME " + lit + b" Other",
                            b"STATUS " + lit + b" (MESSAGES)",
                            b"APPEND " + lit + b" {3+}\r\nabc"):
                tag = f"t{i}"
                lines = w.cmd(command, tag)
                assert lines[-1].startswith(f"{tag} NO".encode()) or \
                    lines[-1].startswith(f"{tag} BAD".encode()), (name, command, lines)
        w.cmd("SELECT INBOX", "s")
        w.cmd(b"APPEND INBOX {3+}\r\nabc", "m")
        for i, name in enumerate(NAMES):
            for verb in (b"COPY 1 ", b"MOVE 1 "):
                lines = w.cmd(verb + _literal(name), f"c{i}")
                assert not lines[-1].startswith(f"c{i} OK".encode()), (name, lines)
        # Nothing new anywhere but the one message in INBOX.
        assert set(os.listdir(outside)) == outside_before
        assert set(os.listdir(srv.root)) == root_before
        new = _tree(store) - tree_before
        assert all(n.startswith(("cur/", "new/", "tmp/", "mimekit-")) for n in new), new
        # LIST shows only what is in the store, whatever the reference.
        for reference in ("..", "/", "../esc-user", "~"):
            lines = w.cmd(f'LIST "{reference}" "*"', "l")
            assert lines == [lines[-1]] and lines[-1].startswith(b"l OK"), (reference, lines)


def test_remote_plaintext_login_refused_until_starttls(tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    config = IMAPServerConfig(ssl_context=server_context(cert, key), auth_failure_delay=0.0)
    with running_server(config) as srv:
        srv.handler.remote = True  # every client looks non-loopback
        with Wire(srv.port) as w:
            assert b"LOGINDISABLED" in w.greeting and b"STARTTLS" in w.greeting
            assert b"AUTH=PLAIN" not in w.greeting
            assert b"NO [PRIVACYREQUIRED]" in w.cmd(f"LOGIN tls-user {PASSWORD}")[-1]
            creds = base64.b64encode(f"\0tls-user\0{PASSWORD}".encode()).decode()
            assert b"NO [PRIVACYREQUIRED]" in w.cmd("AUTHENTICATE PLAIN " + creds, "b")[-1]
            # STARTTLS; a command pipelined behind it in plaintext is dropped.
            w.send(f"c STARTTLS\r\nd LOGIN tls-user {PASSWORD}\r\n".encode())
            assert w.line().startswith(b"c OK")
            ctx = ssl.create_default_context(cafile=str(cert))
            ctx.check_hostname = False
            tls = ctx.wrap_socket(w.sock, server_hostname="localhost")
            w.sock, w.buf = tls, b""
            caps = w.cmd("CAPABILITY", "e")
            assert b"AUTH=PLAIN" in caps[0] and b"LOGINDISABLED" not in caps[0]
            assert b"STARTTLS" not in caps[0]
            assert w.cmd("STARTTLS", "f")[-1].startswith(b"f BAD")
            assert w.cmd(f"LOGIN tls-user {PASSWORD}", "g")[-1].startswith(b"g OK")
            assert srv.handler.logins == [("tls-user", "LOGIN", True)]  # "d" never ran
    # "always" allows it in clear, "never" refuses it even on loopback.
    with running_server(IMAPServerConfig(auth_over_plaintext="always")) as srv:
        srv.handler.remote = True
        with Wire(srv.port) as w:
            assert b"AUTH=PLAIN" in w.greeting
            assert w.cmd(f"LOGIN tls-user {PASSWORD}")[-1].startswith(b"a OK")
    with running_server(IMAPServerConfig(auth_over_plaintext="never")) as srv, \
            Wire(srv.port) as w:
        assert b"LOGINDISABLED" in w.greeting
        assert b"PRIVACYREQUIRED" in w.cmd(f"LOGIN tls-user {PASSWORD}")[-1]
        assert w.cmd("STARTTLS", "b")[-1].startswith(b"b NO")  # no TLS context here


def test_real_remote_address_counts_and_is_refused_plaintext() -> None:
    address = non_loopback_address()
    if address is None:
        pytest.skip("no non-loopback address on this host")
    config = IMAPServerConfig(max_connections_per_ip=2, auth_failure_delay=0.0)
    with running_server(config, host=address) as srv, \
            Wire(srv.port, host=address) as a, Wire(srv.port, host=address) as b:
        assert b"LOGINDISABLED" in a.greeting and b.greeting.startswith(b"* OK")
        with Wire(srv.port, host=address) as c:
            assert c.greeting.startswith(b"* BYE [UNAVAILABLE]")


def test_failed_logins_wait_longer_each_time() -> None:
    config = IMAPServerConfig(auth_failure_delay=0.2, max_auth_failures=5)
    with running_server(config) as srv, Wire(srv.port) as w:
        times = []
        for tag in ("a", "b", "c"):
            started = time.monotonic()
            assert b"AUTHENTICATIONFAILED" in w.cmd("LOGIN dl-user wrong", tag)[-1]
            times.append(time.monotonic() - started)
        assert 0.18 < times[0] < 0.35 and 0.38 < times[1] < 0.6 and 0.78 < times[2] < 1.1


def test_autologout_before_and_after_login_idle_included() -> None:
    config = IMAPServerConfig(login_timeout=0.5, idle_timeout=1.0)
    with running_server(config) as srv:
        with Wire(srv.port) as w:
            started = time.monotonic()
            assert w.line().startswith(b"* BYE Autologout")
            assert w.closed() and time.monotonic() - started < 2
        with Wire(srv.port) as w:
            w.cmd(f"LOGIN al-user {PASSWORD}")
            w.cmd("SELECT INBOX", "b")
            time.sleep(0.6)  # longer than the login timeout: still there
            assert w.cmd("NOOP", "c")[-1].startswith(b"c OK")
            w.send(b"d IDLE\r\n")
            assert w.line().startswith(b"+")
            started = time.monotonic()
            assert w.line().startswith(b"* BYE Autologout")
            assert 0.9 < time.monotonic() - started < 2.5
            assert w.closed()


def test_a_dribbling_client_must_log_in_in_time() -> None:
    """A slowloris that sends a byte now and then is never idle, but it has
    ``login_timeout`` seconds in all to log in."""
    config = IMAPServerConfig(login_timeout=1.0)
    with running_server(config) as srv, Wire(srv.port) as w:
        started = time.monotonic()  # (the greeting has been read)
        w.sock.settimeout(0.2)
        got = b""
        while time.monotonic() - started < 4:
            with contextlib.suppress(OSError):
                w.sock.sendall(b"a")  # never a whole line
            with contextlib.suppress(TimeoutError):
                chunk = w.sock.recv(4096)
                got += chunk
                if not chunk:
                    break
        assert got.startswith(b"* BYE Autologout; took too long to log in"), got
        assert 0.9 < time.monotonic() - started < 3.5


@pytest.mark.parametrize("plus", [False, True])
def test_disconnect_mid_append_leaves_nothing(plus: bool) -> None:
    with running_server() as srv:
        with Wire(srv.port) as w:
            w.cmd(f"LOGIN cut-user {PASSWORD}")
            size = 200_000
            w.send(b"b APPEND INBOX {%d%s}\r\n" % (size, b"+" if plus else b""))
            if not plus:
                assert w.line().startswith(b"+")
            w.send(b"x" * (size // 2))
            time.sleep(0.2)
        store = srv.maildir("cut-user")
        wait_for(lambda: srv.server.sessions == 0)
        for sub in ("new", "cur", "tmp"):
            assert list((store / sub).iterdir()) == []
        with Wire(srv.port) as w:
            w.cmd(f"LOGIN cut-user {PASSWORD}")
            assert b"* 0 EXISTS" in w.cmd("SELECT INBOX", "b")


def test_shutdown_mid_command_finishes_it() -> None:
    with running_server() as srv:
        w = Wire(srv.port)
        w.cmd(f"LOGIN sd-user {PASSWORD}")
        w.send(b"b APPEND INBOX {%d}\r\n" % len(MSG))
        assert w.line().startswith(b"+")
        future = asyncio.run_coroutine_threadsafe(srv.server.close(grace=5), srv.loop)
        time.sleep(0.2)
        w.send(MSG + b"\r\n")
        lines = w.until(b"b")
        assert lines[-1].startswith(b"b OK [APPENDUID")
        assert w.line().startswith(b"* BYE [UNAVAILABLE]")
        future.result(10)
        w.close()
        assert len(list((srv.maildir("sd-user") / "new").iterdir())) == 1


def test_socket_closed_during_idle_is_cleaned_up() -> None:
    with running_server() as srv:
        s = socket.create_connection(("127.0.0.1", srv.port))
        w = Wire(srv.port, sock=s)
        w.cmd(f"LOGIN idc-user {PASSWORD}")
        w.cmd("SELECT INBOX", "b")
        w.send(b"c IDLE\r\n")
        assert w.line().startswith(b"+")
        w.close()
        wait_for(lambda: srv.server.sessions == 0)
        assert srv.server._users == {}
