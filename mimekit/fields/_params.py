"""MIME parameters: RFC 2045 section 5.1 with RFC 2231 (charsets, continuations).

ABNF (RFC 2045 section 5.1)::

    parameter := attribute "=" value
    attribute := token             ; case-insensitive
    value := token / quoted-string
    token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials>
    tspecials :=  "(" / ")" / "<" / ">" / "@" / "," / ";" / ":" / "\\" / <">
                  "/" / "[" / "]" / "?" / "="

RFC 2231 section 7::

    parameter := regular-parameter / extended-parameter
    regular-parameter := regular-parameter-name "=" value
    regular-parameter-name := attribute [section]
    section := initial-section / other-sections
    initial-section := "*0"
    other-sections := "*" ("1" / "2" / "3" / "4" / "5" / "6" / "7" / "8" / "9") *DIGIT
    extended-parameter := (extended-initial-name "=" extended-initial-value) /
                          (extended-other-names "=" extended-other-values)
    extended-initial-name := attribute [initial-section] "*"
    extended-other-names := attribute other-sections "*"
    extended-initial-value := [charset] "'" [language] "'" extended-other-values
    extended-other-values := *(ext-octet / attribute-char)
    ext-octet := "%" 2(DIGIT / "A" / "B" / "C" / "D" / "E" / "F")
    attribute-char := <any (US-ASCII) CHAR except SPACE, CTLs, "*", "'", "%", or tspecials>

Reading, in one linear pass (defects for every irregularity):

* Names are case-insensitive and stored lower-cased; the first of two
  parameters with one name wins (DUPLICATE_PARAMETER). A parameter given
  both plainly and in RFC 2231 form (``filename`` and ``filename*``, as
  compatible mailers send) takes the RFC 2231 value, without a defect;
  except ``boundary`` and ``charset``, ASCII tokens where the two forms have
  no reason to differ: if they do, the plain value wins with
  DUPLICATE_PARAMETER: a reader without RFC 2231 (CPython's compat32, many
  scanners) splits the body at the plain boundary. Readers disagree here
  (CPython's ``policy.default`` takes whichever comes first), so the defect
  is the signal that the message can be read two ways.
* RFC 2231 sections are put in order; a missing section is a gap
  (INVALID_PARAMETER_CONTINUATION) and the rest is joined anyway. The octets
  of *consecutive encoded* sections are joined before charset decoding, so a
  multibyte character split across ``*0*`` and ``*1*`` decodes correctly.
  A ``charset'`` prefix repeated on a later section (a known mailer bug) is
  dropped.
* RFC 2047 encoded words inside ``name`` and ``filename`` values are
  decoded (not standard, but Outlook and Gmail send them); never in other
  parameters (a boundary must stay byte-exact).
* Unquoted values with spaces or tspecials (``name=my file.txt``), a missing
  or repeated ``;``, a name without value, an unclosed quote (runs to the
  end) are all tolerated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Final
from urllib.parse import quote as _pct_quote
from urllib.parse import unquote_to_bytes

from .._defects import Defect, DefectKind
from ..codecs import decode_bytes, decode_encoded_words, encode_words, needs_encoding
from ._encode import MAX_RUN, check_injection, looks_encoded
from ._lexer import quote_string, scan_comment, unquote_pairs

__all__ = [
    "EMPTY_PARAMS",
    "ParameterMap",
    "format_params",
    "is_token",
    "looks_like_param",
    "parse_params",
    "skip_cfws",
]

_INVALID = DefectKind.INVALID_CONTENT_TYPE
_CONT = DefectKind.INVALID_PARAMETER_CONTINUATION

_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")
_WSP = re.compile(r"[ \t\r\n]*")
# A parameter name: anything up to "=", ";", whitespace, "(" or DQUOTE.
_PNAME = re.compile(r'[^=;\s()"]+')
_QUOTED = re.compile(r'"((?:[^"\\]+|\\.)*)(\\?)("?)', re.DOTALL)
_UNQUOTED = re.compile(r"[^;]*")
# "access-type=mail-server  server=...": a value, whitespace, then the next
# parameter with its ";" missing.
_VALUE_THEN_PARAM = re.compile(r'([^\s;()"]+)[ \t\r\n]+(?=[^=;\s()"]+[ \t\r\n]*=)')
_UNQUOTED_TOKEN = re.compile(r'([^\s;()"]+)[ \t\r\n]*(\(.*)?', re.DOTALL)
_SECTIONED = re.compile(r"([^*]+)(?:\*([0-9]{1,9}))?(\*)?")
_BAD_PCT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_INITIAL = re.compile(r"([^']*)'([^']*)'")
_REPEATED = re.compile(r"([^']*)'([A-Za-z0-9\-]*)'")
_EW_PARAMS: Final = frozenset(("name", "filename"))
_PLAIN_WINS: Final = frozenset(("boundary", "charset"))
# attribute-char: token characters other than "*", "'" and "%".
_ATTR_SAFE: Final = "!#$&+-.^_`|~"


def is_token(s: str) -> bool:
    """True when ``s`` is an RFC 2045 ``token``."""
    return _TOKEN.fullmatch(s) is not None


class ParameterMap(Mapping[str, str]):
    """A read-only, case-insensitive, insertion-ordered mapping of parameters.

    Keys are stored lower-cased; values are decoded ``str``. The RFC 2231
    language of a parameter, when one was given, is available through
    :meth:`language`.

    Args:
        items: A mapping or ``(name, value)`` pairs. Names must be RFC 2045
            tokens without ``*`` (RFC 2231 encoding is applied on output).

    Raises:
        ValueError: an invalid name, or a duplicate name.
        HeaderInjectionError: CR, LF or NUL in a value.
    """

    __slots__ = ("_d", "_hash", "_lang")

    _d: dict[str, str]
    _lang: dict[str, str]
    _hash: int | None

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        d: dict[str, str] = {}
        for name, value in pairs:
            if not isinstance(name, str) or not isinstance(value, str):
                raise TypeError("parameter names and values must be str")
            if not is_token(name) or "*" in name or "'" in name or "%" in name:
                raise ValueError(f"invalid parameter name: {name!r}")
            check_injection(value, f"parameter {name}")
            key = name.lower()
            if key in d:
                raise ValueError(f"duplicate parameter: {name!r}")
            d[key] = value
        self._d = d
        self._lang = {}
        self._hash = None

    @classmethod
    def _make(cls, d: dict[str, str], lang: dict[str, str] | None = None) -> ParameterMap:
        pm: ParameterMap = object.__new__(cls)
        pm._d = d
        pm._lang = lang or {}
        pm._hash = None
        return pm

    def __getitem__(self, key: str) -> str:
        return self._d[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._d

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ParameterMap):
            return self._d == other._d
        if isinstance(other, Mapping):
            return self._d == {str(k).lower(): v for k, v in other.items()}
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(tuple(self._d.items()))
        return self._hash

    def __repr__(self) -> str:
        return f"ParameterMap({self._d!r})"

    def language(self, name: str) -> str | None:
        """The RFC 2231 language tag given for parameter ``name``, if any."""
        return self._lang.get(name.lower())


EMPTY_PARAMS: Final = ParameterMap._make({})


def skip_cfws(text: str, pos: int, defects: list[Defect]) -> int:
    """Skip whitespace and comments (RFC 2045 allows comments in MIME fields)."""
    n = len(text)
    while True:
        pos = _WSP.match(text, pos).end()  # type: ignore[union-attr]
        if pos < n and text[pos] == "(":
            end, closed, too_deep = scan_comment(text, pos)
            if not closed or too_deep:
                defects.append(Defect(kind=_INVALID, offset=pos, detail="unterminated comment"))
            pos = end
            continue
        return pos


_PARAM_AHEAD = re.compile(r'[^=;\s()"]+[ \t\r\n]*=')


def looks_like_param(text: str, pos: int) -> bool:
    """True when ``text[pos:]`` starts with ``name=`` (a parameter missing its ``;``)."""
    return _PARAM_AHEAD.match(text, pos) is not None


def _skip_to_semicolon(text: str, pos: int) -> int:
    i = text.find(";", pos)
    return len(text) if i < 0 else i


def _value(text: str, pos: int, defects: list[Defect]) -> tuple[str, int, bool]:
    """Read a parameter value at ``pos``: ``(value, next_pos, quoted)``."""
    if pos < len(text) and text[pos] == '"':
        m = _QUOTED.match(text, pos)
        assert m is not None
        if not m.group(3):
            defects.append(Defect(kind=_INVALID, offset=pos, detail="unterminated quoted string"))
            return unquote_pairs(text[pos + 1 :]), len(text), True
        return unquote_pairs(m.group(1)), m.end(), True
    v = _VALUE_THEN_PARAM.match(text, pos)
    if v is not None:
        return v.group(1), v.end(), False
    m = _UNQUOTED.match(text, pos)
    assert m is not None
    raw = m.group()
    t = _UNQUOTED_TOKEN.fullmatch(raw)
    if t is not None and (t.group(2) is None or _only_comments(t.group(2))):
        value = t.group(1)
    else:
        value = raw.strip(" \t\r\n")
    if value and not is_token(value):
        defects.append(
            Defect(
                kind=_INVALID, offset=pos, detail=f"unquoted value with specials: {value[:40]!r}"
            )
        )
    return value, m.end(), False


def _only_comments(tail: str) -> bool:
    """True when ``tail`` is only closed comments and whitespace."""
    pos = 0
    n = len(tail)
    while pos < n:
        pos = _WSP.match(tail, pos).end()  # type: ignore[union-attr]
        if pos >= n:
            return True
        if tail[pos] != "(":
            return False
        pos, closed, _deep = scan_comment(tail, pos)
        if not closed:
            return False
    return True


def parse_params(text: str, pos: int, defects: list[Defect]) -> ParameterMap:
    """Parse ``*(";" parameter)`` from ``text[pos:]``; see the module doc.

    Args:
        text: The whole field value (defect offsets index into it).
        pos: Where the parameter list starts (normally at a ``;``).
        defects: Where defects are appended.

    Returns:
        The parameters. Never raises.
    """
    n = len(text)
    plain: dict[str, str] = {}
    extended: dict[str, list[tuple[int, bool, str, int]]] = {}
    order: dict[str, None] = {}
    expect_semicolon = True
    while True:
        pos = skip_cfws(text, pos, defects)
        if pos >= n:
            break
        c = text[pos]
        if c == ";":
            if not expect_semicolon:
                defects.append(Defect(kind=_INVALID, offset=pos, detail="empty parameter"))
            pos += 1
            expect_semicolon = False
            continue
        if expect_semicolon:
            defects.append(Defect(kind=_INVALID, offset=pos, detail="missing ';' before parameter"))
        expect_semicolon = True
        start = pos
        m = _PNAME.match(text, pos)
        if m is None:
            defects.append(Defect(kind=_INVALID, offset=pos, detail="parameter without a name"))
            pos = _skip_to_semicolon(text, pos + 1)
            continue
        name = m.group().lower()
        pos = skip_cfws(text, m.end(), defects)
        if pos >= n or text[pos] != "=":
            defects.append(
                Defect(
                    kind=_INVALID, offset=start, detail=f"parameter {name[:40]!r} without a value"
                )
            )
            pos = _skip_to_semicolon(text, pos)
            continue
        pos = skip_cfws(text, pos + 1, defects)
        value, pos, quoted = _value(text, pos, defects)
        if quoted:
            after = skip_cfws(text, pos, defects)
            if after < n and text[after] != ";":
                defects.append(
                    Defect(kind=_INVALID, offset=after, detail="text after a quoted value")
                )
                after = _skip_to_semicolon(text, after)
            pos = after
        elif not value:
            defects.append(
                Defect(
                    kind=_INVALID,
                    offset=start,
                    detail=f"parameter {name[:40]!r} with an empty value",
                )
            )
            continue
        if "*" not in name:
            if name in plain:
                defects.append(
                    Defect(
                        kind=DefectKind.DUPLICATE_PARAMETER,
                        offset=start,
                        detail=f"duplicate parameter {name[:40]!r}",
                    )
                )
                continue
            plain[name] = value
            order.setdefault(name, None)
            continue
        s = _SECTIONED.fullmatch(name)
        if s is None:
            defects.append(
                Defect(kind=_CONT, offset=start, detail=f"malformed RFC 2231 name {name[:40]!r}")
            )
            continue
        base = s.group(1)
        section = -1 if s.group(2) is None else int(s.group(2))
        extended.setdefault(base, []).append((section, s.group(3) is not None, value, start))
        order.setdefault(base, None)

    result: dict[str, str] = {}
    langs: dict[str, str] = {}
    for name in order:
        sections = extended.get(name)
        if sections is not None:
            value, lang = _assemble(name, sections, defects)
            if name in _PLAIN_WINS and name in plain and plain[name] != value:
                # Two boundaries would split the body two ways; readers
                # that know no RFC 2231 (CPython's compat32) take the plain one.
                defects.append(Defect(
                    kind=DefectKind.DUPLICATE_PARAMETER, offset=sections[0][3],
                    detail=f"{name} and {name}* disagree; {name} is used"))
                value, lang = plain[name], ""
            result[name] = value
            if lang:
                langs[name] = lang
        else:
            value = plain[name]
            if name in _EW_PARAMS and "=?" in value:
                value, found = decode_encoded_words(value)
                defects.extend(found)
            result[name] = value
    return ParameterMap._make(result, langs) if result else EMPTY_PARAMS


def _assemble(
    name: str, sections: list[tuple[int, bool, str, int]], defects: list[Defect]
) -> tuple[str, str]:
    """Join RFC 2231 sections of one parameter: ``(value, language)``."""
    first_offset = sections[0][3]
    seen: dict[int, tuple[bool, str]] = {}
    for section, ext, value, offset in sections:
        if section in seen:
            defects.append(
                Defect(
                    kind=DefectKind.DUPLICATE_PARAMETER,
                    offset=offset,
                    detail=f"duplicate RFC 2231 section {name}*{section if section >= 0 else ''}",
                )
            )
            continue
        seen[section] = (ext, value)
    if -1 in seen and len(seen) > 1:
        defects.append(
            Defect(kind=_CONT, offset=first_offset, detail=f"{name}* mixed with {name}*N sections")
        )
        del seen[-1]
    numbers = sorted(seen)
    if numbers[0] > 0:
        defects.append(Defect(kind=_CONT, offset=first_offset, detail=f"{name}: section 0 missing"))
    elif numbers[-1] >= len(numbers):
        defects.append(
            Defect(kind=_CONT, offset=first_offset, detail=f"{name}: gap between sections")
        )
    charset: str | None = None
    lang = ""
    pieces: list[str] = []
    octets: list[bytes] = []

    def flush() -> None:
        if octets:
            text, _used, found = decode_bytes(b"".join(octets), charset or None)
            for d in found:
                defects.append(Defect(kind=d.kind, offset=first_offset, detail=d.detail))
            pieces.append(text)
            octets.clear()

    for k, number in enumerate(numbers):
        ext, value = seen[number]
        if not ext:
            flush()
            pieces.append(value)
            continue
        if k == 0 and number <= 0:
            m = _INITIAL.match(value)
            if m is None:
                defects.append(
                    Defect(
                        kind=_CONT,
                        offset=first_offset,
                        detail=f"{name}: no charset'language' prefix",
                    )
                )
            else:
                charset, lang = m.group(1), m.group(2)
                value = value[m.end() :]
                # An unknown charset is reported by decode_bytes in flush(),
                # with the charset it used instead.
        elif charset and value[: len(charset) + 1].lower() == charset.lower() + "'":
            # Some mailers repeat "charset'" (and "lang'") on every section.
            defects.append(
                Defect(
                    kind=_CONT,
                    offset=first_offset,
                    detail=f"{name}: charset repeated in a later section",
                )
            )
            r = _REPEATED.match(value)
            if r is not None and r.group(1).lower() == charset.lower():
                value = value[r.end() :]
            else:
                value = value[len(charset) + 1 :]
        if _BAD_PCT.search(value):
            defects.append(
                Defect(
                    kind=_CONT,
                    offset=first_offset,
                    detail=f"{name}: '%' not followed by two hex digits",
                )
            )
        # surrogatepass: a str from a caller may hold lone surrogates, and a
        # field parser must not raise on any input.
        octets.append(unquote_to_bytes(value.encode("utf-8", "surrogatepass")))
    flush()
    return "".join(pieces), lang


# --- writing -----------------------------------------------------------------

_SECTION_CHARS: Final = 60  # encoded characters per RFC 2231 section


def _ext_encode(value: str) -> str:
    return _pct_quote(value.encode("utf-8"), safe=_ATTR_SAFE)


def _format_one(name: str, value: str, utf8: bool) -> list[str]:
    if len(name) + 12 > MAX_RUN:
        # Not even "name*NN*=" fits in a foldable run (an empty value was
        # silently dropped here before).
        raise ValueError(f"parameter name too long to write: {name[:40]!r}...")
    ew_risk = name in _EW_PARAMS and looks_encoded(value)
    if name == "name" and needs_encoding(value) and not (
            utf8 and value.isprintable() and not ew_risk):
        # RFC 2046 deprecates ``name`` for Content-Disposition's
        # ``filename``, but Outlook still reads it, and reads RFC 2047 words
        # there rather than RFC 2231 (MimeKit and Thunderbird write the same).
        # Words are phrase-safe (letters, digits, "!*+-/=_"), so quoting
        # keeps them; 67 characters each, so that even with ' name="' before
        # and '";' after, every folded line stays within 78.
        return [f'{name}="{" ".join(encode_words(value, max_line=68))}"']
    # Readers decode RFC 2047 words in filename too (see the module doc): a
    # literal "=?...?=" there goes in RFC 2231 form, which they do not.
    literal = not ew_risk
    if literal and is_token(value) and len(value) <= MAX_RUN:
        return [f"{name}={value}"]
    printable = literal and all(" " <= c <= "~" for c in value)
    if printable or (literal and utf8 and value.isprintable()):
        quoted = quote_string(value)
        # MAX_RUN counts octets (a line may hold 998): UTF-8 text takes more.
        widest = max(len(p.encode("utf-8") if utf8 else p) for p in quoted.split(" "))
        if widest + len(name) + 1 <= MAX_RUN:
            return [f"{name}={quoted}"]
        if printable:
            # RFC 2231 section 3 continuations of a plain value.
            chunks = [value[i : i + _SECTION_CHARS] for i in range(0, len(value), _SECTION_CHARS)]
            return [f"{name}*{k}={quote_string(c)}" for k, c in enumerate(chunks)]
    # RFC 2231 section 4: charset and percent-encoding, split at character
    # boundaries into sections (each section decodes on its own, although
    # readers join the octets first).
    encoded = _ext_encode(value)
    if len(encoded) + len(name) + 9 <= 76:
        return [f"{name}*=utf-8''{encoded}"]
    sections: list[str] = []
    current: list[str] = []
    size = 0
    for ch in value:
        enc = _ext_encode(ch)
        if size + len(enc) > _SECTION_CHARS and current:
            sections.append("".join(current))
            current, size = [], 0
        current.append(enc)
        size += len(enc)
    sections.append("".join(current))
    out = [f"{name}*0*=utf-8''{sections[0]}"]
    out.extend(f"{name}*{k}*={s}" for k, s in enumerate(sections[1:], 1))
    return out


def format_params(params: Mapping[str, str], *, utf8: bool = False) -> str:
    """Write parameters as ``; name=value`` pairs (empty string for none).

    Values are written as tokens when they are, else as quoted strings
    (ASCII, or UTF-8 with ``utf8``: RFC 6532), else in RFC 2231 form
    (``name*=utf-8''...``, with ``name*0*``/``name*1*`` continuations for long
    values). One exception: a ``name`` parameter that is not plain ASCII is
    written as RFC 2047 encoded words in a quoted string, the form Outlook
    reads (with ``utf8``, as raw UTF-8 unless it looks like an encoded
    word). A ``filename`` holding something that looks like an encoded word
    is written in RFC 2231 form, so that it reads back as written.

    Raises:
        HeaderInjectionError: CR, LF or NUL in a value.
        ValueError: a lone surrogate in a value.
    """
    out: list[str] = []
    for name, value in params.items():
        check_injection(value, f"parameter {name}")
        try:
            out.extend(_format_one(name, value, utf8))
        except UnicodeEncodeError:
            raise ValueError(f"parameter {name} contains a lone surrogate") from None
    return "".join("; " + p for p in out)
