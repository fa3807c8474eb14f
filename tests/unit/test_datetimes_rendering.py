"""Datetimes without a store: rendering, conversion, reading (the rest: ``tests/integration/test_datetimes.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from datetime_rules import NAIVE, RANGE

PLUS5, MINUS5 = timezone(timedelta(hours=5)), timezone(timedelta(hours=-5))


def test_the_renderers_render_every_value_in_range():
    from zoneinfo import ZoneInfo

    from ticketing import moments, scheduling
    from ticketing.dialects import kapture
    from ticketing.dialects.particlespace import render as particlespace
    from ticketing.dialects.reference_data import iso_timestamp  # SPP's timestamps

    zones = [UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12)), ZoneInfo("Asia/Kolkata")]
    for when in (moments.EARLIEST, moments.LATEST, moments.EARLIEST.replace(microsecond=1)):
        assert particlespace._iso(when)
        assert iso_timestamp(when) and iso_timestamp(iso_timestamp(when))
        assert isinstance(kapture.millis(when), int)
        assert scheduling.at_expression(when).startswith("at(")
        for zone in zones:
            text = kapture.format_time(when, zone)
            assert len(text) == 19 and text[:4].isdigit(), text


@pytest.mark.parametrize(
    ("value", "naive_as", "expected"),
    [
        (datetime(1, 1, 1, tzinfo=PLUS5), None, RANGE),  # astimezone(UTC) would overflow
        (datetime(9999, 12, 31, 23, 59, 59, tzinfo=MINUS5), None, RANGE),  # likewise
        (datetime.min, UTC, RANGE),
        (datetime.max, MINUS5, RANGE),
        (datetime(1899, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), None, RANGE),
        (datetime(2030, 1, 1), None, NAIVE),
        (datetime(1900, 1, 1, 5, tzinfo=PLUS5), None, datetime(1900, 1, 1, tzinfo=UTC)),
        (datetime(9998, 12, 31, 23, 59, 59, 999999), UTC, datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        (datetime(2030, 1, 1, 9), PLUS5, datetime(2030, 1, 1, 4, tzinfo=UTC)),
    ],
)
def test_to_utc_converts_or_refuses_without_overflow(value, naive_as, expected):
    from ticketing import moments

    if isinstance(expected, str):
        with pytest.raises(moments.Unkeepable) as err:
            moments.to_utc(value, naive_as=naive_as)
        assert err.value.reason == expected
    else:
        got = moments.to_utc(value, naive_as=naive_as)
        assert got == expected and got.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2030, 1, 1), datetime(2030, 1, 1, tzinfo=UTC)),
        (datetime(2030, 1, 1, 9, tzinfo=PLUS5), datetime(2030, 1, 1, 4, tzinfo=UTC)),
        (datetime(1, 1, 1, tzinfo=PLUS5), datetime(1900, 1, 1, tzinfo=UTC)),
        (datetime(9999, 12, 31, tzinfo=MINUS5), datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ],
)
def test_a_stored_datetime_reads_as_utc_within_range(value, expected):
    from ticketing import moments

    got = moments.stored(value)
    assert got == expected and got.utcoffset() == timedelta(0)
