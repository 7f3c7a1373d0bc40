"""The agent console and the customer widget in a real browser (Debian's Chromium driven by
Playwright) against the real hub with real Rasa: a full handoff, escaping, login and logout."""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from sqlalchemy import select

from bot.i18n import t
from bot.storage.models import Rating
from tests.e2e.conftest import Running

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}"),
]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "agent-console.png"
PASSWORD = "correct horse battery"
WAIT = 60_000  # ms: Rasa answers within seconds, but the first answers can be slow

expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        await browser.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Watch:
    """Fails the test if any page opened a dialog (alert/confirm/prompt) or threw a JS error."""

    def __init__(self) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []

    def attach(self, page: Page) -> Page:
        async def on_dialog(dialog) -> None:
            self.dialogs.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        return page


async def customer_page(
    browser: Browser, running: Running, session: str, watch: Watch
) -> tuple[BrowserContext, Page]:
    """The demo shop page with the widget (it opens by itself), on a known session id whose
    token the hub issued."""
    context = await browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    creds = json.dumps({"session": session, "token": await running.token(session), "user": None})
    await context.add_init_script(f"localStorage.setItem('supportbot-chat', {json.dumps(creds)})")
    page = watch.attach(await context.new_page())
    await page.goto(running.url + "/")
    await expect(page.locator("#sb-status")).to_have_text("online")
    return context, page


async def say(page: Page, text: str) -> None:
    await page.fill("#sb-input", text)
    await page.press("#sb-input", "Enter")


@pytest.fixture(autouse=True)
def claimed_by_hand(running: Running) -> None:
    """Agents here claim by hand: auto-assignment is off (tests/e2e/test_routing.py has it)."""
    running.hub.assigner.enabled = False


async def agent_page(
    browser: Browser, running: Running, username: str, watch: Watch
) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(locale="en-US", viewport={"width": 1440, "height": 900})
    page = watch.attach(await context.new_page())
    await page.goto(running.url + "/agent")
    await login(page, username)
    return context, page


async def login(page: Page, username: str, password: str = PASSWORD) -> None:
    await page.fill("#login-username", username)
    await page.fill("#login-password", password)
    await page.click("#login-submit")
    await expect(page.locator("#queue")).to_be_visible()
    await expect(page.locator("#logout")).to_be_visible()


async def handoff_id(page: Page, conversation_key: str, timeout: float = 60) -> int:
    """The open handoff of a conversation, asked from the agent's page (its cookie)."""
    script = """async (key) => {
        const r = await fetch('/api/agent/queue');
        const body = await r.json();
        if (!r.ok) return {error: r.status + ' ' + JSON.stringify(body)};
        const h = body.handoffs.find((h) => h.conversation_key === key);
        return h ? h.id : null;
    }"""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = await page.evaluate(script, conversation_key)
        assert not isinstance(found, dict), f"GET /api/agent/queue: {found['error']}"
        if found is not None:
            return int(found)
        assert loop.time() < deadline, f"no handoff for {conversation_key} in the queue"
        await asyncio.sleep(0.3)


