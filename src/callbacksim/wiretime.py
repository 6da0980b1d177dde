"""The datetime wire format: what is accepted when reading, and the one form written.

Reading accepts an RFC 3339 ``date-time``: ``YYYY-MM-DDTHH:MM:SS[.fraction]`` then ``Z`` or
``+HH:MM``/``-HH:MM``, with

- a ``T`` or ``t`` separator and a ``Z`` or ``z`` zone,
- 0 to 9 fraction digits (digits past the sixth are dropped: Python datetimes hold microseconds;
  the rules compare instants at that precision, and read-backs are compared at milliseconds),
- years 0001 to 9999 and real calendar dates.

Refused: no zone designator, a space or nothing in place of ``T``, the basic format
(``20261124T033849Z``), impossible dates and times, a leap second (``:60``, which Python cannot
represent and Genesys never sends), and anything that is not a string.

Writing always gives UTC with ``Z`` and milliseconds: ``2026-11-24T03:38:49.123Z``, the form Genesys
Cloud sends. A datetime made by hand with digits below the millisecond is written with six fraction
digits instead, so that nothing is silently lost.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

__all__ = [
    "DatetimeFormatError",
    "date_prefix",
    "day_number",
    "epoch_ms",
    "format_datetime",
    "format_epoch_ms",
    "parse_datetime",
    "shift_days",
]

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)

_ZONES: dict[tuple[str, int, int], timezone] = {}


class DatetimeFormatError(ValueError):
    """A string that is not an RFC 3339 date-time with a zone; the message says why."""


def _zone(sign: str, hours: int, minutes: int) -> timezone:
    key = (sign, hours, minutes)
    zone = _ZONES.get(key)
    if zone is None:
        offset = timedelta(hours=hours, minutes=minutes)
        zone = timezone(-offset if sign == "-" else offset) if offset else UTC
        _ZONES[key] = zone
    return zone


def _explain(text: str) -> str:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?", text):
        return "it has no zone designator; add Z or an offset such as +02:00"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[ _]?\d{2}:\d{2}:\d{2}.*", text):
        return "the date and the time must be separated by T"
    if re.fullmatch(r"\d{8}[Tt]\d{6}.*", text):
        return "the basic format is not accepted; use YYYY-MM-DDTHH:MM:SS with separators"
    if re.fullmatch(r".*\.\d{10,}.*", text):
        return "at most 9 fraction digits are allowed"
    return "expected the form YYYY-MM-DDTHH:MM:SS[.fraction] then Z or +HH:MM"


def parse_datetime(text: str) -> datetime:
    """An aware datetime from an RFC 3339 date-time string; `DatetimeFormatError` if it is not one.

    The offset is kept as written (``+02:00`` stays +02:00); comparisons are by instant.
    """
    m = _RFC3339.fullmatch(text)
    if m is None:
        msg = f"{text!r} is not an RFC 3339 date-time: {_explain(text)}"
        raise DatetimeFormatError(msg)
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    fraction = m.group(7)
    micro = int((fraction + "00000")[:6]) if fraction else 0
    if m.group(8):
        tz: timezone = UTC
    else:
        oh, om = int(m.group(10)), int(m.group(11))
        if oh > 23 or om > 59:
            offset = f"{m.group(9)}{oh:02}:{om:02}"
            msg = f"{text!r} is not an RFC 3339 date-time: the offset {offset} is out of range"
            raise DatetimeFormatError(msg)
        tz = _zone(m.group(9), oh, om)
    if second == 60:
        msg = f"{text!r} is not accepted: leap seconds (:60) cannot be represented; use :59.999"
        raise DatetimeFormatError(msg)
    if year == 0:
        msg = f"{text!r} is not an RFC 3339 date-time: years run from 0001 to 9999"
        raise DatetimeFormatError(msg)
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError as exc:
        msg = f"{text!r} is not a real date and time ({exc})"
        raise DatetimeFormatError(msg) from None


def format_datetime(value: datetime) -> str:
    """The wire form: UTC, ``Z``, milliseconds (microseconds only if the value has them)."""
    if value.utcoffset() is None:
        # astimezone() would read a naive value as the machine's local time.
        msg = f"cannot write the naive datetime {value!r}: the wire format needs a timezone"
        raise ValueError(msg)
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        # An instant near year 1 or 9999 whose UTC form falls outside the calendar: keep its offset.
        utc = value
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if len(text) < 19:  # strftime does not pad years below 1000 on every platform
        text = f"{utc.year:04d}" + text[text.index("-") :]
    micro = utc.microsecond
    frac = f".{micro // 1000:03d}" if micro % 1000 == 0 else f".{micro:06d}"
    offset = value.utcoffset()
    if utc is value and offset:
        seconds = int(offset.total_seconds())
        if seconds % 60 or offset.microseconds:
            msg = (
                f"cannot write {value!r}: its UTC form falls outside years 0001-9999 and its "
                "offset has seconds, which RFC 3339 cannot express; use a whole-minute offset"
            )
            raise ValueError(msg)
        sign = "-" if seconds < 0 else "+"
        hours, minutes = divmod(abs(seconds) // 60, 60)
        return f"{text}{frac}{sign}{hours:02d}:{minutes:02d}"
    return f"{text}{frac}Z"


_EPOCH_DAY0 = datetime(1970, 1, 1, tzinfo=UTC).toordinal()
_DAY_CACHE: dict[int, str] = {}


def format_epoch_ms(ms: int) -> str:
    """`format_datetime` for an instant given as milliseconds since the Unix epoch, made fast.

    Bulk generation writes hundreds of thousands of timestamps a second; the date part is cached
    per day. Gives exactly what ``format_datetime`` gives for the same instant.
    """
    days, rem = divmod(ms, 86_400_000)
    date = _DAY_CACHE.get(days)
    if date is None:
        d = datetime.fromordinal(_EPOCH_DAY0 + days)
        date = f"{d.year:04d}-{d.month:02d}-{d.day:02d}T"
        if len(_DAY_CACHE) < 100_000:
            _DAY_CACHE[days] = date
    seconds, milli = divmod(rem, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{date}{hours:02d}:{minutes:02d}:{seconds:02d}.{milli:03d}Z"


def epoch_ms(value: datetime) -> int:
    """Milliseconds since the Unix epoch (sub-millisecond digits dropped)."""
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


_DATE_DAYS: dict[str, int] = {}


def day_number(text: str) -> int:
    """Days since 1970-01-01 of the date that starts a written datetime (``YYYY-MM-DD...``)."""
    date = text[:10]
    day = _DATE_DAYS.get(date)
    if day is None:
        day = datetime(int(date[:4]), int(date[5:7]), int(date[8:10]), tzinfo=UTC).toordinal()
        day -= _EPOCH_DAY0
        if len(_DATE_DAYS) < 100_000:
            _DATE_DAYS[date] = day
    return day


_DATE_TEXT: dict[int, str] = {}


def date_prefix(day: int) -> str:
    """``YYYY-MM-DD`` of a day number (days since 1970-01-01), as written datetimes start."""
    text = _DATE_TEXT.get(day)
    if text is None:
        text = format_epoch_ms(day * 86_400_000)[:10]
        if len(_DATE_TEXT) < 100_000:
            _DATE_TEXT[day] = text
    return text


def shift_days(text: str, days: int) -> str:
    """A datetime in the written form (``YYYY-MM-DDTHH:MM:SS.mmmZ``) moved by whole days.

    The time of day and the fraction stay as they are, so this is string surgery on the date and
    far cheaper than parsing and formatting again; bulk generation shifts millions of timestamps.
    """
    return date_prefix(day_number(text) + days) + text[10:]
