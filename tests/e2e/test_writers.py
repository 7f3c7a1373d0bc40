"""The writers' page in a real browser (Chromium via Playwright) against the real hub with real
Rasa and the real knowledge base: a customer asks what no article covers, the gap shows up on
the writers' page, the writer writes the article there, and the same question is answered at
once - no restart. Also: the preview never runs HTML, errors show next to their fields."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.e2e.conftest import Running
from tests.e2e.test_browser import (
    ARGS,
    CHROMIUM,
    PASSWORD,
    WAIT,
    Watch,
    customer_page,
    say,
)
from tests.e2e.test_browser import pytestmark as browser_marks

pytestmark = browser_marks

DOCS = Path(__file__).resolve().parents[2] / "docs"
QUESTION = "Can I bring my dog into the shop?"
ANSWER = "Well-behaved dogs on a lead are welcome in all Brightcart shops."
BODY = f"""{ANSWER}

- Guide and assistance dogs: **always** welcome.
- Other pets: please keep them *in a carrier*.

More in our [shop rules](https://brightcart.example/shops).
<img src=x onerror="window.sbPwned=1"> [bad](javascript:window.sbPwned=2)"""


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        await launched.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def screenshot(page: Page, name: str) -> None:
    await page.screenshot(path=str(Path(os.environ.get("TMPDIR", "/tmp")) / name))
    if os.environ.get("UPDATE_SCREENSHOTS"):
        DOCS.mkdir(exist_ok=True)
        await page.screenshot(path=str(DOCS / name))


async def writers_page(browser: Browser, running: Running, username: str, watch: Watch) -> Page:
    context = await browser.new_context(locale="en-US", viewport={"width": 1440, "height": 1000})
    page = watch.attach(await context.new_page())
    await page.goto(running.url + "/agent/writers")
    await page.fill("#login-username", username)
    await page.fill("#login-password", PASSWORD)
    await page.click("#login-submit")
    await expect(page.locator("#tabs")).to_be_visible()
    await expect(page.locator("#me-role")).to_have_text("writer")
    return page


async def test_a_gap_becomes_a_live_article_from_the_writers_page(
    browser: Browser, running: Running
):
    watch = Watch()
    session = unique("e2e-writers")
    writer = unique("wendy")
    await running.hub.agents.create(writer, PASSWORD, role="writer", display_name="Wendy")

    # 1. a customer asks something no article covers: the bot says so honestly
    customer_ctx, customer = await customer_page(browser, running, session, watch)
    log = customer.locator("#sb-log")
    shown = await log.locator(".sb-msg").count()
    await say(customer, QUESTION)
    await expect(log.locator(".sb-msg").nth(shown + 1)).to_be_attached(timeout=WAIT)
    assert ANSWER not in await log.inner_text()

    # 2. the gap cluster appears on the writers' page
    page = await writers_page(browser, running, writer, watch)
    cluster = page.locator("#clusters .cluster").filter(has_text=QUESTION)
    for _ in range(60):
        if await cluster.count():
            break
        await page.click("#gaps-refresh")
        await page.wait_for_timeout(500)
    await expect(cluster).to_have_count(1)
    await expect(cluster).to_contain_text("open")
    await expect(cluster.locator(".chip.lang")).to_have_text(["en"])
    await expect(cluster.locator(".count")).to_contain_text("1")
    await screenshot(page, "writers-gaps.png")

    # 3. the writer writes the article there: the editor comes prefilled from the cluster
    await cluster.locator(".write-article").click()
    await expect(page.locator("#editor-view")).to_be_visible()
    await expect(page.locator("#ed-questions")).to_have_value(re.compile(re.escape(QUESTION)))
    await expect(page.locator("#ed-language")).to_have_value("en")

    # try it before saving: today the bot does not know
    await expect(page.locator("#try-text")).to_have_value(QUESTION)
    await page.click("#try-run")
    await expect(page.locator("#try-result [data-decision]")).to_have_attribute(
        "data-decision", "unknown"
    )

    # a save with errors: they show next to their fields, nothing is written
    await page.fill("#ed-id", "Pets in shops!")
    await page.click("#ed-save")
    id_error = page.locator('.field-error[data-for="id"]')
    await expect(id_error).to_be_visible()
    await expect(id_error).to_contain_text("slug")
    await expect(page.locator('.field-error[data-for="title"]')).to_be_visible()
    await expect(page.locator('.field-error[data-for="body"]')).to_be_visible()
    assert not list(running.hub.kb.articles_dir.rglob("pets*"))

    await page.fill("#ed-id", "pets-in-shops")
    await page.fill("#ed-title", "Pets in our shops")
    questions = await page.input_value("#ed-questions")
    await page.fill(
        "#ed-questions",
        questions + "\nare dogs allowed in your stores\ncan my cat come with me to the shop",
    )
    await page.fill("#ed-tags", "shops")
    await page.fill("#ed-body", BODY)
    await expect(id_error).to_be_hidden()  # typing clears it

    # the preview renders the Markdown subset and never runs HTML
    preview = page.locator("#ed-preview")
    await expect(preview.locator("li strong")).to_have_text("always")
    await expect(preview.locator("li em")).to_have_text("in a carrier")
    await expect(preview.locator("a")).to_have_count(1)
    await expect(preview.locator("a")).to_have_attribute("href", "https://brightcart.example/shops")
    await expect(preview).to_contain_text('<img src=x onerror="window.sbPwned=1">')
    await expect(preview).to_contain_text("bad (javascript:window.sbPwned=2)")
    assert await preview.locator("img, script").count() == 0

    await page.click("#ed-save")
    await expect(page.locator("#editor-status")).to_contain_text(
        "the bot answers with it", timeout=WAIT
    )
    await expect(page.locator("#ed-history")).to_contain_text("created")
    path = running.hub.kb.articles_dir / "en" / "pets-in-shops.md"
    assert f"  - {QUESTION}" in path.read_text()

    await page.click("#try-run")
    await expect(page.locator("#try-result [data-decision]")).to_have_attribute(
        "data-decision", "answer"
    )
    await expect(page.locator("#try-result li").first).to_contain_text("Pets in our shops")
    await screenshot(page, "writers-editor.png")

    # 4. the same question again: answered directly, by the running bot
    shown = await log.locator(".sb-msg").count()
    await say(customer, QUESTION)
    await expect(log.locator(".sb-msg").nth(shown + 1)).to_contain_text(ANSWER, timeout=WAIT)

    # the article is listed with the languages it is still missing in
    await page.click('.tab[data-tab="articles"]')
    await page.fill("#article-search", "dog into the shop")
    row = page.locator('#articles-body tr[data-article-id="pets-in-shops"]')
    await expect(row).to_have_count(1)
    await expect(row.locator(".missing")).to_contain_text("missing in: ")
    await expect(row.locator(".missing")).to_contain_text("fa")
    await expect(page.locator("#articles-body tr")).to_have_count(1)

    await page.click('.tab[data-tab="history"]')
    await expect(page.locator("#history")).to_contain_text("en/pets-in-shops")
    await expect(page.locator("#history")).to_contain_text(writer)

    assert await page.evaluate("window.sbPwned") is None
    assert watch.dialogs == [] and watch.errors == []
    await page.context.close()
    await customer_ctx.close()


async def test_persian_articles_are_edited_right_to_left(browser: Browser, running: Running):
    watch = Watch()
    writer = unique("farah")
    await running.hub.agents.create(writer, PASSWORD, role="writer")
    page = await writers_page(browser, running, writer, watch)
    await page.click('.tab[data-tab="articles"]')
    await page.fill("#article-search", "reset-password")
    cell = page.locator(
        '#articles-body tr[data-article-id="reset-password"] .lang-cell[data-language="fa"]'
    )
    await cell.click()
    await expect(page.locator("#ed-language")).to_have_value("fa")
    for field in ("#ed-title", "#ed-questions", "#ed-body", "#ed-preview"):
        await expect(page.locator(field)).to_have_attribute("dir", "rtl")
    await expect(page.locator("#ed-id")).to_have_value("reset-password")
    assert watch.dialogs == [] and watch.errors == []
    await page.context.close()
