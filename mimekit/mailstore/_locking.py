"""Locking an mbox file the way mail programs on Unix agree on.

Two locks are taken, because different programs honor different ones:

* a **dot-lock**: the file ``<mbox>.lock``, created with ``O_CREAT | O_EXCL``
  (the convention of procmail, mutt, Postfix's ``local``, Dovecot and
  Python's ``mailbox``). It also works between threads of one process,
  which POSIX record locks do not. A dot-lock whose mtime is older than
  ``stale_after`` seconds is taken to be left over from a crashed program
  and removed, as liblockfile and mutt do (their default: 5 minutes).
* an **fcntl** lock (a POSIX record lock on the whole file, as
  ``fcntl.lockf`` takes), which Dovecot, Postfix and mutt take by default on
  Linux. On Linux it is taken as an "open file description" lock, which
  conflicts with theirs but is not lost when this process closes another
  descriptor of the same file.

The dot-lock is taken first and the mbox opened only after it, so a program
that replaces the mbox by renaming a new file over it cannot strand a
waiting writer on the old file. The fcntl lock is tried without blocking; if
it is busy, the dot-lock is released before waiting, so two programs that
take the locks in different orders cannot deadlock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import struct
import sys
import time
from pathlib import Path

__all__ = ["FIRST_SLEEP", "DotLock", "LockTimeoutError", "backoff", "lock_fd", "unlock_fd"]

#: Retry interval while a lock is busy (doubles up to _MAX_SLEEP).
FIRST_SLEEP = 0.005
_MAX_SLEEP = 0.1


class LockTimeoutError(TimeoutError):
    """An mbox lock could not be taken within the timeout (another program
    holds it)."""


class DotLock:
    """The ``<path>.lock`` file of an mbox.

    Args:
        path: The mbox file (the lock is this path plus ``.lock``).
        stale_after: Seconds after which an untouched lock file is removed.
    """

    def __init__(self, path: str | os.PathLike[str], *, stale_after: float = 300.0) -> None:
        self.path = Path(os.fspath(path) + ".lock")
        self.stale_after = stale_after
        self.held = False

    def try_acquire(self, *, required: bool = True) -> bool:
        """One attempt. Returns False while another program holds the lock.

        Args:
            required: When False, a directory we may not write to (a system
                spool read by an unprivileged user) means "no dot-lock", and
                the attempt counts as taken: reading then relies on fcntl.
        """
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            self._break_if_stale()
            return False
        except (PermissionError, OSError) as exc:
            if not required and (isinstance(exc, PermissionError) or exc.errno == errno.EROFS):
                return True
            raise
        try:
            # Who holds it, for a human looking at a stuck lock.
            os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        finally:
            os.close(fd)
        self.held = True
        return True

    def _break_if_stale(self) -> None:
        try:
            age = time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return  # released meanwhile: the next attempt may succeed
        if age > self.stale_after:
            # As liblockfile and mutt: a waiter that looked at the stale lock
            # just before another waiter broke it and took a new one could
            # remove that new lock. The window is between this stat and the
            # unlink, microseconds in minutes of staleness; the fcntl lock,
            # taken next, still keeps two writers apart.
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def touch(self) -> None:
        """Refresh the lock's mtime during a long operation, so it does not
        look stale to other programs."""
        if self.held:
            with contextlib.suppress(FileNotFoundError):
                os.utime(self.path)

    def release(self) -> None:
        if self.held:
            self.held = False
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


# Linux "open file description" locks: POSIX record locks (they conflict
# with lockf/fcntl locks of other programs) that belong to one open file
# rather than to the process. A classic fcntl lock is silently dropped when
# the process closes *any* descriptor of the file, for example when a
# message read from the mbox is closed or garbage collected; an OFD lock is
# not, and it also excludes other threads. struct flock on Linux is
# {short l_type; short l_whence; off_t l_start; off_t l_len; pid_t l_pid}
# with a 64-bit off_t (the OFD commands always take the 64-bit layout).
_OFD_SETLK: int | None = getattr(fcntl, "F_OFD_SETLK", None) if sys.platform == "linux" else None
_FLOCK = "@hhqqi"


def _ofd(fd: int, kind: int) -> bool:
    assert _OFD_SETLK is not None
    try:
        fcntl.fcntl(fd, _OFD_SETLK, struct.pack(_FLOCK, kind, os.SEEK_SET, 0, 0, 0))
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EAGAIN):
            return False
        raise
    return True


def lock_fd(fd: int, *, exclusive: bool) -> bool:
    """Try to take a POSIX lock on the whole file, without blocking.

    Uses an OFD lock on Linux (see above), ``fcntl.lockf`` elsewhere; both
    conflict with the ``fcntl``/``lockf`` locks of other programs.
    """
    global _OFD_SETLK
    if _OFD_SETLK is not None:
        try:
            return _ofd(fd, fcntl.F_WRLCK if exclusive else fcntl.F_RDLCK)
        except OSError as exc:
            if exc.errno != errno.EINVAL:  # EINVAL: a kernel older than 3.15
                raise
            _OFD_SETLK = None
    op = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    try:
        fcntl.lockf(fd, op)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EAGAIN):
            return False
        raise
    return True


def unlock_fd(fd: int) -> None:
    """Release the lock of :func:`lock_fd` (closing the file does as well)."""
    with contextlib.suppress(OSError):  # the file may already be closed
        if _OFD_SETLK is not None:
            _ofd(fd, fcntl.F_UNLCK)
        else:
            fcntl.lockf(fd, fcntl.LOCK_UN)


def backoff(deadline: float, sleep: float, what: str) -> float:
    """Sleep before the next attempt; raise once ``deadline`` has passed."""
    now = time.monotonic()
    if now >= deadline:
        raise LockTimeoutError(f"could not lock {what}: held by another program")
    time.sleep(min(sleep, max(deadline - now, 0.0)))
    return min(sleep * 2, _MAX_SLEEP)

