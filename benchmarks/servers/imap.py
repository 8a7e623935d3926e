"""IMAP FETCH throughput: ``mimekit serve`` against Dovecot, one client (imaplib).

Two workloads in one run, on the same messages (the generated corpus, 1000
by default) in a Maildir of each server, both servers as their own
processes on 127.0.0.1, read by the same stdlib ``imaplib`` client,
interleaved:

* ``envelope``: ``FETCH 1:* (ENVELOPE BODYSTRUCTURE)``, one command;
* ``body``: ``FETCH 1:* (BODY[])``, one command (the mailbox is opened with
  EXAMINE, so BODY[] sets no flags and every run does the same work).

The timed part is the FETCH alone (after login and EXAMINE, before LOGOUT:
the login measures the password hash, scrypt for mimekit, not IMAP). The
first session of each server is timed apart as the *cold* run: both compute
ENVELOPE and BODYSTRUCTURE from the files then (Dovecot fills its index
cache, mimekit its per-folder cache, kept across sessions); the best of the
later runs is the headline. The cold run also checks that both servers send
the same BODY[] octets for every message and compares their ENVELOPE and
BODYSTRUCTURE after parsing (as the test suite does on the corpus).

Dovecot comes from ``../shared/peers`` (``dovecot-up``); without it the suite
is skipped with a note. ``MIMEKIT_PEERS`` points elsewhere.
"""

from __future__ import annotations

import hashlib
import imaplib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["render", "run"]

PEERS = Path(os.environ.get("MIMEKIT_PEERS", Path(__file__).resolve().parents[3]
                            / "shared" / "peers"))
