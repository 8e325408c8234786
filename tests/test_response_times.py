"""Issue 17: the digest counts an answer within its threshold from the working time it already
counted (``_within``) rather than counting the threshold forward (``calendar.add``), wherever
that is the same thing. Hypothesis compares the two over many instants: across the changes of
daylight saving time of several zones (one that repeats half an hour, one that repeats two,
one that changes at midnight), holidays and closures, working hours that take in the repeated
hour, the 24x7 clock, business, real and calendar thresholds, and answers at, just before and
just after the instant the threshold falls due."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from daemon.policy.calendar import BusinessCalendar, Duration, between
from daemon.response_times import _within

ZONES = [
    "America/Los_Angeles",
    "Europe/London",
    "Australia/Lord_Howe",  # repeats half an hour
    "Antarctica/Troll",  # repeats two hours
    "America/Santiago",  # changes at midnight
    "America/Havana",  # changes at 01:00, back at 01:00
    "UTC",
]
HOURS = [
    (time(8, 0), time(17, 0)),
    (time(0, 0), time(23, 59)),  # takes in every repeated hour
    (time(1, 15), time(9, 30)),
    (time(0, 30), time(2, 0)),  # shorter than a repeat at Troll
    (time(23, 0), time(23, 45)),
]
# Around the changes of daylight saving time in 2026 (both hemispheres) and ordinary days.
DAYS = [date(2026, m, d) for m, d in ((3, 8), (3, 29), (4, 5), (9, 6), (9, 27), (10, 25), (11, 1), (7, 3))]
UNITS = ["business hours", "business days", "hours", "minutes", "days", "weeks"]
MICRO = timedelta(microseconds=1)


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    start, end = draw(st.sampled_from(HOURS))
    closures = draw(st.lists(st.sampled_from(DAYS), max_size=3))
    return BusinessCalendar(
        tz=ZoneInfo(draw(st.sampled_from(ZONES))),
        workdays=frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
        day_start=start,
        day_end=end,
        country=draw(st.sampled_from(["US", "GB"])),
        closures=frozenset(closures),
    )


def instants(draw: st.DrawFn, tz: ZoneInfo) -> datetime:
    day = draw(st.sampled_from(DAYS)) - timedelta(days=draw(st.integers(0, 2)))
    midnight = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    # Whole minutes mostly (a closing time, an opening), and some odd microseconds.
    minutes = timedelta(minutes=draw(st.integers(0, 3 * 24 * 60)))
    return midnight + minutes + MICRO * draw(st.sampled_from([0, 0, 0, 1, 999_999]))


@st.composite
def cases(draw: st.DrawFn) -> tuple[BusinessCalendar, datetime, datetime, Duration, bool]:
    cal = draw(calendars())
    since = instants(draw, cal.tz)
    unit = draw(st.sampled_from(UNITS))
    amount = draw(st.sampled_from([1, 2, 3, 4, 8, 24, 0.5, 1.5, 2.25, 36]))
    threshold = Duration(amount, unit)
    around = draw(st.booleans())
    due = cal.add(since, threshold, around)
    how = draw(st.sampled_from(["at", "before", "after", "anywhere"]))
    if how == "anywhere":
        answered = since + timedelta(minutes=draw(st.integers(0, 20 * 24 * 60)))
    else:
        step = draw(st.sampled_from([MICRO, timedelta(minutes=1), timedelta(hours=1)]))
        answered = due + {"at": 0 * step, "before": -step, "after": step}[how]
    return cal, since, max(answered, since), threshold, around


def _settings() -> settings:
    return settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings()
@given(cases())
@example(  # work ending exactly at a closing time falls due at the next opening
    (
        BusinessCalendar(ZoneInfo("America/Los_Angeles")),
        datetime(2026, 10, 30, 16, 0, tzinfo=UTC),  # Fri 09:00 PDT
        datetime(2026, 11, 2, 16, 0, tzinfo=UTC),  # Mon 08:00 PST, after the change
        Duration(8, "business hours"),
        False,
    )
)
def test_within_is_counting_the_threshold_forward(case):
    cal, since, answered, threshold, around = case
    within = _within(cal, since, answered, cal.working_time(since, answered), threshold, around)
    if within is not None:
        assert within == (answered <= cal.add(since, threshold, around))


def test_within_decides_the_usual_cases():
    """The shortcut is taken for the thresholds of the config (business hours and days, the 24x7
    clock) at ordinary instants: ``None`` only where it is not known to be the same."""
    cal = BusinessCalendar(ZoneInfo("America/Los_Angeles"))
    since = datetime(2026, 11, 2, 17, 0, tzinfo=UTC)  # Mon 09:00 PST
    for threshold, around in (
        (Duration(4, "business hours"), False),
        (Duration(2, "business days"), False),
        (Duration(4, "business hours"), True),
        (Duration(3, "hours"), False),
    ):
        for hours in (1, 3, 30, 80):
            answered = since + timedelta(hours=hours)
            within = _within(cal, since, answered, cal.working_time(since, answered), threshold, around)
            assert within is not None
            assert within == (answered <= cal.add(since, threshold, around))
    week = Duration(1, "weeks")
    assert _within(cal, since, since + timedelta(days=3), timedelta(hours=9), week, False) is None
    # An answer in the hour repeated when daylight saving ends (Sun 2026-11-01 01:30 PST).
    repeated = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    before = repeated - timedelta(hours=40)
    worked = cal.working_time(before, repeated)
    assert _within(cal, before, repeated, worked, Duration(4, "business hours"), False) is None


def working_time_counted_day_by_day(cal: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """``BusinessCalendar.working_time`` as it was before it read each day's hours once."""
    if end <= start:
        return timedelta(0)
    a, b = start.astimezone(cal.tz), end.astimezone(cal.tz)
    total = timedelta(0)
    day = a.date()
    while day <= b.date():
        if cal.is_business_day(day):
            lo = max(a, cal._open(day))
            hi = min(b, cal._close(day))
            if hi > lo:
                total += between(lo, hi)
        day += timedelta(days=1)
    return total


@_settings()
@given(cases())
def test_working_time_reads_each_days_hours_once_and_counts_the_same(case):
    cal, since, answered, _, _ = case
    for a, b in ((since, answered), (answered, since), (since, since + timedelta(days=9))):
        assert cal.working_time(a, b) == working_time_counted_day_by_day(cal, a, b)
