"""RFC 2047 encoded words (mimekit.codecs._rfc2047)."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import re

import pytest
from conftest import CORPUS
from hypothesis import given, settings
from hypothesis import strategies as st

from mimekit import DefectKind
from mimekit.codecs import decode_encoded_words, encode_words, needs_encoding

K = DefectKind


def field_body(raw: str) -> str:
    """The folded value of the first field in a stalwart test header.

    The vectors hold one field body, sometimes followed by the next field
    (``X-Mailer: ...``), and end with a line break: keep the continuation
    lines, drop the final line break.
    """
    lines = raw.splitlines(keepends=True)
    kept = [lines[0]]
    for line in lines[1:]:
        if line[:1] not in (" ", "\t"):
            break
        kept.append(line)
    return "".join(kept).rstrip("\r\n")


def stalwart_unfold(text: str) -> str:
    """Stalwart's unstructured-value convention: a fold and the whitespace
    around it become one space; the value is trimmed."""
    return re.sub(r"[ \t]*\r?\n[ \t]*", " ", text).strip(" \t")


VECTORS = json.loads((CORPUS / "stalwart-mail-parser" / "unstructured.json").read_text("utf-8"))

# Where mimekit deliberately differs from stalwart mail-parser: stalwart
# inserts a space between plain text and an encoded word that touches it.
# mimekit inserts nothing, like CPython's email.policy.default (checked in
# test_untouched_neighbours_match_cpython); see the _rfc2047 docstring.
OVERRIDES = {
    "[SUSPECTED SPAM]=?utf-8?B?VGhpcyBpcyB0aGUgb3JpZ2luYWwgc3ViamVjdA==?=\n": (
        "[SUSPECTED SPAM]This is the original subject"
    ),
    "Some text =?utf-8?Q??=here\n": "Some text here",
    "[SUSPECTED SPAM]=?utf-8?B?VGhpcyBpcyB0aGUgb\n 3JpZ2luYWwgc3ViamVjdA==?=\n": (
        "[SUSPECTED SPAM]This is the original subject"
    ),
    "[SUSPECTED SPAM]=?utf-8?B?VGhpcyBpcyB0aGUgb\r\n 3JpZ2luYWwgc3ViamVjdA==?=\r\n": (
        "[SUSPECTED SPAM]This is the original subject"
    ),
}


def test_vector_file_and_overrides_are_current() -> None:
    assert len(VECTORS) == 30
    assert set(OVERRIDES) <= {v["header"] for v in VECTORS}


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: repr(v["header"][:40]))
def test_stalwart_unstructured_vectors(vector: dict[str, str]) -> None:
    decoded, _defects = decode_encoded_words(field_body(vector["header"]))
    expected = OVERRIDES.get(vector["header"], vector["expected"])
    assert stalwart_unfold(decoded) == expected


def cpython_default(value: str) -> str:
    raw = f"Subject: {value}\r\n\r\n".encode()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return str(message["subject"])


@pytest.mark.parametrize(
    "value",
    [
        "=?utf-8?q?Gr=C3=BC=C3=9Fe?=",
        "=?UTF-8?B?R3LDvMOfZQ==?=",
        "Re: =?iso-8859-1?q?caf=E9?= au lait",
        "=?utf-8?q?a?= =?utf-8?q?b?=",
        "=?utf-8?q?a?=\t =?utf-8?q?_b?=",
        "=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=",  # a character split across words
        "=?iso-8859-1?q?a?= =?iso-8859-2?q?b?=",
        "=?utf-8*en?q?lang?=",
        "=?utf-8?Q?x?= plain =?utf-8?Q?y?=",
        "[tag]=?utf-8?q?touching?=",
        "=?utf-8?q?touching?=text",
        "=?utf-8?b?YQ?=",
        "=?utf-8?q?Hello_there!?=",
        "=?utf-8?q?one_?==?utf-8?q?two?=",
        "=?iso-8859-1?q?this is some text?=",
        "no words at all",
    ],
)
def test_untouched_neighbours_match_cpython(value: str) -> None:
    assert decode_encoded_words(value)[0] == cpython_default(value)


# Deliberate differences from CPython's policy.default: (input, mimekit, CPython).
CPYTHON_DIFFERENCES = [
    # A base64 quantum split across two adjacent words.
    (
        "=?utf-8?b?VGhpcyBpcyB0aGUgb?= =?utf-8?b?3JpZ2luYWwgc3ViamVjdA==?=",
        "This is the original subject",
        "VGhpcyBpcyB0aGUgb3JpZ2luYWwgc3ViamVjdA==",
    ),
    # "unknown-8bit" (RFC 1428): mimekit guesses, CPython replaces.
    ("=?unknown-8bit?q?caf=E9?=", "café", "caf\ufffd"),
    # An unrecognised charset: mimekit guesses (windows-1252 for three 8-bit
    # bytes), CPython replaces.
    ("=?x-bogus?q?caf=E9?=", "café", "caf\ufffd"),
]


@pytest.mark.parametrize(("value", "ours", "cpython"), CPYTHON_DIFFERENCES)
def test_deliberate_differences_from_cpython(value: str, ours: str, cpython: str) -> None:
    assert cpython_default(value) == cpython
    assert decode_encoded_words(value)[0] == ours


def test_fold_inside_encoded_word_removed() -> None:
    # Unfolded text keeps the space (it is literal text inside Q)...
    assert decode_encoded_words("=?utf-8?Q?Hello _there!?=")[0] == "Hello  there!"
    # ...but a fold inside the word is the folder's, and goes with its WSP.
    assert decode_encoded_words("=?utf-8?Q?Hello\r\n _there!?=")[0] == "Hello there!"
    # Folds between words and text are left for the caller to unfold.
    assert decode_encoded_words("a\r\n =?utf-8?q?b?=\r\n c")[0] == "a\r\n b\r\n c"


@pytest.mark.parametrize(
    ("value", "decoded"),
    [
        ("=?utf-8?b?YQ?= =?utf-8?b?Yg?=", "ab"),  # unpadded words, each whole
        ("=?utf-8?b?YQ==?= =?utf-8?b?Yg==?=", "ab"),
        ("=?utf-8?b?4pyTIGNo?= =?utf-8?b?ZWNr?=", "✓ check"),
        # Quantum split, one character carried: "Zm9vYmFy" = "foobar".
        ("=?utf-8?b?Zm9vY?= =?utf-8?b?mFy?=", "foobar"),
        # Split whose partial tail has non-zero unused bits is carried too.
        ("=?utf-8?b?Zm9vYm?= =?utf-8?b?Fy?=", "foobar"),
        # Multi-byte character split across B words (bytes joined first).
        ("=?utf-8?b?w6k=?= =?utf-8?b?4oKs?=", "é€"),
        ("=?utf-8?b?4o?= =?utf-8?b?Ks?=", "€"),
        # Mixed Q and B in the same charset: bytes still joined.
        ("=?utf-8?q?=E2=82?= =?utf-8?b?rA==?=", "€"),
    ],
)
def test_base64_words(value: str, decoded: str) -> None:
    assert decode_encoded_words(value)[0] == decoded


@pytest.mark.parametrize(
    ("value", "decoded", "defects"),
    [
        ("=?x-bogus?q?a?= b", "a b", [(K.UNKNOWN_CHARSET, 0)]),
        ("x =?utf-8?b?!!!!?=", "x =?utf-8?b?!!!!?=", [(K.INVALID_ENCODED_WORD, 2)]),
        ("x =?utf-8?q?caf=C3=A9é?=", "x =?utf-8?q?caf=C3=A9é?=", [(K.INVALID_ENCODED_WORD, 2)]),
        ("ab =?utf-8?q?100=?=", "ab 100=", [(K.INVALID_ENCODED_WORD, 3)]),
        ("=?utf-8?q?=ZZ?=", "=ZZ", [(K.INVALID_ENCODED_WORD, 0)]),
        ("=?utf-8?q?caf=E9?=", "café", [(K.CHARSET_DECODE_ERROR, 0)]),
        ("=?unknown-8bit?q?caf=C3=A9?=", "café", [(K.UNKNOWN_CHARSET, 0)]),
        ("=?utf-8?b?Y?=", "", [(K.BASE64_PADDING, 0)]),
        ("=?utf-8?b?YWJj=?=", "abc", [(K.BASE64_PADDING, 0)]),
        ("=?utf-8?q?broken =?utf-8?q?ok?=", "=?utf-8?q?broken ok", []),
        ("=? =?utf-8?q??=", "=? ", []),
        ("=?utf-8?q?unterminated", "=?utf-8?q?unterminated", []),
        ("=?utf-8?x?not a word?=", "=?utf-8?x?not a word?=", []),
        (
            "=?utf-8?q?a?= =?x-bogus?q?b?= =?utf-8?q?c?=",
            "abc",
            [(K.UNKNOWN_CHARSET, 14)],
        ),
    ],
)
def test_malformed_words(value: str, decoded: str, defects: list[tuple[DefectKind, int]]) -> None:
    text, found = decode_encoded_words(value)
    assert text == decoded
    assert [(d.kind, d.offset) for d in found] == defects


def test_too_many_words() -> None:
    words = [f"=?utf-8?q?w{i}?=" for i in range(12)]
    text, defects = decode_encoded_words(" x ".join(words), max_words=10)
    assert text.startswith("w0 x w1 x")
    assert text.endswith("w9 x " + " x ".join(words[10:]))
    offset = len(" x ".join(words[:10])) + 3
    assert [(d.kind, d.offset) for d in defects] == [(K.TOO_MANY_ENCODED_WORDS, offset)]
    many = " ".join(["=?utf-8?q?a?="] * 1001)
    text, defects = decode_encoded_words(many)
    assert text == "a" * 1000 + " =?utf-8?q?a?="
    assert [d.kind for d in defects] == [K.TOO_MANY_ENCODED_WORDS]


def test_fast_path_returns_the_same_object() -> None:
    text = "Subject line without words " * 10
    decoded, defects = decode_encoded_words(text)
    assert decoded is text and defects == []


def test_caller_mistakes() -> None:
    with pytest.raises(TypeError):
        decode_encoded_words(b"=?utf-8?q?a?=")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        decode_encoded_words("x", max_words=-1)
    with pytest.raises(ValueError):
        encode_words("x", charset="no-such-charset")
    with pytest.raises(ValueError):
        encode_words("x", charset="utf-16")
    with pytest.raises(ValueError):
        encode_words("x", charset="utf 8")
    with pytest.raises(ValueError):
        encode_words("x", max_line=20)
    with pytest.raises(UnicodeEncodeError):
        encode_words("日本", charset="iso-8859-1")
    with pytest.raises(TypeError):
        needs_encoding(None)  # type: ignore[arg-type]


header_text = st.text(
    alphabet=st.sampled_from(list('=?_ qQbB-8utf\r\n\t"aé€日\U0001f600')), max_size=80
) | st.text(max_size=80)


@given(header_text)
def test_decode_never_raises(text: str) -> None:
    decoded, defects = decode_encoded_words(text)
    assert isinstance(decoded, str)
    assert all(0 <= d.offset < len(text) for d in defects)
    if "=?" not in text:
        assert decoded == text


@given(st.text(max_size=300))
def test_round_trip_utf8(text: str) -> None:
    words = encode_words(text)
    assert all(len(word) <= 75 for word in words)
    assert decode_encoded_words(" ".join(words)) == (text, [])
    assert decode_encoded_words("\r\n ".join(words)) == (text, [])
    for word in words:  # each word holds whole characters
        assert decode_encoded_words(word)[1] == []


# C1 controls are left out: labelled iso-8859-1 they are read back as
# windows-1252 characters (WHATWG decoding, see _charset).
latin1_text = st.text(
    alphabet=st.characters(codec="latin-1").filter(lambda c: not "\x80" <= c <= "\x9f"),
    max_size=200,
)


@settings(max_examples=100)
@given(
    latin1_text,
    st.sampled_from(["iso-8859-1", "windows-1252", "us-ascii"]),
)
def test_round_trip_single_byte(text: str, charset: str) -> None:
    try:
        words = encode_words(text, charset=charset)
    except UnicodeEncodeError:
        return
    assert decode_encoded_words(" ".join(words)) == (text, [])


@settings(max_examples=100)
@given(st.text(alphabet="日本語のテキストですアイウabc ", max_size=120))
def test_round_trip_iso_2022_jp(text: str) -> None:
    words = encode_words(text, charset="ISO-2022-JP")
    assert decode_encoded_words(" ".join(words)) == (text, [])


@settings(max_examples=100)
@given(st.text(max_size=120), st.integers(30, 100), st.integers(0, 80))
def test_line_budgets(text: str, max_line: int, first: int) -> None:
    words = encode_words(text, max_line=max_line, first_line_budget=first)
    limit = min(75, max_line - 1)
    assert all(len(word) <= limit for word in words)
    if words and first >= 25:  # room for the overhead plus one character
        assert len(words[0]) <= first
    assert decode_encoded_words(" ".join(words))[0] == text


def test_q_or_b_whichever_is_shorter() -> None:
    assert encode_words("café au lait") == ["=?utf-8?Q?caf=C3=A9_au_lait?="]  # 17 < 20
    assert encode_words("Grüße") == ["=?utf-8?B?R3LDvMOfZQ==?="]  # 12 < 15
    assert encode_words("日本語") == ["=?utf-8?B?5pel5pys6Kqe?="]
    assert encode_words("a b_c=d?e") == ["=?utf-8?B?YSBiX2M9ZD9l?="]  # 12 < 15
    assert encode_words("x y-z!") == ["=?utf-8?Q?x_y-z!?="]
    assert encode_words("") == []


@pytest.mark.parametrize(
    ("text", "needed"),
    [
        ("plain ascii", False),
        ("tab\tis fine", False),
        ("a = b ? c", False),
        ("=? but never closed", False),
        ("Grüße", True),
        ("bell\x07", True),
        ("line\nbreak", True),
        ("looks =?like?= a word", True),
        ("=?utf-8?q?literal?=", True),
    ],
)
def test_needs_encoding(text: str, needed: bool) -> None:
    assert needs_encoding(text) is needed


def test_unknown_charset_is_decoded_best_effort() -> None:
    """RFC 2047 words in an unknown charset: decoded, with a defect naming it."""
    # Valid UTF-8 bytes: UTF-8, whatever the label says.
    text, defects = decode_encoded_words("=?x-bogus?b?w6k=?= =?x-bogus?b?4oKs?=")
    assert text == "é€"  # same unknown label: one run, bytes joined first
    assert [(d.kind, d.offset) for d in defects] == [(K.UNKNOWN_CHARSET, 0)]
    assert "'x-bogus'" in defects[0].detail and "utf-8" in defects[0].detail
    # Short non-UTF-8 data: windows-1252 (chardet is noise on 3 bytes).
    text, defects = decode_encoded_words("=?x-bogus-latin?q?Caf=E9_cr=E8me?=")
    assert text == "Café crème" and "cp1252" in defects[0].detail
    # Enough 8-bit data for chardet: its guess, named in the defect.
    russian = "Привет, как дела? Это тестовое сообщение на русском языке."
    word = "=?x-cyrillic-bogus?b?" + base64.b64encode(russian.encode("koi8-r")).decode() + "?="
    text, defects = decode_encoded_words(word)
    assert text == russian
    assert [d.kind for d in defects] == [K.UNKNOWN_CHARSET]
    assert "'x-cyrillic-bogus'" in defects[0].detail and "koi8-r" in defects[0].detail
    # Two different unknown labels are not joined into one byte string.
    text, _ = decode_encoded_words("=?x-a?b?w6k=?= =?x-b?q?=E9?=")
    assert text == "éé"
    # The word is still one: the whitespace to the next word is dropped.
    assert decode_encoded_words("=?x-a?q?a?= =?utf-8?q?b?=")[0] == "ab"
