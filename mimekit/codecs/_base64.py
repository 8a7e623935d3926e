"""Base64 content-transfer-encoding (RFC 2045 section 6.8), tolerant and fast.

RFC 2045 section 6.8 (alphabet of RFC 4648 section 4)::

    base64-char = ALPHA / DIGIT / "+" / "/"      ; 64 characters
    pad         = "="                            ; completes a final quantum
    ; "Any characters outside of the base64 alphabet are to be ignored in
    ;  base64-encoded data."  Lines are at most 76 characters.

Decoding works on whole chunks with C-level primitives: ``bytes.translate``
deletes everything outside the alphabet, ``binascii.a2b_base64`` decodes
complete 4-character quanta, and only the rare ``=`` sequences and invalid
bytes are handled in Python. The incremental :class:`Base64Decoder` keeps at
most three pending characters, so memory is bounded by the chunk size.

Decisions (and the differences from CPython ``email``, whose compat32
``get_payload(decode=True)`` runs ``decode_b(b''.join(payload.splitlines()))``):

* Whitespace is skipped silently. Other bytes outside the alphabet are skipped
  with one ``BASE64_INVALID_CHARACTER`` defect per *run* (a maximal stretch
  of non-alphabet bytes, whitespace and ``=`` included, that contains at least
  one invalid byte), at most 100 per decoder. CPython skips them too.
* The URL-safe alphabet (``-`` and ``_``, RFC 4648 section 5) is *not*
  accepted: MIME does not allow it, and ``-`` is common junk (signature
  separators pasted into a body). Its characters are invalid bytes, as in
  CPython.
* Missing final padding: the quantum is completed and decoded, with a
  ``BASE64_PADDING`` defect (CPython does the same).
* A dangling single character (length 1 mod 4): dropped, ``BASE64_PADDING``.
  CPython returns the whole *undecoded* payload in this case (bpo-27397).
* After ``=`` padding, the next line that is not blank decides. If it is
  clean base64 (alphabet and ``=`` only: another blob glued on), decoding
  continues with a fresh quantum and a ``BASE64_DATA_AFTER_PADDING`` defect,
  so nothing is lost. Anything else (a mailing-list footer or a disclaimer
  appended to the body, ``-- ``, a sentence) ends the data: the rest is
  ignored with one ``BASE64_TRAILING_TEXT`` defect, instead of being decoded
  into junk bytes. CPython's ``binascii.a2b_base64`` stops at the padding
  either way. The line is judged on at most its first 1024 bytes, held
  meanwhile, so memory stays bounded.
* An ``=`` after 2 or 3 characters whose unused low bits are not zero cannot
  end a quantum written by an encoder (RFC 4648 section 3.5): it is noise
  inside the data and is skipped with a ``BASE64_PADDING`` defect, so
  ``YW=Jj`` gives ``abc``, as in CPython. With zero bits it is padding, so
  ``YQ=Yg==`` gives ``ab`` (CPython: ``a\x06 ``).
* Padding in the wrong place (``=`` with 0 or 1 pending characters, too many
  ``=``, too few before more data): skipped with a ``BASE64_PADDING`` defect;
  a single pending character before ``=`` is dropped.
* A line longer than 76 characters: one ``BASE64_LINE_TOO_LONG`` defect.
"""

from __future__ import annotations

import binascii
import re
from typing import Final

from .._defects import Defect, DefectKind
from ._common import BytesLike, DefectLog, LineLengthChecker

__all__ = ["Base64Decoder", "decode_base64", "encode_base64"]

_ALPHABET: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_WHITESPACE: Final = b" \t\r\n\x0b\x0c"
#: ``translate(None, _NOT_ALPHABET)`` keeps only the base64 characters.
_NOT_ALPHABET: Final = bytes(sorted(set(range(256)) - set(_ALPHABET)))
#: ``translate(None, _TOLERATED)`` keeps only the invalid bytes.
_TOLERATED: Final = _ALPHABET + _WHITESPACE + b"="

#: Byte -> its 6-bit value (only meaningful for alphabet bytes).
_VALUES: Final = bytes(_ALPHABET.find(bytes((b,))) % 64 for b in range(256))

_ALPHA_RE: Final = re.compile(rb"[A-Za-z0-9+/]")
_INVALID_RE: Final = re.compile(rb"[^A-Za-z0-9+/= \t\r\n\x0b\x0c]")
#: A run of padding, with any whitespace between the "=" signs.
_PAD_RUN_RE: Final = re.compile(rb"[= \t\r\n\x0b\x0c]*")

