"""Mailbox names: checking them, mapping them to Maildir++ folders, and
matching LIST patterns.

IMAP names (RFC 3501 section 5.1) use ``/`` between hierarchy levels here;
on disk a folder ``A/B`` is the Maildir++ directory ``.A.B`` next to the
INBOX's ``cur/ new/ tmp/``, each level in modified UTF-7 (RFC 3501 section
5.1.3), as Dovecot stores it. INBOX is the top-level Maildir itself.

A name can never reach outside the user's store: it must be a non-empty
``str`` of levels separated by single ``/``; no level may contain ``.``
(the Maildir++ level separator: ``..`` and ``.`` are impossible), ``\\``,
the LIST wildcards ``%`` and ``*``, control characters or lone surrogates,
and the name may not start with ``~``. So the directory is always the one
path component ``"." + encoded`` directly inside the store, and a name has
exactly one spelling. Anything else raises :class:`InvalidMailboxName`.
"""

from __future__ import annotations

import unicodedata

from ..codecs import decode_imap_utf7, encode_imap_utf7
from ._mailbox_errors import MailboxError

__all__ = [
    "DELIMITER",
    "INBOX",
    "InvalidMailboxName",
    "Pattern",
    "check_name",
    "decode_wire_name",
    "folder_dir_name",
    "name_from_dir",
]

#: The hierarchy delimiter of the IMAP names.
DELIMITER = "/"
INBOX = "INBOX"
#: Longest encoded name: a directory name is at most 255 bytes on common
#: file systems, and the store adds a "." and leaves room for Maildir++
#: folders made below it by other programs.
MAX_ENCODED = 200
_FORBIDDEN = frozenset(".%*\\")


class InvalidMailboxName(MailboxError):
    """A mailbox name that cannot be stored (the server answers ``NO``):
    empty levels, ``.``, wildcards, control characters..."""

    code = "CANNOT"


def _bad(name: str, why: str) -> InvalidMailboxName:
    return InvalidMailboxName(f"invalid mailbox name {name!r}: {why}")


def check_name(name: str) -> str:
    """Check a mailbox name and return its canonical spelling (``inbox/x``
    becomes ``INBOX/x``: RFC 3501 section 5.1 makes INBOX case-insensitive).

    Raises:
        InvalidMailboxName: see the module docs.
    """
    if not isinstance(name, str):
        raise InvalidMailboxName(f"mailbox name must be str, not {type(name).__name__}")
    if not name:
        raise _bad(name, "empty")
    levels = name.split(DELIMITER)
    if any(not level for level in levels):
        raise _bad(name, f"empty hierarchy level (a {DELIMITER!r} at the start, "
                         "the end, or twice)")
    if name.startswith("~"):
        raise _bad(name, "'~' at the start")
    for ch in name:
        if ch in _FORBIDDEN:
            raise _bad(name, f"{ch!r} is not allowed")
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs") or ch in "\u2028\u2029":
            raise _bad(name, f"control character U+{ord(ch):04X}")
    if levels[0].upper() == INBOX:
        levels[0] = INBOX
    canonical = DELIMITER.join(levels)
    if canonical != INBOX and len(folder_dir_name(canonical)) > MAX_ENCODED:
        raise _bad(name, "too long")
    return canonical


def decode_wire_name(wire: str | bytes) -> str:
    """A mailbox name as sent by a client (modified UTF-7, RFC 3501 section
    5.1.3) to the checked Unicode name.

    Raises:
        InvalidMailboxName: not the canonical modified UTF-7 of a valid name.
    """
    if isinstance(wire, bytes):
        try:
            wire = wire.decode("ascii")
        except UnicodeDecodeError:
            raise InvalidMailboxName("mailbox name is not 7-bit (modified UTF-7 "
                                     "expected)") from None
    try:
        text = decode_imap_utf7(wire, strict=True)
    except ValueError as exc:
        raise InvalidMailboxName(f"invalid mailbox name {wire!r}: {exc}") from None
    return check_name(text)


def folder_dir_name(name: str) -> str:
    """The Maildir++ directory of a checked, non-INBOX name: ``A/B`` -> ``.A.B``."""
    return "." + ".".join(encode_imap_utf7(level) for level in name.split(DELIMITER))


def name_from_dir(entry: str) -> str | None:
    """The mailbox name of a Maildir++ directory entry (``.A.B`` -> ``A/B``),
    or None when it is not one we can offer (a name that would not pass
    :func:`check_name`, or whose encoding is not canonical)."""
    if not entry.startswith(".") or entry in (".", "..") or entry.startswith(".."):
        return None
    levels = entry[1:].split(".")
    try:
        decoded = [decode_imap_utf7(level, strict=True) for level in levels]
        name = DELIMITER.join(decoded)
        canonical = check_name(name)
    except ValueError:
        return None
    if canonical != name or folder_dir_name(name) != entry:
        return None  # "inbox" spelled in lower case, or two spellings
    return name


class Pattern:
    """A LIST/LSUB pattern (RFC 3501 section 6.3.8): ``*`` matches anything,
    ``%`` anything but the hierarchy delimiter; the rest is literal, and
    INBOX matches case-insensitively.

    Matching is a set-of-positions simulation (an NFA), so it takes
    O(len(pattern) * len(name)) time whatever the pattern: no backtracking.
    """

    __slots__ = ("_pattern",)

    def __init__(self, reference: str, pattern: str) -> None:
        # RFC 3501: the pattern is interpreted relative to the reference;
        # like Dovecot, the two are simply joined.
        full = reference + pattern
        if full[:5].upper() == INBOX and (len(full) == 5 or full[5] == DELIMITER):
            full = INBOX + full[5:]
        self._pattern = full

    @property
    def text(self) -> str:
        return self._pattern

    def matches(self, name: str) -> bool:
        pat = self._pattern
        n = len(pat)
        fold = name.startswith(INBOX) and (len(name) == 5 or name[5] == DELIMITER)
        states = self._close({0})
        for i, ch in enumerate(name):
            nxt: set[int] = set()
            for s in states:
                if s >= n:
                    continue
                p = pat[s]
                if p == "*" or (p == "%" and ch != DELIMITER):
                    nxt.add(s)  # the wildcard takes this character and may go on
                elif p == ch or (fold and i < 5 and p.upper() == ch):
                    nxt.add(s + 1)
            if not nxt:
                return False
            states = self._close(nxt)
        return n in states

    def _close(self, states: set[int]) -> set[int]:
        # A wildcard may also match nothing: add the positions after it.
        out = set(states)
        stack = list(states)
        pat = self._pattern
        while stack:
            s = stack.pop()
            if s < len(pat) and pat[s] in "*%" and s + 1 not in out:
                out.add(s + 1)
                stack.append(s + 1)
        return out
