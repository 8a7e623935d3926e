r"""mboxrd ``>From`` quoting, and the mbox ``From`` separator line.

mboxrd (https://www.loc.gov/preservation/digital/formats/fdd/fdd000385.shtml,
and qmail's mbox(5)) quotes every line of a message that matches
``"^>*From "`` by adding one ``>``, and a reader removes one ``>`` from every
line matching ``"^>+From "``. Unlike mboxo (which quotes only ``"^From "``), this
reverses exactly: ``unquote(quote(x)) == x`` for any bytes ``x``.

Adding the ``>`` at the start of the line or just before ``From`` gives the
same bytes, since the line is all ``>`` up to there. The code uses the second
form: a streaming writer then never holds back more than the four bytes of a
partial ``From``, however long a run of ``>`` is.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO

from ._input import Sink

__all__ = ["QuotingWriter", "find_quoted", "make_from_line", "quote", "unquote"]

# A line start followed by ">" * n and "From " (n >= 0 to quote, n >= 1 to unquote).
_QUOTE_RE = re.compile(rb"^(>*From )", re.MULTILINE)
_UNQUOTE_RE = re.compile(rb"^>(>*From )", re.MULTILINE)
# What may end a chunk while the line could still turn out to need quoting:
# the run of ">" so far plus a proper prefix of "From ".
_PARTIAL_RE = re.compile(rb">*(F|Fr|Fro|From)?\Z")
# A line that needs quoting, found in a chunk: at the chunk start (valid only
# when the previous chunk ended in a candidate line) or after a line feed.
_CHUNK_QUOTE_RE = re.compile(rb"(?:^|(?<=\n))>*From ")


def quote(content: bytes) -> bytes:
    """Quote a whole message (without its From line) for mboxrd."""
    return _QUOTE_RE.sub(rb">\1", content)


def unquote(content: bytes) -> bytes:
    """Undo :func:`quote`: one ``>`` less on every line matching ``"^>+From "``."""
    return _UNQUOTE_RE.sub(rb"\1", content)


class QuotingWriter(Sink):
    """Streams :func:`quote`: any chunking gives the same bytes.

    State between chunks: whether the current line so far is all ``>`` from
    its start (a candidate), and the held-back prefix of ``From``.
    Also remembers the last byte written and the line-end style of the first
    line, so the caller can end the message with a line break.
    """

    def __init__(self, out: IO[bytes] | Sink) -> None:
        super().__init__(out)
        self._candidate = True   # at a line start, or only ">" since it
        self._held = b""         # a partial "From" held back
        self._prev = b""         # the last input byte, for CRLF detection
        self.last = b""          # the last byte of the (quoted) content
        #: True/False once the first line end was seen: CRLF or LF.
        self.crlf: bool | None = None

    def write(self, data: bytes) -> int:
        if not data:
            return 0
        if self.crlf is None:
            nl = data.find(b"\n")
            if nl >= 0:
                self.crlf = (data[nl - 1:nl] if nl else self._prev) == b"\r"
        self._prev = data[-1:]
        data = self._held + data
        self._held = b""
        pieces: list[bytes] = []
        pos = 0
        for m in _CHUNK_QUOTE_RE.finditer(data):
            i = m.start()
            if i == 0 and not self._candidate:
                continue
            j = m.end() - 5  # where "From " begins: the ">" goes there
            pieces.append(data[pos:j])
            pieces.append(b">")
            pos = j
        # The tail of the last line decides what carries over.
        nl = data.rfind(b"\n")
        tail_start = nl + 1
        candidate = self._candidate if nl < 0 else True
        tail = data[tail_start:]
        partial = _PARTIAL_RE.match(tail)
        if candidate and partial is not None:
            held = partial.group(1) or b""
            cut = len(data) - len(held)
            self._candidate = True
        else:
            held = b""
            cut = len(data)
            self._candidate = False
        pieces.append(data[pos:cut])
        self._held = held
        out = b"".join(pieces)
        if out:
            self.last = out[-1:]
            super().write(out)
        return len(data)

    def close(self) -> None:
        """Flush the held-back bytes (a partial ``From`` at the very end)."""
        if self._held:
            self.last = self._held[-1:]
            super().write(self._held)
            self._held = b""


def find_quoted(read: Callable[[int, int], bytes], start: int, end: int,
                chunk: int = 1 << 20) -> list[int]:
    """File offsets of the ``>`` to drop, one per line matching ``"^>+From "``.

    Scans ``[start, end)`` (``start`` must be a line start) in chunks, so a
    message of any size is checked in bounded memory. Each hit is the ``>``
    right before ``From``; dropping it equals dropping the first one.
    """
    found: list[int] = []
    pos = start
    pattern = b">From "
    while pos < end:
        stop = min(end, pos + chunk)
        data = read(pos, stop)
        i = data.find(pattern)
        while i >= 0:
            j = i
            while j > 0 and data[j - 1] == 0x3E:  # back over the run of ">"
                j -= 1
            if j > 0:
                at_line_start = data[j - 1] == 0x0A
            else:
                at_line_start = _run_reaches_line_start(read, start, pos)
            if at_line_start:
                found.append(pos + i)
            i = data.find(pattern, i + 1)
        if stop >= end:
            break
        pos = stop - (len(pattern) - 1)  # a match may straddle two chunks
    return found


def _run_reaches_line_start(read: Callable[[int, int], bytes], floor: int, pos: int) -> bool:
    """Are the bytes before ``pos`` all ``>`` back to a line start (or ``floor``)?"""
    while pos > floor:
        lo = max(floor, pos - 4096)
        block = read(lo, pos)
        stripped = block.rstrip(b">")
        if stripped:
            return stripped.endswith(b"\n")
        pos = lo
    return True


def make_from_line(sender: str | None = None, when: datetime | float | None = None) -> bytes:
    """An mbox separator line: ``From <sender> <asctime>`` (line end excluded).

    The sender defaults to ``MAILER-DAEMON`` (what Python's mailbox module
    writes) and the time to now, in UTC, in ``time.asctime`` form as mutt,
    procmail and Postfix write it.
    """
    if not sender or any(c.isspace() for c in sender):
        sender = "MAILER-DAEMON"
    if when is None:
        stamp = time.asctime(time.gmtime())
    elif isinstance(when, datetime):
        stamp = time.asctime(when.astimezone(UTC).timetuple())
    else:
        stamp = time.asctime(time.gmtime(when))
    return f"From {sender} {stamp}".encode("utf-8", "surrogateescape")
