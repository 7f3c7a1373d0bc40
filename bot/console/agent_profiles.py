"""Agents' routing profiles: the languages they speak, their skills, their capacity (max open
conversations; None: the ROUTING_MAX_OPEN default; 0: never auto-assigned) and their team.
Read and changed by `supportbot agents add/set` and `PATCH /api/agent/agents/{username}`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from bot.storage.db import Database
from bot.storage.models import Agent

LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z]{4})?(-[a-z]{2}|-\d{3})?$", re.IGNORECASE)
TAG = re.compile(r"^[a-z0-9_.\-]{1,32}$")
MAX_TAGS = 20
MAX_OPEN = 1000
FIELDS = ("languages", "skills", "max_open", "team")


class ProfileError(ValueError):
    """A bad value; the message names the field."""


@dataclass(frozen=True)
class Profile:
    username: str
    display_name: str
    role: str
    languages: list[str]
    skills: list[str]
    max_open: int | None
    team: str | None
    capacity: int  # max_open, or the default when it is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "languages": self.languages,
            "skills": self.skills,
            "max_open": self.max_open,
            "capacity": self.capacity,
            "team": self.team,
        }


def split_list(raw: str) -> list[str]:
    """ "bs, hr" → ["bs", "hr"] (the command line's form); "" → []."""
    return [part.strip() for part in raw.split(",") if part.strip()]


def _language(tag: str) -> str:
    """A BCP 47 tag as the project writes them: `sr-Cyrl`, `en`, `pt-BR`."""
    parts = tag.replace("_", "-").split("-")
    shaped = [parts[0].lower()]
    for part in parts[1:]:
        shaped.append(part.title() if len(part) == 4 else part.upper())
    return "-".join(shaped)


def clean_languages(values: Iterable[Any]) -> list[str]:
    found: list[str] = []
    for value in values:
        if not isinstance(value, str) or not LANGUAGE.match(value.strip().replace("_", "-")):
            raise ProfileError(f"languages: {value!r} is not a language tag such as bs or sr-Cyrl")
        tag = _language(value.strip())
        if tag not in found:
            found.append(tag)
    if len(found) > MAX_TAGS:
        raise ProfileError(f"languages: at most {MAX_TAGS}")
    return found


def clean_skills(values: Iterable[Any]) -> list[str]:
    found: list[str] = []
    for value in values:
        skill = value.strip().lower() if isinstance(value, str) else None
        if not skill or not TAG.match(skill):
            raise ProfileError(f"skills: {value!r}: 1-32 letters, digits, '.', '_' or '-'")
        if skill not in found:
            found.append(skill)
    if len(found) > MAX_TAGS:
        raise ProfileError(f"skills: at most {MAX_TAGS}")
    return found


def clean_max_open(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_OPEN:
        raise ProfileError(f"max_open: a whole number from 0 (never auto-assign) to {MAX_OPEN}")
    return value


def clean_team(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    team = value.strip().lower() if isinstance(value, str) else ""
    if not TAG.match(team):
        raise ProfileError(f"team: {value!r}: 1-32 letters, digits, '.', '_' or '-'")
    return team


CLEANERS = {
    "languages": clean_languages,
    "skills": clean_skills,
    "max_open": clean_max_open,
    "team": clean_team,
}


def clean(changes: dict[str, Any]) -> dict[str, Any]:
    """The changes, checked and normalised; ProfileError names the first bad field."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ProfileError(f"{sorted(unknown)[0]}: not a routing field ({', '.join(FIELDS)})")
    return {name: CLEANERS[name](value) for name, value in changes.items()}


class AgentProfiles:
    def __init__(self, db: Database, default_max_open: int = 5) -> None:
        self.db = db
        self.default_max_open = default_max_open

    def profile(self, agent: Agent) -> Profile:
        return Profile(
            agent.username,
            agent.display_name,
            agent.role,
            [str(x) for x in agent.languages or ()],
            [str(x) for x in agent.skills or ()],
            agent.max_open,
            agent.team,
            self.default_max_open if agent.max_open is None else agent.max_open,
        )

    async def get(self, username: str) -> Profile | None:
        async with self.db.session() as s:
            agent = (
                await s.execute(select(Agent).where(Agent.username == username))
            ).scalar_one_or_none()
        return self.profile(agent) if agent else None

    async def all(self) -> list[Profile]:
        async with self.db.session() as s:
            agents = (await s.execute(select(Agent).order_by(Agent.username))).scalars()
            return [self.profile(a) for a in agents]

    async def update(self, username: str, changes: dict[str, Any]) -> Profile | None:
        """Apply checked `changes` (see `clean`); None when there is no such agent."""
        values = clean(changes)
        async with self.db.session() as s:
            if values:
                await s.execute(update(Agent).where(Agent.username == username).values(**values))
                await s.commit()
        return await self.get(username)
