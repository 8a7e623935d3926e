r"""Finding the messages in an mbox file, in bounded memory.

The rules (mboxo, mboxrd and mboxcl2 read alike, as Python's ``mailbox`` and
MimeKit do):

* A message starts at a line beginning with ``"From "`` (the separator line;
  the first one may follow a UTF-8 byte order mark). Bytes before the first
  ``From`` line belong to no message.
* It ends where the next one starts, minus one empty line (``\n`` or
  ``\r\n``) right before that ``From`` line or before the end of the file:
  writers put that line between messages (qmail's mbox(5)). Without one,
  the message keeps its last line end. (MimeKit instead always gives the last
  line end to the separator; Python's ``mailbox`` agrees with us.)
* **mboxcl2**: a ``Content-Length`` header is honored when it is
  consistent, that is the counted body ends at the end of the file, or it
  ends with a line end and is followed by an empty line and a ``From``
  line, by just a ``From`` line, or by an empty line and the end of the
  file. Then ``From`` lines inside that body do not split it, and the body
  is taken verbatim (mboxcl2 does not quote). Otherwise the header is
  ignored and ``From`` lines decide.

The file is read through a one-block cache of 1 MiB, so scanning is one
sequential pass whatever the file's size.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

__all__ = ["Entry", "FileReader", "scan_mbox"]

_BLOCK = 1 << 20
_BOM = b"\xef\xbb\xbf"
#: How far into a message the end of its header block is looked for, to
#: read its Content-Length. Longer header blocks are split by From lines.
_MAX_HEADER = 1 << 18
_CONTENT_LENGTH = re.compile(rb"^content-length:[ \t]*(\d{1,18})[ \t]*\r?$",
                             re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """Where one message is in the file (absolute offsets)."""

    #: The ``From`` line's first byte: the message's key.
    start: int
    #: The first byte after the ``From`` line.
    content: int
    #: The end of the message (exclusive), before the separating empty line.
    end: int
    #: Where the next message starts (or the file ends).
    next: int
    #: Delimited by a consistent Content-Length: no mboxrd unquoting.
    verbatim: bool


class FileReader:
    """``pread`` access to a file with a one-block cache."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd = fd
        self.size = size
        self._index = -1
        self._block = b""

    def _get_block(self, index: int) -> bytes:
        if index != self._index:
            want = min(_BLOCK, self.size - index * _BLOCK)
            parts = []
            got = 0
            while got < want:  # pread may return less than asked
                data = os.pread(self.fd, want - got, index * _BLOCK + got)
                if not data:
                    break  # the file shrank under us: read what is there
                parts.append(data)
                got += len(data)
            self._block = b"".join(parts)
            self._index = index
        return self._block

    def read(self, start: int, end: int) -> bytes:
        """The bytes ``[start, end)``, clipped to the size."""
        end = min(end, self.size)
        parts = []
        pos = start
        while pos < end:
            index = pos // _BLOCK
            off = pos - index * _BLOCK
            piece = self._get_block(index)[off:off + end - pos]
            if not piece:
                break
            parts.append(piece)
            pos += len(piece)
        return b"".join(parts)

    def find(self, sub: bytes, start: int, end: int) -> int:
        """Like ``bytes.find`` over ``[start, end)`` of the file.

        Searches the cached block in place (no copy), and the few bytes
        around each block boundary for a match that straddles it.
        """
        end = min(end, self.size)
        pos = start
        while pos < end:
            base = (pos // _BLOCK) * _BLOCK
            block = self._get_block(pos // _BLOCK)
            block_end = base + len(block)
            if block_end <= pos:
                return -1  # the file shrank under us
            i = block.find(sub, pos - base, min(end, block_end) - base)
            if i >= 0:
                return base + i
            if block_end >= end:
                return -1
            seam_start = max(pos, block_end - len(sub) + 1)
            j = self.read(seam_start, min(end, block_end + len(sub) - 1)).find(sub)
            if j >= 0:
                return seam_start + j
            pos = block_end
        return -1


def _separator_before(r: FileReader, content: int, nxt: int) -> int:
    """The end of a message whose region is ``[content, nxt)``: before a final
    empty line, if there is one inside the region."""
    tail = r.read(max(content - 1, nxt - 3), nxt)
    if tail.endswith(b"\n\n") and nxt - 1 >= content:
        return nxt - 1
    if tail.endswith(b"\n\r\n") and nxt - 2 >= content:
        return nxt - 2
    return nxt


def _content_length(r: FileReader, content: int) -> tuple[int, int] | None:
    """``(end, next)`` from a consistent Content-Length header, else None."""
    size = r.size
    if content >= size:
        return None
    # From the From line's own line feed, so an empty header block is found.
    # Most header blocks are short: look at 4 KiB first, then more.
    want = 1 << 12
    while True:
        head = r.read(content - 1, min(size, content - 1 + want))
        ends = [i for i in (head.find(b"\n\n"), head.find(b"\n\r\n")) if i >= 0]
        if ends:
            break
        if want >= _MAX_HEADER or content - 1 + want >= size:
            return None
        want *= 4
    i = min(ends)
    body = content - 1 + i + (2 if head[i + 1:i + 2] == b"\n" else 3)
    m = _CONTENT_LENGTH.search(head, 0, i + 1)
    if m is None:
        return None
    x = body + int(m.group(1))
    if x > size:
        return None
    if x == size:
        return size, size
    # The count must end at a line end; what follows must be an empty line
    # (the separator) before a From line or the end, or a From line itself.
    before = r.read(x - 1, x)
    after = r.read(x, x + 7)
    if before != b"\n":
        return None
    if after in (b"\n", b"\r\n") and x + len(after) == size:
        return x, size
    if after.startswith(b"\nFrom "):
        return x, x + 1
    if after.startswith(b"\r\nFrom "):
        return x, x + 2
    if after.startswith(b"From "):
        return x, x
    return None


def scan_mbox(fd: int, size: int) -> list[Entry]:
    """Every message of the first ``size`` bytes of an mbox file, in order."""
    r = FileReader(fd, size)
    pos = len(_BOM) if r.read(0, len(_BOM)) == _BOM else 0
    if r.read(pos, pos + 5) != b"From ":
        first = r.find(b"\nFrom ", pos, size)
        if first < 0:
            return []
        pos = first + 1
    entries: list[Entry] = []
    while pos < size:
        nl = r.find(b"\n", pos, size)
        content = size if nl < 0 else nl + 1
        by_length = _content_length(r, content)
        if by_length is not None:
            end, nxt = by_length
        else:
            # From the From line's own line feed: the very next line may be
            # another From line (an empty message).
            i = r.find(b"\nFrom ", content - 1, size)
            nxt = size if i < 0 else i + 1
            end = _separator_before(r, content, nxt)
        entries.append(Entry(start=pos, content=content, end=end, next=nxt,
                             verbatim=by_length is not None))
        pos = nxt
    return entries
