"""An idle flood against a full server (issue 8): the newcomer gets in.

Each server takes at most ``max_connections`` sessions. When it is full, a
new connection closes the session that has waited longest for its client
without logging in, so a flood of idle connections (even from this
machine, which the per-address limit leaves alone) cannot lock others out
until its sessions time out. Logged-in sessions are never closed for it: a
server full of them turns the newcomer away, as before.
"""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import socket
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from imap_server_fixtures import PASSWORD as IMAP_PASSWORD
from imap_server_fixtures import running_server as running_imap
from pop3_helpers import running_server as running_pop3
from smtp_server_helpers import RecordingHandler
from smtp_server_helpers import running_server as running_smtp

from mimekit.imap import IMAPServerConfig
from mimekit.mailstore import Maildir
from mimekit.pop3 import MaildirHandler
from mimekit.pop3 import ServerConfig as POP3Config
from mimekit.smtp import ServerConfig as SMTPConfig

MAX = 5


def _idle_flood(port: int, stack: ExitStack, n: int = MAX) -> list[socket.socket]:
    """``n`` connections that read the greeting and then say nothing."""
    socks = []
    for _ in range(n):
        s = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
        assert s.recv(4096)  # the greeting
        socks.append(s)
        time.sleep(0.02)  # distinct idle times: the first is the oldest
    return socks


def _said(s: socket.socket) -> bytes:
    s.settimeout(2)
    out = b""
    try:
        while chunk := s.recv(4096):
            out += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return out


def test_smtp_newcomer_closes_the_oldest_idle_session() -> None:
    handler = RecordingHandler()
    with running_smtp(handler, SMTPConfig(max_connections=MAX)) as server, ExitStack() as stack:
        idle = _idle_flood(server.port, stack)
        with smtplib.SMTP("127.0.0.1", server.port, timeout=5) as c:
            c.sendmail("a@example.test", ["b@example.test"], b"Subject: in\r\n\r\nhi\r\n")
        assert _said(idle[0]) == b"421 4.7.0 too many connections, closing idle ones\r\n"
        idle[1].sendall(b"NOOP\r\n")  # only the one was closed, when needed
        assert idle[1].recv(4096).startswith(b"250 ")
    assert len(handler.messages) == 1


def test_smtp_session_in_a_transaction_is_not_closed() -> None:
    with running_smtp(RecordingHandler(), SMTPConfig(max_connections=1)) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=5) as busy:
        busy.recv(4096)
        busy.sendall(b"EHLO x\r\nMAIL FROM:<a@example.test>\r\n")
        got = b""
        while b"250 2.1.0" not in got:
            got += busy.recv(4096)
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as late:
            assert _said(late).startswith(b"421 4.7.0 too many connections, try again later")
        busy.sendall(b"RCPT TO:<b@example.test>\r\n")
        assert b"250 2.1.5" in busy.recv(4096)


def test_pop3_newcomer_closes_the_oldest_idle_session() -> None:
    root = Path(tempfile.mkdtemp(prefix="mimekit-flood-pop3-"))
    Maildir(root / "alice", create=True).add(b"Subject: x\r\n\r\nbody\r\n")
    handler = MaildirHandler(root, lambda u, p: (u, p) == ("alice", "secret"))
    config = POP3Config(max_connections=MAX, auth_failure_delay=0.0)
    with running_pop3(handler, config) as server, ExitStack() as stack:
        idle = _idle_flood(server.port, stack)
        p = poplib.POP3("127.0.0.1", server.port, timeout=5)
        p.user("alice")
        p.pass_("secret")
        assert p.stat()[0] == 1
        # Logged in: not closed for the next newcomer, an idle one is.
        late = stack.enter_context(socket.create_connection(("127.0.0.1", server.port),
                                                            timeout=5))
        assert late.recv(4096).startswith(b"+OK")
        assert p.noop().startswith(b"+OK")
        p.quit()
        assert _said(idle[0]) == b"-ERR [SYS/TEMP] too many connections, closing idle ones\r\n"
        assert _said(idle[1]).startswith(b"-ERR [SYS/TEMP]")


def _imap_login(port: int) -> imaplib.IMAP4:
    c = imaplib.IMAP4("127.0.0.1", port, timeout=5)
    c.login("flood-user", IMAP_PASSWORD)
    return c


def test_imap_newcomer_closes_idle_sessions_but_never_logged_in_ones() -> None:
    with running_imap(IMAPServerConfig(max_connections=MAX, auth_failure_delay=0.0)) as srv, \
            ExitStack() as stack:
        idle = _idle_flood(srv.port, stack)
        c = _imap_login(srv.port)
        assert c.select("INBOX")[0] == "OK"
        assert _said(idle[0]).startswith(b"* BYE [UNAVAILABLE] Too many connections; closing")
        # Fill the server with logged-in sessions: the next one is refused.
        clients = [c] + [_imap_login(srv.port) for _ in range(MAX - 1)]
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as late:
            assert _said(late).startswith(b"* BYE [UNAVAILABLE] Too many connections; try")
        for client in clients:
            assert client.noop()[0] == "OK"
            client.logout()


def test_smtp_evicted_session_acts_on_nothing_it_had_sent() -> None:
    """Told 421, the client will retry: a transaction it had already
    pipelined (bytes buffered when the newcomer arrived) must not be
    delivered as well."""
    import asyncio

    handler = RecordingHandler()

    async def main() -> bytes:
        from mimekit.smtp import SMTPServer

        server = SMTPServer(handler, SMTPConfig(max_connections=1))
        await server.start("127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        await reader.readline()
        writer.write(b"EHLO client.example\r\n")
        while not (await reader.readline()).startswith(b"250 "):
            pass
        await asyncio.sleep(0.1)
        (victim,) = server._live
        # The pipelined transaction and the newcomer land in one loop turn.
        victim.reader.feed_data(b"MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n"
                                b"BDAT 7 LAST\r\nhello\r\n")
        victim.evict()
        said = await reader.read()
        writer.close()
        await writer.wait_closed()
        await server.close(grace=1)
        return said

    assert asyncio.run(main()) == b"421 4.7.0 too many connections, closing idle ones\r\n"
    assert handler.messages == []


def test_pop3_client_that_stops_reading_is_cut_off() -> None:
    """A client that pipelines commands but never reads the responses would
    hold its session in a write forever; it gets the login deadline."""
    root = Path(tempfile.mkdtemp(prefix="mimekit-flood-pop3-"))
    handler = MaildirHandler(root, lambda u, p: False)
    config = POP3Config(login_timeout=1.0, idle_timeout=2.0)
    with running_pop3(handler, config) as server, socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", server.port))
        s.settimeout(0.05)
        started = time.monotonic()
        cut = False
        while time.monotonic() - started < 6:
            try:
                s.sendall(b"CAPA\r\n" * 2000)  # never reading a response
            except TimeoutError:
                continue
            except OSError:
                cut = True
                break
        assert cut, "the server kept the session"
        assert time.monotonic() - started < 4
        deadline = time.monotonic() + 3
        while server._live and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not server._live
