"""Message content after DATA: dot-stuffing both ways, and the end marker.

RFC 5321 section 4.5.2 (transparency) and 4.1.1.4::

    The mail data is terminated by a line containing only a period,
    that is, the character sequence "<CRLF>.<CRLF>" ...
    Before sending a line of mail text, the SMTP client checks the first
    character of the line.  If it is a period, one additional period is
    inserted at the beginning of the line.

**SMTP smuggling** (CVE-2023-51764/51765/51766, December 2023): a sender
hides a second message after ``<LF>.<LF>`` or ``<CR>.<CR>``, which some
servers take as the end of the data and others do not. Like Postfix
(``smtpd_forbid_bare_newline``) and Sendmail 8.18, mimekit takes **only**
``<CRLF>.<CRLF>`` as the end. Beyond that, the decoder reports any bare LF or
bare CR in the content (``EndOfMessage.bare_line_ending``); the server
refuses such a message by default (the Sendmail 8.18 choice), so a message
that could be read two ways is never accepted. The client side never sends a
bare LF or CR: it writes every line ending as CRLF.
"""

from __future__ import annotations

import re

__all__ = ["MAX_TEXT_LINE", "DataDecoder", "DataEncoder"]

#: RFC 5321 section 4.5.3.1.6: a text line is at most 1000 octets with CRLF.
MAX_TEXT_LINE = 1000

_LINE_ENDINGS = re.compile(rb"\r\n|\r|\n")


class DataEncoder:
    """Client side: canonical CRLF line endings, dot-stuffing, the end marker.

    Feed the message in chunks of any size; the output is the same as for
    one chunk.
    """

    __slots__ = ("_at_line_start", "_pending_cr")

    def __init__(self) -> None:
        self._at_line_start = True
        self._pending_cr = False

    def encode(self, data: bytes) -> bytes:
        if self._pending_cr:
            data = b"\r" + data
            self._pending_cr = False
        if data.endswith(b"\r"):
            # It may be the first half of a CRLF split across chunks.
            data = data[:-1]
            self._pending_cr = True
        if not data:
            return b""
        data = _LINE_ENDINGS.sub(b"\r\n", data)
        stuffed = data.replace(b"\r\n.", b"\r\n..")
        if self._at_line_start and stuffed.startswith(b"."):
            stuffed = b"." + stuffed
        self._at_line_start = stuffed.endswith(b"\r\n")
        return stuffed

    def finish(self) -> bytes:
        """The end: a final line ending if the content lacked one, then ``.CRLF``."""
        out = b""
        if self._pending_cr:
            out = b"\r\n"
            self._pending_cr = False
            self._at_line_start = True
        if not self._at_line_start:
            out += b"\r\n"
        return out + b".\r\n"


class DataDecoder:
    """Server side: find ``CRLF.CRLF``, undo dot-stuffing, check the content.

    The stream is read as if a CRLF came before it, so an empty message (a
    lone ``.CRLF``) and a first line starting with a dot are handled like
    any other line.
    """

    __slots__ = ("_held", "_line_len", "_max_size", "_skip", "bare_line_ending", "done",
                 "long_line", "size", "too_big")

    _skip: int

    def __init__(self, max_size: int | None = None) -> None:
        self._held = b"\r\n"  # the virtual CRLF before the first line
        self._skip = 2  # ...which is not content
        self._max_size = max_size
        self._line_len = 0
        self.size = 0
        self.too_big = False
        self.long_line = False
        self.bare_line_ending = False
        self.done = False

    def feed(self, data: bytes) -> tuple[bytes, bytes]:
        """Consume input; return ``(content, rest)``.

        ``content`` is unstuffed message content (empty once ``too_big``);
        ``rest`` is input after the end marker (pipelined commands), set
        once ``done`` is True.
        """
        work = self._held + data
        end = work.find(b"\r\n.\r\n")
        if end >= 0:
            region, rest = work[:end + 2], work[end + 5:]
            self._held = b""
            self.done = True
        else:
            # Hold back what could begin the end marker (the last four
            # octets), and never cut inside a CRLF or between a CRLF and the
            # dot after it: the dot is unstuffed with its CRLF, and _check
            # must see each CRLF whole. The octets after the cut are known,
            # so this steps back at most twice. (It used to step back over
            # every CR and LF: a long run of them was held and rescanned on
            # each chunk, quadratic time and unbounded memory.)
            cut = max(len(work) - 4, 0)
            while cut > 0 and ((work[cut - 1] == 0x0D and work[cut] == 0x0A)
                               or (work[cut] == 0x2E and cut >= 2
                                   and work[cut - 2:cut] == b"\r\n")):
                cut -= 1
            region, rest = work[:cut], b""
            self._held = work[cut:]
        if self._skip and region:
            # The first region always holds the whole virtual CRLF (a region
            # never ends inside a CRLF), so the first line's dot is at [2].
            self._skip = 0
            region = region[2:]
            if region.startswith(b"."):
                region = region[1:]
        content = region.replace(b"\r\n.", b"\r\n")
        self._check(content)
        return self._limit(content), rest

    def _check(self, content: bytes) -> None:
        if not self.bare_line_ending:
            lf, cr, crlf = content.count(b"\n"), content.count(b"\r"), content.count(b"\r\n")
            if lf != crlf or cr != crlf:
                self.bare_line_ending = True
        if not self.long_line and content:
            lines = content.split(b"\n")
            first = self._line_len + len(lines[0]) + 1
            if len(lines) == 1:
                self._line_len += len(lines[0])
            else:
                longest = max(first, max(map(len, lines[1:-1]), default=0) + 1)
                self._line_len = len(lines[-1])
                if longest > MAX_TEXT_LINE:
                    self.long_line = True
            if self._line_len > MAX_TEXT_LINE:
                self.long_line = True

    def _limit(self, content: bytes) -> bytes:
        before = self.size
        self.size += len(content)
        if self._max_size is None or self.too_big:
            return b"" if self.too_big else content
        if self.size > self._max_size:
            self.too_big = True
            # Up to the limit, as the BDAT path delivers: what comes out
            # must not depend on how the input was cut into chunks.
            return content[:max(self._max_size - before, 0)]
        return content
