"""Writing a structured field from a ``str`` so that it reads back as that str.

:func:`~mimekit.fields.format_field` gets either a typed value (written in
canonical form) or a ``str``. A ``str`` is the text the caller wants in the
field: once it has been checked to be a valid value, it is written so that
the reader's unstructured view of the field (``Header.text``: unfold, trim,
RFC 2047-decode) gives exactly that str back. This module finds such a wire
form, or says there is none:

* the str itself, when it reads back as itself: printable ASCII (any
  non-control character with ``utf8``), no surrounding whitespace (the
  reader trims it), no ``=?...?=`` that a reader would decode, no run of
  non-space characters too long to fold;
* else, for address fields and Keywords, the str with the words that need
  it replaced by RFC 2047 encoded words, where RFC 2047 section 5 allows
  them (a ``phrase`` word or a ``comment`` word, never inside a quoted
  string or an addr-spec), provided the result parses to the same value;
* else nothing: the caller writes the value the str means in canonical form
  (same mailboxes, date or parameters; other quoting or spacing).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from .._defects import Defect, DefectKind
from ..codecs import decode_encoded_words
from ._addrtypes import AddressList, Group, Mailbox
from ._encode import MAX_RUN, phrase_words, run_too_long, unsafe_pattern

__all__ = ["exact_text"]

# Inside a comment or outside quotes: a run of characters that is neither
# whitespace nor an RFC 5322 special, the unit an encoded word replaces.
_RUN = re.compile(r'[^\s()<>\[\]:;@\\,."]+')
# A quoted string; an unclosed one runs to the end (so every attempt
# consumes what it scans: linear even with many quotes).
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_HARD: Final = frozenset(
    {
        DefectKind.INVALID_ADDRESS,
        DefectKind.INVALID_ENCODED_WORD,
        DefectKind.INVALID_HEADER_VALUE,
        DefectKind.INVALID_DATE,
        DefectKind.INVALID_MESSAGE_ID,
        DefectKind.INVALID_CONTENT_TYPE,
        DefectKind.UNKNOWN_CHARSET,
        DefectKind.CHARSET_DECODE_ERROR,
    }
)


def reads_back(text: str) -> bool:
    """Whether a field value written as ``text`` reads back as ``text``."""
    if text != text.strip(" \t"):
        return False
    return "=?" not in text or decode_encoded_words(text)[0] == text


def exact_text(
    name: str,
    value: str,
    parsed: object,
    parse: Callable[[str], tuple[Any, list[Defect]]],
    *,
    utf8: bool,
    encodable: bool,
) -> str:
    """The wire form of ``value`` for field ``name`` that reads back exactly.

    Args:
        name: The field name (for messages).
        value: The caller's text, already checked for injection and validity.
        parsed: ``parse(value)[0]``.
        parse: The field's parser, to check an encoded form.
        utf8: Whether raw UTF-8 may be written (RFC 6532).
        encodable: Whether the syntax has phrases or comments where RFC 2047
            words may stand (address fields, Keywords).

    Raises:
        ValueError: no such form; the message says why and what to do.
    """
    if value != value.strip(" \t"):
        raise ValueError(
            f"{name}: leading or trailing whitespace cannot be kept in a structured "
            f"field: {value!r}"
        )
    unsafe = unsafe_pattern(utf8)
    clean = unsafe.search(value) is None and not run_too_long_any(value, utf8)
    if clean and reads_back(value):
        return value
    if encodable:
        encoded = _encode_in_place(value, utf8)
        if encoded is not None and _same_value(parsed, encoded, parse):
            return encoded
    hint = "" if utf8 or value.isascii() else ", or utf8=True (SMTPUTF8)"
    raise ValueError(
        f"{name}: {value!r} cannot be written so that it reads back exactly (RFC 2047 "
        "encoded words may not stand inside a quoted string, an address or a "
        "parameter); pass the typed value (for example parse_field(name, value)[0]) "
        f"to have it re-encoded{hint}"
    )


def run_too_long_any(value: str, utf8: bool) -> bool:
    """Whether some run of non-space characters is too long to fold."""
    if len(value) <= MAX_RUN // 4:
        return False
    return any(run_too_long(w, utf8) for w in value.split(" "))


def _encode_in_place(value: str, utf8: bool) -> str | None:
    """``value`` with the runs that need it RFC 2047-encoded, or None.

    Runs that need encoding and are separated only by whitespace are encoded
    together with that whitespace: a reader drops the whitespace between two
    adjacent encoded words (RFC 2047 section 6.2).
    """
    unsafe = unsafe_pattern(utf8)
    for q in _QUOTED.finditer(value):
        body = q.group()
        if unsafe.search(body) is not None or "=?" in body:
            return None  # an encoded word may not stand inside quotes
    quoted = [(q.start(), q.end()) for q in _QUOTED.finditer(value)]
    spans: list[tuple[int, int]] = []
    qi = 0
    for m in _RUN.finditer(value):
        while qi < len(quoted) and quoted[qi][1] <= m.start():
            qi += 1
        if qi < len(quoted) and quoted[qi][0] <= m.start() < quoted[qi][1]:
            continue
        word = m.group()
        if unsafe.search(word) is not None or "=?" in word or run_too_long(word, utf8):
            if spans and not value[spans[-1][1] : m.start()].strip(" \t"):
                spans[-1] = (spans[-1][0], m.end())
            else:
                spans.append((m.start(), m.end()))
    if not spans:
        return None
    out: list[str] = []
    last = 0
    for start, end in spans:
        out.append(value[last:start])
        out.append(phrase_words(value[start:end]))
        last = end
    out.append(value[last:])
    result = "".join(out)
    if unsafe.search(result) is not None or run_too_long_any(result, utf8):
        return None
    return result if reads_back_as(result, value) else None


def reads_back_as(text: str, value: str) -> bool:
    """Whether a field written as ``text`` reads back as ``value``."""
    return text == text.strip(" \t") and decode_encoded_words(text)[0] == value


def _norm(item: object) -> object:
    if isinstance(item, Mailbox):
        return ("m", " ".join(item.name.split()), item.addr_spec, item.route)
    if isinstance(item, Group):
        return ("g", " ".join(item.name.split()), tuple(_norm(m) for m in item.mailboxes))
    if isinstance(item, str):
        return " ".join(item.split())
    return item


def _same_value(
    parsed: object, encoded: str, parse: Callable[[str], tuple[Any, list[Defect]]]
) -> bool:
    """Whether ``encoded`` parses, without new errors, to the same value."""
    again, defects = parse(encoded)
    if any(d.kind in _HARD for d in defects):
        return False
    if isinstance(parsed, (AddressList, list)) and isinstance(again, (AddressList, list)):
        return [_norm(x) for x in parsed] == [_norm(x) for x in again]
    return bool(parsed == again)
