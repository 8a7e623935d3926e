"""Base64 transfer decoding/encoding (mimekit.codecs._base64).

A pure-Python reference model states the decoding rules byte by byte; the
fast decoder must agree with it on arbitrary input, for every chunking.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import os
from email._encoded_words import decode_b  # type: ignore[import-not-found]

import pytest
from conftest import CORPUS, SHARED_CORPUS
from hypothesis import given, settings
from hypothesis import strategies as st

from mimekit import Defect, DefectKind
from mimekit.codecs import Base64Decoder, decode_base64, encode_base64

ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
WHITESPACE = b" \t\r\n\x0b\x0c"
LOOK_CAP = 1024
K = DefectKind


def reference(data: bytes, offset: int = 0) -> tuple[bytes, list[tuple[DefectKind, int]]]:
    """The decoding rules, one byte at a time (see the _base64 docstring)."""
    out = bytearray()
    found: list[tuple[DefectKind, int]] = []
    quantum = bytearray()
    state, needed, excess_reported, in_bad_run = "data", 0, False, False
    stray_reported = False
    # After padding, the next non-blank line (its first LOOK_CAP bytes) is
    # judged: clean base64 goes on, anything else ends the data.
    looking = False
    judged_end = -1  # end of the line being processed after a clean verdict
    for index, byte in enumerate(data):
        at = offset + index
        if index == judged_end and state == "after":
            looking = True  # that line held padding only: judge the next one
        if looking:
            if byte in WHITESPACE:
                continue
            newline = data.find(b"\n", index)
            end = min(len(data) if newline == -1 else newline, index + LOOK_CAP)
            if data[index:end].rstrip(WHITESPACE).translate(None, ALPHABET + b"="):
                found.append((K.BASE64_TRAILING_TEXT, at))
                state = "trailer"
                break
            looking, judged_end = False, end
        if byte in ALPHABET:
            in_bad_run = stray_reported = False
            if state != "data":
                if state == "pad":
                    found.append((K.BASE64_PADDING, at))
                found.append((K.BASE64_DATA_AFTER_PADDING, at))
                state, excess_reported = "data", False
            quantum.append(byte)
            if len(quantum) == 4:
                out += binascii.a2b_base64(bytes(quantum))
                quantum.clear()
        elif byte == 0x3D:
            if state == "data":
                unused = 0x0F if len(quantum) == 2 else 0x03
                if len(quantum) >= 2 and ALPHABET.index(quantum[-1]) & unused:
                    if not stray_reported:
                        found.append((K.BASE64_PADDING, at))
                        stray_reported = True
                    continue
                if len(quantum) >= 2:
                    out += binascii.a2b_base64(bytes(quantum) + b"=" * (4 - len(quantum)))
                    needed = 3 - len(quantum)
                    state = "pad" if needed else "after"
                    looking = not needed
                else:
                    found.append((K.BASE64_PADDING, at))
                    state, excess_reported = "after", True
                    looking = True
                quantum.clear()
            elif state == "pad":
                needed -= 1
                if not needed:
                    state = "after"
                    looking = True
            elif not excess_reported:
                found.append((K.BASE64_PADDING, at))
                excess_reported = True
        elif byte not in WHITESPACE and not in_bad_run:
            found.append((K.BASE64_INVALID_CHARACTER, at))
            in_bad_run = True
    end = offset + len(data)
    if state == "data" and quantum:
        found.append((K.BASE64_PADDING, end))
        if len(quantum) > 1:
            out += binascii.a2b_base64(bytes(quantum) + b"=" * (4 - len(quantum)))
    elif state == "pad":
        found.append((K.BASE64_PADDING, end))
    found += reference_long_line(data, offset, K.BASE64_LINE_TOO_LONG)
    return bytes(out), sorted(found, key=lambda d: (d[1], d[0].value))


def reference_long_line(data: bytes, offset: int, kind: DefectKind) -> list[tuple[DefectKind, int]]:
    """The first line over 76 characters (line ending excluded), if any."""
    start = offset
    for line in data.split(b"\n"):
        if len(line) - line.endswith(b"\r") > 76:
            return [(kind, start + 76)]
        start += len(line) + 1
    return []


def summary(defects: list[Defect]) -> list[tuple[DefectKind, int]]:
    return [(d.kind, d.offset) for d in defects]


def decode_chunked(data: bytes, cuts: list[int], offset: int = 0) -> tuple[bytes, list[Defect]]:
    decoder = Base64Decoder(offset=offset)
    out = []
    previous = 0
    for cut in sorted(cuts):
        out.append(decoder.feed(data[previous:cut]))
        previous = cut
    out.append(decoder.feed(data[previous:]))
    out.append(decoder.close())
    return b"".join(out), decoder.defects


line_lengths = st.lists(
    st.tuples(st.integers(0, 80), st.sampled_from([b"\r\n", b"\n", b"\r", b""])), max_size=40
)


@given(lines=line_lengths, cuts=st.lists(st.integers(0, 4000), max_size=6))
def test_line_length_check(lines: list[tuple[int, bytes]], cuts: list[int]) -> None:
    # Mostly uniform lines (the strided fast check) with odd ones mixed in.
    data = b"".join(b"QUJD" * (n // 4) + b"Q" * (n % 4) + end for n, end in lines)
    expected = reference_long_line(data, 7, K.BASE64_LINE_TOO_LONG)
    found = [d for d in summary(decode_base64(data, offset=7)[1]) if d[0] is K.BASE64_LINE_TOO_LONG]
    assert found == expected
    cuts = [c % (len(data) + 1) for c in cuts]
    chunked = decode_chunked(data, cuts, 7)[1]
    assert [d for d in summary(chunked) if d[0] is K.BASE64_LINE_TOO_LONG] == expected


def test_line_length_check_uniform_lines() -> None:
    for width in (75, 76, 77):
        for end in (b"\r\n", b"\n"):
            data = (b"A" * width + end) * 2000
            found = [d.offset for d in decode_base64(data)[1] if d.kind is K.BASE64_LINE_TOO_LONG]
            assert found == ([76] if width > 76 else [])
            data = (b"A" * 76 + end) * 1000 + b"A" * 77 + end + (b"A" * 76 + end) * 1000
            found = [d.offset for d in decode_base64(data)[1] if d.kind is K.BASE64_LINE_TOO_LONG]
            assert found == [1000 * (76 + len(end)) + 76]


# Input biased toward the interesting bytes: alphabet, "=", whitespace, junk.
b64ish = st.lists(
    st.sampled_from(
        [
            b"Q",
            b"U",
            b"J",
            b"D",
            b"+",
            b"/",
            b"=",
            b"==",
            b"\r\n",
            b"\n",
            b" ",
            b"!",
            b"-",
            b"\xff",
            b"YWJj",
            b"QUJD" * 20,
        ]
    ),
    max_size=60,
).map(b"".join)


@given(data=b64ish, offset=st.integers(0, 1000))
def test_matches_reference_model(data: bytes, offset: int) -> None:
    decoded, defects = decode_base64(data, offset=offset)
    assert (decoded, summary(defects)) == reference(data, offset)


@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_match_reference(data: bytes) -> None:
    decoded, defects = decode_base64(data)
    assert (decoded, summary(defects)) == reference(data)


@given(data=b64ish, cuts=st.lists(st.integers(0, 2000), max_size=8), offset=st.integers(0, 99))
def test_any_chunking_same_result(data: bytes, cuts: list[int], offset: int) -> None:
    whole = decode_base64(data, offset=offset)
    cuts = [c % (len(data) + 1) for c in cuts]
    assert decode_chunked(data, cuts, offset) == whole


@settings(max_examples=100)
@given(data=b64ish)
def test_byte_at_a_time_same_result(data: bytes) -> None:
    assert decode_chunked(data, list(range(len(data)))) == decode_base64(data)


@given(st.binary(max_size=2000), st.sampled_from([b"\r\n", b"\n"]), st.sampled_from([4, 64, 76]))
def test_round_trip(data: bytes, linesep: bytes, line_length: int) -> None:
    encoded = encode_base64(data, line_length=line_length, linesep=linesep)
    assert decode_base64(encoded) == (data, [])
    if data:
        assert encoded.endswith(linesep)
        assert all(len(line) <= line_length for line in encoded.split(linesep))
    else:
        assert encoded == b""


@given(st.binary(max_size=3000), st.sampled_from([b"\r\n", b"\n"]))
def test_valid_input_equals_cpython_compat32(data: bytes, linesep: bytes) -> None:
    encoded = encode_base64(data, linesep=linesep)
    raw = b"Content-Transfer-Encoding: base64" + linesep + linesep + encoded
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert decode_base64(encoded)[0] == message.get_payload(decode=True) == data


def test_encoder_matches_stdlib_line_format() -> None:
    data = os.urandom(5000)
    assert encode_base64(data, linesep=b"\n") == base64.encodebytes(data)


def compat32(encoded: bytes) -> bytes:
    """What CPython's compat32 ``get_payload(decode=True)`` does for base64."""
    value: bytes = decode_b(b"".join(encoded.splitlines()))[0]
    return value


