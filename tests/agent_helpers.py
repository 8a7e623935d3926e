"""Helpers for the user-agent tests (``test_agent_*``, ``test_cli_ua_*``).

Real peers run on 127.0.0.1 in the port range 24000-25999, reserved for
these tests: Dovecot at base 24000 (IMAP 24143, IMAPS 24993, POP3 24110),
Postfix at base 24800 (SMTP 24825, submission 25387), the aiosmtpd sink at
base 25000 (SMTP 25025), ``mimekit serve`` on 25700-25799. Each module starts
what it needs (module scope) and tears it down; work dirs are
``tempfile.mkdtemp()`` under /tmp, as the peers need (see
shared/peers/README.md).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TESTS

from mimekit.imap import IMAPClient

PEERS = Path(os.environ.get("MIMEKIT_PEERS", TESTS.parent.parent / "shared" / "peers")).resolve()
DOVECOT_BASE = 24000
POSTFIX_BASE = 24800
SINK_BASE = 25000
SERVE_BASE = 25700


def free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def need_peers(binary: str) -> None:
    if not (PEERS / "dovecot-up").exists():
        pytest.skip(f"shared/peers not found at {PEERS}")
    if shutil.which(binary) is None and not Path(f"/usr/sbin/{binary}").exists():
        pytest.skip(f"{binary} not installed: run shared/peers/install-peers")


def peers_up(script: str, workdir: str, base: int, *args: str,
             env: dict[str, str] | None = None) -> dict[str, str]:
    """Start a peer, moving up 100 ports when another run holds them."""
    run = None
    for attempt in range(4):
        run = subprocess.run([str(PEERS / script), workdir, str(base + 100 * attempt), *args],
                             capture_output=True, text=True, env={**os.environ, **(env or {})})
        if run.returncode == 0 or "in use" not in run.stderr + run.stdout:
            break
    assert run is not None
    if run.returncode:
        raise RuntimeError(f"{script} failed: {run.stderr.strip()} {run.stdout.strip()}")
    info = dict(line.split("=", 1) for line in run.stdout.splitlines() if "=" in line)
    info["WORKDIR"] = workdir
    return info


#: Extra Dovecot users (password "secret"), so that tests do not share mailboxes.
USERS = ("carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
         "niaj", "olivia", "peggy")


@contextlib.contextmanager
def dovecot() -> Iterator[dict[str, str]]:
    need_peers("dovecot")
    wd = tempfile.mkdtemp(prefix="mimekit-ua-dovecot-", dir="/tmp")
    try:
        info = peers_up("dovecot-up", wd, DOVECOT_BASE,
                        env={"PEERS_USERS": " ".join(f"{u}:secret" for u in USERS)})
        yield info
    finally:
        subprocess.run([str(PEERS / "dovecot-down"), wd, "--purge"], capture_output=True)
        shutil.rmtree(wd, ignore_errors=True)


@contextlib.contextmanager
def smtp_sink() -> Iterator[dict[str, str]]:
    need_peers("dovecot")
    wd = tempfile.mkdtemp(prefix="mimekit-ua-sink-", dir="/tmp")
    try:
        yield peers_up("smtp-sink-up", wd, SINK_BASE, "--reject", "nobody@example.test")
    finally:
        subprocess.run([str(PEERS / "smtp-sink-down"), wd, "--purge"], capture_output=True)
        shutil.rmtree(wd, ignore_errors=True)


@contextlib.contextmanager
def postfix(dovecot_info: dict[str, str]) -> Iterator[dict[str, str]]:
    need_peers("postfix")
    if os.geteuid() != 0:
        pytest.skip("Postfix needs root")
    wd = tempfile.mkdtemp(prefix="mimekit-ua-postfix-", dir="/tmp")
    try:
        yield peers_up("postfix-up", wd, POSTFIX_BASE, "--dovecot", dovecot_info["WORKDIR"])
    finally:
        subprocess.run([str(PEERS / "postfix-down"), wd, "--purge"], capture_output=True)
        shutil.rmtree(wd, ignore_errors=True)


def deliver(dv: dict[str, str], user: str, raw: bytes, folder: str | None = None) -> None:
    """Put a message into a Dovecot mailbox with Dovecot's own LDA."""
    cmd = [str(PEERS / "dovecot-deliver"), dv["WORKDIR"], user] + ([folder] if folder else [])
    subprocess.run(cmd, input=raw, check=True, capture_output=True)


def message(n: int | str, subject: str | None = None, *, to: str = "alice@example.test",
            body: str = "") -> bytes:
    return (f"From: Bob <bob@example.test>\r\nTo: {to}\r\n"
            f"Subject: {subject or f'message {n}'}\r\n"
            f"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <{n}.{time.time()}@x.test>\r\n"
            f"\r\n{body or f'body of message {n}'}\r\n").encode()


@contextlib.contextmanager
def imap_admin(dv: dict[str, str], user: str = "alice") -> Iterator[IMAPClient]:
    """A plain IMAP session on Dovecot, to look at or change the server side."""
    client = IMAPClient("127.0.0.1", int(dv["IMAP_PORT"]), timeout=20)
    client.connect()
    client.login(user, "secret")
    try:
        yield client
    finally:
        client.logout()


