"""Multi-line responses: byte-stuffing both ways, and the end marker.

RFC 1939 section 3::

    Responses to certain commands are multi-line.  In these cases, ...
    after sending the first line of the response and a CRLF, any
    additional lines are sent, each terminated by a CRLF pair.  When all
    lines of the response have been sent, a final line is sent,
    consisting of a termination octet (decimal code 046, ".") and a CRLF
    pair.  If any line of the multi-line response begins with the
    termination octet, the line is "byte-stuffed" by pre-pending the
    termination octet to that line of the response.

Both classes work on pieces of any size and keep only a few bytes between
calls, so a message of any size streams through in bounded memory.

**Sending** (:class:`MultilineEncoder`, the server): a message stored with
LF line endings (as Dovecot and many Maildir writers store it) goes out with
CRLF: every LF not preceded by CR becomes CRLF. A bare CR is left alone,
so the octets sent are exactly the "virtual size" of Dovecot's ``,W=``
field, which is what LIST and STAT report. A last line without a line
ending gets one before the end marker (RFC 1939 says every line ends in
CRLF).

**Receiving** (:class:`MultilineDecoder`, the client): the content is
returned exactly as sent, minus the stuffing. Deviation, for servers that
write bare LF line endings: ``LF.LF`` ends the response as well as
``CRLF.CRLF`` (a correctly stuffed response never contains either as
content, so nothing real is cut short).
"""

from __future__ import annotations

__all__ = ["MultilineDecoder", "MultilineEncoder"]


class MultilineEncoder:
    """Server side: CRLF line endings, byte-stuffing, the end marker.

    Feed the content in pieces of any size; the output is the same as for
    one piece.
    """

    __slots__ = ("_at_line_start", "_crlf", "_pending_cr")

    def __init__(self, crlf: bool | None = None) -> None:
        self._at_line_start = True
        self._pending_cr = False
        #: What the sender knows of the content's line endings: only CRLF
        #: (True: nothing to convert), some bare LF (False: convert without
        #: looking), or nothing (None: look at each piece). Looking costs two
        #: passes over the data; a Maildir name often tells (``S=`` vs ``W=``).
        self._crlf = crlf

    def encode(self, data: bytes) -> bytes:
        """Wire bytes for the next piece of content."""
        if self._pending_cr:
            data = b"\r" + data
            self._pending_cr = False
        if data.endswith(b"\r"):
            # It may be the first half of a CRLF split across pieces.
            data = data[:-1]
            self._pending_cr = True
        if not data:
            return b""
        if self._crlf is False or (
                self._crlf is None and data.count(b"\n") != data.count(b"\r\n")):
            # Every LF not after a CR becomes CRLF; two plain replaces are
            # many times faster than a look-behind regex, with the same result
            # (a bare CR stays: "\r\r\n" -> "\r\n" -> "\r\r\n").
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        stuffed = data.replace(b"\n.", b"\n..")
        if self._at_line_start and stuffed.startswith(b"."):
            stuffed = b"." + stuffed
        self._at_line_start = stuffed.endswith(b"\n")
        return stuffed

    def finish(self) -> bytes:
        """The end: a final CRLF if the content lacked one, then ``.CRLF``."""
        out = b""
        if self._pending_cr:
            out = b"\r"  # a bare CR at the very end: content, not a line ending
            self._pending_cr = False
            self._at_line_start = False
        if not self._at_line_start:
            out += b"\r\n"
        self._at_line_start = True
        return out + b".\r\n"


class MultilineDecoder:
    """Client side: find the end marker and undo byte-stuffing.

    The stream is read as if a line ending came before it, so an empty
    response (a lone ``.CRLF``) and a first line starting with a dot are
    handled like any other line.

    Attributes:
        done: The end marker was seen.
        size: Content octets returned so far.
    """

    __slots__ = ("_held", "_skip", "done", "size")

    def __init__(self) -> None:
        self._held = b"\n"  # the virtual line ending before the first line
        self._skip = True  # ...which is not content
        self.done = False
        self.size = 0

    def feed(self, data: bytes) -> tuple[bytes, bytes]:
        """Consume input; return ``(content, rest)``.

        ``rest`` is input after the end marker (a pipelined response), set
        once :attr:`done` is True; before that it is empty.
        """
        work = self._held + data
        crlf = work.find(b"\n.\r\n")
        lf = work.find(b"\n.\n")
        if crlf >= 0 and (lf < 0 or crlf < lf):
            end, marker = crlf, 4
        else:
            end, marker = lf, 3
        if end >= 0:
            region, rest = work[:end + 1], work[end + marker:]
            self._held = b""
            self.done = True
        else:
            # Hold back what could begin the end marker (the last three
            # octets), and never end the region on a LF that a dot follows:
            # the dot must be unstuffed with it. The octets after the cut are
            # known, so this steps back at most once. (It used to step back
            # over every LF: a long run of them was held and rescanned on
            # each piece, quadratic time and unbounded memory.)
            cut = max(len(work) - 3, 0)
            if cut > 0 and work[cut] == 0x2E and work[cut - 1] == 0x0A:
                cut -= 1
            region, rest = work[:cut], b""
            self._held = work[cut:]
        if not region:
            return b"", rest
        content = region.replace(b"\n.", b"\n")
        if self._skip:
            # The first region always starts with the virtual line ending.
            content = content[1:]
            self._skip = False
        self.size += len(content)
        return content, rest
