"""yEnc (yEnc 1.3 draft): MimeKit's fixtures, round trips, damage, joining, linear time."""

from __future__ import annotations

import re
import zlib

import pytest
from conftest import CORPUS
from hypothesis import given
from hypothesis import strategies as st
from test_codecs_linear import _ratio

from mimekit import DefectKind
from mimekit.codecs import YEncBlock, YEncJoinError, decode_yenc, find_yenc, join_yenc

YENC = CORPUS / "mimekit" / "yenc"


def yencode(data: bytes, *, name: str = "f.bin", line: int = 128, nl: bytes = b"\r\n",
            part: int | None = None, total: int | None = None, begin: int = 1,
            size: int | None = None, crc: bool = True) -> bytes:
    """A yEnc encoder (draft 1.3), escaping NUL, LF, CR, '=' and edge TAB/SPACE/'.'."""
    lines: list[bytes] = []
    cur = bytearray()
    for byte in data:
        out = (byte + 42) & 0xFF
        edge = not cur or len(cur) >= line - 1
        if out in (0, 10, 13, 61) or (edge and out in (9, 32)) or (not cur and out == 46):
            cur += bytes([61, (out + 64) & 0xFF])
        else:
            cur.append(out)
        if len(cur) >= line:
            lines.append(bytes(cur))
            cur = bytearray()
    if cur:
        lines.append(bytes(cur))
    whole = size if size is not None else len(data)
    head = f"=ybegin part={part} total={total} " if part and total else (
        f"=ybegin part={part} " if part else "=ybegin ")
    head += f"line={line} size={whole} name={name}"
    out_lines = [head.encode()]
    tail = f"=yend size={len(data)}"
    if part:
        out_lines.append(f"=ypart begin={begin} end={begin + len(data) - 1}".encode())
        tail += f" part={part} pcrc32={zlib.crc32(data):08x}"
    elif crc:
        tail += f" crc32={zlib.crc32(data):08x}"
    return nl.join([*out_lines, *lines, tail.encode(), b""])


# -- MimeKit's test data ----------------------------------------------------------


def test_simple_message() -> None:
    [block] = find_yenc((YENC / "simple.msg").read_bytes())
    assert block.name == b"testfile.txt" and block.filename == "testfile.txt"
    assert len(block.data) == 584 and zlib.crc32(block.data) == 0xDED29F4F
    assert block.size == 584 and block.crc32 == 0xDED29F4F and block.part is None
    assert block.complete and block.defects == ()


def test_state_changes() -> None:
    # Lines that start like "=ybegin" but are not ("=ybeginx", "=ybegi") are text.
    data, defects = decode_yenc((YENC / "state-changes.ntx").read_bytes())
    assert len(data) == 584 and zlib.crc32(data) == 0xDED29F4F and defects == []


def test_multipart_join_any_order() -> None:
    one = find_yenc((YENC / "00000020.ntx").read_bytes())
    two = find_yenc((YENC / "00000021.ntx").read_bytes())
    assert [(b.part, b.begin, b.end, len(b.data), b.defects) for b in one + two] == [
        (1, 1, 11250, 11250, ()), (2, 11251, 19338, 8088, ())]
    expected = (YENC / "joystick.jpg").read_bytes()
    for blocks in (one + two, two + one, two + one + two):
        assert join_yenc(blocks) == (expected, [])
    with pytest.raises(YEncJoinError, match="bytes 11251 to 19338 are missing"):
        join_yenc(one)
    with pytest.raises(YEncJoinError, match=re.escape("parts missing: 1 (of 2)")):
        join_yenc(two)


