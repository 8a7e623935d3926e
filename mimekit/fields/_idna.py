"""IDNA2008 domain names (RFC 5890-5893) with only the standard library.

Python's ``"idna"`` codec implements IDNA2003 (RFC 3490 nameprep), which
*changes* names instead of refusing them: ``faß.de`` becomes ``fass.de``
(IDNA2008 writes ``xn--fa-hia.de``, another domain), a zero width joiner is
dropped, and NFKC turns ``evil\\u2024com`` or ``paypal\\u3002com`` into a
name with a real dot. A mail library must never send to a domain other than
the one it was given, nor display an A-label as a look-alike, so this module
refuses what IDNA2008 does not allow.

What is implemented, per label:

* Mapping (RFC 5895 / UTS 46 in spirit, deliberately narrower): lower case,
  one code point at a time (``str.lower``, not ``casefold``, so ``ß`` and
  final sigma stay themselves; per code point so that a capital sigma always
  becomes the plain small sigma, as in UTS 46, never the context-dependent
  final form), then NFC. Nothing else is mapped: full-width forms,
  ideographic full stops and the like are refused, not folded.
* The RFC 5892 derivation of each code point: the section 2.6 exceptions,
  unassigned (``Cn``), LDH, CONTEXTJ (ZWNJ, ZWJ), unstable under
  NFKC/case folding, default-ignorable code points, the ignorable blocks and
  old Hangul jamo are handled in the RFC's order; letters, marks and decimal
  digits (``Ll Lo Lm Mn Mc Nd``) are PVALID; everything else is DISALLOWED.
* The contextual rules of RFC 5892 appendix A. ZWNJ and ZWJ are accepted only
  right after a virama (A.1, A.2); the A.1 joining-type alternative needs the
  Unicode Joining_Type property, which :mod:`unicodedata` does not have, so
  such a ZWNJ is refused (too strict, never too lax). The scripts the
  CONTEXTO rules ask about are recognised by character name (Greek, Hebrew)
  or by the code point ranges of Hiragana, Katakana and Han.
* RFC 5891 section 4.2.3: NFC, no leading combining mark, no leading or
  trailing hyphen, no ``--`` in positions 3 and 4.
* The Bidi rule (RFC 5893 section 2, all six conditions) on every U-label of
  a domain that has a right-to-left U-label.
* Lengths: an A-label of at most 63 octets, a name of at most 253.

Known to be stricter than the IANA tables (refused, never let through): a
ZWNJ that only the joining-type rule would allow (common in Persian names),
and the upper-case Cherokee letters U+13A0..U+13F5 (category ``Lu`` since
Unicode 8, which the derivation disallows; the registries keep them PVALID,
and ``str.lower`` maps them to the disallowed lower-case letters anyway).

Labels that are already ASCII are the caller's wire form and pass through
:func:`to_ascii` unchanged (so an ASCII domain is returned byte for byte, as
mimekit always wrote it); :func:`to_unicode` is where ``xn--`` labels are
checked. Empty labels are refused, including the empty label after a
trailing root dot: an e-mail domain has none (RFC 5321 ``Domain``).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Final

__all__ = ["IDNAError", "check_label", "to_ascii", "to_unicode"]


class IDNAError(UnicodeError):
    """A domain has no valid IDNA2008 form.

    A :class:`UnicodeError`, hence a :class:`ValueError`: code that caught
    the errors of the ``"idna"`` codec catches these too.
    """


_PVALID: Final = "PVALID"
_CONTEXTJ: Final = "CONTEXTJ"
_CONTEXTO: Final = "CONTEXTO"
_DISALLOWED: Final = "DISALLOWED"
_UNASSIGNED: Final = "UNASSIGNED"

# RFC 5892 section 2.6, the complete table (section 2.7, BackwardCompatible,
# is empty).
_EXCEPTIONS: Final[dict[int, str]] = {
    0x00DF: _PVALID,  # LATIN SMALL LETTER SHARP S
    0x03C2: _PVALID,  # GREEK SMALL LETTER FINAL SIGMA
    0x06FD: _PVALID,  # ARABIC SIGN SINDHI AMPERSAND
    0x06FE: _PVALID,  # ARABIC SIGN SINDHI POSTPOSITION MEN
    0x0F0B: _PVALID,  # TIBETAN MARK INTERSYLLABIC TSHEG
    0x3007: _PVALID,  # IDEOGRAPHIC NUMBER ZERO
    0x00B7: _CONTEXTO,  # MIDDLE DOT
    0x0375: _CONTEXTO,  # GREEK LOWER NUMERAL SIGN (KERAIA)
    0x05F3: _CONTEXTO,  # HEBREW PUNCTUATION GERESH
    0x05F4: _CONTEXTO,  # HEBREW PUNCTUATION GERSHAYIM
    0x30FB: _CONTEXTO,  # KATAKANA MIDDLE DOT
    **dict.fromkeys(range(0x0660, 0x066A), _CONTEXTO),  # ARABIC-INDIC DIGITS
    **dict.fromkeys(range(0x06F0, 0x06FA), _CONTEXTO),  # EXTENDED ARABIC-INDIC DIGITS
    0x0640: _DISALLOWED,  # ARABIC TATWEEL
    0x07FA: _DISALLOWED,  # NKO LAJANYALAN
    0x302E: _DISALLOWED,  # HANGUL SINGLE DOT TONE MARK
    0x302F: _DISALLOWED,  # HANGUL DOUBLE DOT TONE MARK
    **dict.fromkeys(range(0x3031, 0x3036), _DISALLOWED),  # VERTICAL KANA REPEAT MARKs
    0x303B: _DISALLOWED,  # VERTICAL IDEOGRAPHIC ITERATION MARK
}

_LDH: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_LETTER_DIGITS: Final = frozenset(("Ll", "Lo", "Lm", "Mn", "Mc", "Nd"))

# Ranges (inclusive) DISALLOWED before the LetterDigits test. Only the parts
# that are letters, marks or digits matter (anything else is DISALLOWED
# anyway), but whole ranges are listed as the RFC defines them.
_IGNORED: Final[tuple[tuple[int, int], ...]] = (
    # 2.4 IgnorableProperties: the Default_Ignorable_Code_Point letters and
    # marks (unicodedata has no such property): grapheme joiner, Hangul
    # fillers, Khmer inherent vowels, Mongolian and other variation selectors.
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xE0000, 0xE0FFF),
    # 2.5 IgnorableBlocks.
    (0x20D0, 0x20FF),  # Combining Diacritical Marks for Symbols
    (0x1D100, 0x1D1FF),  # Musical Symbols
    (0x1D200, 0x1D24F),  # Ancient Greek Musical Notation
    # 2.9 OldHangulJamo (Hangul_Syllable_Type L, V, T).
    (0x1100, 0x11FF),
    (0xA960, 0xA97F),
    (0xD7B0, 0xD7FF),
)

# Script ranges for RFC 5892 A.7 (Hiragana, Katakana, Han), wide enough to
# hold every PVALID character of those scripts; KATAKANA MIDDLE DOT (U+30FB)
# and the prolonged sound mark (U+30FC) are Common and left out.
_KANA_HAN: Final[tuple[tuple[int, int], ...]] = (
    (0x3005, 0x3005),
    (0x3007, 0x3007),
    (0x3021, 0x3029),
    (0x3038, 0x303B),
    (0x3041, 0x3098),
    (0x309D, 0x309F),
    (0x30A1, 0x30FA),
    (0x30FD, 0x30FF),
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x1AFF0, 0x1B16F),
    (0x20000, 0x3FFFF),
)

_MAX_LABEL: Final = 63
_MAX_NAME: Final = 253

_RTL: Final = frozenset(("R", "AL", "AN"))
_RTL_ALLOWED: Final = frozenset(("R", "AL", "AN", "EN", "ES", "CS", "ET", "ON", "BN", "NSM"))
_LTR_ALLOWED: Final = frozenset(("L", "EN", "ES", "CS", "ET", "ON", "BN", "NSM"))


def _in(cp: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= cp <= hi for lo, hi in ranges)


def _u(c: str) -> str:
    """``U+00DF (LATIN SMALL LETTER SHARP S)`` for messages."""
    name = unicodedata.name(c, "")
    return f"U+{ord(c):04X} ({name})" if name else f"U+{ord(c):04X}"


@lru_cache(maxsize=4096)
def _status(c: str) -> str:
    """The RFC 5892 section 3 derived property of one code point."""
    cp = ord(c)
    status = _EXCEPTIONS.get(cp)
    if status is not None:
        return status
    category = unicodedata.category(c)
    if category == "Cn":
        return _UNASSIGNED
    if c in _LDH:
        return _PVALID
    if cp in (0x200C, 0x200D):
        return _CONTEXTJ
    nfkc = unicodedata.normalize
    if nfkc("NFKC", nfkc("NFKC", c).casefold()) != c:
        return _DISALLOWED  # 2.3 Unstable
    if _in(cp, _IGNORED):
        return _DISALLOWED
    return _PVALID if category in _LETTER_DIGITS else _DISALLOWED


def _is_greek(c: str) -> bool:
    # The keraia itself is named GREEK but is of the Common script.
    return c != "\u0375" and unicodedata.name(c, "").startswith("GREEK ")


def _is_hebrew(c: str) -> bool:
    return unicodedata.name(c, "").startswith("HEBREW ")


def _context_ok(label: str, i: int) -> bool:
    """RFC 5892 appendix A for ``label[i]`` (CONTEXTJ or CONTEXTO)."""
    cp = ord(label[i])
    before = label[i - 1] if i > 0 else ""
    after = label[i + 1] if i + 1 < len(label) else ""
    if cp in (0x200C, 0x200D):
        # A.1/A.2: after a virama (canonical combining class 9). A.1's
        # joining-type alternative is not implemented (see the module doc).
        return bool(before) and unicodedata.combining(before) == 9
    if cp == 0x00B7:
        return before == "l" and after == "l"  # A.3
    if cp == 0x0375:
        return bool(after) and _is_greek(after)  # A.4
    if cp in (0x05F3, 0x05F4):
        return bool(before) and _is_hebrew(before)  # A.5, A.6
    if cp == 0x30FB:
        return any(_in(ord(c), _KANA_HAN) for c in label)  # A.7
    if 0x0660 <= cp <= 0x0669:
        return not any("\u06f0" <= c <= "\u06f9" for c in label)  # A.8
    if 0x06F0 <= cp <= 0x06F9:
        return not any("\u0660" <= c <= "\u0669" for c in label)  # A.9
    return False


def check_label(label: str) -> None:
    """Check a U-label (already mapped) against RFC 5891 section 4.2.3 and RFC 5892.

    The Bidi rule needs the whole domain; :func:`to_ascii` applies it.

    Raises:
        IDNAError: the label is not a valid U-label; the message names the
            offending code point as ``U+XXXX``.
    """
    if not label:
        raise IDNAError("empty label")
    if unicodedata.normalize("NFC", label) != label:
        raise IDNAError(f"label {label!r} is not in Unicode normalization form C")
    if unicodedata.category(label[0]).startswith("M"):
        raise IDNAError(f"label {label!r} starts with combining mark {_u(label[0])}")
    if label[0] == "-" or label[-1] == "-":
        raise IDNAError(f"label {label!r} starts or ends with '-'")
    if label[2:4] == "--":
        raise IDNAError(f"label {label!r} has '--' in the third and fourth positions")
    for i, c in enumerate(label):
        status = _status(c)
        if status == _PVALID:
            continue
        if status in (_CONTEXTJ, _CONTEXTO):
            if _context_ok(label, i):
                continue
            raise IDNAError(
                f"{_u(c)} is not allowed in this position in label {label!r} "
                f"(RFC 5892 appendix A, {status})"
            )
        raise IDNAError(f"{_u(c)} is not allowed in a domain name (IDNA2008: {status})")


def _bidi_error(label: str) -> str | None:
    """Which condition of the RFC 5893 Bidi rule ``label`` breaks, if any."""
    dirs = [unicodedata.bidirectional(c) for c in label]
    first = dirs[0]
    if first not in ("L", "R", "AL"):
        return "must start with a left-to-right or right-to-left letter (rule 1)"
    while len(dirs) > 1 and dirs[-1] == "NSM":
        dirs.pop()
    last = dirs[-1]
    if first == "L":
        bad = next((c for c, d in zip(label, dirs, strict=False) if d not in _LTR_ALLOWED), None)
        if bad is not None:
            return f"{_u(bad)} in a left-to-right label (rule 5)"
        if last not in ("L", "EN"):
            return "a left-to-right label must end with a letter or digit (rule 6)"
        return None
    bad = next((c for c, d in zip(label, dirs, strict=False) if d not in _RTL_ALLOWED), None)
    if bad is not None:
        return f"{_u(bad)} in a right-to-left label (rule 2)"
    if last not in ("R", "AL", "EN", "AN"):
        return "a right-to-left label must end with a letter or digit (rule 3)"
    if "EN" in dirs and "AN" in dirs:
        return "European and Arabic-Indic digits mixed in a right-to-left label (rule 4)"
    return None


def _is_rtl(label: str) -> bool:
    return any(unicodedata.bidirectional(c) in _RTL for c in label)


def _map(label: str) -> str:
    # Per code point: str.lower() on a whole string gives a word-final
    # sigma, a context mapping IDNA does not make.
    out: list[str] = []
    for c in label:
        low = c.lower()
        if not c.isascii() and any(x.isascii() for x in low):
            # KELVIN SIGN -> "k", U+0130 -> "i" + dot: the label would be
            # written as (partly) another, ASCII, name.
            raise IDNAError(f"U+{ord(c):04X} would be written as {low!r}: refused")
        out.append(low)
    return unicodedata.normalize("NFC", "".join(out))


def _a_label(label: str) -> str:
    return "xn--" + label.encode("punycode").decode("ascii")


def _too_long(label: str, domain: str) -> IDNAError:
    return IDNAError(f"label {label[:20]!r}... of domain {domain[:100]!r} is over 63 octets")


def to_ascii(domain: str) -> str:
    """The domain as IDNA2008 A-labels (``bücher.de`` gives ``xn--bcher-kva.de``).

    Each non-ASCII label is mapped (lower case, NFC), checked and encoded;
    ASCII labels are kept as given, so an ASCII domain comes back unchanged.

    Raises:
        IDNAError: (a ``ValueError``) the domain has no valid IDNA2008 form;
            the message names the offending code point as ``U+XXXX``.
    """
    if domain.isascii():
        return domain
    labels = domain.split(".")
    out: list[str] = []
    u_labels: list[str] = []
    for label in labels:
        if not label:
            raise IDNAError(f"empty label in domain {domain[:100]!r}")
        if not label.isascii():
            label = _map(label)
            if len(label) > _MAX_LABEL - 4 and not label.isascii():
                # Punycode emits at least one octet per code point after
                # "xn--"; checking first also keeps the (quadratic) encoder
                # away from huge parsed labels.
                raise _too_long(label, domain)
            try:
                check_label(label)
            except IDNAError as exc:
                raise IDNAError(f"domain {domain[:100]!r}: {exc}") from None
            u_labels.append(label)
            if not label.isascii():
                label = _a_label(label)
        if len(label) > _MAX_LABEL:
            raise _too_long(label, domain)
        out.append(label)
    if any(_is_rtl(u) for u in u_labels):
        for u in u_labels:
            problem = _bidi_error(u)
            if problem is not None:
                raise IDNAError(f"domain {domain[:100]!r}, label {u!r}: Bidi rule: {problem}")
    result = ".".join(out)
    if len(result) > _MAX_NAME:
        raise IDNAError(f"domain {domain[:100]!r} is over 253 octets as A-labels")
    return result


def _decode_label(label: str) -> str | None:
    """The U-label an ``xn--`` label stands for, or ``None`` if it is not a valid A-label."""
    if len(label) > _MAX_LABEL:
        return None
    a_label = label.lower()  # the ACE prefix and punycode are case-insensitive
    try:
        u_label = a_label[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError, OverflowError):
        return None
    # A valid A-label is exactly the encoding of a valid U-label: this
    # refuses ASCII-only payloads, unmapped (upper case, non-NFC) text and
    # alternative encodings of the same string.
    if not u_label or u_label.isascii() or _map(u_label) != u_label:
        return None
    try:
        check_label(u_label)
    except IDNAError:
        return None
    return u_label if _a_label(u_label) == a_label else None


def to_unicode(domain: str) -> str:
    """The domain for display: valid ``xn--`` labels decoded (RFC 5891 section 5).

    A label that is not the A-label of a valid IDNA2008 U-label (a look-alike
    such as ``xn--paypalcom-bk3h``, which decodes to ``paypal\\u3002com``)
    keeps its ``xn--`` form, as does a label that would break the Bidi rule.
    Other labels are returned as given. Never raises.
    """
    if "xn--" not in domain.lower() or domain.startswith("["):
        return domain
    labels = domain.split(".")
    decoded: dict[int, str] = {}
    for i, label in enumerate(labels):
        if label[:4].lower() == "xn--" and label.isascii():
            u_label = _decode_label(label)
            if u_label is not None:
                decoded[i] = u_label
    if not decoded:
        return domain
    shown = [decoded.get(i, label) for i, label in enumerate(labels)]
    if any(_is_rtl(label) for label in shown if not label.isascii()):
        for i, u_label in decoded.items():
            if _bidi_error(u_label) is not None:
                shown[i] = labels[i]
    return ".".join(shown)
