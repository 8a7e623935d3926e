"""Header octets to text: ASCII, UTF-8 (RFC 6532), else a legacy guess.

Header fields carry no charset label, so 8-bit octets that are not UTF-8
are decoded with the fallbacks of :mod:`._charset` (chardet, then
windows-1252); see :func:`decode_header_bytes`.
"""

from __future__ import annotations

import codecs

from .._defects import Defect, DefectKind
from ._charset import chardet_guess, strict_decode

__all__ = ["decode_header_bytes"]


def decode_header_bytes(
    raw: bytes | bytearray | memoryview, defects: list[Defect] | None = None
) -> str:
    """Decode raw header octets to ``str``; never raises on input.

    RFC 5322 headers are ASCII; RFC 6532 allows UTF-8. Anything else is
    legacy 8-bit text in an undeclared charset, so:

    * pure ASCII takes a fast path;
    * valid UTF-8 is decoded as UTF-8 (RFC 6532 section 3);
    * otherwise, if the valid UTF-8 multi-byte characters outnumber the
      invalid bytes (a UTF-8 header with a few stray latin-1 bytes, as when a
      list server prepends a latin-1 tag), valid UTF-8 sequences are kept and
      only the invalid bytes decode as windows-1252;
    * otherwise, with at least 16 8-bit bytes, chardet's guess when it is at
      least 0.3 confident (Cyrillic, Greek, CJK legacy charsets: KOI8-R,
      windows-1251, Shift_JIS, GB18030...);
    * else the whole value decodes as windows-1252 (WHATWG variant: the
      five undefined bytes become C1 controls, so it cannot fail). Below 16
      8-bit bytes chardet is noise: on a short Western subject it reports
      a low-confidence guess (cp437, MacCyrillic) that is wrong more often
      than windows-1252, which is what such bytes almost always are.

    The ASCII and UTF-8 paths cost one ``isascii`` or one ``decode`` call:
    this runs for every header of every message read. (For the same reason
    ``defects`` is not keyword-only: CPython calls a function with
    keyword-only defaults measurably slower.)

    Args:
        raw: Header octets (name, value or whole field; folding is kept).
        defects: If given, a ``CHARSET_DECODE_ERROR`` defect is appended
            when the bytes were not ASCII or UTF-8; its detail names the
            charset used (``"koi8-r (guessed by chardet)"``), its offset is
            the index in ``raw`` of the first byte that is not UTF-8.

    Returns:
        The text. ``str`` never contains surrogates.

    Raises:
        TypeError: ``raw`` is not bytes-like.
    """
    if type(raw) is not bytes:
        if not isinstance(raw, bytes | bytearray | memoryview):
            raise TypeError(f"raw must be bytes, not {type(raw).__name__}")
        raw = bytes(raw)
    if raw.isascii():
        return raw.decode("ascii")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    text, how = _decode_8bit_header(raw)
    if defects is not None:
        defects.append(
            Defect(
                kind=DefectKind.CHARSET_DECODE_ERROR,
                offset=first_bad,
                detail=f"8-bit header bytes are not UTF-8; decoded as {how}",
            )
        )
    return text


def _decode_8bit_header(raw: bytes) -> tuple[str, str]:
    """Decode non-UTF-8 header octets; return ``(text, how)`` (see above)."""
    replaced = raw.decode("utf-8", "replace")
    bad = replaced.count("\ufffd") - raw.count(b"\xef\xbf\xbd")
    good = len(replaced) - len(replaced.encode("ascii", "ignore")) - bad
    if good > bad:
        return _mixed_utf8(raw), "utf-8, stray bytes as cp1252"
    guessed = chardet_guess(raw)
    if guessed is not None:
        try:
            return strict_decode(raw, guessed), f"{guessed} (guessed by chardet)"
        except UnicodeDecodeError:
            pass
    return strict_decode(raw, "cp1252"), "cp1252"


def _mixed_utf8(raw: bytes) -> str:
    """UTF-8 with a few invalid bytes: those decode as windows-1252.

    At most ``bad`` (< good <= len/2) round trips, each decoding only the
    stretch up to the next error, so the total work stays linear.
    """
    parts: list[str] = []
    view = memoryview(raw)
    pos = 0
    while pos < len(raw):
        try:
            parts.append(codecs.utf_8_decode(view[pos:], "strict", True)[0])
            break
        except UnicodeDecodeError as exc:
            parts.append(codecs.utf_8_decode(view[pos : pos + exc.start], "strict", True)[0])
            bad_end = pos + exc.end
            parts.append(strict_decode(raw[pos + exc.start : bad_end], "cp1252"))
            pos = bad_end
    return "".join(parts)
