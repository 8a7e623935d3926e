"""Parse one byte range of a file as a message: what the mail stores need.

An mbox file holds many messages back to back. :func:`parse_range` gives one
of them as a :class:`~mimekit.Message` without copying it out: the message
reads its bytes from the file by offset, like :func:`mimekit.parse_file`, so a
huge mailbox (or a huge message in it) is parsed in bounded memory.

It can also leave single bytes out. mboxrd quoting (one ``>`` added before a
body line matching ``"^>*From "``) is undone on read by dropping one ``>`` per
quoted line, so the message's offsets are positions in the *unquoted* bytes,
and the file itself is never copied or changed.
"""

from __future__ import annotations

import bisect
import itertools
import os
from collections.abc import Sequence
from typing import IO

from ._limits import DEFAULT_LIMITS, Limits
from ._message import Message
from ._source import CHUNK_SIZE, BytesSource, FileSource, Source

__all__ = ["parse_range"]

#: Ranges up to this size are read whole: one read beats many small ones,
#: and the message then holds no file descriptor (as in ``parse_file``).
SMALL_RANGE = 1 << 16
#: The first read of a search; each further read doubles, up to CHUNK_SIZE.
_FIRST_FIND = 1 << 12


class _RangeSource(Source):
    """The bytes ``[base, base + size + len(omit))`` of a file, minus the bytes
    at the absolute offsets ``omit``, seen as positions ``0 .. size``.

    Mapping a position is a binary search over ``omit`` (sorted): memory is
    one integer per omitted byte, which for mboxrd is one per quoted line.
    """

    __slots__ = ("_adjusted", "_base", "_file", "_omit", "size")

    def __init__(self, file: FileSource, base: int, end: int, omit: Sequence[int]) -> None:
        self._file = file
        self._base = base
        self._omit = list(omit)
        # Position (in this source) of the byte that follows the i-th omitted
        # byte: omitted byte i sits at file offset omit[i], and i bytes before
        # it were already left out.
        self._adjusted = [o - base - i for i, o in enumerate(self._omit)]
        self.size = end - base - len(self._omit)

    def _to_file(self, pos: int) -> int:
        """File offset of the byte at ``pos`` (or of the end, for ``pos == size``)."""
        return self._base + pos + bisect.bisect_right(self._adjusted, pos)

    def read(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        if end <= start:
            return b""
        fstart = self._to_file(start)
        fend = self._to_file(end - 1) + 1
        data = self._file.read(fstart, fend)
        lo = bisect.bisect_left(self._omit, fstart)
        hi = bisect.bisect_left(self._omit, fend)
        if lo == hi:
            return data
        # Join the pieces between the omitted bytes.
        pieces = []
        prev = 0
        for o in self._omit[lo:hi]:
            pieces.append(data[prev:o - fstart])
            prev = o - fstart + 1
        pieces.append(data[prev:])
        return b"".join(pieces)

    def find(self, sub: bytes, start: int, end: int) -> int:
        # As FileSource.find: chunks overlap by len(sub) - 1 bytes so a match
        # across two chunks is found; small first, doubling.
        end = min(end, self.size)
        overlap = max(len(sub) - 1, 0)
        size = max(_FIRST_FIND, 2 * len(sub))
        pos = start
        while pos < end:
            stop = min(end, pos + size)
            i = self.read(pos, stop).find(sub)
            if i >= 0:
                return pos + i
            if stop >= end:
                return -1
            pos = stop - overlap
            size = min(size * 2, max(CHUNK_SIZE, size))
        return -1

    def close(self) -> None:
        self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed


def _fileno(file: int | IO[bytes]) -> int:
    return file if isinstance(file, int) else file.fileno()


def parse_range(file: int | IO[bytes], start: int, end: int, *,
                omit: Sequence[int] = (), limits: Limits | None = None) -> Message:
    """Parse the bytes ``[start, end)`` of an open file as one message.

    The message is lazy and lossless as with :func:`mimekit.parse_file`:
    ``bytes(msg)`` is the range (minus ``omit``), and bodies are read from
    the file only when asked for. A leading mbox ``From`` line becomes
    :attr:`Message.mbox_from <mimekit.Message.mbox_from>`.

    * A range of at most 64 KiB is read at once; the message keeps nothing open.
    * A larger range is read by offset through a duplicate of the file's
      descriptor (``os.dup``), owned by the message: close it with
      :meth:`Message.close` (or ``with``). The caller's file can be closed
      independently, and replacing the file by name (``rename``) does not
      disturb the message, which keeps reading the file it was given.

    Offsets in the message (``part.offset``, defect offsets) count from
    ``start``, without the omitted bytes.

    Args:
        file: A binary file opened for reading, or its descriptor; it is only
            read with ``os.pread``, so its position does not move.
        start: First byte of the message in the file.
        end: End of the message (exclusive); clipped to the file's size.
        omit: Sorted, distinct absolute file offsets in ``[start, end)`` of
            single bytes to leave out (e.g. the ``>`` of mboxrd quoting).
        limits: Parser limits (defaults: :data:`~mimekit.DEFAULT_LIMITS`).

    Raises:
        ValueError: ``start`` is negative or after ``end``, or ``omit`` is not
            sorted within the range.
        OSError: the file cannot be read.
    """
    fd = _fileno(file)
    end = min(end, os.fstat(fd).st_size)
    if start < 0 or start > end:
        raise ValueError(f"bad range [{start}, {end})")
    omit = list(omit)
    if any(b <= a for a, b in itertools.pairwise(omit)) or \
            (omit and (omit[0] < start or omit[-1] >= end)):
        raise ValueError("omit must be sorted, distinct offsets inside the range")
    lim = limits or DEFAULT_LIMITS
    if end - start <= SMALL_RANGE:
        # Read whole, through a borrowed (unowned) source: nothing stays open.
        small = _RangeSource(FileSource(fd, end, owned=False), start, end, omit)
        data = small.read(0, small.size)
        return Message(BytesSource(data), 0, len(data), limits=lim, top_level=True)
    dup = os.dup(fd)
    try:
        source = _RangeSource(FileSource(dup, end, owned=True), start, end, omit)
    except BaseException:
        os.close(dup)
        raise
    return Message(source, 0, source.size, limits=lim, top_level=True)
