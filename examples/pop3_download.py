"""Download new mail over POP3 into a local Maildir, remembering what was seen.

Usage::

    python examples/pop3_download.py                      # demo: a local server
    python examples/pop3_download.py --host pop.example.com --tls implicit \\
        --user alice --dest ~/Mail/pop [--delete]

Each run asks the server for its unique ids (UIDL) and downloads only the
messages it has not seen before, straight into the local Maildir in bounded
memory (``retrieve_to``): a message of any size never sits in memory whole.
The ids already downloaded are kept per server and user in
``DEST/.pop3-seen.json``, and forgotten once the server no longer has the
message. With ``--delete`` the downloaded messages are deleted on the server
(POP3 deletes only when the session ends with QUIT: if the connection drops
halfway, nothing is lost and the next run downloads the rest).

Without ``--host`` the script starts mimekit's own POP3 server on 127.0.0.1
over a temporary Maildir with two messages, downloads them, shows that a
second run finds nothing new, delivers a third message, downloads it, and
cleans up. With ``--user``, the password is read from ``POP3_PASSWORD`` or
asked for.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mimekit
from mimekit.mailstore import Maildir
from mimekit.pop3 import MaildirHandler, POP3Client, POP3Server, ServerConfig

STATE = ".pop3-seen.json"


def download(client: POP3Client, dest: Maildir, account: str, *,
             delete: bool = False) -> list[str]:
    """Fetch the messages not seen before into ``dest``; return their keys."""
    state_path = dest.path / STATE
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    seen = set(state.get(account, []))
    on_server = client.uidl()
    keys = []
    deleted = set()
    for n, uid in on_server:
        if uid in seen:
            continue
        with tempfile.SpooledTemporaryFile(max_size=1 << 20) as tmp:
            client.retrieve_to(n, tmp)  # streamed: bounded memory
            tmp.seek(0)
            keys.append(dest.add(tmp))  # atomic: tmp/, fsync, rename into new/
        seen.add(uid)
        if delete:
            client.delete(n)
            deleted.add(uid)
    # Remember only ids the server still has (deleted ones will not come back).
    state[account] = sorted((seen & {uid for _, uid in on_server}) - deleted)
    tmp_state = state_path.with_suffix(".tmp")
    tmp_state.write_text(json.dumps(state, indent=1))
    os.replace(tmp_state, state_path)
    return keys


def run(host: str, port: int | None, tls: str | None, user: str, password: str,
        dest: Maildir, *, delete: bool = False) -> list[str]:
    # Certificates and host names are verified (the default TLS context);
    # USER/PASS and AUTH PLAIN are refused without TLS except on loopback.
    with POP3Client(host, port, tls=tls, timeout=30) as client:
        client.login(user, password)
        count, octets = client.stat()
        print(f"{user}@{host}: {count} messages on the server ({octets} octets)")
        return download(client, dest, f"{user}@{host}:{client.port}", delete=delete)


@contextmanager
def demo_server(root: Path, users: dict[str, str]) -> Iterator[int]:
    """mimekit's POP3 server over ``root/<user>/`` Maildirs, in a thread."""
    loop = asyncio.new_event_loop()
    server = POP3Server(MaildirHandler(root, lambda u, p: users.get(u) == p),
                        ServerConfig(hostname="pop.example.test"))
    loop.run_until_complete(server.start("127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield server.port
    finally:
        asyncio.run_coroutine_threadsafe(server.close(grace=5), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def show(dest: Maildir, keys: list[str]) -> None:
    for key in keys:
        with dest.get_message(key) as msg:
            print(f"  new: {msg.subject!r} from {msg.from_} ({dest.get_size(key)} bytes)")
    if not keys:
        print("  nothing new")


def demo() -> None:
    with tempfile.TemporaryDirectory(prefix="pop3-demo-") as tmp:
        server_mail = Path(tmp) / "server"
        inbox = Maildir(server_mail / "alice", create=True)
        for n, subject in enumerate(["Welcome", "Your invoice"], 1):
            inbox.add(mimekit.compose(
                from_="Bob <bob@example.test>", to=["alice@example.test"], subject=subject,
                text=f"Message {n}.\n.A line starting with a dot survives POP3.\n"))
        dest = Maildir(Path(tmp) / "local", create=True)
        with demo_server(server_mail, {"alice": "demo-password"}) as port:
            for label in ("first run", "second run"):
                print(f"-- {label}")
                show(dest, run("127.0.0.1", port, None, "alice", "demo-password", dest))
            inbox.add(mimekit.compose(from_="carol@example.test", to=["alice@example.test"],
                                      subject="Late news", text="Arrived later.\n"))
            print("-- after new mail arrived, with --delete")
            show(dest, run("127.0.0.1", port, None, "alice", "demo-password", dest,
                           delete=True))
        print(f"local Maildir holds {len(dest)} messages; the server has {len(inbox)} left")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", help="POP3 server (default: run a local demo server)")
    ap.add_argument("--port", type=int)
    ap.add_argument("--tls", choices=["starttls", "implicit"])
    ap.add_argument("--user")
    ap.add_argument("--dest", type=Path, default=Path("pop3-mail"),
                    help="local Maildir (created if missing; default ./pop3-mail)")
    ap.add_argument("--delete", action="store_true", help="delete downloaded mail on the server")
    args = ap.parse_args()
    if args.host is None:
        demo()
        return
    if not args.user:
        ap.error("--user is needed with --host")
    password = os.environ.get("POP3_PASSWORD") or getpass.getpass("POP3 password: ")
    dest = Maildir(args.dest.expanduser(), create=True)
    show(dest, run(args.host, args.port, args.tls, args.user, password, dest,
                   delete=args.delete))


if __name__ == "__main__":
    main()
