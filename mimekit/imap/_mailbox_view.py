"""One session's view of a selected mailbox: sequence numbers, and the
changes other sessions made since the session last looked.

RFC 3501 section 2.3.1.2: message sequence numbers are a session's own
numbering of the messages, 1 to EXISTS, and change only when the server
tells the client (EXPUNGE, EXISTS). So a :class:`MailboxView` keeps its own
list of UIDs and of the flags it last reported, and :meth:`refresh` turns
what happened in the shared :class:`~._mailbox_folder.Folder` since then into
:class:`Changes`: the EXPUNGE numbers to send (highest first, so each stays
valid as sent), the new EXISTS and RECENT counts, and a FETCH FLAGS for each
message another session (or program) changed.

RFC 3501 section 7.4.1 forbids EXPUNGE responses during FETCH, STORE and
SEARCH (but not their UID forms): call ``refresh(allow_expunge=False)``
then; expunged messages stay in the numbering (:meth:`is_expunged`) until a
later refresh reports them.

Wake-ups: :meth:`set_listener` registers a callable that is called at once
(in the thread making the change) when another session or a delivery
changes the folder; an IDLE loop sets an event there and calls
:meth:`refresh`. Changes made by other processes are noticed by
:meth:`refresh`, which costs a few ``stat`` calls when nothing changed: poll
it every few seconds while idling.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ._bodystructure import strip_extensions
from ._fetch_data import MessageData
from ._mailbox_errors import MessageExpungedError, ReadOnlyError
from ._mailbox_flags import SYSTEM_FLAGS, check_flags
from ._mailbox_folder import CopyResult, Folder
from ._seqset import SequenceSet

if TYPE_CHECKING:
    from ._mailbox import MailStore

__all__ = ["Changes", "FlagUpdate", "MailboxView"]

#: ``(sequence number, uid, flags)`` for a FETCH FLAGS response.
FlagUpdate = tuple[int, int, tuple[str, ...]]


@dataclass(slots=True)
class Changes:
    """What a session must be told (RFC 3501 section 7.3 and 7.4).

    Send in this order: an ``EXPUNGE`` for each of :attr:`expunged` (in the
    order given), ``EXISTS`` and ``RECENT`` when not None, then a ``FETCH
    (FLAGS ...)`` (with ``UID`` for UID commands) for each of :attr:`flags`.
    When :attr:`gone` is set the mailbox was deleted or renamed by another
    session, or its UIDs started over (a new UIDVALIDITY): say ``BYE`` or
    return to the authenticated state.
    """

    expunged: list[int] = field(default_factory=list)
    exists: int | None = None
    recent: int | None = None
    flags: list[FlagUpdate] = field(default_factory=list)
    gone: bool = False

    def __bool__(self) -> bool:
        return bool(self.expunged or self.exists is not None or self.recent is not None
                    or self.flags or self.gone)


class MailboxView:
    """A selected mailbox as one session sees it (made by
    :meth:`~._mailbox.MailStore.select`).

    Attributes:
        name: The mailbox name.
        readonly: Selected with EXAMINE: no changes, and \\Recent is not
            claimed (other sessions will see the messages as recent too).
    """

    def __init__(self, store: MailStore, folder: Folder, name: str, *, readonly: bool) -> None:
        self.mailstore = store
        self.folder = folder
        self.name = name
        self.readonly = readonly
        self._listener: Callable[[], None] | None = None
        self.closed = False
        with folder.lock:
            folder.sync()
            self.uids: list[int] = list(folder.order)
            self._letters: dict[int, str] = {u: folder.msgs[u].letters for u in self.uids}
            self._modseq = folder.modseq
            self._expunges = folder.expunges
            self._keywords = tuple(folder.keywords.defined)
            self._epoch = folder.epoch
            self.recent: set[int] = (folder.unclaimed_recent() if readonly
                                     else folder.claim_recent())
            folder.views.add(self)

    # -- what SELECT reports (RFC 3501 section 6.3.1) ----------------------------------------

    @property
    def exists(self) -> int:
        return len(self.uids)

    @property
    def uidvalidity(self) -> int:
        return self.folder.uidvalidity

    @property
    def uidnext(self) -> int:
        return self.folder.uidnext

    @property
    def flags(self) -> tuple[str, ...]:
        """FLAGS: the system flags and the keywords defined in the folder."""
        return SYSTEM_FLAGS + tuple(self.folder.keywords.defined)

    @property
    def permanent_flags(self) -> tuple[str, ...]:
        """PERMANENTFLAGS: all of FLAGS, plus ``\\*`` while new keywords can
        be made (26 per folder); empty for a read-only session."""
        if self.readonly:
            return ()
        star = () if self.folder.keywords.full else ("\\*",)
        return self.flags + star

    @property
    def first_unseen(self) -> int | None:
        """The sequence number of the first message without ``\\Seen``."""
        for i, uid in enumerate(self.uids):
            if "S" not in self._letters.get(uid, "S"):
                return i + 1
        return None

    # -- numbering -----------------------------------------------------------------------

    def uid(self, seq: int) -> int:
        return self.uids[seq - 1]

    def seq(self, uid: int) -> int | None:
        i = bisect.bisect_left(self.uids, uid)
        return i + 1 if i < len(self.uids) and self.uids[i] == uid else None

    def resolve(self, sequence_set: str | SequenceSet, *, uid: bool = False) -> list[int]:
        """The sequence numbers a set names, ascending.

        Args:
            sequence_set: The set as sent (``"1:*"``) or parsed.
            uid: It holds UIDs (UID FETCH/STORE/COPY...); UIDs not in the
                mailbox are ignored, as RFC 3501 wants.

        Raises:
            SequenceSetError: malformed, or (message numbers) past EXISTS.
        """
        sset = sequence_set if isinstance(sequence_set, SequenceSet) else \
            SequenceSet.parse(sequence_set)
        if not uid:
            return sset.message_numbers(len(self.uids))
        return [bisect.bisect_left(self.uids, u) + 1 for u in sset.select(self.uids)]

    def is_expunged(self, seq: int) -> bool:
        """Expunged by someone else, but not yet reported to this session."""
        return self.uids[seq - 1] not in self.folder.msgs

    # -- per-message data (FETCH) ---------------------------------------------------------------

    def message_flags(self, seq: int) -> tuple[str, ...]:
        """FLAGS of a message as this session knows them (``\\Recent`` too)."""
        uid = self.uids[seq - 1]
        flags = self.folder.keywords.flags_of(self._letters.get(uid, ""))
        return (*flags, "\\Recent") if uid in self.recent else flags

    def internal_date(self, seq: int) -> datetime:
        return self.folder.internal_date(self.uids[seq - 1])

    def rfc822_size(self, seq: int) -> int:
        return self.folder.size(self.uids[seq - 1])

    def message_data(self, seq: int) -> MessageData:
        """The message for BODY[section] and friends (reads the file).

        Raises:
            MessageExpungedError: another session expunged it.
        """
        uid = self.uids[seq - 1]
        return MessageData(self.folder.read(uid), crlf_clean=self.folder.crlf_clean(uid))

    def envelope(self, seq: int) -> tuple[Any, ...]:
        """ENVELOPE (cached per folder, with BODYSTRUCTURE).

        Raises:
            MessageExpungedError: another session expunged it.
        """
        return self.folder.fetch_data(self.uids[seq - 1])[0]

    def body_structure(self, seq: int, *, extended: bool = True) -> tuple[Any, ...]:
        """BODYSTRUCTURE, or BODY with ``extended=False`` (cached per folder)."""
        structure = self.folder.fetch_data(self.uids[seq - 1])[1]
        return structure if extended else strip_extensions(structure)

    # -- changes by this session ---------------------------------------------------------------

    def _writable(self) -> None:
        if self.readonly:
            raise ReadOnlyError(f"mailbox {self.name} is read-only (EXAMINE)")

    def store(self, seqs: Iterable[int], mode: str, flags: Iterable[str]) -> list[FlagUpdate]:
        """STORE (RFC 3501 section 6.4.6): ``mode`` is ``"+"`` (+FLAGS),
        ``"-"`` (-FLAGS) or ``""`` (FLAGS, replace).

        Returns:
            The new flags of every message named (RFC 3501: the untagged
            FETCH responses, unless .SILENT), skipping messages expunged
            meanwhile. Other sessions are told.

        Raises:
            FlagError: an invalid flag (before anything changes).
            KeywordLimitError: a 27th keyword.
            ReadOnlyError: in an EXAMINE session.
        """
        self._writable()
        if mode not in ("+", "-", ""):
            raise ValueError(f"STORE mode must be '+', '-' or '', not {mode!r}")
        system, keywords = check_flags(flags)
        out: list[FlagUpdate] = []
        folder = self.folder
        with folder.lock:
            for seq in seqs:
                uid = self.uids[seq - 1]
                try:
                    self._letters[uid] = folder.store(uid, mode, system, keywords)
                except MessageExpungedError:
                    continue
                out.append((seq, uid, self.message_flags(seq)))
        if out:
            folder.notify(self)
        return out

    def mark_seen(self, seqs: Iterable[int]) -> list[FlagUpdate]:
        """Set ``\\Seen`` (FETCH of BODY[...] without .PEEK, RFC 3501 section
        6.4.5); a no-op returning nothing in a read-only session. Returns the
        messages whose flags changed."""
        if self.readonly:
            return []
        todo = [s for s in seqs if "S" not in self._letters.get(self.uids[s - 1], "S")]
        return self.store(todo, "+", ["\\Seen"]) if todo else []

    def expunge(self, uids: Iterable[int] | None = None) -> Changes:
        """EXPUNGE, or UID EXPUNGE with ``uids`` (RFC 4315): remove the
        ``\\Deleted`` messages (of those UIDs). Returns the changes to send,
        the EXPUNGE responses first."""
        self._writable()
        wanted = self.uids if uids is None else [u for u in uids if self.seq(u) is not None]
        self.folder.expunge(wanted)
        self.folder.notify(self)
        return self.refresh()

    def copy(self, seqs: Iterable[int], dest: str) -> CopyResult:
        """COPY to mailbox ``dest`` (RFC 3501 6.4.7; COPYUID data, RFC 4315).

        Raises:
            NoSuchMailboxError: ``dest`` does not exist (send TRYCREATE).
        """
        target = self.mailstore._folder(dest)
        return self.folder.copy_to([self.uids[s - 1] for s in seqs], target)

    def move(self, seqs: Iterable[int], dest: str) -> CopyResult:
        """MOVE to mailbox ``dest`` (RFC 6851). Call :meth:`refresh` next:
        it gives the EXPUNGE responses that must precede the tagged OK."""
        self._writable()
        target = self.mailstore._folder(dest)
        if target is self.folder:
            raise ValueError("cannot MOVE messages into the mailbox they are in")
        result = self.folder.move_to([self.uids[s - 1] for s in seqs], target)
        self.folder.notify(self)
        return result

    def search(self, key: Any, *, uid: bool = False) -> list[int]:
        """SEARCH: the matching sequence numbers (or UIDs), ascending. See
        :func:`._search_eval.search`."""
        from ._search_eval import search
        return search(self, key, uid=uid)

    # -- changes by others ----------------------------------------------------------------

    def set_listener(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback()`` when the folder changes through another
        session or a delivery in this process (``None`` to stop). It runs in
        the thread that made the change: from asyncio, pass something like
        ``lambda: loop.call_soon_threadsafe(event.set)``."""
        self._listener = callback

    def _wake(self) -> None:
        callback = self._listener
        if callback is not None:
            callback()

    def refresh(self, *, allow_expunge: bool = True) -> Changes:
        """Catch up with the folder (and the disk): see :class:`Changes`.

        Args:
            allow_expunge: Report expunges (renumbering). False during FETCH,
                STORE and SEARCH (RFC 3501 section 7.4.1).
        """
        folder = self.folder
        changes = Changes()
        if self.closed:
            return changes
        folder.sync()
        with folder.lock:
            if folder.gone or folder.epoch != self._epoch:
                changes.gone = True
                changes.expunged = list(range(len(self.uids), 0, -1)) if allow_expunge else []
                if allow_expunge:
                    self.uids = []
                return changes
            if allow_expunge and self._expunges != folder.expunges:
                msgs = folder.msgs
                for i in range(len(self.uids) - 1, -1, -1):
                    uid = self.uids[i]
                    if uid not in msgs:
                        changes.expunged.append(i + 1)
                        del self.uids[i]
                        self._letters.pop(uid, None)
                        self.recent.discard(uid)
                self._expunges = folder.expunges
            last = self.uids[-1] if self.uids else 0
            order = folder.order
            new = order[bisect.bisect_right(order, last):]
            if new:
                self.uids.extend(new)
                for uid in new:
                    self._letters[uid] = folder.msgs[uid].letters
                claimed = folder.unclaimed_recent() if self.readonly else folder.claim_recent()
                self.recent |= claimed & set(new)
                changes.exists = len(self.uids)
                changes.recent = len(self.recent)
            elif changes.expunged:
                changes.exists = None
            if folder.modseq != self._modseq:
                for i, uid in enumerate(self.uids):
                    info = folder.msgs.get(uid)
                    if info is not None and info.letters != self._letters.get(uid):
                        self._letters[uid] = info.letters
                        changes.flags.append((i + 1, uid, self.message_flags(i + 1)))
                self._modseq = folder.modseq
        return changes

    def keywords_changed(self) -> bool:
        """Did the set of keywords grow (a new FLAGS response is due)?"""
        now = tuple(self.folder.keywords.defined)
        if now != self._keywords:
            self._keywords = now
            return True
        return False

    # -- leaving ------------------------------------------------------------------------------

    def close(self) -> None:
        """CLOSE (RFC 3501 section 6.4.2): expunge the ``\\Deleted`` messages
        silently (not in a read-only session) and leave."""
        if not self.readonly and not self.closed:
            self.folder.expunge(self.uids)
            self.folder.notify(self)
        self.unselect()

    def unselect(self) -> None:
        """UNSELECT (RFC 3691), or SELECT of another mailbox: leave without
        expunging."""
        self.closed = True
        self._listener = None
        self.folder.views.discard(self)
