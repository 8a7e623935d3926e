"""Charset labels and byte-to-text decoding that never fails.

MIME labels text with a charset name (RFC 2045 section 5.1 ``charset``
parameter, RFC 2047 section 2 encoded words, RFC 2231 section 4 parameter
values). The names come from the IANA registry, but real mail carries
spellings, private ``x-`` names and outright wrong labels. This module maps a
label to a Python codec name and decodes bytes with a documented fallback chain,
so that a caller always gets text.

Three decisions follow the WHATWG Encoding Standard (what browsers, and
therefore the senders' and readers' view of a message, actually do) rather than
the strict IANA meaning of the label:

* ``iso-8859-1``, ``latin1``, ``us-ascii``-with-8-bit-data fallback and
  ``windows-1252`` all decode as windows-1252. The bytes 0x80-0x9F are C1
  control characters in ISO 8859-1 and are never meant as such in mail; they
  are the windows-1252 typographic characters (curly quotes, dashes, the euro
  sign). The five bytes windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90,
  0x9D) decode to the C1 control of the same value, exactly like the WHATWG
  ``windows-1252`` index, so this decoder can never fail. The same gap filling
  applies to the other ``windows-125x`` code pages and ``windows-874``.
* Subsets decode with their Windows or modern superset: ``gb2312``/``gbk`` as
  ``gb18030``, ``euc-kr``/``ks_c_5601-1987`` as ``cp949``, ``shift_jis`` as
  ``cp932``, ``big5`` as ``cp950``, ``iso-8859-9`` as ``cp1254``,
  ``tis-620``/``iso-8859-11`` as ``cp874``, ``iso-2022-jp`` as
  ``iso2022_jp_ext``. Mail labelled with the subset is, in practice, produced by
  software that emits the superset.
* Labels that say "I do not know" (``unknown-8bit`` from RFC 1428,
  ``x-unknown``, ``x-user-defined`` which meant "the reader's locally configured
  charset" in Netscape mail) map to ``None`` so the content is guessed.

Byte order marks (a BOM decides the byte order of ``utf-16``/``utf-32``, and
is the first evidence for an undeclared body) are :mod:`._bom`'s part.

Codecs that are not character encodings, or that interpret the data as code
(``unicode_escape``, ``raw_unicode_escape``, ``idna``, ``punycode``,
``undefined``, the bytes-to-bytes codecs such as ``zlib`` or ``base64``), are
refused: a hostile label must not be able to inflate or reinterpret the data.
"""

from __future__ import annotations

import codecs
import functools
from typing import Final

from .._defects import Defect, DefectKind
from ._bom import BOM_DECIDES, GENERIC_BOMS, byte_order, sniff_bom

__all__ = ["chardet_guess", "decode_bytes", "lookup_charset", "strict_decode"]

# Labels Python's codec registry does not know, or knows wrongly for mail.
# Keys are already lower-cased and stripped. ``None`` means "unknown on
# purpose": decode_bytes guesses instead.
_LABELS: Final[dict[str, str | None]] = {
    # "I don't know" labels (RFC 1428 unknown-8bit and vendor variants).
    "unknown-8bit": None,
    "x-unknown": None,
    "unknown": None,
    "x-user-defined": None,
    "8bit": None,
    "default": None,
    # Hebrew: -i (implicit/logical) and -e (explicit) directionality only
    # changes rendering, not the byte-to-character mapping (RFC 1556).
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-8-e": "iso8859-8",
    "iso_8859-8-i": "iso8859-8",
    "iso_8859-8-e": "iso8859-8",
    "csiso88598i": "iso8859-8",
    "csiso88598e": "iso8859-8",
    "logical": "iso8859-8",
    "visual": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "iso-8859-6-e": "iso8859-6",
    # Japanese vendor names.
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "cswindows31j": "cp932",
    "x-ms-cp932": "cp932",
    "ms_kanji": "cp932",
    "x-mac-japanese": "cp932",
    "x-euc-jp": "euc_jp",
    # Korean and Chinese vendor names.
    "x-windows-949": "cp949",
    "ks_c_5601-1987": "cp949",
    "x-gbk": "gb18030",
    "x-mac-chinesesimp": "gb18030",
    "x-mac-chinesetrad": "cp950",
    "x-mac-korean": "cp949",
    "x-x-big5": "cp950",
    # Classic Mac OS code pages under their Mozilla names.
    "x-mac-roman": "mac-roman",
    "x-mac-cyrillic": "mac-cyrillic",
    "x-mac-ukrainian": "mac-cyrillic",
    "x-mac-ce": "mac-latin2",
    "x-mac-centraleurroman": "mac-latin2",
    "x-mac-greek": "mac-greek",
    "x-mac-turkish": "mac-turkish",
    "x-mac-icelandic": "mac-iceland",
    "x-mac-croatian": "mac-croatian",
    "x-mac-romanian": "mac-romanian",
    # UCS-2 and UCS-4 in MIME (RFC 1641, the IANA registry) are big-endian;
    # UTF-16 and UTF-32 decoding are supersets. decode_bytes still lets a
    # byte order mark decide for these labels (see BOM_DECIDES).
    "iso-10646-ucs-2": "utf-16-be",
    "ucs-2": "utf-16-be",
    "csunicode": "utf-16-be",
    "iso-10646-ucs-4": "utf-32-be",
    "ucs-4": "utf-32-be",
    "csucs4": "utf-32-be",
    "unicode": "utf-16",
    "x-utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
}

