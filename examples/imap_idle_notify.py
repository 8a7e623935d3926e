"""Print a line for each new message in a mailbox, as it arrives (IMAP IDLE).

Usage::

    python examples/imap_idle_notify.py                # demo: a private Dovecot
    python examples/imap_idle_notify.py --host imap.example.com --user alice \\
        [--mailbox INBOX] [--tls implicit|starttls|none] [--cafile ca.pem]

The watcher opens the mailbox read-only (``EXAMINE``), remembers the highest
UID it has reported, and waits in IDLE (RFC 2177) until the server reports
new messages (``EXISTS``). Then it asks for the UIDs above the last one
(``UID SEARCH UID n:*``), fetches their ``ENVELOPE`` and prints sender and
subject, and goes back to IDLE. The client re-issues IDLE every 29 minutes
on its own, as RFC 2177 asks.

A dropped connection ends the IDLE iterator with ``IMAPDisconnected`` (a
server BYE too, and a silent peer once TCP keepalive gives up); the watcher
then reconnects with a growing pause and carries on from the last UID, so
no message is reported twice or missed (unless the mailbox's UIDVALIDITY
changed, when it starts over from the mailbox's current end).

Without ``--host`` the script starts a private Dovecot from
``../shared/peers`` (when installed), watches alice's INBOX while a helper
delivers three messages with Dovecot's own LDA, has Dovecot drop the
connection once in between (``doveadm kick``) to show the reconnection, and
stops after the third message. Without Dovecot it does the same with a
throw-away ``mimekit serve``: the messages arrive over its SMTP port (each
delivery wakes the IDLE at once), and the server is restarted in between.
The password is read from ``IMAP_PASSWORD`` or asked for.
"""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from mimekit.imap import ExistsResponse, IMAPClient, IMAPDisconnected, IMAPTimeoutError


def report_new(client: IMAPClient, last_uid: int, notify: Callable[[int, str, str], None]) -> int:
    """Report the messages above ``last_uid``; returns the new last UID."""
    # "n:*" always matches the highest UID, even when it is below n.
    new = [uid for uid in client.search(uid=f"{last_uid + 1}:*") if uid > last_uid]
    if not new:
        return last_uid
    for uid, item in sorted(client.fetch(new, ["ENVELOPE"]).items()):
        envelope = item.envelope
        sender = str(envelope.from_[0]) if envelope and envelope.from_ else "(no sender)"
        subject = (envelope.subject if envelope else None) or "(no subject)"
        notify(uid, sender, subject)
    return max(new)


def watch(connect: Callable[[], IMAPClient], mailbox: str,
          notify: Callable[[int, str, str], None], *, until: Callable[[], bool] = lambda: False,
          max_pause: float = 60.0) -> None:
    """Watch ``mailbox`` until ``until()`` says stop, reconnecting as needed.

    Args:
        connect: Makes a logged-in client.
        mailbox: The mailbox to watch.
        notify: Called with ``(uid, sender, subject)`` for each new message.
        until: Checked between events; True ends the watch.
        max_pause: The longest pause between reconnection attempts.
    """
    last_uid: int | None = None
    uidvalidity: int | None = None
    pause = 1.0
    while not until():
        try:
            with connect() as client:
                info = client.examine(mailbox)
                if last_uid is None or info.uidvalidity != uidvalidity:
                    # First time, or the mailbox was rebuilt: start at its end.
                    last_uid = (info.uidnext or 1) - 1
                    uidvalidity = info.uidvalidity
                pause = 1.0
                last_uid = report_new(client, last_uid, notify)
                while not until():
                    # Short IDLE rounds so that until() is checked regularly.
                    for event in client.idle(timeout=5):
                        if isinstance(event, ExistsResponse):
                            break
                    last_uid = report_new(client, last_uid, notify)
        except (IMAPDisconnected, IMAPTimeoutError, OSError) as exc:
            if until():
                return
            print(f"  connection lost ({exc}); reconnecting in {pause:.0f} s")
            time.sleep(pause)
            pause = min(pause * 2, max_pause)


def client_factory(host: str, port: int | None, tls: str | None, user: str, password: str,
                   cafile: str | None = None) -> Callable[[], IMAPClient]:
    # Certificates and host names are verified (a default context, or one
    # trusting --cafile); LOGIN is refused without TLS except on loopback.
    context = ssl.create_default_context(cafile=cafile) if cafile else None

    def connect() -> IMAPClient:
        client = IMAPClient(host, port, tls=tls, ssl_context=context, timeout=60)
        client.connect()
        try:
            client.login(user, password)
        except BaseException:
            client.close()
            raise
        return client

    return connect


def show(uid: int, sender: str, subject: str) -> None:
    print(f"new message {uid}: {sender}: {subject}", flush=True)


# -- the demo ------------------------------------------------------------------------------


def peers_dir() -> Path | None:
    """shared/peers (MIMEKIT_PEERS, or next to the repository), if Dovecot
    is installed."""
    path = Path(os.environ.get("MIMEKIT_PEERS",
                               Path(__file__).resolve().parents[2] / "shared" / "peers"))
    if not (path / "dovecot-up").exists():
        return None
    if shutil.which("dovecot") is None and not Path("/usr/sbin/dovecot").exists():
        return None
    return path


