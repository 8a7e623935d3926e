"""The neutral value model for IMAP data, shared by both roles.

Everything the lexer reads and the encoder writes is one of these Python
values (RFC 3501 section 4, "Data Formats"):

=====================  ========================================================
IMAP                   Python
=====================  ========================================================
``NIL``                ``None``
number                 ``int`` (an atom of digits only; at most 19 digits,
                       longer runs stay :class:`Atom`)
quoted string          ``str`` (the octets decoded as UTF-8; octets that are
                       not UTF-8 become lone surrogates, ``surrogateescape``,
                       so writing the value back gives the same octets)
literal ``{n}``        ``bytes`` (exactly the ``n`` octets; literals carry
                       message bodies, so they are never decoded)
atom                   :class:`Atom`, a ``str`` subclass (``\\Seen``,
                       ``FLAGS``, ``BODY[HEADER.FIELDS (SUBJECT)]<0>``)
parenthesized list     ``tuple`` of values, nested to any (bounded) depth
=====================  ========================================================

Writing (:mod:`._encode`) is the same table backwards, plus conveniences:
a ``str`` is written quoted when it can be (7-bit, no CR/LF/NUL, not too
long; UTF-8 too once ``UTF8=ACCEPT`` is on) and as a literal otherwise;
``bytes`` (and ``bytearray``/``memoryview``) always as a literal; a ``list``
like a ``tuple``; a ``datetime`` as a quoted ``date-time``
(``"17-Jul-1996 02:44:25 -0700"``) and a ``date`` as a ``date`` atom
(``1-Feb-1994``). So a server can hand ENVELOPE or BODYSTRUCTURE over as
nested tuples of ``None | str | int | tuple`` and get the right IMAP.

A string can come back as ``str`` (quoted) or ``bytes`` (literal) for the
same text, depending on how the peer chose to send it; :func:`as_text`,
:func:`as_bytes` and :func:`as_astring` read either form. A literal and a
quoted string are the same value in IMAP; only the transfer differs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from typing import TypeAlias

__all__ = [
    "Atom",
    "Value",
    "as_astring",
    "as_bytes",
    "as_int",
    "as_text",
    "format_date",
    "format_datetime",
    "format_sequence_set",
    "parse_date",
    "parse_datetime",
    "parse_sequence_set",
]

#: A parsed IMAP value (see the module docs). ``tuple`` is a parenthesized list.
Value: TypeAlias = "int | str | bytes | tuple[Value, ...] | None"


class Atom(str):
    """An IMAP atom: written as is, never quoted (``\\Seen``, ``UIDNEXT``).

    Being a ``str``, an atom compares equal to the same text
    (``Atom("FLAGS") == "FLAGS"``); test ``isinstance(v, Atom)`` to tell an
    atom from a quoted string. The encoder refuses an atom that would not
    read back as one (spaces or parentheses outside ``[...]``, CR/LF,
    non-ASCII); see :func:`~._encode.check_atom`.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Atom({str.__repr__(self)})"


# -- reading values leniently --------------------------------------------------------------


def as_text(value: Value, default: str | None = None) -> str | None:
    """A string value as ``str``: quoted strings and atoms as they are,
    literals decoded as UTF-8 (``surrogateescape``), numbers as digits;
    ``NIL`` (and a list) give ``default``."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if isinstance(value, int):
        return str(value)
    return default


def as_astring(value: Value) -> str | None:
    """An ``astring`` (RFC 3501: atom, quoted or literal) as ``str``; None
    for NIL and lists (a mailbox or user name can never be those)."""
    return None if value is None or isinstance(value, tuple) else as_text(value)


def as_bytes(value: Value) -> bytes | None:
    """A string value as octets (the inverse of :func:`as_text`); None for NIL/lists."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, int):
        return str(value).encode("ascii")
    return None


def as_int(value: Value) -> int | None:
    """A number, or None when the value is not one."""
    return value if isinstance(value, int) else None


# -- dates (RFC 3501 section 9) -----------------------------------------------------------
#
#   date            = date-text / DQUOTE date-text DQUOTE
#   date-text       = date-day "-" date-month "-" date-year
#   date-day        = 1*2DIGIT
#   date-month      = "Jan" / "Feb" / "Mar" / "Apr" / "May" / "Jun" /
#                     "Jul" / "Aug" / "Sep" / "Oct" / "Nov" / "Dec"
#   date-time       = DQUOTE date-day-fixed "-" date-month "-" date-year
#                     SP time SP zone DQUOTE
#   date-day-fixed  = (SP DIGIT) / 2DIGIT
#   time            = 2DIGIT ":" 2DIGIT ":" 2DIGIT
#   zone            = ("+" / "-") 4DIGIT

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBER = {m.lower(): i + 1 for i, m in enumerate(_MONTHS)}
# Lenient about spacing and case; bounded repetitions only (linear).
_DATE_TIME = re.compile(
    r"\s{0,3}(\d{1,2})-([A-Za-z]{3})-(\d{4})\s{1,3}(\d{1,2}):(\d{2}):(\d{2})"
    r"(?:\s{1,3}([+-])(\d{2})(\d{2}))?\s{0,3}")