# Each deliberate difference from CPython: (input, mimekit, CPython, why).
DIFFERENCES = [
    (b"YQ==YWJj", b"aabc", b"a", "data after padding is decoded, not dropped"),
    (b"YWJjZ", b"abc", b"YWJjZ", "dangling char dropped; CPython returns the input (bpo-27397)"),
    (b"YQ=Yg==", b"ab", b"a\x06 ", "'=' after zero unused bits is padding; CPython skips it"),
]


FOOTER = (b"SGVsbG8gd29ybGQ=\r\n\r\n____\r\nThis list is archived at https://x.example/?a=b\r\n")


@pytest.mark.parametrize("encoded", [
    FOOTER,
    b"SGVsbG8gd29ybGQ=\r\n-- \r\nsig\r\n",
    b"SGVsbG8gd29ybGQ=\r\nSent from my phone\r\n",
    b"SGVsbG8gd29ybGQ=\r\n==\r\nfooter: text",
])
def test_text_after_the_padded_data_is_ignored(encoded: bytes) -> None:
    # A footer or disclaimer appended to a base64 body: CPython stops at the
    # padding, and so do we, rather than decoding the footer into junk.
    decoded, defects = decode_base64(encoded)
    assert decoded == b"Hello world" == compat32(encoded)
    assert K.BASE64_TRAILING_TEXT in [d.kind for d in defects]
    every = decode_chunked(encoded, list(range(len(encoded))))
    assert every == (decoded, defects)


