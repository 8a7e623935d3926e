"""The uid-list file of one Maildir folder: UIDVALIDITY, UIDNEXT, the first
recent UID and the UID of every message, kept across restarts.

RFC 3501 section 2.3.1.1: UIDs are strictly ascending in a mailbox, never
reused, and stay valid while UIDVALIDITY stays the same. Dovecot keeps them
in ``dovecot-uidlist``; mimekit keeps them in ``mimekit-uidlist``, a small
append-only log (one line per change), so that a delivery costs one short
append instead of rewriting the list::

    mimekit-uidlist 1 <uidvalidity>      the first line
    A <uid> <key>                        <key> (a Maildir unique name) got <uid>
    X <uid>                              <uid> was expunged
    N <uidnext>                          UIDNEXT is at least this
    R <uid>                              messages from <uid> on are \\Recent

Keys are written with ``%``, whitespace and control characters as ``%XX``.
Replaying the lines gives the state. A line cut short by a crash (no final
LF) is ignored and cut off before the next append. When the log holds more
dead lines than live ones it is compacted: the live state is written to a
temporary file, fsync'ed and renamed over the log (atomic).

All changes happen under an exclusive ``flock`` of ``mimekit-uidlist.lock``
in the folder, so several processes (two servers, a delivery agent using
mimekit) assign UIDs without clashing. Blocking disk I/O: call from a
worker thread in an asyncio server if the disk is slow.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["FILE_NAME", "LOCK_NAME", "UidList", "allocate_uidvalidity", "locked"]

FILE_NAME = "mimekit-uidlist"
LOCK_NAME = "mimekit-uidlist.lock"
#: The per-store file that hands out UIDVALIDITY values (in the store's root).
UIDVALIDITY_FILE = "mimekit-uidvalidity"
_MAGIC = "mimekit-uidlist 1"
_ESCAPE = re.compile(r"[%\s\x00-\x1f\x7f]")
_UNESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
#: uidvalidity is a 32-bit unsigned nz-number (RFC 3501 section 9).
_MAX32 = 4_294_967_295


def _escape(key: str) -> str:
    return _ESCAPE.sub(lambda m: f"%{ord(m.group()):02X}", key)


def _unescape(text: str) -> str:
    return _UNESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def allocate_uidvalidity(root: Path) -> int:
    """A new UIDVALIDITY for a folder of the store at ``root``: larger than
    every value handed out before (so a mailbox deleted and created again
    gets a new one, RFC 3501 section 2.3.1.1), and normally the time."""
    counter = root / UIDVALIDITY_FILE
    with locked(root / (UIDVALIDITY_FILE + ".lock")):
        try:
            last = int(counter.read_text("ascii").strip() or 0)
        except (FileNotFoundError, ValueError):
            last = 0
        value = max(int(time.time()), last + 1)
        if value > _MAX32:  # after 2106, or a corrupt counter: wrap around
            value = 1
        tmp = counter.with_name(counter.name + ".tmp")
        tmp.write_text(f"{value}\n", "ascii")
        os.replace(tmp, counter)
    return value


class UidList:
    """The uid-list of one folder, loaded in memory.

    Attributes:
        uidvalidity: The folder's UIDVALIDITY.
        uidnext: The next UID to assign.
        first_recent: Messages with a UID at least this are \\Recent for the
            next session that selects the folder read-write.
        uids: ``{key: uid}`` for the live messages.
    """

    def __init__(self, folder: Path, uidvalidity: int) -> None:
        self.path = folder / FILE_NAME
        self.lock_path = folder / LOCK_NAME
        self.uidvalidity = uidvalidity
        self.uidnext = 1
        self.first_recent = 1
        self.uids: dict[str, int] = {}
        self._dead = 0
        self._offset = 0  # bytes of the file replayed so far
        self._stamp: tuple[int, int, int] | None = None

    # -- reading ------------------------------------------------------------------

    @classmethod
    def load(cls, folder: Path) -> UidList | None:
        """Read the folder's uid-list; None when there is none (or it is not
        one: a new UIDVALIDITY is then due)."""
        self = cls(folder, 0)
        if not self.reload():
            return None
        return self

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def changed_on_disk(self) -> bool:
        """Has another writer changed the file since we last read it?"""
        return self._file_stamp() != self._stamp

    def reload(self) -> bool:
        """Catch up with the file: replay only what was appended when the
        file is the same one, everything when it was replaced. Returns False
        when the file is missing or not a uid-list."""
        stamp = self._file_stamp()
        if stamp is None:
            return False
        same_file = self._stamp is not None and stamp[0] == self._stamp[0] and \
            stamp[1] >= self._offset
        try:
            with open(self.path, "rb") as f:
                if same_file:
                    f.seek(self._offset)
                    data = f.read()
                    start = self._offset
                else:
                    data = f.read()
                    start = 0
        except FileNotFoundError:
            return False
        if not same_file:
            first, nl, _ = data.partition(b"\n")
            parts = first.decode("ascii", "replace").rsplit(" ", 1)
            if not nl or len(parts) != 2 or parts[0] != _MAGIC or not parts[1].isdigit():
                return False
            self.uidvalidity = int(parts[1])
            self.uidnext, self.first_recent, self.uids, self._dead = 1, 1, {}, 0
            body_start = len(first) + 1
        else:
            body_start = 0
        end = data.rfind(b"\n") + 1  # a torn last line waits for its end
        if end > body_start:
            self._replay(data[body_start:end].decode("utf-8", "surrogateescape"))
        self._offset = start + max(end, body_start)
        self._stamp = stamp
        return True

    def _replay(self, text: str) -> None:
        by_uid: dict[int, str] | None = None
        for line in text.splitlines():
            op, _, rest = line.partition(" ")
            try:
                if op == "A":
                    uid_s, _, key = rest.partition(" ")
                    uid = int(uid_s)
                    key = _unescape(key)
                    old = self.uids.get(key)
                    if old is not None:
                        self._dead += 1
                    self.uids[key] = uid
                    self.uidnext = max(self.uidnext, uid + 1)
                elif op == "X":
                    uid = int(rest)
                    if by_uid is None:
                        by_uid = {u: k for k, u in self.uids.items()}
                    key_gone = by_uid.pop(uid, None)
                    if key_gone is not None and self.uids.get(key_gone) == uid:
                        del self.uids[key_gone]
                    self._dead += 2
                elif op == "N":
                    self.uidnext = max(self.uidnext, int(rest))
                    self._dead += 1
                elif op == "R":
                    self.first_recent = max(self.first_recent, int(rest))
                    self._dead += 1
            except ValueError:
                continue  # a damaged line: skip it
            if op == "A" and by_uid is not None:
                by_uid[uid] = key

    # -- writing ------------------------------------------------------------------

    def create(self) -> None:
        """Write a new, empty uid-list (the folder had none)."""
        self._rewrite()

    def append(self, lines: list[str]) -> None:
        """Append records (already applied to this object) durably.

        Must be called with :func:`locked` held on :attr:`lock_path`.
        """
        if not lines:
            return
        if self._dead > 64 and self._dead > 2 * len(self.uids):
            self._rewrite()
            return
        data = "".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape")
        fd = os.open(self.path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            size = os.fstat(fd).st_size
            if size != self._offset:
                # Cut off a torn line left by a crash (never someone's new
                # lines: we hold the lock and have read up to the end).
                os.ftruncate(fd, self._offset)
            os.lseek(fd, self._offset, os.SEEK_SET)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        self._offset += len(data)
        self._stamp = self._file_stamp()

    def _rewrite(self) -> None:
        lines = [f"{_MAGIC} {self.uidvalidity}", f"N {self.uidnext}", f"R {self.first_recent}"]
        lines += [f"A {uid} {_escape(key)}"
                  for key, uid in sorted(self.uids.items(), key=lambda kv: kv[1])]
        data = "".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape")
        tmp = self.path.with_name(f"{FILE_NAME}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        self._dead = 0
        self._offset = len(data)
        self._stamp = self._file_stamp()

    # -- changes (apply, then append() the returned lines) -------------------------

    def add(self, key: str) -> tuple[int, str]:
        """Give ``key`` the next UID; returns ``(uid, record)``."""
        uid = self.uidnext
        self.uidnext += 1
        self.uids[key] = uid
        return uid, f"A {uid} {_escape(key)}"

    def remove(self, key: str) -> str | None:
        """Forget ``key`` (expunged); returns the record, or None if unknown."""
        uid = self.uids.pop(key, None)
        if uid is None:
            return None
        self._dead += 2
        return f"X {uid}"

    def set_first_recent(self, uid: int) -> str | None:
        """Move the \\Recent mark; returns the record, or None if unchanged."""
        if uid <= self.first_recent:
            return None
        self.first_recent = uid
        self._dead += 1
        return f"R {uid}"