_DATE = re.compile(r"\s{0,3}(\d{1,2})-([A-Za-z]{3})-(\d{4})\s{0,3}")


def format_date(day: date) -> str:
    """``date-text`` for SEARCH: ``1-Feb-1994`` (RFC 3501 section 9)."""
    return f"{day.day}-{_MONTHS[day.month - 1]}-{day.year:04d}"


def format_datetime(moment: datetime) -> str:
    """``date-time`` without its quotes: ``17-Jul-1996 02:44:25 -0700``.

    A naive datetime is taken as local time (as ``datetime.astimezone`` does).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.astimezone()
    offset = moment.utcoffset() or timedelta()
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return (f"{moment.day:02d}-{_MONTHS[moment.month - 1]}-{moment.year:04d} "
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} "
            f"{sign}{minutes // 60:02d}{minutes % 60:02d}")


def parse_datetime(text: str) -> datetime | None:
    """Read a ``date-time`` (INTERNALDATE); None when it is not one.

    Lenient: a missing zone is taken as UTC, and case and spacing are free.
    Never raises.
    """
    m = _DATE_TIME.fullmatch(text)
    if m is None:
        return None
    day, mon, year, hh, mm, ss, sign, zh, zm = m.groups()
    month = _MONTH_NUMBER.get(mon.lower())
    if month is None:
        return None
    offset = 0
    if sign is not None:
        offset = (int(zh) * 60 + int(zm)) * (-1 if sign == "-" else 1)
    try:
        return datetime(int(year), month, int(day), int(hh), int(mm), int(ss),
                        tzinfo=timezone(timedelta(minutes=offset)))
    except ValueError:
        return None


def parse_date(text: str) -> date | None:
    """Read a ``date-text`` (``1-Feb-1994``); None when it is not one."""
    m = _DATE.fullmatch(text)
    if m is None:
        return None
    month = _MONTH_NUMBER.get(m.group(2).lower())
    if month is None:
        return None
    try:
        return date(int(m.group(3)), month, int(m.group(1)))
    except ValueError:
        return None


# -- sequence sets (RFC 3501 section 9) -----------------------------------------------------
#
#   sequence-set    = (seq-number / seq-range) ["," sequence-set]
#   seq-range       = seq-number ":" seq-number
#   seq-number      = nz-number / "*"

_SEQ_ITEM = re.compile(r"(\d{1,10}|\*)(?::(\d{1,10}|\*))?")


def format_sequence_set(numbers: int | str | Iterable[int]) -> str:
    """A sequence set from numbers, ranges collapsed: ``[1, 2, 3, 7]`` -> ``1:3,7``.

    A ``str`` is checked and returned as is (``"1:*"``, ``"4,7:9"``).

    Raises:
        ValueError: an empty set, a number below 1, or a malformed string.
        TypeError: not an int, a string or an iterable of ints.
    """
    if isinstance(numbers, bool):
        raise TypeError("a sequence set is not a bool")
    if isinstance(numbers, int):
        numbers = (numbers,)
    if isinstance(numbers, str):
        if not numbers or any(_SEQ_ITEM.fullmatch(p) is None for p in numbers.split(",")):
            raise ValueError(f"not a sequence set: {numbers!r}")
        return numbers
    values = sorted(set(numbers))
    if not values:
        raise ValueError("an empty sequence set cannot be written")
    for n in values:
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"sequence numbers must be int, not {type(n).__name__}")
        if n < 1:
            raise ValueError(f"sequence numbers start at 1, not {n}")
    parts: list[str] = []
    start = prev = values[0]
    for n in [*values[1:], 0]:
        if n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}:{prev}")
        start = prev = n
    return ",".join(parts)


def parse_sequence_set(text: str, largest: int | None = None) -> list[tuple[int, int]] | None:
    """The ranges of a sequence set, as sorted, merged ``(low, high)`` pairs
    (both inclusive); None when malformed.

    Ranges rather than numbers, so ``1:4294967295`` costs nothing; a server
    intersects them with the numbers in use.

    Args:
        text: The set (``"1:3,7,9:*"``).
        largest: What ``*`` stands for (the highest number in use; 0 for an
            empty mailbox, where ``*`` matches nothing). Without it a set
            with ``*`` gives None.

    A range may be written backwards (``4:2``), as RFC 3501 allows.
    """
    ranges: list[tuple[int, int]] = []
    for part in text.split(","):
        m = _SEQ_ITEM.fullmatch(part)
        if m is None:
            return None
        ends: list[int] = []
        for g in m.groups():
            if g is None:
                continue
            if g == "*":
                if largest is None:
                    return None
                ends.append(largest)
            else:
                ends.append(int(g))
        lo, hi = min(ends), max(ends)
        if hi < 1:
            continue  # "*" in an empty mailbox
        ranges.append((max(lo, 1), hi))
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged
