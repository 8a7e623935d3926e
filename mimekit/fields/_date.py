"""Dates: RFC 5322 section 3.3 ``date-time``, with the section 4.3 obsolete forms.

ABNF (RFC 5322 section 3.3 and 4.3)::

    date-time       =   [ day-of-week "," ] date time [CFWS]
    day-of-week     =   ([FWS] day-name) / obs-day-of-week
    day-name        =   "Mon" / "Tue" / "Wed" / "Thu" / "Fri" / "Sat" / "Sun"
    date            =   day month year
    day             =   ([FWS] 1*2DIGIT FWS) / obs-day
    month           =   "Jan" / "Feb" / "Mar" / "Apr" / "May" / "Jun" /
                        "Jul" / "Aug" / "Sep" / "Oct" / "Nov" / "Dec"
    year            =   (FWS 4*DIGIT FWS) / obs-year
    time            =   time-of-day zone
    time-of-day     =   hour ":" minute [ ":" second ]
    zone            =   (FWS ( "+" / "-" ) 4DIGIT) / obs-zone
    obs-year        =   [CFWS] 2*DIGIT [CFWS]
    obs-zone        =   "UT" / "GMT" / "EST" / "EDT" / "CST" / "CDT" /
                        "MST" / "MDT" / "PST" / "PDT" /
                        %d65-73 / %d75-90 / %d97-105 / %d107-122

Decisions (each reading gives a defect unless marked *legal*):

* Two- and three-digit years follow RFC 5322 section 4.3: 00-49 is
  2000-2049, 50-99 and any three-digit year add 1900.
* ``UT``/``GMT`` are +0000 and the US zones have their RFC offsets. ``Z`` is
  +0000. The other military zones are read as ``-0000`` (RFC 5322 section
  4.3: RFC 822 got their signs wrong, so their meaning is unknown), and so
  are an unknown zone name and a missing zone. A few unambiguous modern
  abbreviations (``UTC``, ``CET``, ``CEST``, ``BST``, ``JST``...) are
  understood; ambiguous ones (``IST``) are unknown.
* ``-0000`` (*legal*: "UTC, local zone unknown") is kept apart from
  ``+0000``: the datetime's tzinfo is :data:`UNKNOWN_TZ`, equal in offset to
  UTC but named ``"-0000"``, and :func:`format_date` writes ``-0000`` again.
* Lenient shapes: lower case and full month/day names, a missing weekday or
  comma (*legal*), missing seconds (*legal*), fractional seconds (dropped),
  comments anywhere (*legal*),
  a numeric month (``20 11 79``), asctime order (``Jul 1 10:52:37 2003``),
  text before a ``;`` (a Received field), trailing junk.
* An impossible date (30 February, hour 25, year 0 or 99999, a one-digit
  year, zone ``+9999``) gives ``None`` and INVALID_DATE; a leap second
  (``:60``) becomes ``:59``. A four-digit year before 1900 is kept, with
  INVALID_DATE (RFC 5322 section 3.3 says "1900 or later").
  Nothing raises: every ``int()`` is on at most nine digits.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

from .._defects import Defect, DefectKind
from ._lexer import strip_comments

__all__ = ["UNKNOWN_TZ", "format_date", "parse_date", "parse_date_slow"]

#: The zone of a ``-0000`` date: offset zero, "local zone unknown" (RFC 5322 3.3).
UNKNOWN_TZ: Final = timezone(timedelta(0), "-0000")

_INVALID = DefectKind.INVALID_DATE
_OBSOLETE = DefectKind.OBSOLETE_SYNTAX

_DAY_NAMES: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
_MONTHS: Final = {m.lower(): i + 1 for i, m in enumerate(_MONTH_NAMES)}
_MONTHS.update(
    {
        "january": 1,
        "february": 2,
        "march": 3,
        "april": 4,
        "june": 6,
        "july": 7,
        "august": 8,
        "september": 9,
        "sept": 9,
        "october": 10,
        "november": 11,
        "december": 12,
    }
)
_DAYS: Final = {d.lower(): i for i, d in enumerate(_DAY_NAMES)}
_DAYS.update(
    {
        "monday": 0,
        "tuesday": 1,
        "wednesday": 2,
        "thursday": 3,
        "friday": 4,
        "saturday": 5,
        "sunday": 6,
        "tues": 1,
        "thur": 3,
        "thurs": 3,
    }
)
# RFC 5322 obs-zone, in minutes east of UTC.
_RFC_ZONES: Final = {
    "ut": 0,
    "gmt": 0,
    "z": 0,
    "est": -300,
    "edt": -240,
    "cst": -360,
    "cdt": -300,
    "mst": -420,
    "mdt": -360,
    "pst": -480,
    "pdt": -420,
}
# Modern abbreviations that mean one thing only (not RFC syntax: a defect).
_OTHER_ZONES: Final = {
    "utc": 0,
    "wet": 0,
    "west": 60,
    "bst": 60,
    "cet": 60,
    "cest": 120,
    "met": 60,
    "mest": 120,
    "eet": 120,
    "eest": 180,
    "msk": 180,
    "jst": 540,
    "kst": 540,
    "hkt": 480,
    "sgt": 480,
    "aest": 600,
    "aedt": 660,
    "acst": 570,
    "awst": 480,
    "nzst": 720,
    "nzdt": 780,
    "akst": -540,
    "akdt": -480,
    "hst": -600,
}

_TZ_CACHE: dict[int, timezone] = {0: UTC}


def _tz(minutes: int) -> timezone:
    tz = _TZ_CACHE.get(minutes)
    if tz is None:
        tz = _TZ_CACHE[minutes] = timezone(timedelta(minutes=minutes))
    return tz


# The canonical RFC 5322 shape, as written by nearly every mailer, with an
# optional trailing "(PDT)"-style comment. A match that names an impossible
# date or a wrong weekday falls through to the full parser (for its defects).
_FAST = re.compile(
    r"[ \t]*(?:(Mon|Tue|Wed|Thu|Fri|Sat|Sun),[ \t]*)?([0-9]{1,2})[ \t]+"
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[ \t]+([0-9]{4})[ \t]+"
    r"([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?[ \t]+([+-])([0-9]{2})([0-9]{2})"
    r"(?:[ \t]+\([A-Za-z0-9 +\-:.]*\))?[ \t]*\Z"
)
_FAST_MONTHS: Final = {m: i + 1 for i, m in enumerate(_MONTH_NAMES)}
_FAST_DAYS: Final = {d: i for i, d in enumerate(_DAY_NAMES)}

# Lexer for the full parser: time, signed number, number, word, comma, other.
_TOKEN = re.compile(
    r"([0-9]+:[0-9]+(?::[0-9]+)?)|([+-][0-9]+)|([0-9]+)|([A-Za-z]+)|(,)|([^ \t\r\n])"
)


def parse_date(text: str) -> tuple[datetime | None, list[Defect]]:
    """Parse the value of a Date (or Resent-Date) field.

    Args:
        text: The unfolded field value.

    Returns:
        ``(datetime, defects)``; the datetime is timezone-aware, or ``None``
        when no date can be read (INVALID_DATE explains why). Never raises.
    """
    m = _FAST.match(text)
    if m is not None:
        wd, day, mon, year, hh, mi, sec, sign, zh, zm = m.groups()
        if (zm < "60" and zh < "24" and year >= "1900"
                and not (sign == "-" and zh == "00" and zm == "00")):
            minutes = int(zh) * 60 + int(zm)
            try:
                dt = datetime(
                    int(year),
                    _FAST_MONTHS[mon],
                    int(day),
                    int(hh),
                    int(mi),
                    int(sec) if sec else 0,
                    tzinfo=_tz(-minutes if sign == "-" else minutes),
                )
            except ValueError:
                dt = None
            if dt is not None and (wd is None or _FAST_DAYS[wd] == dt.weekday()):
                return dt, []
    return parse_date_slow(text)


def _int(digits: str) -> int | None:
    # int() refuses more than 4300 digits (and is quadratic before that):
    # nothing in a date needs more than nine.
    return int(digits) if len(digits) <= 9 else None


def parse_date_slow(text: str) -> tuple[datetime | None, list[Defect]]:
    """The lenient parser behind :func:`parse_date` (linear time)."""
    defects: list[Defect] = []

    def bad(detail: str) -> tuple[None, list[Defect]]:
        defects.append(Defect(kind=_INVALID, offset=0, detail=detail))
        return None, defects

    # Comments go first: a comment may hold a ";" ("(CEST; summer time)").
    body, unclosed = strip_comments(text)
    if unclosed and ";" in text and ":" not in body:
        # An unclosed "(" in a Received clause ("from x (helo y; date")
        # swallowed the date; when the date is before it ("date (CEST;
        # summer"), the stripped text still has the time and is kept.
        body, unclosed = strip_comments(text[text.rindex(";") + 1 :])
        defects.append(Defect(kind=_INVALID, offset=0, detail="text before ';' ignored"))
    elif ";" in body:
        # A Received field: the date follows the last ";".
        body = body[body.rindex(";") + 1 :]
        defects.append(Defect(kind=_INVALID, offset=0, detail="text before ';' ignored"))
    if unclosed:
        defects.append(Defect(kind=_INVALID, offset=0, detail="unterminated comment"))
    toks = [(m.lastindex or 0, m.group()) for m in _TOKEN.finditer(body)]
    if not toks:
        return bad("empty date")

    i = 0
    weekday: int | None = None
    if toks[0][0] == 4 and toks[0][1].lower() in _DAYS:
        weekday = _DAYS[toks[0][1].lower()]
        i = 1
        if i < len(toks) and toks[i][0] == 5:
            i += 1
    t = next((k for k in range(i, len(toks)) if toks[k][0] == 1), -1)
    if t < 0:
        return bad("no time of day")
    date_part = [tok for tok in toks[i:t] if tok[0] != 5]
    after = toks[t + 1 :]
    if len(after) > 1 and after[0] == (6, ".") and after[1][0] == 3:
        # "07:53:55.516": fractional seconds (SendGrid, some Java mailers);
        # RFC 5322 has no syntax for them.
        del after[:2]
        defects.append(Defect(kind=_INVALID, offset=0, detail="fractional seconds ignored"))

    # --- day, month, year -------------------------------------------------
    nums = [v for kind, v in date_part if kind == 3]
    words = [v.lower() for kind, v in date_part if kind == 4]
    other = [v for kind, v in date_part if kind not in (3, 4)]
    if other or len(words) > 1:
        return bad("unexpected text in the date")
    year_digits: str | None = None
    if words:
        month = _MONTHS.get(words[0])
        if month is None:
            return bad(f"unknown month {words[0]!r}")
        if date_part[0][0] == 4:
            # "Jul 1 2003 ..." or asctime "Jul 1 10:52:37 2003"
            defects.append(Defect(kind=_OBSOLETE, offset=0, detail="month before day"))
        if len(nums) == 2:
            day_digits, year_digits = nums
        elif len(nums) == 1:
            day_digits = nums[0]
        else:
            return bad("malformed day or year")
    else:
        # "20 11 79": a numeric month, day first.
        if len(nums) != 3:
            return bad("no month")
        defects.append(Defect(kind=_INVALID, offset=0, detail="numeric month"))
        day_digits, month_digits, year_digits = nums
        m_val = _int(month_digits)
        if m_val is None or not 1 <= m_val <= 12:
            return bad("month out of range")
        month = m_val
    if year_digits is None:
        # asctime puts the year after the time.
        k = next((k for k, tok in enumerate(after) if tok[0] == 3), -1)
        if k < 0:
            return bad("no year")
        year_digits = after.pop(k)[1]
    day = _int(day_digits)
    year = _int(year_digits)
    if day is None or year is None or len(day_digits) > 2:
        return bad("day or year out of range")
    if len(year_digits) < 2:
        # obs-year is 2*DIGIT: "0" could be 1900, 2000 or year 0.
        return bad("one-digit year")
    if len(year_digits) < 4:
        # RFC 5322 section 4.3
        year += 2000 if len(year_digits) == 2 and year < 50 else 1900
        defects.append(Defect(kind=_OBSOLETE, offset=0, detail="two- or three-digit year"))
    elif year < 1900:
        # RFC 5322 section 3.3: "1900 or later". Kept (it is what was
        # written), but flagged: no mail was sent in 49 AD.
        defects.append(Defect(kind=_INVALID, offset=0, detail="year before 1900"))

    # --- time of day ------------------------------------------------------
    hms = toks[t][1].split(":")
    if any(len(x) > 2 for x in hms):
        return bad("malformed time of day")
    hour, minute = int(hms[0]), int(hms[1])
    second = int(hms[2]) if len(hms) == 3 else 0
    if second == 60:
        second = 59
        defects.append(Defect(kind=_INVALID, offset=0, detail="leap second read as :59"))

    # --- zone ---------------------------------------------------------------
    tz: timezone | None = None
    used = -1
    for k, (kind, value) in enumerate(after):
        if kind == 2:
            digits = value[1:]
            if len(digits) == 4:
                hh, mm = int(digits[:2]), int(digits[2:])
            elif len(digits) <= 2:
                hh, mm = int(digits), 0
                defects.append(
                    Defect(kind=_INVALID, offset=0, detail=f"zone {value!r} is not 4 digits")
                )
            else:
                return bad(f"malformed zone {value!r}")
            if mm >= 60 or hh >= 24:
                return bad(f"zone offset {value!r} out of range")
            minutes = hh * 60 + mm
            if value[0] == "-":
                tz = UNKNOWN_TZ if minutes == 0 else _tz(-minutes)
            else:
                tz = _tz(minutes)
            used = k
            break
        if kind == 4:
            name = value.lower()
            if name in _RFC_ZONES:
                tz = _tz(_RFC_ZONES[name])
                if name != "z":
                    defects.append(Defect(kind=_OBSOLETE, offset=0, detail=f"zone name {value!r}"))
            elif name in _OTHER_ZONES:
                tz = _tz(_OTHER_ZONES[name])
                defects.append(
                    Defect(kind=_INVALID, offset=0, detail=f"non-RFC zone name {value!r}")
                )
            elif len(name) == 1:
                tz = UNKNOWN_TZ
                defects.append(
                    Defect(
                        kind=_OBSOLETE, offset=0, detail=f"military zone {value!r} read as -0000"
                    )
                )
            else:
                tz = UNKNOWN_TZ
                defects.append(
                    Defect(kind=_INVALID, offset=0, detail=f"unknown zone {value!r} read as -0000")
                )
            used = k
            # "GMT+0200": a numeric offset right after a name wins.
            if k + 1 < len(after) and after[k + 1][0] == 2 and name in ("gmt", "ut", "utc"):
                continue
            break
        break
    if tz is None:
        tz = UNKNOWN_TZ
        defects.append(Defect(kind=_INVALID, offset=0, detail="no zone, read as -0000"))
    if used + 1 < len(after):
        defects.append(Defect(kind=_INVALID, offset=0, detail="text after the date"))

    try:
        dt = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except (ValueError, OverflowError):
        return bad("impossible date")
    if weekday is not None and dt.weekday() != weekday:
        defects.append(
            Defect(kind=_INVALID, offset=0, detail="day of week does not match the date")
        )
    return dt, defects


def format_date(dt: datetime) -> str:
    """Write ``dt`` as an RFC 5322 ``date-time``: ``Tue, 01 Jul 2003 10:52:37 +0200``.

    Seconds are always written and microseconds dropped. A zone offset that
    is not a whole number of minutes is written in UTC. :data:`UNKNOWN_TZ`
    is written as ``-0000``.

    Raises:
        ValueError: ``dt`` is naive (a caller error: the zone of a date in a
            message must be known).
    """
    offset = dt.utcoffset()
    if offset is None:
        raise ValueError("format_date needs a timezone-aware datetime")
    if offset % timedelta(minutes=1):
        try:
            dt = dt.astimezone(UTC)
        except OverflowError:
            raise ValueError(f"{dt!r} cannot be written in UTC") from None
        offset = timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0 and dt.tzinfo is UNKNOWN_TZ:
        zone = "-0000"
    else:
        sign = "-" if minutes < 0 else "+"
        hh, mm = divmod(abs(minutes), 60)
        zone = f"{sign}{hh:02d}{mm:02d}"
    return (
        f"{_DAY_NAMES[dt.weekday()]}, {dt.day:02d} {_MONTH_NAMES[dt.month - 1]} {dt.year:04d} "
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d} {zone}"
    )
