"""The three ways in: :func:`parse`, :func:`parse_file` and :class:`Parser`.

All three build the same tree from the same bytes, because all three end in
the one lazy parser of :class:`~._part.Part`: they differ only in where the
bytes live (memory, the caller's file, or a spool file).
"""

from __future__ import annotations

import io
import os
import tempfile
from typing import IO

from .._errors import MalformedMessageError
from ._limits import DEFAULT_LIMITS, Limits
from ._message import Message
from ._source import BytesSource, FileSource, Source

__all__ = ["Parser", "parse", "parse_file"]

#: Files up to this size are read whole by :func:`parse_file`: for small
#: files one read beats many small ones, and no file stays open.
SMALL_FILE = 1 << 16


def _root(source: Source, start: int, strict: bool, limits: Limits | None) -> Message:
    msg = Message(source, start, source.size, limits=limits or DEFAULT_LIMITS, top_level=True)
    if strict:
        for part in msg.walk():
            if part.defects:
                source.close()
                raise MalformedMessageError(part.defects[0])
    return msg


def parse(raw: bytes | bytearray | memoryview, *, strict: bool = False,
          limits: Limits | None = None) -> Message:
    """Parse a whole message held in memory.

    Nothing is decoded up front: headers are split on first use, bodies are
    decoded when asked for. ``bytes(parse(raw)) == raw`` for every input.

    Args:
        raw: The message bytes (a mutable buffer is copied first, so later
            changes to it cannot change the tree).
        strict: Check the whole message now and raise on the first defect.
        limits: Parser limits (defaults: :data:`~mimekit.DEFAULT_LIMITS`).

    Raises:
        MalformedMessageError: only with ``strict=True``.
        TypeError: ``raw`` is not bytes-like (a ``str`` has no defined bytes).
    """
    if isinstance(raw, str):
        raise TypeError("parse() needs bytes; encode the text first (e.g. raw.encode())")
    data = raw if type(raw) is bytes else bytes(raw)
    return _root(BytesSource(data), 0, strict, limits)


def parse_file(file: str | os.PathLike[str] | IO[bytes], *, strict: bool = False,
               limits: Limits | None = None) -> Message:
    """Parse a message from a path or a binary file, in bounded memory.

    Bodies are not read into memory: the tree keeps offsets into the file and
    reads (and decodes) a body, in chunks, only when it is asked for. So a
    message of any size parses in memory proportional to its structure.

    * A path is opened read-only and kept open until :meth:`Message.close`
      (or the end of a ``with`` block, or garbage collection). Files of at
      most 64 KiB are simply read whole.
    * A seekable binary file is read from its current position to its end,
      by offset, without moving its position; it stays the caller's to close.
    * Any other binary stream (a pipe, a socket file) is read to the end and
      spooled (see :class:`Parser`).

    Raises:
        OSError: the file cannot be opened or read.
        MalformedMessageError: only with ``strict=True``.
    """
    if isinstance(file, (str, os.PathLike)):
        source = FileSource.open(file)
        if source.size <= SMALL_FILE:
            data = source.read(0, source.size)
            source.close()
            return _root(BytesSource(data), 0, strict, limits)
        return _root(source, 0, strict, limits)
    try:
        file.fileno()
        seekable = file.seekable()
    except (OSError, AttributeError, io.UnsupportedOperation):
        seekable = False
    if seekable:
        start = file.tell()
        source = FileSource.from_file(file)
        if source.size - start <= SMALL_FILE:
            return _root(BytesSource(source.read(start, source.size)), 0, strict, limits)
        return _root(source, start, strict, limits)
    parser = Parser(strict=strict, limits=limits)
    while True:
        chunk = file.read(1 << 16)
        if not chunk:
            return parser.close()
        parser.feed(chunk)


class Parser:
    """Incremental parsing: feed bytes as they arrive, get the message at the end.

    Any chunking, down to one byte at a time, gives the same tree as
    :func:`parse` on the concatenated bytes. The bytes are kept (the tree is
    lossless), in memory up to ``spool_threshold`` and in an anonymous
    temporary file beyond it, so memory stays bounded for huge messages.

    Example::

        p = mimekit.Parser()
        for chunk in stream:
            p.feed(chunk)
        msg = p.close()
    """

    def __init__(self, *, strict: bool = False, limits: Limits | None = None,
                 spool_threshold: int = 8 << 20) -> None:
        self._strict = strict
        self._limits = limits
        self._threshold = spool_threshold
        self._buf = bytearray()
        self._spool: IO[bytes] | None = None
        self._size = 0
        self._done = False

    @property
    def size(self) -> int:
        """Bytes fed so far."""
        return self._size

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Add the next bytes of the message.

        Raises:
            ValueError: after :meth:`close`.
        """
        if self._done:
            raise ValueError("Parser.feed() after close()")
        self._size += len(data)
        if self._spool is not None:
            self._spool.write(data)
            return
        self._buf += data
        if len(self._buf) > self._threshold:
            # Closed in close(), after its descriptor is duplicated.
            self._spool = tempfile.TemporaryFile()  # noqa: SIM115
            self._spool.write(self._buf)
            self._buf = bytearray()

    def close(self) -> Message:
        """Finish and return the message. May be called once.

        Raises:
            ValueError: called twice.
            MalformedMessageError: only with ``strict=True``.
        """
        if self._done:
            raise ValueError("Parser.close() called twice")
        self._done = True
        spool = self._spool
        if spool is None:
            data = bytes(self._buf)
            self._buf = bytearray()
            return _root(BytesSource(data), 0, self._strict, self._limits)
        spool.flush()
        # The source gets its own descriptor of the (already unlinked)
        # spool file, which lives until the message is closed or collected.
        fd = os.dup(spool.fileno())
        spool.close()
        self._spool = None
        return _root(FileSource(fd, self._size, owned=True), 0, self._strict, self._limits)
