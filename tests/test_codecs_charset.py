"""Charset labels and never-failing decoding (mimekit.codecs._charset)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mimekit import Defect, DefectKind
from mimekit.codecs import decode_bytes, decode_header_bytes, lookup_charset

K = DefectKind


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("utf-8", "utf-8"),
        ("UTF8", "utf-8"),
        (' "utf-8" ', "utf-8"),
        ("'UTF-8'", "utf-8"),
        ("x-utf8", "utf-8"),
        ("us-ascii", "ascii"),
        ("ANSI_X3.4-1968", "ascii"),
        ("ascii", "ascii"),
        # WHATWG: latin-1 labels decode as windows-1252.
        ("iso-8859-1", "cp1252"),
        ("latin1", "cp1252"),
        ("ISO_8859-1:1987", "cp1252"),
        ("windows-1252", "cp1252"),
        ("win-1252", "cp1252"),
        ("iso-8859-9", "cp1254"),
        ("iso-8859-15", "iso8859-15"),
        ("iso-8859-8-i", "iso8859-8"),
        ("ISO-8859-8-E", "iso8859-8"),
        ("ks_c_5601-1987", "cp949"),
        ("euc-kr", "cp949"),
        ("x-sjis", "cp932"),
        ("shift-jis", "cp932"),
        ("Shift_JIS", "cp932"),
        ("windows-31j", "cp932"),
        ("gb2312", "gb18030"),
        ("GBK", "gb18030"),
        ("x-gbk", "gb18030"),
        ("big5", "cp950"),
        ("tis-620", "cp874"),
        ("windows-874", "cp874"),
        ("iso-2022-jp", "iso2022_jp_ext"),
        ("x-mac-roman", "mac-roman"),
        ("x-mac-cyrillic", "mac-cyrillic"),
        ("x-mac-ce", "mac-latin2"),
        ("macintosh", "mac-roman"),
        ("unicode-1-1-utf-7", "utf-7"),
        ("utf-7", "utf-7"),
        ("cp-850", "cp850"),
        ("x-cp1250", "cp1250"),
        ("koi8-r", "koi8-r"),
        ("utf-16", "utf-16"),
        ("ucs-2", "utf-16-be"),
        # Labels that mean "unknown": the content is guessed instead.
        ("x-unknown", None),
        ("unknown-8bit", None),
        ("x-user-defined", None),
        ("", None),
        ("   ", None),
        ("no-such-charset", None),
        ("ütf-8", None),
        ("utf-8\x00", None),
        ("x" * 1000, None),
        # Not character sets, or dangerous: refused.
        ("zlib", None),
        ("base64", None),
        ("rot13", None),
        ("hex", None),
        ("unicode_escape", None),
        ("raw-unicode-escape", None),
        ("idna", None),
        ("punycode", None),
        ("undefined", None),
    ],
)
def test_lookup_charset(label: str, codec: str | None) -> None:
    assert lookup_charset(label) == codec


def test_lookup_is_cached_and_rejects_non_str() -> None:
    lookup_charset("utf-8")
    assert lookup_charset.cache_info().hits >= 1
    with pytest.raises(TypeError):
        lookup_charset(b"utf-8")


def kinds(defects: list[Defect]) -> list[tuple[DefectKind, int]]:
    return [(d.kind, d.offset) for d in defects]


def test_ascii_fast_path() -> None:
    assert decode_bytes(b"hello", None) == ("hello", "ascii", [])
    assert decode_bytes(b"hello", "utf-8") == ("hello", "utf-8", [])
    assert decode_bytes(b"hello", "iso-8859-1") == ("hello", "cp1252", [])


def test_ascii_bytes_in_non_ascii_compatible_charsets_still_decode() -> None:
    assert decode_bytes(b"+AOk-", "utf-7")[0] == "é"
    assert decode_bytes("日本".encode("iso2022_jp"), "iso-2022-jp")[0] == "日本"
    assert decode_bytes("hi".encode("utf-16"), "utf-16")[0] == "hi"


def test_declared_charset_used() -> None:
    assert decode_bytes("Grüße".encode("latin-1"), "iso-8859-1") == ("Grüße", "cp1252", [])
    assert decode_bytes("Привет".encode("koi8-r"), "KOI8-R")[0] == "Привет"
    assert decode_bytes("日本語".encode("cp932"), "shift_jis")[0] == "日本語"


def test_windows_1252_never_fails() -> None:
    # The five bytes windows-1252 leaves undefined become C1 controls (WHATWG).
    text, codec, defects = decode_bytes(b"\x80\x81\x8d\x8f\x90\x9d\x9f", "iso-8859-1")
    assert (text, codec, defects) == ("€\x81\x8d\x8f\x90\x9dŸ", "cp1252", [])


def test_unknown_charset_defect_then_guess() -> None:
    text, codec, defects = decode_bytes("Grüße".encode(), "x-no-such", offset=100)
    assert (text, codec) == ("Grüße", "utf-8")
    assert kinds(defects) == [(K.UNKNOWN_CHARSET, 100)]
    # "unknown-8bit" is unknown on purpose, still recorded.
    assert decode_bytes(b"Caf\xe9", "unknown-8bit")[:2] == ("Café", "cp1252")


def test_declared_charset_fails_defect_at_first_bad_byte() -> None:
    data = b"Caf\xe9 au lait"
    text, codec, defects = decode_bytes(data, "utf-8", offset=10)
    assert (text, codec) == ("Café au lait", "cp1252")
    assert kinds(defects) == [(K.CHARSET_DECODE_ERROR, 13)]


def test_us_ascii_with_8bit_data() -> None:
    text, codec, defects = decode_bytes("abc Grüße".encode(), "us-ascii", offset=5)
    assert (text, codec) == ("abc Grüße", "utf-8")
    assert kinds(defects) == [(K.CHARSET_DECODE_ERROR, 5 + 6)]


def test_undeclared_utf8_then_windows_1252() -> None:
    assert decode_bytes("naïve".encode(), None) == ("naïve", "utf-8", [])
    # Not UTF-8, no charset, too short for chardet: windows-1252, the
    # documented reading of undeclared 8-bit text (no defect).
    assert decode_bytes(b"na\xefve", None, offset=7) == ("naïve", "cp1252", [])


def test_mostly_utf8_keeps_good_characters() -> None:
    data = ("é" * 100).encode() + b"\xff"
    text, codec, defects = decode_bytes(data, "utf-8")
    assert (text, codec) == ("é" * 100 + "\ufffd", "utf-8")
    assert kinds(defects) == [(K.CHARSET_DECODE_ERROR, 200)]


def test_declared_utf8_confirmed_by_data_wins_over_guessing() -> None:
    # Valid UTF-8 followed by junk (a body with garbage appended): the good
    # characters stay UTF-8, the junk becomes U+FFFD, as other readers show it.
    text, codec, defects = decode_bytes("yötä vaan.\n".encode() + b"\x8a\t\xe8\xad", "utf-8")
    assert (text, codec) == ("yötä vaan.\n\ufffd\t\ufffd", "utf-8")
    assert kinds(defects) == [(K.CHARSET_DECODE_ERROR, 13)]


def test_chardet_on_long_undeclared_text() -> None:
    russian = "Привет, как дела? Это тестовое сообщение на русском языке. " * 3
    text, codec, defects = decode_bytes(russian.encode("koi8-r"), None)
    assert (text, codec) == (russian, "koi8-r")
    # The guess is a defect that names it (issue 3: "recorded as a defect
    # that names the guess").
    assert kinds(defects) == [(K.CHARSET_DECODE_ERROR, 0)]
    assert "koi8-r (guessed by chardet)" in defects[0].detail
    japanese = "日本語のテキストです。これはテストメッセージです。" * 2
    text, codec, _ = decode_bytes(japanese.encode("shift_jis"), None)
    assert (text, codec) == (japanese, "cp932")


def test_chardet_not_trusted_on_short_text() -> None:
    # Three 8-bit bytes are too little evidence: windows-1252.
    assert decode_bytes("Ça été".encode("latin-1"), None)[:2] == ("Ça été", "cp1252")


labels = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "utf-8",
            "us-ascii",
            "iso-8859-1",
            "utf-7",
            "utf-16",
            "iso-2022-jp",
            "shift_jis",
            "gb2312",
            "x-unknown",
            "bogus",
            "cp037",
            "utf-32",
        ]
    ),
    st.text(max_size=20),
)


@given(data=st.binary(max_size=400), charset=labels, offset=st.integers(0, 10**9))
def test_decode_bytes_never_raises(data: bytes, charset: str | None, offset: int) -> None:
    text, codec, defects = decode_bytes(data, charset, offset=offset)
    assert isinstance(text, str)
    text.encode("utf-8")  # no lone surrogates
    assert lookup_charset(codec) is not None or codec == "ascii"
    assert all(d.offset >= offset for d in defects)
    if data and charset is None and data.isascii():
        assert text == data.decode("ascii")


def test_decode_bytes_caller_mistakes() -> None:
    with pytest.raises(TypeError):
        decode_bytes("text", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        decode_bytes(b"x", b"utf-8")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"Subject: hello", "Subject: hello"),
        ("Grüße aus Köln".encode(), "Grüße aus Köln"),  # RFC 6532 UTF-8
        (b"Caf\xe9 cr\xe8me", "Café crème"),  # legacy latin-1
        (b"\x93quoted\x94 \x80", "“quoted” €"),  # windows-1252 extras
        # UTF-8 with one stray latin-1 byte: the UTF-8 stays UTF-8.
        ("日本語 ".encode() + b"\xe9", "日本語 é"),
        (b"", ""),
    ],
)
def test_decode_header_bytes(raw: bytes, text: str) -> None:
    assert decode_header_bytes(raw) == text


@given(st.binary(max_size=500))
def test_decode_header_bytes_never_raises(raw: bytes) -> None:
    text = decode_header_bytes(raw)
    text.encode("utf-8")
    assert len(text) <= len(raw)
    if raw.isascii():
        assert text == raw.decode("ascii")


def test_decode_header_bytes_rejects_str() -> None:
    with pytest.raises(TypeError):
        decode_header_bytes("text")  # type: ignore[arg-type]


def test_charset_order_declared_utf8_chardet_last_resort() -> None:
    """get_text's order: declared (aliases) -> UTF-8 if valid -> chardet -> latin-1."""
    greek = "Γεια σας, αυτό είναι ένα δοκιμαστικό μήνυμα για τον έλεγχο. " * 2  # noqa: RUF001
    # 1. The declared charset, through the alias table.
    assert decode_bytes(greek.encode("iso-8859-7"), "ISO_8859-7") == (greek, "iso8859-7", [])
    assert decode_bytes(b"\x93q\x94", "latin1") == ("\u201cq\u201d", "cp1252", [])
    # 2. No charset: UTF-8 when valid, without a defect (RFC 6532).
    assert decode_bytes(greek.encode(), None) == (greek, "utf-8", [])
    # 3. Else chardet, named in the defect; a failed declared charset too.
    for declared in (None, "utf-8", "x-no-such-charset"):
        text, codec, defects = decode_bytes(greek.encode("iso-8859-7"), declared)
        assert (text, codec) == (greek, "iso8859-7"), declared
        assert len(defects) == 1 and "iso8859-7 (guessed by chardet)" in defects[0].detail
    # 4. Else windows-1252 (a latin-1 superset), named when a declared
    # charset failed.
    text, codec, defects = decode_bytes(b"caf\xe9", "utf-8")
    assert (text, codec) == ("café", "cp1252")
    assert defects[0].detail == "invalid utf-8 data; decoded as cp1252 (the last resort)"
    text, codec, defects = decode_bytes(b"caf\xe9", "us-ascii")
    assert (text, codec) == ("café", "cp1252")
    assert defects[0].detail == "8-bit data declared us-ascii; decoded as cp1252 (the last resort)"