@pytest.mark.parametrize(("text", "data"), [
    # MimeKit's YPart transition inputs: keyword lines are never data.
    (b"=ybegin part=1 line=128 size=19338 name=joystick.jpg\n=ypart begin=1 end=11250\ncontent",
     bytes((c - 42) & 0xFF for c in b"content")),
    (b"=ybegin part=1 line=128 size=19338 name=joystick.jpg\n=ypxcontent", None),
    (b"=ybegin part=1 line=128 size=19338 name=joystick.jpg\n=yxcontent", None),
    # Deviation: "=x" is an escape (MimeKit drops the "=").
    (b"=ybegin part=1 line=128 size=19338 name=joystick.jpg\n=xcontent",
     bytes([(ord("x") - 106) & 0xFF]) + bytes((c - 42) & 0xFF for c in b"content")),
])
def test_keyword_line_transitions(text: bytes, data: bytes | None) -> None:
    blocks = find_yenc(text)
    assert [b.data for b in blocks] == ([] if data is None else [data])


# -- round trips ------------------------------------------------------------------------


@given(st.binary(max_size=700), st.sampled_from([b"\n", b"\r\n"]),
       st.integers(min_value=2, max_value=130))
def test_round_trip(data: bytes, nl: bytes, line: int) -> None:
    text = b"Hello" + nl + yencode(data, nl=nl, line=line) + b"-- " + nl + b"sig" + nl
    [block] = find_yenc(text, offset=100)
    assert block.data == data and block.defects == () and block.complete
    assert block.start == 100 + 5 + len(nl)
    assert text[block.stop - 100:] == b"-- " + nl + b"sig" + nl


@given(st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=5))
def test_parts_round_trip(pieces: list[bytes]) -> None:
    whole = b"".join(pieces)
    text = b""
    begin = 1
    for n, piece in enumerate(pieces, 1):
        text += yencode(piece, part=n, total=len(pieces), begin=begin, size=len(whole))
        begin += len(piece)
    blocks = find_yenc(text)
    assert [b.part for b in blocks] == list(range(1, len(pieces) + 1))
    assert all(b.defects == () for b in blocks)
    assert join_yenc(reversed(blocks)) == (whole, [])


# -- damage -------------------------------------------------------------------------------


def _kinds(block: YEncBlock) -> set[DefectKind]:
    return {d.kind for d in block.defects}


def test_crc_and_size_mismatch() -> None:
    text = yencode(bytes(range(256)) * 2, line=64)
    lines = text.split(b"\r\n")
    flipped = b"\r\n".join([*lines[:2], bytes([lines[2][0] ^ 1]) + lines[2][1:], *lines[3:]])
    [block] = find_yenc(flipped)
    assert _kinds(block) == {DefectKind.YENC_CRC_MISMATCH}
    short = b"\r\n".join([*lines[:2], *lines[3:]])
    [block] = find_yenc(short)
    assert _kinds(block) == {DefectKind.YENC_CRC_MISMATCH, DefectKind.YENC_SIZE_MISMATCH}
    assert len(block.data) == 512 - 64


def test_missing_yend_stops_at_the_announced_size() -> None:
    enc = yencode(b"x" * 300, line=100).split(b"=yend")[0]
    [block] = find_yenc(enc + b"-- \r\nsignature\r\n")
    assert block.data == b"x" * 300 and not block.complete
    assert _kinds(block) == {DefectKind.UUENCODE_INVALID}
    assert (enc + b"-- \r\n")[block.stop:].startswith(b"-- ")


def test_missing_yend_before_the_next_block() -> None:
    first = yencode(b"one", name="a").split(b"=yend")[0]
    blocks = find_yenc(first + yencode(b"two", name="b"))
    assert [(b.name, b.data, b.complete) for b in blocks] == [
        (b"a", b"one", False), (b"b", b"two", True)]


def test_junk_keyword_lines_dangling_escape_long_lines() -> None:
    text = b"=ybegin line=4 size=3 name=my file.bin \n=yjunk\nKLM=\n=yend size=3\n"
    [block] = find_yenc(text)
    assert block.name == b"my file.bin" and block.data == b"!\"#"
    details = sorted(d.detail for d in block.defects)
    assert details == ["data ends with a lone '='", "unexpected yEnc keyword line skipped"]
    [block] = find_yenc(b"=ybegin line=2 size=6 name=f\nKLMNOP\n=yend\n")
    assert [d.detail for d in block.defects] == ["a line is longer than line=2"]


