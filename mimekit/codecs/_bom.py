"""Byte order marks: which byte order a Unicode body is in, and what an
unlabelled body is.

Byte order marks follow WHATWG, as the charset labels do (RFC 2781 section 4.3 and Unicode section
3.10 agree on the defaults):

* ``utf-16`` and ``utf-32`` (and the generic aliases ``unicode``, ``ucs-2``,
  ``iso-10646-ucs-2``, ``csunicode``, ``ucs-4``...) let a leading byte order
  mark choose the byte order and drop it; without one the text is
  big-endian. Python's own ``utf-16``/``utf-32`` codecs read BOM-less data in
  the machine's byte order, so the result would depend on the CPU.
* The explicit ``utf-16le``/``utf-16be``/``utf-32le``/``utf-32be`` labels keep
  their byte order. A leading U+FEFF in that order is, for RFC 2781, a
  zero-width no-break space that belongs to the text; it is dropped anyway, as
  WHATWG's decoder does, since no reader wants an invisible first character.
  A leading UTF-8 BOM is likewise dropped from text decoded as UTF-8 (RFC
  3629 section 6 calls it a signature).
* A body with no charset, or whose declared charset fails to decode, is read
  in the encoding its BOM names (UTF-8, UTF-16LE/BE, UTF-32LE/BE) before any
  guess, with a defect naming the choice: the BOM is far better evidence than
  chardet, which is not even consulted on mostly 7-bit UTF-16.

BOM handling is for :func:`._charset.decode_bytes` (bodies, RFC 2231
parameter values); header words (RFC 2047, :func:`._header_bytes.decode_header_bytes`)
only get the machine-independent ``utf-16``/``utf-32`` default.
"""

from __future__ import annotations

import codecs
from typing import Final

__all__ = ["BOM_DECIDES", "GENERIC_BOMS", "byte_order", "sniff_bom"]

# Labels whose registered meaning is big-endian but which Windows software
# writes little-endian with a BOM: for decode_bytes the BOM decides, exactly
# as for the generic utf-16/utf-32 labels.
BOM_DECIDES: Final[dict[str, str]] = {
    "iso-10646-ucs-2": "utf-16",
    "ucs-2": "utf-16",
    "csunicode": "utf-16",
    "iso-10646-ucs-4": "utf-32",
    "ucs-4": "utf-32",
    "csucs4": "utf-32",
}

# Generic Unicode codec -> (BOM, explicit codec) pairs; no BOM means
# big-endian (RFC 2781 section 4.3, Unicode section 3.10).
GENERIC_BOMS: Final[dict[str, tuple[tuple[bytes, str], ...]]] = {
    "utf-16": ((codecs.BOM_UTF16_BE, "utf-16-be"), (codecs.BOM_UTF16_LE, "utf-16-le")),
    "utf-32": ((codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF32_LE, "utf-32-le")),
}

# Explicit codec -> the BOM in its own byte order, dropped from the text
# (WHATWG decode; see the module docstring).
_OWN_BOM: Final[dict[str, bytes]] = {
    "utf-8": codecs.BOM_UTF8,
    "utf-16-be": codecs.BOM_UTF16_BE,
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-32-be": codecs.BOM_UTF32_BE,
    "utf-32-le": codecs.BOM_UTF32_LE,
}

# BOM sniffing for undeclared or wrongly declared bodies, in this order:
# UTF-32LE's BOM (FF FE 00 00) starts with UTF-16LE's, so it is tried first,
# and data that is not valid UTF-32LE is then UTF-16LE text whose first
# character is U+0000.
_SNIFFED_BOMS: Final[tuple[tuple[bytes, str], ...]] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)


def byte_order(data: bytes, codec: str) -> tuple[str, int]:
    """The explicit codec to read ``data`` with and the length of its BOM.

    A generic ``utf-16``/``utf-32`` takes the byte order of a leading BOM,
    else big-endian; an explicit codec keeps its order and only drops a BOM
    written in that order.
    """
    generic = GENERIC_BOMS.get(codec)
    if generic is not None:
        for bom, explicit in generic:
            if data.startswith(bom):
                return explicit, len(bom)
        return codec + "-be", 0
    own = _OWN_BOM.get(codec)
    return codec, len(own) if own is not None and data.startswith(own) else 0


def sniff_bom(data: bytes) -> tuple[str, str, str] | None:
    """Decode ``data`` in the encoding its BOM names.

    Returns ``(text, codec, how)`` as :func:`._charset._guess` does, or ``None`` when
    ``data`` starts with no BOM.

    The BOM is dropped. When no candidate decodes strictly, the last one that
    matched is used with replacement characters (for FF FE 00 00 that is
    UTF-16LE, the reading WHATWG knows): the BOM is still the best evidence
    there is, and WHATWG decodes with replacement after a BOM sniff.
    """
    matched: tuple[bytes, str] | None = None
    for bom, codec in _SNIFFED_BOMS:
        if data.startswith(bom):
            matched = (bom, codec)
            try:
                return data[len(bom) :].decode(codec), codec, f"{codec} (byte order mark)"
            except UnicodeDecodeError:
                pass
    if matched is None:
        return None
    bom, codec = matched
    text = data[len(bom) :].decode(codec, "replace")
    return text, codec, f"{codec} with replacement characters (byte order mark)"
