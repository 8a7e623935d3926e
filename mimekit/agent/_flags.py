"""Flags: Maildir letters and IMAP flags, and the three-way merge of sync.

The mapping is the one Dovecot and mbsync use::

    D \\Draft   F \\Flagged   P $Forwarded   R \\Answered   S \\Seen   T \\Deleted

Other IMAP keywords and the Maildir keyword letters ``a``-``z`` are left
alone: their letters mean something only through Dovecot's
``dovecot-keywords`` file, which this user agent does not keep.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["SYNCED", "imap_flags", "maildir_flags", "merge_flags", "synced"]

_TO_IMAP = {"D": "\\Draft", "F": "\\Flagged", "P": "$Forwarded", "R": "\\Answered",
            "S": "\\Seen", "T": "\\Deleted"}
_FROM_IMAP = {flag.lower(): letter for letter, flag in _TO_IMAP.items()}
#: The Maildir letters sync carries both ways.
SYNCED = frozenset(_TO_IMAP)


def maildir_flags(flags: Iterable[str]) -> str:
    """IMAP flags (``("\\\\Seen", "$Forwarded")``) as Maildir letters (``"PS"``);
    flags without a letter are dropped. IMAP flag names ignore case."""
    return "".join(sorted({_FROM_IMAP[f.lower()] for f in flags if f.lower() in _FROM_IMAP}))


def imap_flags(letters: str) -> list[str]:
    """Maildir letters as IMAP flags; letters without a flag are dropped."""
    return [_TO_IMAP[c] for c in sorted(set(letters)) if c in _TO_IMAP]


def synced(letters: str) -> str:
    """Only the letters sync carries, sorted."""
    return "".join(sorted(set(letters) & SYNCED))


def merge_flags(base: str, local: str, remote: str) -> str:
    """Three-way merge of two sides' flags since the last sync (``base``).

    For each flag, a side that changed it wins; when both changed it they
    agree (a flag has two values), so this never conflicts and loses no
    change: ``merge_flags("S", "FS", "")`` is ``"F"`` (flagged here, unread
    there).
    """
    out = set()
    for letter in SYNCED:
        was, here, there = letter in base, letter in local, letter in remote
        if (here if here != was else there):
            out.add(letter)
    return "".join(sorted(out))
