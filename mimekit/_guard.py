"""Defences the servers (SMTP, POP3, IMAP) share against hostile clients.

* **Connections per address.** One host may hold at most so many
  connections at once, so an idle or dribbling flood from one place (a
  slowloris) cannot take every slot. Loopback clients are this machine's
  own and are not counted.
* **Failed logins per address.** Each failed authentication from an address
  waits longer than the one before (``base * 2**(n-1)``, capped), across
  connections, so password guessing gets slower and slower; the count is
  forgotten after a quiet period. Memory stays bounded however many
  addresses try.
* **Room for newcomers.** When a server is full, a new connection closes
  the session that has waited longest for its client without logging in
  (nothing is lost: it has not even started a transaction), as Dovecot's
  login processes do, instead of being turned away. An idle flood, even
  from this machine (which the per-address count does not limit), then
  cannot lock everyone else out until its sessions time out.
* **Password checks in their own threads.** A check (scrypt: tens of
  milliseconds of CPU and 16 MiB) runs in a pool of two threads kept for
  it, so a flood of logins queues there instead of taking every worker
  thread of the event loop (where file I/O runs), and the memory that each
  thread's allocator keeps after a check is kept twice, not once per worker.
* **An audit trail.** Every login and every failed one is logged on
  ``mimekit.auth`` (service, user name, mechanism, client address: what
  fail2ban-style tools read). Passwords never are; the user name is written
  with ``repr`` so that a hostile one cannot forge log lines.
* **A lingering close.** A session's end half-closes and reads on for a
  moment (:func:`linger`), so the final reply reaches a client that was
  still sending instead of being destroyed by a reset.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

__all__ = ["LINGER", "ClientGuard", "Evictable", "check_password", "is_loopback", "linger",
           "make_room", "oldest_idle"]

log = logging.getLogger("mimekit.auth")

#: Seconds after which an address's failed logins are forgotten.
FAILURE_MEMORY = 900.0
#: Addresses remembered at most (the oldest is forgotten first).
MAX_REMEMBERED = 10_000


#: Threads for password checks (see the module docs); they start on first use.
_PASSWORD_CHECKS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mimekit-auth")


async def check_password(verify: Callable[[str, str], object], user: str,
                         password: str) -> bool:
    """Run a blocking ``verify(user, password)`` in the password-check
    threads; its result as a bool."""
    loop = asyncio.get_running_loop()
    return bool(await loop.run_in_executor(_PASSWORD_CHECKS, verify, user, password))


class Evictable(Protocol):
    """What :func:`oldest_idle` needs of a session."""

    #: When the session began waiting for its client (the event loop's clock).
    idle_since: float

    @property
    def evictable(self) -> bool:
        """Waiting for the client and not logged in, with no transaction
        under way: closing it loses nothing."""
        ...

    def evict(self) -> None:
        """Close the session to make room for another."""
        ...


_S = TypeVar("_S", bound=Evictable)


def oldest_idle(sessions: Iterable[_S]) -> _S | None:
    """The session to close to make room for a new connection (see the
    module docs), or None when every session is busy or logged in."""
    best: _S | None = None
    for session in sessions:
        if session.evictable and (best is None or session.idle_since < best.idle_since):
            best = session
    return best


def make_room(sessions: Iterable[Evictable]) -> bool:
    """Close the session :func:`oldest_idle` picks; whether there was one
    (a full server then takes the newcomer instead of refusing it)."""
    victim = oldest_idle(sessions)
    if victim is None:
        return False
    victim.evict()
    return True


#: How long a closing connection goes on reading, and discarding, what the
#: client still sends (see :func:`linger`).
LINGER = 1.0


async def linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 seconds: float = LINGER) -> None:
    """Half-close the connection, then read and discard until the client
    closes too or ``seconds`` pass.

    A socket closed with unread input answers with a reset, and a reset
    makes the client's system drop what it had not read yet: our last
    reply ("421 session time limit", "* BYE Autologout") would vanish
    exactly when it explains the end. Sending FIN first and reading on for a
    moment (the "lingering close" of web servers) gives the client time to
    read it. Plain TCP only: a TLS connection ends with close_notify.
    """
    if writer.transport.is_closing() or not writer.can_write_eof():
        return
    try:
        writer.write_eof()
        async with asyncio.timeout(seconds):
            while await reader.read(65536):
                pass
    except Exception:  # a timeout or a reset: the connection goes anyway
        pass


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` is a loopback address (127.0.0.0/8, ::1). Servers
    use it for the peer (who may log in without TLS), clients for the
    server (where a password may go without TLS)."""
    try:
        return host is not None and ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class ClientGuard:
    """Connection counts and login-failure delays, per client address.

    Args:
        max_per_address: Simultaneous connections from one (non-loopback)
            address.
        failure_delay: Seconds to wait after the first failed login.
        failure_delay_max: The longest wait.
    """

    def __init__(self, *, max_per_address: int = 20, failure_delay: float = 1.0,
                 failure_delay_max: float = 60.0) -> None:
        self.max_per_address = max_per_address
        self.failure_delay = failure_delay
        self.failure_delay_max = failure_delay_max
        self._connections: dict[str, int] = {}
        self._failures: dict[str, tuple[int, float]] = {}

    def connect(self, address: str) -> bool:
        """Count a new connection; False when the address has too many."""
        count = self._connections.get(address, 0) + 1
        self._connections[address] = count
        return count <= self.max_per_address or is_loopback(address)

    def disconnect(self, address: str) -> None:
        """Count a connection gone (call once for every :meth:`connect`)."""
        count = self._connections.get(address, 1) - 1
        if count > 0:
            self._connections[address] = count
        else:
            self._connections.pop(address, None)

    def logged_in(self, address: str, *, service: str, user: str, mechanism: str) -> None:
        """Log a successful login (never anything about the password)."""
        log.info("%s login: user=%r method=%s rip=%s", service, user, mechanism, address)

    def failed_login(self, address: str, *, service: str = "", user: str | None = None,
                     mechanism: str = "") -> float:
        """Record (and log) a failed login from ``address``; return the
        seconds to wait before answering."""
        now = time.monotonic()
        count, last = self._failures.get(address, (0, now))
        if now - last > FAILURE_MEMORY:
            count = 0
        count += 1
        self._failures[address] = (count, now)
        if len(self._failures) > MAX_REMEMBERED:
            oldest = min(self._failures, key=lambda a: self._failures[a][1])
            del self._failures[oldest]
        # (The exponent is capped: 2.0 ** 1024 would raise OverflowError.)
        delay: float = min(self.failure_delay * 2.0 ** min(count - 1, 62),
                           self.failure_delay_max)
        log.warning("%s authentication failed: user=%r method=%s rip=%s "
                    "(failure %d from this address, answering in %.1f s)",
                    service or "-", user, mechanism or "-", address, count, delay)
        return delay
