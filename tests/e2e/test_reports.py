"""The reports page in a real browser (Chromium via Playwright) against the hub's web app on a
temporary SQLite database. No Rasa: the conversations are seeded through the storage models with
known timestamps, so every number on the page is known exactly - the tiles, the charts, the
tables, after a change of the date range and of a filter, and in a downloaded CSV. An agent
account is refused the page."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import create_app
from bot.hub import Hub
from bot.settings import Settings
from bot.storage.models import Agent, Conversation, Customer, Handoff, Message, Rating
from tests.e2e.console_site import chromium, console_hub, sign_in
from tests.e2e.test_browser import PASSWORD, Watch
from tests.e2e.test_browser import pytestmark as browser_marks
from tests.support import serve

pytestmark = browser_marks

DOCS = Path(__file__).resolve().parents[2] / "docs"
COMPLAINT = "<b>too slow</b>, nobody read my question"


@dataclass
class Site:
    url: str
    hub: Hub
    today: datetime  # midnight UTC


class Seed:
    """Conversations written straight into the tables, as the router and the handoff service
    store them (the knowledge base's decision on the customer's message, the bot's reply, the
    handoff with its times, the agent's messages, the ratings)."""

    def __init__(self, session: AsyncSession, today: datetime) -> None:
        self.s = session
        self.today = today
        self.chats = 0

    def at(self, days_ago: int, hh: int, mm: int, ss: int = 0) -> datetime:
        return self.today - timedelta(days=days_ago) + timedelta(hours=hh, minutes=mm, seconds=ss)

    async def customer(self, channel: str, name: str) -> Customer:
        customer = Customer(channel=channel, external_id=name, display_name=name)
        self.s.add(customer)
        await self.s.flush()
        return customer

    async def conversation(self, customer: Customer, language: str, when: datetime) -> Conversation:
        self.chats += 1
        chat = f"{customer.external_id}-{self.chats}"
        conversation = Conversation(
            key=f"{customer.channel}:{chat}",
            channel=customer.channel,
            chat_id=chat,
            customer_id=customer.id,
            language=language,
            created_at=when,
            updated_at=when,
        )
        self.s.add(conversation)
        await self.s.flush()
        return conversation

    def says(
        self, c: Conversation, when: datetime, text: str, kb: dict[str, Any] | None = None
    ) -> None:
        """A customer's message and the bot's reply a second later."""
        self.s.add_all(
            [
                Message(
                    conversation_id=c.id,
                    direction="in",
                    sender="customer",
                    text=text,
                    status="processed",
                    kb=kb,
                    created_at=when,
                ),
                Message(
                    conversation_id=c.id,
                    direction="out",
                    sender="bot",
                    text="(the bot's reply)",
                    status="processed",
                    created_at=when + timedelta(seconds=1),
                ),
            ]
        )

    async def handoff(
        self,
        c: Conversation,
        reason: str,
        agent: Agent,
        queued: datetime,
        wait: int,
        first_reply: int,
        resolved: int,
    ) -> Handoff:
        """Claimed `wait` s after queued, the agent's first message `first_reply` s after,
        resolved `resolved` s after (all from queued)."""
        handoff = Handoff(
            conversation_id=c.id,
            reason=reason,
            status="resolved",
            agent_id=agent.id,
            created_at=queued,
            claimed_at=queued + timedelta(seconds=wait),
            resolved_at=queued + timedelta(seconds=resolved),
        )
        self.s.add(handoff)
        self.s.add(
            Message(
                conversation_id=c.id,
                direction="out",
                sender="agent",
                text="Let me look into it.",
                status="processed",
                created_at=queued + timedelta(seconds=first_reply),
            )
        )
        await self.s.flush()
        return handoff

    def rating(
        self,
        c: Conversation,
        handoff: Handoff | None,
        score: int,
        when: datetime,
        kind: str = "csat",
        comment: str | None = None,
        article: str | None = None,
    ) -> None:
        self.s.add(
            Rating(
                conversation_id=c.id,
                handoff_id=handoff.id if handoff else None,
                kind=kind,
                score=score,
                comment=comment,
                article_id=article,
                created_at=when,
            )
        )


def answer(article: str) -> dict[str, Any]:
    return {"decision": "answer", "article": article, "candidates": [{"id": article}]}


async def seed(hub: Hub, today: datetime, ana: Agent, bo: Agent) -> None:
    """Six conversations, five of them in the last 7 days:

    C1 web en (A), 2 days ago: answered from reset-password, "did it help?" yes  -> contained
    C2 web en (B), 2 days ago: clarified, then answered (delivery-times)          -> contained
    C3 telegram en (C), yesterday: unknown, then a handoff (unanswered) to Ana:
       claimed after 90 s, first reply after 250 s, resolved after 19 min; CSAT 5
    C4 web fa (D), yesterday: answered, then a handoff (frustration) to Bo:
       first reply after 360 s; CSAT 2 with a comment
    C6 web en (A), yesterday: reset-password again, 24 h after C1            -> a repeat contact
    C5 web en (E), 20 days ago: answered, then a handoff (requested) to Ana: first reply
       after 120 s; CSAT 4
    """
    async with hub.db.session() as s:
        seed = Seed(s, today)
        a, b = await seed.customer("web", "amir"), await seed.customer("web", "bea")
        c, d = await seed.customer("telegram", "chen"), await seed.customer("web", "dara")
        e = await seed.customer("web", "eli")

        c1 = await seed.conversation(a, "en", seed.at(2, 10, 0))
        seed.says(c1, seed.at(2, 10, 0), "I forgot my password", answer("reset-password"))
        seed.rating(c1, None, 5, seed.at(2, 10, 1), kind="answer", article="reset-password")

        c2 = await seed.conversation(b, "en", seed.at(2, 11, 0))
        clarify = {"decision": "clarify", "article": None, "candidates": [{"id": "delivery-times"}]}
        seed.says(c2, seed.at(2, 11, 0), "where is my parcel", clarify)
        seed.says(c2, seed.at(2, 11, 2), "delivery times", answer("delivery-times"))

        c3 = await seed.conversation(c, "en", seed.at(1, 9, 0))
        unknown = {"decision": "unknown", "article": None, "candidates": [{"id": "opening-hours"}]}
        seed.says(c3, seed.at(1, 9, 0), "do you sell gift cards", unknown)
        seed.says(c3, seed.at(1, 9, 0, 40), "I want a human")
        h3 = await seed.handoff(c3, "unanswered", ana, seed.at(1, 9, 1), 90, 250, 1140)
        seed.rating(c3, h3, 5, seed.at(1, 9, 21))

        c4 = await seed.conversation(d, "fa", seed.at(1, 14, 0))
        seed.says(c4, seed.at(1, 14, 0), "بازگشت کالا", answer("return-policy"))
        seed.says(c4, seed.at(1, 14, 1), "that didn't help")
        h4 = await seed.handoff(c4, "frustration", bo, seed.at(1, 14, 2), 60, 360, 1680)
        seed.rating(c4, h4, 2, seed.at(1, 14, 31), comment=COMPLAINT)

        c6 = await seed.conversation(a, "en", seed.at(1, 10, 0))
        seed.says(c6, seed.at(1, 10, 0), "password reset again", answer("reset-password"))

        c5 = await seed.conversation(e, "en", seed.at(20, 16, 0))
        seed.says(c5, seed.at(20, 16, 0), "reset my password", answer("reset-password"))
        h5 = await seed.handoff(c5, "requested", ana, seed.at(20, 16, 1), 30, 120, 600)
        seed.rating(c5, h5, 4, seed.at(20, 16, 11))
        await s.commit()


@pytest.fixture(scope="module")
async def site(base_settings: Settings, tmp_path_factory) -> AsyncIterator[Site]:
    """The hub's web app alone (no Rasa, no articles) on a temporary SQLite database."""
    var = tmp_path_factory.mktemp("reports-var")
    # the seeded queue stays as the reports expect it
    hub = console_hub(base_settings, var, routing_auto_assign=False)
    async with serve(create_app(hub)) as url:
        ana = await hub.agents.create("ana", PASSWORD, role="agent", display_name="Ana Agent")
        bo = await hub.agents.create("bo", PASSWORD, role="agent", display_name="Bo Agent")
        await hub.agents.create("sam", PASSWORD, role="supervisor", display_name="Sam Super")
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        await seed(hub, today, ana, bo)
        yield Site(url, hub, today)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def tiles(page: Page, expected: dict[str, tuple[str, str]]) -> None:
    for key, (value, sub) in expected.items():
        tile = page.locator(f'.tile[data-tile="{key}"]')
        await expect(tile.locator(".tile-value")).to_have_text(value)
        await expect(tile.locator(".tile-sub")).to_have_text(sub)


async def test_a_supervisor_reads_the_reports_and_downloads_a_table(browser: Browser, site: Site):
    watch = Watch()
    context = await browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = watch.attach(await context.new_page())

    # from the agent console: supervisors have a Reports link
    await page.goto(site.url + "/agent")
    await sign_in(page, "sam")
    await expect(page.locator("#to-reports")).to_be_visible()
    await page.click("#to-reports")
    await expect(page).to_have_url(re.compile("^" + re.escape(site.url + "/agent/reports")))
    await expect(page.locator("#me-role")).to_have_text("supervisor")

    # the default range: the last 30 days ending today (UTC), all six conversations
    first_day = (site.today - timedelta(days=29)).date().isoformat()
    await expect(page.locator("#f-from")).to_have_value(first_day)
    await expect(page.locator("#f-to")).to_have_value(site.today.date().isoformat())
    await tiles(
        page,
        {
            "conversations": ("6", "9 customer messages"),
            "containment": ("50%", "3 of 6 conversations the bot took"),
            "handoff_rate": ("50%", "3 handoffs"),
            "csat": ("66.7%", "3 ratings, share of 4–5"),
            "first_response": ("4 min 10 s", "median; p90 5 min 38 s · 3 handoffs"),
            "repeat_contact": ("20%", "1 of 5 customers came back"),
        },
    )
    # charts: titled SVG with a text alternative, readable numbers and tooltips
    daily = page.locator("#chart-daily svg")
    await expect(daily).to_have_attribute("role", "img")
    await expect(daily.locator("desc")).to_contain_text("6 conversations and 9 customer messages")
    yesterday = site.today - timedelta(days=1)
    column = page.locator(f'#chart-daily rect.hit[data-date="{yesterday.date()}"] title')
    await expect(column).to_have_text(
        f"{day_label(yesterday)}: 3 conversations, 5 customer messages"
    )
    outcomes = page.locator("#chart-outcomes")
    await expect(outcomes.locator('[data-part="answered"] title')).to_have_text(
        "Answered: 71.4% of 7 questions"
    )
    await expect(outcomes.locator('[data-part="yes"] title')).to_have_text("Yes: 100% of 1 answer")
    reasons = page.locator("#chart-reasons")
    for reason in ("requested", "unanswered", "frustration"):
        await expect(reasons.locator(f'rect[data-reason="{reason}"]')).to_have_count(1)
    await expect(reasons.locator('rect[data-reason="frustration"] title')).to_have_text(
        "Frustration: 1 handoff (16.7% of conversations)"
    )
    ratings = page.locator("#chart-ratings")
    for score, n in (("1", "0"), ("2", "1"), ("3", "0"), ("4", "1"), ("5", "1")):
        await expect(ratings.locator(f'text.value[data-score="{score}"]')).to_have_text(n)
    await expect(ratings.locator("desc")).to_have_text(
        "3 ratings (CSAT 66.7%): 0 × 1, 1 × 2, 0 × 3, 1 × 4, 1 × 5."
    )
    # tables; the customer's comment is text, never markup
    agents = page.locator("#table-agents tbody tr")
    await expect(agents).to_have_count(2)
    ana = page.locator("#table-agents tbody tr", has_text="Ana Agent")
    await expect(ana.locator('td[data-column="handled"]')).to_have_text("2")
    bo = page.locator("#table-agents tbody tr", has_text="Bo Agent")
    await expect(bo.locator('td[data-column="first_response_median"]')).to_have_text("6 min")
    comment = page.locator('#table-comments td[data-column="comment"]')
    await expect(comment).to_have_text(COMPLAINT)
    await expect(page.locator("#table-comments b")).to_have_count(0)
    await expect(page.locator("#table-repeats tbody tr")).to_have_count(1)
    await page.screenshot(path=str(Path(os.environ.get("TMPDIR", "/tmp")) / "reports.png"))
    if os.environ.get("UPDATE_SCREENSHOTS"):
        DOCS.mkdir(exist_ok=True)
        await page.screenshot(path=str(DOCS / "reports.png"))

    # the last 7 days: the conversation of 20 days ago drops out
    await page.click('.preset[data-days="7"]')
    await expect(page.locator('.preset[data-days="7"]')).to_have_attribute("aria-pressed", "true")
    await tiles(
        page,
        {
            "conversations": ("5", "8 customer messages"),
            "containment": ("60%", "3 of 5 conversations the bot took"),
            "handoff_rate": ("40%", "2 handoffs"),
            "csat": ("50%", "2 ratings, share of 4–5"),
            "first_response": ("5 min 5 s", "median; p90 5 min 49 s · 2 handoffs"),
            "repeat_contact": ("25%", "1 of 4 customers came back"),
        },
    )
    # and only Telegram
    await page.select_option("#f-channel", "telegram")
    await tiles(
        page,
        {
            "conversations": ("1", "2 customer messages"),
            "containment": ("0%", "0 of 1 conversation the bot took"),
            "handoff_rate": ("100%", "1 handoff"),
            "csat": ("100%", "1 rating, share of 4–5"),
            "first_response": ("4 min 10 s", "median; p90 4 min 10 s · 1 handoff"),
        },
    )
    await expect(page.locator('#chart-ratings text.value[data-score="2"]')).to_have_text("0")
    await expect(page.locator("#table-comments .empty")).to_have_text("No comments in this range.")
    # the filters are in the address: a reload (or a shared link) shows the same report, and
    # every channel of the range is still there to choose
    assert "channel=telegram" in page.url
    await page.reload()
    await expect(page.locator("#f-channel")).to_have_value("telegram")
    await expect(page.locator('.tile[data-tile="conversations"] .tile-value')).to_have_text("1")
    await expect(page.locator("#f-channel option")).to_have_text(
        ["All channels", "telegram", "web"]
    )

    # the agents table as CSV, with the filters on screen
    async with page.expect_download() as info:
        await page.click('#table-agents a.dl[data-format="csv"]')
    download = await info.value
    seven_days = (site.today - timedelta(days=6)).date().isoformat()
    assert download.suggested_filename == f"agents-{seven_days}-{site.today.date()}.csv"
    lines = (await asyncio.to_thread(Path(await download.path()).read_text, "utf-8")).splitlines()
    assert lines[0].split(",")[:4] == ["agent", "display_name", "handled", "queue_wait_median"]
    assert len(lines) == 2 and lines[1].startswith("ana,Ana Agent,1,90")

    # an impossible range is named, and the numbers on screen stay those of the last good one
    await page.fill("#f-from", (site.today + timedelta(days=3)).date().isoformat())
    await expect(page.locator("#range-note")).to_have_text("The end date is before the start date.")
    await expect(page.locator('.tile[data-tile="conversations"] .tile-value')).to_have_text("1")

    assert watch.errors == [] and watch.dialogs == []
    await context.close()


async def test_an_agent_is_refused_the_reports(browser: Browser, site: Site):
    watch = Watch()
    context = await browser.new_context(locale="en-US")
    page = watch.attach(await context.new_page())
    await page.goto(site.url + "/agent")
    await sign_in(page, "ana")
    await expect(page.locator("#queue")).to_be_visible()
    await expect(page.locator("#to-reports")).to_be_hidden()

    await page.goto(site.url + "/agent/reports")
    await expect(page.locator("#refused")).to_be_visible()
    await expect(page.locator("#refused")).to_contain_text("supervisors and admins")
    await expect(page.locator("#report-body")).to_be_hidden()
    await expect(page.locator(".tile")).to_have_count(0)
    status = await page.evaluate("fetch('/api/reports/summary').then((r) => r.status)")
    assert status == 403
    assert watch.errors == [] and watch.dialogs == []
    await context.close()


def day_label(day: datetime) -> str:
    """How the page names a day in en-US: 'Dec 1, 2026'."""
    return f"{day:%b} {day.day}, {day.year}"
