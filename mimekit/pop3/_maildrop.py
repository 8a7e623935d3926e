"""A Maildir opened as one POP3 session's maildrop.

What RFC 1939 asks of a maildrop, and how a Maildir provides it:

* **Exclusive access** (section 8: "the POP3 server acquires an
  exclusive-access lock on the maildrop"): an ``flock`` on the file
  ``mimekit-pop3.lock`` in the Maildir. ``flock`` locks belong to an open
  file, so a second session conflicts whether it is in the same server
  process or in another one; the lock goes away with the process, so a crash
  never leaves a stale lock behind. A second session gets ``-ERR [IN-USE]``
  (RFC 2449 section 8.1.1).
* **A fixed listing**: messages are numbered 1..n in delivery order when the
  session opens the maildrop; mail arriving later waits for the next session.
* **New mail becomes "cur"** as the session lists it: files in ``new/``
  move to ``cur/`` (as Dovecot's POP3 does), so IMAP no longer shows them
  as ``\\Recent``. Their keys, and so their UIDLs, do not change.
* **Sizes on the wire**: LIST and STAT report the octets RETR sends, with
  CRLF line endings. Maildirs written by mimekit or Dovecot carry that
  number in the name (``,W=<size>``); for other files it is computed once
  by reading them.
* **Unique ids** (UIDL, section 7): the Maildir unique name, the part of the
  file name before the first ``,`` (without the ``,S=``/``,W=`` fields and
  the ``:2,`` flags), which never changes across sessions, flag changes or
  restarts. RFC 1939 allows 1 to 70 characters in 0x21-0x7E; a name outside
  that (a very long host name) is replaced by the SHA-1 of the key, in hex,
  which is just as stable.
* **Deletion only in UPDATE**: ``DELE`` only marks; :meth:`Maildrop.commit`
  (called on ``QUIT`` from TRANSACTION) removes the files, and marks the
  retrieved messages that stay as read (flag ``S``, as Dovecot does). A
  dropped connection never reaches it: nothing is deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from ..mailstore import Maildir

__all__ = ["LOCK_NAME", "Entry", "Maildrop", "MaildropInUse", "iter_top", "unique_id",
           "wire_size"]

log = logging.getLogger("mimekit.pop3.server")

#: The lock file in the Maildir (a name without a leading dot, so Maildir++
#: readers never take it for a folder).
LOCK_NAME = "mimekit-pop3.lock"
#: Reads from message files are this big.
CHUNK = 1 << 16

_WIRE_SIZE = re.compile(r",W=(\d+)")
_FILE_SIZE = re.compile(r",S=(\d+)")
#: RFC 1939 section 7: ``unique-id = 1*70 %x21-7E``.
_UNIQUE_ID = re.compile(r"[!-~]{1,70}")


class MaildropInUse(Exception):
    """Another session holds the maildrop's lock."""


def unique_id(key: str) -> str:
    """The UIDL of a Maildir key: its unique name, or a SHA-1 when that is
    not a valid unique-id (see the module docs)."""
    base = key.split(",", 1)[0]
    if _UNIQUE_ID.fullmatch(base):
        return base
    return hashlib.sha1(key.encode("utf-8", "surrogateescape"),
                        usedforsecurity=False).hexdigest()


def wire_size(f: IO[bytes]) -> int:
    """The octets a file takes on the wire: its size plus one for every LF
    not preceded by CR (the RETR encoder makes those CRLF)."""
    size = bare = 0
    last = b""
    while chunk := f.read(CHUNK):
        size += len(chunk)
        lfs = chunk.count(b"\n")
        crlfs = chunk.count(b"\r\n") + int(last == b"\r" and chunk[:1] == b"\n")
        bare += lfs - crlfs
        last = chunk[-1:]
    return size + bare


def iter_top(f: IO[bytes], lines: int) -> Iterator[bytes]:
    """The header, the blank line after it and ``lines`` body lines of a
    message file, in pieces (RFC 1939 section 7, TOP).

    Lines end at LF (CRLF or bare LF, as stored). The header ends at the
    first empty line; a message without one is all header and is sent
    whole. A last body line without a line ending counts as a line.
    """
    out = bytearray()
    at_line_start = True
    while True:
        line = f.readline(CHUNK)
        if not line:
            break
        out += line
        if at_line_start and line in (b"\n", b"\r\n"):
            break
        at_line_start = line.endswith(b"\n")
        if len(out) >= CHUNK:
            yield bytes(out)
            out.clear()
    count = 0
    while count < lines:
        line = f.readline(CHUNK)
        if not line:
            break
        out += line
        if line.endswith(b"\n"):
            count += 1
        if len(out) >= CHUNK:
            yield bytes(out)
            out.clear()
    if out:
        yield bytes(out)


