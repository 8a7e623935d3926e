"""Our SMTP server driven by real clients from ../shared/peers: msmtp, and
Postfix relaying into it (Postfix's client brings PIPELINING, DSN, STARTTLS
and SMTPUTF8)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TESTS
from smtp_server_helpers import RecordingHandler, running_server

from mimekit.serve._tls import ensure_self_signed, server_context
from mimekit.smtp import ServerConfig

PEERS = Path(os.environ.get("MIMEKIT_PEERS", TESTS.parent.parent / "shared" / "peers"))
BASE = 17000  # our ports: our server 17025, Dovecot 17100+, Postfix 17200+

needs_peers = pytest.mark.skipif(not (PEERS / "mail-client").exists(),
                                 reason=f"{PEERS} not found (../shared/peers)")


@pytest.fixture(scope="module")
def tls_pair() -> Iterator[tuple[Path, Path]]:
    d = Path(tempfile.mkdtemp(prefix="mimekit-tls-"))
    yield ensure_self_signed(d, "localhost")
    shutil.rmtree(d, ignore_errors=True)


MSG = b"From: alice@example.test\nTo: bob@example.test\nSubject: via msmtp\n\n.dot line\nbody\n"


@needs_peers
@pytest.mark.skipif(shutil.which("msmtp") is None, reason="msmtp not installed "
                    "(../shared/peers/install-peers)")
def test_msmtp_plain_and_starttls_auth(tls_pair: tuple[Path, Path]) -> None:
    cert, key = tls_pair
    handler = RecordingHandler()
    config = ServerConfig(ssl_context=server_context(cert, key))
    with running_server(handler, config) as server:
        base = [str(PEERS / "mail-client"), "msmtp", "--port", str(server.port),
                "--from", "alice@example.test", "--to", "bob@example.test"]
        subprocess.run(base, input=MSG, check=True, capture_output=True, timeout=30)
        subprocess.run([*base, "--tls", "starttls", "--ca", str(cert), "--user", "alice",
                        "--pass", "secret", "--auth", "plain"], input=MSG, check=True,
                       capture_output=True, timeout=30)
        proc = subprocess.run([*base, "--tls", "starttls", "--ca", str(cert), "--user",
                               "alice", "--pass", "wrong", "--auth", "plain"], input=MSG,
                              capture_output=True, timeout=30)
        assert proc.returncode != 0
    first, second = handler.messages
    # msmtp adds Date/Message-ID if missing, sends CRLF and dot-stuffs; we undo
    # the stuffing, so our lines arrive intact below its additions.
    assert first.content.endswith(MSG.replace(b"\n", b"\r\n"))
    assert not first.session.tls and second.session.tls
    assert second.session.authenticated == "alice"


@needs_peers
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("postfix") is None
                    or shutil.which("dovecot") is None,
                    reason="Postfix needs root, Postfix and Dovecot (../shared/peers)")
def test_postfix_relays_into_our_server(tls_pair: tuple[Path, Path]) -> None:
    cert, key = tls_pair
    handler = RecordingHandler()
    config = ServerConfig(ssl_context=server_context(cert, key))
    dv, pf = tempfile.mkdtemp(prefix="mimekit-dv-"), tempfile.mkdtemp(prefix="mimekit-pf-")
    with running_server(handler, config, port=BASE + 25):
        try:
            subprocess.run([str(PEERS / "dovecot-up"), dv, str(BASE + 100)], check=True,
                           capture_output=True, timeout=60)
            out = subprocess.run([str(PEERS / "postfix-up"), pf, str(BASE + 200), "--dovecot",
                                  dv, "--relay-port", str(BASE + 25)], check=True,
                                 capture_output=True, text=True, timeout=60).stdout
            info = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
            submission = info.get("SUBMISSION_PORT", str(BASE + 200 + 587))
            body = ("From: alice@example.test\r\nTo: far@elsewhere.test\r\n"
                    "Subject: relayed\r\n\r\nthrough Postfix\r\n")
            subprocess.run(["swaks", "--server", f"127.0.0.1:{submission}", "--auth", "PLAIN",
                            "--auth-user", "alice", "--auth-password", "secret",
                            "--from", "alice@example.test", "--to", "far@elsewhere.test",
                            "--data", body], check=True, capture_output=True, timeout=60)
            subprocess.run(["postqueue", "-c", f"{pf}/conf", "-f"], check=False,
                           capture_output=True, timeout=30)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not handler.messages:
                time.sleep(0.2)
        finally:
            subprocess.run([str(PEERS / "postfix-down"), pf, "--purge"], check=False,
                           capture_output=True)
            subprocess.run([str(PEERS / "dovecot-down"), dv, "--purge"], check=False,
                           capture_output=True)
    (got,) = handler.messages
    assert got.rcpt_tos == ["far@elsewhere.test"]
    assert got.session.tls  # Postfix upgraded with STARTTLS (opportunistic)
    assert got.session.extended and got.session.host_name
    assert b"Subject: relayed" in got.content and b"through Postfix" in got.content
    assert got.mail_params.get("BODY") in (None, "7BIT", "8BITMIME")
    # Postfix's client speaks DSN: ENVID/RET or ORCPT/NOTIFY may travel; our
    # server accepted whatever it sent without a parameter error.
