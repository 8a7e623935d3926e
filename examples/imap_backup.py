"""Back up every folder of an IMAP account into a local Maildir, incrementally.

Usage::

    python examples/imap_backup.py                     # demo: a private Dovecot
    python examples/imap_backup.py --host imap.example.com --user alice \\
        --dest ~/Mail/backup [--tls implicit|starttls|none] [--cafile ca.pem]

Each run lists the folders (``LIST``), opens each read-only (``EXAMINE``,
so nothing is marked \\Seen) and downloads only the messages whose UID is
above the last one saved, in batches of ``UID FETCH (BODY.PEEK[] FLAGS
INTERNALDATE)``. The bytes are stored exactly as the server has them, with
the flags as Maildir info letters and INTERNALDATE as the file time. The
state (UIDVALIDITY and the last UID per folder) is kept in
``DEST/.imap-backup.json`` and written after each batch, so an interrupted
run resumes where it stopped.

UIDs are only meaningful with their UIDVALIDITY (RFC 3501 section 2.3.1.1):
when a folder's UIDVALIDITY changes (the server rebuilt it), the local copy
of that folder is emptied and downloaded again.

IMAP folder ``Lists/python`` becomes the Maildir++ folder ``.Lists.python``
(a ``.`` inside a level is written ``_``); INBOX is the Maildir itself.

Without ``--host`` the script starts a private Dovecot from
``../shared/peers`` (when installed), or else a throw-away ``mimekit serve``
(mail delivered over its SMTP port, read over its IMAP port), with a few
messages in two folders, backs them up, shows that a second run finds
nothing new, delivers one more message, backs that up, and cleans up. The
password is read from ``IMAP_PASSWORD`` or asked for.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mimekit.imap import IMAPClient
from mimekit.mailstore import Maildir

STATE = ".imap-backup.json"
BATCH = 50
#: IMAP system flags as Maildir info letters.
FLAG_LETTERS = {"\\Seen": "S", "\\Answered": "R", "\\Flagged": "F", "\\Deleted": "T",
                "\\Draft": "D"}


def local_folder(root: Maildir, name: str, delimiter: str | None) -> Maildir:
    """The Maildir (or Maildir++ folder) that holds IMAP folder ``name``."""
    if name.upper() == "INBOX":
        return root
    levels = name.split(delimiter) if delimiter else [name]
    return root.folder(".".join(level.replace(".", "_") or "_" for level in levels),
                       create=True)


def save_state(path: Path, state: dict[str, object]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    os.replace(tmp, path)  # atomic: a crash leaves the old state or the new one


def backup(client: IMAPClient, dest: Maildir, account: str) -> dict[str, int]:
    """Download what is new in every folder; returns ``{folder: new messages}``."""
    state_path = dest.path / STATE
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    folders: dict[str, dict[str, int]] = state.setdefault(account, {})
    report = {}
    for box in client.list_mailboxes():
        if not box.selectable:
            continue
        info = client.examine(box.name)
        local = local_folder(dest, box.name, box.delimiter)
        saved = folders.get(box.name, {})
        if saved.get("uidvalidity") != info.uidvalidity:
            if saved:
                print(f"  {box.name}: UIDVALIDITY changed, downloading it again")
                for key in list(local):
                    local.remove(key)
            saved = {"uidvalidity": info.uidvalidity or 0, "last_uid": 0}
        last = saved["last_uid"]
        # "n:*" always matches the highest UID, even when it is below n.
        new = [uid for uid in client.search(uid=f"{last + 1}:*") if uid > last] \
            if info.exists else []
        for start in range(0, len(new), BATCH):
            batch = new[start:start + BATCH]
            fetched = client.fetch(batch, ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"])
            for uid in batch:
                item = fetched.get(uid)
                if item is None:
                    continue  # expunged meanwhile
                raw = item["BODY[]"]
                assert isinstance(raw, bytes)
                letters = "".join(sorted(FLAG_LETTERS[f] for f in item.flags
                                         if f in FLAG_LETTERS))
                local.add(raw, letters, date=item.internaldate)
            saved["last_uid"] = max(batch)
            folders[box.name] = saved
            save_state(state_path, state)
        folders[box.name] = saved
        report[box.name] = len(new)
    save_state(state_path, state)
    return report


def run(host: str, port: int | None, tls: str | None, user: str, password: str,
        dest: Maildir, cafile: str | None = None) -> dict[str, int]:
    # Certificates and host names are verified (a default context, or one
    # trusting --cafile); LOGIN is refused without TLS except on loopback.
    context = ssl.create_default_context(cafile=cafile) if cafile else None
    with IMAPClient(host, port, tls=tls, ssl_context=context, timeout=60) as client:
        client.login(user, password)
        report = backup(client, dest, f"{user}@{host}")
    total = sum(report.values())
    where = ", ".join(f"{name}: {n}" for name, n in sorted(report.items()) if n)
    print(f"{user}@{host}: {total} new message(s)" + (f" ({where})" if where else ""))
    return report


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def private_mimekit_serve() -> Iterator[tuple[int, int]]:
    """A throw-away ``mimekit serve`` (user alice, password secret) with
    SMTP and IMAP on free ports of 127.0.0.1; yields ``(smtp, imap)``."""
    with tempfile.TemporaryDirectory(prefix="mimekit-example-serve-") as directory:
        subprocess.run([sys.executable, "-m", "mimekit", "user", "add", "alice",
                        "--password", "secret", "--dir", directory], check=True,
                       capture_output=True)
        smtp, imap = _free_port(), _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "mimekit", "serve", "--dir", directory, "--domain",
             "example.test", "--smtp-port", str(smtp), "--submission-port", "0",
             "--pop3-port", "0", "--imap-port", str(imap)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert proc.stdout is not None
            for _ in range(2):  # "smtp listening on ...", "imap listening on ..."
                if "listening on" not in proc.stdout.readline():
                    raise RuntimeError("mimekit serve did not start")
            yield smtp, imap
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            if proc.stdout is not None:
                proc.stdout.close()


def demo_on(server: str, port: int, deliver: Callable[[str], None]) -> None:
    """The demo against an IMAP server with alice/secret on 127.0.0.1:port."""
    with tempfile.TemporaryDirectory() as tmp:
        with IMAPClient("127.0.0.1", port) as c:
            c.login("alice", "secret")
            c.create("Lists/python")
            c.append("Lists/python", b"Subject: list mail\r\n\r\nhello list\r\n",
                     flags=["\\Seen"])
        deliver("first")
        deliver("second")
        dest = Maildir(Path(tmp) / "backup", create=True)
        print(f"backing up alice on {server} (port {port}) into {dest.path}")
        first = run("127.0.0.1", port, None, "alice", "secret", dest)
        assert first["INBOX"] == 2 and first["Lists/python"] == 1, first
        again = run("127.0.0.1", port, None, "alice", "secret", dest)
        assert sum(again.values()) == 0, again
        deliver("third")
        third = run("127.0.0.1", port, None, "alice", "secret", dest)
        assert third == {**{k: 0 for k in third}, "INBOX": 1}, third
        folder = dest.folder("Lists.python")
        (key,) = list(folder)
        assert folder.get_flags(key) == "S"
        print(f"local copy: INBOX {len(dest)} messages, folders {dest.list_folders()}")


def _mail(subject: str) -> bytes:
    return (f"From: bob@example.test\r\nTo: alice@example.test\r\n"
            f"Subject: {subject}\r\n\r\n{subject}\r\n").encode()


def demo() -> int:
    peers = peers_dir()
    if peers is None:
        # No Dovecot: our own server, mail delivered to it over SMTP.
        with private_mimekit_serve() as (smtp, imap):
            def deliver(subject: str) -> None:
                with smtplib.SMTP("127.0.0.1", smtp) as s:
                    s.sendmail("bob@example.test", ["alice@example.test"], _mail(subject))

            demo_on("a private mimekit serve", imap, deliver)
        return 0
    with private_dovecot(peers, 13600) as (workdir, info):
        def deliver_lda(subject: str) -> None:
            subprocess.run([str(peers / "dovecot-deliver"), workdir, "alice"],
                           input=_mail(subject), check=True)

        demo_on("a private Dovecot", int(info["IMAP_PORT"]), deliver_lda)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="implicit")
    parser.add_argument("--cafile", help="trust this CA (a self-signed server)")
    parser.add_argument("--user", default=getpass.getuser())
    parser.add_argument("--dest", default="imap-backup")
    args = parser.parse_args(argv)
    if args.host is None:
        return demo()
    password = os.environ.get("IMAP_PASSWORD") or getpass.getpass(f"{args.user}'s password: ")
    dest = Maildir(Path(args.dest).expanduser(), create=True)
    run(args.host, args.port, None if args.tls == "none" else args.tls, args.user, password,
        dest, args.cafile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
