"""Opening hours per team, time-zone aware, read from a YAML file (TEAMS_FILE, default
`teams.yml` in the project root). Without the file there is one team, `support`, always open:
nothing changes for anyone who has no file.

```yaml
default_team: support            # optional: the first team otherwise
teams:
  support:
    time_zone: Europe/Sarajevo   # an IANA zone (zoneinfo); daylight saving time included
    hours:                       # mon tue wed thu fri sat sun, or a range such as mon-fri
      mon-fri: "09:00-17:00"
      sat: "10:00-12:00, 13:00-15:00"
      sun: closed
    closed: [2026-12-25, 2027-01-01]   # holidays: closed all day
    languages: [bs, hr, sr]      # optional: conversations in these languages go to this team
```

A day not listed is closed; `00:00-24:00` is open all day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.i18n import t
from bot.language import base as language_base

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_TEAM = "support"
TEAM_NAME = re.compile(r"^[a-z0-9_.\-]{1,64}$")
RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
LOOK_AHEAD = 400  # days searched for the next opening (holidays may close whole weeks)


class HoursError(ValueError):
    """The teams file is wrong; the message names the file and the field."""


Span = tuple[int, int]  # minutes after local midnight: [start, end)


@dataclass(frozen=True)
class Schedule:
    """One team's week. `weekly[0]` is Monday's open spans; `always_open` ignores the rest."""

    team: str = DEFAULT_TEAM
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    weekly: tuple[tuple[Span, ...], ...] = ((),) * 7
    closed: frozenset[date] = frozenset()
    languages: tuple[str, ...] = ()
    always_open: bool = False

    @property
    def zone_name(self) -> str:
        return str(self.zone.key)

    def _spans(self, day: date) -> tuple[Span, ...]:
        return () if day in self.closed else self.weekly[day.weekday()]

    def is_open(self, moment: datetime) -> bool:
        if self.always_open:
            return True
        local = moment.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self._spans(local.date()))

    def next_opening(self, moment: datetime) -> datetime | None:
        """When the team is next open, in its time zone: `moment` itself while open; None if
        it never opens within LOOK_AHEAD days."""
        if self.is_open(moment):
            return moment.astimezone(self.zone)
        local = moment.astimezone(self.zone)
        for offset in range(LOOK_AHEAD):
            day = local.date() + timedelta(days=offset)
            for start, _ in self._spans(day):
                # built as wall-clock time in the zone: the offset (DST or not) is that day's
                wall = datetime.combine(day, time(start // 60, start % 60), tzinfo=self.zone)
                opening = wall.astimezone(self.zone)  # normalised if it fell into a DST gap
                if opening > local:
                    return opening
        return None


def always_open(team: str = DEFAULT_TEAM) -> Schedule:
    return Schedule(team=team, always_open=True)


@dataclass(frozen=True)
class BusinessHours:
    """Every team's schedule, and which team a conversation goes to."""

    teams: Mapping[str, Schedule]
    default_team: str = DEFAULT_TEAM

    @classmethod
    def always(cls) -> BusinessHours:
        return cls({DEFAULT_TEAM: always_open()}, DEFAULT_TEAM)

    def team_for(self, language: str | None) -> str:
        """The first team that lists the conversation's language, else the default team."""
        base = language_base(language)
        for name, schedule in self.teams.items():
            if base and base in schedule.languages:
                return name
        return self.default_team

    def schedule(self, team: str | None) -> Schedule:
        return self.teams.get(team or self.default_team) or self.teams[self.default_team]


def load_hours(path: Path | None) -> BusinessHours:
    """The teams file at `path`; when there is none, one team always open."""
    if path is None or not path.is_file():
        return BusinessHours.always()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise HoursError(f"{path}: cannot read it: {exc}") from None
    return parse_hours(data, str(path))


