"""The Maildir++ store: one file per message in ``tmp/ new/ cur/``.

References: the Maildir spec (https://cr.yp.to/proto/maildir.html), Maildir++
(https://www.courier-mta.org/imap/README.maildirquota.html) and Dovecot's
Maildir notes (https://doc.dovecot.org/admin_manual/mailbox_formats/maildir/).
File names, flags and folder names are in :mod:`._names`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TypeVar

from ..tree import Limits, Message, parse_file
from ._input import CHUNK, MessageInput, MessageLike, SizeCounter
from ._names import (
    FOLDER_SEP,
    INFO_SEP,
    check_folder_name,
    decode_folder_name,
    encode_folder_name,
    flags_of,
    make_info,
    normalize_flags,
    split_name,
    unique_name,
    writer_is_dead,
)

__all__ = ["Maildir"]

_T = TypeVar("_T")
#: How often a lookup follows a message that another program keeps renaming.
_RETRIES = 8
#: The spec: "unlink any file in tmp that has not been accessed in 36 hours".
TMP_MAX_AGE = 36 * 3600
_SUBDIRS = ("tmp", "new", "cur")
_SIZE_FIELD = re.compile(r",S=(\d+)")
# "<secs>.M<usecs>P<pid>Q<n>" (ours, Dovecot's, Python's); other writers'
# names may have only the seconds.
_ORDER_FIELDS = re.compile(r"(\d+)(?:\.M(\d+))?(?:P\d+)?(?:Q(\d+))?")
# link() is not offered by every file system; rename() is the fallback.
_NO_LINK = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS,
                      errno.EMLINK, errno.EXDEV})


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _deliver(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst`` without ever replacing an existing ``dst``."""
    try:
        os.link(src, dst)
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
        os.rename(src, dst)
        return
    os.unlink(src)


def _order(key: str) -> tuple[int, int, int, str]:
    """Delivery order: names start with the delivery time (seconds, then
    microseconds and a per-process counter where the writer put them)."""
    m = _ORDER_FIELDS.match(key)
    if m is None:
        return (0, 0, 0, key)
    return (int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0), key)


def _timestamp(when: datetime | float) -> float:
    return when.timestamp() if isinstance(when, datetime) else float(when)


