"""RFC 2047 encoded words: decoding with real-world leniency, and encoding.

RFC 2047 section 2::

    encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
    charset      = token    ; see section 3
    encoding     = token    ; see section 4
    token        = 1*<Any CHAR except SPACE, CTLs, and especials>
    especials    = "(" / ")" / "<" / ">" / "@" / "," / ";" / ":" / "
                   <"> / "/" / "[" / "]" / "?" / "." / "="
    encoded-text = 1*<Any printable ASCII character other than "?"
                      or SPACE>

RFC 2231 section 5 adds an optional language: ``charset ["*" language]``.

The decoder is deliberately more lenient than that grammar, as MimeKit, Thunderbird
and stalwart mail-parser are, because real mail breaks every rule:

* An encoded word need not be separated from surrounding text by whitespace
  (``foo=?utf-8?q?bar?=`` decodes to ``foobar``; nothing is inserted between the
  text and the word, like CPython's ``email.policy.default`` and unlike
  stalwart mail-parser, which inserts a space).
* The encoded text runs to the first ``?=`` and may contain spaces and ``?``
  (for example ``=?iso-8859-1?q?this is some text?=``; the spaces are kept,
  as stalwart, MimeKit and CPython do). Some mailers put raw spaces in Q
  text, and the risk of a false positive is small: a word needs a valid
  ``=?charset?Q?`` prefix and a later ``?=``, and the next rule stops a broken
  word from swallowing a valid one. A ``?`` is kept unless it is followed by
  ``=`` (that ends the word, so ``?=`` itself cannot be encoded text). A line
  break inside an encoded word (a folder that split a long word) is removed
  together with the whitespace after it, whereas other whitespace is text.
* Invalid words (non-ASCII or bad base64 text) stay as they are (with a
  defect), and then count as plain text: the whitespace around them is kept.
  A word whose charset is unknown is still decoded, best effort (UTF-8 when
  the bytes are valid UTF-8, else the guess of
  :func:`~mimekit.codecs.decode_bytes`: chardet on enough 8-bit data, else
  windows-1252), with an ``UNKNOWN_CHARSET`` defect naming the label and
  the guess: its text is almost always readable, and keeping
  ``=?x-mac-thai?q?...?=`` literally helps no reader.
* The charset token may contain especials such as ``.`` (``ANSI_X3.4-1968``);
  only ``?``, ``=`` and whitespace end it, and it is at most 75 characters.
* A word whose encoded text contains the start of another valid encoded word
  (``=?utf-8?q?broken =?utf-8?q?ok?=``) is not a word: the inner one is.
* B (base64) text may lack padding, and a base64 quantum may be split across
  two adjacent words; see :func:`_flush_run` for how both are told apart.
"""

from __future__ import annotations

import binascii
import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .._defects import Defect, DefectKind
from ._charset import decode_with_charset, is_placeholder_charset, lookup_charset

__all__ = ["decode_encoded_words", "encode_words", "needs_encoding"]

# "=?" charset ["*" language] "?" encoding "?"  -- the part before the encoded
# text. Bounded repetition and no nesting: each match attempt costs O(80).
_PREFIX: Final = re.compile(r"=\?([^?=\s]{1,75})\?([BbQq])\?")

# A fold inside an encoded word: optional CR, LF, and the whitespace that the
# folder inserted (RFC 5322 section 2.2.3); or a stray CR.
_FOLD: Final = re.compile(r"\r?\n[ \t]*|\r")

# An "=" in Q text that does not start a valid "=XX" escape.
_Q_BAD_ESCAPE: Final = re.compile(rb"=(?![0-9A-Fa-f]{2})")

_LWSP: Final = " \t\r\n"
_B64_ALPHABET: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_VALUE: Final = {c: i for i, c in enumerate(_B64_ALPHABET.decode())}
_UNDERSCORE_TO_SPACE: Final = bytes.maketrans(b"_", b" ")


@dataclass(slots=True)
class _Word:
    """One encoded word found in the text (already transfer-decoded)."""

    start: int
    end: int
    # Run key: the codec name; "" for a label that means "unknown"; "?" and
    # the lower-cased label for an unrecognised one.
    key: str
    codec: str | None
    # Q words: decoded bytes. B words: (base64 text without padding, padded?).
    payload: bytes | tuple[str, bool]


