"""The SMTP handler of ``mimekit serve``: local delivery, relay policy, queueing.

One handler serves both listeners:

* the **SMTP port** (MX role) takes mail for local users at the served
  domains from anyone, and refuses other domains unless the client has
  authenticated: ``554 5.7.1`` — never an open relay;
* the **submission port** requires AUTH (``530 5.7.0``) and then takes mail
  for anywhere: local recipients are delivered at once, the others go to the
  outgoing queue.

An unknown local user gets ``550 5.1.1``. ``user+tag@domain`` is delivered to
``user`` (subaddressing, RFC 5233). Every delivery and every queue entry is
on disk (fsynced) before the handler returns, and so before the 250.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import secrets
from collections.abc import Callable
from typing import TypeVar

from .._guard import check_password
from ..smtp import Reply
from ..smtp._handler import Envelope, Handler, Session
from ._delivery import LocalDelivery, received_field, return_path_field
from ._queue import Queue, Recipient
from ._users import UserDB

__all__ = ["MailSystemHandler", "split_address"]

log = logging.getLogger("mimekit.serve")

T = TypeVar("T")


def split_address(address: str) -> tuple[str, str]:
    """``("local", "domain")`` of an address (domain lower-cased)."""
    local, _, domain = address.rpartition("@")
    return local, domain.lower()


class MailSystemHandler(Handler):
    """Delivery and relay policy for one listener.

    Args:
        users: The users file.
        domains: The served domains (lower case).
        delivery: Local Maildir delivery.
        queue: The outgoing queue.
        hostname: Our name, for trace fields.
        can_relay: A relay host is configured, so mail for other domains can
            be queued.
        queued: Called after a message is queued (wakes the queue runner).
        delivery_threads: 0 (the default) writes and fsyncs deliveries on the
            event loop itself: a Maildir delivery takes well under a
            millisecond on local storage, and handing each one to a thread
            costs more CPU (GIL hand-offs) than it saves; measured, inline
            delivery gives the higher throughput. On slow or network storage
            give a number of threads, so a slow fsync does not hold up the
            other sessions.
    """

    def __init__(self, *, users: UserDB, domains: set[str], delivery: LocalDelivery,
                 queue: Queue, hostname: str, can_relay: bool,
                 queued: Callable[[], None] = lambda: None,
                 delivery_threads: int = 0) -> None:
        self.users = users
        self.domains = domains
        self.delivery = delivery
        self.queue = queue
        self.hostname = hostname
        self.can_relay = can_relay
        self.queued = queued
        self._executor = (concurrent.futures.ThreadPoolExecutor(
            max_workers=delivery_threads, thread_name_prefix="mimekit-delivery")
            if delivery_threads > 0 else None)

    async def _io(self, func: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Run a blocking delivery step inline, or in the delivery threads."""
        if self._executor is None:
            return func(*args, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: func(*args, **kwargs))

    def local_user(self, address: str) -> str | None:
        """The local user an address belongs to, or None if it is foreign."""
        local, domain = split_address(address)
        if domain not in self.domains:
            return None
        return local.split("+", 1)[0].lower()

    async def on_auth(self, session: Session, mechanism: str, username: str,
                      password: str) -> bool:
        # scrypt costs tens of milliseconds of CPU: keep the loop responsive.
        return await check_password(self.users.verify, username, password)

    async def on_rcpt(self, session: Session, envelope: Envelope, recipient: str,
                      params: dict[str, str | None]) -> Reply | None:
        user = self.local_user(recipient)
        if user is not None:
            if user in self.users:
                return None
            return Reply(code=550, lines=(f"<{recipient}>: no such user here",),
                         enhanced=(5, 1, 1))
        if not session.authenticated:
            return Reply(code=554, lines=(f"<{recipient}>: relay access denied",),
                         enhanced=(5, 7, 1))
        if not self.can_relay:
            return Reply(code=550, lines=("mail for other domains needs a relay host "
                                          "(mimekit serve --relay-host)",), enhanced=(5, 7, 1))
        return None

    async def on_message(self, session: Session, envelope: Envelope) -> Reply | None:
        queue_id = secrets.token_hex(8)
        content = bytes(envelope.content)
        local: dict[str, list[str]] = {}
        remote: list[Recipient] = []
        for rcpt, params in zip(envelope.rcpt_tos, envelope.rcpt_params, strict=True):
            user = self.local_user(rcpt)
            if user is not None:
                local.setdefault(user, []).append(rcpt)
            else:
                remote.append(Recipient(address=rcpt, notify=params.get("NOTIFY") or "",
                                        orcpt=params.get("ORCPT") or ""))
        for user, rcpts in local.items():
            trace = received_field(session, envelope, hostname=self.hostname,
                                   queue_id=queue_id,
                                   recipient=rcpts[0] if len(rcpts) == 1 else None)
            data = return_path_field(envelope.mail_from) + trace + content
            key = await self._io(self.delivery.deliver, user, data)
            log.info("%s: delivered to %s (%s)", queue_id, user, key)
        if remote:
            trace = received_field(session, envelope, hostname=self.hostname,
                                   queue_id=queue_id)
            params = {k: v for k, v in envelope.mail_params.items()
                      if k in ("BODY", "SMTPUTF8", "RET", "ENVID")}
            entry = await self._io(
                self.queue.put, envelope.mail_from, remote, trace + content,
                mail_params=params, submitted_by=session.authenticated or "")
            log.info("%s: queued as %s for %d recipient(s)", queue_id, entry.id, len(remote))
            self.queued()
        return Reply(code=250, lines=(f"OK, id {queue_id}",), enhanced=(2, 0, 0))