async def test_full_handoff_from_widget_to_agent_and_back(browser: Browser, running: Running):
    watch = Watch()
    session = unique("e2e-browser")
    maria, other = unique("maria"), unique("tom")
    await running.hub.agents.create(maria, PASSWORD, display_name="Maria")
    await running.hub.agents.create(other, PASSWORD, display_name="Tom")

    customer_ctx, customer = await customer_page(browser, running, session, watch)
    await say(customer, "I want to talk to a human")
    log = customer.locator("#sb-log")
    await expect(log).to_contain_text("passing this conversation to a person", timeout=WAIT)

    agent_ctx, agent = await agent_page(browser, running, maria, watch)
    hid = await handoff_id(agent, f"web:{session}")
    row = agent.locator(f'#queue .queue-item[data-handoff-id="{hid}"]')
    await expect(row).to_be_visible()
    await expect(row).to_contain_text("requested")
    await expect(row).to_contain_text("I want to talk to a human")

    await row.click()
    context = agent.locator("#context")
    await expect(context.locator("#ctx-reason")).to_have_text("requested")
    await expect(context).to_contain_text("web")
    customer_msgs = agent.locator('#transcript .msg[data-sender="customer"]')
    await expect(customer_msgs.filter(has_text="I want to talk to a human")).to_have_count(1)
    await expect(agent.locator('#transcript .msg[data-sender="system"]')).not_to_have_count(0)

    await agent.click("#claim")
    await expect(agent.locator("#claim")).to_be_disabled()
    await expect(row).to_contain_text("Claimed by you")

    # a second agent cannot take it: the console shows who has it
    tom_ctx, tom = await agent_page(browser, running, other, watch)
    await tom.click(f'#queue .queue-item[data-handoff-id="{hid}"]')
    await expect(tom.locator("#ctx-status")).to_have_text("Claimed by Maria")
    await expect(tom.locator("#claim")).to_be_disabled()  # no active Claim: Maria has it
    await expect(tom.locator("#claim")).to_have_text("Claimed by Maria")
    await expect(tom.locator("#reply-send")).to_be_disabled()
    await tom_ctx.close()

    await agent.fill("#note-text", "Customer asked for a person straight away.")
    await agent.click("#note-add")
    await expect(agent.locator("#notes")).to_contain_text(
        "Customer asked for a person straight away."
    )

    reply = "Hello, I'm Maria, how can I help?"
    await agent.fill("#reply-text", reply)
    await agent.click("#reply-send")
    await expect(
        agent.locator('#transcript .msg[data-sender="agent"]').filter(has_text=reply)
    ).to_have_count(1)
    await expect(agent.locator("#reply-text")).to_have_value("")
    await expect(customer.locator("#sb-log .sb-agent")).to_contain_text(reply)

    # the customer answers; it shows up live in the console
    await say(customer, "My parcel never arrived")
    await expect(customer_msgs.filter(has_text="My parcel never arrived")).to_have_count(1)
    await expect(row).to_contain_text("My parcel never arrived")
    await expect(agent.locator("#sum-last")).to_have_text("My parcel never arrived")

    await expect(agent.locator("#flash")).to_be_hidden(timeout=10_000)  # "You have it now."
    await agent.screenshot(path=str(Path(os.environ.get("TMPDIR", "/tmp")) / "agent-console.png"))
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOT.parent.mkdir(exist_ok=True)
        await agent.screenshot(path=str(SCREENSHOT))

    await agent.fill("#resolve-note", "Parcel re-sent, tracking number given.")
    await agent.click("#resolve")
    await expect(row).to_have_count(0)
    await expect(agent.locator("#ctx-status")).to_have_text("Resolved")

    question = customer.locator("#sb-log .sb-msg").filter(has_text=re.compile("rate", re.I))
    await expect(question).to_have_count(1, timeout=WAIT)
    buttons = customer.locator("#sb-log .sb-buttons").last.locator("button")
    await expect(buttons).to_have_text(["1", "2", "3", "4", "5"])
    await buttons.filter(has_text="5").click()
    await expect(log).to_contain_text("Thank you for your rating", timeout=WAIT)

    async with running.hub.db.session() as s:
        ratings = (await s.execute(select(Rating).where(Rating.handoff_id == hid))).scalars()
        assert [r.score for r in ratings] == [5]
    detail = await agent.evaluate(f"fetch('/api/agent/handoffs/{hid}').then((r) => r.json())")
    assert detail["handoff"]["status"] == "resolved"
    assert detail["handoff"]["resolution_note"] == "Parcel re-sent, tracking number given."

    # what Maria answered becomes an article draft for the writers, once
    await expect(agent.locator("#draft-offer")).to_be_visible()
    await agent.click("#save-draft")
    await expect(agent.locator("#flash")).to_contain_text("Saved as a draft for the writers")
    await expect(agent.locator("#save-draft")).to_be_disabled()
    drafts = [d for d in await running.hub.writers.drafts() if d.handoff_id == hid]
    assert len(drafts) == 1 and drafts[0].language == "en"
    assert "My parcel never arrived" in drafts[0].questions
    assert reply in drafts[0].body

    assert watch.dialogs == [] and watch.errors == []
    await agent_ctx.close()
    await customer_ctx.close()


