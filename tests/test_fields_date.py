"""Dates: RFC 5322 section 3.3 and the obsolete forms of section 4.3."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mimekit._defects import DefectKind
from mimekit.fields import UNKNOWN_TZ, format_date, parse_date
from mimekit.fields._date import parse_date_slow


def tz(minutes: int) -> timezone:
    return timezone(timedelta(minutes=minutes))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tue, 01 Jul 2003 10:52:37 +0200", datetime(2003, 7, 1, 10, 52, 37, tzinfo=tz(120))),
        ("Tue, 1 Jul 2003 10:52:37 +0200", datetime(2003, 7, 1, 10, 52, 37, tzinfo=tz(120))),
        ("1 Jul 2003 10:52:37 +0200", datetime(2003, 7, 1, 10, 52, 37, tzinfo=tz(120))),
        ("Tue, 1 Jul 2003 10:52 +0200", datetime(2003, 7, 1, 10, 52, tzinfo=tz(120))),
        (
            "  Tue,   1   Jul   2003   10:52:37   +0200  ",
            datetime(2003, 7, 1, 10, 52, 37, tzinfo=tz(120)),
        ),
        (
            "Mon, 10 Oct 2022 10:31:15 -0700 (PDT)",
            datetime(2022, 10, 10, 10, 31, 15, tzinfo=tz(-420)),
        ),
        (
            "Tue, 1 Jul 2003 ((tricky) comment) 10:52:37 +0200",
            datetime(2003, 7, 1, 10, 52, 37, tzinfo=tz(120)),
        ),
        ("tuesday, 1 july 2003 10:52:37 +0200", datetime(2003, 7, 1, 10, 52, 37, tzinfo=tz(120))),
        ("TUE, 1 JUL 2003 10:52:37 +0200", datetime(2003, 7, 1, 10, 52, 37, tzinfo=tz(120))),
        ("Fri, 21 Nov 1997 09:55:06 -0600", datetime(1997, 11, 21, 9, 55, 6, tzinfo=tz(-360))),
        ("Thu, 13 Feb 1969 23:32:54 -0330", datetime(1969, 2, 13, 23, 32, 54, tzinfo=tz(-210))),
        ("17 May 2026 22:15:15 +1345", datetime(2026, 5, 17, 22, 15, 15, tzinfo=tz(825))),
        # obsolete years (RFC 5322 4.3)
        ("21 Nov 97 09:55:06 GMT", datetime(1997, 11, 21, 9, 55, 6, tzinfo=UTC)),
        ("21 Nov 49 09:55:06 +0000", datetime(2049, 11, 21, 9, 55, 6, tzinfo=UTC)),
        ("21 Nov 50 09:55:06 +0000", datetime(1950, 11, 21, 9, 55, 6, tzinfo=UTC)),
        ("21 Nov 103 09:55:06 +0000", datetime(2003, 11, 21, 9, 55, 6, tzinfo=UTC)),
        # obsolete zones
        ("Sun, 27 Oct 2002 23:57:07 EST", datetime(2002, 10, 27, 23, 57, 7, tzinfo=tz(-300))),
        ("Sun, 27 Oct 2002 23:57:07 EDT", datetime(2002, 10, 27, 23, 57, 7, tzinfo=tz(-240))),
        ("Sun, 27 Oct 2002 23:57:07 CST", datetime(2002, 10, 27, 23, 57, 7, tzinfo=tz(-360))),
        ("Sun, 27 Oct 2002 23:57:07 CDT", datetime(2002, 10, 27, 23, 57, 7, tzinfo=tz(-300))),
        ("Sun, 27 Oct 2002 23:57:07 MST", datetime(2002, 10, 27, 23, 57, 7, tzinfo=tz(-420))),
        ("Sun, 27 Oct 2002 23:57:07 MDT", datetime(2002, 10, 27, 23, 57, 7, tzinfo=tz(-360))),
        ("Sun, 27 Oct 2002 23:57:07 PST", datetime(2002, 10, 27, 23, 57, 7, tzinfo=tz(-480))),
        ("Sun, 27 Oct 2002 23:57:07 PDT", datetime(2002, 10, 27, 23, 57, 7, tzinfo=tz(-420))),
        ("Sun, 27 Oct 2002 23:57:07 UT", datetime(2002, 10, 27, 23, 57, 7, tzinfo=UTC)),
        ("Sun, 27 Oct 2002 23:57:07 Z", datetime(2002, 10, 27, 23, 57, 7, tzinfo=UTC)),
        ("Sun, 27 Oct 2002 23:57:07 GMT+0200", datetime(2002, 10, 27, 23, 57, 7, tzinfo=tz(120))),
        # asctime and other shapes
        ("Tue Jul  1 10:52:37 2003 +0200", datetime(2003, 7, 1, 10, 52, 37, tzinfo=tz(120))),
        ("Jul 1, 2003 10:52:37 +0200", datetime(2003, 7, 1, 10, 52, 37, tzinfo=tz(120))),
        ("20 11 79 05:34:27 -0300", datetime(1979, 11, 20, 5, 34, 27, tzinfo=tz(-180))),
        (
            "from x by y; Mon, 10 Oct 2022 10:31:15 -0700",
            datetime(2022, 10, 10, 10, 31, 15, tzinfo=tz(-420)),
        ),
    ],
)
def test_parse(text: str, expected: datetime) -> None:
    dt, _ = parse_date(text)
    assert dt == expected
    assert dt is not None and dt.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("zone", ["A", "M", "N", "Y", "a", "ZZZZ", "IST"])
def test_military_and_unknown_zones_are_minus_0000(zone: str) -> None:
    dt, defects = parse_date(f"Thu, 10 Jul 1997 14:53:31 {zone}")
    assert dt is not None and dt.tzinfo is UNKNOWN_TZ and dt.utcoffset() == timedelta(0)
    assert defects


def test_minus_0000_round_trips() -> None:
    dt, defects = parse_date("Thu, 10 Jul 1997 14:53:31 -0000")
    assert dt is not None and dt.tzinfo is UNKNOWN_TZ and not defects
    assert format_date(dt) == "Thu, 10 Jul 1997 14:53:31 -0000"
    dt2, _ = parse_date("Thu, 10 Jul 1997 14:53:31 +0000")
    assert dt2 is not None and format_date(dt2) == "Thu, 10 Jul 1997 14:53:31 +0000"
    assert dt == dt2  # same instant


def test_missing_zone() -> None:
    dt, defects = parse_date("Tue, 1 Jul 2003 10:52:37")
    assert dt is not None and dt.tzinfo is UNKNOWN_TZ
    assert {d.kind for d in defects} == {DefectKind.INVALID_DATE}


@pytest.mark.parametrize(
    "text",
    [
        "Mon, 30 Feb 2004 10:00:00 +0000",
        "Tue, 1 Jul 2003 25:00:00 +0000",
        "Tue, 1 Jul 2003 24:00:00 +0000",
        "Tue, 1 Jul 2003 10:60:00 +0000",
        "Tue, 1 Jul 2003 10:00:61 +0000",
        "1 Jul 0000 10:00:00 +0000",
        "1 Jul 99999 10:00:00 +0000",
        "1 Jul 2003 10:00:00 +9999",
        "1 Jul 2003 10:00:00 -2400",
        "1 Jul 2003 10:00:00 +0160",
        "1 Zzz 2003 10:00:00 +0000",
        "0 Jul 2003 10:00:00 +0000",
        "32 Jul 2003 10:00:00 +0000",
        "1 Jul " + "9" * 5000 + " 10:00:00 +0000",
        "1 Jul 2003 " + "1" * 5000 + ":00 +0000",
        "1 Jul 2003 10:00:00 +" + "1" * 5000,
        "",
        "   ",
        "garbage",
        "Tue, 1 Jul 2003 ((unclosed comment 10:52:37 +0200",
        "Tue, 7 00 2026 19:14:51 +0000",
    ],
)
def test_impossible_dates_give_none_and_a_defect(text: str) -> None:
    dt, defects = parse_date(text)
    assert dt is None
    assert any(d.kind is DefectKind.INVALID_DATE for d in defects)


def test_leap_second_and_wrong_weekday() -> None:
    dt, defects = parse_date("Wed, 31 Dec 2008 23:59:60 +0000")
    assert dt == datetime(2008, 12, 31, 23, 59, 59, tzinfo=UTC) and defects
    dt, defects = parse_date("Mon, 01 Jul 2003 10:52:37 +0200")  # a Tuesday
    assert dt == datetime(2003, 7, 1, 10, 52, 37, tzinfo=tz(120))
    assert any("day of week" in d.detail for d in defects)


def test_trailing_junk_is_tolerated() -> None:
    dt, defects = parse_date("Tue, 1 Jul 2003 10:52:37 +0200 blah blah")
    assert dt == datetime(2003, 7, 1, 10, 52, 37, tzinfo=tz(120)) and defects


def test_format_date() -> None:
    assert format_date(datetime(2003, 7, 1, 10, 52, 37, tzinfo=tz(120))) == (
        "Tue, 01 Jul 2003 10:52:37 +0200"
    )
    assert format_date(datetime(1969, 2, 13, 23, 32, 54, 999, tzinfo=tz(-210))) == (
        "Thu, 13 Feb 1969 23:32:54 -0330"
    )
    # A zone that is not whole minutes is written in UTC.
    odd = timezone(timedelta(seconds=3601))
    assert format_date(datetime(2003, 7, 1, 10, 0, 0, tzinfo=odd)).endswith(" +0000")
    with pytest.raises(ValueError):
        format_date(datetime(2003, 7, 1))


def test_fast_path_matches_slow_path_on_samples() -> None:
    for text in [
        "Tue, 01 Jul 2003 10:52:37 +0200",
        "1 Jul 2003 10:52 -0000",
        "Mon, 10 Oct 2022 10:31:15 -0700 (PDT)",
        "Mon, 01 Jul 2003 10:52:37 +0200",
    ]:
        assert parse_date(text) == parse_date_slow(text)