def test_glued_blobs_go_on_but_a_footer_after_them_stops() -> None:
    encoded = b"SGVsbG8=\r\nV29y\r\nbGQ=\r\n\r\n-- \r\nsig\r\n"
    decoded, defects = decode_base64(encoded)
    assert decoded == b"HelloWorld"
    assert [d.kind for d in defects] == [K.BASE64_DATA_AFTER_PADDING, K.BASE64_TRAILING_TEXT]


def test_the_line_after_padding_is_judged_on_bounded_memory() -> None:
    # A clean line longer than the look-ahead is data; the hold is bounded.
    encoded = b"YQ==\r\n" + b"QUJD" * 2000 + b"\r\n"
    assert decode_base64(encoded)[0] == b"a" + b"ABC" * 2000
    decoder = Base64Decoder()
    decoder.feed(b"YQ==\r\n")
    for _ in range(2000):
        decoder.feed(b"QUJD")
        assert len(decoder._held) <= 1024
    assert decoder.close() == b""


@pytest.mark.parametrize(("encoded", "ours", "cpython", "why"), DIFFERENCES)
def test_deliberate_differences_from_cpython(
    encoded: bytes, ours: bytes, cpython: bytes, why: str
) -> None:
    assert compat32(encoded) == cpython
    assert decode_base64(encoded)[0] == ours, why


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        (b"QU JD\r\nRE\tVG\r\n", b"ABCDEF"),  # whitespace anywhere
        (b"QUJ!D", b"ABC"),  # junk skipped
        (b"QUJ-D_", b"ABC"),  # URL-safe alphabet is junk, as in CPython
        (b"QUI", b"AB"),  # missing padding
        (b"YW=Jj", b"abc"),  # stray "=" (non-zero unused bits) skipped
    ],
)
def test_same_as_cpython_on_tolerated_input(encoded: bytes, expected: bytes) -> None:
    assert decode_base64(encoded)[0] == expected == compat32(encoded)