async def test_customer_text_is_shown_as_text_never_run(browser: Browser, running: Running):
    watch = Watch()
    session = unique("e2e-xss")
    username = unique("ana")
    await running.hub.agents.create(username, PASSWORD, display_name="Ana")
    img = '<img src=x onerror="window.__pwned=1">'
    script = "<script>window.__pwned=2</script>"

    # the agent is already watching: the new handoff must appear without a reload
    agent_ctx, agent = await agent_page(browser, running, username, watch)
    await expect(agent.locator("#conn")).to_have_text("live")

    customer_ctx, customer = await customer_page(browser, running, session, watch)
    log = customer.locator("#sb-log")
    for text in (img, script):
        shown = await log.locator(".sb-msg").count()
        await say(customer, text)
        # the echo, then at least one answer from the bot
        await expect(log.locator(".sb-msg").nth(shown + 1)).to_be_attached(timeout=WAIT)
    await say(customer, "I want to talk to a human")
    await expect(log).to_contain_text("passing this conversation to a person", timeout=WAIT)

    hid = await handoff_id(agent, f"web:{session}")
    row = agent.locator(f'#queue .queue-item[data-handoff-id="{hid}"]')
    await expect(row).to_be_visible()
    await row.click()
    said = agent.locator('#transcript .msg[data-sender="customer"] .msg-text')
    await expect(said.filter(has_text=img)).to_have_count(1)
    await expect(said.filter(has_text=script)).to_have_count(1)
    assert img in await said.all_text_contents()
    assert script in await said.all_text_contents()
    assert await agent.locator("#transcript img, #transcript script").count() == 0
    assert await agent.locator("#queue img, #context img").count() == 0

    await agent.wait_for_timeout(500)  # give an injected handler every chance to run
    for page in (agent, customer):
        assert await page.evaluate("window.__pwned") is None
    assert await customer.locator("#sb-log img, #sb-log script").count() == 0
    assert watch.dialogs == [] and watch.errors == []
    await agent_ctx.close()
    await customer_ctx.close()


async def test_login_failure_session_restore_and_logout(browser: Browser, running: Running):
    watch = Watch()
    username = unique("lee")
    await running.hub.agents.create(username, PASSWORD, display_name="Lee")
    context = await browser.new_context(locale="en-US")
    page = watch.attach(await context.new_page())
    await page.goto(running.url + "/agent")

    await expect(page.locator("#login-username")).to_be_visible()
    await expect(page.locator("#login-error")).to_be_hidden()
    await page.fill("#login-username", username)
    await page.fill("#login-password", "not the password")
    await page.click("#login-submit")
    await expect(page.locator("#login-error")).to_be_visible()
    await expect(page.locator("#login-error")).not_to_have_text("")
    await expect(page.locator("#queue")).to_be_hidden()

    await login(page, username)
    await expect(page.locator("#login-error")).to_be_hidden()
    await page.reload()  # the cookie session is restored from GET /api/agent/me
    await expect(page.locator("#queue")).to_be_visible()
    await expect(page.locator("#me-name")).to_have_text("Lee")

    await page.click("#logout")
    await expect(page.locator("#login-username")).to_be_visible()
    await expect(page.locator("#queue")).to_be_hidden()
    await page.reload()  # and the session is really gone
    await expect(page.locator("#login-username")).to_be_visible()
    status = await page.evaluate("fetch('/api/agent/me').then((r) => r.status)")
    assert status == 401
    assert watch.dialogs == [] and watch.errors == []
    await context.close()


