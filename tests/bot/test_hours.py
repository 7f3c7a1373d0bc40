"""Opening hours per team (bot/handoff/hours.py) with a fixed clock: time zones, the next opening
across a weekend and a holiday, daylight saving time, and a clear error for a bad file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.handoff.hours import BusinessHours, HoursError, load_hours, opening_text, parse_hours

SARAJEVO = {
    "teams": {
        "support": {
            "time_zone": "Europe/Sarajevo",
            "hours": {"mon-fri": "09:00-17:00", "sat": "10:00-12:00, 13:00-14:00", "sun": "closed"},
            "closed": ["2026-12-25"],
        },
        "usa": {
            "time_zone": "America/New_York",
            "hours": {"mon-fri": "08:00-20:00"},
            "languages": ["en"],
        },
    }
}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def hours() -> BusinessHours:
    return parse_hours(SARAJEVO)


def test_open_and_closed_in_the_team_time_zone(hours: BusinessHours):
    sarajevo, new_york = hours.schedule("support"), hours.schedule("usa")
    # Thursday 3 December 2026, 08:30 UTC = 09:30 in Sarajevo (UTC+1) = 03:30 in New York
    assert sarajevo.is_open(utc(2026, 12, 3, 8, 30))
    assert not new_york.is_open(utc(2026, 12, 3, 8, 30))
    # 16:00 UTC = 17:00 in Sarajevo (closing time: closed) = 11:00 in New York
    assert not sarajevo.is_open(utc(2026, 12, 3, 16, 0))
    assert new_york.is_open(utc(2026, 12, 3, 16, 0))
    # Saturday's lunch break
    assert sarajevo.is_open(utc(2026, 12, 5, 10, 59))  # 11:59
    assert not sarajevo.is_open(utc(2026, 12, 5, 11, 30))  # 12:30
    assert sarajevo.is_open(utc(2026, 12, 5, 12, 0))  # 13:00


def test_next_opening_across_the_weekend(hours: BusinessHours):
    sarajevo = hours.schedule("support")
    # Saturday 5 December 2026, 15:00 in Sarajevo: closed until Monday 09:00
    opening = sarajevo.next_opening(utc(2026, 12, 5, 14, 0))
    assert opening is not None
    assert opening.isoformat() == "2026-12-07T09:00:00+01:00"
    assert opening_text(opening, utc(2026, 12, 5, 14, 0), "en") == "Monday 09:00"
    assert opening_text(opening, utc(2026, 12, 5, 14, 0), "bs") == "ponedjeljak 09:00"
    assert opening_text(opening, utc(2026, 12, 5, 14, 0), "sr-Cyrl") == "понедељак 09:00"
    # early on a weekday: later the same day; while open: now
    assert sarajevo.next_opening(utc(2026, 12, 3, 5, 0)).isoformat() == (  # type: ignore[union-attr]
        "2026-12-03T09:00:00+01:00"
    )
    now = utc(2026, 12, 3, 10, 0)
    assert sarajevo.next_opening(now) == now


def test_a_holiday_is_closed_all_day(hours: BusinessHours):
    sarajevo = hours.schedule("support")
    assert not sarajevo.is_open(utc(2026, 12, 25, 10, 0))  # a Friday, 11:00
    opening = sarajevo.next_opening(utc(2026, 12, 24, 17, 0))  # Thursday 18:00
    assert opening is not None and opening.isoformat() == "2026-12-26T10:00:00+01:00"  # Sat


def test_daylight_saving_time_moves_the_opening_in_utc(hours: BusinessHours):
    sarajevo, new_york = hours.schedule("support"), hours.schedule("usa")
    # Europe moves to summer time on Sunday 28 March 2027: Friday 09:00 is 08:00 UTC, Monday
    # 09:00 is 07:00 UTC
    assert sarajevo.is_open(utc(2027, 3, 26, 8, 0)) and not sarajevo.is_open(
        utc(2027, 3, 26, 7, 59)
    )
    opening = sarajevo.next_opening(utc(2027, 3, 27, 18, 0))
    assert opening is not None
    assert opening.isoformat() == "2027-03-29T09:00:00+02:00"
    assert opening.astimezone(UTC) == utc(2027, 3, 29, 7, 0)
    # New York already moved (14 March 2027): 08:00 EDT is 12:00 UTC
    assert new_york.is_open(utc(2027, 3, 22, 12, 0)) and not new_york.is_open(
        utc(2027, 3, 22, 11, 59)
    )


def test_a_far_opening_names_the_date():
    hours = parse_hours(
        {
            "teams": {
                "s": {
                    "time_zone": "UTC",
                    "hours": {"mon": "09:00-10:00"},
                    "closed": ["2026-12-07", "2026-12-14"],
                }
            }
        }
    )
    now = utc(2026, 12, 5, 12, 0)  # Saturday; the next two Mondays are holidays
    opening = hours.schedule("s").next_opening(now)
    assert opening is not None and opening.date().isoformat() == "2026-12-21"
    assert opening_text(opening, now, "en") == "Monday 2026-12-21 09:00"


def test_teams_by_language_else_the_default(hours: BusinessHours):
    assert hours.default_team == "support"
    assert hours.team_for("en") == "usa"
    assert hours.team_for("bs") == "support"
    assert hours.team_for(None) == "support"
    assert hours.schedule("gone").team == "support"  # a team removed from the file


def test_no_file_means_one_team_always_open(tmp_path: Path):
    hours = load_hours(tmp_path / "teams.yml")
    assert list(hours.teams) == ["support"]
    assert hours.schedule(None).is_open(utc(2026, 12, 6, 3, 0))  # Sunday night


def test_the_file_is_read_as_yaml(tmp_path: Path):
    path = tmp_path / "teams.yml"
    path.write_text(
        "default_team: support\nteams:\n  support:\n    time_zone: Europe/Sarajevo\n"
        "    hours:\n      mon-fri: 09:00-17:00\n      sat: closed\n    closed: [2026-12-25]\n",
        encoding="utf-8",
    )
    schedule = load_hours(path).schedule("support")
    assert schedule.zone_name == "Europe/Sarajevo"
    assert schedule.is_open(utc(2026, 12, 3, 8, 30)) and not schedule.is_open(utc(2026, 12, 25, 9))


@pytest.mark.parametrize(
    "team, message",
    [
        ({"time_zone": "Mars/Olympus", "hours": {"mon": "09:00-17:00"}}, "time_zone: unknown"),
        ({"time_zone": "UTC", "hours": {"monday": "09:00-17:00"}}, "hours.monday: a day is"),
        ({"time_zone": "UTC", "hours": {"fri-mon": "09:00-17:00"}}, "runs forward"),
        ({"time_zone": "UTC", "hours": {"mon": "9 to 5"}}, "hours.mon: '9 to 5': expected"),
        ({"time_zone": "UTC", "hours": {"mon": "17:00-09:00"}}, "the end must come after"),
        ({"time_zone": "UTC", "hours": {"mon": "closed"}}, "never open"),
        (
            {"time_zone": "UTC", "hours": {"mon": "09:00-10:00"}, "closed": ["soon"]},
            "closed: 'soon'",
        ),
    ],
)
def test_a_bad_file_names_the_field(team: dict, message: str):
    with pytest.raises(HoursError, match="teams.yml: teams.s.") as raised:
        parse_hours({"teams": {"s": team}}, "teams.yml")
    assert message in str(raised.value)
    with pytest.raises(HoursError, match="default_team: no team 'x'"):
        parse_hours(
            {
                "default_team": "x",
                "teams": {"s": {"time_zone": "UTC", "hours": {"mon": "09:00-10:00"}}},
            }
        )
