"""Quoted-printable content-transfer-encoding (RFC 2045 section 6.7).

RFC 2045 section 6.7::

    quoted-printable := qp-line *(CRLF qp-line)
    qp-line := *(qp-segment transport-padding CRLF)
               qp-part transport-padding
    qp-part := qp-section
               ; Maximum length of 76 characters
    qp-segment := qp-section *(SPACE / TAB) "="
                  ; Maximum length of 76 characters
    qp-section := [*(ptext / SPACE / TAB) ptext]
    ptext := hex-octet / safe-char
    safe-char := <any octet with decimal value of 33 through
                 60 inclusive, and 62 through 126>
    hex-octet := "=" 2(DIGIT / "A" / "B" / "C" / "D" / "E" / "F")
    transport-padding := *LWSP-char
                         ; Composers MUST NOT generate
                         ; non-zero length transport
                         ; padding, but receivers MUST
                         ; be able to handle padding
                         ; added by message transports.

Decoding rules and decisions:

* ``=XX`` with upper- or lowercase hex is a byte (RFC 2045 rule (1) asks for
  uppercase; lowercase is a common and unambiguous violation, and CPython
  accepts it too).
* ``=`` CRLF and ``=`` LF are soft line breaks; so is ``=`` followed by up to
  256 spaces or tabs and then a line break (transport padding, added by
  MTAs). The limit keeps the incremental decoder's look-behind bounded; a
  longer run is an invalid escape.
* ``=`` at the very end of the data (optionally followed by spaces and tabs)
  is a soft line break with no defect: a MIME part's body ends before the CRLF
  that belongs to the next boundary delimiter (RFC 2046 section 5.1.1), so an
  encoder that ends the part with a soft break (MimeKit's does) leaves a bare
  ``=`` there. CPython also drops it.
* Any other ``=`` (``=ZZ``, ``=4``, ``==``, ``=`` before a bare CR) is kept
  literally with a ``QP_INVALID_ESCAPE`` defect (at most 100 reported), and
  decoding resumes at the next byte, so ``==41`` gives ``=A``.
* Trailing whitespace before a hard line break is *kept*. RFC 2045 rule (3)
  says a decoder must delete it because transports may have added it; but
  deleting it loses whitespace that the sender left unencoded (format=flowed
  markers, RFC 3676, arrive that way from sloppy encoders), and CPython keeps
  it. Line breaks are returned as they are (CRLF stays CRLF, LF stays LF).
* One ``QP_LINE_TOO_LONG`` defect for the first line over 76 characters.

Differences from CPython's ``binascii.a2b_qp`` (which is what compat32
``get_payload(decode=True)`` uses): a2b_qp treats ``=`` followed by
whitespace and a line break as a literal ``=`` plus the whitespace; for ``==``
it outputs one ``=`` and swallows the second; for ``=`` CR without LF it
skips everything up to the next LF (or the end of the data). mimekit does
what is described above instead.

Speed: the decoder finds the rare irregular ``=`` with one regular-expression
scan and hands every stretch between them to ``binascii.a2b_qp``, which
decodes exactly like mimekit wherever no such ``=`` occurs.
"""

from __future__ import annotations

import binascii
import functools
import re
from typing import Final

from .._defects import Defect, DefectKind
from ._common import BytesLike, DefectLog, LineLengthChecker

__all__ = ["QPDecoder", "decode_qp", "encode_qp"]

_LINE_LIMIT: Final = 76
_SLICE: Final = 256 * 1024
_MAX_PADDING: Final = 256

#: An "=" that is not a hex escape and not directly before a line break.
_ODD_EQ: Final = re.compile(rb"=(?![0-9A-Fa-f]{2}|\r?\n)")
#: "=" transport-padding line-break: a soft line break.
_PADDED_BREAK: Final = re.compile(rb"=[ \t]{1,%d}(?:\r\n|\n)" % _MAX_PADDING)
#: The irregular "=" that a2b_qp decodes differently from mimekit (the others
#: it keeps literally, as mimekit does).
_NEEDS_SPLIT: Final = re.compile(rb"=(?:=|\r(?!\n)|[ \t]{1,%d}(?:\r\n|\n)|\Z)" % _MAX_PADDING)
#: "=" before another "=", and "=" CR without LF: both stay literal.
_LITERAL_RUN: Final = re.compile(rb"(?:=(?==)|=\r(?!\n))+")
#: What may still turn into a valid sequence when more data arrives.
_INCOMPLETE: Final = re.compile(rb"=(?:[0-9A-Fa-f]|\r|[ \t]{1,%d}\r?)?" % _MAX_PADDING)
_PROBE: Final = bytes(
    b if b in b"=\r\n" else 0x30 if b in b"0123456789ABCDEFabcdef" else 0x78 for b in range(256)
)
#: At the end of the data: a final soft line break.
_FINAL_BREAK: Final = re.compile(rb"=[ \t]{0,%d}" % _MAX_PADDING)


