"""Two-way sync of one IMAP mailbox with one local Maildir folder.

The steps of :meth:`FolderSync.run`, and why each is safe to interrupt (the
state file is :mod:`._sync_state`; every record is durable before the next
step):

1. List both sides: remote UIDs with FLAGS and RFC822.SIZE, local keys with
   their flags.
2. First sync, or the UIDVALIDITY (or the remote) changed: the old UIDs mean
   nothing, so messages are paired again **by content** (the CRLF form's
   SHA-256, after a size check). The rest is new on its side and is copied
   over: nothing is lost, nothing doubled. The state is rewritten at once.
   Otherwise, settle what an interrupted run left: a ``want`` whose message
   is in the Maildir (found by digest, delivered after the record) is
   paired; a ``put`` whose message is on the server (UID at or after the
   recorded UIDNEXT, same size and digest) is paired.
3. For each pair: both present: flags merged three-way
   (:func:`~._flags.merge_flags`), changes applied to each side, then the
   new base recorded; a crash in between merges to the same result next
   time. Gone on one side: deleted on the other, unless the other side's
   flags changed since (\\Deleted aside): that is a **conflict**; the message
   is kept, unpaired and copied back, and reported. Deleting remotely is
   STORE \\Deleted and UID EXPUNGE, recorded after.
4. Remote messages without a pair are downloaded: ``want``, Maildir add,
   ``pair``. Local ones are uploaded: ``put``, APPEND, ``pair``.
5. The state is compacted (rewritten atomically).
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from ..imap import IMAPClient, SelectInfo
from ..mailstore import Maildir
from ._content import crlf, digest, find_stored
from ._flags import imap_flags, maildir_flags, merge_flags, synced
from ._report import Reporter
from ._sync_state import Pair, SyncState

__all__ = ["FolderSync", "SyncCounts"]

#: ``hook(event, what)`` at ``"downloaded"`` (stored locally, not yet
#: recorded) and ``"uploaded"`` (appended, not yet recorded): tests raise
#: from it to simulate a crash in those windows.
Hook = Callable[[str, str], None]
_VSIZE = re.compile(r",W=(\d+)")


@dataclass(slots=True)
class SyncCounts:
    """What sync did, summed over folders."""

    downloaded: int = 0
    uploaded: int = 0
    deleted_local: int = 0
    deleted_remote: int = 0
    flags_local: int = 0
    flags_remote: int = 0
    recovered: int = 0
    matched: int = 0
    conflicts: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Remote:
    flags: str
    size: int


def _changed(base: str, now: str) -> bool:
    """Flags changed since the last sync, \\Deleted (T) aside: marking a
    message deleted is not a reason to keep it."""
    return synced(base).replace("T", "") != synced(now).replace("T", "")


class FolderSync:
    """Sync ``mailbox`` on ``client`` with the Maildir folder ``md``.

    Args:
        client: A logged-in IMAP client.
        md: The local folder.
        mailbox: The remote mailbox's name.
        remote_id: Its identity for the state (``imap://user@host/Box``).
        counts: Where to add what was done.
    """

    def __init__(self, client: IMAPClient, md: Maildir, mailbox: str, remote_id: str,
                 counts: SyncCounts, reporter: Reporter, hook: Hook | None = None) -> None:
        self.client = client
        self.md = md
        self.mailbox = mailbox
        self.remote_id = remote_id
        self.counts = counts
        self.reporter = reporter
        self.hook = hook
        self.remote: dict[int, _Remote] = {}
        self.local: dict[str, str] = {}

    def run(self) -> None:
        """Sync the folder (see the module)."""
        info = self.client.select(self.mailbox)
        self.remote = self._remote_listing(info)
        self.local = {key: self.md.get_flags(key) for key in self.md}
        state = SyncState(self.md.path, self.remote_id)
        try:
            if (not state.known or state.uidvalidity != info.uidvalidity
                    or state.remote != self.remote_id):
                self._rematch(state, info.uidvalidity)
            else:
                self._recover(state)
            expunge = self._reconcile(state)
            self._expunge(state, expunge)
            self._download(state)
            self._upload(state, info.uidvalidity,
                         info.uidnext or (max(self.remote, default=0) + 1))
            state.compact(self.remote_id, info.uidvalidity)
        finally:
            state.close()

    # -- listings ---------------------------------------------------------------------

    def _remote_listing(self, info: SelectInfo) -> dict[int, _Remote]:
        if not info.exists:
            return {}
        found = self.client.fetch("1:*", ["FLAGS", "RFC822.SIZE"])
        return {uid: _Remote(maildir_flags(item.flags), item.size or 0)
                for uid, item in found.items()}

    def _local_size(self, key: str) -> int:
        # Dovecot's and mimekit's names carry the CRLF size (",W="): no read.
        m = _VSIZE.search(key)
        return int(m.group(1)) if m else len(crlf(self.md.get_bytes(key)))

    def _find_remote(self, sha256: str, size: int, min_uid: int,
                     exclude: set[int]) -> int | None:
        """The UID (>= ``min_uid``, not in ``exclude``) of a message on the
        server with this CRLF size and digest; asks the server."""
        uids = [u for u in self.client.search(f"UID {min_uid}:*")
                if u >= min_uid and u not in exclude]
        if not uids:
            return None
        for uid, item in sorted(self.client.fetch(uids, ["RFC822.SIZE"]).items()):
            if item.size == size and digest(self.client.fetch_bytes(uid)) == sha256:
                return uid
        return None

    # -- step 2 -------------------------------------------------------------------------

    def _rematch(self, state: SyncState, uidvalidity: int | None) -> None:
        """Pair by content: a first sync, or the UIDs changed meaning."""
        first = not state.known
        base_of = {pair.key: pair.flags for pair in state.pairs.values()}
        sizes = {r.size for r in self.remote.values()}
        by_digest: dict[str, list[str]] = defaultdict(list)
        for key in self.local:
            try:
                if self._local_size(key) in sizes:
                    by_digest[digest(self.md.get_bytes(key))].append(key)
            except KeyError:
                continue
        local_sizes = {self._local_size(k) for keys in by_digest.values() for k in keys}
        pairs: dict[int, Pair] = {}
        for uid, rem in sorted(self.remote.items()):
            if rem.size not in local_sizes:
                continue
            keys = by_digest.get(digest(self.client.fetch_bytes(uid)))
            if keys:
                key = keys.pop(0)
                here = synced(self.local[key])
                base = base_of.get(key)
                if base is None:  # never compared: keep every flag either side has
                    base = "".join(sorted(set(here) & set(rem.flags)))
                pairs[uid] = Pair(key, base)
        self.counts.matched += len(pairs)
        if not first:
            self.reporter.warn(
                f"{self.mailbox}: UIDVALIDITY changed ({state.uidvalidity} -> {uidvalidity}"
                f"): {len(pairs)} messages found on both sides by content; the others are "
                "copied to the side that lacks them")
        state.restart(self.remote_id, uidvalidity, pairs)

    def _recover(self, state: SyncState) -> None:
        """Settle the intents an interrupted run left (see the module)."""
        paired = state.keys()
        for uid, want in list(state.wants.items()):
            if uid in state.pairs or uid not in self.remote:
                continue
            key = find_stored(self.md, str(want.get("sha256")), not_before=want.get("t"),
                              exclude=paired)
            if key is not None:
                state.pair(uid, key, synced(self.md.get_flags(key)))
                self.local.setdefault(key, self.md.get_flags(key))
                paired.add(key)
                self.counts.recovered += 1
        for key, put in list(state.puts.items()):
            if key in paired or key not in self.local:
                continue
            found = self._find_remote(str(put.get("sha256")), int(put.get("size", -1)),
                                      int(put.get("uidnext", 1)), set(state.pairs))
            if found is not None:
                state.pair(found, key, synced(self.local[key]))
                paired.add(key)
                self.counts.recovered += 1
        state.wants.clear()
        state.puts.clear()

    # -- step 3 -------------------------------------------------------------------------

    def _subject(self, key: str | None = None, uid: int | None = None) -> str:
        try:
            if key is not None:
                with self.md.get_message(key) as msg:
                    return repr(msg.subject or "")
            if uid is not None:
                item = self.client.fetch(uid, ["ENVELOPE"]).get(uid)
                env = item.envelope if item is not None else None
                return repr(env.subject or "") if env is not None else "''"
        except Exception:  # only a label for the report
            pass
        return "''"

    def _conflict(self, text: str) -> None:
        line = f"{self.mailbox}: conflict: {text}"
        self.counts.conflicts.append(line)
        self.reporter.warn(line)

    def _reconcile(self, state: SyncState) -> list[int]:
        """Flags and deletions of paired messages; returns the UIDs to expunge."""
        expunge: list[int] = []
        # Remote flag changes are grouped into one STORE per (added, removed).
        stores: dict[tuple[str, str], list[tuple[int, str, str]]] = defaultdict(list)
        for uid, pair in state.items():
            rem = self.remote.get(uid)
            here = self.local.get(pair.key)
            if rem is not None and here is not None:
                local_now = synced(here)
                merged = merge_flags(pair.flags, local_now, rem.flags)
                if merged != local_now:
                    extra = "".join(sorted(set(here) - set(local_now)))  # keywords a-z
                    self.md.set_flags(pair.key, merged + extra)
                    self.counts.flags_local += 1
                if merged != rem.flags:
                    added = "".join(sorted(set(merged) - set(rem.flags)))
                    removed = "".join(sorted(set(rem.flags) - set(merged)))
                    stores[(added, removed)].append((uid, pair.key, merged))
                elif merged != pair.flags:
                    state.pair(uid, pair.key, merged)
            elif here is not None:  # expunged on the server
                if _changed(pair.flags, here):
                    self._conflict(f"message {self._subject(key=pair.key)} was deleted on the "
                                   "server but changed here: kept, and copied back to the "
                                   "server")
                    state.unpair(uid)
                else:
                    self.md.discard(pair.key)
                    del self.local[pair.key]
                    state.unpair(uid)
                    self.counts.deleted_local += 1
            elif rem is not None:  # deleted here
                if _changed(pair.flags, rem.flags):
                    self._conflict(f"message {self._subject(uid=uid)} was deleted here but "
                                   "changed on the server: kept, and copied back here")
                    state.unpair(uid)
                else:
                    expunge.append(uid)
            else:
                state.unpair(uid)
        for (added, removed), items in stores.items():
            self.client.store([uid for uid, _k, _f in items], add_flags=imap_flags(added),
                              remove_flags=imap_flags(removed), silent=True)
            for uid, key, merged in items:
                state.pair(uid, key, merged)
                self.counts.flags_remote += 1
        return expunge

    def _expunge(self, state: SyncState, uids: list[int]) -> None:
        if not uids:
            return
        self.client.store(uids, add_flags=["\\Deleted"], silent=True)
        if "UIDPLUS" in self.client.capabilities:
            self.client.expunge(uids)
        else:
            # Plain EXPUNGE also removes other \Deleted messages; the next
            # sync sees them gone and deletes their local copies (T is synced).
            self.client.expunge()
        for uid in uids:
            state.unpair(uid)
            self.remote.pop(uid, None)
            self.counts.deleted_remote += 1

    # -- step 4 -------------------------------------------------------------------------

    def _download(self, state: SyncState) -> None:
        todo = sorted(uid for uid in self.remote if uid not in state.pairs)
        if not todo:
            return
        progress = self.reporter.progress(f"sync {self.mailbox}: download", len(todo))
        try:
            for uid in todo:
                item = self.client.fetch(uid, ["FLAGS", "BODY.PEEK[]"]).get(uid)
                if item is None:
                    continue  # expunged meanwhile
                data = item["BODY.PEEK[]"]
                assert isinstance(data, bytes)
                flags = maildir_flags(item.flags)
                state.want(uid, digest(data), int(time.time()))
                key = self.md.add(data, flags)
                if self.hook is not None:
                    self.hook("downloaded", str(uid))
                state.pair(uid, key, flags)
                self.counts.downloaded += 1
                progress.advance()
        finally:
            progress.finish()

    def _upload(self, state: SyncState, uidvalidity: int | None, uidnext: int) -> None:
        paired = state.keys()
        todo = [key for key in self.local if key not in paired]
        if not todo:
            return
        progress = self.reporter.progress(f"sync {self.mailbox}: upload", len(todo))
        try:
            for key in todo:
                try:
                    data = crlf(self.md.get_bytes(key))
                    when = self.md.get_date(key)
                except KeyError:
                    continue  # deleted here meanwhile
                flags = synced(self.local[key])
                sha = digest(data)
                state.put(key, sha, len(data), uidnext)
                result = self.client.append(self.mailbox, data, flags=imap_flags(flags),
                                            date=when)
                if self.hook is not None:
                    self.hook("uploaded", key)
                if result is not None and result.uidvalidity == uidvalidity:
                    uid: int | None = result.uid
                else:  # no UIDPLUS: look for it
                    uid = self._find_remote(sha, len(data), uidnext, set(state.pairs))
                if uid is None:
                    # Left as a `put`: the next run finds and pairs it.
                    self.reporter.warn(f"{self.mailbox}: uploaded {key} but could not learn "
                                       "its UID; the next sync pairs it")
                    continue
                state.pair(uid, key, flags)
                uidnext = max(uidnext, uid + 1)
                self.counts.uploaded += 1
                progress.advance()
        finally:
            progress.finish()
