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

:func:`find_uu` is the other use: old mail (and Usenet) put uuencoded files
*inside* the text of a plain-text body, between a ``begin`` line and an
``end`` line, often several in one message. It finds such blocks in text in
one linear pass, and reports each as a :class:`UUBlock`.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass

from .._defects import Defect, DefectKind
from ._common import BytesLike, DefectLog

__all__ = ["UUBlock", "UUDecoder", "decode_uu", "find_uu"]

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
            # An over-long line is cut every _MAX_LINE + 1 bytes, at the
            # same places whatever the chunking (same output and defects).
            room = _MAX_LINE + 1 - len(self._line)
            nl = data.find(b"\n", start, start + room)
            end = nl + 1 if nl >= 0 else min(len(data), start + room)
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
        decoded, damaged = _decode_line(line.rstrip(b"\r\n"))
        if damaged:
            self._log.add(DefectKind.UUENCODE_INVALID, self._line_start,
                          "damaged uuencoded line")
        return decoded


def _decode_line(body: bytes) -> tuple[bytes, bool]:
    """Decode one uuencoded line (line ending removed); ``(data, damaged)``."""
    try:
        return binascii.a2b_uu(body), False
    except binascii.Error:
        # Broken encoders add characters; the first one says how many
        # bytes the line holds, so cut it to that many characters.
        nbytes = (((body[0] - 32) & 63) * 4 + 5) // 3
        try:
            return binascii.a2b_uu(body[:nbytes]), True
        except binascii.Error:
            return b"", True


def decode_uu(data: BytesLike, *, offset: int = 0) -> tuple[bytes, list[Defect]]:
    """Decode uuencoded ``data`` in one go.

    Returns:
        ``(decoded, defects)``. Without a ``begin`` line the data comes back
        unchanged, with a defect.
    """
    decoder = UUDecoder(offset=offset)
    out = decoder.feed(data) + decoder.close()
    return out, decoder.defects


# -- uuencoded files inside text ---------------------------------------------------

#: The characters of a uuencoded line: ``chr(32)`` to ``chr(96)`` (space or
#: backtick for zero). Prose almost always has a lower-case letter, which
#: this alphabet lacks; that is what tells a data line from text.
_UU_ALPHABET = bytes(range(0x20, 0x61))
#: Most blocks one call of :func:`find_uu` reports (hostile input can hold a
#: million tiny ones).
DEFAULT_MAX_BLOCKS = 10_000


@dataclass(frozen=True, slots=True, kw_only=True)
class UUBlock:
    """One uuencoded file found in text by :func:`find_uu`.

    Attributes:
        start: Offset of the ``begin`` line (plus the ``offset`` given).
        stop: Offset just past the block: after its ``end`` line, or, when
            that is missing, at the first line that is not part of it.
        mode: The file mode on the ``begin`` line (``0o644``).
        name: The file name on the ``begin`` line, as raw bytes (the text's
            charset says how to read them; :attr:`filename` guesses).
        data: The decoded file.
        defects: Damaged lines, a missing ``end`` line (offsets as ``start``).
    """

    start: int
    stop: int
    mode: int
    name: bytes
    data: bytes
    defects: tuple[Defect, ...] = ()

    @property
    def filename(self) -> str:
        """:attr:`name` as text: UTF-8 when valid, else Latin-1."""
        try:
            return self.name.decode("utf-8")
        except UnicodeDecodeError:
            return self.name.decode("latin-1")


#: ``begin-line = "begin" 1*WSP 3*4octal-digit 1*WSP name``: the name runs
#: to the end of the line (it may contain spaces; trailing ones are not
#: part of it). Greedy, without nested quantifiers: no backtracking.
_BEGIN_LINE = re.compile(rb"begin[ \t]+([0-7]{3,4})[ \t]+([^\r\n]*)")


