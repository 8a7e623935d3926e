"""Byte sources: where a message tree's bytes live.

Every node of the tree is a pair of offsets into one :class:`Source`. A source
is either an in-memory ``bytes`` object (:class:`BytesSource`) or a file read
by offset (:class:`FileSource`), so that :func:`mimekit.parse_file` can parse a
message of any size in memory proportional to its *structure*: bodies stay on
disk until they are asked for, and are then read in bounded chunks.

All offsets are absolute positions in the source; ``end`` is exclusive.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Iterator
from typing import IO

__all__ = ["BytesSource", "FileSource", "Source", "SourceClosedError"]

#: How much a :class:`FileSource` reads at a time when it scans or streams.
CHUNK_SIZE = 1 << 20
#: The first read of a search; each further read doubles, up to CHUNK_SIZE.
_FIRST_FIND = 1 << 12


class SourceClosedError(ValueError):
    """The file behind a message was closed (``Message.close()`` or ``with``)."""


class Source:
    """The interface every source offers (``BytesSource``, ``FileSource``)."""

    __slots__ = ()

    #: Total size in bytes.
    size: int

    def read(self, start: int, end: int) -> bytes:
        """Return the bytes in ``[start, end)`` (clipped to the source)."""
        raise NotImplementedError

    def find(self, sub: bytes, start: int, end: int) -> int:
        """Like ``bytes.find``: the lowest index of ``sub`` in ``[start, end)``, or -1."""
        raise NotImplementedError

    def window(self, start: int, end: int) -> tuple[bytes, int]:
        """Return ``(buffer, base)`` such that ``buffer[i - base]`` is byte ``i``.

        For in-memory sources this is the whole buffer with ``base == 0``, so
        no bytes are copied; for files it is a fresh read of ``[start, end)``.
        """
        return self.read(start, end), start

    def iter_range(self, start: int, end: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Yield the bytes of ``[start, end)`` in chunks of at most ``chunk_size``."""
        pos = start
        while pos < end:
            stop = min(end, pos + chunk_size)
            yield self.read(pos, stop)
            pos = stop

    def close(self) -> None:
        """Release the file behind the source, if any. Idempotent."""

    @property
    def closed(self) -> bool:
        return False


class BytesSource(Source):
    """An immutable in-memory source."""

    __slots__ = ("data", "size")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def read(self, start: int, end: int) -> bytes:
        if start == 0 and end >= self.size:
            return self.data  # no copy for the common "whole message" case
        return self.data[start:end]

    def find(self, sub: bytes, start: int, end: int) -> int:
        return self.data.find(sub, start, end)

    def window(self, start: int, end: int) -> tuple[bytes, int]:
        return self.data, 0

    def iter_range(self, start: int, end: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        # A memoryview slice costs nothing; bytes() of it copies one chunk.
        view = memoryview(self.data)
        pos = start
        while pos < end:
            stop = min(end, pos + chunk_size)
            yield bytes(view[pos:stop])
            pos = stop


def _close_fd(fd: int) -> None:
    with contextlib.suppress(OSError):  # already closed
        os.close(fd)


class FileSource(Source):
    """A file read by offset with ``os.pread``; nothing is kept in memory.

    ``pread`` does not move the file position, so a caller's file object is
    left where it was, and reads from several nodes never interfere.
    A file opened from a path is owned and closed by :meth:`close` (or when
    the source is garbage collected, without a ``ResourceWarning``); a file
    object passed in by the caller stays the caller's to close.
    """

    __slots__ = ("__weakref__", "_fd", "_finalizer", "size")

    def __init__(self, fd: int, size: int, *, owned: bool) -> None:
        self._fd: int | None = fd
        self.size = size
        self._finalizer = weakref.finalize(self, _close_fd, fd) if owned else None

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> FileSource:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            size = os.fstat(fd).st_size
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, size, owned=True)

    @classmethod
    def from_file(cls, file: IO[bytes]) -> FileSource:
        fd = file.fileno()
        return cls(fd, os.fstat(fd).st_size, owned=False)

    def _require_fd(self) -> int:
        if self._fd is None:
            raise SourceClosedError("the file behind this message has been closed")
        return self._fd

    def read(self, start: int, end: int) -> bytes:
        fd = self._require_fd()
        end = min(end, self.size)
        if end <= start:
            return b""
        want = end - start
        data = os.pread(fd, want, start)
        if len(data) == want:
            return data
        # Short reads are legal for pread; loop until done or EOF.
        parts = [data]
        got = len(data)
        while got < want:
            more = os.pread(fd, want - got, start + got)
            if not more:
                break
            parts.append(more)
            got += len(more)
        return b"".join(parts)

    def find(self, sub: bytes, start: int, end: int) -> int:
        # Scan in chunks that overlap by len(sub) - 1 bytes so a match that
        # straddles two chunks is still found. Chunks start small and double:
        # most searches (the end of a delimiter line, the next boundary of a
        # small part) end within a few KiB, and should not read a megabyte.
        end = min(end, self.size)
        overlap = max(len(sub) - 1, 0)
        size = max(_FIRST_FIND, 2 * len(sub))  # so each step advances by > len(sub)
        pos = start
        while pos < end:
            stop = min(end, pos + size)
            chunk = self.read(pos, stop)
            i = chunk.find(sub)
            if i >= 0:
                return pos + i
            if stop >= end:
                return -1
            pos = stop - overlap
            size = max(min(size * 2, CHUNK_SIZE), size)
        return -1

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self._fd = None

    @property
    def closed(self) -> bool:
        return self._fd is None
