"""uuencode: the ``x-uuencode`` Content-Transfer-Encoding.

Not an RFC encoding, but old mailers label bodies ``x-uuencode`` (also
``uuencode``, ``x-uue``, ``uue``) and CPython's ``email`` decodes them, so
mimekit does too. The format (POSIX ``uuencode``)::

    begin <octal mode> <file name>
    <length char><encoded chars>      ; length char = chr(32 + n), n <= 45
    ...
    `                                  ; (or a space) a zero-length line
    end

Leniency, as CPython's: lines before ``begin`` are skipped; a line that
``binascii.a2b_uu`` rejects (extra characters from broken encoders) is cut to
the length its first character announces. Defects: no ``begin`` line (the body
is returned unchanged, as CPython does), a damaged line, and a missing
``end``.

The decoder is incremental with the same guarantee as the base64 and
quoted-printable ones: any chunking gives the same output and defects. Lines
are at most a few dozen bytes; a line longer than ``_MAX_LINE`` is damaged
and skipped, so the buffered state stays bounded.
"""

from __future__ import annotations

import binascii

from .._defects import Defect, DefectKind
from ._common import BytesLike, DefectLog

__all__ = ["UUDecoder", "decode_uu"]

#: How much text before ``begin`` is held back in case no ``begin`` comes
#: (then the body is passed through unchanged). Past this, the body counts
#: as not uuencoded at all.
_MAX_PREAMBLE = 1 << 16
#: A uuencoded line is at most 62 characters (plus its ending); anything much
#: longer is not one.
_MAX_LINE = 1 << 12

_BEFORE, _BODY, _AFTER, _RAW = range(4)


class UUDecoder:
    """Incremental, tolerant uudecoder (same interface as ``Base64Decoder``).

    Attributes:
        defects: Problems found so far, with absolute offsets.
        filename: The file name on the ``begin`` line, once seen (else None).
    """

    __slots__ = ("_held", "_held_size", "_line", "_line_start", "_log", "_pos", "_state",
                 "defects", "filename")

    def __init__(self, *, offset: int = 0) -> None:
        if offset < 0:
            raise ValueError("offset must be >= 0")
        self._log = DefectLog()
        self.defects: list[Defect] = self._log.defects
        self.filename: str | None = None
        self._state = _BEFORE
        self._pos = offset  # absolute offset of the next byte fed
        self._line = bytearray()  # the current, unfinished line
        self._line_start = offset
        self._held: list[bytes] = []  # raw lines before "begin", kept for passthrough
        self._held_size = 0

    def feed(self, chunk: BytesLike) -> bytes:
        """Decode the next chunk; returns what can be decoded so far."""
        out: list[bytes] = []
        data = bytes(chunk)
        start = 0
        while start < len(data):
            if self._state == _RAW:
                out.append(data[start:])
                break
            nl = data.find(b"\n", start)
            end = len(data) if nl < 0 else nl + 1
            self._line += data[start:end]
            start = end
            if nl >= 0 or len(self._line) > _MAX_LINE:
                line = bytes(self._line)
                self._line.clear()
                out.append(self._take(line))
                self._line_start += len(line)
        self._pos += len(data)
        return b"".join(out)

    def close(self) -> bytes:
        """Finish: decode a last line without a line ending, report what is missing."""
        out = self._take(bytes(self._line)) if self._line else b""
        self._line.clear()
        if self._state == _BEFORE:
            self._log.add(DefectKind.UUENCODE_INVALID, self._line_start,
                          "no 'begin' line: body left as is")
            out = b"".join(self._held) + out
            self._held.clear()
        elif self._state == _BODY:
            self._log.add(DefectKind.UUENCODE_INVALID, self._pos, "no 'end' line")
        self._log.sort()
        return out

    def _take(self, line: bytes) -> bytes:
        state = self._state
        if state == _AFTER:
            return b""
        if state == _BEFORE:
            if line.startswith(b"begin "):
                mode, _, name = line[6:].strip().partition(b" ")
                if mode and all(48 <= c <= 55 for c in mode):
                    self._state = _BODY
                    self.filename = name.strip().decode("utf-8", "replace") or None
                    self._held.clear()
                    return b""
            self._held.append(line)
            self._held_size += len(line)
            if self._held_size > _MAX_PREAMBLE:
                self._log.add(DefectKind.UUENCODE_INVALID, self._line_start,
                              "no 'begin' line near the start: body left as is")
                self._state = _RAW
                held = b"".join(self._held)
                self._held.clear()
                return held
            return b""
        stripped = line.strip(b" \t\r\n\f")
        if stripped == b"end":
            self._state = _AFTER
            return b""
        if not stripped:
            return b""  # blank line: nothing to decode (CPython stops here; we go on)
        body = line.rstrip(b"\r\n")
        try:
            return binascii.a2b_uu(body)
        except binascii.Error:
            # Broken encoders add characters; the first one says how many
            # bytes the line holds, so cut it to that many characters.
            nbytes = (((body[0] - 32) & 63) * 4 + 5) // 3
            try:
                decoded = binascii.a2b_uu(body[:nbytes])
            except binascii.Error:
                decoded = b""
            self._log.add(DefectKind.UUENCODE_INVALID, self._line_start,
                          "damaged uuencoded line")
            return decoded


def decode_uu(data: BytesLike, *, offset: int = 0) -> tuple[bytes, list[Defect]]:
    """Decode uuencoded ``data`` in one go.

    Returns:
        ``(decoded, defects)``. Without a ``begin`` line the data comes back
        unchanged, with a defect.
    """
    decoder = UUDecoder(offset=offset)
    out = decoder.feed(data) + decoder.close()
    return out, decoder.defects