def _is_data_line(body: bytes, *, strict: bool) -> bool:
    """Could ``body`` (no line ending) be a uuencoded line?

    ``strict`` (for the first line after ``begin``, which decides whether
    this is a block at all) also wants the length the first character
    announces; later lines may be short (trailing spaces eaten by a mailer
    decode as zeros, as ``binascii`` does).
    """
    count = (body[0] - 32) & 63
    if not 0x20 <= body[0] <= 0x60 or count > 45 or body.translate(None, _UU_ALPHABET):
        return False
    # Some encoders add a check character or two; more is not uuencode.
    if len(body) > 1 + (count + 2) // 3 * 4 + 4:
        return False
    return not strict or len(body) >= 1 + (count * 4 + 2) // 3


def find_uu(data: BytesLike, *, offset: int = 0,
            max_blocks: int = DEFAULT_MAX_BLOCKS) -> list[UUBlock]:
    """Find the uuencoded files embedded in text, in order.

    A block starts at a ``begin <octal mode> <name>`` line at the start of a
    line, **and** the line after it must look like uuencoded data (only
    characters from space to backtick, of the length its first character
    announces); so prose that happens to start a line with "begin 644"
    is left alone. The block then runs over data lines to the zero-length
    line (a backtick or a space) and the ``end`` line. Lenient, as
    readers are: a line that is not uuencoded data ends the block early
    (defect ``uuencode-invalid``, "no 'end' line"), and damaged lines are
    cut as :class:`UUDecoder` cuts them.

    Linear in ``len(data)``: every line is looked at a bounded number of
    times, whatever the input (a million lines starting with "begin "
    included).

    Args:
        data: The text, as bytes (a text part's decoded body).
        offset: Added to every offset reported.
        max_blocks: Stop after this many blocks.

    Returns:
        The blocks, in order. Empty when there is none (the common case,
        cheap: one ``bytes.find``).
    """
    buf = bytes(data)
    size = len(buf)
    blocks: list[UUBlock] = []
    pos = 0
    while len(blocks) < max_blocks:
        i = buf.find(b"begin ", pos)
        if i < 0:
            break
        if i and buf[i - 1] != 0x0A:
            pos = i + 6  # not at the start of a line
            continue
        eol = buf.find(b"\n", i)
        after = size if eol < 0 else eol + 1
        match = _BEGIN_LINE.match(buf, i, after)
        # The next line must start like data, a blank line or "end"; this
        # cheap test turns away most false starts (prose, a "begin" line).
        follow = buf[after] if after < size else 0
        if match is None or not match.group(2).strip(b" \t") or not (
                0x20 <= follow <= 0x60 or follow in b"\r\ne"):
            pos = after
            continue
        header = (int(match.group(1), 8), match.group(2).strip(b" \t"))
        block = _read_block(buf, i, after, header, offset)
        if block is None:
            pos = after
            continue
        blocks.append(block)
        pos = block.stop - offset
    return blocks


def _read_block(buf: bytes, start: int, pos: int, header: tuple[int, bytes],
                offset: int) -> UUBlock | None:
    """Read the lines of one block after its ``begin`` line (at ``pos``)."""
    size = len(buf)
    log = DefectLog()
    out: list[bytes] = []
    lines = 0  # data lines decoded
    closing = False  # after the zero-length line: only "end" (or blank lines) may follow
    while pos < size:
        eol = buf.find(b"\n", pos)
        nxt = size if eol < 0 else eol + 1
        body = buf[pos:nxt].rstrip(b"\r\n")
        word = body.strip(b" \t")
        if word == b"end":
            return UUBlock(start=start + offset, stop=nxt + offset, mode=header[0],
                           name=header[1], data=b"".join(out), defects=tuple(log.defects))
        if not word or (body[0] in (0x20, 0x60) and len(word) <= 1):
            # The zero-length line (or a blank line: a mailer may have
            # stripped its space) announces "end".
            closing = True
        elif closing or not _is_data_line(body, strict=not lines):
            break
        else:
            decoded, damaged = _decode_line(body)
            if damaged:
                log.add(DefectKind.UUENCODE_INVALID, pos + offset, "damaged uuencoded line")
            out.append(decoded)
            lines += 1
        pos = nxt
    if not lines:
        return None  # "begin" followed by text: not a block
    log.add(DefectKind.UUENCODE_INVALID, pos + offset, "no 'end' line")
    return UUBlock(start=start + offset, stop=pos + offset, mode=header[0], name=header[1],
                   data=b"".join(out), defects=tuple(log.defects))