class QPDecoder:
    """Incremental quoted-printable decoder (RFC 2045 section 6.7).

    Feed chunks of any size; every chunking, down to one byte at a time, gives
    the same output bytes and the same defects as :func:`decode_qp` on the
    whole input, which uses this class. An ``=`` sequence split across chunks
    is held back (at most 259 bytes) until it is complete.

    Attributes:
        defects: Problems found so far, with absolute offsets; sorted by
            offset when :meth:`close` returns.
    """

    __slots__ = ("_closed", "_lines", "_log", "_pos", "_tail", "defects")

    def __init__(self, *, offset: int = 0) -> None:
        """Start decoding a stream whose first byte is at ``offset``.

        Raises:
            TypeError: ``offset`` is not an ``int``.
            ValueError: ``offset`` is negative.
        """
        if not isinstance(offset, int):
            raise TypeError(f"offset must be int, not {type(offset).__name__}")
        if offset < 0:
            raise ValueError("offset must be >= 0")
        self._log = DefectLog()
        self.defects: list[Defect] = self._log.defects
        self._pos = offset  # absolute offset of the next byte to be fed
        self._tail = b""  # an incomplete "=" sequence held back
        self._lines = LineLengthChecker(self._log, DefectKind.QP_LINE_TOO_LONG, _LINE_LIMIT, offset)
        self._closed = False

    def feed(self, chunk: BytesLike) -> bytes:
        """Decode ``chunk``; return the bytes that are complete so far.

        Raises:
            TypeError: ``chunk`` is not bytes-like.
            ValueError: The decoder is closed.
        """
        if self._closed:
            raise ValueError("feed() after close()")
        if not isinstance(chunk, bytes):
            if not isinstance(chunk, bytearray | memoryview):
                raise TypeError(f"chunk must be bytes, not {type(chunk).__name__}")
            return self.feed(bytes(chunk))
        if not chunk:
            return b""
        self._lines.feed(chunk, self._pos)
        base = self._pos - len(self._tail)
        self._pos += len(chunk)
        data = self._tail + chunk if self._tail else chunk
        held = data.rfind(b"=", max(0, len(data) - _MAX_PADDING - 3))
        if held != -1 and _INCOMPLETE.fullmatch(data, held):
            self._tail = data[held:]
            data = data[:held]
        else:
            self._tail = b""
        return self._decode(data, base)

    def close(self) -> bytes:
        """Finish the stream and return the last bytes.

        Raises:
            ValueError: The decoder is already closed.
        """
        if self._closed:
            raise ValueError("close() called twice")
        self._closed = True
        self._lines.close(self._pos)
        tail, self._tail = self._tail, b""
        if tail and not _FINAL_BREAK.fullmatch(tail):
            # "=X", "=" CR, "=" padding CR: nothing valid can follow any more.
            self._invalid(self._pos - len(tail))
        else:
            tail = b""
        self._log.sort()
        return tail

    def _invalid(self, offset: int) -> None:
        # The detail names no bytes: what follows the "=" may not have been
        # fed yet, and the defect must not depend on the chunking.
        self._log.add(
            DefectKind.QP_INVALID_ESCAPE,
            offset,
            "'=' not followed by two hex digits or a line break; kept literally",
        )

    def _decode(self, data: bytes, base: int) -> bytes:
        """Decode ``data``, which ends with no incomplete ``=`` sequence."""
        if b"=" not in data:
            return data
        decoded = binascii.a2b_qp(data)
        if _regular(data, decoded):
            return decoded
        return self._decode_irregular(data, base)

    def _decode_irregular(self, data: bytes, base: int) -> bytes:
        """Slow path: handle each irregular ``=`` (see the module docstring).

        Runs of ``=`` and of ``=`` CR are handled in one step each, and once
        the defect cap is reached only the ``=`` that a2b_qp would decode
        differently are looked at, so hostile input stays cheap.
        """
        out: list[bytes] = []
        start = 0  # start of the stretch not yet handed to a2b_qp
        pos = 0
        invalid = DefectKind.QP_INVALID_ESCAPE
        while True:
            pattern = _NEEDS_SPLIT if self._log.full(invalid) else _ODD_EQ
            odd = pattern.search(data, pos)
            if odd is None:
                break
            at = odd.start()
            following = data[at + 1 : at + 2]
            if following in (b" ", b"\t"):
                padded = _PADDED_BREAK.match(data, at)
                if padded is not None:
                    out.append(binascii.a2b_qp(data[start:at]))
                    start = pos = padded.end()
                    continue
            if following in (b"=", b"\r"):
                # "==" or "=" CR without LF, possibly repeated: a2b_qp would
                # swallow the second "=" or skip to the next LF. The run is
                # kept as it is; an "=" ending it is looked at next.
                run = _LITERAL_RUN.match(data, at)
                assert run is not None
                pos = run.end()
                self._invalid_run(base + at, data[at:pos])
                out.append(binascii.a2b_qp(data[start:at]))
                out.append(data[at:pos])
                start = pos
                continue
            self._invalid(base + at)
            pos = at + 1
            if not following:
                # "=" ending the data, followed by the held-back "=" of the
                # next sequence: a2b_qp would drop it.
                out.append(binascii.a2b_qp(data[start:at]))
                out.append(b"=")
                start = pos
        out.append(binascii.a2b_qp(data[start:] if start else data))
        return b"".join(out)

    def _invalid_run(self, offset: int, run: bytes) -> None:
        """Report each ``=`` of ``run`` (which starts at ``offset``)."""
        invalid = DefectKind.QP_INVALID_ESCAPE
        index = 0
        while index != -1 and not self._log.full(invalid):
            self._invalid(offset + index)
            index = run.find(b"=", index + 1)