# Python codec name (as ``codecs.lookup(...).name`` reports it) -> the codec
# that decodes what real senders put under that label (see module docstring).
_SUPERSETS: Final[dict[str, str]] = {
    "iso8859-1": "cp1252",
    "latin-1": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
    "big5": "cp950",
    "iso2022_jp": "iso2022_jp_ext",
}

# Codecs a label must never select: not character sets, or they interpret
# the data (escape sequences, IDNA, bytes-to-bytes transforms).
_REFUSED: Final[frozenset[str]] = frozenset(
    {
        "unicode_escape",
        "raw_unicode_escape",
        "unicode_internal",
        "idna",
        "punycode",
        "undefined",
        "mbcs",
        "oem",
    }
)

# Windows code pages whose undefined bytes WHATWG maps to the C1 control of
# the same value; decoding them therefore never fails.
_C1_FILLED: Final[frozenset[str]] = frozenset({f"cp125{n}" for n in range(9)} | {"cp874"})

#: Bytes 0x00-0x7F, for ``bytes.translate(None, delete=...)`` counting.
_ASCII_BYTES: Final[bytes] = bytes(range(128))

# chardet is trusted only on enough evidence: at least this many 8-bit bytes
# and at least this confidence. Below that, windows-1252 is a better guess
# (the 8-bit bytes in short Western text are mostly accented Latin letters,
# on which chardet is unreliable).
_CHARDET_MIN_HIGH_BYTES: Final = 16
_CHARDET_MIN_CONFIDENCE: Final = 0.3
# chardet is slow; it only ever looks at this many leading bytes.
_CHARDET_MAX_BYTES: Final = 64 * 1024

_QUOTES_AND_SPACE: Final = " \t\r\n\"'"

@functools.lru_cache(maxsize=512)
def lookup_charset(name: str) -> str | None:
    """Map a MIME charset label to a Python codec name.

    The label is matched case-insensitively after stripping surrounding
    whitespace and quotes. Known vendor aliases are resolved first (see the
    module docstring for the table and the WHATWG-style superset choices),
    then :func:`codecs.lookup`, then ``x-``-prefixed and ``cp-NNN`` /
    ``windows-NNN`` spellings.

    Args:
        name: A charset label as found in a ``charset`` parameter or an
            RFC 2047 encoded word (RFC 2978 ``mime-charset``).

    Returns:
        The canonical Python codec name (``codecs.lookup(x).name``, for example
        ``"utf-8"``, ``"cp1252"``, ``"gb18030"``), or ``None`` if the label is
        unknown, refused (not a character encoding) or explicitly means
        "unknown" (``unknown-8bit``, ``x-unknown``, ``x-user-defined``).

    Raises:
        TypeError: ``name`` is not a ``str``.

    Note:
        For ``cp1252`` and the other code pages listed in the module docstring,
        :func:`decode_bytes` fills the code page's undefined bytes with C1
        controls; plain ``bytes.decode(name)`` does not.
    """
    if not isinstance(name, str):
        raise TypeError(f"charset name must be str, not {type(name).__name__}")
    key = name.strip(_QUOTES_AND_SPACE).lower()
    if not key or len(key) > 64 or not key.isascii():
        return None
    if key in _LABELS:
        return _resolve(_LABELS[key])
    found = _resolve(key)
    if found is not None:
        return found
    # Spellings codecs.lookup misses: "x-foo", "cp-850", "windows-874".
    if key.startswith("x-") and key[2:] not in _LABELS:
        return _resolve(key[2:])
    for prefix in ("cp-", "windows-", "win-", "win", "ms-", "ibm-"):
        if key.startswith(prefix) and key[len(prefix) :].isdigit():
            return _resolve("cp" + key[len(prefix) :])
    return None


