"""parse_range (mimekit/tree/_range.py): one byte range of a file, with single
bytes left out, parsed as a lazy message; what the mbox reader is built on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mimekit.tree._range import SMALL_RANGE, _RangeSource, parse_range
from mimekit.tree._source import FileSource


@st.composite
def _cases(draw: st.DrawFn) -> tuple[bytes, int, int, list[int]]:
    data = draw(st.binary(min_size=1, max_size=400))
    start = draw(st.integers(0, len(data)))
    end = draw(st.integers(start, len(data)))
    omit = sorted(draw(st.sets(st.integers(start, max(start, end - 1)), max_size=40))
                  if end > start else set())
    return data, start, end, omit


@given(_cases(), st.data())
def test_range_source_reads_and_finds_like_bytes(
        tmp_path_factory: pytest.TempPathFactory,
        case: tuple[bytes, int, int, list[int]], pick: st.DataObject) -> None:
    data, start, end, omit = case
    path = tmp_path_factory.mktemp("r") / "f"
    path.write_bytes(data)
    expected = bytes(b for i, b in enumerate(data) if start <= i < end and i not in omit)
    fd = os.open(path, os.O_RDONLY)
    try:
        src = _RangeSource(FileSource(fd, len(data), owned=False), start, end, omit)
        assert src.size == len(expected)
        assert src.read(0, src.size) == expected
        a = pick.draw(st.integers(0, src.size))
        b = pick.draw(st.integers(a, src.size + 3))
        assert src.read(a, b) == expected[a:b]
        needle = pick.draw(st.sampled_from([b"a", b"\n", b"From ", expected[a:a + 3] or b"x"]))
        assert src.find(needle, a, b) == expected.find(needle, a, min(b, src.size))
    finally:
        os.close(fd)


def _big_message() -> tuple[bytes, list[int]]:
    """An mboxrd-quoted message over 64 KiB, and where its quoting ">"s are."""
    body = b"".join(b"line %d\n>From quoted %d\n" % (i, i) for i in range(5000))
    raw = b"From sender Mon Jan  1 00:00:00 2024\nSubject: big\n\n" + body
    omit = [i for i in range(len(raw)) if raw.startswith(b">From", i) and raw[i - 1] == 0x0A]
    return raw, omit


def test_large_range_is_read_lazily_through_its_own_descriptor(tmp_path: Path) -> None:
    raw, omit = _big_message()
    assert len(raw) > SMALL_RANGE
    path = tmp_path / "mbox"
    path.write_bytes(b"junk\n" + raw + b"\nmore junk")
    shift = len(b"junk\n")
    with open(path, "rb") as f:
        msg = parse_range(f, shift, shift + len(raw), omit=[o + shift for o in omit])
    # The caller's file is closed; the message has its own descriptor.
    try:
        dropped = set(omit)
        expected = bytes(b for i, b in enumerate(raw) if i not in dropped)
        assert msg.mbox_from == b"From sender Mon Jan  1 00:00:00 2024\n"
        assert msg.subject == "big"
        assert bytes(msg) == expected
        assert msg.get_bytes().startswith(b"line 0\nFrom quoted 0\nline 1\n")
        assert msg.offset == 0 and msg.size == len(expected)
        # Replacing the file by name does not disturb the message.
        os.replace(tmp_path / "mbox", tmp_path / "old")
        (tmp_path / "mbox").write_bytes(b"something else")
        assert msg.get_bytes()[-40:] == expected[-40:]
    finally:
        msg.close()


def test_small_range_keeps_nothing_open(tmp_path: Path) -> None:
    path = tmp_path / "m"
    path.write_bytes(b"xxFrom a\nSubject: s\n\n>From b\nyy")
    fd = os.open(path, os.O_RDONLY)
    msg = parse_range(fd, 2, len(b"xxFrom a\nSubject: s\n\n>From b\n"), omit=[21])
    os.close(fd)
    assert bytes(msg) == b"From a\nSubject: s\n\nFrom b\n"
    assert msg.get_bytes() == b"From b\n"


@settings(max_examples=20)
@given(st.integers(0, 3))
def test_bad_arguments_raise(tmp_path_factory: pytest.TempPathFactory, n: int) -> None:
    path = tmp_path_factory.mktemp("bad") / "m"
    path.write_bytes(b"0123456789")
    with open(path, "rb") as f:
        with pytest.raises(ValueError):
            parse_range(f, 5, 4)
        with pytest.raises(ValueError):
            parse_range(f, -1 - n, 4)
        with pytest.raises(ValueError):
            parse_range(f, 0, 10, omit=[3, 3])
        with pytest.raises(ValueError):
            parse_range(f, 2, 8, omit=[1])
        with pytest.raises(ValueError):
            parse_range(f, 2, 8, omit=[5, 4])
        # The end is clipped to the file.
        assert bytes(parse_range(f, 8, 100)) == b"89"