def test_decode_header_bytes_charset_fallback() -> None:
    """8-bit header bytes: UTF-8, else chardet on >= 16 8-bit bytes, else windows-1252."""
    russian = "Привет, как дела? Это тестовое сообщение"
    sink: list = []
    assert decode_header_bytes(russian.encode("koi8-r"), defects=sink) == russian
    assert kinds(sink) == [(K.CHARSET_DECODE_ERROR, 0)]
    assert "koi8-r (guessed by chardet)" in sink[0].detail
    japanese = "日本語の件名です。テストメッセージ"
    assert decode_header_bytes(japanese.encode("shift_jis")) == japanese
    # A short Western text: chardet is not asked (its guess would be noise).
    sink = []
    assert decode_header_bytes("Subject: Ça été".encode("latin-1"), defects=sink) == (
        "Subject: Ça été"
    )
    assert [d.detail for d in sink] == ["8-bit header bytes are not UTF-8; decoded as cp1252"]
    # A long Western text: chardet is not confident, windows-1252 stays.
    german = "Größere Änderungen für Übermorgen: Bäume, Straßen, Öfen, Füße, Häuser"
    assert decode_header_bytes(german.encode("latin-1")) == german
    # ASCII and UTF-8: nothing to report.
    sink = []
    assert decode_header_bytes(b"plain", defects=sink) == "plain"
    assert decode_header_bytes("Grüße".encode(), defects=sink) == "Grüße"
    assert sink == []