def is_placeholder_charset(name: str) -> bool:
    """Whether ``name`` is a label that means "charset unknown" on purpose.

    ``unknown-8bit`` (RFC 1428), ``x-unknown``, ``x-user-defined`` and the like:
    the data is text in *some* charset, so it is worth guessing, unlike a label
    that is merely unrecognised. Internal helper for the RFC 2047 decoder.
    """
    key = name.strip(_QUOTES_AND_SPACE).lower()
    return key in _LABELS and _LABELS[key] is None


def _resolve(name: str | None) -> str | None:
    """Return the superset-adjusted codec name for ``name``, or ``None``."""
    if name is None:
        return None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        # ValueError: codecs.lookup rejects names with embedded NUL.
        return None
    # bytes.decode refuses non-text codecs (zlib, base64, rot13, ...) too;
    # checking here keeps a hostile label from ever selecting one.
    refused = info.name.replace("-", "_") in _REFUSED
    if refused or not getattr(info, "_is_text_encoding", True):
        return None
    return _SUPERSETS.get(info.name, info.name)


# 7-bit inputs that stateful or escape-based codecs read as something other
# than ASCII: ISO-2022 escape sequences and shifts, UTF-7 and HZ shifts.
_ASCII_PROBES: Final = (
    _ASCII_BYTES,
    b"\x1b$B!!\x1b(B",
    b"\x1b$)C\x0e!!\x0f",
    b"\x1b$A!!",
    b"+AOk-",
    b"~{!!~}",
)


@functools.lru_cache(maxsize=64)
def _ascii_compatible(codec: str) -> bool:
    """Whether ``codec`` decodes all 7-bit data exactly as ASCII does.

    UTF-7, UTF-16, HZ, ISO-2022 and EBCDIC codecs do not: for them pure-ASCII
    data must still go through the codec.
    """
    try:
        return all(probe.decode(codec) == probe.decode("ascii") for probe in _ASCII_PROBES)
    except (UnicodeDecodeError, LookupError):
        return False


@functools.lru_cache(maxsize=16)
def _c1_filled_table(codec: str) -> str:
    """A 256-character decoding table for :func:`codecs.charmap_decode`."""
    chars = []
    for byte in range(256):
        try:
            chars.append(bytes((byte,)).decode(codec))
        except UnicodeDecodeError:
            chars.append(chr(byte))
    return "".join(chars)


def strict_decode(data: bytes, codec: str) -> str:
    """Decode strictly; the WHATWG-filled code pages cannot fail.

    ``utf-16`` and ``utf-32`` read BOM-less data as big-endian rather than in
    the machine's byte order (Python's codecs), so the text does not depend
    on the CPU; a BOM still decides and is dropped, as Python does.
    """
    if codec in _C1_FILLED:
        return codecs.charmap_decode(data, "strict", _c1_filled_table(codec))[0]
    if codec in GENERIC_BOMS:
        codec, skip = byte_order(data, codec)
        try:
            return data[skip:].decode(codec)
        except UnicodeDecodeError as exc:
            # Positions relative to ``data``, as callers report them.
            raise UnicodeDecodeError(
                exc.encoding, data, exc.start + skip, exc.end + skip, exc.reason
            ) from None
    return data.decode(codec)


def _body_codec(charset: str) -> str | None:
    """``lookup_charset``, but generic where a BOM decides (``BOM_DECIDES``)."""
    generic = BOM_DECIDES.get(charset.strip(_QUOTES_AND_SPACE).lower())
    return generic if generic is not None else lookup_charset(charset)


def _mostly_decodes(data: bytes, codec: str) -> str | None:
    """Decode with replacement if the charset is confirmed by the data.

    "Confirmed" means at least one non-ASCII character decoded correctly and
    at most two characters are damaged per correct one. A mislabelled text
    (latin-1 bytes declared UTF-8) fails this: its 8-bit bytes almost never
    form a valid UTF-8 sequence. A UTF-8 text with a few stray bytes (as in a
    corrupted or concatenated body) passes it and keeps its good characters,
    as every other mail reader would show it.
    """
    skip = 0
    if codec in GENERIC_BOMS:
        # Not Python's machine-order default (see strict_decode).
        codec, skip = byte_order(data, codec)
    try:
        text = data[skip:].decode(codec, "replace")
    except LookupError:
        return None
    bad = text.count("\ufffd")
    good = len(text) - len(text.encode("ascii", "ignore")) - bad
    return text if good and bad <= 2 * good else None


