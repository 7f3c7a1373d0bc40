"""What the Slack agent desk keeps in the database: which Slack message shows which handoff (so
threads keep working after a restart), and the agent account of each Slack user."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.storage.db import Database
from bot.storage.models import Agent, SlackDeskMessage

AGENT_PREFIX = "slack-"
# Not an argon2 hash: argon2 refuses to verify it, so nobody can log in to the web console
# with a Slack agent's account. Access to the desk is membership of the desk channel.
NO_PASSWORD = "!slack-desk: no password login"


def agent_username(slack_user_id: str) -> str:
    return AGENT_PREFIX + slack_user_id.lower()


def is_slack_agent(username: str | None) -> bool:
    return bool(username and username.startswith(AGENT_PREFIX))


class DeskStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save_message(self, handoff_id: int, channel: str, ts: str) -> None:
        async with self.db.session() as s:
            s.add(SlackDeskMessage(handoff_id=handoff_id, channel=channel, ts=ts))
            await s.commit()

    async def message(self, handoff_id: int) -> SlackDeskMessage | None:
        async with self.db.session() as s:
            return await s.get(SlackDeskMessage, handoff_id)

    async def handoff_for(self, channel: str, ts: str) -> int | None:
        """The handoff whose desk message is (channel, ts): a thread's parent."""
        async with self.db.session() as s:
            query = select(SlackDeskMessage.handoff_id).where(
                SlackDeskMessage.channel == channel, SlackDeskMessage.ts == ts
            )
            return (await s.execute(query)).scalar_one_or_none()

    async def agent(self, slack_user_id: str) -> Agent | None:
        async with self.db.session() as s:
            query = select(Agent).where(Agent.username == agent_username(slack_user_id))
            return (await s.execute(query)).scalar_one_or_none()

    async def display_name(self, username: str | None) -> str | None:
        if not username:
            return None
        async with self.db.session() as s:
            query = select(Agent.display_name).where(Agent.username == username)
            return (await s.execute(query)).scalar_one_or_none()

    async def provision(self, slack_user_id: str, display_name: str) -> Agent:
        """The agent account of a Slack user, created on their first action in the desk."""
        found = await self.agent(slack_user_id)
        if found:
            return found
        agent = Agent(
            username=agent_username(slack_user_id),
            display_name=display_name[:128],
            password_hash=NO_PASSWORD,
            role="agent",
        )
        async with self.db.session() as s:
            s.add(agent)
            try:
                await s.commit()
            except IntegrityError:  # the same user's other click created it a moment ago
                await s.rollback()
                again = await self.agent(slack_user_id)
                assert again is not None
                return again
        return agent
