"""POP3 against real peers (shared/peers).

* Our server read by real **fetchmail** (STLS with a verified certificate,
  keep, then delete) and real **getmail6** (plain, on loopback).
* Our clients (sync and asyncio) read a real **Dovecot**: every command,
  APOP (Dovecot's greeting carries a timestamp), STLS and implicit TLS, and
  the bytes retrieved are identical to what Dovecot's LDA delivered.

The peers run once per module in work dirs made with ``tempfile.mkdtemp``
under /tmp (Dovecot runs as ``nobody``, so not pytest's ``tmp_path``) and
are torn down afterwards. Skips only when a peer is not installed, saying so.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pop3_helpers import CLIENTS, PEERS, peers_up, running_server, worker_slot

from mimekit.mailstore import Maildir
from mimekit.pop3 import (
    MaildirHandler,
    POP3AuthenticationError,
    POP3ResponseError,
    POP3Server,
    ServerConfig,
    Session,
)
from mimekit.serve._tls import server_context

if not (PEERS / "dovecot-up").exists():
    pytest.skip(f"shared/peers not found at {PEERS}", allow_module_level=True)

# Stored as LF (as many Maildir writers do), CRLF, with dot lines and 8-bit text.
OURS = [
    b"From: a@example.test\nTo: alice@example.test\nSubject: one\n\n.dot line\n..two\nbody\n",
    b"From: b@example.test\r\nSubject: two\r\n\r\nline\r\n.\r\nafter a lone dot\r\n",
    "From: c@example.test\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n\nGrüße\n".encode(),
]


def lf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


def _tmpdir(prefix: str) -> str:
    path = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(path, 0o755)  # the peers' daemons and getmail run as nobody
    return path


class Recorder(MaildirHandler):
    """Records how each login happened (TLS or not, which method)."""

    logins: list[tuple[str, str, bool]]

    async def on_auth(self, session: Session, mechanism: str, username: str,
                      password: str) -> bool:
        self.logins.append((username, mechanism, session.tls))
        return await super().on_auth(session, mechanism, username, password)


@pytest.fixture(scope="module")
def ours() -> Iterator[tuple[POP3Server, Recorder, Path, Path]]:
    """Our server with a certificate fetchmail can verify (fetchmail checks
    DNS names only, so the peers' cert has ``DNS:127.0.0.1``)."""
    wd = Path(_tmpdir("mimekit-pop3-ours-"))
    try:
        subprocess.run(["bash", "-c", 'source "$1/_lib.sh" && make_cert "$2"', "_",
                        str(PEERS), str(wd / "tls")], check=True, capture_output=True)
        cert, key = wd / "tls" / "cert.pem", wd / "tls" / "key.pem"
        handler = Recorder(wd / "mail", lambda u, p: (u, p) in {("alice", "secret"),
                                                                ("bob", "secret")})
        handler.logins = []
        cfg = ServerConfig(hostname="pop.example.test", ssl_context=server_context(cert, key),
                           auth_failure_delay=0.0)
        with running_server(handler, cfg) as server:
            yield server, handler, wd, cert
    finally:
        shutil.rmtree(wd, ignore_errors=True)


def mail_client(*args: str) -> subprocess.CompletedProcess[str]:
    run = subprocess.run([str(PEERS / "mail-client"), *args], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    return run


def fetched(out: Path) -> list[bytes]:
    files = sorted((out / "new").iterdir(), key=lambda f: f.stat().st_mtime_ns)
    return [f.read_bytes() for f in files]


def _arrived(got: list[bytes], want: list[bytes]) -> None:
    """Each message arrived whole, below the trace fields the client adds."""
    assert len(got) == len(want)
    for g in got:
        assert any(g.endswith(lf(w)) for w in want), g[:200]
    for w in want:
        assert any(g.endswith(lf(w)) for g in got)


@pytest.mark.skipif(shutil.which("fetchmail") is None, reason="fetchmail not installed "
                    "(shared/peers/install-peers)")
def test_fetchmail_over_stls_keep_then_delete(ours: tuple[POP3Server, Recorder, Path, Path]
                                              ) -> None:
    server, handler, wd, cert = ours
    md = Maildir(wd / "mail" / "alice", create=True)
    keys = [md.add(m) for m in OURS]
    out = wd / "fetchmail-keep"
    common = ["fetchmail", "--proto", "pop3", "--port", str(server.port), "--user", "alice",
              "--pass", "secret", "--tls", "starttls", "--ca", str(cert)]
    mail_client(*common, "--out", str(out))
    _arrived(fetched(out), OURS)
    assert handler.logins[-1] == ("alice", "USER", True)  # USER/PASS inside STLS
    # Kept: still there, now in cur/ and marked read.
    assert sorted(md.keys()) == sorted(keys)
    assert all(md.get_subdir(k) == "cur" and md.get_flags(k) == "S" for k in keys)
    mail_client(*common, "--out", str(wd / "fetchmail-delete"), "--delete")
    _arrived(fetched(wd / "fetchmail-delete"), OURS)
    assert list(Maildir(wd / "mail" / "alice").keys()) == []  # deleted at QUIT


@pytest.mark.skipif(shutil.which("getmail") is None, reason="getmail6 not installed "
                    "(shared/peers/install-peers)")
def test_getmail_plain(ours: tuple[POP3Server, Recorder, Path, Path]) -> None:
    server, handler, wd, _ = ours
    md = Maildir(wd / "mail" / "bob", create=True)
    keys = [md.add(m) for m in OURS]
    out = wd / "getmail"
    common = ["getmail", "--proto", "pop3", "--port", str(server.port), "--user", "bob",
              "--pass", "secret"]
    mail_client(*common, "--out", str(out))
    got = fetched(out)
    _arrived(got, OURS)
    # getmail6 names the message by our UIDL in its trace field.
    assert all(any(k.split(",")[0].encode() in g for g in got) for k in keys)
    assert handler.logins[-1] == ("bob", "USER", False)  # plaintext allowed on loopback
    assert sorted(md.keys()) == sorted(keys)
    mail_client(*common, "--out", str(wd / "getmail-delete"), "--delete")
    assert list(Maildir(wd / "mail" / "bob").keys()) == []


# -- our clients against Dovecot ---------------------------------------------------------

# CRLF as on the wire; a dot line, a long line, 8-bit text, a header-only message.
DELIVER = [
    b"From: a@example.test\r\nTo: carol@example.test\r\nSubject: one\r\n"
    b"Message-ID: <one@example.test>\r\n\r\n.dot line\r\n..two dots\r\nbody\r\n",
    b"From: b@example.test\r\nSubject: two\r\n\r\n" + b"x" * 5000 + b"\r\n.\r\nend\r\n",
    "From: c@example.test\r\nSubject: drei\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n".encode(),
    b"From: d@example.test\r\nSubject: big\r\n\r\n"
    + b"".join(b"line %06d of a bigger message\r\n" % i for i in range(20000)),
]


@pytest.fixture(scope="module")
def dovecot(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if shutil.which("dovecot") is None:
        pytest.skip("dovecot not installed: run shared/peers/install-peers")
    wd = _tmpdir("mimekit-pop3-dovecot-")
    os.environ["PEERS_USERS"] = "carol:secret dave:secret"
    try:
        # Our own port slot: other modules use 10000-11999, 16000, 21000+.
        info = peers_up("dovecot-up", wd, 18000 + 1000 * worker_slot(request.config))
        yield info
    finally:
        os.environ.pop("PEERS_USERS", None)
        subprocess.run([str(PEERS / "dovecot-down"), wd, "--purge"], capture_output=True)
        shutil.rmtree(wd, ignore_errors=True)


def deliver(dovecot: dict[str, str], user: str, raw: bytes) -> None:
    subprocess.run([str(PEERS / "dovecot-deliver"), dovecot["WORKDIR"], user], input=raw,
                   check=True, capture_output=True)


def dovecot_files(dovecot: dict[str, str], user: str) -> list[bytes]:
    md = Maildir(Path(dovecot["MAIL_ROOT"]) / user / "Maildir")
    return [md.get_bytes(k) for k in md]


_USER = {"sync": "carol", "async": "dave"}


@pytest.mark.parametrize("kind", sorted(CLIENTS))
def test_our_client_reads_dovecot(kind: str, dovecot: dict[str, str]) -> None:
    user = _USER[kind]
    for raw in DELIVER:
        deliver(dovecot, user, raw)
    stored = dovecot_files(dovecot, user)
    ctx = ssl.create_default_context(cafile=dovecot["CA_CERT"])
    port = int(dovecot["POP3_PORT"])
    with CLIENTS[kind]("127.0.0.1", port, tls="starttls", ssl_context=ctx, timeout=10) as c:
        assert c.tls and c.apop_offered
        caps = c.capabilities()
        assert {"TOP", "UIDL", "RESP-CODES"} <= set(caps) and "STLS" not in caps
        c.login(user, "secret")
        sizes = [len(r) for r in DELIVER]
        assert c.stat() == (4, sum(sizes))
        assert c.list() == list(enumerate(sizes, 1))
        assert c.list(2) == [(2, sizes[1])]
        uids = c.uidl()
        assert len({u for _, u in uids}) == 4 and c.uidl(3) == [uids[2]]
        for n, raw in enumerate(DELIVER, 1):
            got = c.retrieve_bytes(n)
            assert got == raw  # exactly what was delivered
            assert got == stored[n - 1].replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        assert c.retrieve(3).text_body.get_text() == "Grüße\r\n"
        assert c.top_bytes(1, 1) == DELIVER[0].split(b"\r\n\r\n")[0] + b"\r\n\r\n.dot line\r\n"
        assert c.top(4).subject == "big"
        path = Path(dovecot["WORKDIR"]) / f"{user}-retrieved.eml"
        assert c.retrieve_to(4, path) == sizes[3] and path.read_bytes() == DELIVER[3]
        c.delete(1)
        with pytest.raises(POP3ResponseError, match="deleted"):
            c.retrieve_bytes(1)
        c.reset()
        c.noop()
        c.delete(2)
        assert c.quit() is not None
    # DELE took effect at QUIT; APOP on a plain connection (no password sent).
    with CLIENTS[kind]("127.0.0.1", port, timeout=10) as c:
        c.login(user, "secret", apop=True)
        assert c.stat()[0] == 3
        assert [c.retrieve_bytes(n) for n in (1, 2, 3)] == [DELIVER[0], *DELIVER[2:]]
    # Implicit TLS (POP3S).
    with CLIENTS[kind]("127.0.0.1", int(dovecot["POP3S_PORT"]), tls="implicit",
                       ssl_context=ctx, timeout=10) as c:
        c.login(user, "secret", mechanism="LOGIN")
        assert c.stat()[0] == 3
        for n, _ in c.list():
            c.delete(n)
    assert dovecot_files(dovecot, user) == []


def test_dovecot_certificate_is_checked(dovecot: dict[str, str]) -> None:
    # The default context: Dovecot's self-signed certificate is refused.
    for kind in CLIENTS:
        with pytest.raises(ssl.SSLCertVerificationError):
            CLIENTS[kind]("127.0.0.1", int(dovecot["POP3_PORT"]), tls="starttls",
                          timeout=10).__enter__()


def test_async_clients_in_parallel(dovecot: dict[str, str]) -> None:
    """Two asyncio clients on one loop, two users, interleaved."""
    from mimekit.pop3 import AsyncPOP3Client

    for user in ("alice", "bob"):
        deliver(dovecot, user, DELIVER[0])

    async def read(user: str) -> bytes:
        async with AsyncPOP3Client("127.0.0.1", int(dovecot["POP3_PORT"]), timeout=10) as c:
            await c.login(user, "secret")
            data = await c.retrieve_bytes(1)
            await c.delete(1)
            return data

    async def both() -> list[bytes]:
        return list(await asyncio.gather(read("alice"), read("bob")))

    assert asyncio.run(both()) == [DELIVER[0], DELIVER[0]]


def test_dovecot_refusal_is_typed(dovecot: dict[str, str]) -> None:
    # Last, and once: Dovecot delays every later login from an address that
    # failed one (its auth penalty), however short auth_failure_delay is.
    with CLIENTS["sync"]("127.0.0.1", int(dovecot["POP3_PORT"]), timeout=10) as c:
        with pytest.raises(POP3AuthenticationError) as info:
            c.login("alice", "wrong", apop=True)
        assert info.value.code == "AUTH" and "Authentication failed" in info.value.text
