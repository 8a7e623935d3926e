"""Quoted-printable transfer decoding/encoding (mimekit.codecs._qp).

A pure-Python reference model states the decoding rules byte by byte; the
fast decoder (binascii.a2b_qp on regular stretches) must agree with it on
arbitrary input, for every chunking.
"""

from __future__ import annotations

import binascii
import email
import email.policy
import quopri
import re

import pytest
from conftest import CORPUS
from hypothesis import given, settings
from hypothesis import strategies as st

from mimekit import Defect, DefectKind
from mimekit.codecs import QPDecoder, decode_qp, encode_qp

HEX = b"0123456789ABCDEFabcdef"
K = DefectKind


def reference(data: bytes, offset: int = 0) -> tuple[bytes, list[tuple[DefectKind, int]]]:
    """The decoding rules, one byte at a time (see the _qp docstring)."""
    out = bytearray()
    found: list[tuple[DefectKind, int]] = []
    i, n = 0, len(data)
    while i < n:
        byte = data[i]
        if byte != 0x3D:
            out.append(byte)
            i += 1
            continue
        if i + 2 < n and data[i + 1] in HEX and data[i + 2] in HEX:
            out.append(int(data[i + 1 : i + 3], 16))
            i += 3
            continue
        j = i + 1
        while j < n and data[j] in b" \t":
            j += 1
        padding = j - i - 1
        if padding <= 256 and data[j : j + 1] == b"\n":
            i = j + 1  # soft line break, with or without transport padding
        elif padding <= 256 and data[j : j + 2] == b"\r\n":
            i = j + 2
        elif padding <= 256 and j == n:
            i = n  # "=" at the end of the data: final soft line break
        else:
            found.append((K.QP_INVALID_ESCAPE, offset + i))
            out.append(0x3D)
            i += 1
    start = offset
    for line in data.split(b"\n"):
        if len(line) - line.endswith(b"\r") > 76:
            found.append((K.QP_LINE_TOO_LONG, start + 76))
            break
        start += len(line) + 1
    return bytes(out), sorted(found, key=lambda d: (d[1], d[0].value))


def summary(defects: list[Defect]) -> list[tuple[DefectKind, int]]:
    return [(d.kind, d.offset) for d in defects]


def decode_chunked(data: bytes, cuts: list[int], offset: int = 0) -> tuple[bytes, list[Defect]]:
    decoder = QPDecoder(offset=offset)
    out = []
    previous = 0
    for cut in sorted(cuts):
        out.append(decoder.feed(data[previous:cut]))
        previous = cut
    out.append(decoder.feed(data[previous:]))
    out.append(decoder.close())
    return b"".join(out), decoder.defects


qpish = st.lists(
    st.sampled_from(
        [
            b"=",
            b"=3D",
            b"=e9",
            b"=C3=A9",
            b"=4",
            b"=Z",
            b"==",
            b"\r\n",
            b"\n",
            b"\r",
            b" ",
            b"\t",
            b"a",
            b"Z",
            b"0",
            b"_",
            b"\xff",
            b"x" * 70,
            b" " * 255,
        ]
    ),
    max_size=40,
).map(b"".join)


@given(data=qpish, offset=st.integers(0, 1000))
def test_matches_reference_model(data: bytes, offset: int) -> None:
    decoded, defects = decode_qp(data, offset=offset)
    assert (decoded, summary(defects)) == reference(data, offset)


@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_match_reference(data: bytes) -> None:
    decoded, defects = decode_qp(data)
    assert (decoded, summary(defects)) == reference(data)


@given(data=qpish, cuts=st.lists(st.integers(0, 5000), max_size=8), offset=st.integers(0, 99))
def test_any_chunking_same_result(data: bytes, cuts: list[int], offset: int) -> None:
    cuts = [c % (len(data) + 1) for c in cuts]
    assert decode_chunked(data, cuts, offset) == decode_qp(data, offset=offset)


@settings(max_examples=100)
@given(data=qpish)
def test_byte_at_a_time_same_result(data: bytes) -> None:
    assert decode_chunked(data, list(range(len(data)))) == decode_qp(data)


def test_long_padding_split_everywhere() -> None:
    for spaces in (1, 255, 256, 257):
        data = b"a=" + b" " * spaces + b"\r\nb=" + b"\t" * spaces
        whole = decode_qp(data)
        assert whole == (reference(data)[0], whole[1])
        for cut in range(len(data) + 1):
            assert decode_chunked(data, [cut]) == whole


# Text whose "=" are all regular: hex escapes and (CR)LF soft line breaks.
regular_qp = st.lists(
    st.sampled_from([b"=3D", b"=e9", b"=C3=A9", b"=\r\n", b"=\n", b"\r\n", b"a b", b"\t", b"x"])
).map(b"".join)


@given(regular_qp)
def test_regular_input_equals_binascii(data: bytes) -> None:
    assert decode_qp(data)[0] == binascii.a2b_qp(data) == quopri.decodestring(data)


@given(st.binary(max_size=2000))
def test_binary_round_trip(data: bytes) -> None:
    encoded = encode_qp(data, binary=True)
    assert decode_qp(encoded) == (data, [])
    check_encoded_lines(encoded, b"\r\n")


@given(st.binary(max_size=2000), st.sampled_from([b"\r\n", b"\n"]))
def test_text_round_trip(data: bytes, linesep: bytes) -> None:
    encoded = encode_qp(data, linesep=linesep)
    # Text mode: every CRLF or bare LF becomes linesep; bare CR is encoded.
    assert decode_qp(encoded) == (re.sub(rb"\r?\n", linesep, data), [])
    check_encoded_lines(encoded, linesep)


