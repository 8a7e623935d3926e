"""SMTP server throughput: ``mimekit serve`` against aiosmtpd and Postfix.

One client (the stdlib's smtplib, a few connections in threads) sends the
same small messages to each server, on loopback, in one run; the figure is
messages per second until the last 250. The servers do different amounts of
work for that 250, and the table says so:

* ``mimekit serve``: delivery into a Maildir, fsync of the file and the
  directory, *before* the 250;
* the aiosmtpd sink (``../shared/peers``): a Maildir write *without* fsync;
* Postfix: its queue file fsynced before the 250, delivery afterwards.

Run: ``python -m benchmarks.servers.smtp [--messages 1000] [--clients 4]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PEERS = Path(os.environ.get("MIMEKIT_PEERS", ROOT.parent / "shared" / "peers"))
BASE = 26000  # our ports: mimekit BASE+25, sink BASE+1025, Postfix BASE+2025

MESSAGE = (b"From: bench@far.test\r\nTo: alice@example.test\r\nSubject: benchmark\r\n"
           b"Message-ID: <%d@far.test>\r\n\r\n"
           + b"A line of body text for the benchmark.\r\n" * 20)


def _wait(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open")


@contextmanager
def mimekit_server() -> Iterator[int]:
    directory = tempfile.mkdtemp(prefix="bench-mimekit-")
    subprocess.run([sys.executable, "-m", "mimekit", "user", "add", "alice", "--password", "x",
                    "--dir", directory], check=True, capture_output=True)
    port = BASE + 25
    proc = subprocess.Popen([sys.executable, "-m", "mimekit", "serve", "--dir", directory,
                             "--domain", "example.test", "--smtp-port", str(port),
                             "--submission-port", "0", "--pop3-port", "0", "--imap-port", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(port)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def peer(kind: str) -> Iterator[int]:
    workdir = tempfile.mkdtemp(prefix=f"bench-{kind}-")
    base = BASE + (1000 if kind == "smtp-sink" else 2000)
    subprocess.run([str(PEERS / f"{kind}-up"), workdir, str(base)], check=True,
                   capture_output=True)
    try:
        port = base + 25
        _wait(port)
        yield port
    finally:
        subprocess.run([str(PEERS / f"{kind}-down"), workdir, "--purge"], check=False,
                       capture_output=True)


def send_all(port: int, messages: int, clients: int) -> float:
    """Send ``messages`` over ``clients`` connections; return the seconds taken."""
    per_client = [messages // clients + (1 if i < messages % clients else 0)
                  for i in range(clients)]
    errors: list[BaseException] = []

    def worker(count: int, offset: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as c:
                for i in range(count):
                    c.sendmail("bench@far.test", ["alice@example.test"], MESSAGE % (offset + i))
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n, sum(per_client[:i])))
               for i, n in enumerate(per_client)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return elapsed


def run(messages: int = 1000, clients: int = 4, rounds: int = 3,
        log: Callable[[str], None] = lambda s: None) -> dict[str, dict[str, float | str]]:
    """Messages per second for each server that is available.

    All servers run at once and are driven in turn, ``rounds`` times; each
    figure is the best round, so that noise from the rest of the machine hits
    every server alike (absolute numbers on a shared machine mean little).
    """
    servers: list[tuple[str, Callable[[], Any], str]] = [
        ("mimekit", mimekit_server, "Maildir + fsync before 250")]
    if (PEERS / "smtp-sink-up").exists():
        servers.append(("aiosmtpd", lambda: peer("smtp-sink"), "Maildir, no fsync"))
    if (PEERS / "postfix-up").exists() and shutil.which("postfix") and os.geteuid() == 0:
        servers.append(("postfix", lambda: peer("postfix"), "queue file fsync, then delivery"))
    best: dict[str, float] = {}
    with contextlib.ExitStack() as stack:
        ports = {name: stack.enter_context(start()) for name, start, _ in servers}
        for port in ports.values():
            send_all(port, min(50, messages), clients)  # warm up
        for r in range(rounds):
            for name, port in ports.items():
                log(f"smtp: round {r + 1}, {name} ...")
                seconds = send_all(port, messages, clients)
                best[name] = min(best.get(name, seconds), seconds)
    return {name: {"msgs_per_s": messages / best[name], "seconds": best[name], "note": note}
            for name, _, note in servers}


def render(results: dict[str, dict[str, float | str]], messages: int, clients: int) -> str:
    lines = [f"SMTP: {messages} small messages, {clients} smtplib connections, loopback, "
             "best of the rounds",
             "", "| server | msgs/s | seconds | mimekit vs it | does before 250 |",
             "|---|---:|---:|---:|---|"]
    ours = results.get("mimekit", {}).get("msgs_per_s")
    for name, r in results.items():
        ratio = ""
        if isinstance(ours, float) and name != "mimekit":
            ratio = f"{ours / float(r['msgs_per_s']):.2f}x"
        lines.append(f"| {name} | {float(r['msgs_per_s']):.0f} | {float(r['seconds']):.2f} "
                     f"| {ratio} | {r['note']} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    results = run(args.messages, args.clients, args.rounds,
                  log=lambda s: print(s, file=sys.stderr))
    print(render(results, args.messages, args.clients))


if __name__ == "__main__":
    main()
