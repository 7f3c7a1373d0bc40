"""Routing in the agent API: agents' routing profiles (languages, skills, capacity, team) and the
teams' opening hours.

(No `from __future__ import annotations` here: FastAPI must resolve the local dependency
aliases when the routes are declared.)

- `GET /api/agent/agents/{username}`: an agent's routing profile (any console login);
- `PATCH /api/agent/agents/{username}`: change it (admins, with `X-CSRF-Token`); only the
  fields sent change, `null` resets `max_open` (to ROUTING_MAX_OPEN) or `team`;
- `GET /api/agent/teams`: every team's time zone, weekly hours, holidays, whether it is open
  now and when it opens next.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from bot.console.agent_api import Access
from bot.console.agent_profiles import AgentProfiles, ProfileError
from bot.console.auth import LiveSession
from bot.handoff.hours import DAYS, BusinessHours, Schedule
from bot.storage.models import utcnow

Username = Annotated[str, PathParam(min_length=1, max_length=64)]


class ProfileChange(BaseModel):
    """Only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    languages: list[Annotated[str, Field(max_length=16)]] | None = Field(
        default=None, max_length=20, description='language tags, e.g. ["bs", "hr"]'
    )
    skills: list[Annotated[str, Field(max_length=32)]] | None = Field(default=None, max_length=20)
    max_open: StrictInt | None = Field(
        default=None,
        description="open conversations at once; 0: never auto-assigned; "
        "null: the ROUTING_MAX_OPEN default",
    )
    team: str | None = Field(default=None, max_length=64, description="null: no team")


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def team_json(schedule: Schedule, now: datetime) -> dict[str, Any]:
    opening = schedule.next_opening(now)
    return {
        "team": schedule.team,
        "always_open": schedule.always_open,
        "time_zone": None if schedule.always_open else schedule.zone_name,
        "hours": {
            day: [f"{_clock(a)}-{_clock(b)}" for a, b in spans]
            for day, spans in zip(DAYS, schedule.weekly, strict=True)
        },
        "closed": sorted(d.isoformat() for d in schedule.closed),
        "languages": list(schedule.languages),
        "open_now": schedule.is_open(now),
        "opens_at": opening.isoformat() if opening else None,
    }


def build_routing_api(
    access: Access,
    profiles: AgentProfiles,
    hours: BusinessHours,
    clock: Callable[[], datetime] = utcnow,
) -> APIRouter:
    api = APIRouter(tags=["routing"])
    Reader = Annotated[LiveSession, Depends(access.session)]
    Admin = Annotated[
        LiveSession, Depends(access.role("admin", change=True, refusal="admins only"))
    ]

    @api.get("/api/agent/agents/{username}")
    async def profile(username: Username, _: Reader) -> dict[str, Any]:
        """An agent's routing profile: languages, skills, max_open (and the capacity it
        means), team."""
        found = None if "\x00" in username else await profiles.get(username)
        if found is None:
            raise HTTPException(404, f"no agent '{username}'")
        return {"agent": found.to_dict()}

    @api.patch(
        "/api/agent/agents/{username}",
        responses={400: {"description": "A bad value: the message names the field"}},
    )
    async def change(username: Username, body: ProfileChange, _: Admin) -> dict[str, Any]:
        """Change an agent's languages, skills, max_open or team (admins only)."""
        if "\x00" in username or await profiles.get(username) is None:
            raise HTTPException(404, f"no agent '{username}'")
        changes = {name: getattr(body, name) for name in body.model_fields_set}
        for name in ("languages", "skills"):
            if name in changes and changes[name] is None:
                changes[name] = []
        try:
            found = await profiles.update(username, changes)
        except ProfileError as exc:
            raise HTTPException(400, str(exc)) from None
        assert found is not None
        return {"agent": found.to_dict()}

    @api.get("/api/agent/teams")
    async def teams(_: Reader) -> dict[str, Any]:
        """Every team's opening hours, whether it is open now and when it opens next."""
        now = clock()
        return {
            "default_team": hours.default_team,
            "teams": [team_json(schedule, now) for schedule in hours.teams.values()],
        }

    return api