def decode_encoded_words(text: str, *, max_words: int = 1000) -> tuple[str, list[Defect]]:
    """Decode RFC 2047 encoded words in unstructured text.

    For ``*text`` (RFC 5322 ``unstructured``: Subject, Comments, ...) and for the
    text of a ``phrase`` such as a display name, which the address parser passes
    here after removing quotes.

    Rules (RFC 2047 sections 5 and 6, plus the leniency in the module
    docstring):

    * ``=?charset?Q?...?=`` and ``=?charset?B?...?=``, encoding letter in any
      case, RFC 2231 ``*language`` suffix ignored.
    * Linear whitespace between two adjacent encoded words is dropped
      (section 6.2); whitespace between a word and plain text is kept.
    * Adjacent words in the same charset are concatenated as bytes before the
      charset decoding, so a multi-byte character split across two words
      decodes correctly.
    * A word with non-ASCII or invalid base64 text is kept literally with an
      ``INVALID_ENCODED_WORD`` defect.
    * A word with an unrecognised charset label is decoded best effort:
      UTF-8 if the bytes are valid UTF-8, else the charset guess of
      :func:`~mimekit.codecs.decode_bytes` (chardet when there are at least
      16 8-bit bytes, else windows-1252), with an ``UNKNOWN_CHARSET`` defect
      that names the label and the codec used. Adjacent words with the same
      unknown label are joined first, like any same-charset run. A label that
      means "unknown" on purpose (``unknown-8bit``, ``x-unknown``) is guessed
      the same way. Bytes that a known charset cannot decode are guessed
      too, with a ``CHARSET_DECODE_ERROR`` defect.
    * After ``max_words`` words the rest of the text is left undecoded with a
      ``TOO_MANY_ENCODED_WORDS`` defect.

    Line breaks: the text may be given folded or unfolded. A fold *inside* an
    encoded word is removed with the whitespace after it; folds between two
    encoded words are dropped with the rest of that whitespace; every other
    line break is returned untouched so that the caller unfolds as it likes.
    Decoded text is returned as the sender encoded it: it may contain any
    character, including CR and LF.

    Runs in time linear in ``len(text)``: every ``=?`` and ``?=`` is searched
    for once, using cached forward searches.

    Args:
        text: The header text.
        max_words: How many encoded words to decode at most.

    Returns:
        ``(decoded_text, defects)``; defect offsets are character indexes into
        ``text``.

    Raises:
        TypeError: ``text`` is not a ``str``.
        ValueError: ``max_words`` is negative.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    if max_words < 0:
        raise ValueError("max_words must be >= 0")
    if "=?" not in text:
        return text, []
    defects: list[Defect] = []
    words = _scan(text, max_words, defects)
    if not words:
        return text, defects
    out: list[str] = []
    run: list[_Word] = []
    last = 0  # end of the text consumed so far
    for word in words:
        gap = text[last : word.start]
        # Only whitespace (or nothing) since the previous decoded word: the
        # gap is dropped (RFC 2047 section 6.2).
        adjacent = bool(run) and not gap.strip(_LWSP)
        if adjacent and word.key == run[0].key:
            run.append(word)
        else:
            if run:
                out.append(_flush_run(run, defects))
            if not adjacent:
                out.append(gap)
            run = [word]
        last = word.end
    out.append(_flush_run(run, defects))
    out.append(text[last:])
    defects.sort(key=lambda defect: defect.offset)
    return "".join(out), defects


def _scan(text: str, max_words: int, defects: list[Defect]) -> list[_Word]:
    """Find the encoded words of ``text``; invalid ones stay plain text."""
    words: list[_Word] = []
    # Forward-only caches make the scan linear: a later query never starts
    # before an earlier one, so a cached hit at or after the query position
    # is still the first one.
    end_at = -2  # cached index of the next "?=" (or -1: there is none)
    pre_at = -2  # cached index of the next valid prefix (or -1: none)
    pre_match: re.Match[str] | None = None

    def next_prefix(after: int) -> int:
        nonlocal pre_at, pre_match
        if pre_at == -1 or pre_at >= after:
            return pre_at
        pos = text.find("=?", after)
        while pos != -1:
            match = _PREFIX.match(text, pos)
            if match is not None:
                pre_at, pre_match = pos, match
                return pos
            pos = text.find("=?", pos + 1)
        pre_at = -1
        return -1

    def next_end(after: int) -> int:
        nonlocal end_at
        if end_at == -1 or end_at >= after:
            return end_at
        end_at = text.find("?=", after)
        return end_at

    start = next_prefix(0)
    while start != -1:
        assert pre_match is not None
        prefix = pre_match
        body = prefix.end()
        stop = next_end(body)
        if stop == -1:
            break  # no "?=" left: no later word can be complete either
        inner = next_prefix(body)
        if inner != -1 and inner < stop:
            start = inner  # this "=?" was not a word; the inner one may be
            continue
        if len(words) >= max_words:
            defects.append(
                Defect(
                    kind=DefectKind.TOO_MANY_ENCODED_WORDS,
                    offset=start,
                    detail=f"more than {max_words} encoded words; the rest is not decoded",
                )
            )
            break
        word = _make_word(text, start, stop + 2, prefix, defects)
        if word is not None:
            words.append(word)
        start = next_prefix(stop + 2)
    return words


def _make_word(
    text: str, start: int, end: int, prefix: re.Match[str], defects: list[Defect]
) -> _Word | None:
    """Transfer-decode one word, or return None (kept literally) with a defect."""
    label = prefix.group(1).split("*", 1)[0]
    encoding = prefix.group(2).upper()
    codec = lookup_charset(label) if label else None
    key = codec or ""
    if codec is None:
        if label and is_placeholder_charset(label):
            defects.append(
                Defect(
                    kind=DefectKind.UNKNOWN_CHARSET,
                    offset=start,
                    detail=f"encoded word charset {label!r} means unknown; guessing",
                )
            )
        else:
            # An unrecognised label: the bytes are still decoded (UTF-8 if
            # valid, else guessed); _flush_run reports it, naming the guess.
            # Words with the same unknown label form their own runs.
            key = "?" + label.lower()
    encoded = text[prefix.end() : end - 2]
    if "\n" in encoded or "\r" in encoded:
        encoded = _FOLD.sub("", encoded)
    if not encoded.isascii():
        defects.append(
            Defect(
                kind=DefectKind.INVALID_ENCODED_WORD,
                offset=start,
                detail="encoded word contains non-ASCII text; kept as is",
            )
        )
        return None
    if encoding == "Q":
        return _Word(start, end, key, codec, _decode_q(encoded, start, defects))
    b64 = "".join(encoded.split())  # whitespace inside B text is noise
    core = b64.rstrip("=")
    if core.encode().translate(None, _B64_ALPHABET):
        defects.append(
            Defect(
                kind=DefectKind.INVALID_ENCODED_WORD,
                offset=start,
                detail="invalid base64 in encoded word; kept as is",
            )
        )
        return None
    pads = len(b64) - len(core)
    if pads and (len(core) % 4 == 0 or len(core) % 4 + pads != 4):
        defects.append(
            Defect(
                kind=DefectKind.BASE64_PADDING,
                offset=start,
                detail="wrong base64 padding in encoded word",
            )
        )
    return _Word(start, end, key, codec, (core, pads > 0))


def _decode_q(encoded: str, start: int, defects: list[Defect]) -> bytes:
    """RFC 2047 section 4.2 "Q": ``_`` is space, ``=XX`` is a byte.

    An ``=`` that starts no valid escape is kept literally (with a defect),
    like the body decoder does.
    """
    data = encoded.encode("ascii")
    if _Q_BAD_ESCAPE.search(data) is None:
        # Fast path; with every "=" followed by two hex digits, a2b_qp(header)
        # does exactly this (it only differs on bad escapes and line breaks,
        # and folds were already removed).
        return binascii.a2b_qp(data, header=True)
    defects.append(
        Defect(
            kind=DefectKind.INVALID_ENCODED_WORD,
            offset=start,
            detail="invalid '=' escape in Q encoded word; kept literally",
        )
    )
    pieces = data.translate(_UNDERSCORE_TO_SPACE).split(b"=")
    out = [pieces[0]]
    for piece in pieces[1:]:
        head = piece[:2]
        if len(head) == 2 and _Q_BAD_ESCAPE.match(b"=" + head) is None:
            out.append(bytes.fromhex(head.decode("ascii")) + piece[2:])
        else:
            out.append(b"=" + piece)
    return b"".join(out)


def _flush_run(run: list[_Word], defects: list[Defect]) -> str:
    """Decode a run of adjacent same-charset words as one byte string.

    B words: a word whose length is not a multiple of 4 is either unpadded
    (its data ends there) or the first half of a base64 quantum split across
    two words. An encoder that omits padding still zeroes the unused low bits
    of the last character (RFC 4648 section 3.5, canonical encoding); a
    quantum cut in two leaves them random. So the leftover characters are
    carried into the next adjacent B word when that word exists and the
    leftover is one character, or has non-zero unused bits; otherwise they are
    padded and decoded on their own.
    """
    out: list[bytes] = []
    carry = ""
    first = run[0]
    for index, word in enumerate(run):
        payload = word.payload
        if isinstance(payload, bytes):
            if carry:
                out.append(_finish_b64(carry, word.start, defects))
                carry = ""
            out.append(payload)
            continue
        core, padded = payload
        joined = carry + core
        carry = ""
        cut = len(joined) - len(joined) % 4
        out.append(binascii.a2b_base64(joined[:cut]))
        rest = joined[cut:]
        if not rest:
            continue
        follows = index + 1 < len(run) and not isinstance(run[index + 1].payload, bytes)
        if not padded and follows and (len(rest) == 1 or _random_tail(rest)):
            carry = rest
            continue
        if not padded and len(rest) > 1:
            defects.append(
                Defect(
                    kind=DefectKind.BASE64_PADDING,
                    offset=word.start,
                    detail="missing base64 padding in encoded word",
                )
            )
        out.append(_finish_b64(rest, word.start, defects))
    if carry:
        out.append(_finish_b64(carry, run[-1].start, defects))
    data = b"".join(out)
    text, used, error = decode_with_charset(data, first.codec)
    if first.key.startswith("?"):
        defects.append(
            Defect(
                kind=DefectKind.UNKNOWN_CHARSET,
                offset=first.start,
                detail=f"unknown charset {first.key[1:65]!r} in encoded words; decoded as {used}",
            )
        )
    elif error >= 0 and first.codec is not None:
        defects.append(
            Defect(
                kind=DefectKind.CHARSET_DECODE_ERROR,
                offset=first.start,
                detail=f"encoded words are not valid {first.codec}; decoded as {used}",
            )
        )
    return text


def _random_tail(rest: str) -> bool:
    """Whether the unused low bits of a 2- or 3-character tail are non-zero."""
    mask = 0x0F if len(rest) == 2 else 0x03
    return bool(_B64_VALUE[rest[-1]] & mask)


def _finish_b64(rest: str, offset: int, defects: list[Defect]) -> bytes:
    """Decode a final partial quantum: 2 or 3 characters; 1 is dropped."""
    if len(rest) == 1:
        defects.append(
            Defect(
                kind=DefectKind.BASE64_PADDING,
                offset=offset,
                detail="dangling base64 character in encoded word dropped",
            )
        )
        return b""
    return binascii.a2b_base64(rest + "=" * (4 - len(rest)))


# --- encoding -------------------------------------------------------------

# RFC 2047 section 5 (3): in a phrase only letters, digits and "!*+-/" may
# appear literally in Q text; using that set everywhere makes every word valid
# in every context (unstructured text, comments and phrases).
_Q_SAFE: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/"
_Q_TABLE: Final = tuple(
    "_" if b == 0x20 else chr(b) if b in _Q_SAFE else f"={b:02X}" for b in range(256)
)
_Q_CHEAP: Final = _Q_SAFE + b" "  # bytes that cost one character in Q

# RFC 2045 section 5.1 token characters (for the label we write).
_TOKEN: Final = re.compile(r"[A-Za-z0-9!#$%&'+^_`{|}~-]+")

# Control characters other than HTAB (which is whitespace in unstructured text).
_CONTROL: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def needs_encoding(text: str) -> bool:
    """Whether ``text`` must be sent as RFC 2047 encoded words.

    True when the text contains non-ASCII characters (RFC 5322 section 2.2:
    header bodies are US-ASCII), control characters other than tab, or
    something a decoder would take for an encoded word (``=?`` with a later
    ``?=``; RFC 2047 section 6.1 readers would otherwise decode a literal).

    Raises:
        TypeError: ``text`` is not a ``str``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    if not text.isascii() or _CONTROL.search(text) is not None:
        return True
    opened = text.find("=?")
    return opened != -1 and text.find("?=", opened + 2) != -1


