"""Helpers shared by the streaming body decoders (base64, quoted-printable).

Both decoders promise that any chunking of the input gives the same output and
the same defects as decoding it in one piece. The two helpers here are written
so that their results depend only on stream positions, never on where a chunk
happens to end.
"""

from __future__ import annotations

from typing import Final

from .._defects import Defect, DefectKind

__all__ = ["MAX_DEFECTS_PER_KIND", "BytesLike", "DefectLog", "LineLengthChecker"]

#: What the decoders and encoders accept as binary input.
BytesLike = bytes | bytearray | memoryview

#: A hostile body can contain millions of bad sequences; after this many
#: defects of one kind, one more defect says the rest are not reported.
MAX_DEFECTS_PER_KIND: Final = 100


class DefectLog:
    """A defect list with a per-kind cap (see :data:`MAX_DEFECTS_PER_KIND`)."""

    __slots__ = ("_counts", "defects")

    def __init__(self) -> None:
        self.defects: list[Defect] = []
        # Keyed by id(kind): Enum.__hash__ is Python code, and a hostile input
        # can make this run once per input byte.
        self._counts: dict[int, int] = {}

    def add(self, kind: DefectKind, offset: int, detail: str) -> None:
        """Record a defect unless the cap for ``kind`` is already reached."""
        key = id(kind)
        count = self._counts.get(key, 0)
        self._counts[key] = count + 1
        if count < MAX_DEFECTS_PER_KIND:
            self.defects.append(Defect(kind=kind, offset=offset, detail=detail))
        elif count == MAX_DEFECTS_PER_KIND:
            self.defects.append(
                Defect(
                    kind=kind,
                    offset=offset,
                    detail=f"{detail} (limit reached: further {kind.value} defects not reported)",
                )
            )

    def full(self, kind: DefectKind) -> bool:
        """Whether further defects of ``kind`` would be dropped anyway."""
        return self._counts.get(id(kind), 0) > MAX_DEFECTS_PER_KIND

    def sort(self) -> None:
        """Order by offset, then kind: the same order for every chunking."""
        self.defects.sort(key=lambda defect: (defect.offset, defect.kind.value))


class LineLengthChecker:
    """Report the first line longer than ``limit`` characters, once.

    The length excludes the line ending (LF or CRLF). RFC 2045 sections 6.7
    and 6.8 limit encoded lines to 76 characters. The defect offset is the
    absolute offset of the first character beyond the limit, so it does not
    depend on chunking.
    """

    __slots__ = ("_kind", "_limit", "_line_start", "_log", "_prev", "done")

    def __init__(self, log: DefectLog, kind: DefectKind, limit: int, offset: int) -> None:
        self._log = log
        self._kind = kind
        self._limit = limit
        self._line_start = offset  # absolute offset of the current line
        self._prev = 0  # last byte of the previous chunk (0: none)
        self.done = False

    def _report(self, line_start: int) -> None:
        self.done = True
        self._log.add(
            self._kind,
            line_start + self._limit,
            f"line longer than {self._limit} characters",
        )

    def feed(self, chunk: bytes, base: int) -> None:
        """Check ``chunk``, whose first byte is at absolute offset ``base``."""
        if self.done or not chunk:
            return
        limit = self._limit
        first = chunk.find(b"\n")
        if first == -1:
            self._prev = chunk[-1]
            # Even if the line later ends with CRLF, more than limit + 1
            # bytes before the LF is too long.
            if base + len(chunk) - self._line_start > limit + 1:
                self._report(self._line_start)
            return
        before = chunk[first - 1] if first else self._prev
        if base + first - self._line_start - (before == 0x0D) > limit:
            self._report(self._line_start)
            return
        last = chunk.rfind(b"\n")
        if last > first and not self._uniform(chunk, first, last):
            lines = chunk[first + 1 : last + 1]
            # Splitting on CRLF when there are CRs keeps the CR out of the
            # length; a bare LF inside only merges lines (a false alarm that
            # the exact loop below clears).
            if max(map(len, lines.split(b"\r\n" if b"\r" in lines else b"\n"))) > limit:
                start = base + first + 1
                for line in lines[:-1].split(b"\n"):
                    if len(line) > limit and len(line) - line.endswith(b"\r") > limit:
                        self._report(start)
                        return
                    start += len(line) + 1
        self._line_start = base + last + 1
        self._prev = chunk[-1]
        if len(chunk) - last - 1 > limit + 1:
            self._report(self._line_start)

    def _uniform(self, chunk: bytes, first: int, last: int) -> bool:
        """Prove cheaply that no line between two LFs is too long.

        Encoders write lines of one length, so the LFs sit at a fixed stride.
        If every stride position from ``first`` to ``last`` holds an LF, no
        line in between is longer than ``stride - 1`` bytes (other LFs only
        make lines shorter); strided slices check that at C speed. Returns
        False when the proof fails, and the caller checks line by line.
        """
        stride = chunk.find(b"\n", first + 1) - first
        limit = self._limit
        if stride - 1 > limit + 1 or (last - first) % stride:
            return False
        marks = chunk[first : last + 1 : stride]
        if marks.count(b"\n") != len(marks):
            return False
        if stride - 1 == limit + 1:
            # Lines of limit + 1 bytes are fine only as limit bytes + CR.
            ends = chunk[first + stride - 1 : last : stride]
            return ends.count(b"\r") == len(ends)
        return True

    def close(self, end: int) -> None:
        """Check the final line (no LF after it); ``end`` is the stream end."""
        if self.done:
            return
        length = end - self._line_start - (self._prev == 0x0D and end > self._line_start)
        if length > self._limit:
            self._report(self._line_start)