def test_missing_keywords() -> None:
    [block] = find_yenc(b"=ybegin line=128\nKLM\n=yend\n")
    assert block.name is None and block.filename is None and block.data == b"!\"#"
    assert [d.detail for d in block.defects] == ["=ybegin without a valid size=",
                                                 "=ybegin without a name="]
    [block] = find_yenc(b"=ybegin part=1 size=3 name=f\nKLM\n=yend size=3 part=2\n")
    assert sorted(d.detail for d in block.defects) == [
        "=ybegin part= without =ypart", "=yend part=2 in a block of part=1"]


@pytest.mark.parametrize("text", [
    b"=ybegin\nKLM\n=yend\n", b"=ybeginx line=1 name=x\nKLM\n=yend\n",
    b"=ybegin2 line=1 name=x\nKLM\n=yend\n", b"x=ybegin line=1 name=x\nKLM\n=yend\n",
    b"=ybegin line=128 size=3 name=x\n=ybegin line=128 size=3 name=x\n", b"",
])
def test_not_blocks(text: bytes) -> None:
    assert find_yenc(text) == []
    assert decode_yenc(text)[0] == b""


def test_max_blocks() -> None:
    text = yencode(b"a") * 5
    assert len(find_yenc(text, max_blocks=3)) == 3


# -- joining errors ----------------------------------------------------------------------


def _part(n: int, data: bytes, **kwargs: object) -> YEncBlock:
    fields: dict[str, object] = {"start": 0, "stop": 0, "name": b"f", "data": data,
                                 "part": n, "size": 6}
    fields.update(kwargs)
    return YEncBlock(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(("blocks", "message"), [
    ([], "no yEnc blocks"),
    ([_part(1, b"abc"), _part(2, b"def", name=b"g")], "different files"),
    ([_part(1, b"abc"), _part(1, b"abd")], "part 1 is given twice"),
    ([_part(1, b"abc", total=3), _part(2, b"def", total=3)], "parts missing: 3 (of 3)"),
    ([_part(1, b"abc", total=2), _part(2, b"def", total=3)], "disagree on total"),
    ([_part(1, b"abc"), _part(3, b"def")], "parts missing: 2 (of 3)"),
    ([_part(1, b"abc", total=1), _part(2, b"def")], "beyond total=1"),
    ([_part(1, b"abc"), _part(None, b"abcdef")], "single-part"),  # type: ignore[arg-type]
])
def test_join_errors(blocks: list[YEncBlock], message: str) -> None:
    with pytest.raises(YEncJoinError, match=re.escape(message)) as info:
        join_yenc(blocks)
    assert isinstance(info.value, ValueError)
    assert info.value.missing == ("missing" in message)


def test_join_defects() -> None:
    data, defects = join_yenc([_part(1, b"abc", crc32=1), _part(2, b"de")])
    assert data == b"abcde"
    assert {d.kind for d in defects} == {DefectKind.YENC_SIZE_MISMATCH,
                                         DefectKind.YENC_CRC_MISMATCH}
    single = _part(None, b"abc")  # type: ignore[arg-type]
    assert join_yenc([single, single]) == (b"abc", [])


# -- linear time ------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda n: b"=ybegin line=128 size=1 name=x\n" * n,
    lambda n: b"=ybegin line=128 size=99999999 name=x\n" + b"=yjunk\nKLM\n" * n,
    lambda n: b"=ybegin line=128 size=99999999 name=x\n" + b"KLM=}=J\n" * n,
    lambda n: (b"=ybegin line=128 size=1 name=x\nK\n=yend\n" * n),
    lambda n: b"x=ybegin " * n,
], ids=["begin-lines", "junk-keywords", "no-yend", "many-blocks", "begin-inside-lines"])
def test_linear(make: object) -> None:
    assert _ratio(lambda d: find_yenc(d, max_blocks=1 << 30), make, 3_000) < 25  # type: ignore[arg-type]
