"""The datetime wire format: what `parse_datetime` accepts and refuses, and what is written."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callbacksim.wiretime import DatetimeFormatError, format_datetime, parse_datetime

INSTANT = datetime(2026, 11, 24, 3, 38, 49, tzinfo=UTC)
"""2026-11-24T03:38:49Z, the instant most accepted cases below denote."""


def tz(hours: int, minutes: int = 0) -> timezone:
    """A fixed offset; ``minutes`` takes the sign of ``hours`` (``tz(-5, 30)`` is -05:30)."""
    sign = -1 if hours < 0 else 1
    return timezone(sign * timedelta(hours=abs(hours), minutes=minutes))


# --------------------------------------------------------------------------------------------
# Reading: accepted forms


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("2026-11-24T03:38:49Z", timedelta(0)),
        ("2026-11-24t03:38:49z", timedelta(0)),
        ("2026-11-24T03:38:49z", timedelta(0)),
        ("2026-11-24t03:38:49Z", timedelta(0)),
        ("2026-11-24T03:38:49+00:00", timedelta(0)),
        ("2026-11-24T03:38:49-00:00", timedelta(0)),
        ("2026-11-24T05:38:49+02:00", timedelta(hours=2)),
        ("2026-11-23T22:08:49-05:30", -timedelta(hours=5, minutes=30)),
        ("2026-11-24T09:08:49+05:30", timedelta(hours=5, minutes=30)),
        # The extreme offsets cross the date line in both directions.
        ("2026-11-25T03:37:49+23:59", timedelta(hours=23, minutes=59)),
        ("2026-11-23T03:39:49-23:59", -timedelta(hours=23, minutes=59)),
    ],
)
def test_any_offset_denotes_the_same_instant(text: str, offset: timedelta) -> None:
    parsed = parse_datetime(text)
    assert parsed == INSTANT  # aware datetimes compare as instants
    assert parsed.utcoffset() == offset  # the offset is kept as written
    assert parsed.astimezone(UTC).replace(tzinfo=None) == datetime(2026, 11, 24, 3, 38, 49)


@pytest.mark.parametrize(
    ("fraction", "microsecond"),
    [
        ("", 0),
        (".0", 0),
        (".1", 100_000),
        (".12", 120_000),
        (".123", 123_000),
        (".1234", 123_400),
        (".12345", 123_450),
        (".123456", 123_456),
        # Digits past the sixth are dropped, not rounded.
        (".1234567", 123_456),
        (".12345678", 123_456),
        (".123456789", 123_456),
        (".000000999", 0),
        (".999999999", 999_999),
        (".000001", 1),
        (".050", 50_000),
    ],
)
def test_zero_to_nine_fraction_digits(fraction: str, microsecond: int) -> None:
    parsed = parse_datetime(f"2026-11-24T03:38:49{fraction}Z")
    assert parsed == INSTANT.replace(microsecond=microsecond)
    # The same fraction with an offset gives the same instant.
    assert parse_datetime(f"2026-11-24T05:38:49{fraction}+02:00") == parsed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
        ("0001-01-01T00:00:00.000+00:00", datetime(1, 1, 1, tzinfo=UTC)),
        ("0001-01-01T01:00:00+01:00", datetime(1, 1, 1, tzinfo=UTC)),
        ("0999-06-15T12:00:00Z", datetime(999, 6, 15, 12, tzinfo=UTC)),
        ("9999-12-31T23:59:59Z", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (
            "9999-12-31T23:59:59.999999999Z",
            datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        ),
        ("9999-12-31T18:59:59-05:00", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        # Real calendar dates, including leap days.
        ("2024-02-29T12:00:00Z", datetime(2024, 2, 29, 12, tzinfo=UTC)),
        ("2000-02-29T12:00:00Z", datetime(2000, 2, 29, 12, tzinfo=UTC)),
        ("2026-12-31T23:59:59.999Z", datetime(2026, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC)),
        ("2026-01-01T00:00:00Z", datetime(2026, 1, 1, tzinfo=UTC)),
    ],
)
def test_year_range_and_calendar(text: str, expected: datetime) -> None:
    assert parse_datetime(text) == expected


def test_result_is_aware() -> None:
    for text in ("2026-11-24T03:38:49Z", "2026-11-24T03:38:49-05:30"):
        parsed = parse_datetime(text)
        assert parsed.tzinfo is not None
        assert parsed.utcoffset() is not None


# --------------------------------------------------------------------------------------------
# Reading: refused forms. Each message repeats the input and says what is wrong with it.


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("2026-11-24T03:38:49", "no zone"),
        ("2026-11-24T03:38:49.123", "no zone"),
        ("2026-11-24 03:38:49Z", "separated by T"),
        ("2026-11-24 03:38:49+02:00", "separated by T"),
        ("2026-11-2403:38:49Z", "separated by T"),
        ("20261124T033849Z", "basic format"),
        ("20261124t033849z", "basic format"),
        ("2026-02-30T00:00:00Z", "day"),
        ("2023-02-29T00:00:00Z", "day"),
        ("1900-02-29T00:00:00Z", "day"),
        ("2026-04-31T00:00:00Z", "day"),
        ("2026-13-01T00:00:00Z", "month"),
        ("2026-00-10T00:00:00Z", "month"),
        ("2026-01-00T00:00:00Z", "day"),
        ("2026-11-24T24:00:00Z", "hour"),
        ("2026-11-24T03:60:00Z", "minute"),
        ("2026-12-31T23:59:60Z", "leap second"),
        ("2026-06-30T23:59:60.5+00:00", "leap second"),
        ("2026-11-24T03:38:49.1234567890Z", "9 fraction digits"),
        ("2026-11-24T03:38:49.Z", "expected the form"),
        ("2026-11-24T03:38:49.+02:00", "expected the form"),
        ("0000-01-01T00:00:00Z", "0001 to 9999"),
        ("0000-12-31T23:59:59+01:00", "0001 to 9999"),
        ("2026-11-24T03:38:49+24:00", "offset"),
        ("2026-11-24T03:38:49-24:00", "offset"),
        ("2026-11-24T03:38:49+02:60", "offset"),
    ],
)
def test_refused_with_reason(text: str, why: str) -> None:
    with pytest.raises(DatetimeFormatError) as excinfo:
        parse_datetime(text)
    message = str(excinfo.value)
    assert repr(text) in message
    assert why.lower() in message.lower()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-11-24",
        "03:38:49Z",
        "2026-11-24T03:38:49Zjunk",
        "2026-11-24T03:38:49Z ",
        " 2026-11-24T03:38:49Z",
        "2026-11-24T03:38:49Z\n",
        "2026-11-24T03:38:49+02:00Z",
        "2026-11-24T03:38:49+0200",
        "2026-11-24T03:38:49+02",
        "2026-11-24T03:38:49,123Z",
        "2026-11-24T03:38Z",
        "2026-11-24T3:38:49Z",
        "2026-1-24T03:38:49Z",
        "10000-01-01T00:00:00Z",
        "-2026-11-24T03:38:49Z",
        "+2026-11-24T03:38:49Z",
        "２０２６-11-24T03:38:49Z",  # full-width digits are not ASCII digits
        "2026-11-24T03:38:49UTC",
        "2026-11-24T03:38:49 Z",
    ],
)
def test_refused_garbage(text: str) -> None:
    with pytest.raises(DatetimeFormatError, match="not an RFC 3339 date-time") as excinfo:
        parse_datetime(text)
    assert repr(text) in str(excinfo.value)


def test_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no zone"):
        parse_datetime("2026-11-24T03:38:49")


# --------------------------------------------------------------------------------------------
# Writing


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2026, 11, 24, 3, 38, 49, 123_000, tzinfo=UTC), "2026-11-24T03:38:49.123Z"),
        (datetime(2026, 11, 24, 3, 38, 49, tzinfo=UTC), "2026-11-24T03:38:49.000Z"),
        (datetime(2026, 11, 24, 3, 38, 49, 5_000, tzinfo=UTC), "2026-11-24T03:38:49.005Z"),
        (datetime(2026, 11, 24, 5, 38, 49, 123_000, tzinfo=tz(2)), "2026-11-24T03:38:49.123Z"),
        # An offset that moves the instant across a date boundary and a year boundary.
        (datetime(2026, 11, 23, 22, 8, 49, tzinfo=tz(-5, 30)), "2026-11-24T03:38:49.000Z"),
        (datetime(2027, 1, 1, 1, 0, tzinfo=tz(2)), "2026-12-31T23:00:00.000Z"),
        (datetime(2026, 12, 31, 20, 0, tzinfo=tz(-5)), "2027-01-01T01:00:00.000Z"),
        (datetime(2026, 1, 1, tzinfo=timezone(timedelta(0))), "2026-01-01T00:00:00.000Z"),
        # Years below 1000 are padded to four digits.
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00.000Z"),
        (datetime(999, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC), "0999-12-31T23:59:59.999Z"),
        (datetime(9999, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC), "9999-12-31T23:59:59.999Z"),
        # Sub-millisecond digits are kept: six fraction digits instead of three.
        (datetime(2026, 11, 24, 3, 38, 49, 123_400, tzinfo=UTC), "2026-11-24T03:38:49.123400Z"),
        (datetime(2026, 11, 24, 3, 38, 49, 1, tzinfo=UTC), "2026-11-24T03:38:49.000001Z"),
        (datetime(2026, 11, 24, 3, 38, 49, 999_999, tzinfo=UTC), "2026-11-24T03:38:49.999999Z"),
        (datetime(2026, 11, 24, 5, 38, 49, 10, tzinfo=tz(2)), "2026-11-24T03:38:49.000010Z"),
    ],
)
def test_format(value: datetime, text: str) -> None:
    assert format_datetime(value) == text
    assert parse_datetime(text) == value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        # The UTC form of these instants falls outside years 0001-9999: the offset is kept instead.
        (datetime(1, 1, 1, tzinfo=tz(2)), "0001-01-01T00:00:00.000+02:00"),
        (datetime(9999, 12, 31, 23, 0, tzinfo=tz(-2, 30)), "9999-12-31T23:00:00.000-02:30"),
    ],
)
def test_format_near_the_ends_of_the_calendar(value: datetime, text: str) -> None:
    assert format_datetime(value) == text
    assert parse_datetime(text) == value


def test_format_refuses_naive() -> None:
    # A naive datetime has no instant: writing it as UTC (or as local time) would invent one.
    with pytest.raises(ValueError, match="naive"):
        format_datetime(datetime(2026, 11, 24, 3, 38, 49))


# --------------------------------------------------------------------------------------------
# Properties

WIRE_FORM = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")

MIN = datetime(1, 1, 1)
MAX = datetime(9999, 12, 31, 23, 59, 59, 999_999)

utc_ms = st.datetimes(min_value=MIN, max_value=MAX, timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)
)
offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda m: timezone(timedelta(minutes=m))
)


@given(utc_ms)
def test_roundtrip_utc_milliseconds(value: datetime) -> None:
    text = format_datetime(value)
    assert WIRE_FORM.fullmatch(text), text
    parsed = parse_datetime(text)
    assert parsed == value
    assert parsed.utcoffset() == timedelta(0)
    assert format_datetime(parsed) == text


@given(st.datetimes(min_value=MIN, max_value=MAX, timezones=st.just(UTC)))
def test_roundtrip_is_lossless_for_microseconds(value: datetime) -> None:
    text = format_datetime(value)
    digits = text[text.index(".") + 1 : -1]
    assert len(digits) == (3 if value.microsecond % 1000 == 0 else 6)
    assert parse_datetime(text) == value


@given(st.datetimes(min_value=MIN, max_value=MAX), offsets)
def test_roundtrip_any_offset(local: datetime, zone: timezone) -> None:
    value = local.replace(tzinfo=zone)
    text = format_datetime(value)
    assert parse_datetime(text) == value
    try:
        value.astimezone(UTC)
    except OverflowError:  # the UTC form is outside years 0001-9999: written with its offset
        assert not text.endswith("Z")
    else:
        assert text.endswith("Z")


@given(
    year=st.integers(1, 9999),
    month=st.integers(1, 12),
    day=st.integers(1, 28),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    second=st.integers(0, 59),
    fraction=st.text(alphabet="0123456789", max_size=9),
    offset_minutes=st.integers(-(24 * 60 - 1), 24 * 60 - 1),
    lower=st.booleans(),
)
def test_parse_built_from_parts(
    year: int,
    month: int,
    day: int,
    hour: int,
    minute: int,
    second: int,
    fraction: str,
    offset_minutes: int,
    lower: bool,
) -> None:
    sign = "-" if offset_minutes < 0 else "+"
    oh, om = divmod(abs(offset_minutes), 60)
    zone = f"{sign}{oh:02d}:{om:02d}" if offset_minutes else ("z" if lower else "Z")
    sep = "t" if lower else "T"
    frac = f".{fraction}" if fraction else ""
    text = f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}:{second:02d}{frac}{zone}"
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    expected = datetime(
        year,
        month,
        day,
        hour,
        minute,
        second,
        micro,
        tzinfo=timezone(timedelta(minutes=offset_minutes)),
    )
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(minutes=offset_minutes)
    assert (parsed.year, parsed.month, parsed.day) == (year, month, day)
    assert (parsed.hour, parsed.minute, parsed.second, parsed.microsecond) == (
        hour,
        minute,
        second,
        micro,
    )


@given(st.text(alphabet="0123456789", min_size=10, max_size=14))
def test_more_than_nine_fraction_digits_refused(fraction: str) -> None:
    with pytest.raises(DatetimeFormatError, match="9 fraction digits"):
        parse_datetime(f"2026-11-24T03:38:49.{fraction}Z")