_LINE_LIMIT: Final = 76
#: decode_base64 feeds its input to the decoder in pieces of this size.
_SLICE: Final = 256 * 1024

# Decoder states.
_DATA: Final = 0  #: decoding quanta
_PADDING: Final = 1  #: inside a final quantum's padding, more "=" expected
_AFTER: Final = 2  #: after complete padding (only inside a replayed line)
_LOOK: Final = 3  #: after complete padding, the next line not judged yet
_TRAILER: Final = 4  #: text after the data: ignored to the end

#: How much of the line after padding is held to judge it (see the docstring).
_LOOK_CAP: Final = 1024
_CLEAN: Final = _ALPHABET + b"="
_WS_RUN_RE: Final = re.compile(rb"[ \t\r\n\x0b\x0c]*")


class Base64Decoder:
    """Incremental, tolerant base64 decoder (RFC 2045 section 6.8).

    Feed chunks of any size; every chunking, down to one byte at a time, gives
    the same output bytes and the same defects (kinds, offsets, order) as
    :func:`decode_base64` on the whole input, which uses this class. See the
    module docstring for how malformed input is handled.

    Attributes:
        defects: Problems found so far. Offsets are absolute (``offset`` plus
            the index in the fed stream). The list is sorted by offset when
            :meth:`close` returns.
    """

    __slots__ = (
        "_bad_run",
        "_closed",
        "_excess_reported",
        "_held",
        "_held_at",
        "_lines",
        "_log",
        "_needed",
        "_pos",
        "_quantum",
        "_state",
        "_stray_reported",
        "defects",
    )

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
        self._quantum = b""  # pending base64 characters, fewer than 4
        self._state = _DATA
        self._needed = 0  # "=" still expected in state _PADDING
        self._excess_reported = False  # excess "=" already reported since data
        self._stray_reported = False  # stray "=" inside data reported since data
        self._bad_run = False  # inside a non-alphabet run already reported
        self._held = b""  # the line after padding, while it is judged (_LOOK)
        self._held_at = 0  # absolute offset of its first byte
        self._lines = LineLengthChecker(
            self._log, DefectKind.BASE64_LINE_TOO_LONG, _LINE_LIMIT, offset
        )
        self._closed = False

    def feed(self, chunk: BytesLike) -> bytes:
        """Decode ``chunk`` and return the bytes that are complete so far.

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
        base = self._pos
        self._pos += len(chunk)
        self._lines.feed(chunk, base)
        out: list[bytes] = []
        self._process(chunk, base, out)
        return b"".join(out)

    def _process(self, chunk: bytes, base: int, out: list[bytes]) -> None:
        """Decode ``chunk`` (its first byte at offset ``base``) into ``out``."""
        pos = 0
        size = len(chunk)
        while pos < size:
            if self._state == _LOOK:
                pos = self._look(chunk, pos, base, out)
                continue
            if self._state == _TRAILER:
                return
            pad = chunk.find(b"=", pos)
            stop = size if pad == -1 else pad
            if stop > pos:
                region = chunk if stop - pos == size else chunk[pos:stop]
                self._data(region, base + pos, out)
            if pad == -1:
                break
            run = _PAD_RUN_RE.match(chunk, pad)
            assert run is not None  # the pattern matches at least ""
            pos = pad + self._padding(run.group(), base + pad, out)

    def _look(self, chunk: bytes, pos: int, base: int, out: list[bytes]) -> int:
        """Hold the first non-blank line after padding and judge it (see the
        module docstring); return where to go on in ``chunk``."""
        size = len(chunk)
        if not self._held:
            skip = _WS_RUN_RE.match(chunk, pos)
            assert skip is not None
            pos = skip.end()
            if pos == size:
                return pos
            self._held_at = base + pos
        newline = chunk.find(b"\n", pos)
        end = size if newline == -1 else newline
        take = min(end, pos + _LOOK_CAP - len(self._held))
        self._held += chunk[pos:take]
        if take == size and len(self._held) < _LOOK_CAP:
            return take  # the line goes on in the next chunk
        self._judge(out)
        return take if self._state != _TRAILER else size

    def _judge(self, out: list[bytes]) -> None:
        """Decide on the held line: more data, or the text after it."""
        held, at = self._held, self._held_at
        self._held = b""
        if held.rstrip(_WHITESPACE).translate(None, _CLEAN):
            self._state = _TRAILER
            self._log.add(DefectKind.BASE64_TRAILING_TEXT, at,
                          "text after the base64 data ignored")
            return
        self._state = _AFTER
        self._process(held, at, out)
        if self._state == _AFTER:
            # The line held padding only ("=="): judge the next one too.
            self._state = _LOOK

    def close(self) -> bytes:
        """Finish the stream; return the final bytes (a completed quantum).

        Raises:
            ValueError: The decoder is already closed.
        """
        if self._closed:
            raise ValueError("close() called twice")
        self._closed = True
        end = self._pos
        self._lines.close(end)
        parts: list[bytes] = []
        while self._state == _LOOK and self._held:
            self._judge(parts)  # a judged line may end holding the next one
        out = b"".join(parts)
        if self._state == _DATA and self._quantum:
            if len(self._quantum) == 1:
                self._log.add(DefectKind.BASE64_PADDING, end, "dangling base64 character dropped")
            else:
                out += binascii.a2b_base64(self._quantum + b"=" * (4 - len(self._quantum)))
                self._log.add(DefectKind.BASE64_PADDING, end, "missing base64 padding")
            self._quantum = b""
        elif self._state == _PADDING:
            self._log.add(DefectKind.BASE64_PADDING, end, "incomplete base64 padding")
        self._log.sort()
        return out

    def _data(self, region: bytes, start: int, out: list[bytes]) -> None:
        """Decode a stretch of input that contains no ``=``."""
        rest = region.translate(None, _ALPHABET)  # whitespace and invalid bytes
        count = len(region) - len(rest)
        invalid = bool(rest) and bool(rest.translate(None, _WHITESPACE))
        if invalid:
            if not self._log.full(DefectKind.BASE64_INVALID_CHARACTER):
                self._invalid(region, start)
        elif count:
            self._bad_run = False
        if not count:
            return
        self._stray_reported = False
        if self._state != _DATA:
            first = _ALPHA_RE.search(region)
            assert first is not None
            at = start + first.start()
            if self._state == _PADDING:
                self._log.add(DefectKind.BASE64_PADDING, at, "incomplete base64 padding")
            self._log.add(
                DefectKind.BASE64_DATA_AFTER_PADDING,
                at,
                "base64 data continues after padding; decoded as well",
            )
            self._state = _DATA
            self._excess_reported = False
        if not invalid:
            # Fast path: only alphabet and whitespace. a2b_base64 skips the
            # whitespace itself, so the region is decoded in place up to the
            # last complete quantum; no cleaned copy is made.
            cut = _cut(region, (len(self._quantum) + count) % 4)
            if cut >= 0:
                body = region if cut == len(region) else region[:cut]
                out.append(binascii.a2b_base64(self._quantum + body if self._quantum else body))
                self._quantum = region[cut:].translate(None, _WHITESPACE)
                return
        kept = region.translate(None, _NOT_ALPHABET)
        if self._quantum:
            kept = self._quantum + kept
        cut = len(kept) - len(kept) % 4
        if cut:
            out.append(binascii.a2b_base64(kept if cut == len(kept) else kept[:cut]))
        self._quantum = kept[cut:]

    def _invalid(self, region: bytes, start: int) -> None:
        """Report each run of non-alphabet bytes that holds an invalid byte.

        Cost is proportional to the number of runs reported, which the
        defect cap bounds; the skipping itself is done by ``translate``.
        """
        pos = 0
        if self._bad_run:
            # The region starts inside a run that was already reported.
            first = _ALPHA_RE.search(region)
            if first is None:
                return
            pos = first.start()
        bad_run = False
        while not self._log.full(DefectKind.BASE64_INVALID_CHARACTER):
            invalid = _INVALID_RE.search(region, pos)
            if invalid is None:
                break
            self._log.add(
                DefectKind.BASE64_INVALID_CHARACTER,
                start + invalid.start(),
                f"byte {region[invalid.start()]:#04x} outside the base64 alphabet skipped",
            )
            resume = _ALPHA_RE.search(region, invalid.end())
            if resume is None:
                bad_run = True
                break
            pos = resume.start()
        self._bad_run = bad_run

    def _padding(self, run: bytes, start: int, out: list[bytes]) -> int:
        """Handle a run of ``=`` (possibly with whitespace) at ``start``;
        return how much of it was used (the rest, after the ``=`` that
        completes the padding, belongs to the line judged next)."""
        count = run.count(b"=")
        used = 0
        if self._state == _DATA:
            used = 1
            pending = len(self._quantum)
            if pending >= 2 and _VALUES[self._quantum[-1]] & (0x0F if pending == 2 else 0x03):
                # A real final quantum has zero unused bits (RFC 4648 section
                # 3.5: encoders pad with zero bits); these are not, so the "="
                # is noise inside the data, not padding: skip it.
                if not self._stray_reported:
                    self._log.add(
                        DefectKind.BASE64_PADDING, start, "'=' inside base64 data skipped"
                    )
                    self._stray_reported = True
                return len(run)
            if pending >= 2:
                out.append(binascii.a2b_base64(self._quantum + b"=" * (4 - pending)))
                self._needed = 3 - pending
                self._state = _PADDING if self._needed else _LOOK
            else:
                detail = (
                    "single base64 character before padding dropped"
                    if pending
                    else "base64 padding where no data is pending"
                )
                self._log.add(DefectKind.BASE64_PADDING, start, detail)
                self._state = _LOOK
                self._excess_reported = True
            self._quantum = b""
        if self._state == _PADDING:
            take = min(self._needed, count - used)
            self._needed -= take
            used += take
            if not self._needed:
                self._state = _LOOK
        if self._state == _LOOK:
            return _after_nth_equals(run, used)
        if used < count and not self._excess_reported:
            index = _after_nth_equals(run, used + 1) - 1
            self._log.add(DefectKind.BASE64_PADDING, start + index, "excess base64 padding")
            self._excess_reported = True
        return len(run)


def _after_nth_equals(run: bytes, n: int) -> int:
    """The index just after the ``n``-th ``=`` of ``run`` (0 for none)."""
    index = -1
    for _ in range(n):
        index = run.find(b"=", index + 1)
    return index + 1


def _cut(region: bytes, keep: int) -> int:
    """Index before the last ``keep`` base64 characters of ``region``, or -1.

    ``region`` holds only alphabet and whitespace bytes. Only its last 256 bytes
    are searched (a Python loop); -1 sends the caller to the general path.
    """
    if not keep:
        return len(region)
    index = len(region)
    low = max(0, index - 256)
    while index > low:
        index -= 1
        if region[index] not in _WHITESPACE:
            keep -= 1
            if not keep:
                return index
    return -1


def decode_base64(data: BytesLike, *, offset: int = 0) -> tuple[bytes, list[Defect]]:
    """Decode a whole base64 body (RFC 2045 section 6.8); never raises on input.

    Equivalent to feeding ``data`` to a :class:`Base64Decoder` and closing it
    (it is implemented that way, so the two cannot drift apart).

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
    decoder = Base64Decoder(offset=offset)
    if len(data) <= _SLICE:
        parts = [decoder.feed(data)]
    else:
        # Cache-sized pieces are faster than one huge pass (each pass's
        # temporaries stay in cache), and chunking never changes the result.
        view = memoryview(data)
        parts = [decoder.feed(bytes(view[i : i + _SLICE])) for i in range(0, len(data), _SLICE)]
    parts.append(decoder.close())
    return b"".join(parts), decoder.defects