@dataclass(slots=True)
class Entry:
    """One message of the maildrop.

    Attributes:
        key: The Maildir key.
        size: Octets on the wire (CRLF line endings).
        uid: The unique id (UIDL).
        deleted: Marked by DELE (undone by RSET).
        retrieved: Sent whole by RETR (marked read at commit).
    """

    key: str
    size: int
    uid: str
    deleted: bool = False
    retrieved: bool = False
    #: The file's path when last seen (it moves when flags change).
    path: str | None = None
    #: Its line endings are all CRLF (True), some are bare LF (False), or
    #: unknown (None): from the name's ``S=`` (file size) and ``W=`` (size
    #: with every bare LF counted as CRLF).
    crlf: bool | None = None


class _Lock:
    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise MaildropInUse(self.path) from None
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def release(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            # Closing drops the flock; the file stays (unlinking it would
            # race with a session that just opened it).
            os.close(fd)


class Maildrop:
    """A locked, listed Maildir for one session. Use :meth:`open`."""

    def __init__(self, maildir: Maildir, entries: list[Entry], lock: _Lock) -> None:
        self.maildir = maildir
        self.entries = entries
        self._lock = lock

    @classmethod
    def open(cls, maildir: Maildir) -> Maildrop:
        """Lock the Maildir, move ``new/`` to ``cur/``, list it.

        Blocking (file system work): servers call it in a thread.

        Raises:
            MaildropInUse: another session holds it.
            OSError: the Maildir cannot be read.
        """
        lock = _Lock(os.path.join(maildir.path, LOCK_NAME))
        lock.acquire()
        try:
            entries = cls._list(maildir)
        except BaseException:
            lock.release()
            raise
        return cls(maildir, entries, lock)

    @staticmethod
    def _list(maildir: Maildir) -> list[Entry]:
        entries: list[Entry] = []
        seen: set[str] = set()
        for key in maildir:  # a fresh listing, in delivery order
            try:
                if maildir.get_subdir(key) == "new":
                    maildir.move_to_cur(key)
                path = str(maildir.get_path(key))
                m = _WIRE_SIZE.search(key)
                crlf = None
                if m is not None:
                    size = int(m.group(1))
                    s = _FILE_SIZE.search(key)
                    crlf = None if s is None else int(s.group(1)) == size
                else:
                    with maildir.get_file(key) as f:
                        size = wire_size(f)
            except KeyError:
                continue  # removed by another program while we listed
            uid = unique_id(key)
            if uid in seen:  # two names with one unique part: keep ids unique
                uid = hashlib.sha1(key.encode("utf-8", "surrogateescape"),
                                   usedforsecurity=False).hexdigest()
            seen.add(uid)
            entries.append(Entry(key=key, size=size, uid=uid, path=path, crlf=crlf))
        return entries

    def stat(self) -> tuple[int, int]:
        """``(count, octets)`` of the messages not marked as deleted."""
        live = [e for e in self.entries if not e.deleted]
        return len(live), sum(e.size for e in live)

    def get(self, msg: int) -> Entry | None:
        """Message ``msg`` (1-based), or None if there is none or it is deleted."""
        if 1 <= msg <= len(self.entries):
            entry = self.entries[msg - 1]
            return None if entry.deleted else entry
        return None

    def open_file(self, entry: Entry) -> IO[bytes]:
        """The message file, for reading.

        Raises:
            KeyError: another program removed it since the listing.
        """
        if entry.path is not None:
            # Where it was at the last look: a plain open is several times
            # cheaper than the Maildir lookup, which follows renames.
            with contextlib.suppress(FileNotFoundError):
                return open(entry.path, "rb")
        f = self.maildir.get_file(entry.key)
        entry.path = f.name if isinstance(f.name, str) else None
        return f

    def reset(self) -> None:
        """RSET: unmark every deleted message."""
        for entry in self.entries:
            entry.deleted = False

    def commit(self) -> int:
        """The UPDATE state: remove the marked messages, mark the retrieved
        ones as read. Blocking (file system work).

        Returns:
            How many marked messages could not be removed (0 on success; a
            message already removed by another program counts as removed).
        """
        failed = 0
        for entry in self.entries:
            try:
                if entry.deleted:
                    self.maildir.remove(entry.key)
                elif entry.retrieved:
                    self.maildir.add_flag(entry.key, "S")
            except KeyError:
                continue
            except OSError as exc:
                log.warning("maildrop %s: %s: %s", self.maildir.path, entry.key, exc)
                failed += entry.deleted
        return failed

    def close(self) -> None:
        """Release the lock (idempotent). Marks that were not committed are lost."""
        with contextlib.suppress(OSError):
            self._lock.release()
