"""Our SMTP clients against real servers (shared/peers), sync and asyncio.

* The aiosmtpd sink: plain, STARTTLS, implicit TLS, AUTH PLAIN/LOGIN,
  certificate checks; the stored message must be byte-identical except the
  sink's three trace fields, and Bcc must not be in it while the Bcc
  recipients are in the envelope (``X-Sink-Rcpt-To``).
* Postfix: PIPELINING, CHUNKING (BDAT), DSN, SMTPUTF8, STARTTLS, and the
  relay refusal ``554 5.7.1`` as a clear error.

Each peer runs once for the session in a work dir under /tmp (the peers
must be reachable by ``nobody``, so not ``tmp_path``). Skips only when a
peer is not installed, saying so.
"""

from __future__ import annotations

import mailbox
import os
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TESTS
from smtp_client_helpers import CLIENTS

from mimekit.smtp import (
    DSN,
    SMTPAuthenticationError,
    SMTPRecipientsRefused,
    SMTPSizeError,
)

PEERS = Path(os.environ.get("MIMEKIT_PEERS", TESTS.parent.parent / "shared" / "peers")).resolve()

pytestmark = pytest.mark.parametrize("kind", sorted(CLIENTS))


def _base(request: pytest.FixtureRequest, offset: int) -> int:
    # Our own port slots (the Dovecot tests use 24000+): 21000 sink, 22000 Postfix.
    worker = str(getattr(request.config, "workerinput", {}).get("workerid", "master"))
    n = 0 if worker == "master" else int(worker.lstrip("gw"))
    return offset + 3000 * n


def _up(script: str, workdir: str, base: int, *args: str) -> dict[str, str]:
    # Another test run on this machine may hold the ports: move up a slot.
    for attempt in range(5):
        run = subprocess.run([str(PEERS / script), workdir, str(base + 100 * attempt), *args],
                             capture_output=True, text=True)
        if run.returncode == 0 or "already in use" not in run.stderr:
            break
    if run.returncode:
        raise RuntimeError(f"{script} failed: {run.stderr.strip()}")
    info = dict(line.split("=", 1) for line in run.stdout.splitlines() if "=" in line)
    info["WORKDIR"] = workdir
    return info


