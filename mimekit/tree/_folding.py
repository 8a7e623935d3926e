"""Writing new header fields: validation and folding.

RFC 5322 section 2.1.1 and 2.2.3: a line SHOULD be at most 78 characters and
MUST be at most 998; a long field is folded by inserting CRLF before a
whitespace character. :func:`mimekit.fields.format_field` guarantees that
every space in a formatted value is a legal folding point, so folding here is
a greedy split at spaces.
"""

from __future__ import annotations

import re

from .._errors import HeaderInjectionError, InvalidHeaderNameError

__all__ = ["check_name", "check_value", "fold"]

#: RFC 5322: field-name = 1*ftext; ftext = %d33-57 / %d59-126
_FIELD_NAME = re.compile(r"[!-9;-~]+")
#: Characters that would end a header line early, or be read as one by a
#: careless reader: CR, LF, and NUL (RFC 5322 never allows NUL).
_FORBIDDEN = re.compile(r"[\r\n\x00]")
#: A run of spaces followed by a run of non-spaces (or trailing spaces).
_CHUNK = re.compile(r" *[^ ]+| +")

SOFT_LIMIT = 78
HARD_LIMIT = 998


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid field name, else raise.

    Raises:
        InvalidHeaderNameError: empty, non-ASCII, or containing a colon,
            space or control character.
    """
    if not isinstance(name, str):
        raise TypeError(f"header name must be str, not {type(name).__name__}")
    if not _FIELD_NAME.fullmatch(name):
        raise InvalidHeaderNameError(f"invalid header field name: {name!r}")
    return name


def check_value(value: str) -> str:
    """Refuse CR, LF and NUL in a value given through the API (no header injection)."""
    m = _FORBIDDEN.search(value)
    if m is not None:
        raise HeaderInjectionError(
            f"header value contains {m.group()!r} at index {m.start()}: refused "
            "(a line break in a value could inject header fields)")
    return value


def fold(name: str, value: str, linesep: bytes, *, utf8: bool = False) -> bytes:
    """Build the raw bytes of one field, folded at 78 characters where possible.

    Args:
        name: A valid field name.
        value: The formatted value on one line; every space is a legal place
            to fold.
        linesep: ``b"\\r\\n"`` or ``b"\\n"``: ends each line.
        utf8: Allow non-ASCII in ``value`` (RFC 6532); otherwise it must be
            ASCII already.

    Raises:
        ValueError: a run of non-space characters too long to fit in 998
            characters, or non-ASCII text when ``utf8`` is false.
    """
    check_value(value)
    if not utf8 and not value.isascii():
        raise ValueError("non-ASCII header value needs utf8=True or encoded words")
    sep = linesep.decode("ascii")
    out: list[str] = [name, ":"]
    # Characters for the 78 (a display width), octets for the 998 (RFC 6532
    # keeps RFC 5322's limit in octets).
    length = octets = len(name) + 1
    first = True
    for chunk in _CHUNK.findall(" " + value if value else ""):
        body_len = len(chunk)
        body_octets = len(chunk.encode("utf-8")) if utf8 else body_len
        # Fold before this chunk when it would pass 78 and the chunk has
        # something to put on the new line (a whitespace-only continuation
        # line is obsolete syntax, so trailing spaces stay where they are).
        # The first chunk stays beside the name unless the line would pass
        # 998: then it goes on a line of its own (folding right after the
        # colon is legal FWS, though CPython then reads a leading space).
        wraps = (octets + body_octets > HARD_LIMIT if first
                 else length + body_len > SOFT_LIMIT)
        if wraps and chunk.strip(" "):
            out.append(sep)
            length = octets = 0
        out.append(chunk)
        length += body_len
        octets += body_octets
        first = False
        if octets > HARD_LIMIT:
            raise ValueError(
                f"header {name} has a token too long to fold within {HARD_LIMIT} octets")
    out.append(sep)
    return "".join(out).encode("utf-8")
