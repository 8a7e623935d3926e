"""Byte order marks and UTF-16/UTF-32 byte order in body decoding.

RFC 2781 section 4.3 (UTF-16 without a BOM is big-endian), Unicode section
3.10 (the same for UTF-32), RFC 3629 section 6 (the UTF-8 BOM is a
signature) and the WHATWG Encoding Standard's BOM sniff; the rules are in
the docstring of ``mimekit/codecs/_charset.py``.
"""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mimekit
from mimekit import Defect, DefectKind
from mimekit.codecs import decode_bytes, decode_encoded_words, decode_header_bytes

TEXT = "héllo wörld"


def part(body: bytes, charset: str | None = None) -> mimekit.Message:
    ctype = b"text/plain" + (b"; charset=" + charset.encode() if charset is not None else b"")
    return mimekit.parse(b"Content-Type: " + ctype + b"\r\n\r\n" + body)


def charset_defects(msg: mimekit.Message) -> list[Defect]:
    kinds = (DefectKind.CHARSET_DECODE_ERROR, DefectKind.UNKNOWN_CHARSET)
    return [d for d in msg.defects if d.kind in kinds]


# -- declared utf-16/utf-32 and their generic aliases: the BOM decides, else big-endian --------

UTF16_LABELS = ["utf-16", "UTF16", "unicode", "ucs-2", "iso-10646-ucs-2", "csUnicode"]
UTF32_LABELS = ["utf-32", "UTF32", "ucs-4", "iso-10646-ucs-4", "csUCS4"]


