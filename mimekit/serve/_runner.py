"""The queue runner: relays queued mail to the smarthost, retries, bounces.

One asyncio task. It wakes when a message is queued or when the earliest
retry is due, and tries each due message once:

* a recipient the relay accepts is done;
* a 4xx (or a connection failure, or a timeout) leaves it pending, and the
  message is retried later with exponential backoff;
* a 5xx fails it at once;
* a message still pending after the queue's lifetime fails whatever is left.

Failed recipients are reported to the sender in one RFC 3464 bounce per
attempt, delivered into the sender's local Maildir (``mimekit serve`` only
bounces to its own users: a bounce to a foreign sender would need the same
relay that just failed, and backscatter is worse than silence). RFC 3461
``NOTIFY`` is honoured: ``NEVER``, or a list without ``FAILURE``, means no
bounce for that recipient. A message from the null sender ``<>`` is never
bounced.

DSN parameters (RET, ENVID, NOTIFY, ORCPT) are used for our own bounces and
not passed on to the relay: the relay's reports would go to the original
sender directly, and mimekit cannot yet turn them back into local ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time

from ..smtp import (
    AsyncSMTPClient,
    SMTPNotSupportedError,
    SMTPRecipientsRefused,
    SMTPReplyError,
)
from ..smtp._errors import SMTPError
from ._delivery import LocalDelivery
from ._dsn import FailedRecipient, make_bounce
from ._handlers import split_address
from ._queue import Queue, QueueEntry, Recipient
from ._users import UserDB

__all__ = ["QueueRunner", "Relay"]

log = logging.getLogger("mimekit.serve.queue")


class Relay:
    """Where queued mail goes: the smarthost.

    Args:
        host: The relay's host name.
        port: Its port.
        tls: ``None``, ``"starttls"`` or ``"implicit"``.
        ssl_context: For TLS; the default verifies certificates.
        timeout: Seconds for connecting and for each reply.
    """

    def __init__(self, host: str, port: int, *, tls: str | None = None,
                 ssl_context: ssl.SSLContext | None = None, timeout: float = 60.0) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.ssl_context = ssl_context
        self.timeout = timeout


class QueueRunner:
    """Delivers the queue through a :class:`Relay`."""

    def __init__(self, queue: Queue, relay: Relay | None, *, hostname: str,
                 delivery: LocalDelivery, users: UserDB, domains: set[str]) -> None:
        self.queue = queue
        self.relay = relay
        self.hostname = hostname
        self.delivery = delivery
        self.users = users
        self.domains = domains
        self._wake = asyncio.Event()
        self._stopping = False
        self._busy = False

    def wake(self) -> None:
        """Look at the queue now (a message was queued)."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until :meth:`stop`; an attempt in progress is finished first."""
        while not self._stopping:
            await self.run_once()
            wakeup = self.queue.next_wakeup()
            delay = 3600.0 if wakeup is None else max(0.0, wakeup - time.time())
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(delay, 3600.0))

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run_once(self) -> None:
        """Try every due message once."""
        for entry in self.queue.due():
            if self._stopping:
                return
            self._busy = True
            try:
                await self._attempt(entry)
            except Exception:  # never let one message stop the queue
                log.exception("%s: delivery attempt crashed", entry.id)
                self.queue.record_attempt(entry, "internal error")
            finally:
                self._busy = False

    async def _attempt(self, entry: QueueEntry) -> None:
        content = self.queue.content_path(entry.id).read_bytes()
        pending = {r.address: r for r in entry.pending}
        error = ""
        if self.relay is None:
            error = "no relay host configured"
        else:
            try:
                async with AsyncSMTPClient(self.relay.host, self.relay.port, tls=self.relay.tls,
                                           ssl_context=self.relay.ssl_context,
                                           timeout=self.relay.timeout,
                                           local_hostname=self.hostname) as client:
                    result = await client.send(content, sender=entry.sender,
                                               recipients=list(pending),
                                               mail_options=_mail_options(entry))
                for address, reply in result.accepted.items():
                    pending[address].status, pending[address].reply = "delivered", str(reply)
                for address, reply in result.refused.items():
                    self._refused(pending[address], reply.code, str(reply))
            except SMTPRecipientsRefused as exc:
                for address, (code, enhanced, text) in exc.refused.items():
                    if address in pending:
                        status = ".".join(map(str, enhanced)) + " " if enhanced else ""
                        self._refused(pending[address], code, f"{code} {status}{text}")
                error = str(exc)
            except SMTPReplyError as exc:
                error = str(exc)
                if not exc.is_transient:
                    status = ".".join(map(str, exc.enhanced)) + " " if exc.enhanced else ""
                    for r in pending.values():
                        self._refused(r, exc.code, f"{exc.code} {status}{exc.text}")
            except SMTPNotSupportedError as exc:
                # The relay lacks what the message needs (SMTPUTF8, 8BITMIME,
                # a big enough SIZE): retrying will not help.
                error = str(exc)
                for r in pending.values():
                    self._refused(r, 554, f"554 5.6.0 {exc}")
            except (SMTPError, OSError, TimeoutError) as exc:
                error = f"relay {self.relay.host}:{self.relay.port} unreachable: {exc}"
        failed = [r for r in entry.recipients if r.status == "failed" and r.reply]
        expired = self.queue.expired(entry) and bool(entry.pending)
        if expired:
            for r in entry.pending:
                r.status, r.reply = "failed", r.reply or f"expired: {error or 'not delivered'}"
            failed = [r for r in entry.recipients if r.status == "failed"]
        if failed:
            self._bounce(entry, failed, content, expired=expired)
            for r in failed:
                r.reply = ""  # reported; keep status "failed"
        if not entry.pending:
            log.info("%s: done", entry.id)
            self.queue.remove(entry.id)
        else:
            log.info("%s: %d pending, retry later (%s)", entry.id, len(entry.pending), error)
            self.queue.record_attempt(entry, error)

    @staticmethod
    def _refused(recipient: Recipient, code: int, text: str) -> None:
        if 500 <= code < 600:
            recipient.status, recipient.reply = "failed", text
        else:
            recipient.reply = text  # transient: stays pending

    def _bounce(self, entry: QueueEntry, failed: list[Recipient], content: bytes, *,
                expired: bool) -> None:
        wanted = [r for r in failed
                  if not r.notify or "FAILURE" in r.notify.upper().split(",")]
        if not entry.sender or not wanted:
            return
        local, domain = split_address(entry.sender)
        user = local.split("+", 1)[0].lower()
        if domain not in self.domains or user not in self.users:
            log.warning("%s: cannot bounce to foreign sender %s", entry.id, entry.sender)
            return
        reason = (f"The message could not be delivered within "
                  f"{self.queue.lifetime / 86400:g} days." if expired else "")
        bounce = make_bounce(
            sender=entry.sender,
            recipients=[FailedRecipient(r.address, r.reply, r.orcpt) for r in wanted],
            original=content, reporting_mta=self.hostname, arrival=entry.created,
            envid=entry.mail_params.get("ENVID"),
            headers_only=(entry.mail_params.get("RET") or "").upper() == "HDRS",
            reason=reason)
        key = self.delivery.deliver(user, b"Return-Path: <>\r\n" + bounce)
        log.info("%s: bounce for %d recipient(s) delivered to %s (%s)", entry.id,
                 len(wanted), user, key)


def _mail_options(entry: QueueEntry) -> dict[str, str | None]:
    return {k: v for k, v in entry.mail_params.items() if k in ("BODY", "SMTPUTF8")}
