"""Deadline arithmetic on Kazakhstan's working calendar, in local time."""
import datetime as dt

import pandas as pd
import pytest

from pipeline import calendar, sla

UTC = dt.timezone.utc


def local(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="Asia/Almaty")


@pytest.mark.parametrize("received,n,due", [
    ("2026-03-19 10:00", 1, "2026-03-20 23:59:59"),   # Thu -> Fri
    ("2026-03-20 10:00", 1, "2026-03-26 23:59:59"),   # Fri -> Nauryz 21-23 + observed 24, 25 -> Thu
    ("2026-03-20 23:30", 1, "2026-03-26 23:59:59"),   # late evening is still the 20th locally
    ("2026-12-15 10:00", 1, "2026-12-17 23:59:59"),   # 16 December, Independence Day
    ("2025-12-31 10:00", 1, "2026-01-05 23:59:59"),   # year end: 1-2 January, then a weekend
    ("2026-11-20 17:00", 1, "2026-11-23 23:59:59"),   # Friday -> Monday
    ("2026-03-20 14:00", 15, "2026-04-15 23:59:59"),  # 15 working days across Nauryz
])
def test_working_day_deadlines(received, n, due):
    assert calendar.add_working_days(local(received), n) == local(due)


def test_instants_are_stored_unambiguously_and_shown_in_local_time():
    # Kazakhstan moved from UTC+6 to UTC+5 on 1 March 2024: the same local noon is another instant.
    before = calendar.local(pd.Timestamp("2024-02-29 06:00", tz="UTC"))
    after = calendar.local(pd.Timestamp("2024-03-01 07:00", tz="UTC"))
    assert (before.hour, before.utcoffset()) == (12, dt.timedelta(hours=6))
    assert (after.hour, after.utcoffset()) == (12, dt.timedelta(hours=5))
    due = calendar.add_working_days(pd.Timestamp("2024-02-28 09:00", tz="UTC"), 2)
    assert due == pd.Timestamp("2024-03-01 23:59:59", tz="Asia/Almaty") and due.utcoffset() == dt.timedelta(0)


def test_hours_count_calendar_hours_over_weekends_and_holidays():
    start = local("2026-03-21 22:00")  # a Saturday in Nauryz
    assert calendar.add_hours_series(pd.Series([start]), [4]).iloc[0] == local("2026-03-22 02:00")


def test_working_days_between_and_holidays_come_from_the_library():
    assert calendar.working_days_between(local("2026-03-20 09:00"), local("2026-03-31 09:00")) == 4
    assert not calendar.is_working_day(dt.date(2026, 3, 23)) and calendar.is_working_day(dt.date(2026, 3, 26))


def frame(rows):
    return pd.DataFrame(rows, columns=["received_at", "category", "text", "district"]).assign(
        received_at=lambda d: pd.to_datetime(d["received_at"]).dt.tz_localize("Asia/Almaty"))


def test_priority_from_category_text_and_season():
    f = frame([
        ("2026-01-10 10:00", "heating", "Нет отопления третий день", "abai"),
        ("2026-07-10 10:00", "heating", "нет отопления", "abai"),          # summer: not an emergency
        ("2026-03-20 09:00", "gas", "В подъезде пахнет газом", "abai"),
        ("2026-03-20 09:00", "water", "Во дворе открытый люк", "abai"),
        ("2026-03-20 09:00", "roads", "Яма у дома, дети падают", "abai"),
        ("2026-03-20 09:00", "roads", "Яма у дома", "abai"),
        ("2026-03-20 09:00", "roads", "пахнет газом возле ямы", "abai"),   # gas words only count for gas
    ])
    fields = sla.initial_case_fields(f)
    assert fields["priority"].tolist() == ["emergency", "normal", "emergency", "emergency", "high", "normal", "normal"]
    assert fields["department"].tolist()[:3] == ["housing_utilities"] * 3
    gas = fields.iloc[2]
    assert gas["feedback_due_at"] == local("2026-03-20 10:00") and gas["due_at"] == local("2026-03-20 13:00")
    assert fields.iloc[5]["due_at"] == local("2026-04-15 23:59:59")   # 15 working days from Fri 20 March
    assert fields.iloc[5]["feedback_due_at"] == local("2026-03-26 23:59:59")