@pytest.mark.parametrize(
    ("encoded", "decoded", "defects"),
    [
        (b"", b"", []),
        (b"YWJj", b"abc", []),
        (b"YQ", b"a", [(K.BASE64_PADDING, 12)]),
        (b"Y", b"", [(K.BASE64_PADDING, 11)]),
        (b"Y=", b"", [(K.BASE64_PADDING, 11)]),
        (b"=YWJj", b"abc", [(K.BASE64_PADDING, 10), (K.BASE64_DATA_AFTER_PADDING, 11)]),
        (b"YQ==YWJj", b"aabc", [(K.BASE64_DATA_AFTER_PADDING, 14)]),
        (b"YWJj====", b"abc", [(K.BASE64_PADDING, 14)]),
        (b"YQ===", b"a", [(K.BASE64_PADDING, 14)]),
        (b"YQ=", b"a", [(K.BASE64_PADDING, 13)]),
        (
            b"!!\r\n!!YWJj!",
            b"abc",
            [(K.BASE64_INVALID_CHARACTER, 10), (K.BASE64_INVALID_CHARACTER, 20)],
        ),
        (b"Y" * 77 + b"\r\nYWJj", None, [(K.BASE64_LINE_TOO_LONG, 86), (K.BASE64_PADDING, 93)]),
        (b"YWJj" * 19 + b"\r\n", b"abc" * 19, []),  # exactly 76 characters
    ],
)
def test_vectors(
    encoded: bytes, decoded: bytes | None, defects: list[tuple[DefectKind, int]]
) -> None:
    result, found = decode_base64(encoded, offset=10)
    if decoded is not None:
        assert result == decoded
    assert summary(found) == defects


def test_invalid_character_defects_are_capped() -> None:
    junk = b"QUJD!" * 10_000
    decoded, defects = decode_base64(junk)
    assert decoded == b"ABC" * 10_000
    invalid = [d for d in defects if d.kind is K.BASE64_INVALID_CHARACTER]
    assert len(invalid) == 101
    assert "limit reached" in invalid[-1].detail
    assert decode_chunked(junk, list(range(0, len(junk), 7))) == (decoded, defects)


def test_megabyte_of_junk_one_defect() -> None:
    junk = bytes(b for b in range(256) if b not in ALPHABET + b"=") * 4000
    decoded, defects = decode_base64(b"QUJD" + junk + b"QUJD")
    assert decoded == b"ABCABC"
    invalid = [d for d in summary(defects) if d[0] is K.BASE64_INVALID_CHARACTER]
    assert invalid == [(K.BASE64_INVALID_CHARACTER, 4)]  # one run, one defect


def test_large_body_in_chunks_bounded_state() -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    encoded = encode_base64(data)
    decoder = Base64Decoder(offset=0)
    pieces = []
    for start in range(0, len(encoded), 65536):
        pieces.append(decoder.feed(encoded[start : start + 65536]))
        assert len(decoder._quantum) < 4  # only a partial quantum is kept
    pieces.append(decoder.close())
    assert b"".join(pieces) == data
    assert decoder.defects == []


def test_mimekit_photo_vector() -> None:
    folder = CORPUS / "mimekit" / "encoders"
    if not (folder / "photo.b64").exists():
        folder = SHARED_CORPUS / "mimekit" / "encoders"
    if not (folder / "photo.b64").exists():
        pytest.skip("photo.* is GMime (LGPL) data, only in the shared corpus")
    encoded = (folder / "photo.b64").read_bytes()
    expected = (folder / "photo.jpg").read_bytes()
    decoded, defects = decode_base64(encoded)
    assert decoded == expected
    assert defects == []
    assert decode_chunked(encoded, list(range(0, len(encoded), 4093))) == (decoded, defects)


def test_caller_mistakes_raise() -> None:
    with pytest.raises(TypeError):
        decode_base64("YWJj")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Base64Decoder(offset=-1)
    decoder = Base64Decoder()
    decoder.close()
    with pytest.raises(ValueError):
        decoder.feed(b"YWJj")
    with pytest.raises(ValueError):
        decoder.close()
    with pytest.raises(ValueError):
        encode_base64(b"x", line_length=3)
    with pytest.raises(ValueError):
        encode_base64(b"x", linesep=b"\r")
    with pytest.raises(TypeError):
        encode_base64("x")  # type: ignore[arg-type]


def test_accepts_bytearray_and_memoryview() -> None:
    assert decode_base64(bytearray(b"YWJj")) == (b"abc", [])
    assert decode_base64(memoryview(b"YWJj")) == (b"abc", [])
    assert Base64Decoder().feed(bytearray(b"YWJj")) == b"abc"
