"""One Maildir folder as an IMAP mailbox: UIDs, flags, \\Recent, changes.

A :class:`Folder` is the in-process state of one folder, shared by every
session that has it selected (the :class:`~._mailbox.MailboxHub` hands out
one per directory). It keeps the messages in UID order with their Maildir
info letters, syncs with the disk when something changed there (another
process delivered, renamed or deleted a file), and tells the sessions'
views (:mod:`._mailbox_view`) about every change.

Syncing is cheap when nothing changed: it compares the mtimes of ``new/``
and ``cur/`` and the uid-list's stamp with the last ones seen (three
``stat`` calls). Otherwise it lists both directories once. A directory
whose mtime is less than two seconds old is listed again on the next sync,
because a second change within the file system's timestamp granularity
would not move the mtime.

All methods do blocking file I/O (small: renames, appends, listings); an
asyncio server may call them directly for small mailboxes or through
``asyncio.to_thread``. A folder's state is guarded by a lock, so both work.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import functools
import os
import re
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..mailstore import Maildir
from ._bodystructure import crlf_size
from ._fetch_data import MessageData
from ._mailbox_errors import MessageExpungedError
from ._mailbox_flags import SYSTEM_LETTERS, Keywords, check_flags
from ._uidlist import UidList, allocate_uidvalidity, locked

if TYPE_CHECKING:
    from ._mailbox_view import MailboxView

__all__ = ["Folder", "MessageInfo"]

_WSIZE = re.compile(r",W=(\d+)")
_SSIZE = re.compile(r",S=(\d+)")
_ORDER = re.compile(r"(\d+)(?:\.M(\d+))?(?:P\d+)?(?:Q(\d+))?")
#: Directory mtimes younger than this are not trusted to catch the next change.
_FRESH_NS = 2_000_000_000
#: How many messages' ENVELOPE/BODYSTRUCTURE are kept per folder.
CACHE_SIZE = 4096


def _order(key: str) -> tuple[int, int, int, str]:
    """Delivery order of Maildir unique names (``<secs>.M<usecs>P<pid>Q<n>``)."""
    m = _ORDER.match(key)
    if m is None:
        return (0, 0, 0, key)
    return (int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0), key)


class MessageInfo:
    """One message of a folder: its UID, Maildir key and info letters."""

    __slots__ = ("_mtime", "_size", "key", "letters", "modseq", "name", "sub", "uid")

    def __init__(self, uid: int, key: str, sub: str, name: str, letters: str) -> None:
        self.uid = uid
        self.key = key
        self.sub = sub
        self.name = name
        self.letters = letters
        self.modseq = 0
        self._size: int | None = None
        self._mtime: float | None = None


@dataclass(frozen=True, slots=True)
class CopyResult:
    """What COPY and MOVE did (RFC 4315 COPYUID): the destination's
    UIDVALIDITY and ``(source uid, destination uid)`` pairs in source order."""

    uidvalidity: int
    pairs: tuple[tuple[int, int], ...]

    @property
    def source_uids(self) -> list[int]:
        return [a for a, _ in self.pairs]

    @property
    def dest_uids(self) -> list[int]:
        return [b for _, b in self.pairs]


class Folder:
    """The shared state of one Maildir folder (see the module docs).

    Args:
        path: The folder's directory (the store root for INBOX).
        root: The store's root (where UIDVALIDITY values come from).
        name: The mailbox name (for messages only).
    """

    def __init__(self, path: Path, root: Path, name: str) -> None:
        self.path = path
        self.root = root
        self.name = name
        self.md = Maildir(path, create=True)
        self.lock = threading.RLock()
        self.keywords = Keywords(path)
        self.msgs: dict[int, MessageInfo] = {}
        self.order: list[int] = []
        self.by_key: dict[str, int] = {}
        #: Bumped on every flag change (a view remembers the last it saw).
        self.modseq = 0
        #: Bumped on every expunge.
        self.expunges = 0
        self.gone = False
        #: Bumped when the UIDs start over (a new UIDVALIDITY): sessions
        #: that selected the folder before must leave it.
        self.epoch = 0
        self.views: weakref.WeakSet[MailboxView] = weakref.WeakSet()
        self._stamp: tuple[Any, ...] | None = None
        self._dirty = True
        self._cache: OrderedDict[int, tuple[tuple[Any, ...], tuple[Any, ...]]] = OrderedDict()
        with locked(path / "mimekit-uidlist.lock"):
            uidlist = UidList.load(path)
            if uidlist is None:
                uidlist = UidList(path, allocate_uidvalidity(root))
                uidlist.create()
        self.uidlist = uidlist
        self.sync(force=True)

    # -- state -----------------------------------------------------------------------

    @property
    def uidvalidity(self) -> int:
        return self.uidlist.uidvalidity

    @property
    def uidnext(self) -> int:
        return self.uidlist.uidnext

    @property
    def first_recent(self) -> int:
        return self.uidlist.first_recent

    def flags_of(self, info: MessageInfo) -> tuple[str, ...]:
        return self.keywords.flags_of(info.letters)

    def get(self, uid: int) -> MessageInfo:
        info = self.msgs.get(uid)
        if info is None:
            raise MessageExpungedError(f"message UID {uid} has been expunged")
        return info

    # -- syncing with the disk -----------------------------------------------------------

    def _disk_stamp(self) -> tuple[Any, ...]:
        out: list[Any] = []
        for sub in ("new", "cur"):
            try:
                st = os.stat(self.path / sub)
                out.append((st.st_ino, st.st_mtime_ns))
            except FileNotFoundError:
                out.append(None)
        out.append(self.uidlist._file_stamp())
        out.append(self.keywords._file_stamp())
        return tuple(out)

    def mark_dirty(self) -> None:
        """Make the next :meth:`sync` list the directories (a delivery in
        this process said so, through the hub)."""
        self._dirty = True

    def sync(self, *, force: bool = False) -> bool:
        """Catch up with the disk; returns True if anything changed.

        New files get UIDs in delivery order; files gone are expunges;
        renamed ones are flag changes. Views are told.
        """
        with self.lock:
            if self.gone:
                return False
            stamp = self._disk_stamp()
            if not force and not self._dirty and stamp == self._stamp:
                return False
            now = time.time_ns()
            if not self.path.is_dir():
                self.vanish()
                return True
            with locked(self.uidlist.lock_path):
                self._catch_up()
                self.keywords.reload()
                listing = self._list()
                records: list[str] = []
                for key in [k for k in self.uidlist.uids if k not in listing]:
                    rec = self.uidlist.remove(key)
                    if rec:
                        records.append(rec)
                for key in sorted((k for k in listing if k not in self.uidlist.uids), key=_order):
                    records.append(self.uidlist.add(key)[1])
                self.uidlist.append(records)
            changed = self._apply(listing)
            self._stamp = self._disk_stamp()
            self._dirty = any(s is not None and isinstance(s, tuple) and len(s) == 2 and
                              now - s[1] < _FRESH_NS for s in stamp[:2])
            if changed:
                self.notify()
            return changed

    def _catch_up(self) -> None:
        """Read what other processes appended to the uid-list (call with the
        uid-list lock held). A uid-list deleted or damaged by someone starts
        a new UID epoch: new UIDVALIDITY, every message gets a new UID."""
        if self.uidlist.changed_on_disk() and not self.uidlist.reload():
            self.uidlist = UidList(self.path, allocate_uidvalidity(self.root))
            self.uidlist.create()
            self._forget_all()
            self._dirty = True
            self.epoch += 1

    def _list(self) -> dict[str, tuple[str, str, str]]:
        """``{key: (subdir, file name, info letters)}`` of the files now there."""
        out: dict[str, tuple[str, str, str]] = {}
        for sub in ("new", "cur"):
            try:
                names = os.listdir(self.path / sub)
            except FileNotFoundError:
                continue
            for name in names:
                if name.startswith("."):
                    continue
                key, sep, info = name.partition(":")
                letters = "".join(sorted(set(info[2:]))) if sep and info.startswith("2,") \
                    else ""
                if sub == "new" and key in out:
                    continue
                out[key] = (sub, name, letters)
        return out

    def _apply(self, listing: dict[str, tuple[str, str, str]]) -> bool:
        changed = False
        uids = self.uidlist.uids
        gone = [uid for uid, info in self.msgs.items() if uids.get(info.key) != uid]
        for uid in gone:
            self._drop(uid)
            changed = True
        added = False
        for key, uid in uids.items():
            sub, name, letters = listing[key]
            info = self.msgs.get(uid)
            if info is None:
                self.msgs[uid] = MessageInfo(uid, key, sub, name, letters)
                self.by_key[key] = uid
                added = changed = True
            else:
                info.sub, info.name = sub, name
                if info.letters != letters:
                    info.letters = letters
                    self.modseq += 1
                    info.modseq = self.modseq
                    changed = True
        if added:
            self.order = sorted(self.msgs)
        return changed

    def _drop(self, uid: int) -> None:
        info = self.msgs.pop(uid, None)
        if info is None:
            return
        self.by_key.pop(info.key, None)
        self._cache.pop(uid, None)
        self.expunges += 1
        i = _index(self.order, uid)
        if i is not None:
            del self.order[i]

    def _forget_all(self) -> None:
        for uid in list(self.msgs):
            self._drop(uid)

    def vanish(self) -> None:
        """The folder was deleted or renamed away: every view sees it gone."""
        with self.lock:
            self.gone = True
            self._forget_all()
        self.notify()

    # -- telling the sessions ----------------------------------------------------------

    def notify(self, source: MailboxView | None = None) -> None:
        """Call the listener of every view but ``source`` (see
        :meth:`MailboxView.set_listener`)."""
        for view in list(self.views):
            if view is not source:
                view._wake()

    # -- \\Recent -------------------------------------------------------------------------

    def claim_recent(self) -> set[int]:
        """UIDs that are \\Recent for the calling (read-write) session, which
        is the first to see them; later sessions will not see them as
        recent. Their files move from ``new/`` to ``cur/`` (RFC 3501 section
        2.3.2; the Maildir spec: a reader moves what it has seen)."""
        with self.lock:
            first = self.uidlist.first_recent
            if first >= self.uidlist.uidnext:
                return set()
            with locked(self.uidlist.lock_path):
                self._catch_up()
                first = self.uidlist.first_recent
                rec = self.uidlist.set_first_recent(self.uidlist.uidnext)
                if rec:
                    self.uidlist.append([rec])
            claimed = {uid for uid in self.order if uid >= first}
            for uid in claimed:
                info = self.msgs[uid]
                if info.sub == "new":
                    with contextlib.suppress(KeyError, OSError):
                        self.md.move_to_cur(info.key)
                        info.sub, info.name = "cur", info.key + ":2," + info.letters
            return claimed

    def unclaimed_recent(self) -> set[int]:
        with self.lock:
            first = self.uidlist.first_recent
            return {uid for uid in self.order if uid >= first}

    # -- reading messages -------------------------------------------------------------------

    def _path(self, info: MessageInfo) -> Path:
        return self.path / info.sub / info.name

    def _retry(self, info: MessageInfo, op: Callable[[Path], Any]) -> Any:
        try:
            return op(self._path(info))
        except FileNotFoundError:
            pass
        self.sync(force=True)  # renamed by someone meanwhile?
        current = self.msgs.get(info.uid)
        if current is None:
            raise MessageExpungedError(f"message UID {info.uid} has been expunged")
        try:
            return op(self._path(current))
        except FileNotFoundError:
            raise MessageExpungedError(f"message UID {info.uid} has been expunged") from None

    def read(self, uid: int) -> bytes:
        """The message file's bytes (blocking I/O)."""
        return bytes(self._retry(self.get(uid), lambda p: p.read_bytes()))

    def open(self, uid: int) -> IO[bytes]:
        """The message file, open for reading (close it)."""
        f: IO[bytes] = self._retry(self.get(uid), lambda p: open(p, "rb"))  # noqa: SIM115
        return f

    def size(self, uid: int) -> int:
        """RFC822.SIZE: from the ``,W=`` field of the name when it has one,
        else counted once (CRLF line ends) and kept."""
        info = self.get(uid)
        if info._size is None:
            m = _WSIZE.search(info.key)
            info._size = int(m.group(1)) if m else crlf_size(self.read(uid))[0]
        return info._size

    def crlf_clean(self, uid: int) -> bool:
        """Does the file have CRLF line ends only? Known from its name
        when it has both ``,S=`` (the file's size) and ``,W=`` (the size with
        CRLF line ends), as mimekit and Dovecot write them: equal sizes."""
        info = self.msgs.get(uid)
        if info is None:
            return False
        w = _WSIZE.search(info.key)
        s = _SSIZE.search(info.key)
        return w is not None and s is not None and w.group(1) == s.group(1)

    def internal_date(self, uid: int) -> datetime:
        """INTERNALDATE: the file's mtime (set from APPEND's date)."""
        info = self.get(uid)
        if info._mtime is None:
            info._mtime = float(self._retry(info, lambda p: os.stat(p).st_mtime))
        return datetime.fromtimestamp(info._mtime, UTC)

    def fetch_data(self, uid: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """``(ENVELOPE, BODYSTRUCTURE)`` of a message: computed together (one
        read, one parse) and kept for the next FETCH (LRU, per folder)."""
        with self.lock:
            entry = self._cache.get(uid)
            if entry is not None:
                self._cache.move_to_end(uid)
                return entry
        data = MessageData(self.read(uid))
        entry = (data.envelope(), data.body_structure())
        with self.lock:
            if uid in self.msgs:
                self._cache[uid] = entry
                self._cache.move_to_end(uid)
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return entry

    # -- changing ------------------------------------------------------------------------------

    def _register(self, key: str, sub: str, letters: str) -> int:
        """Give a file we just put here its UID now (under the lock), so
        APPEND and COPY can answer with it."""
        with locked(self.uidlist.lock_path):
            self._catch_up()
            uid = self.uidlist.uids.get(key)
            if uid is None:
                uid, rec = self.uidlist.add(key)
                self.uidlist.append([rec])
        name = key if sub == "new" else f"{key}:2,{letters}"
        self.msgs[uid] = MessageInfo(uid, key, sub, name, letters)
        self.by_key[key] = uid
        self.order.insert(_insert_at(self.order, uid), uid)
        return uid

    def _letters(self, system: list[str], keywords: list[str], *, create: bool) -> set[str]:
        """Letters for checked flags; a new keyword gets its letter under the
        uid-list lock, so two processes cannot pick the same one."""
        if create and any(self.keywords.letter(k, create=False) is None for k in keywords):
            with locked(self.uidlist.lock_path):
                self.keywords.reload()
                return self.keywords.letters_of(system, keywords, create=True)
        return self.keywords.letters_of(system, keywords, create=False)

    def letters_for(self, flags: Iterable[str], *, create: bool) -> str:
        """Maildir letters for IMAP flags (checked: see :func:`check_flags`)."""
        system, keywords = check_flags(flags)
        return "".join(sorted(self._letters(system, keywords, create=create)))

    def append(self, message: bytes | IO[bytes], flags: Iterable[str] = (),
               date: datetime | float | None = None) -> int:
        """Deliver a message (APPEND); returns its UID. ``date`` becomes the
        file's mtime, the INTERNALDATE (RFC 3501 section 6.3.11)."""
        with self.lock:
            letters = self.letters_for(flags, create=True)
            key = self.md.add(message, letters, date=date, exact=True)
            uid = self._register(key, "cur" if letters else "new", letters)
        self.notify()
        return uid

    def store(self, uid: int, mode: str, system: list[str], keywords: list[str]) -> str:
        """Change one message's flags (``mode`` is ``"+"``, ``"-"`` or ``""``
        for replace); returns the new letters. Flags must be checked
        (:func:`check_flags`)."""
        with self.lock:
            info = self.get(uid)
            want = self._letters(system, keywords, create=mode != "-")
            old = set(info.letters)
            if mode == "+":
                new = old | want
            elif mode == "-":
                new = old - want
            else:
                new = {c for c in old if c not in SYSTEM_LETTERS and not "a" <= c <= "z"} | want
            letters = "".join(sorted(new))
            if letters == info.letters:
                return letters
            try:
                self.md.set_flags(info.key, letters)
            except KeyError:
                self.sync(force=True)
                raise MessageExpungedError(f"message UID {uid} has been expunged") from None
            info.letters = letters
            info.sub, info.name = "cur", f"{info.key}:2,{letters}"
            self.modseq += 1
            info.modseq = self.modseq
            return letters

    def _forget(self, uids: list[int], *, unlink: bool) -> None:
        """Remove messages from the state and the uid-list (and their files)."""
        infos = [self.msgs[uid] for uid in uids if uid in self.msgs]
        if unlink:
            for info in infos:
                with contextlib.suppress(KeyError):
                    self.md.remove(info.key)
        with locked(self.uidlist.lock_path):
            self._catch_up()
            records = [r for r in (self.uidlist.remove(i.key) for i in infos) if r]
            self.uidlist.append(records)
        for info in infos:
            self._drop(info.uid)

    def expunge(self, uids: Iterable[int]) -> list[int]:
        """Delete these messages if they are ``\\Deleted``; returns the UIDs
        expunged, ascending."""
        with self.lock:
            done = [uid for uid in sorted(set(uids))
                    if uid in self.msgs and "T" in self.msgs[uid].letters]
            if done:
                self._forget(done, unlink=True)
        return done

    def _dest_letters(self, info: MessageInfo, dest: Folder) -> str:
        letters = set(dest.letters_for(self.flags_of(info), create=True))
        letters |= {c for c in info.letters if c not in SYSTEM_LETTERS and not "a" <= c <= "z"}
        return "".join(sorted(letters))

    def copy_to(self, uids: Iterable[int], dest: Folder) -> CopyResult:
        """COPY: the messages are written to ``dest`` with their flags and
        INTERNALDATE (RFC 3501 section 6.4.7)."""
        pairs: list[tuple[int, int]] = []
        for uid in sorted(set(uids)):
            with self.lock:
                info = self.msgs.get(uid)
                if info is None:
                    continue
                try:
                    mtime = self.internal_date(uid)
                    src = self.open(uid)
                except MessageExpungedError:
                    continue
            with src, dest.lock:
                letters = self._dest_letters(info, dest)
                key = dest.md.add(src, letters, date=mtime, exact=True)
                pairs.append((uid, dest._register(key, "cur" if letters else "new", letters)))
        dest.notify()
        return CopyResult(dest.uidvalidity, tuple(pairs))

    def move_to(self, uids: Iterable[int], dest: Folder) -> CopyResult:
        """MOVE (RFC 6851): each file is renamed into ``dest`` (same file
        system: no copy, the mtime stays), then it is expunged here."""
        pairs: list[tuple[int, int]] = []
        moved: list[int] = []
        copied: list[int] = []
        # Both locks, always in the same order, so that two moves in
        # opposite directions cannot deadlock.
        first, second = sorted((self, dest), key=lambda f: str(f.path))
        with first.lock, second.lock:
            for uid in sorted(set(uids)):
                info = self.msgs.get(uid)
                if info is None:
                    continue
                letters = self._dest_letters(info, dest)
                sub = "new" if not letters and info.sub == "new" else "cur"
                name = info.key if sub == "new" else f"{info.key}:2,{letters}"
                target = dest.path / sub / name
                try:
                    self._retry(info, functools.partial(_rename_to, target))
                except MessageExpungedError:
                    continue
                except OSError as exc:
                    if exc.errno != errno.EXDEV:
                        raise
                    pairs.extend(self.copy_to([uid], dest).pairs)  # another file system
                    copied.append(uid)
                    continue
                pairs.append((uid, dest._register(info.key, sub, letters)))
                moved.append(uid)
            if moved:
                self._forget(moved, unlink=False)
            if copied:
                self._forget(copied, unlink=True)
        dest.notify()
        return CopyResult(dest.uidvalidity, tuple(pairs))


def _rename_to(dst: Path, src: Path) -> None:
    _rename_no_replace(src, dst)


def _rename_no_replace(src: Path, dst: Path) -> None:
    """Move a message file; never over an existing one (link, then unlink)."""
    try:
        os.link(src, dst)
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS):
            if dst.exists():
                raise FileExistsError(errno.EEXIST, "target exists", str(dst)) from None
            os.rename(src, dst)
            return
        raise
    os.unlink(src)


def _index(order: list[int], uid: int) -> int | None:
    i = bisect.bisect_left(order, uid)
    return i if i < len(order) and order[i] == uid else None


def _insert_at(order: list[int], uid: int) -> int:
    return bisect.bisect_left(order, uid)
