"""POP3 RETR throughput: ``mimekit serve`` against Dovecot, one client (poplib).

Both servers get the same messages (the generated corpus, 1000 by default)
in a Maildir, run as their own processes on 127.0.0.1, and are read by the
same stdlib ``poplib`` client, interleaved, in one run. The timed part is
RETR of every message in one session (after login, before QUIT: the login
itself measures the password hash, scrypt for mimekit, not POP3). A warm-up
session first lets both servers do their first-open work (Dovecot builds its
index, mimekit moves ``new/`` to ``cur/``) and checks that both send the same
bytes for every message.

Dovecot comes from ``../shared/peers`` (``dovecot-up``); without it the suite
is skipped with a note. ``MIMEKIT_PEERS`` points elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import poplib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["run"]

PEERS = Path(os.environ.get("MIMEKIT_PEERS", Path(__file__).resolve().parents[3]
                            / "shared" / "peers"))
#: Dovecot's port base (POP3 on base + 110); moved up when taken.
DOVECOT_BASE = 19500
USER, PASSWORD = "alice", "secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _retr_all(port: int, count: int, check: bool) -> tuple[float, list[str], int]:
    """One session: login, RETR 1..count, QUIT. Returns the RETR time, the
    SHA-256 of each message (when ``check``) and the octets received."""
    p = poplib.POP3("127.0.0.1", port, timeout=60)
    try:
        p.user(USER)
        p.pass_(PASSWORD)
        digests: list[str] = []
        octets = 0
        started = time.perf_counter()
        for n in range(1, count + 1):
            _, lines, size = p.retr(n)
            octets += size
            if check:
                digests.append(hashlib.sha256(b"\r\n".join(lines) + b"\r\n").hexdigest())
        elapsed = time.perf_counter() - started
        p.quit()
    finally:
        p.close()
    return elapsed, digests, octets


def _start_dovecot(workdir: str) -> dict[str, str]:
    for attempt in range(8):
        proc = subprocess.run([str(PEERS / "dovecot-up"), workdir,
                               str(DOVECOT_BASE + 100 * attempt)],
                              capture_output=True, text=True)
        if proc.returncode == 0 or "already in use" not in proc.stderr + proc.stdout:
            break
    if proc.returncode:
        raise RuntimeError(f"dovecot-up failed: {proc.stderr.strip()}")
    return dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)


def _fill(maildir_path: Path, messages: list[bytes]) -> None:
    from mimekit.mailstore import Maildir

    md = Maildir(maildir_path, create=True)
    for raw in messages:
        md.add(raw)


def _chown_like(tree: Path, like: Path) -> None:
    """Dovecot reads mail as the owner of the mail root (``nobody`` as root)."""
    if os.geteuid() != 0:
        return
    st = os.stat(like)
    for dirpath, dirnames, filenames in os.walk(tree):
        os.chown(dirpath, st.st_uid, st.st_gid)
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), st.st_uid, st.st_gid)


def run(messages: list[bytes], repeat: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Time RETR of ``messages`` from both servers; see the module docs."""
    result: dict[str, Any] = {"messages": len(messages)}
    if shutil.which("dovecot") is None or not (PEERS / "dovecot-up").exists():
        result["skipped"] = ("Dovecot not available (install it with "
                             f"{PEERS / 'install-peers'}); POP3 suite skipped")
        return result
    dv_dir = tempfile.mkdtemp(prefix="mimekit-bench-dovecot-", dir="/tmp")
    mk_dir = Path(tempfile.mkdtemp(prefix="mimekit-bench-serve-"))
    serve: subprocess.Popen[str] | None = None
    try:
        os.chmod(dv_dir, 0o755)
        dv = _start_dovecot(dv_dir)
        mail_root = Path(dv["MAIL_ROOT"])
        _fill(mail_root / USER / "Maildir", messages)
        _chown_like(mail_root / USER, mail_root)
        log(f"pop3: Dovecot on {dv['POP3_PORT']} with {len(messages)} messages")

        from mimekit.serve import UserDB

        UserDB(mk_dir / "users").set_password(USER, PASSWORD)
        _fill(mk_dir / "mail" / USER, messages)
        port = _free_port()
        serve = subprocess.Popen(
            [sys.executable, "-m", "mimekit", "serve", "--dir", str(mk_dir), "--smtp-port", "0",
             "--submission-port", "0", "--imap-port", "0", "--pop3-port", str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert serve.stdout is not None
        line = serve.stdout.readline()
        if not line.startswith("pop3 listening on"):
            raise RuntimeError(f"mimekit serve did not start: {line!r}")
        log(f"pop3: mimekit serve on {port}")
        ports = {"mimekit": port, "dovecot": int(dv["POP3_PORT"])}

        digests = {}
        for name, p in ports.items():
            _, digests[name], octets = _retr_all(p, len(messages), check=True)
            result["octets"] = octets
        result["identical"] = digests["mimekit"] == digests["dovecot"]
        runs: dict[str, list[float]] = {name: [] for name in ports}
        for i in range(repeat):
            order = list(ports) if i % 2 == 0 else list(reversed(ports))
            for name in order:
                elapsed, _, _ = _retr_all(ports[name], len(messages), check=False)
                runs[name].append(elapsed)
                log(f"pop3: {name} run {i + 1}: {elapsed:.2f}s")
        for name, times in runs.items():
            result[name] = {"best_s": min(times), "runs_s": times}
        result["ratio"] = result["dovecot"]["best_s"] / result["mimekit"]["best_s"]
    finally:
        if serve is not None:
            serve.terminate()
            try:
                serve.wait(30)
            except subprocess.TimeoutExpired:
                serve.kill()
                serve.wait()
            if serve.stdout is not None:
                serve.stdout.close()
        subprocess.run([str(PEERS / "dovecot-down"), dv_dir, "--purge"], capture_output=True)
        shutil.rmtree(dv_dir, ignore_errors=True)
        shutil.rmtree(mk_dir, ignore_errors=True)
    return result


def render(result: dict[str, Any]) -> list[str]:
    """Markdown lines for the report."""
    lines = ["", "## POP3 RETR throughput (client: poplib)", ""]
    if "skipped" in result:
        return [*lines, f"Skipped: {result['skipped']}"]
    mb = result.get("octets", 0) / 1e6
    n = result["messages"]
    lines += [f"{n} messages, {mb:.1f} MB on the wire, RETR of all in one session; "
              f"identical bytes from both servers: {result.get('identical')}", "",
              "| server | best s | MB/s | msg/s |", "|---|---:|---:|---:|"]
    for name in ("mimekit", "dovecot"):
        best = result[name]["best_s"]
        lines.append(f"| {name} | {best:.3f} | {mb / best:.1f} | {n / best:.0f} |")
    lines += ["", f"mimekit vs Dovecot: {result['ratio']:.2f}x "
              "(Dovecot's time / mimekit's; above 1 means mimekit is faster)"]
    return lines
