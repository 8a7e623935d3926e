"""What a store accepts as a message, and the small write filters the stores use.

``add()`` of both stores takes a :class:`~mimekit.Message`, ``bytes`` or a
binary file. Each is written out in bounded memory (a Message through
:meth:`~mimekit.Part.write_to`, a file in chunks), and an mbox ``From`` line at
the start is taken off: it is envelope data, not part of the message, and a
Maildir file should not start with one. (``Maildir.add(exact=True)`` keeps
it: IMAP APPEND stores what the client sent, whatever it is.)
"""

from __future__ import annotations

from typing import IO, cast

from ..tree import Message, parse

__all__ = ["CHUNK", "MessageInput", "MessageLike", "Sink", "SizeCounter", "SkipWriter"]

#: Read/write granularity for streaming copies.
CHUNK = 1 << 16
#: Enough of a file's start to read its header fields from.
_HEAD = 1 << 16

MessageLike = Message | bytes | bytearray | memoryview | IO[bytes]


class Sink:
    """A minimal binary writer: ``write(data)`` passes bytes on to ``out``."""

    def __init__(self, out: IO[bytes] | Sink) -> None:
        self.out = out

    def write(self, data: bytes) -> int:
        self.out.write(data)
        return len(data)

    def as_file(self) -> IO[bytes]:
        """This writer typed as a binary file, for ``Part.write_to``."""
        return cast(IO[bytes], self)


class SkipWriter(Sink):
    """Drops the first ``n`` bytes written (a Message's ``mbox_from`` prefix)."""

    def __init__(self, out: IO[bytes] | Sink, n: int) -> None:
        super().__init__(out)
        self.skip = n

    def write(self, data: bytes) -> int:
        if self.skip:
            cut = min(self.skip, len(data))
            self.skip -= cut
            data = data[cut:]
            if not data:
                return 0
        return super().write(data)


class SizeCounter(Sink):
    """Counts the bytes written, and the *virtual* size of Dovecot's ``W=``:
    the size with every bare LF counted as CRLF (the size IMAP reports as
    RFC822.SIZE)."""

    def __init__(self, out: IO[bytes] | Sink) -> None:
        super().__init__(out)
        self.size = 0
        self.bare_lf = 0
        self._last = b""

    def write(self, data: bytes) -> int:
        if not data:
            return 0
        lfs = data.count(b"\n")
        crlfs = data.count(b"\r\n") + (1 if self._last == b"\r" and data[:1] == b"\n" else 0)
        self.bare_lf += lfs - crlfs
        self.size += len(data)
        self._last = data[-1:]
        return super().write(data)

    @property
    def virtual_size(self) -> int:
        return self.size + self.bare_lf


def _split_from_line(data: bytes) -> tuple[bytes | None, bytes]:
    """``(From line with its line end, rest)`` when ``data`` starts with one."""
    if not data.startswith(b"From "):
        return None, data
    nl = data.find(b"\n")
    if nl < 0:
        return data, b""
    return data[:nl + 1], data[nl + 1:]


class MessageInput:
    """One message given to ``add()``, with its mbox ``From`` line split off.

    Attributes:
        from_line: The mbox ``From`` line it started with (line end
            included), or None.
    """

    def __init__(self, message: MessageLike) -> None:
        self._message: Message | None = None
        self._data: bytes | None = None
        self._file: IO[bytes] | None = None
        self._head = b""
        self.from_line: bytes | None = None
        if isinstance(message, Message):
            self._message = message
            self.from_line = message.mbox_from
        elif isinstance(message, (bytes, bytearray, memoryview)):
            self.from_line, self._data = _split_from_line(bytes(message))
        elif isinstance(message, str):
            raise TypeError("add() needs bytes, a Message or a binary file, not str "
                            "(encode the text first)")
        elif hasattr(message, "read"):
            self._file = message
            self._read_head()
        else:
            raise TypeError(f"cannot store a {type(message).__name__} as a message")

    def _read_head(self) -> None:
        assert self._file is not None
        head = self._file.read(_HEAD)
        if not isinstance(head, bytes):
            raise TypeError("add() needs a file opened in binary mode ('rb')")
        # A From line is a single line; read on until it ends (or EOF).
        while head.startswith(b"From ") and b"\n" not in head:
            more = self._file.read(_HEAD)
            if not more:
                break
            head += more
        self.from_line, self._head = _split_from_line(head)

    def header_view(self) -> Message:
        """A Message to read header fields from (its body may be cut short)."""
        if self._message is not None:
            return self._message
        return parse(self._data if self._data is not None else self._head)

    def write_content(self, out: IO[bytes] | Sink, *, with_from_line: bool = False) -> None:
        """Write the message, without its From line (unless asked for), to
        ``out`` in chunks."""
        if self._message is None and with_from_line and self.from_line:
            out.write(self.from_line)
        if self._message is not None:
            skip = 0 if with_from_line else len(self.from_line or b"")
            self._message.write_to(SkipWriter(out, skip).as_file())
        elif self._data is not None:
            view = memoryview(self._data)
            for pos in range(0, len(view), CHUNK):
                out.write(bytes(view[pos:pos + CHUNK]))
        else:
            assert self._file is not None
            if self._head:
                out.write(self._head)
            while True:
                chunk = self._file.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
