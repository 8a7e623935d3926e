"""Writing text into header values: phrases, unstructured text, injection checks.

These helpers produce the *value* part of a header on one line. The tree
folds long lines by inserting CRLF before a space, and unfolding removes the
CRLF again, so two promises hold for every string returned here:

* every space is a legal folding point (it separates words, encoded words,
  or sits inside a quoted string, where RFC 5322 allows FWS), and
* no run of non-space characters is longer than :data:`MAX_RUN` characters
  (RFC 5322 section 2.1.1 limits a line to 998 octets).

RFC 2047 section 5 decides where encoded words may go. In a ``phrase`` (a
display name) an encoded word replaces a whole ``word`` and its encoded text
is limited to letters, digits and ``!*+-/=_``; in unstructured text it is a
whitespace-delimited token. Encoded words are never written inside an
addr-spec, a quoted string or a parameter value.
"""

from __future__ import annotations

import base64
import re
from typing import Final

from .._errors import HeaderInjectionError
from ..codecs import encode_words
from ._lexer import quote_string

__all__ = [
    "MAX_RUN",
    "check_injection",
    "format_phrase",
    "format_unstructured",
    "longest_run",
    "looks_encoded",
    "phrase_words",
    "run_too_long",
    "unsafe_pattern",
]

#: Longest run of non-space characters (octets in UTF-8 mode) a formatted
#: value may contain; the tree folds at spaces and a line may hold 998 octets.
MAX_RUN: Final = 900

_INJECTION = re.compile(r"[\r\n\x00]")
# RFC 5322 atext (RFC 6532 adds non-ASCII in UTF-8 mode), words single-spaced.
_PLAIN_PHRASE_ASCII = re.compile(
    r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?: [A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*"
)
_PLAIN_PHRASE_UTF8 = re.compile(
    r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\xa0-\U0010ffff]+"
    r"(?: [A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\xa0-\U0010ffff]+)*"
)
# Characters never written raw: C0 controls (tab excepted), DEL, C1 controls,
# and the Unicode line/paragraph separators some readers treat as newlines.
_UNSAFE_UTF8 = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_UNSAFE_ASCII = re.compile(r"[^\x09\x20-\x7e]")
# RFC 2047 section 5 (3): an encoded word inside a phrase.
_PHRASE_EW = re.compile(r"=\?[A-Za-z0-9!#$%&'*+\-^_`{|}~]+\?[BbQq]\?[A-Za-z0-9!*+\-/=_]*\?=")
_SPLIT_WS = re.compile(r"([ \t]+)")
#: Whitespace runs longer than this are encoded with their neighbours.
_LONG_GAP: Final = 60


def looks_encoded(text: str) -> bool:
    """Whether a reader would take part of ``text`` for an RFC 2047 encoded
    word (``=?`` with a later ``?=``), so that a literal must be encoded."""
    opened = text.find("=?")
    return opened != -1 and text.find("?=", opened + 2) != -1


def check_injection(value: str, what: str = "header value") -> None:
    """Refuse CR, LF and NUL in text given through the API.

    Raises:
        HeaderInjectionError: ``value`` contains one of them.
    """
    m = _INJECTION.search(value)
    if m is not None:
        raise HeaderInjectionError(
            f"{what} contains {m.group()!r} at index {m.start()}: refused "
            "(a line break could inject header fields)"
        )


def _check_encodable(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"text contains a lone surrogate at index {exc.start}") from None


def longest_run(value: str, *, utf8: bool = False) -> int:
    """Length of the longest run of non-space characters in ``value``: in
    UTF-8 octets with ``utf8`` (the 998 limit counts octets)."""
    if len(value) * (4 if utf8 else 1) <= MAX_RUN:
        return len(value)  # cheap upper bound, good enough below the limit
    if utf8:
        return max(len(part.encode("utf-8", "surrogatepass")) for part in value.split(" "))
    return max(len(part) for part in value.split(" "))


def unsafe_pattern(utf8: bool) -> re.Pattern[str]:
    """The characters never written raw (in UTF-8 mode, or in 7-bit mode)."""
    return _UNSAFE_UTF8 if utf8 else _UNSAFE_ASCII


def run_too_long(word: str, utf8: bool) -> bool:
    """Whether ``word`` (no spaces) is too long to fit on a folded line."""
    return _run_too_long(word, utf8)


def _run_too_long(word: str, utf8: bool) -> bool:
    if len(word) > MAX_RUN:
        return True
    # In UTF-8 mode the limit is in octets: a run of 300 CJK characters is
    # 900 octets.
    return utf8 and len(word) * 4 > MAX_RUN and len(word.encode("utf-8")) > MAX_RUN


def _b_words(text: str) -> list[str]:
    """Encode ``text`` as RFC 2047 ``B`` words of at most 75 characters.

    Used when the codecs encoder gives words unfit for a phrase. Chunks end
    on character boundaries (RFC 2047 section 5: each encoded word must
    decode on its own).
    """
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    for ch in text:
        n = len(ch.encode("utf-8"))
        if size + n > 45:  # 45 octets -> 60 base64 chars + 12 = 72
            words.append("=?utf-8?b?" + base64.b64encode("".join(chunk).encode()).decode() + "?=")
            chunk, size = [], 0
        chunk.append(ch)
        size += n
    if chunk or not words:
        words.append("=?utf-8?b?" + base64.b64encode("".join(chunk).encode()).decode() + "?=")
    return words


