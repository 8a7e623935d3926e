"""uuencode (the x-uuencode transfer encoding): vectors, stdlib parity, chunking."""

from __future__ import annotations

import binascii
import email
import email.policy

import pytest
from conftest import SHARED_CORPUS
from hypothesis import given
from hypothesis import strategies as st
from test_codecs_linear import _ratio

import mimekit
from mimekit import DefectKind
from mimekit.codecs import UUDecoder, decode_uu, find_uu


def uuencode(data: bytes, name: str = "f.bin", nl: bytes = b"\n") -> bytes:
    lines = [b"begin 644 " + name.encode()]
    lines += [binascii.b2a_uu(data[i:i + 45]).rstrip(b"\n") for i in range(0, len(data), 45)]
    return nl.join([*lines, b"`", b"end", b""])


@given(st.binary(max_size=500), st.sampled_from([b"\n", b"\r\n"]))
def test_round_trip_and_chunking(data: bytes, nl: bytes) -> None:
    enc = b"some text before\n" + uuencode(data, nl=nl) + b"trailing junk\n"
    out, defects = decode_uu(enc)
    assert out == data and defects == []
    dec = UUDecoder()
    got = b"".join(dec.feed(enc[i:i + 1]) for i in range(len(enc))) + dec.close()
    assert got == data and dec.defects == [] and dec.filename == "f.bin"


def test_without_begin_the_body_is_kept() -> None:
    out, defects = decode_uu(b"not uuencoded at all\n")
    assert out == b"not uuencoded at all\n"
    assert [d.kind for d in defects] == [DefectKind.UUENCODE_INVALID]


def test_missing_end_and_damaged_line() -> None:
    enc = uuencode(b"hello world")
    damaged = enc.replace(b"\n`\nend\n", b"EXTRA\n")
    out, defects = decode_uu(damaged)
    assert out == b"hello world"
    assert {d.kind for d in defects} == {DefectKind.UUENCODE_INVALID}


def test_same_as_compat32_in_a_message() -> None:
    payload = bytes(range(200))
    raw = (b"Content-Type: application/octet-stream\nContent-Transfer-Encoding: x-uuencode\n\n"
           + uuencode(payload))
    std = email.message_from_bytes(raw, policy=email.policy.compat32).get_payload(decode=True)
    msg = mimekit.parse(raw)
    assert msg.get_bytes() == std == payload
    assert msg.defects == ()


# -- uuencoded files inside text (find_uu) ------------------------------------------


PHOTO = SHARED_CORPUS / "mimekit" / "encoders"
needs_shared = pytest.mark.skipif(not PHOTO.is_dir(),
                                  reason="GMime-derived photo.uu lives only in ../shared")


@needs_shared
@pytest.mark.parametrize("name", ["photo.uu", "photo.uu-states"])
def test_find_uu_gmime_photo(name: str) -> None:
    # photo.uu-states starts with "x", "bx", ... "beginx" lines: not blocks.
    [block] = find_uu((PHOTO / name).read_bytes())
    assert block.data == (PHOTO / "photo.jpg").read_bytes()
    assert (block.mode, block.name, block.filename, block.defects) == (
        0o644, b"photo.jpg", "photo.jpg", ())


@given(st.lists(st.binary(max_size=200), min_size=1, max_size=3),
       st.sampled_from([b"\n", b"\r\n"]))
def test_find_uu_round_trip(files: list[bytes], nl: bytes) -> None:
    text = b"Here are the files:" + nl
    for i, data in enumerate(files):
        text += uuencode(data, name=f"file {i}.bin", nl=nl) + b"begin the next one" + nl
    blocks = find_uu(text, offset=7)
    assert [(b.data, b.filename, b.defects) for b in blocks] == [
        (data, f"file {i}.bin", ()) for i, data in enumerate(files)]
    assert text[blocks[0].start - 7:].startswith(b"begin 644 file 0.bin")
    assert text[blocks[-1].stop - 7:] == b"begin the next one" + nl


@pytest.mark.parametrize("text", [
    b"begin 644 the meeting\nwith a sentence.\nend\n",   # prose
    b"begin 644 f.bin\n\nSome text.\n",                  # blank line, then prose
    b"  begin 644 f.bin\n#86)C\n`\nend\n",                # not at the start of a line
    b"begin 999 f.bin\n#86)C\n`\nend\n",                  # not an octal mode
    b"begin 644\n#86)C\n`\nend\n",                        # no name
    b"begin 644 f.bin\nM86)C\n`\nend\n",                  # line shorter than announced
    b"begin 644 f.bin",
    b"",
])
def test_find_uu_not_blocks(text: bytes) -> None:
    assert find_uu(text) == []


def test_find_uu_lenient_endings() -> None:
    # A blank line (its space stripped) for the zero-length line; an empty file.
    [block] = find_uu(b"begin 600 a.txt\n#86)C\n\nend\n")
    assert block.data == b"abc" and block.defects == ()
    [block] = find_uu(b"begin 600 empty\n`\nend\n")
    assert block.data == b"" and block.defects == ()
    # No "end": the block ends at the first line that is not uuencoded data.
    text = b"begin 600 a.txt\n#86)C\nThanks, Bob\n"
    [block] = find_uu(text)
    assert block.data == b"abc" and text[block.stop:] == b"Thanks, Bob\n"
    assert [d.detail for d in block.defects] == ["no 'end' line"]
    assert block.defects[0].offset == block.stop
    # A damaged line is cut to its announced length.
    [block] = find_uu(b"begin 600 a.txt\n#86)C  X\n`\nend\n")
    assert block.data == b"abc"
    assert [(d.kind, d.offset) for d in block.defects] == [(DefectKind.UUENCODE_INVALID, 16)]


def test_find_uu_max_blocks() -> None:
    assert len(find_uu(uuencode(b"x") * 4, max_blocks=2)) == 2


@pytest.mark.parametrize("make", [
    lambda n: b"begin 644 x\n" * n,
    lambda n: b"begin 644 x\n#86)C\n" * n,
    lambda n: b"begin 644 x\n" + b"M" + b"!" * 60 + b"\n" * n,
    lambda n: b"xbegin " * n,
], ids=["begin-lines", "blocks-without-end", "long-block", "begin-inside-lines"])
def test_find_uu_linear(make: object) -> None:
    ratio = _ratio(lambda d: find_uu(d, max_blocks=1 << 30), make, 10_000)  # type: ignore[arg-type]
    assert ratio < 25
