"""The outgoing queue: messages waiting to be relayed, safe across crashes.

Each queued message is two files in ``DIR/queue/``:

* ``<id>.eml``: the message bytes, exactly as they will be sent;
* ``<id>.json``: the envelope and the delivery state (sender, each
  recipient's status and last reply, attempts, next attempt time, DSN
  options).

Both are written to ``DIR/queue/tmp/``, fsynced, and renamed into place (the
``.json`` last), and the directory is fsynced, before :meth:`Queue.put`
returns, which is before the SMTP server says 250. So a message that was
acknowledged is on disk, and a message that is on disk without its ``.json``
was never acknowledged (a crash mid-write): :meth:`Queue.recover` removes
such leftovers at start-up. State changes rewrite the ``.json`` the same way.

Retries back off exponentially (``retry_base * 2**attempts``, capped at
``retry_max``); a message still undelivered after ``lifetime`` expires.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["Queue", "QueueEntry", "Recipient"]


@dataclass(slots=True)
class Recipient:
    """One recipient of a queued message.

    Attributes:
        address: The forward-path.
        status: ``"pending"``, ``"delivered"`` or ``"failed"``.
        reply: The last reply from the relay, as text (``"550 5.1.1 ..."``).
        notify: The RFC 3461 NOTIFY value (``"FAILURE"``, ``"NEVER"``...).
        orcpt: The RFC 3461 ORCPT value, or ``""``.
    """

    address: str
    status: str = "pending"
    reply: str = ""
    notify: str = ""
    orcpt: str = ""


@dataclass(slots=True)
class QueueEntry:
    """A queued message's envelope and delivery state."""

    id: str
    sender: str
    recipients: list[Recipient]
    created: float
    next_attempt: float
    attempts: int = 0
    last_error: str = ""
    #: MAIL parameters to pass on (``BODY``, ``SMTPUTF8``, ``RET``, ``ENVID``).
    mail_params: dict[str, str | None] = field(default_factory=dict)
    #: Who submitted it (the authenticated user), for logs and bounces.
    submitted_by: str = ""

    @property
    def pending(self) -> list[Recipient]:
        return [r for r in self.recipients if r.status == "pending"]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(tmp_dir: Path, final: Path, data: bytes) -> None:
    tmp = tmp_dir / (final.name + f".{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)


class Queue:
    """The queue directory.

    Args:
        directory: ``DIR/queue``; created if missing.
        retry_base: Seconds before the first retry.
        retry_max: Longest wait between retries.
        lifetime: Seconds after which an undelivered message expires.
    """

    def __init__(self, directory: str | os.PathLike[str], *, retry_base: float = 60.0,
                 retry_max: float = 3600.0, lifetime: float = 5 * 86400.0) -> None:
        self.dir = Path(directory)
        self.tmp = self.dir / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.lifetime = lifetime

    # -- adding -------------------------------------------------------------------

    def put(self, sender: str, recipients: list[Recipient], content: bytes, *,
            mail_params: dict[str, str | None] | None = None,
            submitted_by: str = "") -> QueueEntry:
        """Queue a message durably; return its entry (``entry.id``)."""
        now = time.time()
        qid = f"{int(now):x}{secrets.token_hex(6)}"
        entry = QueueEntry(id=qid, sender=sender, recipients=recipients, created=now,
                           next_attempt=now, mail_params=dict(mail_params or {}),
                           submitted_by=submitted_by)
        _write_atomic(self.tmp, self.dir / f"{qid}.eml", content)
        self._save(entry)
        _fsync_dir(self.dir)
        return entry

    def _save(self, entry: QueueEntry) -> None:
        data = json.dumps(asdict(entry), sort_keys=True).encode("utf-8")
        _write_atomic(self.tmp, self.dir / f"{entry.id}.json", data)

    # -- reading --------------------------------------------------------------------

    def __iter__(self) -> Iterator[QueueEntry]:
        for path in sorted(self.dir.glob("*.json")):
            entry = self._load(path)
            if entry is not None:
                yield entry

    def __len__(self) -> int:
        return sum(1 for _ in self.dir.glob("*.json"))

    def _load(self, path: Path) -> QueueEntry | None:
        try:
            raw = json.loads(path.read_text("utf-8"))
            raw["recipients"] = [Recipient(**r) for r in raw["recipients"]]
            return QueueEntry(**raw)
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def get(self, qid: str) -> QueueEntry:
        entry = self._load(self.dir / f"{qid}.json")
        if entry is None:
            raise KeyError(qid)
        return entry

    def content_path(self, qid: str) -> Path:
        """The message file of a queued message."""
        return self.dir / f"{qid}.eml"

    def due(self, now: float | None = None) -> list[QueueEntry]:
        """Entries whose next attempt time has come, oldest first."""
        now = time.time() if now is None else now
        return sorted((e for e in self if e.next_attempt <= now and e.pending),
                      key=lambda e: e.next_attempt)

    def next_wakeup(self) -> float | None:
        """When the earliest pending entry is due (epoch seconds), or None."""
        times = [e.next_attempt for e in self if e.pending]
        return min(times) if times else None

    # -- changing -------------------------------------------------------------------

    def record_attempt(self, entry: QueueEntry, error: str = "",
                       now: float | None = None) -> None:
        """Save the outcome of a delivery attempt and schedule the next one."""
        now = time.time() if now is None else now
        entry.attempts += 1
        entry.last_error = error
        delay = min(self.retry_base * (2 ** (entry.attempts - 1)), self.retry_max)
        entry.next_attempt = now + delay
        self._save(entry)

    def expired(self, entry: QueueEntry, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return now - entry.created >= self.lifetime

    def remove(self, qid: str) -> None:
        """Forget a message (all recipients done). The ``.json`` goes first,
        so a crash in between leaves only an orphan ``.eml``."""
        for suffix in (".json", ".eml"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.dir / f"{qid}{suffix}")
        _fsync_dir(self.dir)

    def recover(self) -> list[str]:
        """Remove what a crash left half-written; return the ids removed."""
        removed = []
        for tmp in self.tmp.iterdir():
            with contextlib.suppress(OSError):
                tmp.unlink()
        for eml in self.dir.glob("*.eml"):
            if not eml.with_suffix(".json").exists():
                eml.unlink()
                removed.append(eml.stem)
        for js in self.dir.glob("*.json"):
            if not js.with_suffix(".eml").exists() or self._load(js) is None:
                js.unlink()
                removed.append(js.stem)
        return removed