def phrase_words(text: str) -> str:
    """``text`` as space-separated encoded words valid in a phrase or comment."""
    return _phrase_words(text)


def _phrase_words(text: str) -> str:
    words = encode_words(text)
    if not words or not all(_PHRASE_EW.fullmatch(w) for w in words):
        words = _b_words(text)
    return " ".join(words)


def format_phrase(name: str, *, utf8: bool = False) -> str:
    """Write a display name as an RFC 5322 ``phrase``.

    ABNF (RFC 5322 section 3.2.5, RFC 2047 section 5)::

        phrase          =   1*word / obs-phrase
        word            =   atom / quoted-string        ; or an encoded-word

    The plainest form that reads back as ``name`` is chosen: atoms when the
    name is atext words separated by single spaces, else a quoted string,
    else (non-ASCII without ``utf8``, control characters, an ``=?`` that a
    reader would decode, or a run too long to fold) RFC 2047 encoded words.

    CR, LF and NUL are encoded too: inside an encoded word they cannot break
    the line, and the value reads back exactly (the typed round trip the
    fuzz ``edit`` target checks). The constructors refuse them in names given
    through the API (:class:`Mailbox`, :class:`Group`); a name *parsed* from
    an encoded word may hold them (the parser flags it with an
    INVALID_ADDRESS defect), and printing or replying to such a message must
    work.

    Raises:
        ValueError: a lone surrogate in ``name``.
    """
    if not name:
        return '""'
    plain = _PLAIN_PHRASE_UTF8 if utf8 else _PLAIN_PHRASE_ASCII
    unsafe = _UNSAFE_UTF8 if utf8 else _UNSAFE_ASCII
    if unsafe.search(name) is not None or looks_encoded(name):
        _check_encodable(name)
        return _phrase_words(name)
    if plain.fullmatch(name) is not None:
        if not any(_run_too_long(w, utf8) for w in name.split(" ")):
            return name
        return _phrase_words(name)
    quoted = quote_string(name)
    if any(_run_too_long(w, utf8) for w in quoted.split(" ")):
        return _phrase_words(name)
    return quoted


def format_unstructured(text: str, *, utf8: bool = False, after: int = 0) -> str:
    """Write ``text`` as an RFC 5322 ``unstructured`` value that reads back exactly.

    ABNF (RFC 5322 section 3.2.5, RFC 2047 section 5 (1))::

        unstructured    =   (*([FWS] VCHAR) *WSP) / obs-unstruct

    Reading back (:func:`parse_unstructured`) trims the whitespace around the
    value and decodes encoded words, dropping the whitespace between two
    adjacent ones. So:

    * words are written raw where they can be: printable ASCII (any non-control
      character with ``utf8``), no ``=?``, not too long to fold;
    * every other word becomes encoded words, merged with its neighbours that
      also need encoding *and the whitespace between them*, so that no
      whitespace is lost between adjacent encoded words;
    * leading and trailing whitespace goes inside the first/last encoded word.

    The round trip is exact for any text free of CR, LF and NUL, as long as
    the value needs no more encoded words than the reader's limit
    (``max_words`` of :func:`mimekit.codecs.decode_encoded_words`, 1000).

    ``after`` is what precedes the value on its first line (``len("Subject:
    ")``): an encoded word that starts the value is made short enough to
    keep that line within 78 characters.

    Raises:
        HeaderInjectionError: CR, LF or NUL in ``text``.
        ValueError: a lone surrogate in ``text``.
    """
    check_injection(text)
    if not text:
        return ""
    unsafe = _UNSAFE_UTF8 if utf8 else _UNSAFE_ASCII
    parts = _SPLIT_WS.split(text)
    # parts = [word, ws, word, ws, ..., word]; the first and last word are
    # empty when the text starts or ends with whitespace.
    words = parts[0::2]
    count = len(words)
    need = [
        bool(w) and (unsafe.search(w) is not None or looks_encoded(w) or _run_too_long(w, utf8))
        for w in words
    ]
    for k, gap in enumerate(parts[1::2]):
        if len(gap) > _LONG_GAP:
            # The tree folds only before a run of spaces, never inside it: a
            # long one goes into encoded words (Q writes a space as "_").
            need[k] = need[k + 1] = True
    if not words[0]:
        # Leading whitespace would be trimmed by the reader: encode it with
        # the first word (or alone when the text is all whitespace).
        need[0] = True
        if count > 1:
            need[1] = True
    if not words[-1]:
        need[-1] = True
        if count > 1:
            need[-2] = True
    if not any(need) and longest_run(text, utf8=utf8) <= MAX_RUN:
        return text
    _check_encodable(text)
    out: list[str] = []
    k = 0
    while k < count:
        if not need[k]:
            out.append(words[k])
            if k + 1 < count:
                out.append(parts[2 * k + 1])
            k += 1
            continue
        # Merge the run of words needing encoding with their separators.
        end = k
        while end + 1 < count and need[end + 1]:
            end += 1
        chunk = "".join(parts[2 * k : 2 * end + 1])
        if chunk:
            budget = 77 - after if after and not out else None  # 78 with the fold's space
            out.append(" ".join(encode_words(chunk, first_line_budget=budget)))
        if end + 1 < count:
            out.append(parts[2 * end + 1])
        k = end + 1
    result = "".join(out)
    if longest_run(result, utf8=utf8) > MAX_RUN:
        # Raw words joined by tabs only (not a folding point) can still make
        # a long run: encoding everything always folds.
        result = " ".join(encode_words(text, first_line_budget=77 - after if after else None))
    return result