def parse_hours(data: Any, source: str = "teams file") -> BusinessHours:
    def fail(where: str, problem: str) -> HoursError:
        return HoursError(f"{source}: {where}: {problem}")

    if not isinstance(data, dict) or not isinstance(data.get("teams"), dict) or not data["teams"]:
        raise fail("teams", "expected a mapping of team name to its hours")
    teams: dict[str, Schedule] = {}
    for name, spec in data["teams"].items():
        name = str(name)
        if not TEAM_NAME.match(name):
            raise fail(f"teams.{name}", "a team name is 1-64 lowercase letters, digits, . _ -")
        teams[name] = _schedule(name, spec, lambda w, p, n=name: fail(f"teams.{n}.{w}", p))
    default = str(data.get("default_team") or next(iter(teams)))
    if default not in teams:
        raise fail("default_team", f"no team '{default}' in teams")
    return BusinessHours(teams, default)


def _schedule(name: str, spec: Any, fail: Any) -> Schedule:
    if not isinstance(spec, dict):
        raise fail("", "expected time_zone and hours")
    zone_name = spec.get("time_zone")
    try:
        zone = ZoneInfo(str(zone_name))
    except (ZoneInfoNotFoundError, ValueError):
        raise fail("time_zone", f"unknown time zone {zone_name!r} (e.g. Europe/Sarajevo)") from None
    hours = spec.get("hours")
    if not isinstance(hours, dict) or not hours:
        raise fail("hours", "expected days with opening hours, e.g. mon-fri: 09:00-17:00")
    weekly: list[tuple[Span, ...]] = [()] * 7
    for key, value in hours.items():
        for day in _days(str(key).strip().lower(), lambda p, k=key: fail(f"hours.{k}", p)):
            weekly[day] = _spans(value, lambda p, k=key: fail(f"hours.{k}", p))
    if not any(weekly):
        raise fail("hours", "the team is never open: give at least one day opening hours")
    return Schedule(
        team=name,
        zone=zone,
        weekly=tuple(weekly),
        closed=frozenset(_dates(spec.get("closed") or [], lambda p: fail("closed", p))),
        languages=tuple(str(x).lower() for x in spec.get("languages") or ()),
    )


def _days(key: str, fail: Any) -> list[int]:
    first, _, last = key.partition("-")
    if first not in DAYS or (last and last not in DAYS):
        raise fail(f"a day is one of {', '.join(DAYS)} or a range such as mon-fri")
    start, end = DAYS.index(first), DAYS.index(last or first)
    if end < start:
        raise fail("a range of days runs forward, e.g. mon-fri")
    return list(range(start, end + 1))


def _spans(value: Any, fail: Any) -> tuple[Span, ...]:
    if value is None or value is False or str(value).strip().lower() == "closed":
        return ()
    spans: list[Span] = []
    for part in str(value).split(","):
        found = RANGE.match(part)
        if not found:
            raise fail(f"{part.strip()!r}: expected HH:MM-HH:MM (or closed)")
        h1, m1, h2, m2 = (int(x) for x in found.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or end <= start:
            raise fail(f"{part.strip()!r}: the end must come after the start, 00:00-24:00 at most")
        spans.append((start, end))
    return tuple(sorted(spans))


def _dates(values: Iterable[Any], fail: Any) -> list[date]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise fail("expected a list of dates, e.g. [2026-12-25]")
    found = []
    for value in values:
        if isinstance(value, date):
            found.append(value)
            continue
        try:
            found.append(date.fromisoformat(str(value)))
        except ValueError:
            raise fail(f"{value!r} is not a date (YYYY-MM-DD)") from None
    return found


def opening_text(opening: datetime, now: datetime, language: str | None) -> str:
    """ "Monday 09:00" in the customer's language, in the team's time zone; with the date
    when the opening is six days or more away (holidays)."""
    day = t(f"weekday_{opening.weekday()}", language)
    if opening - now >= timedelta(days=6):
        day = f"{day} {opening.date().isoformat()}"
    return f"{day} {opening:%H:%M}"
