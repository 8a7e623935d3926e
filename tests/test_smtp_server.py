"""The asyncio SMTP server over real sockets on 127.0.0.1: smtplib, raw
sockets and swaks as clients. Limits, TLS, AUTH policy and smuggling."""

from __future__ import annotations

import shutil
import smtplib
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
from smtp_server_helpers import RecordingHandler, running_server

from mimekit.serve._tls import ensure_self_signed, server_context
from mimekit.smtp._server import ServerConfig

MSG = (b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: hi\r\n\r\n"
       b".leading dot\r\nbody\r\n")


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return ensure_self_signed(tmp_path_factory.mktemp("tls"), "localhost")


def client_context(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


def raw_session(port: int, data: bytes, *, wait: float = 0.5) -> bytes:
    """Send bytes, collect everything the server says until it goes quiet."""
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


def test_smtplib_sends_a_message_byte_intact() -> None:
    handler = RecordingHandler()
    with running_server(handler, ServerConfig(hostname="mx.example.test")) as server, \
            smtplib.SMTP("127.0.0.1", server.port) as c:
        c.ehlo("client.example.test")
        assert c.has_extn("pipelining") and c.has_extn("size") and c.has_extn("chunking")
        refused = c.sendmail("alice@example.test", ["bob@example.test", "c@example.test"], MSG)
        assert refused == {}
    (got,) = handler.messages
    assert got.content == MSG and got.mail_from == "alice@example.test"
    assert got.rcpt_tos == ["bob@example.test", "c@example.test"]
    assert got.session.host_name == "client.example.test"


def test_smtplib_smtputf8() -> None:
    handler = RecordingHandler()
    with running_server(handler) as server, smtplib.SMTP("127.0.0.1", server.port) as c:
        c.ehlo()
        msg = "From: jörg@exämple.test\r\nSubject: Grüße\r\n\r\nhallo\r\n".encode()
        c.sendmail("jörg@exämple.test", ["bob@example.test"], msg,
                   mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    assert handler.messages[0].mail_from == "jörg@exämple.test"
    assert handler.messages[0].content == msg


def test_pipelined_session_gets_replies_in_order() -> None:
    handler = RecordingHandler(refuse={"nobody@example.test"})
    with running_server(handler) as server:
        out = raw_session(server.port, b"EHLO x\r\nMAIL FROM:<a@example.test>\r\n"
                          b"RCPT TO:<nobody@example.test>\r\nRCPT TO:<b@example.test>\r\n"
                          b"DATA\r\nSubject: p\r\n\r\nhi\r\n.\r\nQUIT\r\n")
    codes = [line[:3] for line in out.split(b"\r\n") if line[3:4] == b" "]
    assert codes == [b"220", b"250", b"250", b"550", b"250", b"354", b"250", b"221"]
    assert handler.messages[0].rcpt_tos == ["b@example.test"]


def test_smuggling_attempt_is_refused_and_not_split() -> None:
    handler = RecordingHandler()
    with running_server(handler) as server:
        out = raw_session(server.port, b"EHLO x\r\nMAIL FROM:<a@example.test>\r\n"
                          b"RCPT TO:<b@example.test>\r\nDATA\r\n"
                          b"Subject: one\r\n\r\nhi\n.\nMAIL FROM:<evil@example.test>\n"
                          b"RCPT TO:<victim@example.test>\nDATA\nSubject: smuggled\n\nx\n.\n"
                          b"\r\n.\r\nQUIT\r\n")
    assert b"550 5.6.0" in out
    assert handler.messages == []  # neither the message nor a smuggled second one


def test_limits_size_recipients_long_lines() -> None:
    handler = RecordingHandler()
    config = ServerConfig(max_size=1000, max_recipients=3)
    with running_server(handler, config) as server:
        with smtplib.SMTP("127.0.0.1", server.port) as c:
            c.ehlo()
            assert c.esmtp_features["size"] == "1000"
            with pytest.raises(smtplib.SMTPSenderRefused) as exc:
                c.sendmail("a@example.test", ["b@example.test"], b"x" * 2000)
            assert exc.value.smtp_code == 552
            assert c.mail("a@example.test")[0] == 250
            for i in range(3):
                assert c.rcpt(f"r{i}@example.test")[0] == 250
            assert c.rcpt("r4@example.test")[0] == 452
            c.rset()
        out = raw_session(server.port, b"EHLO x\r\nMAIL FROM:<a@example.test>\r\n"
                          b"RCPT TO:<b@example.test>\r\nDATA\r\n" + b"y" * 1200
                          + b"\r\n.\r\n")
        assert b"500 5.5.6" in out or b"552 5.3.4" in out
        out = raw_session(server.port, b"EHLO " + b"x" * 600 + b"\r\nNOOP\r\n")
        assert b"500 5.5.2" in out and out.rstrip().endswith(b"250 2.0.0 OK")
    assert handler.messages == []


def test_bdat_chunks() -> None:
    handler = RecordingHandler()
    with running_server(handler) as server:
        out = raw_session(server.port, b"EHLO x\r\nMAIL FROM:<a@example.test>\r\n"
                          b"RCPT TO:<b@example.test>\r\nBDAT 9\r\nSubject: \r\nBDAT 6 LAST\r\n"
                          b"x\r\n\r\n.QUIT\r\n")
    assert b"250 2.0.0 9 octets received" in out and b"221" in out
    assert handler.messages[0].content == b"Subject: x\r\n\r\n."


def test_auth_needs_tls_and_starttls_works(tls_pair: tuple[Path, Path]) -> None:
    cert, key = tls_pair
    handler = RecordingHandler()
    config = ServerConfig(ssl_context=server_context(cert, key), auth_required=True,
                          auth_failure_delay=0.01)
    with running_server(handler, config) as server:
        with smtplib.SMTP("127.0.0.1", server.port) as c:
            c.ehlo()
            assert not c.has_extn("auth") and c.has_extn("starttls")
            assert c.docmd("AUTH", "PLAIN AGFsaWNlAHNlY3JldA==")[0] == 538
            assert c.mail("a@example.test")[0] == 530  # submission needs AUTH
            c.starttls(context=client_context(cert))
            c.ehlo()
            assert c.has_extn("auth") and not c.has_extn("starttls")
            with pytest.raises(smtplib.SMTPAuthenticationError):
                c.login("alice", "wrong")
            c.login("alice", "secret")
            c.sendmail("alice@example.test", ["x@elsewhere.test"], MSG)
        got = handler.messages[0]
        assert got.session.tls and got.session.authenticated == "alice"
        # LOGIN too, and the failure limit closes the connection.
        with smtplib.SMTP("127.0.0.1", server.port) as c:
            c.starttls(context=client_context(cert))
            c.ehlo()
            c.user, c.password = "bob", "secret"
            assert c.auth("LOGIN", c.auth_login)[0] == 235
        with smtplib.SMTP("127.0.0.1", server.port) as c:
            c.starttls(context=client_context(cert))
            c.ehlo()
            # smtplib tries PLAIN, then LOGIN: two failures per login() call.
            with pytest.raises(smtplib.SMTPAuthenticationError):
                c.login("alice", "nope")
            with pytest.raises((smtplib.SMTPServerDisconnected, smtplib.SMTPAuthenticationError)):
                c.login("alice", "nope")  # the third failure: 421 and the end
            with pytest.raises(smtplib.SMTPServerDisconnected):
                c.noop()


def test_starttls_discards_plaintext_injection(tls_pair: tuple[Path, Path]) -> None:
    cert, key = tls_pair
    handler = RecordingHandler()
    config = ServerConfig(ssl_context=server_context(cert, key))
    with running_server(handler, config) as server:
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        f = raw.makefile("rb")
        f.readline()
        raw.sendall(b"EHLO x\r\n")
        while f.readline()[3:4] != b" ":
            pass
        # The classic CVE-2011-0411 injection: a command after STARTTLS in
        # the same plaintext packet.
        raw.sendall(b"STARTTLS\r\nRSET\r\n")
        assert f.readline().startswith(b"220")
        tls = client_context(cert).wrap_socket(raw, server_hostname="localhost")
        tls.sendall(b"NOOP\r\n")
        reply = tls.recv(1024)
        # Only the NOOP is answered: an answer to the injected RSET would come first.
        assert reply.startswith(b"250 2.0.0 OK\r\n") and reply.count(b"\r\n") == 1
        tls.close()
        f.close()


def test_implicit_tls(tls_pair: tuple[Path, Path]) -> None:
    cert, key = tls_pair
    handler = RecordingHandler()
    config = ServerConfig(ssl_context=server_context(cert, key), implicit_tls=True)
    with running_server(handler, config) as server, \
            smtplib.SMTP_SSL("127.0.0.1", server.port, context=client_context(cert)) as c:
        c.ehlo()
        c.login("alice", "secret")
        c.sendmail("alice@example.test", ["b@example.test"], MSG)
    assert handler.messages[0].session.tls


def test_errors_timeouts_and_connection_limit() -> None:
    handler = RecordingHandler()
    config = ServerConfig(max_errors=3, idle_timeout=0.5, max_connections=2)
    with running_server(handler, config) as server:
        out = raw_session(server.port, b"FOO\r\nBAR\r\nBAZ\r\nQUX\r\nNOOP\r\n")
        assert out.count(b"500 5.5.1") == 3 and b"421 4.7.0" in out and b"250" not in out[-40:]
        start = time.monotonic()
        out = raw_session(server.port, b"EHLO x\r\n", wait=3)
        assert b"421 4.4.2" in out and time.monotonic() - start < 2.5
        # Full of sessions in a transaction (idle ones would be closed to
        # make room: test_idle_flood.py): the newcomer is turned away.
        held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
        try:
            for s in held:
                s.sendall(b"EHLO x\r\nMAIL FROM:<a@example.test>\r\n")
            time.sleep(0.2)
            out = raw_session(server.port, b"")
            assert out.startswith(b"421 4.7.0 too many connections, try again later")
        finally:
            for s in held:
                s.close()


# -- swaks, a real client (from ../shared/peers/install-peers) --------------------------------

swaks = pytest.mark.skipif(shutil.which("swaks") is None,
                           reason="swaks not installed: run ../shared/peers/install-peers")


@swaks
@pytest.mark.parametrize("extra", [[], ["--pipeline"]])
def test_swaks(extra: list[str]) -> None:
    handler = RecordingHandler()
    with running_server(handler) as server:
        proc = subprocess.run(["swaks", "--server", f"127.0.0.1:{server.port}",
                               "--from", "a@example.test", "--to", "b@example.test",
                               "--header", "Subject: from swaks", *extra],
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert b"Subject: from swaks" in handler.messages[0].content


@swaks
def test_swaks_starttls_auth(tls_pair: tuple[Path, Path]) -> None:
    cert, key = tls_pair
    handler = RecordingHandler()
    config = ServerConfig(ssl_context=server_context(cert, key), auth_required=True)
    with running_server(handler, config) as server:
        proc = subprocess.run(["swaks", "--server", f"127.0.0.1:{server.port}", "--tls",
                               "--auth", "PLAIN", "--auth-user", "alice", "--auth-password",
                               "secret", "--from", "alice@example.test",
                               "--to", "far@elsewhere.test"],
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        proc = subprocess.run(["swaks", "--server", f"127.0.0.1:{server.port}",
                               "--from", "alice@example.test", "--to", "far@elsewhere.test"],
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode != 0 and "530" in proc.stdout
    assert handler.messages[0].session.authenticated == "alice"


def test_per_address_connection_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import mimekit._guard as guard_module
    monkeypatch.setattr(guard_module, "is_loopback", lambda host: False)
    handler = RecordingHandler()
    with running_server(handler, ServerConfig(max_connections_per_ip=2)) as server:
        held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
        try:
            time.sleep(0.1)
            assert raw_session(server.port, b"").startswith(b"421 4.7.0")
        finally:
            for s in held:
                s.close()
        time.sleep(0.1)
        assert raw_session(server.port, b"").startswith(b"220")


def test_auth_failures_meet_a_growing_delay(tls_pair: tuple[Path, Path]) -> None:
    cert, key = tls_pair
    handler = RecordingHandler()
    config = ServerConfig(ssl_context=server_context(cert, key), auth_failure_delay=0.1,
                          max_auth_failures=10)

    def failed_login(c: smtplib.SMTP) -> float:
        start = time.monotonic()
        code, _ = c.docmd("AUTH", "PLAIN AGFsaWNlAHdyb25n")  # alice / wrong
        assert code == 535
        return time.monotonic() - start

    with running_server(handler, config) as server:
        with smtplib.SMTP("127.0.0.1", server.port) as c:
            c.starttls(context=client_context(cert))
            c.ehlo()
            first, second = failed_login(c), failed_login(c)
        with smtplib.SMTP("127.0.0.1", server.port) as c:  # a new connection, same address
            c.starttls(context=client_context(cert))
            c.ehlo()
            third = failed_login(c)
    assert 0.08 <= first < second < third
    assert third >= 0.35  # 0.1, 0.2, 0.4: doubling across connections
