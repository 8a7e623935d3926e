"""Sequence sets (RFC 3501 section 9) as the server reads them."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mimekit.imap._seqset import MAX_NUMBER, SequenceSet, SequenceSetError, format_numbers

_NUMBER = st.integers(1, MAX_NUMBER) | st.none()
_ITEMS = st.lists(st.tuples(_NUMBER, _NUMBER), min_size=1, max_size=8)


@given(_ITEMS)
def test_format_parse_round_trip(items: list[tuple[int | None, int | None]]) -> None:
    sset = SequenceSet(tuple(items))
    assert SequenceSet.parse(str(sset)) == sset


@given(st.sets(st.integers(1, 10_000), min_size=1, max_size=50))
def test_numbers_round_trip(numbers: set[int]) -> None:
    text = format_numbers(numbers)
    assert SequenceSet.parse(text).select(sorted(numbers)) == sorted(numbers)
    assert SequenceSet.parse(text).message_numbers(10_000) == sorted(numbers)


@given(_ITEMS, st.integers(0, 50))
def test_ranges_are_sorted_merged_and_clipped(items: list[tuple[int | None, int | None]],
                                              largest: int) -> None:
    spans = SequenceSet(tuple(items)).ranges(largest)
    for (lo, hi), nxt in itertools.pairwise(spans):
        assert lo <= hi < nxt[0] - 1
    values = list(range(1, largest + 1))
    selected = SequenceSet(tuple(items)).select(values)
    assert selected == sorted(set(selected))


def test_examples() -> None:
    s = SequenceSet.parse("1:3,7,9:*")
    assert s.ranges(12) == [(1, 3), (7, 7), (9, 12)]
    assert SequenceSet.parse("4:2").message_numbers(5) == [2, 3, 4]
    assert SequenceSet.parse("*").message_numbers(5) == [5]
    assert SequenceSet.parse("3:*").select([1, 2]) == [2]  # RFC 3501: n:* names the largest
    assert SequenceSet.parse("1:*").select([]) == []
    assert str(SequenceSet.of([5, 1, 2, 3])) == "1:3,5"
    assert SequenceSet.parse(b"1,2").items == ((1, 1), (2, 2))


@pytest.mark.parametrize("text", ["", "0", "01", "1:0", "1,", ",1", "1::2", "a", "1 2",
                                  "-1", "4294967296", "1:4294967296", "\uff11", "*:", "1.5"])
def test_malformed(text: str) -> None:
    with pytest.raises(SequenceSetError):
        SequenceSet.parse(text)


def test_message_numbers_past_exists() -> None:
    with pytest.raises(SequenceSetError):
        SequenceSet.parse("1:6").message_numbers(5)
    with pytest.raises(SequenceSetError):
        SequenceSet.parse("1:*").message_numbers(0)