@contextmanager
def private_dovecot(peers: Path, base: int) -> Iterator[tuple[str, dict[str, str]]]:
    """A throw-away Dovecot on 127.0.0.1 (users alice and bob, password secret)."""
    workdir = tempfile.mkdtemp(prefix="mimekit-example-dovecot-", dir="/tmp")
    try:
        for attempt in range(5):
            up = subprocess.run([str(peers / "dovecot-up"), workdir, str(base + 100 * attempt)],
                                capture_output=True, text=True)
            if up.returncode == 0 or "in use" not in up.stderr:
                break
        if up.returncode:
            raise RuntimeError(f"dovecot-up failed: {up.stderr.strip()}")
        info = dict(line.split("=", 1) for line in up.stdout.splitlines() if "=" in line)
        yield workdir, info
    finally:
        subprocess.run([str(peers / "dovecot-down"), workdir, "--purge"], capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


def demo_dovecot(peers: Path) -> int:
    with private_dovecot(peers, 13700) as (workdir, info):
        seen: list[str] = []
        done = threading.Event()

        def notify(uid: int, sender: str, subject: str) -> None:
            show(uid, sender, subject)
            seen.append(subject)
            if len(seen) == 3:
                done.set()

        def deliver(subject: str) -> None:
            raw = f"From: Bob <bob@example.test>\r\nSubject: {subject}\r\n\r\nhi\r\n".encode()
            subprocess.run([str(peers / "dovecot-deliver"), workdir, "alice"], input=raw,
                           check=True)

        def mail_arrives() -> None:
            time.sleep(0.5)
            deliver("lunch?")
            time.sleep(0.5)
            deliver("the report")
            time.sleep(0.5)
            # Kicking alice drops the connection (Dovecot says BYE): the
            # watcher must reconnect and still see what arrives meanwhile.
            if shutil.which("doveadm"):
                subprocess.run(["doveadm", "-c", f"{workdir}/dovecot.conf", "kick", "alice"],
                               capture_output=True)
            deliver("after the drop")

        sender = threading.Thread(target=mail_arrives)
        sender.start()
        connect = client_factory("127.0.0.1", int(info["IMAP_PORT"]), None, "alice", "secret")
        print(f"watching alice's INBOX on a private Dovecot (port {info['IMAP_PORT']})")
        stop_at = time.monotonic() + 60
        watch(connect, "INBOX", notify, max_pause=1.0,
              until=lambda: done.is_set() or time.monotonic() > stop_at)
        sender.join()
        if seen != ["lunch?", "the report", "after the drop"]:
            print(f"unexpected: {seen}")
            return 1
    return 0


class MimekitServe:
    """A throw-away ``mimekit serve`` (user alice, password secret) with SMTP
    and IMAP on free ports of 127.0.0.1, which can be restarted."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        subprocess.run([sys.executable, "-m", "mimekit", "user", "add", "alice",
                        "--password", "secret", "--dir", directory], check=True,
                       capture_output=True)
        self.smtp, self.imap = _free_port(), _free_port()
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mimekit", "serve", "--dir", self.directory, "--domain",
             "example.test", "--smtp-port", str(self.smtp), "--submission-port", "0",
             "--pop3-port", "0", "--imap-port", str(self.imap)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        for _ in range(2):  # "smtp listening on ...", "imap listening on ..."
            if "listening on" not in self.proc.stdout.readline():
                raise RuntimeError("mimekit serve did not start")

    def stop(self) -> None:
        # SIGTERM: mimekit serve says BYE to the watcher in IDLE and exits.
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None

    def deliver(self, subject: str) -> None:
        raw = f"From: Bob <bob@example.test>\r\nSubject: {subject}\r\n\r\nhi\r\n".encode()
        with smtplib.SMTP("127.0.0.1", self.smtp) as s:
            s.sendmail("bob@example.test", ["alice@example.test"], raw)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def demo_serve() -> int:
    with tempfile.TemporaryDirectory(prefix="mimekit-example-serve-") as directory:
        server = MimekitServe(directory)
        server.start()
        try:
            seen: list[str] = []
            done = threading.Event()

            def notify(uid: int, sender: str, subject: str) -> None:
                show(uid, sender, subject)
                seen.append(subject)
                if len(seen) == 3:
                    done.set()

            def mail_arrives() -> None:
                time.sleep(0.5)
                server.deliver("lunch?")
                time.sleep(0.5)
                server.deliver("the report")
                time.sleep(0.5)
                # A restart drops the connection (the server says BYE): the
                # watcher must reconnect and still see what arrives meanwhile.
                server.stop()
                server.start()
                server.deliver("after the drop")

            sender = threading.Thread(target=mail_arrives)
            sender.start()
            connect = client_factory("127.0.0.1", server.imap, None, "alice", "secret")
            print(f"watching alice's INBOX on a private mimekit serve (port {server.imap})")
            stop_at = time.monotonic() + 60
            watch(connect, "INBOX", notify, max_pause=1.0,
                  until=lambda: done.is_set() or time.monotonic() > stop_at)
            sender.join()
        finally:
            server.stop()
        if seen != ["lunch?", "the report", "after the drop"]:
            print(f"unexpected: {seen}")
            return 1
    return 0


def demo() -> int:
    peers = peers_dir()
    return demo_dovecot(peers) if peers is not None else demo_serve()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="implicit")
    parser.add_argument("--cafile", help="trust this CA (a self-signed server)")
    parser.add_argument("--user", default=getpass.getuser())
    parser.add_argument("--mailbox", default="INBOX")
    args = parser.parse_args(argv)
    if args.host is None:
        return demo()
    password = os.environ.get("IMAP_PASSWORD") or getpass.getpass(f"{args.user}'s password: ")
    connect = client_factory(args.host, args.port, None if args.tls == "none" else args.tls,
                             args.user, password, args.cafile)
    with suppress(KeyboardInterrupt):
        watch(connect, args.mailbox, show)
    return 0


if __name__ == "__main__":
    sys.exit(main())