async def test_saved_replies_and_transfer(browser: Browser, running: Running):
    watch = Watch()
    admin, first, second = unique("admin"), unique("ivy"), unique("sam")
    await running.hub.agents.create(admin, PASSWORD, role="admin", display_name="Admin")
    await running.hub.agents.create(first, PASSWORD, display_name="Ivy")
    await running.hub.agents.create(second, PASSWORD, display_name="Sam")
    session = unique("e2e-transfer")
    await running.chat(session, "I want to talk to a human")

    # an admin adds a saved reply from the console
    admin_ctx, admin_page = await agent_page(browser, running, admin, watch)
    title = unique("Tracking")
    text = "You can follow your parcel at brightcart.example/track."
    await admin_page.click("#admin-replies summary")
    await admin_page.fill("#saved-title", title)
    await admin_page.fill("#saved-text", text)
    await admin_page.click("#saved-add")
    await expect(admin_page.locator("#saved-list")).to_contain_text(title)
    await admin_ctx.close()

    ivy_ctx, ivy = await agent_page(browser, running, first, watch)
    sam_ctx, sam = await agent_page(browser, running, second, watch)
    hid = await handoff_id(ivy, f"web:{session}")
    for page in (ivy, sam):
        await page.click(f'#queue .queue-item[data-handoff-id="{hid}"]')
        await expect(page.locator("#ctx-status")).to_have_text("Waiting for an agent")
    await expect(sam.locator("#reply-text")).to_be_disabled()

    await ivy.click("#claim")
    await expect(ivy.locator("#ctx-status")).to_have_text("Claimed by you")
    await expect(sam.locator("#ctx-status")).to_have_text("Claimed by Ivy")  # live

    await ivy.fill("#reply-text", "Hi!")
    await ivy.locator("#saved-replies").select_option(label=title)
    await expect(ivy.locator("#reply-text")).to_have_value(f"Hi! {text}")

    await ivy.locator("#transfer-agent").select_option(second)
    await ivy.click("#transfer")
    await expect(ivy.locator("#ctx-status")).to_have_text("Claimed by Sam")
    await expect(ivy.locator("#reply-send")).to_be_disabled()
    await expect(sam.locator("#ctx-status")).to_have_text("Claimed by you")  # live
    await expect(sam.locator("#reply-send")).to_be_enabled()
    row = sam.locator(f'#queue .queue-item[data-handoff-id="{hid}"]')
    await expect(row).to_contain_text("Claimed by you")

    await sam.fill("#reply-text", "Sam here, I'm looking into it.")
    await sam.press("#reply-text", "Control+Enter")
    await expect(sam.locator('#transcript .msg[data-sender="agent"]')).to_have_count(1)
    messages = await running.hub.store.transcript(f"web:{session}")
    assert [m.text for m in messages if m.sender == "agent"] == ["Sam here, I'm looking into it."]
    assert watch.dialogs == [] and watch.errors == []
    await ivy_ctx.close()
    await sam_ctx.close()


async def test_a_new_visitor_gets_a_session_from_the_hub_and_keeps_it(
    browser: Browser, running: Running
):
    """No credential in the browser: the widget asks the hub for one, never puts it in a URL,
    restores the conversation after a reload, and another browser cannot read it."""
    watch = Watch()
    context = await browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    page = watch.attach(await context.new_page())
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.on("websocket", lambda ws: urls.append(ws.url))
    await page.goto(running.url + "/")
    await expect(page.locator("#sb-status")).to_have_text("online")
    await say(page, "how do I reset my password")
    log = page.locator("#sb-log")
    # the greeting, then the bot's answer: the question is stored by now
    await expect(log.locator('[data-sender="bot"]').nth(1)).to_be_attached(timeout=WAIT)
    creds = json.loads(await page.evaluate("localStorage.getItem('supportbot-chat')"))
    assert creds["session"].startswith("w-") and len(creds["token"]) >= 43
    assert not [u for u in urls if creds["token"] in u]

    await page.reload()
    await expect(page.locator("#sb-status")).to_have_text("online")
    await expect(log.locator('[data-sender="customer"]').first).to_have_text(
        "how do I reset my password"
    )

    stranger = await browser.new_context()
    other = await stranger.new_page()
    await other.goto(running.url + "/healthz")
    status = await other.evaluate(
        "s => fetch('/api/chat/' + s).then(r => r.status)", creds["session"]
    )
    assert status == 401
    await stranger.close()
    await context.close()
    assert watch.dialogs == [] and watch.errors == []


WIDGET_FA = SCREENSHOT.parent / "widget-fa.png"
CONSOLE_FA = SCREENSHOT.parent / "console-fa.png"


async def direction_of(page: Page, selector: str) -> str:
    return await page.locator(selector).evaluate("(node) => getComputedStyle(node).direction")