def _regular(data: bytes, decoded: bytes) -> bool:
    """Prove that ``data`` holds no irregular ``=``, so ``decoded`` is right.

    An irregular ``=`` is one :data:`_ODD_EQ` matches. a2b_qp copies such an
    ``=`` to its output, except in three cases checked separately: ``=`` at
    the end (here: followed by a held-back sequence), ``=`` before a bare CR
    (a2b_qp skips to the next LF), and ``==`` (one "=" is still output). So if
    the output has no ``=`` at all, there is none. If it has one, it may come
    from a ``=3D`` escape: decoding the byte *classes* (:data:`_PROBE` maps
    every hex digit to ``0`` and every other byte but ``=``, CR and LF to
    ``x``) tells the two apart, as escapes then decode to NUL bytes.
    """
    if data.endswith(b"="):
        return False
    if b"=\r" in data and data.count(b"=\r") != data.count(b"=\r\n"):
        return False
    return b"=" not in decoded or b"=" not in binascii.a2b_qp(data.translate(_PROBE))


def decode_qp(data: BytesLike, *, offset: int = 0) -> tuple[bytes, list[Defect]]:
    """Decode a whole quoted-printable body; never raises on input.

    Equivalent to feeding ``data`` to a :class:`QPDecoder` and closing it (it
    is implemented that way). See the module docstring for the rules.

    Args:
        data: The encoded body.
        offset: Absolute offset of ``data[0]`` in the message; defect offsets
            are ``offset + index``.

    Returns:
        ``(decoded_bytes, defects)``, defects sorted by offset.

    Raises:
        TypeError: ``data`` is not bytes-like.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    decoder = QPDecoder(offset=offset)
    if len(data) <= _SLICE:
        parts = [decoder.feed(data)]
    else:
        view = memoryview(data)
        parts = [decoder.feed(bytes(view[i : i + _SLICE])) for i in range(0, len(data), _SLICE)]
    parts.append(decoder.close())
    return b"".join(parts), decoder.defects


# --- encoding -------------------------------------------------------------

#: RFC 2045 rule (2): "!" through "~" except "=" are literal.
_SAFE: Final = bytes(b for b in range(33, 127) if b != 0x3D)
_ESCAPE: Final = tuple(b"=%02X" % b for b in range(256))
#: Runs of bytes to escape: in binary mode everything not literal, in text
#: mode the same except LF (a line break, split on afterwards).
_UNSAFE_BINARY: Final = re.compile(rb"([^!-<>-~ \t]+)")
_UNSAFE_TEXT: Final = re.compile(rb"([^!-<>-~ \t\n]+)")


@functools.lru_cache(maxsize=4096)
def _escape_run(run: bytes) -> bytes:
    # Cached: text repeats the same few runs (one accented letter, a UTF-8
    # punctuation mark), and a cache hit costs no Python code at all.
    return b"".join(map(_ESCAPE.__getitem__, run))


def _escape(data: bytes, unsafe: re.Pattern[bytes]) -> bytes:
    """Replace every byte matched by ``unsafe`` with its ``=XX`` escape."""
    parts = unsafe.split(data)  # safe, run, safe, run, ..., safe
    parts[1::2] = map(_escape_run, parts[1::2])
    return b"".join(parts)


def encode_qp(data: BytesLike, *, linesep: bytes = b"\r\n", binary: bool = False) -> bytes:
    """Encode ``data`` as quoted-printable (RFC 2045 section 6.7).

    * Literal: ``!`` through ``~`` except ``=`` (rule 2), and space and tab
      except at the end of a line (rule 3).
    * Everything else becomes ``=XX`` with uppercase hex (rule 1).
    * Lines are at most 76 characters including the ``=`` of a soft line
      break (rule 5); an escape is never split.
    * Text mode: each line break in the input (CRLF or a bare LF) becomes a
      hard line break ``linesep``; a bare CR is encoded ``=0D``. Binary mode:
      CR and LF are encoded ``=0D``/``=0A``, so the bytes round-trip exactly.
    * mbox safety: a physical line that would start with ``From `` gets its
      ``F`` encoded as ``=46``, so no mbox writer has to quote it and no mbox
      reader mistakes it for a message separator. A leading ``.`` is left
      alone: SMTP dot-stuffing (RFC 5321 section 4.5.2) handles it losslessly.

    Args:
        data: The bytes to encode.
        linesep: ``b"\\r\\n"`` (wire format) or ``b"\\n"``.
        binary: Encode CR and LF too (for data that is not line-oriented).

    Returns:
        The encoded body. It ends with ``linesep`` exactly when the input ends
        with a line break (text mode); empty input gives ``b""``.

    Raises:
        TypeError: ``data`` or ``linesep`` is not bytes.
        ValueError: ``linesep`` is not CRLF or LF.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    if not isinstance(linesep, bytes):
        raise TypeError(f"linesep must be bytes, not {type(linesep).__name__}")
    if linesep not in (b"\r\n", b"\n"):
        raise ValueError("linesep must be b'\\r\\n' or b'\\n'")
    data = bytes(data)
    # Escaping is done once over the whole input, then lines are trimmed and
    # wrapped one by one.
    if binary:
        lines = [_escape(data, _UNSAFE_BINARY)]
    else:
        if b"\r\n" in data:
            data = data.replace(b"\r\n", b"\n")  # a bare CR left is escaped
        lines = _escape(data, _UNSAFE_TEXT).split(b"\n")
    out: list[bytes] = []
    for line in lines:
        if len(line) < _LINE_LIMIT and line[-1:] not in (b" ", b"\t") and line[:5] != b"From ":
            out.append(line)  # the common case: nothing to do
        else:
            _wrap_line(line, out)
    return linesep.join(out)


def _wrap_line(encoded: bytes, out: list[bytes]) -> None:
    """Append the physical lines for one escaped logical line to ``out``."""
    if not encoded:
        out.append(b"")
        return
    if encoded[-1] in b" \t":
        # Rule (3): whitespace at the end of a line must be encoded.
        encoded = encoded[:-1] + _ESCAPE[encoded[-1]]
    pos = 0
    size = len(encoded)
    while True:
        prefix = b""
        if encoded.startswith(b"From ", pos):
            prefix = b"=46"
            pos += 1
        room = _LINE_LIMIT - len(prefix)
        if size - pos <= room:
            out.append(prefix + encoded[pos:])
            return
        cut = pos + room - 1  # leave room for the soft-break "="
        # "=" only ever starts an escape here, so this finds one that the
        # cut would split.
        if encoded[cut - 1] == 0x3D:
            cut -= 1
        elif encoded[cut - 2] == 0x3D:
            cut -= 2
        out.append(prefix + encoded[pos:cut] + b"=")
        pos = cut
