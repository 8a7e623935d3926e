"""Run a mimekit SMTPServer in a background thread for sync clients to use."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from mimekit.smtp import Reply
from mimekit.smtp._handler import Envelope, Handler, Session
from mimekit.smtp._server import ServerConfig, SMTPServer


@dataclass
class Received:
    session: Session
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    mail_params: dict[str, str | None]


@dataclass
class RecordingHandler(Handler):
    """Keeps every accepted message; users alice/secret and bob/secret."""

    messages: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    auths: list[tuple[str, str]] = field(default_factory=list)

    async def on_auth(self, session: Session, mechanism: str, username: str,
                      password: str) -> bool:
        self.auths.append((mechanism, username))
        return username in ("alice", "bob") and password == "secret"

    async def on_rcpt(self, session: Session, envelope: Envelope, recipient: str,
                      params: dict[str, str | None]) -> Reply | None:
        if recipient in self.refuse:
            return Reply(code=550, lines=("no such user",), enhanced=(5, 1, 1))
        return None

    async def on_message(self, session: Session, envelope: Envelope) -> Reply | None:
        self.messages.append(Received(session, envelope.mail_from, list(envelope.rcpt_tos),
                                      bytes(envelope.content), dict(envelope.mail_params)))
        return None


@contextmanager
def running_server(handler: Handler, config: ServerConfig | None = None,
                   host: str = "127.0.0.1", port: int = 0) -> Iterator[SMTPServer]:
    """Start the server in a thread (port 0: a free one); stop it afterwards."""
    loop = asyncio.new_event_loop()
    server = SMTPServer(handler, config)
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start(host, port))
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.close(grace=5), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