async def test_a_persian_conversation_is_right_to_left_in_persian(
    browser: Browser, running: Running
):
    """Issue 9: the widget's own texts in the customer's language (a browser set to fa-IR),
    Persian right to left in the widget and in the agent console."""
    watch = Watch()
    session = unique("e2e-fa")
    sara = unique("sara")
    await running.hub.agents.create(sara, PASSWORD, display_name="Sara")
    context = await browser.new_context(locale="fa-IR", viewport={"width": 1280, "height": 800})
    creds = json.dumps({"session": session, "token": await running.token(session), "user": None})
    await context.add_init_script(f"localStorage.setItem('supportbot-chat', {json.dumps(creds)})")
    customer = watch.attach(await context.new_page())
    await customer.goto(running.url + "/")

    # the widget's own texts come from the catalog, in Persian, right to left
    await expect(customer.locator("#sb-status")).to_have_text(t("widget_online", "fa"))
    await expect(customer.locator("#sb-title")).to_have_text(t("widget_title", "fa"))
    await expect(customer.locator("#sb-send")).to_have_text(t("widget_send", "fa"))
    placeholder = t("widget_placeholder", "fa")
    await expect(customer.locator("#sb-input")).to_have_attribute("placeholder", placeholder)
    await expect(customer.locator("#sb-launch")).to_have_attribute(
        "aria-label", t("widget_open", "fa")
    )
    await expect(customer.locator("#sb-panel")).to_have_attribute("dir", "rtl")
    log = customer.locator("#sb-log")
    await expect(log.locator(".sb-msg").first).to_have_text(t("greet", "fa"))
    assert await direction_of(customer, "#sb-input") == "rtl"

    await say(customer, "سفارشم کجاست؟")
    await expect(log.locator(".sb-msg")).to_have_count(
        3, timeout=WAIT
    )  # greeting, question, answer
    for bubble in ("#sb-log .sb-customer", "#sb-log .sb-bot >> nth=1"):
        assert await direction_of(customer, bubble) == "rtl"
    # an English line in a Persian conversation is still shown left to right (dir="auto")
    await say(customer, "Order BC-12345")
    english = log.locator(".sb-customer").filter(has_text="Order BC-12345")
    assert await english.evaluate("(node) => getComputedStyle(node).direction") == "ltr"
    await expect(log.locator(".sb-msg")).not_to_have_count(4, timeout=WAIT)  # its answer came

    await say(customer, "می‌خواهم با یک نفر صحبت کنم")
    await expect(log).to_contain_text(t("no_agent_online", "fa")[:20], timeout=WAIT)

    agent_ctx, agent = await agent_page(browser, running, sara, watch)
    hid = await handoff_id(agent, f"web:{session}")
    await agent.click(f'#queue .queue-item[data-handoff-id="{hid}"]')
    await expect(agent.locator("#ctx-language")).to_have_text("fa")
    await expect(agent.locator("#transcript")).to_have_attribute("dir", "rtl")
    await expect(agent.locator("#reply-text")).to_have_attribute("dir", "rtl")
    persian = agent.locator('#transcript .msg[data-sender="customer"]').filter(
        has_text="سفارشم کجاست"
    )
    await expect(persian).to_have_count(1)
    assert (
        await persian.locator(".msg-text").evaluate("(node) => getComputedStyle(node).direction")
        == "rtl"
    )
    await agent.click("#claim")
    await expect(agent.locator("#claim")).to_be_disabled()
    reply = "سلام، من سارا هستم. شماره سفارشتان را بفرستید تا بررسی کنم."
    await agent.fill("#reply-text", reply)
    await agent.click("#reply-send")
    await expect(customer.locator("#sb-log .sb-agent")).to_contain_text(reply)
    assert await direction_of(customer, "#sb-log .sb-agent") == "rtl"
    await expect(agent.locator("#flash")).to_be_hidden(timeout=10_000)

    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    await customer.screenshot(path=str(tmp / WIDGET_FA.name))
    await agent.screenshot(path=str(tmp / CONSOLE_FA.name))
    if os.environ.get("UPDATE_SCREENSHOTS"):
        WIDGET_FA.parent.mkdir(exist_ok=True)
        await customer.screenshot(path=str(WIDGET_FA))
        await agent.screenshot(path=str(CONSOLE_FA))

    assert watch.dialogs == [] and watch.errors == []
    await agent_ctx.close()
    await context.close()