class Maildir:
    """A Maildir++ mailbox: a directory with ``tmp/``, ``new/`` and ``cur/``.

    Keys are the unique part of a message's file name (before ``:2,``), so a
    key stays the same when flags change or the message moves from ``new/``
    to ``cur/``. Mapping-like: ``len(md)``, ``key in md``, ``md[key]``,
    ``for key in md``, ``md.items()``.

    Every lookup uses the last directory listing and lists the directories
    again when a file is no longer where it was, so other programs (Dovecot, a
    second mimekit) may deliver, rename and delete meanwhile.

    Args:
        path: The Maildir's directory.
        create: Create the directory and its ``tmp/ new/ cur/`` if missing
            (mode 0700). Otherwise a missing one raises ``FileNotFoundError``.
        limits: Parser limits for the messages read.
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = False,
                 limits: Limits | None = None) -> None:
        self.path = Path(path)
        self._limits = limits
        self._toc: dict[str, tuple[str, str]] = {}
        #: The file mode for new messages, once looked up (see add()).
        self._file_mode: int | None = None
        if create:
            for sub in ("", *_SUBDIRS):
                (self.path / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        elif not all((self.path / sub).is_dir() for sub in ("new", "cur")):
            raise FileNotFoundError(f"not a Maildir (no new/ and cur/): {self.path}")
        # A Maildir++ folder (".Sent") knows its top-level Maildir, because
        # sub-folders live next to it there: ".Sent.2024", not ".Sent/.2024".
        self._root = self.path
        self._folder: str | None = None
        # It is one when its name starts with "." and its parent is a Maildir
        # (Dovecot's "maildirfolder" marker alone is not proof: Dovecot puts
        # one in the top-level Maildir too, which may be called ~/.maildir).
        name = self.path.name
        if name.startswith(".") and name not in (".", "..") and \
                all((self.path.parent / sub).is_dir() for sub in ("new", "cur")):
            self._root = self.path.parent
            self._folder = decode_folder_name(name[1:])

    def __repr__(self) -> str:
        return f"Maildir({str(self.path)!r})"

    @property
    def folder_name(self) -> str | None:
        """This folder's name (``"Lists.python"``), or None for the top level (INBOX)."""
        return self._folder

    # -- the listing ------------------------------------------------------------------

    def _rescan(self) -> dict[str, tuple[str, str]]:
        # new/ before cur/: a message moved from new/ to cur/ meanwhile is
        # then seen twice (and kept once) rather than missed.
        toc: dict[str, tuple[str, str]] = {}
        for sub in ("new", "cur"):
            try:
                names = os.listdir(self.path / sub)
            except FileNotFoundError:
                continue
            for name in names:
                if name.startswith("."):
                    continue  # the spec: readers skip dot files
                toc[split_name(name)[0]] = (sub, name)
        self._toc = toc
        return toc

    def _with_path(self, key: str, op: Callable[[Path, str, str], _T]) -> _T:
        """Run ``op(path, subdir, name)`` on the message's file, following it
        when another program renamed it meanwhile.

        Raises:
            KeyError: no message has this key.
        """
        if not isinstance(key, str):
            raise KeyError(key)
        for attempt in range(_RETRIES):
            loc = self._toc.get(key)
            if loc is None or attempt:
                loc = self._rescan().get(key)
                if loc is None:
                    raise KeyError(key)
            sub, name = loc
            try:
                return op(self.path / sub / name, sub, name)
            except FileNotFoundError:
                continue  # renamed or deleted meanwhile: list again
        raise KeyError(key)

    def keys(self) -> list[str]:
        """All keys, in delivery order (a fresh listing)."""
        return sorted(self._rescan(), key=_order)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._rescan())

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            self._with_path(key, lambda p, _s, _n: os.lstat(p))
        except KeyError:
            return False
        return True

    # -- reading ------------------------------------------------------------------------

    def get_message(self, key: str) -> Message:
        """The message, parsed lazily from its file (:func:`mimekit.parse_file`).

        Files over 64 KiB stay open until the message is closed; a message
        renamed or deleted by another program afterwards can still be read.

        Raises:
            KeyError: no message has this key.
        """
        return self._with_path(key, lambda p, _s, _n: parse_file(p, limits=self._limits))

    __getitem__ = get_message

    def get_bytes(self, key: str) -> bytes:
        """The message file's bytes."""
        return self._with_path(key, lambda p, _s, _n: p.read_bytes())

    def get_file(self, key: str) -> IO[bytes]:
        """The message file, open for binary reading (close it when done)."""
        return self._with_path(key, lambda p, _s, _n: open(p, "rb"))

    def get_path(self, key: str) -> Path:
        """Where the message's file is now (it moves when flags change)."""
        def here(p: Path, _s: str, _n: str) -> Path:
            os.lstat(p)
            return p
        return self._with_path(key, here)

    def get_flags(self, key: str) -> str:
        """The flags, in ASCII order (``"FS"``); ``""`` for a message in ``new/``."""
        def flags(p: Path, _s: str, name: str) -> str:
            os.lstat(p)  # still there under this name?
            return flags_of(split_name(name)[1])
        return self._with_path(key, flags)

    def get_subdir(self, key: str) -> str:
        """``"new"`` (not yet seen by a mail reader) or ``"cur"``."""
        def subdir(p: Path, sub: str, _n: str) -> str:
            os.lstat(p)
            return sub
        return self._with_path(key, subdir)

    def get_date(self, key: str) -> datetime:
        """The delivery date: the file's mtime, as Dovecot's IMAP INTERNALDATE."""
        mtime = self._with_path(key, lambda p, _s, _n: os.stat(p).st_mtime)
        return datetime.fromtimestamp(mtime, UTC)

    def get_size(self, key: str) -> int:
        """The file's size: from the Maildir++ ``,S=`` field when the name has
        one (no system call), else from the file."""
        m = _SIZE_FIELD.search(key)
        if m is not None and key in self:
            return int(m.group(1))
        return self._with_path(key, lambda p, _s, _n: os.stat(p).st_size)

    def items(self) -> Iterator[tuple[str, Message]]:
        """``(key, message)`` for every message, in delivery order. Messages
        removed by another program during the iteration are skipped."""
        for key in self.keys():
            try:
                msg = self.get_message(key)
            except KeyError:
                continue
            yield key, msg

    def values(self) -> Iterator[Message]:
        """Every message, in delivery order (see :meth:`items`)."""
        for _key, msg in self.items():
            yield msg

    # -- delivering -----------------------------------------------------------------------

    def add(self, message: MessageLike, flags: str | Iterable[str] = "", *,
            date: datetime | float | None = None, exact: bool = False) -> str:
        """Deliver a message atomically; returns its key.

        The message is written to ``tmp/`` and fsync'ed, then moved (hard
        link, then unlink: never over an existing file) into ``new/`` when no
        flags are given, or ``cur/`` with ``:2,<flags>`` when they are (a
        message with flags has been seen by a reader; Python's ``mailbox``
        and Dovecot do the same); then that directory is fsync'ed. The name
        is ``<secs>.M<usecs>P<pid>Q<n>R<random>.<host>,S=<size>,W=<vsize>``
        (Maildir++ and Dovecot size fields). A leading mbox ``From`` line
        is not stored unless ``exact``. Line ends are stored as given. The file's mode
        follows the Maildir directory's, without execute bits (as Dovecot).

        Args:
            message: A :class:`~mimekit.Message`, bytes, or a binary file
                (streamed in bounded memory).
            flags: Any of ``D F P R S T`` and keyword letters ``a``-``z``.
            date: The delivery date to record as the file's mtime (IMAP's
                INTERNALDATE); default now.
            exact: Store the bytes exactly as given, a first line that looks
                like an mbox ``From`` line included (IMAP APPEND and COPY:
                the stored message must be the one the client sent).

        Raises:
            ValueError: an invalid flag.
        """
        info_flags = normalize_flags(flags)
        inp = MessageInput(message)
        name = unique_name()
        tmp = self.path / "tmp" / name
        mode = self._file_mode
        if mode is None:
            # Once per object: a server delivering thousands of messages
            # should not pay two more system calls for each.
            tmp.parent.mkdir(mode=0o700, exist_ok=True)  # Dovecot makes tmp/ lazily
            mode = self._file_mode = os.stat(self.path).st_mode & 0o666
        open_flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        try:
            fd = os.open(tmp, open_flags, mode)
        except FileNotFoundError:  # tmp/ removed since (Dovecot cleans it): remake it
            tmp.parent.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(tmp, open_flags, mode)
        try:
            with os.fdopen(fd, "wb", buffering=CHUNK) as f:
                counter = SizeCounter(f)
                inp.write_content(counter, with_from_line=exact)
                f.flush()
                os.fsync(f.fileno())
            if date is not None:
                stamp = _timestamp(date)
                os.utime(tmp, (stamp, stamp))
            key = f"{name},S={counter.size},W={counter.virtual_size}"
            sub = "cur" if info_flags else "new"
            final = key + (INFO_SEP + make_info(info_flags) if info_flags else "")
            _deliver(tmp, self.path / sub / final)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(self.path / sub)
        self._toc[key] = (sub, final)
        return key

    # -- flags --------------------------------------------------------------------------

    def _rename_flags(self, key: str, change: Callable[[str], str]) -> None:
        """Rename the message into ``cur/`` with ``change(current flags)``.

        A concurrent rename by another program makes our rename fail with
        ENOENT; we then look again and apply the change to its new flags,
        so neither change is lost.
        """
        def rename(p: Path, sub: str, name: str) -> None:
            new_flags = change(flags_of(split_name(name)[1]))
            new_name = key + INFO_SEP + make_info(new_flags)
            if sub == "cur" and name == new_name:
                os.lstat(p)
                return
            os.rename(p, self.path / "cur" / new_name)
            self._toc[key] = ("cur", new_name)
        self._with_path(key, rename)

    def set_flags(self, key: str, flags: str | Iterable[str]) -> None:
        """Replace the flags (``md.set_flags(key, "RS")``); moves the message
        to ``cur/`` if it was in ``new/``.

        Raises:
            KeyError: no message has this key.
            ValueError: an invalid flag (checked first: nothing changes).
        """
        wanted = normalize_flags(flags)
        self._rename_flags(key, lambda _old: wanted)

    def add_flag(self, key: str, flags: str | Iterable[str]) -> None:
        """Add flags to the ones the message has (``md.add_flag(key, "S")``)."""
        extra = normalize_flags(flags)
        self._rename_flags(key, lambda old: "".join(sorted(set(old) | set(extra))))

    def remove_flag(self, key: str, flags: str | Iterable[str]) -> None:
        """Take flags away (flags it does not have are ignored)."""
        gone = set(normalize_flags(flags))
        self._rename_flags(key, lambda old: "".join(sorted(set(old) - gone)))

    def move_to_cur(self, key: str) -> None:
        """Mark the message as noticed by a mail reader: move it from ``new/``
        to ``cur/`` (adding an empty ``:2,`` info) without changing its flags.
        This is what ends IMAP's ``\\Recent``; the ``S`` flag is "read"."""
        self._rename_flags(key, lambda old: old)

    # -- removing -------------------------------------------------------------------------

    def remove(self, key: str) -> None:
        """Delete the message.

        Raises:
            KeyError: no message has this key.
        """
        def unlink(p: Path, _s: str, _n: str) -> None:
            os.unlink(p)
            self._toc.pop(key, None)
        self._with_path(key, unlink)

    __delitem__ = remove

    def discard(self, key: str) -> None:
        """Delete the message if it is there."""
        with contextlib.suppress(KeyError):
            self.remove(key)

    def clean(self, max_age: float = TMP_MAX_AGE, *, dead_writers: bool = False) -> int:
        """Delete files in ``tmp/`` untouched for ``max_age`` seconds (the spec:
        36 hours): left over from deliveries that crashed. Returns how many.

        "Untouched" means neither read (atime) nor written (mtime) since.
        With ``dead_writers``, also delete at once the files that a process of
        this host wrote and that no longer runs (their names say which: see
        :func:`writer_is_dead`), as a server does when it starts again after
        a crash; another program's files in progress are never touched.
        """
        removed = 0
        now = time.time()
        tmp = self.path / "tmp"
        try:
            names = os.listdir(tmp)
        except FileNotFoundError:
            return 0
        for name in names:
            path = tmp / name
            try:
                st = os.lstat(path)
                stale = now - max(st.st_atime, st.st_mtime) > max_age or (
                    dead_writers and writer_is_dead(name))
                if stale and path.is_file():
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue  # delivered or cleaned by someone else meanwhile
        return removed

    # -- Maildir++ folders -------------------------------------------------------------------

    def _folder_dir(self, name: str) -> Path:
        full = self._full_name(name)
        return self._root / ("." + encode_folder_name(full))

    def _full_name(self, name: str) -> str:
        check_folder_name(name)
        return f"{self._folder}{FOLDER_SEP}{name}" if self._folder else name

    def list_folders(self) -> list[str]:
        """The folders below this one, sorted; nested ones as ``"A.B"``.

        At the top level that is every ``.Name`` directory of the Maildir;
        in a folder ``A``, the ones named ``A.<something>``, without the
        ``A.`` prefix.
        """
        prefix = f"{self._folder}{FOLDER_SEP}" if self._folder else ""
        found = []
        for entry in os.listdir(self._root):
            if not entry.startswith(".") or entry in (".", "..") or entry.startswith(".."):
                continue
            if not (self._root / entry).is_dir():
                continue
            name = decode_folder_name(entry[1:])
            if name.startswith(prefix) and len(name) > len(prefix):
                found.append(name[len(prefix):])
        return sorted(found)

    def folder(self, name: str, *, create: bool = False) -> Maildir:
        """Open a folder: ``md.folder("Sent")``, ``md.folder("Lists.python")``.

        Raises:
            FileNotFoundError: no such folder (and ``create`` is False).
            ValueError: the name cannot be a Maildir++ folder name.
        """
        if create:
            return self.add_folder(name)
        path = self._folder_dir(name)
        if not path.is_dir():
            raise FileNotFoundError(f"no folder {name!r} in {self._root}")
        return self._open_folder(path, self._full_name(name))

    def _open_folder(self, path: Path, full: str) -> Maildir:
        md = Maildir(path, create=True, limits=self._limits)
        md._root, md._folder = self._root, full
        return md

    def add_folder(self, name: str) -> Maildir:
        """Create a folder (with Dovecot's ``maildirfolder`` marker file) and
        open it; an existing one is just opened. Parent folders are not
        created: Maildir++ does not need them."""
        path = self._folder_dir(name)
        md = self._open_folder(path, self._full_name(name))
        marker = path / "maildirfolder"
        if not marker.exists():
            os.close(os.open(marker, os.O_WRONLY | os.O_CREAT, 0o600))
        return md

    def remove_folder(self, name: str) -> None:
        """Delete an empty folder (files of Dovecot's index and of ``tmp/``
        go with it). Its sub-folders are separate directories and stay.

        Raises:
            FileNotFoundError: no such folder.
            OSError: (``ENOTEMPTY``) it still holds messages.
        """
        path = self._folder_dir(name)
        if not path.is_dir():
            raise FileNotFoundError(f"no folder {name!r} in {self._root}")
        for sub in ("new", "cur"):
            with contextlib.suppress(FileNotFoundError):
                if any(not n.startswith(".") for n in os.listdir(path / sub)):
                    raise OSError(errno.ENOTEMPTY, f"folder {name!r} still holds messages",
                                  str(path))
        shutil.rmtree(path)