def _guess(data: bytes, tried: str | None) -> tuple[str, str, str]:
    """Guess the charset of 8-bit ``data``; return ``(text, codec, how)``.

    Order: UTF-8 if it decodes strictly (8-bit data that is valid UTF-8 is
    almost never anything else); the failed declared codec, then UTF-8, if they
    *mostly* decode (with U+FFFD for the bad bytes); chardet when it is
    confident on enough data; finally windows-1252, which cannot fail.
    ``how`` names the choice for a defect: ``"utf-8"``, ``"utf-8 with
    replacement characters"``, ``"koi8-r (guessed by chardet)"``,
    ``"cp1252 (the last resort)"``.
    """
    if tried != "utf-8":
        try:
            return data.decode("utf-8"), "utf-8", "utf-8"
        except UnicodeDecodeError:
            pass
    for codec in dict.fromkeys((tried, "utf-8")):
        if codec is not None and codec not in _C1_FILLED:
            text = _mostly_decodes(data, codec)
            if text is not None:
                return text, codec, f"{codec} with replacement characters"
    guessed = chardet_guess(data)
    if guessed is not None and guessed != tried:
        try:
            return strict_decode(data, guessed), guessed, f"{guessed} (guessed by chardet)"
        except UnicodeDecodeError:
            pass
    return strict_decode(data, "cp1252"), "cp1252", "cp1252 (the last resort)"


def chardet_guess(data: bytes) -> str | None:
    """Ask chardet, but only with enough 8-bit evidence; never raises."""
    sample = data[:_CHARDET_MAX_BYTES]
    if len(sample.translate(None, _ASCII_BYTES)) < _CHARDET_MIN_HIGH_BYTES:
        return None
    try:
        # Imported lazily: chardet takes tens of milliseconds to import and is
        # only needed for undeclared or mislabelled 8-bit text.
        import chardet

        result = chardet.detect(sample)
    except Exception:  # a third-party detector must not make us raise
        return None
    encoding = result.get("encoding")
    confidence = result.get("confidence") or 0.0
    if not isinstance(encoding, str) or confidence < _CHARDET_MIN_CONFIDENCE:
        return None
    codec = lookup_charset(encoding)
    return None if codec in (None, "ascii", "utf-8") else codec