async def test_widget_texts_follow_data_attributes_and_the_catalog(
    browser: Browser, running: Running
):
    """data-lang picks the catalog's language (Serbian Cyrillic here), data-title and
    data-greeting override two texts; the hub serves the texts as JSON."""
    texts = (await running.http.get("/widget/texts", params={"lang": "fa-IR"})).json()
    assert texts["lang"] == "fa" and texts["dir"] == "rtl" and texts["send"] == "ارسال"
    assert (await running.http.get("/widget/texts", params={"lang": "<x>"})).json()["lang"] == "en"
    watch = Watch()
    session = unique("e2e-attrs")
    context = await browser.new_context(locale="en-US")
    creds = json.dumps({"session": session, "token": await running.token(session), "user": None})
    await context.add_init_script(f"localStorage.setItem('supportbot-chat', {json.dumps(creds)})")
    # the shop's tag on the demo page: <script src="/widget.js" data-lang=... data-title=...>
    attributes = {"lang": "sr-Cyrl", "title": "Продавница", "greeting": "Добро дошли!"}
    await context.add_init_script(
        f"const attrs = {json.dumps(attributes)};"
        """new MutationObserver((_, observer) => {
            const tag = document.querySelector('script[src="/widget.js"]');
            if (!tag) return;
            Object.assign(tag.dataset, attrs);
            observer.disconnect();
        }).observe(document, {childList: true, subtree: true});"""
    )
    page = watch.attach(await context.new_page())
    await page.goto(running.url + "/")
    await expect(page.locator("#sb-status")).to_have_text(t("widget_online", "sr-Cyrl"))
    await expect(page.locator("#sb-title")).to_have_text("Продавница")
    await expect(page.locator("#sb-log .sb-msg").first).to_have_text("Добро дошли!")
    await expect(page.locator("#sb-send")).to_have_text(t("widget_send", "sr-Cyrl"))
    await expect(page.locator("#sb-panel")).to_have_attribute("dir", "ltr")
    assert watch.dialogs == [] and watch.errors == []
    await context.close()


async def test_a_supervisor_resolves_without_survey_and_sees_a_low_score_alert(
    browser: Browser, running: Running
):
    watch = Watch()
    hub = running.hub
    boss = unique("sam")
    await hub.agents.create(boss, PASSWORD, role="supervisor", display_name="Sam")
    ctx, page = await agent_page(browser, running, boss, watch)
    await expect(page.locator("#conn")).to_have_text("live")

    # "Resolve without survey": the customer is only told the bot is back
    quiet = unique("e2e-quiet")
    await running.chat(quiet, "I want to talk to a human")
    hid = await handoff_id(page, f"web:{quiet}")
    await page.click(f'#queue .queue-item[data-handoff-id="{hid}"]')
    await page.click("#claim")
    # the claim is confirmed before resolving: the buttons are enabled while it is still queued,
    # and a claim answered after the resolve painted "Claimed by you" over "Resolved"
    await expect(page.locator("#ctx-status")).to_have_text("Claimed by you")
    await expect(page.locator("#resolve-quiet")).to_be_enabled()
    await page.fill("#resolve-note", "Answered by phone.")
    await page.click("#resolve-quiet")
    await expect(page.locator("#ctx-status")).to_have_text("Resolved")
    await expect(page.locator("#flash")).to_contain_text("without a survey")
    await expect(page.locator("#resolve-quiet")).to_be_disabled()
    told = (await hub.store.transcript(f"web:{quiet}"))[-1]
    assert told.text == t("resolved_no_survey", agent="Sam")

    # another agent's customer gives a 1: the alert appears live, then with the comment
    angry = unique("e2e-angry")
    await running.chat(angry, "I want to talk to a human")
    conversation = await hub.store.conversation(f"web:{angry}")
    assert conversation
    handoff = await hub.handoffs.open_for(conversation.id)
    assert handoff
    maria = await hub.agents.create(unique("maria"), PASSWORD, display_name="Maria")
    await hub.handoffs.claim(handoff.id, maria)
    await hub.handoffs.resolve(handoff.id, maria, "refund sent")
    await running.chat(angry, "1")
    card = page.locator("#alerts .alert")
    await expect(card).to_have_count(1)
    await expect(card).to_contain_text("Low rating 1/5")
    await expect(card).to_contain_text("resolved by Maria")
    await expect(card.locator(".alert-comment")).to_contain_text("No comment yet")
    comment = '<img src=x onerror="window.__pwned=1"> nobody answered for an hour'
    await running.chat(angry, comment)
    await expect(card.locator(".alert-comment")).to_have_text(comment)
    await expect(card).to_have_count(1)  # the same alert, updated
    assert await page.locator("#alerts img").count() == 0
    await card.locator(".alert-open").click()
    await expect(page.locator("#ctx-customer")).to_be_visible()
    await expect(page.locator("#ctx-status")).to_have_text("Resolved")
    await card.locator(".alert-close").click()
    await expect(card).to_have_count(0)
    assert await page.evaluate("window.__pwned") is None
    assert watch.dialogs == [] and watch.errors == []
    await ctx.close()