def encode_words(
    text: str,
    *,
    charset: str = "utf-8",
    max_line: int = 76,
    first_line_budget: int | None = None,
) -> list[str]:
    """Encode ``text`` as RFC 2047 encoded words, to be joined by folding.

    Every word is at most 75 characters (RFC 2047 section 2) and at most
    ``max_line - 1`` (the caller folds with CRLF and one space before each
    later word). The encoding is Q or B, whichever makes the whole text
    shorter (Q on a tie, as it stays readable). Characters are never split
    across words, so each word decodes on its own (RFC 2047 section 5: "each
    'encoded-word' MUST represent an integral number of characters").

    Args:
        text: The text. Empty text gives an empty list.
        charset: The charset label to encode with and to write in the words.
        max_line: Maximum line length, in characters, of a folded line.
        first_line_budget: Characters left for the first word on the first
            line (after the ``Subject:`` prefix, for example). If even one character
            does not fit in it, the first word gets the normal budget and the
            caller should fold before it.

    Returns:
        The encoded words.

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: ``charset`` is unknown, is not a usable header charset
            (UTF-16/32) or not a valid token; ``max_line`` is too small to
            hold a word; or ``text`` has characters ``charset`` cannot encode
            (``UnicodeEncodeError``, a ``ValueError``).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    if not isinstance(charset, str):
        raise TypeError(f"charset must be str, not {type(charset).__name__}")
    label = charset.strip()
    codec = _encoding_codec(label)
    overhead = len(label) + 7  # "=?" label "?Q?" ... "?="
    word_max = min(75, max_line - 1)
    if word_max < overhead + 12:
        raise ValueError(f"max_line {max_line} is too small for encoded words in {label}")
    if not text:
        return []
    data = text.encode(codec)  # UnicodeEncodeError: caller's charset choice
    cheap = len(data) - len(data.translate(None, _Q_CHEAP))
    use_q = cheap + 3 * (len(data) - cheap) <= 4 * ((len(data) + 2) // 3)
    size = _q_size if use_q else _b_size
    letter = "Q" if use_q else "B"
    words: list[str] = []
    pos = 0
    budget = word_max
    if first_line_budget is not None:
        budget = min(word_max, first_line_budget)
        if budget < overhead or size(text[0].encode(codec)) > budget - overhead:
            budget = word_max
    while pos < len(text):
        end = _fit(text, pos, codec, budget - overhead, size)
        chunk = text[pos:end].encode(codec)
        body = (
            "".join(map(_Q_TABLE.__getitem__, chunk))
            if use_q
            else (binascii.b2a_base64(chunk, newline=False).decode("ascii"))
        )
        word = f"=?{label}?{letter}?{body}?="
        if len(word) > max(budget, word_max):
            # One character alone does not fit (a long ISO-2022 escape).
            raise ValueError(f"max_line {max_line} is too small for {text[pos]!r} in {label}")
        words.append(word)
        pos = end
        budget = word_max
    return words


def _encoding_codec(label: str) -> str:
    """The codec for encoding *exactly* ``label`` (no superset remapping)."""
    if not _TOKEN.fullmatch(label):
        raise ValueError(f"charset {label!r} is not a valid MIME token")
    if lookup_charset(label) is None:
        raise ValueError(f"unknown charset {label!r}")
    name = codecs.lookup(label).name
    if name.startswith(("utf-16", "utf-32")):
        # Byte-order marks and NUL bytes make no sense in header words.
        raise ValueError(f"charset {label!r} cannot be used in encoded words")
    return name


def _q_size(data: bytes) -> int:
    cheap = len(data) - len(data.translate(None, _Q_CHEAP))
    return cheap + 3 * (len(data) - cheap)


def _b_size(data: bytes) -> int:
    return 4 * ((len(data) + 2) // 3)


def _fit(text: str, pos: int, codec: str, room: int, size: Callable[[bytes], int]) -> int:
    """The largest ``end`` such that ``text[pos:end]`` encodes within ``room``.

    Binary search over whole characters: each word is encoded on its own, which
    is right for stateful charsets (ISO-2022-JP words must each return to
    ASCII), and costs O(log room) encodings per word. At least one character
    is always taken.
    """
    low = pos + 1  # always fits (checked by the caller's minimum budget)
    high = min(len(text), pos + room)
    while low < high:
        mid = (low + high + 1) // 2
        if size(text[pos:mid].encode(codec)) <= room:
            low = mid
        else:
            high = mid - 1
    return low