def decode_bytes(
    data: bytes | bytearray | memoryview, charset: str | None, *, offset: int = 0
) -> tuple[str, str, list[Defect]]:
    """Decode a body (or any text octets) to ``str``; never raises on input.

    Rules, in order (RFC 2045 section 5.1 ``charset`` parameter, RFC 2046
    section 4.1.2, RFC 6532 for undeclared UTF-8):

    1. Pure-ASCII data with no charset, or with an ASCII-compatible one, takes
       a fast path (``bytes.isascii``).
    2. A declared charset that is known and decodes strictly is used. For
       ``utf-16``/``utf-32`` and their generic aliases a leading BOM picks the
       byte order, else big-endian; a BOM in the codec's own byte order is
       dropped (UTF-8 included). See the module docstring.
    3. An unknown declared charset gives an ``UNKNOWN_CHARSET`` defect; a
       known one that fails to decode gives ``CHARSET_DECODE_ERROR`` at the
       first bad byte. Either way decoding falls through to the guess below.
    4. No charset, or ``us-ascii`` with 8-bit bytes (a ``CHARSET_DECODE_ERROR``
       in the second case), or the declared charset failed: a leading BOM
       (UTF-8, UTF-32BE/LE, UTF-16BE/LE) decides, with replacement characters
       if need be; else UTF-8 if the bytes
       are valid UTF-8; then the declared charset, then UTF-8, with
       replacement characters if the data confirms it (at least one good
       non-ASCII character, at most two damaged characters per good one);
       then chardet, when it reports at least 0.3 confidence on at least 16
       8-bit bytes; else windows-1252 (WHATWG variant, which cannot fail).
       windows-1252 stands for the "latin-1" last resort: it decodes every
       byte latin-1 decodes to a printable character the same way, and reads
       0x80-0x9F as the typographic characters senders meant instead of C1
       controls.

    The defects of step 3 end with the choice made, for example ``"invalid
    utf-8 data; decoded as koi8-r (guessed by chardet)"`` or ``"...;
    decoded as cp1252 (the last resort)"``. With no charset declared, a
    chardet guess is recorded as a ``CHARSET_DECODE_ERROR`` at the first
    8-bit byte that names the guess (RFC 2045 section 5.2's default us-ascii
    cannot hold 8-bit data), and so is a BOM's choice (``"no charset declared;
    decoded as utf-16-le (byte order mark)"``, at the BOM); undeclared valid
    UTF-8 (RFC 6532, with or without its BOM) and the windows-1252 last
    resort for undeclared short or Western text are the documented readings
    and give no defect.

    The "confirmed with replacement" step keeps a UTF-8 text with a few stray
    bytes as UTF-8 (with U+FFFD where the bytes are bad, as CPython's
    ``get_content()``, MimeKit and stalwart show it) instead of re-decoding
    the whole text as windows-1252 mojibake, while a latin-1 text mislabelled
    UTF-8 (no valid multi-byte sequence at all) is still guessed.

    Args:
        data: The octets.
        charset: The declared charset label, or ``None`` when none is declared.
        offset: Absolute offset of ``data[0]`` in the message; defect offsets
            are ``offset + index``.

    Returns:
        ``(text, codec, defects)`` where ``codec`` is the Python codec name
        actually used (``"ascii"`` for pure-ASCII data without a charset;
        ``"utf-16-le"`` rather than ``"utf-16"`` once the byte order is known).

    Raises:
        TypeError: ``data`` is not bytes-like or ``charset`` not ``str``/None.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    if charset is not None and not isinstance(charset, str):
        raise TypeError(f"charset must be str or None, not {type(charset).__name__}")
    data = bytes(data)
    defects: list[Defect] = []
    codec = _body_codec(charset) if charset is not None else None
    # The defect to report if the text has to be guessed: (kind, offset,
    # why); its detail gets the guess appended.
    problem: tuple[DefectKind, int, str] | None = None
    if charset is not None and codec is None:
        problem = (
            DefectKind.UNKNOWN_CHARSET,
            offset,
            f"unknown charset {charset.strip()[:64]!r}",
        )
    if data.isascii() and (codec is None or _ascii_compatible(codec)):
        if problem is not None:
            defects.append(Defect(kind=problem[0], offset=problem[1], detail=problem[2]))
        return data.decode("ascii"), codec or "ascii", defects
    if codec is not None and codec != "ascii":
        used, skip = byte_order(data, codec)
        try:
            return strict_decode(data[skip:] if skip else data, used), used, defects
        except UnicodeDecodeError as exc:
            problem = (
                DefectKind.CHARSET_DECODE_ERROR,
                offset + skip + exc.start,
                f"invalid {codec} data",
            )
    elif codec == "ascii":
        first = len(data) - len(data.lstrip(_ASCII_BYTES))
        problem = (DefectKind.CHARSET_DECODE_ERROR, offset + first, "8-bit data declared us-ascii")
    if problem is None and data.startswith(codecs.BOM_UTF8):
        # Undeclared UTF-8 is a documented reading (RFC 6532) with or
        # without its signature: no defect, but the BOM is not text.
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8", defects
        except UnicodeDecodeError:
            pass
    sniffed = sniff_bom(data)
    if sniffed is not None:
        text, used, how = sniffed
        if problem is None:
            problem = (DefectKind.CHARSET_DECODE_ERROR, offset, "no charset declared")
    else:
        text, used, how = _guess(data, None if codec == "ascii" else codec)
    if problem is None and how.endswith("(guessed by chardet)"):
        # No charset declared and not UTF-8 (RFC 2045 section 5.2's default
        # us-ascii cannot hold 8-bit data): chardet's guess is recorded. The
        # windows-1252 last resort is not: it is the documented reading of
        # undeclared 8-bit text, also for parts that have no header to
        # declare a charset in (uuencoded and yEnc files).
        first = len(data) - len(data.lstrip(_ASCII_BYTES))
        problem = (
            DefectKind.CHARSET_DECODE_ERROR,
            offset + first,
            "8-bit data, no charset declared",
        )
    if problem is not None:
        kind, where, why = problem
        defects.append(Defect(kind=kind, offset=where, detail=f"{why}; decoded as {how}"))
    return text, used, defects


def decode_with_charset(data: bytes, codec: str | None) -> tuple[str, str, int]:
    """Decode ``data`` with an already looked-up codec, guessing on failure.

    Internal helper for the RFC 2047 decoder, which reports its own defects.

    Returns:
        ``(text, codec_used, error_index)``; ``error_index`` is the index of the
        first byte the declared codec could not decode, or -1 if it decoded.
    """
    if codec is not None and data.isascii() and _ascii_compatible(codec):
        return data.decode("ascii"), codec, -1
    if codec is not None:
        try:
            return strict_decode(data, codec), codec, -1
        except UnicodeDecodeError as exc:
            error = exc.start
    else:
        if data.isascii():
            return data.decode("ascii"), "ascii", -1
        error = 0
    text, used, _how = _guess(data, codec)
    return text, used, error
