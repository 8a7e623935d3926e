"""The per-user IMAP store over Maildir++: mailboxes, LIST, subscriptions,
STATUS, APPEND and SELECT; and the hub that lets sessions and deliveries in
one process tell each other about changes.

Layout of a user's store (the root is the user's Maildir, e.g.
``DIR/mail/alice/``)::

    cur/ new/ tmp/               INBOX (Maildir)
    .Sent/ .Lists.python/ ...    folders "Sent", "Lists/python" (Maildir++)
    subscriptions                one subscribed mailbox name per line (UTF-8)
    mimekit-uidvalidity          the last UIDVALIDITY handed out
    <folder>/mimekit-uidlist     UIDs (see :mod:`._uidlist`)
    <folder>/dovecot-keywords    keyword letters (see :mod:`._mailbox_flags`)

Names are checked by :mod:`._mailbox_names` (nothing can reach outside the
root). SPECIAL-USE folders (RFC 6154) are made by :meth:`MailStore.ensure_special_use`
at login, and subscribed when made.

Everything here is synchronous and does small blocking file operations;
an asyncio server can call it directly or through ``asyncio.to_thread``
(the state shared between sessions is locked).
"""

from __future__ import annotations

import builtins
import os
import shutil
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from ._mailbox_errors import (
    MailboxExistsError,
    MailboxInUseError,
    NoSuchMailboxError,
    StatusItemError,
)
from ._mailbox_folder import CopyResult, Folder
from ._mailbox_names import (
    DELIMITER,
    INBOX,
    InvalidMailboxName,
    Pattern,
    check_name,
    folder_dir_name,
    name_from_dir,
)
from ._mailbox_view import MailboxView

__all__ = [
    "SPECIAL_USE",
    "AppendResult",
    "CopyResult",
    "ListEntry",
    "MailStore",
    "MailboxHub",
]

#: RFC 6154 SPECIAL-USE folders made at login, and their attributes.
SPECIAL_USE = {"Drafts": "\\Drafts", "Sent": "\\Sent", "Trash": "\\Trash",
               "Junk": "\\Junk", "Archive": "\\Archive"}
