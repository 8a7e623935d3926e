"""The per-folder state of ``sync`` (mbsync's ``.mbsyncstate``, as a journal).

One file per synchronised folder, ``.mimekit-sync`` in the local folder's
directory (the Maildir itself for INBOX). After the header
``{"format": "mimekit-sync", "version": 1, "remote": "imap://user@host/Box",
"uidvalidity": N}`` come records (see :mod:`._journal`)::

    {"pair": UID, "key": KEY, "flags": "FS"}   # this remote UID is this local
                                               # message; both had these flags
                                               # after the last sync
    {"unpair": UID}                            # forget that pair
    {"want": UID, "sha256": HEX, "t": SECONDS} # about to store remote UID locally
    {"put": KEY, "sha256": HEX, "size": N,     # about to APPEND local KEY;
     "uidnext": N}                             # its UID will be >= uidnext

Flags are Maildir letters, only those sync carries (``DFPRST``). The
``pair`` flags are the *base* of the three-way merge: a side whose flags
differ from them changed since the last sync.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._journal import Journal

__all__ = ["STATE_NAME", "Pair", "SyncState"]

#: The state file's name, in each local folder's directory.
STATE_NAME = ".mimekit-sync"


@dataclass(frozen=True, slots=True)
class Pair:
    """A remote message and its local copy, with the flags both had last."""

    key: str
    flags: str


class SyncState:
    """The replayed journal of one folder.

    Args:
        directory: The local folder's directory.
        remote: The remote mailbox's identity (``imap://user@host/Box``).
    """

    def __init__(self, directory: Path, remote: str) -> None:
        self.journal = Journal(directory / STATE_NAME,
                               {"format": "mimekit-sync", "version": 1, "remote": remote,
                                "uidvalidity": None})
        header, records = self.journal.load()
        self.known = header is not None
        #: The UIDVALIDITY and remote of the last sync (None: never synced).
        self.uidvalidity: int | None = header.get("uidvalidity") if header else None
        self.remote: str | None = header.get("remote") if header else None
        self.pairs: dict[int, Pair] = {}
        self.wants: dict[int, dict[str, Any]] = {}
        self.puts: dict[str, dict[str, Any]] = {}
        for record in records:
            if "pair" in record:
                uid = int(record["pair"])
                pair = Pair(str(record["key"]), str(record.get("flags", "")))
                self.pairs[uid] = pair
                self.wants.pop(uid, None)
                self.puts.pop(pair.key, None)
            elif "unpair" in record:
                self.pairs.pop(int(record["unpair"]), None)
            elif "want" in record:
                self.wants[int(record["want"])] = record
            elif "put" in record:
                self.puts[str(record["put"])] = record

    def keys(self) -> set[str]:
        """The local keys that are paired."""
        return {pair.key for pair in self.pairs.values()}

    def items(self) -> Iterator[tuple[int, Pair]]:
        """``(uid, pair)`` for a snapshot of the pairs."""
        return iter(list(self.pairs.items()))

    # -- recording (each is durable when it returns) ----------------------------------

    def pair(self, uid: int, key: str, flags: str) -> None:
        self.journal.append({"pair": uid, "key": key, "flags": flags})
        self.pairs[uid] = Pair(key, flags)
        self.wants.pop(uid, None)
        self.puts.pop(key, None)

    def unpair(self, uid: int) -> None:
        self.journal.append({"unpair": uid})
        self.pairs.pop(uid, None)

    def want(self, uid: int, sha256: str, when: int) -> None:
        record = {"want": uid, "sha256": sha256, "t": when}
        self.journal.append(record)
        self.wants[uid] = record

    def put(self, key: str, sha256: str, size: int, uidnext: int) -> None:
        record = {"put": key, "sha256": sha256, "size": size, "uidnext": uidnext}
        self.journal.append(record)
        self.puts[key] = record

    def restart(self, remote: str, uidvalidity: int | None, pairs: dict[int, Pair]) -> None:
        """Start over with these pairs (a first sync, a UIDVALIDITY change):
        the file is rewritten atomically."""
        self.pairs = dict(pairs)
        self.wants, self.puts = {}, {}
        self.compact(remote, uidvalidity)

    def compact(self, remote: str, uidvalidity: int | None) -> None:
        """Rewrite the file as the header, the pairs and the intents still
        open (an upload whose UID is not known yet), atomically."""
        self.remote, self.uidvalidity, self.known = remote, uidvalidity, True
        self.journal.header.update(remote=remote, uidvalidity=uidvalidity)
        records: list[dict[str, Any]] = [{"pair": uid, "key": p.key, "flags": p.flags}
                                         for uid, p in sorted(self.pairs.items())]
        records += list(self.wants.values()) + list(self.puts.values())
        self.journal.rewrite(records)

    def close(self) -> None:
        self.journal.close()
