"""The mbox store: one file of messages separated by ``From`` lines, written
in mboxrd form.

References: qmail's mbox(5); the mboxrd/mboxo/mboxcl descriptions at
https://www.loc.gov/preservation/digital/formats/fdd/fdd000385.shtml and
"Configuring Netscape Mail on Unix: Why the Content-Length Format is Bad"
(https://www.jwz.org/doc/content-length.html) for why From lines, not
Content-Length, are the primary separators.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..tree import Limits, Message, parse, parse_range
from ._input import CHUNK, MessageInput, MessageLike
from ._locking import FIRST_SLEEP, DotLock, backoff, lock_fd, unlock_fd
from ._mboxrd import QuotingWriter, find_quoted, make_from_line, unquote
from ._mboxscan import Entry, FileReader, scan_mbox

__all__ = ["Mbox"]

#: Messages up to this size are read whole and unquoted in memory.
_SMALL = 1 << 16
#: During a rewrite, refresh the dot-lock's mtime every this many bytes.
_TOUCH_EVERY = 64 << 20


class Mbox:
    """An mbox file: read in mboxrd, mboxo or mboxcl2 form, written in mboxrd.

    Keys are the byte offsets of the messages' ``From`` lines. Appending (by
    this object or any other program) never changes existing keys; removing a
    message rewrites the file, and keys after it then change (they are
    offsets). Every call locks the file (see below) and re-reads the list of
    messages when the file changed, so several processes can share one mbox.

    Reading is lazy and bounded: the file is scanned for boundaries in 1 MiB
    blocks, and each message is parsed from its byte range like
    :func:`mimekit.parse_file`. Messages over 64 KiB keep a file descriptor
    open until they are closed (``with mb[key] as msg:`` or ``msg.close()``).

    Writing (:meth:`add`, :meth:`remove`) takes a dot-lock (``path.lock``,
    ``O_EXCL``) and an fcntl lock on the file, and releases them when done;
    use :meth:`lock` to hold them across several calls. Reading takes a
    shared fcntl lock while it scans.

    An Mbox object is meant for one thread; threads (and processes) that
    each open their own exclude one another through the locks.

    Args:
        path: The mbox file.
        create: Create an empty file if there is none (else
            ``FileNotFoundError``).
        lock_timeout: Seconds to wait for a busy lock before
            :class:`LockTimeoutError`.
        stale_lock_after: Age in seconds after which a dot-lock left by a
            crashed program is removed.
        limits: Parser limits for the messages read.
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True,
                 lock_timeout: float = 30.0, stale_lock_after: float = 300.0,
                 limits: Limits | None = None) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self._limits = limits
        self._dot = DotLock(self.path, stale_after=stale_lock_after)
        self._held_fd: int | None = None  # while the write locks are held
        self._toc: list[Entry] = []
        self._index: dict[int, int] = {}
        self._stamp: tuple[int, ...] | None = None
        if not self.path.exists():
            if not create:
                raise FileNotFoundError(f"no mbox at {self.path}")
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))

    def __repr__(self) -> str:
        return f"Mbox({str(self.path)!r})"

    # -- locking ----------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[Mbox]:
        """Hold the write locks across several calls (re-entrant).

        Example::

            with mb.lock():
                spam = [key for key, msg in mb.items() if msg.subject == "spam"]
                mb.remove_many(spam)

        Removing a message changes the keys after it (not the ones before),
        so collect keys and call :meth:`remove_many`, or remove in reverse
        order.
        """
        with self._locked():
            yield self

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        """Yield a read-write descriptor of the mbox with both write locks taken."""
        if self._held_fd is not None:
            yield self._held_fd
            return
        self._held_fd = self._acquire(exclusive=True)
        try:
            yield self._held_fd
        finally:
            # Not necessarily the descriptor acquired: a rewrite swaps in the new file's.
            fd, self._held_fd = self._held_fd, None
            unlock_fd(fd)
            os.close(fd)
            self._dot.release()

    def _acquire(self, exclusive: bool) -> int:
        deadline = time.monotonic() + self.lock_timeout
        sleep = FIRST_SLEEP
        while True:
            if exclusive and not self._dot.try_acquire():
                sleep = backoff(deadline, sleep, str(self.path))
                continue
            # Opened only now, after the dot-lock: if another program
            # replaced the file meanwhile, this is the new one.
            try:
                if exclusive:
                    fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                else:
                    fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            except BaseException:
                self._dot.release()
                raise
            if lock_fd(fd, exclusive=exclusive):
                return fd
            # Busy: let go of everything before waiting (no lock-order deadlock).
            os.close(fd)
            self._dot.release()
            sleep = backoff(deadline, sleep, str(self.path))

    @contextlib.contextmanager
    def _reading(self) -> Iterator[int]:
        """A descriptor with a shared lock (or the held write lock's), or -1
        when there is no file."""
        if self._held_fd is not None:
            yield self._held_fd
            return
        try:
            fd = self._acquire(exclusive=False)
        except FileNotFoundError:
            self._set_toc([], None)
            yield -1
            return
        try:
            yield fd
        finally:
            unlock_fd(fd)
            os.close(fd)

    # -- the table of contents ----------------------------------------------------------

    def _set_toc(self, toc: list[Entry], stamp: tuple[int, ...] | None) -> None:
        self._toc = toc
        self._index = {e.start: i for i, e in enumerate(toc)}
        self._stamp = stamp

    def _refresh(self, fd: int) -> list[Entry]:
        """The messages of the file behind ``fd``, re-scanned if it changed."""
        if fd < 0:
            return []
        st = os.fstat(fd)
        stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if stamp != self._stamp:
            self._set_toc(scan_mbox(fd, st.st_size), stamp)
        return self._toc

    def _entry(self, fd: int, key: int) -> Entry:
        self._refresh(fd)
        i = self._index.get(key) if isinstance(key, int) else None
        if i is None:
            raise KeyError(key)
        return self._toc[i]

    # -- reading ------------------------------------------------------------------

    def keys(self) -> list[int]:
        """The keys (``From`` line offsets) in file order."""
        with self._reading() as fd:
            return [e.start for e in self._refresh(fd)]

    def __len__(self) -> int:
        with self._reading() as fd:
            return len(self._refresh(fd))

    def __contains__(self, key: object) -> bool:
        with self._reading() as fd:
            self._refresh(fd)
            return key in self._index

    def _message(self, fd: int, e: Entry) -> Message:
        if e.end - e.start <= _SMALL:
            return parse(self._raw(fd, e), limits=self._limits)
        omit = [] if e.verbatim else find_quoted(FileReader(fd, e.end).read, e.content, e.end)
        return parse_range(fd, e.start, e.end, omit=omit, limits=self._limits)

    def _raw(self, fd: int, e: Entry) -> bytes:
        data = FileReader(fd, e.end).read(e.start, e.end)
        if e.verbatim:
            return data
        cut = e.content - e.start
        return data[:cut] + unquote(data[cut:])

    def get_message(self, key: int) -> Message:
        """The message at ``key``, with :attr:`~mimekit.Message.mbox_from` set.

        Raises:
            KeyError: no message starts at that offset.
        """
        with self._reading() as fd:
            return self._message(fd, self._entry(fd, key))

    __getitem__ = get_message

    def get_bytes(self, key: int) -> bytes:
        """The message's bytes, ``From`` line included, ``>From`` unquoted:
        the same as ``bytes(mb[key])``.

        Raises:
            KeyError: no message starts at that offset.
        """
        with self._reading() as fd:
            return self._raw(fd, self._entry(fd, key))

    def get_from_line(self, key: int) -> str:
        """The ``From`` line of the message at ``key``, without its line end."""
        with self._reading() as fd:
            e = self._entry(fd, key)
            line = FileReader(fd, e.content).read(e.start, e.content)
        return line.rstrip(b"\r\n").decode("utf-8", "surrogateescape")

    def items(self) -> Iterator[tuple[int, Message]]:
        """``(key, message)`` pairs in file order, from a snapshot of the file.

        Messages appended meanwhile are not included; if another program
        rewrites the file meanwhile, the snapshot is still read consistently
        (from the replaced file, which stays open until the iteration ends).
        """
        with self._reading() as fd:
            toc = list(self._refresh(fd))
            snapshot = os.dup(fd) if fd >= 0 else -1
        try:
            for e in toc:
                yield e.start, self._message(snapshot, e)
        finally:
            if snapshot >= 0:
                os.close(snapshot)

    def __iter__(self) -> Iterator[Message]:
        """Every message in file order (see :meth:`items`)."""
        for _key, msg in self.items():
            yield msg

    values = __iter__

    # -- writing ------------------------------------------------------------------

    def _from_line(self, inp: MessageInput, from_line: str | bytes | None) -> bytes:
        if from_line is None:
            if inp.from_line is not None:
                return inp.from_line.rstrip(b"\r\n")
            return make_from_line(_envelope_sender(inp.header_view()))
        line = from_line.encode("utf-8") if isinstance(from_line, str) else bytes(from_line)
        if not line.startswith(b"From ") or b"\n" in line or b"\r" in line:
            raise ValueError(f"an mbox From line starts with 'From ' and is one line: {line!r}")
        return line

    def add(self, message: MessageLike, *, from_line: str | bytes | None = None) -> int:
        """Append a message; returns its key (the offset of its ``From`` line).

        The ``From`` line is ``from_line``, else the message's own
        (:attr:`~mimekit.Message.mbox_from`, or a leading ``From`` line of
        bytes or a file), else ``From <sender> <date>`` with the sender from
        Return-Path or From (``MAILER-DAEMON`` if neither) and the current
        time. Lines matching ``"^>*From "`` get one more ``>`` (mboxrd), a
        message not ending in a line break gets one, and an empty line
        follows. The data is fsync'ed; on any error the file is cut back to
        its old size, so a failed add leaves no partial message.

        Args:
            message: A :class:`~mimekit.Message`, bytes, or a binary file
                (streamed in bounded memory, while the mbox is locked: spool
                a slow network stream first).
            from_line: An explicit separator line, ``"From sender date"``.

        Raises:
            ValueError: ``from_line`` is not a single ``"From "`` line.
            LockTimeoutError: the mbox stayed locked by another program.
        """
        inp = MessageInput(message)
        line = self._from_line(inp, from_line)
        with self._locked() as fd:
            size = os.fstat(fd).st_size
            prefix = b""
            if size and os.pread(fd, 1, size - 1) != b"\n":
                prefix = b"\n"  # the last message lacks a line end: the From line needs one
            try:
                os.lseek(fd, size, os.SEEK_SET)
                with open(fd, "wb", buffering=CHUNK, closefd=False) as out:
                    out.write(prefix + line + b"\n")
                    quoting = QuotingWriter(out)
                    inp.write_content(quoting)
                    quoting.close()
                    if quoting.last != b"\n":
                        out.write(b"\n" if quoting.last == b"\r" or not quoting.crlf
                                  else b"\r\n")
                    out.write(b"\n")
                os.fsync(fd)
            except BaseException:
                os.ftruncate(fd, size)
                raise
        return size + len(prefix)

    def remove_many(self, keys: Iterable[int]) -> None:
        """Remove several messages with one rewrite of the file.

        The file is rewritten to a temporary file next to it (fsync'ed, with
        the old file's mode and, where permitted, owner) which then replaces
        it atomically; a crash leaves either the old or the new mbox.

        Raises:
            KeyError: a key is not a message's offset (nothing is removed).
        """
        doomed = set(keys)
        if not doomed:
            return
        with self._locked() as fd:
            toc = self._refresh(fd)
            missing = doomed - set(self._index)
            if missing:
                raise KeyError(min(missing, key=repr))
            keep: list[tuple[int, int]] = []
            if toc and toc[0].start:
                keep.append((0, toc[0].start))  # a byte order mark or junk before it
            keep += [(e.start, e.next) for e in toc if e.start not in doomed]
            # The new file comes back locked; it replaces ours in the held
            # state, so a caller's lock() block goes on with the new file.
            self._held_fd = self._rewrite(fd, keep)
            unlock_fd(fd)
            os.close(fd)
            self._set_toc([], None)

    def remove(self, key: int) -> None:
        """Remove one message (rewrites the file; later keys change).

        Raises:
            KeyError: no message starts at that offset.
        """
        self.remove_many([key])

    __delitem__ = remove

    def discard(self, key: int) -> None:
        """Remove the message if it is there."""
        with contextlib.suppress(KeyError):
            self.remove(key)

    def _rewrite(self, fd: int, spans: list[tuple[int, int]]) -> int:
        """Write ``spans`` of the file to a new file that replaces it; return
        the new file's descriptor, already fcntl-locked, so that no other
        program can lock the new file between the rename and our release."""
        st = os.fstat(fd)
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
        out = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            if not lock_fd(out, exclusive=True):  # a brand-new name: nobody else has it
                raise OSError(f"cannot lock {tmp}")
            copied = 0
            for start, end in spans:
                pos = start
                while pos < end:
                    chunk = os.pread(fd, min(CHUNK * 16, end - pos), pos)
                    if not chunk:
                        break
                    os.write(out, chunk)
                    pos += len(chunk)
                    copied += len(chunk)
                    if copied >= _TOUCH_EVERY:
                        self._dot.touch()
                        copied = 0
            os.fchmod(out, st.st_mode & 0o7777)
            with contextlib.suppress(PermissionError):
                os.fchown(out, st.st_uid, st.st_gid)
            os.fsync(out)
            os.replace(tmp, self.path)
        except BaseException:
            os.close(out)
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(self.path.parent)
        return out


def _envelope_sender(msg: Message) -> str | None:
    """The envelope sender for a new From line: Return-Path, else From."""
    h = msg.headers.get("Return-Path")
    if h is not None:
        addr = h.text.strip().strip("<>").strip()
        if addr:
            return addr
    boxes = msg.from_.mailboxes
    return boxes[0].addr_spec if boxes else None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