def check_encoded_lines(encoded: bytes, linesep: bytes) -> None:
    for line in encoded.split(linesep):
        assert len(line) <= 76
        assert not line.endswith((b" ", b"\t"))  # RFC 2045 rule (3)
        assert not line.startswith(b"From ")  # mbox safety
        assert re.fullmatch(rb"[!-~ \t]*", line)  # printable ASCII only
        assert b"\r" not in line and b"\n" not in line


@given(st.binary(max_size=500))
def test_encoded_output_equals_cpython_decoding(data: bytes) -> None:
    encoded = encode_qp(data, binary=True)
    assert quopri.decodestring(encoded) == data


def test_encoder_vectors() -> None:
    assert encode_qp(b"") == b""
    assert encode_qp(b"abc") == b"abc"
    assert encode_qp(b"a=b\n") == b"a=3Db\r\n"
    assert encode_qp(b"trailing  \nx\t") == b"trailing =20\r\nx=09"
    assert encode_qp(b"From me\r\n.\r\n") == b"=46rom me\r\n.\r\n"
    assert encode_qp(b"a\rb") == b"a=0Db"
    assert encode_qp(b"a\r\nb", binary=True) == b"a=0D=0Ab"
    assert encode_qp("Grüße".encode()) == b"Gr=C3=BC=C3=9Fe"
    long = encode_qp(b"x" * 100, linesep=b"\n")
    assert long == b"x" * 75 + b"=\n" + b"x" * 25
    # An escape is never split by a soft line break.
    split = encode_qp(b"x" * 74 + b"\xff" * 2).split(b"\r\n")
    assert split == [b"x" * 74 + b"=", b"=FF=FF"]
    # "From " after a soft line break is protected too.
    assert b"\r\n=46rom " in encode_qp(b"x" * 75 + b"From here")


# Each deliberate difference from CPython's a2b_qp: (input, mimekit, CPython).
DIFFERENCES = [
    (b"a=  \r\nb", b"ab", b"a=  \r\nb"),  # transport padding before a soft break
    (b"a= \t", b"a", b"a= \t"),  # padded "=" at the end is a soft break too
    (b"a==41", b"a=A", b"a=41"),  # "==": a2b_qp swallows the second "="
    (b"a=\rb\nc", b"a=\rb\nc", b"ac"),  # "=" CR: a2b_qp skips to the next LF
    (b"a=\r", b"a=\r", b"a"),
]


@pytest.mark.parametrize(("encoded", "ours", "cpython"), DIFFERENCES)
def test_deliberate_differences_from_cpython(encoded: bytes, ours: bytes, cpython: bytes) -> None:
    raw = b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + encoded
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert message.get_payload(decode=True) == cpython == binascii.a2b_qp(encoded)
    assert decode_qp(encoded)[0] == ours


@pytest.mark.parametrize(
    ("encoded", "decoded", "defects"),
    [
        (b"", b"", []),
        (b"caf=E9 caf=e9", b"caf\xe9 caf\xe9", []),  # lowercase hex accepted
        (b"soft=\r\nbreak=\nhere", b"softbreakhere", []),
        (b"a=", b"a", []),  # final soft line break (part body before a boundary)
        (b"keep \t\r\nspace \n", b"keep \t\r\nspace \n", []),  # trailing whitespace kept
        (b"=ZZ", b"=ZZ", [(K.QP_INVALID_ESCAPE, 10)]),
        (b"x=4", b"x=4", [(K.QP_INVALID_ESCAPE, 11)]),
        (b"a==41", b"a=A", [(K.QP_INVALID_ESCAPE, 11)]),
        (b"x" * 76 + b"\r\n", b"x" * 76 + b"\r\n", []),
        (b"x" * 77 + b"\n", b"x" * 77 + b"\n", [(K.QP_LINE_TOO_LONG, 86)]),
        (b"x" * 77, b"x" * 77, [(K.QP_LINE_TOO_LONG, 86)]),
        (b"x" * 76 + b"\r", b"x" * 76 + b"\r", []),
    ],
)
def test_vectors(encoded: bytes, decoded: bytes, defects: list[tuple[DefectKind, int]]) -> None:
    result, found = decode_qp(encoded, offset=10)
    assert result == decoded
    assert summary(found) == defects


def test_invalid_escape_defects_are_capped() -> None:
    data = b"=\r\n".join([b"=ZZ"] * 5000)
    decoded, defects = decode_qp(data)
    assert decoded == b"=ZZ" * 5000
    assert len(defects) == 101
    assert "limit reached" in defects[-1].detail
    assert decode_chunked(data, list(range(0, len(data), 5))) == (decoded, defects)


def test_mimekit_wikipedia_vector() -> None:
    folder = CORPUS / "mimekit" / "encoders"
    encoded = (folder / "wikipedia.qp").read_bytes()
    expected = (folder / "wikipedia.txt").read_bytes()
    # Both files use LF line endings; the decoder keeps them as they are.
    assert b"\r" not in encoded and b"\r" not in expected
    decoded, defects = decode_qp(encoded)
    assert decoded == expected
    assert defects == []
    assert decode_chunked(encoded, list(range(len(encoded)))) == (decoded, defects)
    # With CRLF input the output has CRLF: line endings are preserved.
    crlf = encoded.replace(b"\n", b"\r\n")
    assert decode_qp(crlf) == (expected.replace(b"\n", b"\r\n"), [])


def test_caller_mistakes_raise() -> None:
    with pytest.raises(TypeError):
        decode_qp("abc")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        QPDecoder(offset=-5)
    decoder = QPDecoder()
    decoder.close()
    with pytest.raises(ValueError):
        decoder.feed(b"abc")
    with pytest.raises(ValueError):
        encode_qp(b"x", linesep=b"\r")
    with pytest.raises(TypeError):
        encode_qp("x")  # type: ignore[arg-type]