def dovecot_account(dv: dict[str, str], maildir: Path, *, user: str = "alice",
                    fetch: str = "imap", smtp: str = "") -> str:
    """The TOML of an account on the Dovecot peer (password from $TEST_PW)."""
    return f"""
[accounts.dv]
from = "Alice <{user}@example.test>"
user = "{user}"
maildir = "{maildir}"
password_env = "TEST_PW"
ca_file = "{dv['CA_CERT']}"
fetch = "{fetch}"

[accounts.dv.imap]
host = "127.0.0.1"
port = {dv['IMAPS_PORT']}
tls = "implicit"

[accounts.dv.pop3]
host = "127.0.0.1"
port = {dv['POP3_PORT']}
tls = "starttls"
{smtp}"""


# -- mimekit serve ------------------------------------------------------------------------


class Served:
    """A ``mimekit serve`` process and where it listens."""

    def __init__(self, directory: Path, ports: dict[str, int]) -> None:
        self.dir = directory
        self.ports = ports

    @property
    def ca(self) -> Path:
        return self.dir / "tls" / "cert.pem"

    def mailbox(self, user: str) -> Path:
        return self.dir / "mail" / user

    def wait_for(self, user: str, count: int, timeout: float = 20.0) -> list[Path]:
        deadline = time.monotonic() + timeout
        while True:
            files = [p for sub in ("new", "cur") if (self.mailbox(user) / sub).is_dir()
                     for p in (self.mailbox(user) / sub).iterdir()]
            if len(files) >= count or time.monotonic() > deadline:
                return files
            time.sleep(0.05)


@contextlib.contextmanager
def mimekit_serve(offset: int = 0, *, imap: bool = False) -> Iterator[Served]:
    """``mimekit serve`` with users alice and bob (password "secret")."""
    base = SERVE_BASE + offset
    while not all(free(base + p) for p in (25, 87, 10, 43)):
        base += 4
    ports = {"smtp": base + 25, "submission": base + 87, "pop3": base + 10,
             "imap": base + 43 if imap else 0}
    directory = Path(tempfile.mkdtemp(prefix="mimekit-ua-serve-", dir="/tmp"))
    for name in ("alice", "bob"):
        subprocess.run([sys.executable, "-m", "mimekit", "user", "add", name, "--password",
                        "secret", "--dir", str(directory)], check=True, capture_output=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mimekit", "serve", "--dir", str(directory),
         "--domain", "example.test", "--smtp-port", str(ports["smtp"]),
         "--submission-port", str(ports["submission"]), "--pop3-port", str(ports["pop3"]),
         "--imap-port", str(ports["imap"])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        expected = 3 + bool(imap)
        lines = [proc.stdout.readline() for _ in range(expected)]
        if not all("listening" in line for line in lines):
            proc.kill()
            raise RuntimeError(f"mimekit serve did not start: {lines} "
                               f"{proc.stderr.read() if proc.stderr else ''}")
        yield Served(directory, ports)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream:
                    stream.close()
            shutil.rmtree(directory, ignore_errors=True)


def serve_account(served: Served, maildir: Path, user: str = "alice") -> str:
    return f"""
[accounts.local]
from = "{user.title()} <{user}@example.test>"
user = "{user}"
maildir = "{maildir}"
password_env = "TEST_PW"
ca_file = "{served.ca}"

[accounts.local.smtp]
host = "127.0.0.1"
port = {served.ports['submission']}
tls = "starttls"

[accounts.local.pop3]
host = "127.0.0.1"
port = {served.ports['pop3']}
tls = "starttls"
"""


def cli(*args: Any, env: dict[str, str] | None = None, input: bytes | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m mimekit ARGS`` with TEST_PW=secret unless ``env`` says otherwise."""
    full = {**os.environ, "TEST_PW": "secret", **(env or {})}
    run = subprocess.run([sys.executable, "-m", "mimekit", *map(str, args)],
                         input=input, capture_output=True, env=full, timeout=timeout)
    return subprocess.CompletedProcess(run.args, run.returncode,
                                       run.stdout.decode("utf-8", "replace"),
                                       run.stderr.decode("utf-8", "replace"))


def ssl_ctx(cafile: str | Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cafile))


def reset_uidvalidity(dv: dict[str, str], user: str, folder: str | None = None) -> None:
    """Make Dovecot forget a mailbox's UIDs (a new UIDVALIDITY, UIDs renumbered),
    as after a server restore; no session may be open on it."""
    path = Path(dv["MAIL_ROOT"]) / user / "Maildir"
    if folder:
        path = path / f".{folder}"
    for f in path.iterdir():
        if f.name == "dovecot-uidlist" or f.name.startswith("dovecot.index"):
            f.unlink()


def remote_view(client: IMAPClient, mailbox: str) -> list[tuple[str, str]]:
    """Sorted ``(digest, Maildir flags)`` of every message of a mailbox."""
    from mimekit.agent import digest, maildir_flags

    info = client.select(mailbox, readonly=True)
    if not info.exists:
        return []
    items = client.fetch("1:*", ["FLAGS", "BODY.PEEK[]"])
    return sorted((digest(item["BODY.PEEK[]"]), maildir_flags(item.flags))  # type: ignore[arg-type]
                  for item in items.values())


def local_view(md: Any) -> list[tuple[str, str]]:
    """Sorted ``(digest, synced flags)`` of every message of a Maildir folder."""
    from mimekit.agent import digest
    from mimekit.agent._flags import synced

    return sorted((digest(md.get_bytes(k)), synced(md.get_flags(k))) for k in md)
