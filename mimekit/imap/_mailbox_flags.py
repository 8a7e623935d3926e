"""IMAP flags on Maildir: system flags as info letters, keywords as the
letters a-z named in ``dovecot-keywords``.

RFC 3501 section 2.3.2 flags and their Maildir info letters
(https://cr.yp.to/proto/maildir.html, as Dovecot maps them)::

    \\Seen S    \\Answered R    \\Flagged F    \\Deleted T    \\Draft D

``\\Recent`` is not stored in the file name (see the folder's uid-list).
The Maildir flag ``P`` (passed) has no IMAP flag; it is kept untouched.

Keywords (``$Forwarded``, ``Junk``...) are the letters ``a``-``z``; the
folder's ``dovecot-keywords`` file names them, one ``<index> <keyword>``
per line, index 0 being ``a``: Dovecot's own format, so a Maildir moved
between Dovecot and mimekit keeps its keywords. That allows 26 keywords per
folder (a Maildir file name has no room for more); the 27th raises
:class:`KeywordLimitError` and PERMANENTFLAGS then lacks ``\\*``.
Keywords compare case-insensitively and keep the spelling first used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from ._mailbox_errors import FlagError, KeywordLimitError

__all__ = [
    "KEYWORDS_FILE",
    "SYSTEM_FLAGS",
    "Keywords",
    "check_flags",
]

KEYWORDS_FILE = "dovecot-keywords"
#: The system flags a client may set, in the order they are reported.
SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
_LETTER_OF = {"\\seen": "S", "\\answered": "R", "\\flagged": "F", "\\deleted": "T",
              "\\draft": "D"}
_FLAG_OF = {"R": "\\Answered", "F": "\\Flagged", "T": "\\Deleted", "S": "\\Seen",
            "D": "\\Draft"}
_CANONICAL = {f.lower(): f for f in SYSTEM_FLAGS}
#: The system letters IMAP manages (P and unknown letters are left alone).
SYSTEM_LETTERS = frozenset("DFRST")
KEYWORD_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# RFC 3501: flag-keyword = atom; atom-char excludes atom-specials
# ( ) { SP CTL % * " \ ] and 8-bit.
_ATOM = re.compile(r"[!#$&'+-\[^-z|}~]+")


def check_flags(flags: Iterable[str]) -> tuple[list[str], list[str]]:
    """Split flags into canonical system flags and keywords.

    Raises:
        FlagError: ``\\Recent`` (RFC 3501: "cannot be altered by the
            client"), another ``\\`` flag that is not a system flag, or a
            keyword that is not an atom.
    """
    system: list[str] = []
    keywords: list[str] = []
    for flag in flags:
        if not isinstance(flag, str) or not flag:
            raise FlagError(f"invalid flag {flag!r}")
        if flag.startswith("\\"):
            canonical = _CANONICAL.get(flag.lower())
            if canonical is None:
                raise FlagError(f"flag {flag} cannot be set (RFC 3501 section 2.3.2)")
            if canonical not in system:
                system.append(canonical)
        elif _ATOM.fullmatch(flag) is None:
            raise FlagError(f"invalid keyword {flag!r}: keywords are IMAP atoms")
        elif flag.lower() not in (k.lower() for k in keywords):
            keywords.append(flag)
    return system, keywords


class Keywords:
    """The keyword names of one folder (``dovecot-keywords``)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / KEYWORDS_FILE
        self.names: list[str | None] = [None] * len(KEYWORD_LETTERS)
        self._by_lower: dict[str, int] = {}
        self._stamp: tuple[int, int] | None = None
        self.reload()

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns)

    def reload(self) -> None:
        """Read the file again if another program changed it."""
        stamp = self._file_stamp()
        if stamp == self._stamp and stamp is not None:
            return
        names: list[str | None] = [None] * len(KEYWORD_LETTERS)
        try:
            text = self.path.read_text("utf-8", "surrogateescape")
        except FileNotFoundError:
            text = ""
        for line in text.splitlines():
            idx, _, name = line.partition(" ")
            if idx.isdigit() and int(idx) < len(names) and name and \
                    _ATOM.fullmatch(name) and names[int(idx)] is None:
                names[int(idx)] = name
        self.names = names
        self._by_lower = {n.lower(): i for i, n in enumerate(names) if n is not None}
        self._stamp = stamp

    @property
    def defined(self) -> list[str]:
        """The keywords in use, in letter order."""
        return [n for n in self.names if n is not None]

    @property
    def full(self) -> bool:
        return all(n is not None for n in self.names)

    def letter(self, keyword: str, *, create: bool) -> str | None:
        """The letter of ``keyword``; with ``create``, a free letter is given
        to a new keyword (call with the folder's uid-list lock held).

        Raises:
            KeywordLimitError: all 26 letters are taken.
        """
        i = self._by_lower.get(keyword.lower())
        if i is not None:
            return KEYWORD_LETTERS[i]
        if not create:
            return None
        for i, name in enumerate(self.names):
            if name is None:
                self.names[i] = keyword
                self._by_lower[keyword.lower()] = i
                self._save()
                return KEYWORD_LETTERS[i]
        raise KeywordLimitError(f"this folder has {len(KEYWORD_LETTERS)} keywords already; "
                                f"cannot add {keyword!r}")

    def _save(self) -> None:
        data = "".join(f"{i} {n}\n" for i, n in enumerate(self.names) if n is not None)
        tmp = self.path.with_name(f"{KEYWORDS_FILE}.{os.getpid()}.tmp")
        tmp.write_text(data, "utf-8", "surrogateescape")
        os.replace(tmp, self.path)
        self._stamp = self._file_stamp()

    # -- letters <-> IMAP flags --------------------------------------------------------

    def flags_of(self, letters: str) -> tuple[str, ...]:
        """IMAP flags of a Maildir info (``"FSa"`` -> ``("\\Flagged",
        "\\Seen", "$Forwarded")``); unnamed keyword letters are skipped."""
        out = [_FLAG_OF[c] for c in "RFTSD" if c in letters]
        for c in letters:
            if "a" <= c <= "z":
                name = self.names[ord(c) - 97]
                if name is not None:
                    out.append(name)
        return tuple(out)

    def letters_of(self, system: Iterable[str], keywords: Iterable[str], *,
                   create: bool) -> set[str]:
        """Maildir letters for checked flags (:func:`check_flags`). Without
        ``create``, keywords the folder does not know are left out (they
        cannot be on any message)."""
        out = {_LETTER_OF[f.lower()] for f in system}
        for k in keywords:
            letter = self.letter(k, create=create)
            if letter is not None:
                out.add(letter)
        return out


def managed_letters() -> frozenset[str]:
    """The letters IMAP flags map to (system and keyword letters)."""
    return SYSTEM_LETTERS | frozenset(KEYWORD_LETTERS)