def encode_base64(data: BytesLike, *, line_length: int = 76, linesep: bytes = b"\r\n") -> bytes:
    """Encode ``data`` as a base64 body (RFC 2045 section 6.8).

    Every line, including the last when ``data`` is not empty, ends with
    ``linesep``; empty data gives ``b""``.

    Args:
        data: The bytes to encode.
        line_length: Characters per line (RFC 2045: at most 76). Should be a
            multiple of 4 so that lines hold whole quanta, but any value >= 4
            produces valid output.
        linesep: ``b"\\r\\n"`` (wire format) or ``b"\\n"``.

    Raises:
        TypeError: ``data`` or ``linesep`` is not bytes.
        ValueError: ``line_length`` < 4, or ``linesep`` is not CRLF or LF.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    if not isinstance(linesep, bytes):
        raise TypeError(f"linesep must be bytes, not {type(linesep).__name__}")
    if linesep not in (b"\r\n", b"\n"):
        raise ValueError("linesep must be b'\\r\\n' or b'\\n'")
    if not isinstance(line_length, int) or line_length < 4:
        raise ValueError("line_length must be an int >= 4")
    if not data:
        return b""
    encoded = binascii.b2a_base64(data, newline=False)
    if len(encoded) <= line_length:
        return encoded + linesep
    lines = [encoded[i : i + line_length] for i in range(0, len(encoded), line_length)]
    lines.append(b"")
    return linesep.join(lines)