SUBSCRIPTIONS = "subscriptions"
#: STATUS items (RFC 3501 6.3.10; SIZE: RFC 8438; DELETED: RFC 9051).
STATUS_ITEMS = ("MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "SIZE", "DELETED")


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One LIST/LSUB response: ``* LIST (attributes) "/" name``.

    The name is Unicode; the server encodes it in modified UTF-7
    (:func:`mimekit.codecs.encode_imap_utf7`) unless UTF8=ACCEPT is on.
    """

    name: str
    attributes: tuple[str, ...]
    delimiter: str = DELIMITER


@dataclass(frozen=True, slots=True)
class AppendResult:
    """APPEND's APPENDUID data (RFC 4315): ``[APPENDUID uidvalidity uid]``."""

    uidvalidity: int
    uid: int


class MailboxHub:
    """The folders in use in this process, one :class:`Folder` per
    directory, shared by every session and delivery.

    Make one per server process and give it to every :class:`MailStore`.
    Code that delivers mail into a Maildir by other means (the SMTP side of
    ``mimekit serve``) calls :meth:`notify` with the folder's directory so
    that IDLE sessions wake at once.
    """

    def __init__(self) -> None:
        self._folders: weakref.WeakValueDictionary[str, Folder] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def folder(self, path: Path, root: Path, name: str) -> Folder:
        key = os.path.realpath(path)
        with self._lock:
            folder = self._folders.get(key)
            if folder is None or folder.gone:
                folder = Folder(path, root, name)
                self._folders[key] = folder
            return folder

    def notify(self, path: str | os.PathLike[str]) -> None:
        """Mail arrived in (or left) the Maildir folder at ``path``: the
        sessions that have it selected re-read it and their IDLE wakes."""
        with self._lock:
            folder = self._folders.get(os.path.realpath(path))
        if folder is not None:
            folder.mark_dirty()
            folder.notify()

    def forget(self, path: Path) -> Folder | None:
        with self._lock:
            return self._folders.pop(os.path.realpath(path), None)


class MailStore:
    """One user's mailboxes.

    Args:
        root: The user's Maildir (INBOX); Maildir++ folders live inside it.
        hub: The process's :class:`MailboxHub` (a private one by default,
            which is fine for a single session but lets sessions of this
            store not see each other's changes at once).
        create: Make the root Maildir if missing.
    """

    def __init__(self, root: str | os.PathLike[str], *, hub: MailboxHub | None = None,
                 create: bool = True) -> None:
        self.root = Path(root)
        self.hub = hub if hub is not None else MailboxHub()
        if create:
            for sub in ("cur", "new", "tmp"):
                (self.root / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        elif not (self.root / "cur").is_dir():
            raise FileNotFoundError(f"not a Maildir: {self.root}")

    # -- names and folders ---------------------------------------------------------------

    def path_of(self, name: str) -> Path:
        """The directory of a (checked) mailbox name."""
        name = check_name(name)
        if name == INBOX:
            return self.root
        path = self.root / folder_dir_name(name)
        # check_name guarantees one path component right in the root.
        assert path.parent == self.root
        return path

    def exists(self, name: str) -> bool:
        name = check_name(name)
        if name == INBOX:
            return True
        path = self.path_of(name)
        # A symbolic link could lead out of the store: not a mailbox.
        return not path.is_symlink() and (path / "cur").is_dir()

    def _names(self) -> set[str]:
        names = {INBOX}
        with os.scandir(self.root) as it:
            for entry in it:
                if entry.name.startswith(".") and entry.is_dir(follow_symlinks=False):
                    name = name_from_dir(entry.name)
                    # A directory that is not a Maildir is not a mailbox.
                    if name is not None and os.path.isdir(os.path.join(entry.path, "cur")):
                        names.add(name)
        return names

    def _folder(self, name: str) -> Folder:
        name = check_name(name)
        if not self.exists(name):
            raise NoSuchMailboxError(f"mailbox {name} does not exist")
        return self.hub.folder(self.path_of(name), self.root, name)

    # -- LIST, LSUB (RFC 3501 6.3.8, 6.3.9; RFC 3348; RFC 6154) ---------------------------

    def list(self, reference: str = "", pattern: str = "*") -> builtins.list[ListEntry]:
        """LIST: the mailboxes whose name matches ``reference + pattern``.

        Attributes: ``\\HasChildren``/``\\HasNoChildren``, ``\\Noselect`` for a
        name that only exists because names below it do, and the RFC 6154
        attribute of the special-use folders. ``LIST "" ""`` gives the one
        entry ``("\\Noselect") "/" ""`` that tells the delimiter.
        """
        if pattern == "":
            return [ListEntry("", ("\\Noselect",))]
        match = Pattern(reference, pattern)
        names = self._names()
        parents = _parents(names)
        out = []
        for name in sorted(names | parents, key=_sort_key):
            if not match.matches(name):
                continue
            attrs: builtins.list[str] = []
            if name not in names:
                attrs.append("\\Noselect")
            attrs.append("\\HasChildren" if name in parents else "\\HasNoChildren")
            special = SPECIAL_USE.get(name)
            if special:
                attrs.append(special)
            out.append(ListEntry(name, tuple(attrs)))
        return out

    def lsub(self, reference: str = "", pattern: str = "*") -> builtins.list[ListEntry]:
        """LSUB: the subscribed names that match (RFC 3501 6.3.9); a name
        that does not exist, or that matches only as the parent of a
        subscribed name under ``%``, is ``\\Noselect``."""
        match = Pattern(reference, pattern)
        subscribed: set[str] = set(self.subscriptions())
        existing = self._names()
        out = []
        for name in sorted(subscribed | _parents(subscribed), key=_sort_key):
            if not match.matches(name):
                continue
            noselect = name not in subscribed or name not in existing
            out.append(ListEntry(name, ("\\Noselect",) if noselect else ()))
        return out

    # -- CREATE, DELETE, RENAME (RFC 3501 6.3.3 - 6.3.5) -------------------------------------

    def create(self, name: str) -> None:
        """CREATE ``name`` (a trailing ``/`` is allowed and dropped). Missing
        parents are created too, as RFC 3501 recommends.

        Raises:
            InvalidMailboxName, MailboxExistsError.
        """
        if isinstance(name, str) and name.endswith(DELIMITER) and len(name) > 1:
            name = name[:-1]
        name = check_name(name)
        if self.exists(name):
            raise MailboxExistsError(f"mailbox {name} already exists")
        levels = name.split(DELIMITER)
        for i in range(1, len(levels) + 1):
            part = DELIMITER.join(levels[:i])
            if part != INBOX and not self.exists(part):
                _make_folder(self.path_of(part))

    def delete(self, name: str) -> None:
        """DELETE: the mailbox and its messages go; names below it stay
        (RFC 3501 6.3.4), so it may live on as a ``\\Noselect`` parent.

        Raises:
            MailboxInUseError: INBOX, or a name that only exists as a parent.
            NoSuchMailboxError.
        """
        name = check_name(name)
        if name == INBOX:
            raise MailboxInUseError("INBOX cannot be deleted")
        path = self.path_of(name)
        if not (path / "cur").is_dir():
            if name in _parents(self._names()):
                raise MailboxInUseError(f"{name} has child mailboxes and holds no messages")
            raise NoSuchMailboxError(f"mailbox {name} does not exist")
        folder = self.hub.forget(path)
        shutil.rmtree(path)
        if folder is not None:
            folder.vanish()

    def rename(self, old: str, new: str) -> None:
        """RENAME, with the names below ``old`` (RFC 3501 6.3.5). Renaming
        INBOX moves its messages into a new mailbox and leaves INBOX empty.

        Raises:
            NoSuchMailboxError, MailboxExistsError, InvalidMailboxName.
        """
        old, new = check_name(old), check_name(new)
        if new == INBOX or self.exists(new):
            raise MailboxExistsError(f"mailbox {new} already exists")
        if not self.exists(old):
            raise NoSuchMailboxError(f"mailbox {old} does not exist")
        if new.startswith(old + DELIMITER):
            raise InvalidMailboxName(f"cannot rename {old} into itself ({new})")
        if old == INBOX:
            self.create(new)
            source = self._folder(INBOX)
            with source.lock:
                source.sync(force=True)
                source.move_to(list(source.order), self._folder(new))
            source.notify()
            return
        moves: builtins.list[tuple[Path, Path]] = []
        for name in sorted(self._names(), key=len):
            if name == old or name.startswith(old + DELIMITER):
                target = new + name[len(old):]
                if self.exists(target):
                    raise MailboxExistsError(f"mailbox {target} already exists")
                moves.append((self.path_of(name), self.path_of(target)))
        levels = new.split(DELIMITER)
        for i in range(1, len(levels)):
            part = DELIMITER.join(levels[:i])
            if part != INBOX and not self.exists(part):
                _make_folder(self.path_of(part))
        for src, dst in moves:
            folder = self.hub.forget(src)
            os.rename(src, dst)
            if folder is not None:
                folder.vanish()

    # -- subscriptions (RFC 3501 6.3.6, 6.3.7) -----------------------------------------------

    def subscriptions(self) -> builtins.list[str]:
        """The subscribed names, in the order subscribed."""
        try:
            text = (self.root / SUBSCRIPTIONS).read_text("utf-8", "surrogateescape")
        except FileNotFoundError:
            return []
        out: builtins.list[str] = []
        for line in text.splitlines():
            try:
                name = check_name(line)
            except InvalidMailboxName:
                continue
            if name not in out:
                out.append(name)
        return out

    def _write_subscriptions(self, names: builtins.list[str]) -> None:
        path = self.root / SUBSCRIPTIONS
        tmp = path.with_name(f"{SUBSCRIPTIONS}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text("".join(n + "\n" for n in names), "utf-8")
        os.replace(tmp, path)

    def subscribe(self, name: str) -> None:
        """SUBSCRIBE (the name need not exist, RFC 3501 6.3.6)."""
        name = check_name(name)
        names = self.subscriptions()
        if name not in names:
            self._write_subscriptions([*names, name])

    def unsubscribe(self, name: str) -> None:
        """UNSUBSCRIBE (no error when not subscribed)."""
        name = check_name(name)
        names = self.subscriptions()
        if name in names:
            self._write_subscriptions([n for n in names if n != name])

    def ensure_special_use(self) -> builtins.list[str]:
        """Make the SPECIAL-USE folders that are missing (RFC 6154), and
        subscribe each one made; returns their names. Call at login."""
        made = []
        for name in SPECIAL_USE:
            if not self.exists(name):
                _make_folder(self.path_of(name))
                self.subscribe(name)
                made.append(name)
        return made

    # -- STATUS, APPEND, SELECT ----------------------------------------------------------------

    def status(self, name: str, items: Iterable[str]) -> dict[str, int]:
        """STATUS (RFC 3501 6.3.10): the values of ``items``
        (``MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN``, and ``SIZE``
        (RFC 8438), ``DELETED``), keys upper-cased.

        Raises:
            StatusItemError: an unknown item.
            NoSuchMailboxError.
        """
        wanted = [str(i).upper() for i in items]
        for item in wanted:
            if item not in STATUS_ITEMS:
                raise StatusItemError(f"unknown STATUS item {item}")
        folder = self._folder(name)
        folder.sync()
        out: dict[str, int] = {}
        with folder.lock:
            for item in wanted:
                if item == "MESSAGES":
                    out[item] = len(folder.order)
                elif item == "RECENT":
                    out[item] = len(folder.unclaimed_recent())
                elif item == "UIDNEXT":
                    out[item] = folder.uidnext
                elif item == "UIDVALIDITY":
                    out[item] = folder.uidvalidity
                elif item == "UNSEEN":
                    out[item] = sum(1 for i in folder.msgs.values() if "S" not in i.letters)
                elif item == "DELETED":
                    out[item] = sum(1 for i in folder.msgs.values() if "T" in i.letters)
                else:
                    out[item] = sum(folder.size(uid) for uid in folder.order)
        return out

    def append(self, name: str, message: bytes | IO[bytes], flags: Iterable[str] = (),
               date: datetime | float | None = None) -> AppendResult:
        """APPEND (RFC 3501 6.3.11). The date becomes INTERNALDATE (the
        file's mtime); default now.

        Raises:
            NoSuchMailboxError: send ``NO [TRYCREATE]``.
            FlagError, KeywordLimitError.
        """
        folder = self._folder(name)
        uid = folder.append(message, flags, date)
        return AppendResult(folder.uidvalidity, uid)

    def select(self, name: str, *, readonly: bool = False) -> MailboxView:
        """SELECT (or EXAMINE with ``readonly``): a view for this session.

        Raises:
            NoSuchMailboxError.
        """
        name = check_name(name)
        return MailboxView(self, self._folder(name), name, readonly=readonly)


def _make_folder(path: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    marker = path / "maildirfolder"
    if not marker.exists():
        marker.touch(mode=0o600)


def _parents(names: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for name in names:
        levels = name.split(DELIMITER)
        for i in range(1, len(levels)):
            out.add(DELIMITER.join(levels[:i]))
    return out


def _sort_key(name: str) -> tuple[int, str]:
    return (0 if name == INBOX or name.startswith(INBOX + DELIMITER) else 1, name)
