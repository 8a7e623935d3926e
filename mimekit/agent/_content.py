"""Message content: line-end normalisation, digests, and finding a stored copy.

These are how fetch and sync recognise a message they may already have
stored (or uploaded) in a run that was interrupted: by its size and SHA-256,
never by header guesses. A message's bytes on an IMAP or POP3 server are
always CRLF (RFC 3501, RFC 1939), while a local Maildir may hold either; the
digests compare the CRLF form.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from ..mailstore import Maildir

__all__ = ["crlf", "digest", "find_stored", "key_time"]

_BARE_LF = re.compile(rb"(?<!\r)\n")
_KEY_TIME = re.compile(r"(\d{9,12})\.")


def crlf(data: bytes) -> bytes:
    """``data`` with every bare LF made CRLF (what IMAP APPEND needs)."""
    return _BARE_LF.sub(b"\r\n", data) if b"\n" in data else data


def digest(data: bytes) -> str:
    """The SHA-256 of the CRLF form, in hex."""
    return hashlib.sha256(crlf(data)).hexdigest()


def key_time(key: str) -> int | None:
    """The delivery time (Unix seconds) at the start of a Maildir key, if any."""
    m = _KEY_TIME.match(key)
    return int(m.group(1)) if m else None


def find_stored(md: Maildir, sha256: str, *, not_before: float | None = None,
                exclude: Iterable[str] = ()) -> str | None:
    """The key of a message in ``md`` whose CRLF form has digest ``sha256``.

    Args:
        not_before: Only messages delivered at or after this time (seconds;
            a second of slack is allowed), judged by the key's time prefix;
            keys without one are always looked at.
        exclude: Keys not to consider (already accounted for).
    """
    skip = set(exclude)
    for key in reversed(md.keys()):  # newest first: a recovery looks for the latest
        if key in skip:
            continue
        when = key_time(key)
        if not_before is not None and when is not None and when < not_before - 1:
            continue
        try:
            if digest(md.get_bytes(key)) == sha256:
                return key
        except (KeyError, FileNotFoundError):
            continue
    return None
