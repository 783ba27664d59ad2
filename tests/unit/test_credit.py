"""desk.risk.credit: gross notional per counterparty per UTC day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from desk.risk.credit import CreditLines, start_of_day

DAY1 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LAST_US_OF_DAY1 = datetime(2026, 1, 5, 23, 59, 59, 999999, tzinfo=UTC)
MIDNIGHT = datetime(2026, 1, 6, tzinfo=UTC)


def test_used_when_seeded_then_seed_counts_until_midnight() -> None:
    credit = CreditLines({"CLIENT1": Decimal(500)}, DAY1)

    assert credit.used("CLIENT1", LAST_US_OF_DAY1) == Decimal(500)
    assert credit.used("CLIENT2", LAST_US_OF_DAY1) == Decimal(0)


def test_add_when_same_day_then_accumulates_per_counterparty() -> None:
    credit = CreditLines({}, DAY1)

    credit.add("CLIENT1", Decimal("100.5"), DAY1)
    credit.add("CLIENT1", Decimal("0.5"), DAY1 + timedelta(hours=1))
    credit.add("CLIENT2", Decimal(7), DAY1)

    assert credit.used("CLIENT1", DAY1) == Decimal(101)
    assert credit.used("CLIENT2", DAY1) == Decimal(7)


def test_used_when_utc_midnight_reached_then_usage_reset() -> None:
    credit = CreditLines({"CLIENT1": Decimal(500)}, DAY1)
    credit.add("CLIENT1", Decimal(100), DAY1)

    assert credit.used("CLIENT1", MIDNIGHT) == Decimal(0)


def test_add_when_new_day_then_only_new_day_counts() -> None:
    credit = CreditLines({"CLIENT1": Decimal(500)}, DAY1)

    credit.add("CLIENT1", Decimal(30), MIDNIGHT + timedelta(seconds=1))

    assert credit.used("CLIENT1", MIDNIGHT + timedelta(hours=1)) == Decimal(30)


def test_used_when_local_time_given_then_day_is_the_utc_day() -> None:
    credit = CreditLines({"CLIENT1": Decimal(500)}, DAY1)
    # 01:00 in UTC+2 on 6 January is still 23:00 UTC on 5 January.
    plus_two = datetime(2026, 1, 6, 1, 0, tzinfo=timezone(timedelta(hours=2)))

    assert credit.used("CLIENT1", plus_two) == Decimal(500)


def test_used_when_late_previous_day_time_arrives_after_roll_then_new_day_usage_kept() -> None:
    # Sessions run on their own threads: an order received at 23:59:59.9 can be checked just
    # after another one at 00:00:00.5 was booked. That must not wipe the new day's usage.
    credit = CreditLines({}, DAY1)
    credit.add("CLIENT1", Decimal(9_000_000), MIDNIGHT + timedelta(milliseconds=500))

    credit.used("CLIENT1", LAST_US_OF_DAY1)

    assert credit.used("CLIENT1", MIDNIGHT + timedelta(seconds=1)) == Decimal(9_000_000)


def test_start_of_day_when_any_moment_then_utc_midnight() -> None:
    plus_two = datetime(2026, 1, 6, 1, 0, tzinfo=timezone(timedelta(hours=2)))

    assert start_of_day(LAST_US_OF_DAY1) == datetime(2026, 1, 5, tzinfo=UTC)
    assert start_of_day(MIDNIGHT) == MIDNIGHT
    assert start_of_day(plus_two) == datetime(2026, 1, 5, tzinfo=UTC)


def test_release_gives_back_what_add_counted_the_same_day() -> None:
    credit = CreditLines({"CLIENT1": Decimal(500)}, DAY1)
    day = credit.add("CLIENT1", Decimal(120), DAY1)

    credit.release("CLIENT1", Decimal(120), day)

    assert day == DAY1.date()
    assert credit.used("CLIENT1", DAY1) == Decimal(500)


def test_release_when_added_late_and_counted_in_the_new_day_then_taken_from_the_new_day() -> None:
    # An order stamped 23:59:59.9 reserved after another thread rolled the day: its notional
    # went into the new day, so that is where it comes back from.
    credit = CreditLines({}, DAY1)
    credit.add("CLIENT1", Decimal(30), MIDNIGHT + timedelta(milliseconds=500))
    day = credit.add("CLIENT1", Decimal(120), LAST_US_OF_DAY1)

    credit.release("CLIENT1", Decimal(120), day)

    assert day == MIDNIGHT.date()
    assert credit.used("CLIENT1", MIDNIGHT + timedelta(seconds=1)) == Decimal(30)


def test_release_when_the_day_has_ended_then_the_new_day_is_untouched() -> None:
    credit = CreditLines({}, DAY1)
    day = credit.add("CLIENT1", Decimal(120), LAST_US_OF_DAY1)
    credit.add("CLIENT1", Decimal(30), MIDNIGHT + timedelta(seconds=1))

    credit.release("CLIENT1", Decimal(120), day)

    assert credit.used("CLIENT1", MIDNIGHT + timedelta(seconds=2)) == Decimal(30)