@pytest.fixture(scope="session")
def sink(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if not (PEERS / "smtp-sink-up").exists():
        pytest.skip(f"shared/peers not found at {PEERS}")
    probe = subprocess.run(["python3", "-c", "import aiosmtpd"], capture_output=True)
    if probe.returncode:
        pytest.skip("aiosmtpd not installed: run shared/peers/install-peers")
    wd = tempfile.mkdtemp(prefix="mimekit-smtp-sink-", dir="/tmp")
    try:
        info = _up("smtp-sink-up", wd, _base(request, 21000))
    except BaseException:
        shutil.rmtree(wd, ignore_errors=True)
        raise
    try:
        yield info
    finally:
        subprocess.run([str(PEERS / "smtp-sink-down"), wd, "--purge"], capture_output=True)


@pytest.fixture(scope="session")
def postfix(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if not (PEERS / "postfix-up").exists():
        pytest.skip(f"shared/peers not found at {PEERS}")
    if shutil.which("postfix") is None and not Path("/usr/sbin/postfix").exists():
        pytest.skip("postfix not installed: run shared/peers/install-peers")
    if os.geteuid() != 0:
        pytest.skip("postfix-up needs root")
    wd = tempfile.mkdtemp(prefix="mimekit-smtp-postfix-", dir="/tmp")
    try:
        info = _up("postfix-up", wd, _base(request, 22000))
    except BaseException:
        shutil.rmtree(wd, ignore_errors=True)
        raise
    try:
        yield info
    finally:
        subprocess.run([str(PEERS / "postfix-down"), wd, "--purge"], capture_output=True)


def _message(tag: str, *, extra: bytes = b"") -> bytes:
    return (b"From: Alice <alice@example.test>\r\nTo: bob@example.test\r\n"
            b"Cc: Carol <carol@example.test>\r\nBcc: dave@example.test,\r\n eve@example.test\r\n"
            b"Subject: interop " + tag.encode() + b"\r\n"
            b"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
            b"Message-ID: <" + tag.encode() + b"@mimekit.test>\r\n" + extra +
            b"\r\n.a line with a leading dot\r\n..two dots\r\nend\r\n")


def _without_bcc(raw: bytes) -> bytes:
    return raw.replace(b"Bcc: dave@example.test,\r\n eve@example.test\r\n", b"")


def _stored(path: str | Path) -> list[bytes]:
    """Every message in a Maildir (none while the first delivery creates it)."""
    if not Path(path, "new").is_dir():
        return []
    box = mailbox.Maildir(str(path), create=False)
    return [box.get_bytes(key) for key in box.iterkeys()]


def _find(path: str | Path, tag: str, timeout: float = 0.0) -> list[bytes]:
    """Every stored message holding Message-ID <tag@...> (waiting up to timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [d for d in _stored(path) if f"<{tag}@".encode() in d]
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def _ctx(info: dict[str, str]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=info["CA_CERT"])


# -- the aiosmtpd sink ----------------------------------------------------------------------


@pytest.mark.parametrize("tls", [None, "starttls", "implicit"])
def test_sink_byte_identical_and_bcc_not_transmitted(kind: str, tls: str | None,
                                                     sink: dict[str, str]) -> None:
    tag = f"sink-{kind}-{tls}"
    raw = _message(tag)
    port = int(sink["SMTPS_PORT" if tls == "implicit" else "SMTP_PORT"])
    ctx = _ctx(sink) if tls else None
    with CLIENTS[kind]("127.0.0.1", port, tls=tls, ssl_context=ctx, timeout=10) as c:
        assert c.tls is (tls is not None)
        if tls == "starttls":
            assert "STARTTLS" not in c.extensions  # read again after TLS
        c.login("alice", "secret", "LOGIN" if tls == "implicit" else None)
        result = c.send(raw)
    assert set(result.accepted) == {"bob@example.test", "carol@example.test",
                                    "dave@example.test", "eve@example.test"}
    (stored,) = _find(sink["MAILDIR"], tag)
    trace, _, content = stored.partition(b"X-Sink-Peer: ")
    peer, _, content = content.partition(b"\r\n")
    assert content == _without_bcc(raw)  # every other byte identical
    assert b"Bcc" not in content and b"dave@" not in content
    assert trace == (
        b"X-Sink-Mail-From: <alice@example.test> SIZE=%d\r\n" % len(_without_bcc(raw))
        + b"X-Sink-Rcpt-To: <bob@example.test>, <carol@example.test>, "
          b"<dave@example.test>, <eve@example.test>\r\n")
    assert (b" TLS" in peer) is (tls is not None) and peer.endswith(b"AUTH=alice")


def test_sink_smtputf8(kind: str, sink: dict[str, str]) -> None:
    tag = f"sink-utf8-{kind}"
    raw = _message(tag).replace(b"Subject: interop", "Subject: Grüße".encode())
    with CLIENTS[kind]("127.0.0.1", int(sink["SMTP_PORT"]), timeout=10) as c:
        c.send(raw, sender="jörg@example.test", recipients=["bob@example.test"])
    (stored,) = _find(sink["MAILDIR"], tag)
    assert stored.startswith("X-Sink-Mail-From: <jörg@example.test> ".encode())
    first = stored.split(b"\r\n", 1)[0]
    assert b"SMTPUTF8" in first and b"BODY=8BITMIME" in first
    assert stored.endswith(_without_bcc(raw))


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_sink_certificate_verified_by_default(kind: str, tls: str, sink: dict[str, str]) -> None:
    port = int(sink["SMTPS_PORT" if tls == "implicit" else "SMTP_PORT"])
    with pytest.raises(ssl.SSLCertVerificationError), \
            CLIENTS[kind]("127.0.0.1", port, tls=tls, timeout=10):
        pass
    # Turning verification off is explicit: the caller's own context.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with CLIENTS[kind]("127.0.0.1", port, tls=tls, ssl_context=ctx, timeout=10) as c:
        assert c.tls and c.noop().code == 250


def test_sink_auth_refused_and_size(kind: str, sink: dict[str, str]) -> None:
    with CLIENTS[kind]("127.0.0.1", int(sink["SMTP_PORT"]), timeout=10) as c:
        with pytest.raises(SMTPAuthenticationError) as info:
            c.login("alice", "wrong", "PLAIN")
        assert info.value.code == 535
        big = _message(f"big-{kind}") + b"x" * 76 + (b"y" * 998 + b"\r\n") * 10_600
        with pytest.raises(SMTPSizeError) as size:
            c.send(big)
        assert size.value.limit == 10485760
        assert c.login("bob", "secret", "PLAIN").code == 235


# -- Postfix ---------------------------------------------------------------------------------


def _maildir(postfix: dict[str, str], user: str) -> Path:
    return Path(postfix["MAIL_ROOT"]) / user / "Maildir"


@pytest.mark.parametrize("chunking", [True, False], ids=["bdat", "data"])
def test_postfix_pipelining_chunking_partial_refusal(kind: str, chunking: bool,
                                                     postfix: dict[str, str]) -> None:
    tag = f"pf-{kind}-{chunking}"
    raw = _message(tag).replace(b"Cc: Carol <carol@example.test>",
                                b"Cc: Far <far@elsewhere.test>")
    with CLIENTS[kind]("127.0.0.1", int(postfix["SMTP_PORT"]), timeout=10,
                       chunking=chunking) as c:
        assert {"PIPELINING", "CHUNKING", "DSN", "SMTPUTF8"} <= set(c.extensions)
        result = c.send(raw, recipients=["bob@example.test", "far@elsewhere.test",
                                         "alice@example.test"])
    assert result.chunking is chunking
    assert list(result.accepted) == ["bob@example.test", "alice@example.test"]
    refusal = result.refused["far@elsewhere.test"]
    assert refusal.code == 554 and refusal.enhanced == (5, 7, 1)
    assert "Relay access denied" in refusal.text
    for user in ("bob", "alice"):
        (stored,) = _find(_maildir(postfix, user), tag, timeout=15)
        # Postfix prepends its trace fields and changes nothing else.
        head, _, rest = stored.partition(b"From: Alice")
        assert b"From: Alice" + rest == _without_bcc(raw).replace(b"\r\n", b"\n")
        assert head.startswith(b"Return-Path: <alice@example.test>\n")


def test_postfix_relay_refusal_is_a_clear_error(kind: str, postfix: dict[str, str]) -> None:
    raw = b"From: alice@example.test\r\nTo: someone@elsewhere.test\r\n\r\nhi\r\n"
    with CLIENTS[kind]("127.0.0.1", int(postfix["SMTP_PORT"]), timeout=10) as c:
        with pytest.raises(SMTPRecipientsRefused) as info:
            c.send(raw)
        err = info.value
        assert (err.code, err.enhanced) == (554, (5, 7, 1))
        assert "Relay access denied" in str(err) and "someone@elsewhere.test" in err.refused
        assert c.noop().code == 250  # RSET left the session usable


def test_postfix_dsn_and_smtputf8_over_starttls(kind: str, postfix: dict[str, str]) -> None:
    tag = f"pf-dsn-{kind}"
    envid = f"env+{kind}"
    raw = _message(tag).replace(b"Subject: interop", "Subject: Grüße ☃".encode())
    with CLIENTS[kind]("127.0.0.1", int(postfix["SMTP_PORT"]), tls="starttls",
                       ssl_context=_ctx(postfix), timeout=10) as c:
        result = c.send(raw, recipients=["bob@example.test"],
                        dsn=DSN(notify=("SUCCESS", "FAILURE"), ret="HDRS", envid=envid,
                                orcpt=True))
    assert result.dsn and result.chunking
    (stored,) = _find(_maildir(postfix, "bob"), tag, timeout=15)
    assert b"with UTF8SMTPS" in stored  # SMTPUTF8 over TLS, as Postfix records it
    assert stored.endswith(_without_bcc(raw).replace(b"\r\n", b"\n"))
    # The success report goes to the sender, quoting our ENVID and ORCPT.
    deadline = time.monotonic() + 15
    reports: list[bytes] = []
    while not reports and time.monotonic() < deadline:
        reports = [d for d in _stored(_maildir(postfix, "alice"))
                   if f"Original-Envelope-Id: {envid}".encode() in d]
        time.sleep(0.1)
    (report,) = reports
    assert b"Original-Recipient: rfc822;bob@example.test" in report
    assert b"Action: delivered" in report