#: Dovecot's port base (IMAP on base + 143); moved up when taken.
DOVECOT_BASE = 20500
USER, PASSWORD = "alice", "secret"
WORKLOADS = {"envelope": "(ENVELOPE BODYSTRUCTURE)", "body": "(BODY[])"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _fetch(port: int, items: str, keep: bool) -> tuple[float, list[Any], int]:
    """One session: login, EXAMINE, FETCH 1:* items, LOGOUT. Returns the
    FETCH time, the response data (when ``keep``) and the octets received."""
    c = imaplib.IMAP4("127.0.0.1", port, timeout=120)
    try:
        c.login(USER, PASSWORD)
        typ, _ = c.select("INBOX", readonly=True)
        assert typ == "OK"
        started = time.perf_counter()
        typ, data = c.fetch("1:*", items)
        elapsed = time.perf_counter() - started
        assert typ == "OK", data
        octets = sum(len(x[1]) if isinstance(x, tuple) else len(x or b"") for x in data)
    except BaseException:
        c.shutdown()
        raise
    c.logout()
    return elapsed, data if keep else [], octets


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


def _by_message(data: list[Any]) -> dict[int, bytes]:
    """The raw text of each message's FETCH response, literals inline."""
    out: dict[int, bytes] = {}
    current: list[bytes] = []
    for item in data:
        if isinstance(item, tuple):
            current += [item[0], b"\r\n", item[1]]
        elif item is not None:
            current.append(item)
            if item.endswith(b")"):
                raw = b"".join(current)
                m = re.match(rb"(\d+) ", raw)
                if m:
                    out[int(m.group(1))] = raw
                current = []
    return out


def _compare(ours: list[Any], theirs: list[Any]) -> tuple[int, int]:
    """(identical, compared) ENVELOPE+BODYSTRUCTURE after parsing, as the
    tests compare them (case-folded, quoted and literal strings alike)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
    try:
        from imap_server_helpers import fetch_items, norm
    finally:
        sys.path.pop(0)
    a, b = _by_message(ours), _by_message(theirs)
    def items(raw: bytes) -> dict[str, Any]:
        return {k: norm(v) for k, v in fetch_items(raw).items()}

    same = sum(1 for n in b if n in a and items(a[n]) == items(b[n]))
    return same, len(b)


def _digests(data: list[Any]) -> list[str]:
    return [hashlib.sha256(x[1]).hexdigest() for x in data if isinstance(x, tuple)]


def run(messages: list[bytes], repeat: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Time both workloads on both servers; see the module docs."""
    result: dict[str, Any] = {"messages": len(messages)}
    if shutil.which("dovecot") is None or not (PEERS / "dovecot-up").exists():
        result["skipped"] = ("Dovecot not available (install it with "
                             f"{PEERS / 'install-peers'}); IMAP suite skipped")
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
        log(f"imap: Dovecot on {dv['IMAP_PORT']} with {len(messages)} messages")

        from mimekit.serve import UserDB

        UserDB(mk_dir / "users").set_password(USER, PASSWORD)
        _fill(mk_dir / "mail" / USER, messages)
        port = _free_port()
        serve = subprocess.Popen(
            [sys.executable, "-m", "mimekit", "serve", "--dir", str(mk_dir), "--smtp-port", "0",
             "--submission-port", "0", "--pop3-port", "0", "--imap-port", str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert serve.stdout is not None
        line = serve.stdout.readline()
        if not line.startswith("imap listening on"):
            raise RuntimeError(f"mimekit serve did not start: {line!r}")
        log(f"imap: mimekit serve on {port}")
        ports = {"mimekit": port, "dovecot": int(dv["IMAP_PORT"])}

        for workload, items in WORKLOADS.items():
            res: dict[str, Any] = {"items": items}
            data: dict[str, list[Any]] = {}
            for name, p in ports.items():
                elapsed, data[name], octets = _fetch(p, items, keep=True)
                res[name] = {"cold_s": elapsed}
                res["octets"] = octets
                log(f"imap {workload}: {name} cold: {elapsed:.2f}s")
            if workload == "body":
                res["identical_bytes"] = _digests(data["mimekit"]) == _digests(data["dovecot"])
            else:
                res["identical"], res["compared"] = _compare(data["mimekit"], data["dovecot"])
            data.clear()
            runs: dict[str, list[float]] = {name: [] for name in ports}
            for i in range(repeat):
                order = list(ports) if i % 2 == 0 else list(reversed(ports))
                for name in order:
                    elapsed, _, _ = _fetch(ports[name], items, keep=False)
                    runs[name].append(elapsed)
                    log(f"imap {workload}: {name} run {i + 1}: {elapsed:.3f}s")
            for name, times in runs.items():
                res[name].update(best_s=min(times), runs_s=times)
            res["ratio"] = res["dovecot"]["best_s"] / res["mimekit"]["best_s"]
            res["cold_ratio"] = res["dovecot"]["cold_s"] / res["mimekit"]["cold_s"]
            result[workload] = res
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
    lines = ["", "## IMAP FETCH throughput (client: imaplib)", ""]
    if "skipped" in result:
        return [*lines, f"Skipped: {result['skipped']}"]
    n = result["messages"]
    lines += [f"{n} messages, one `FETCH 1:*` per run after EXAMINE; *cold* is each "
              "server's first session, *best* the best later run.", "",
              "| workload | server | cold s | best s | msg/s | MB/s |",
              "|---|---|---:|---:|---:|---:|"]
    for workload in WORKLOADS:
        res = result.get(workload)
        if res is None:
            continue
        mb = res.get("octets", 0) / 1e6
        for name in ("mimekit", "dovecot"):
            best = res[name]["best_s"]
            lines.append(f"| {res['items']} | {name} | {res[name]['cold_s']:.3f} | "
                         f"{best:.3f} | {n / best:.0f} | {mb / best:.1f} |")
    lines.append("")
    for workload in WORKLOADS:
        res = result.get(workload)
        if res is None:
            continue
        status = "PASS" if res["ratio"] >= 0.5 else "MISS"
        check = (f"identical BODY[] octets: {res['identical_bytes']}" if workload == "body"
                 else f"ENVELOPE+BODYSTRUCTURE identical after parsing: "
                      f"{res['identical']}/{res['compared']}")
        lines.append(f"- {res['items']}: mimekit vs Dovecot {res['ratio']:.2f}x warm, "
                     f"{res['cold_ratio']:.2f}x cold ({status}, target >= 0.5x); {check}")
    lines += ["", "(Dovecot's time / mimekit's: above 1 means mimekit is faster.)"]
    return lines
