"""An in-process ``mimekit serve`` (SMTP, POP3 and IMAP on free ports) in a
background event loop, for tests that talk to it over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mimekit.serve import MailSystem, ServeOptions

PASSWORD = "s3cret-Pass"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    directory: Path
    smtp: int
    pop3: int
    imap: int

    @property
    def maildir(self) -> Path:
        return self.directory / "mail" / "alice"


@contextlib.contextmanager
def running_mail_system() -> Iterator[Running]:
    """User ``alice`` (password :data:`PASSWORD`), domain example.test,
    plaintext AUTH allowed on loopback."""
    d = Path(tempfile.mkdtemp(prefix="mimekit-serve-"))
    run = Running(d, _free_port(), _free_port(), _free_port())
    system = MailSystem(ServeOptions(directory=d, domains=["example.test"], smtp_port=run.smtp,
                                     submission_port=0, pop3_port=run.pop3,
                                     imap_port=run.imap, allow_plaintext_auth_on_loopback=True),
                        out=io.StringIO())
    system.users.set_password("alice", PASSWORD)
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def main() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(system.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    assert started.wait(30)
    try:
        yield run
    finally:
        asyncio.run_coroutine_threadsafe(system.stop(grace=5), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()
        shutil.rmtree(d, ignore_errors=True)
