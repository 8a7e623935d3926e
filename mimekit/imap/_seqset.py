"""Sequence sets (RFC 3501 section 9), strictly, for the server side.

RFC 3501 section 9::

    sequence-set    = (seq-number / seq-range) *("," sequence-set)
    seq-range       = seq-number ":" seq-number
                        ; two seq-number values and all values between
                        ; these two regardless of order.
    seq-number      = nz-number / "*"
                        ; message sequence number (COPY, FETCH, STORE
                        ; commands) or unique identifier (UID COPY,
                        ; UID FETCH, UID STORE commands).
                        ; * represents the largest number in use.
    nz-number       = digit-nz *DIGIT
                        ; Non-zero unsigned 32-bit integer
                        ; (0 < n < 4,294,967,296)

:mod:`._values` has the lenient reader the client uses; a server must
refuse ``0``, leading zeros, numbers past 2^32 - 1 and empty items with
``BAD``, so this module is strict and raises :class:`SequenceSetError`.

A :class:`SequenceSet` keeps the ranges as written (``*`` as None), so it
can be formatted back exactly; :meth:`SequenceSet.ranges` resolves ``*``
against the largest number in use and merges. Ranges, not numbers:
``1:4294967295`` costs nothing.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["MAX_NUMBER", "SequenceSet", "SequenceSetError", "format_numbers"]

#: nz-number is an unsigned 32-bit integer.
MAX_NUMBER = 4_294_967_295
_DIGITS = frozenset("0123456789")

#: One seq-number: an int, or None for "*".
SeqNumber = int | None


class SequenceSetError(ValueError):
    """A malformed sequence set, or (for message sequence numbers) one that
    names a message that does not exist: the server answers ``BAD``."""


def _number(text: str, whole: str) -> SeqNumber:
    if text == "*":
        return None
    if not text or not set(text) <= _DIGITS or text[0] == "0" or len(text) > 10:
        raise SequenceSetError(f"invalid sequence set {whole!r}: {text!r} is not a "
                               "number from 1 to 4294967295 or *")
    n = int(text)
    if n > MAX_NUMBER:
        raise SequenceSetError(f"invalid sequence set {whole!r}: {n} is too large")
    return n


@dataclass(frozen=True, slots=True)
class SequenceSet:
    """A parsed sequence set: ``(low, high)`` items as written; None is ``*``.

    A single number ``n`` is the item ``(n, n)``.
    """

    items: tuple[tuple[SeqNumber, SeqNumber], ...]

    @classmethod
    def parse(cls, text: str | bytes) -> SequenceSet:
        """Parse ``"1:3,7,9:*"``.

        Raises:
            SequenceSetError: anything RFC 3501 does not allow (empty items,
                ``0``, leading zeros, spaces, numbers past 2^32 - 1).
        """
        if isinstance(text, bytes):
            try:
                text = text.decode("ascii")
            except UnicodeDecodeError:
                raise SequenceSetError("invalid sequence set: not ASCII") from None
        if not isinstance(text, str) or not text:
            raise SequenceSetError("empty sequence set")
        items: list[tuple[SeqNumber, SeqNumber]] = []
        for part in text.split(","):
            low, sep, high = part.partition(":")
            a = _number(low, text)
            b = _number(high, text) if sep else a
            items.append((a, b))
        return cls(tuple(items))

    @classmethod
    def of(cls, numbers: Iterable[int]) -> SequenceSet:
        """The set of these numbers, consecutive ones joined into ranges.

        Raises:
            SequenceSetError: no numbers, or one outside 1..2^32-1.
        """
        values = sorted(set(numbers))
        if not values:
            raise SequenceSetError("an empty sequence set cannot be written")
        if values[0] < 1 or values[-1] > MAX_NUMBER:
            raise SequenceSetError("sequence numbers run from 1 to 4294967295")
        items: list[tuple[SeqNumber, SeqNumber]] = []
        start = prev = values[0]
        for n in values[1:]:
            if n != prev + 1:
                items.append((start, prev))
                start = n
            prev = n
        items.append((start, prev))
        return cls(tuple(items))

    def __str__(self) -> str:
        def one(n: SeqNumber) -> str:
            return "*" if n is None else str(n)
        return ",".join(one(a) if a == b else f"{one(a)}:{one(b)}" for a, b in self.items)

    @property
    def uses_star(self) -> bool:
        return any(a is None or b is None for a, b in self.items)

    def ranges(self, largest: int) -> list[tuple[int, int]]:
        """The sorted, merged, inclusive ranges with ``*`` = ``largest``.

        RFC 3501: a range is "all values between these two regardless of
        order". With ``largest == 0`` (an empty mailbox) ``*`` names nothing.
        """
        spans: list[tuple[int, int]] = []
        for a, b in self.items:
            if (a is None or b is None) and largest <= 0:
                # "*" in an empty mailbox: only a range with a real number
                # on the other side still names something (n:* is n..n).
                other = a if a is not None else b
                if other is None:
                    continue
                spans.append((other, other))
                continue
            x = largest if a is None else a
            y = largest if b is None else b
            spans.append((min(x, y), max(x, y)))
        spans.sort()
        merged: list[tuple[int, int]] = []
        for lo, hi in spans:
            if merged and lo <= merged[-1][1] + 1:
                if hi > merged[-1][1]:
                    merged[-1] = (merged[-1][0], hi)
            else:
                merged.append((lo, hi))
        return merged

    def select(self, values: Sequence[int]) -> list[int]:
        """The members of ``values`` (sorted ascending, e.g. the UIDs in use)
        that the set names, ascending; ``*`` is ``values[-1]``.

        Numbers that are not in ``values`` are ignored, as RFC 3501 wants for
        UID sets (a UID range may name UIDs that no longer exist).
        """
        largest = values[-1] if values else 0
        out: list[int] = []
        for lo, hi in self.ranges(largest):
            i = bisect.bisect_left(values, lo)
            j = bisect.bisect_right(values, hi)
            out.extend(values[i:j])
        return out

    def message_numbers(self, exists: int) -> list[int]:
        """Message sequence numbers 1..``exists`` named by the set, ascending.

        Raises:
            SequenceSetError: a number is larger than ``exists`` (Dovecot
                and RFC 9051 answer BAD "Invalid messageset"), or the set
                uses ``*`` in an empty mailbox.
        """
        if exists <= 0:
            raise SequenceSetError("no messages: the mailbox is empty")
        spans = self.ranges(exists)
        if spans and spans[-1][1] > exists:
            raise SequenceSetError(f"invalid message sequence number {spans[-1][1]}: "
                                   f"the mailbox has {exists} messages")
        out: list[int] = []
        for lo, hi in spans:
            out.extend(range(lo, hi + 1))
        return out


def format_numbers(numbers: Iterable[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"1:3,7"`` (for COPYUID, SEARCH results...)."""
    return str(SequenceSet.of(numbers))
