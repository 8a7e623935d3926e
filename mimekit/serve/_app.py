"""``mimekit serve``: start every listener of the local mail system and run
until SIGINT or SIGTERM.

Layout of the mail system directory (``--dir``, default ``./mimekit-mail``)::

    DIR/users          user names and password hashes (mimekit user add)
    DIR/mail/<user>/   each user's Maildir++ (INBOX, and .Sent etc.)
    DIR/queue/         the outgoing queue
    DIR/tls/           the self-signed certificate, made on first start

Shutting down closes the listeners at once, lets every session finish what
it is doing (a delivery in progress completes, so nothing acknowledged is
lost), and lets the queue runner finish its current attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from ..imap import IMAPServer, IMAPServerConfig, MailboxHub
from ..imap import MaildirHandler as IMAPMaildirHandler
from ..mailstore import Maildir
from ..pop3 import MaildirHandler, POP3Server
from ..pop3 import ServerConfig as POP3Config
from ..smtp import ServerConfig, SMTPServer
from ._delivery import LocalDelivery
from ._handlers import MailSystemHandler
from ._queue import Queue
from ._runner import QueueRunner, Relay
from ._tls import ensure_self_signed, server_context
from ._users import UserDB

__all__ = ["MailSystem", "ServeOptions", "serve"]

log = logging.getLogger("mimekit.serve")


@dataclass(slots=True)
class ServeOptions:
    """Everything ``mimekit serve`` can be told; each has a default."""

    directory: Path = Path("mimekit-mail")
    host: str = "127.0.0.1"
    domains: list[str] = field(default_factory=lambda: ["localhost"])
    hostname: str | None = None
    smtp_port: int = 2525
    submission_port: int = 2587
    pop3_port: int = 2110
    imap_port: int = 2143
    tls_cert: Path | None = None
    tls_key: Path | None = None
    relay_host: str | None = None
    relay_tls: str | None = None
    relay_ca: Path | None = None
    max_size: int = 25 * 1024 * 1024
    retry_base: float = 60.0
    retry_max: float = 3600.0
    queue_lifetime: float = 5 * 86400.0
    allow_plaintext_auth_on_loopback: bool = False
    delivery_threads: int = 0
    #: POP3 USER/PASS and AUTH without TLS: "never", "loopback" or "always".
    pop3_plaintext_auth: str = "loopback"
    #: IMAP LOGIN and AUTHENTICATE without TLS: "never", "loopback" or "always".
    imap_plaintext_auth: str = "loopback"

    @property
    def name(self) -> str:
        return self.hostname or self.domains[0]


def _parse_hostport(text: str, default_port: int) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, default_port
    if not port.isdigit():
        raise ValueError(f"bad port in {text!r}")
    return host.strip("[]"), int(port)


class MailSystem:
    """The running mail system (used by :func:`serve` and by tests)."""

    def __init__(self, options: ServeOptions, out: TextIO | None = None) -> None:
        self.options = options
        self.out = out or sys.stdout
        d = options.directory
        self.users = UserDB(d / "users")
        #: The IMAP server's folders in this process; every local delivery
        #: tells it, so an IMAP client in IDLE hears of new mail at once.
        self.hub = MailboxHub()
        self.delivery = LocalDelivery(d / "mail", delivered=self.hub.notify)
        self.queue = Queue(d / "queue", retry_base=options.retry_base,
                           retry_max=options.retry_max, lifetime=options.queue_lifetime)
        self.servers: dict[str, SMTPServer | POP3Server | IMAPServer] = {}
        self.runner: QueueRunner | None = None
        self._runner_task: asyncio.Task[None] | None = None

    def _ssl_context(self) -> ssl.SSLContext:
        o = self.options
        if o.tls_cert and o.tls_key:
            cert, key = o.tls_cert, o.tls_key
        elif o.tls_cert or o.tls_key:
            raise ValueError("--tls-cert and --tls-key go together")
        else:
            cert, key = ensure_self_signed(o.directory / "tls", o.name)
        return server_context(cert, key)

    def _relay(self) -> Relay | None:
        o = self.options
        if not o.relay_host:
            return None
        host, port = _parse_hostport(o.relay_host, 25)
        ctx = None
        if o.relay_tls:
            ctx = ssl.create_default_context(cafile=str(o.relay_ca) if o.relay_ca else None)
        return Relay(host, port, tls=o.relay_tls, ssl_context=ctx)

    def _clean_maildirs(self) -> int:
        """Remove what deliveries that crashed (a ``kill -9``) left in tmp/:
        files of our own dead processes at once, anyone's after 36 hours."""
        removed = 0
        root = self.options.directory / "mail"
        for user_dir in sorted(root.iterdir()) if root.is_dir() else []:
            if not (user_dir / "cur").is_dir():
                continue
            md = Maildir(user_dir)
            removed += md.clean(dead_writers=True)
            for folder in md.list_folders():
                removed += md.folder(folder).clean(dead_writers=True)
        return removed

    async def start(self) -> None:
        """Open every listener and start the queue runner."""
        o = self.options
        (o.directory / "mail").mkdir(parents=True, exist_ok=True)
        removed = self.queue.recover()
        if removed:
            log.warning("queue: removed %d half-written entries", len(removed))
        cleaned = self._clean_maildirs()
        if cleaned:
            log.warning("removed %d half-written deliveries left in tmp/", cleaned)
        ctx = self._ssl_context()
        relay = self._relay()
        domains = {d.lower() for d in o.domains}
        self.runner = QueueRunner(self.queue, relay, hostname=o.name, delivery=self.delivery,
                                  users=self.users, domains=domains)
        handler = MailSystemHandler(users=self.users, domains=domains, delivery=self.delivery,
                                    queue=self.queue, hostname=o.name,
                                    can_relay=relay is not None, queued=self.runner.wake,
                                    delivery_threads=o.delivery_threads)
        plaintext = "loopback" if o.allow_plaintext_auth_on_loopback else "never"
        listeners = (("smtp", o.smtp_port, False), ("submission", o.submission_port, True))
        for name, port, submission in listeners:
            if not port:
                continue
            config = ServerConfig(hostname=o.name, max_size=o.max_size, ssl_context=ctx,
                                  auth_required=submission, auth_over_plaintext=plaintext)
            server = SMTPServer(handler, config)
            await server.start(o.host, port)
            self.servers[name] = server
            print(f"{name} listening on {o.host}:{server.port}", file=self.out, flush=True)
        if o.pop3_port:
            # The users file of SMTP; each user's Maildir is DIR/mail/<user>/.
            pop3 = POP3Server(MaildirHandler(self.delivery.root, self.users.verify),
                              POP3Config(hostname=o.name, ssl_context=ctx,
                                         auth_over_plaintext=o.pop3_plaintext_auth))
            await pop3.start(o.host, o.pop3_port)
            self.servers["pop3"] = pop3
            print(f"pop3 listening on {o.host}:{pop3.port}", file=self.out, flush=True)
        if o.imap_port:
            # The same users and Maildirs; one hub shared with the delivery.
            imap = IMAPServer(IMAPMaildirHandler(self.delivery.root, self.users.verify,
                                                 hub=self.hub),
                              IMAPServerConfig(hostname=o.name, ssl_context=ctx,
                                               auth_over_plaintext=o.imap_plaintext_auth,
                                               max_literal=o.max_size))
            await imap.start(o.host, o.imap_port)
            self.servers["imap"] = imap
            print(f"imap listening on {o.host}:{imap.port}", file=self.out, flush=True)
        self._runner_task = asyncio.create_task(self.runner.run())

    async def stop(self, grace: float = 30.0) -> None:
        """Close listeners, let sessions and the current queue attempt finish."""
        await asyncio.gather(*(s.close(grace) for s in self.servers.values()))
        if self.runner is not None:
            await self.runner.stop()
        if self._runner_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._runner_task, grace)


async def serve(options: ServeOptions) -> int:
    """Run the mail system until SIGINT or SIGTERM; return the exit status."""
    system = MailSystem(options)
    await system.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("shutting down", file=sys.stderr, flush=True)
    await system.stop()
    return 0