@pytest.mark.parametrize("label", UTF16_LABELS)
@pytest.mark.parametrize(("body", "codec"), [
    (TEXT.encode("utf-16-be"), "utf-16-be"),  # no BOM: big-endian whatever the CPU
    (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16-be"),
    (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16-le"),
], ids=["no-bom", "be-bom", "le-bom"])
def test_generic_utf16_labels(label: str, body: bytes, codec: str) -> None:
    msg = part(body, label)
    assert msg.get_text() == TEXT
    assert charset_defects(msg) == []
    assert decode_bytes(body, label) == (TEXT, codec, [])


@pytest.mark.parametrize("label", UTF32_LABELS)
@pytest.mark.parametrize(("body", "codec"), [
    (TEXT.encode("utf-32-be"), "utf-32-be"),
    (codecs.BOM_UTF32_BE + TEXT.encode("utf-32-be"), "utf-32-be"),
    (codecs.BOM_UTF32_LE + TEXT.encode("utf-32-le"), "utf-32-le"),
], ids=["no-bom", "be-bom", "le-bom"])
def test_generic_utf32_labels(label: str, body: bytes, codec: str) -> None:
    msg = part(body, label)
    assert msg.get_text() == TEXT
    assert charset_defects(msg) == []
    assert decode_bytes(body, label) == (TEXT, codec, [])


def test_reviewer_examples() -> None:
    # Before the fix: '栀\ue900氀氀漀' on x86, and '\ufffe䠀...' for ucs-2.
    assert part("héllo".encode("utf-16-be"), "utf-16").get_text() == "héllo"
    assert part("Hello".encode("utf-16"), "ucs-2").get_text() == "Hello"


# -- explicit byte order: kept; a BOM in that order is dropped (WHATWG) ------------------------


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("with_bom", [False, True])
def test_explicit_labels_keep_their_order(codec: str, with_bom: bool) -> None:
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE,
           "utf-32-le": codecs.BOM_UTF32_LE, "utf-32-be": codecs.BOM_UTF32_BE}[codec]
    body = (bom if with_bom else b"") + TEXT.encode(codec)
    label = codec.replace("-le", "le").replace("-be", "be")  # the IANA spelling, utf-16le
    msg = part(body, label)
    assert msg.get_text() == TEXT
    assert charset_defects(msg) == []


def test_explicit_label_does_not_follow_a_foreign_bom() -> None:
    # utf-16be says big-endian; FF FE is then the noncharacter U+FFFE, not a BOM.
    text, codec, defects = decode_bytes(codecs.BOM_UTF16_LE + "A".encode("utf-16-le"), "utf-16be")
    assert (text, codec, defects) == ("\ufffe\u4100", "utf-16-be", [])


# -- UTF-8 BOM: a signature, not text ------------------------------------------------------------


@pytest.mark.parametrize("charset", ["utf-8", "UTF8", "x-utf8", None])
@pytest.mark.parametrize("text", ["hello", TEXT])
def test_utf8_bom_is_dropped(charset: str | None, text: str) -> None:
    msg = part(codecs.BOM_UTF8 + text.encode(), charset)
    assert msg.get_text() == text
    assert charset_defects(msg) == []


def test_utf8_bom_with_bad_bytes_stays_utf8() -> None:
    # The BOM decides: UTF-8 with a replacement character, recorded.
    msg = part(codecs.BOM_UTF8 + b"caf\xe9 ok", None)
    assert msg.get_text() == "caf\ufffd ok"
    [defect] = charset_defects(msg)
    assert defect.kind == DefectKind.CHARSET_DECODE_ERROR
    assert defect.offset == msg.body_offset
    assert defect.detail.endswith("utf-8 with replacement characters (byte order mark)")


# -- BOM sniff: no charset, or the declared one fails -----------------------------------------

SNIFFED = [
    ("utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-32-le", codecs.BOM_UTF32_LE),
    ("utf-32-be", codecs.BOM_UTF32_BE),
]
LONG = "Hello there, this is a longer text"


@pytest.mark.parametrize(("codec", "bom"), SNIFFED, ids=[c for c, _ in SNIFFED])
@pytest.mark.parametrize(("charset", "kind", "why"), [
    (None, DefectKind.CHARSET_DECODE_ERROR, "no charset declared"),
    ("utf-8", DefectKind.CHARSET_DECODE_ERROR, "invalid utf-8 data"),
    ("us-ascii", DefectKind.CHARSET_DECODE_ERROR, "8-bit data declared us-ascii"),
    ("x-bogus", DefectKind.UNKNOWN_CHARSET, "unknown charset 'x-bogus'"),
    ("unknown-8bit", None, None),
])
def test_bom_sniff(codec: str, bom: bytes, charset: str | None, kind: DefectKind | None,
                   why: str | None) -> None:
    msg = part(bom + LONG.encode(codec), charset)
    assert msg.get_text() == LONG
    [defect] = charset_defects(msg)
    assert defect.detail.endswith(f"; decoded as {codec} (byte order mark)")
    if kind is not None:
        assert defect.kind == kind
        assert defect.detail.startswith(why)
    # Undeclared: the defect points at the BOM, the evidence; declared: at the
    # first byte the declared charset rejects, which is inside the BOM here.
    if charset is None:
        assert defect.offset == msg.body_offset
    else:
        assert msg.body_offset <= defect.offset < msg.body_offset + len(bom)


def test_reviewer_example_undeclared_utf16() -> None:
    # Was 'ÿþH\x00e\x00...' with no defect: 17 8-bit bytes short of chardet's minimum.
    body = codecs.BOM_UTF16_LE + LONG.encode("utf-16-le")
    msg = mimekit.parse(b"Content-Type: text/plain\r\n\r\n" + body)
    assert msg.get_text() == LONG
    assert [d.detail for d in charset_defects(msg)] == [
        "no charset declared; decoded as utf-16-le (byte order mark)"]


@pytest.mark.parametrize(("body", "text", "codec"), [
    # FF FE 00 00 starts both BOMs: valid UTF-32LE wins ...
    (codecs.BOM_UTF32_LE + "A".encode("utf-32-le"), "A", "utf-32-le"),
    # ... else it is UTF-16LE text starting with U+0000.
    (codecs.BOM_UTF16_LE + "\x00A".encode("utf-16-le"), "\x00A", "utf-16-le"),
    # Neither decodes: UTF-16LE with a replacement character.
    (codecs.BOM_UTF16_LE + "\x00A".encode("utf-16-le") + b"\x00", "\x00A\ufffd", "utf-16-le"),
])
def test_utf32le_bom_checked_before_utf16le(body: bytes, text: str, codec: str) -> None:
    assert decode_bytes(body, None)[:2] == (text, codec)


def test_declared_failure_after_a_bom_points_at_the_bad_byte() -> None:
    # BOM, "hi", one stray byte: the declared utf-16le fails at index 6.
    body = codecs.BOM_UTF16_LE + "hi".encode("utf-16-le") + b"A"
    text, codec, defects = decode_bytes(body, "utf-16le", offset=100)
    assert (text, codec) == ("hi\ufffd", "utf-16-le")
    assert [(d.kind, d.offset) for d in defects] == [(DefectKind.CHARSET_DECODE_ERROR, 106)]
    assert defects[0].detail == ("invalid utf-16-le data; decoded as utf-16-le with "
                                 "replacement characters (byte order mark)")


def test_declared_charset_that_decodes_wins_over_a_bom() -> None:
    # The binding order: a declared charset that decodes is used (cp1252 cannot fail).
    text, codec, defects = decode_bytes(codecs.BOM_UTF16_LE + b"h\x00", "iso-8859-1")
    assert (text, codec, defects) == ("ÿþh\x00", "cp1252", [])


@given(text=st.text(max_size=50),
       codec=st.sampled_from(["utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"]))
def test_bom_round_trip(text: str, codec: str) -> None:
    if codec == "utf-16-le" and text.startswith("\x00"):
        text = "x" + text  # FF FE 00 00 would (rightly) be read as UTF-32LE first
    bom = {"utf-8": codecs.BOM_UTF8, **dict((c, b) for c, b in SNIFFED)}[codec]
    assert decode_bytes(bom + text.encode(codec), None)[0] == text


# -- header words keep their behaviour --------------------------------------------------------


def test_header_words_keep_a_utf8_bom() -> None:
    assert decode_encoded_words("=?utf-8?B?77u/aGk=?=")[0] == "\ufeffhi"
    assert decode_header_bytes(codecs.BOM_UTF8 + b"hi") == "\ufeffhi"


def test_utf16_header_word_without_bom_is_big_endian() -> None:
    # Was read in the machine's byte order; now as RFC 2781 says, on every CPU.
    word = "=?utf-16?B?AGgA6Q==?="  # "hé" in UTF-16BE, no BOM
    assert decode_encoded_words(word)[0] == "hé"
    word = "=?utf-16?B?//5oAOkA?="  # BOM FF FE + "hé" in UTF-16LE
    assert decode_encoded_words(word)[0] == "hé"
