"""A shop brands its widget without code, in a real browser (Chromium), fast: the widget and the
web channel served over HTTP and websockets with SQLite, the assistant played by
tests/fake_rasa.py, one browser and one hub for the module. Data attributes on the script tag
and the hub's settings file set title, colours, greeting, avatar, position and launcher label;
bad values are ignored with a console warning; on a phone the panel is the whole screen with a
close button; the customer's name, e-mail and attributes from the page reach the router."""

from __future__ import annotations

import html
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy import select

from bot.conversation.router import Router
from bot.handoff.handoffs import Handoffs
from bot.messages import IncomingMessage, OutgoingMessage
from bot.rasa.client import RasaClient
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.models import Customer
from bot.storage.repo import Store
from channels.web import WebChannel
from tests.fake_rasa import FakeRasa
from tests.support import serve

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
DOCS = Path(__file__).resolve().parents[2] / "docs"
AVATAR = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40"><circle cx="20" cy="20" r="20" '
    'fill="#ffd166"/><circle cx="14" cy="16" r="3"/><circle cx="26" cy="16" r="3"/>'
    '<path d="M12 25q8 7 16 0" stroke="#000" stroke-width="2.5" fill="none"/></svg>'
)
DEFAULT_BLUE = "rgb(36, 87, 214)"  # #2457d6

expect.set_options(timeout=10_000)


class SeenRouter(Router):
    """The real router, remembering every message the web channel hands it."""

    seen: list[IncomingMessage]

    async def handle(self, msg: IncomingMessage, replay: bool = False) -> list[OutgoingMessage]:
        self.seen.append(msg)
        return await super().handle(msg, replay)


@dataclass
class Shop:
    url: str
    router: SeenRouter
    store: Store
    settings_file: Path
    pages: dict[str, str] = field(default_factory=dict)

    def page(self, name: str, **data: str) -> str:
        """A shop's page embedding the widget with `data-*` attributes; its URL."""
        attributes = "".join(
            f' data-{key.replace("_", "-")}="{html.escape(value, quote=True)}"'
            for key, value in data.items()
        )
        self.pages[name] = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{name}</title></head><body style="font:16px system-ui;margin:40px;'
            f'background:#fafbfe"><h1>Acme Outdoor</h1><p>Tents, stoves and boots.</p>'
            f'<script src="/widget.js"{attributes} async></script></body></html>'
        )
        return f"{self.url}/shop/{name}"

    def settings(self, values: dict[str, object]) -> None:
        self.settings_file.write_text(json.dumps(values))
        stamp = self.settings_file.stat().st_mtime_ns + 1_000_000_000  # always seen as changed
        os.utime(self.settings_file, ns=(stamp, stamp))


@pytest.fixture(scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shop]:
    folder = tmp_path_factory.mktemp("branding")
    db = Database(f"sqlite+aiosqlite:///{folder / 'test.db'}")
    await db.migrate()
    store = Store(db)
    settings_file = folder / "widget.json"
    settings_file.write_text("{}")
    settings = Settings(var_dir=folder / "var", widget_settings_file=str(settings_file))
    async with serve(FakeRasa().app()) as rasa_url:
        rasa = RasaClient(rasa_url)
        router = SeenRouter(store, rasa, Handoffs(db, store, rasa))
        router.seen = []
        channel = WebChannel(router, settings)
        app = FastAPI()
        app.include_router(channel.routes())
        shop = Shop("", router, store, settings_file)

        @app.get("/shop/{name}")
        async def shop_page(name: str) -> HTMLResponse:
            return HTMLResponse(shop.pages[name])

        @app.get("/avatar.svg")
        async def avatar() -> Response:
            return Response(AVATAR, media_type="image/svg+xml")

        async with serve(app) as url:
            shop.url = url
            yield shop
    await db.close()


@pytest.fixture
async def shop(hub: Shop) -> AsyncIterator[Shop]:
    hub.settings({})
    hub.router.seen.clear()
    yield hub
    hub.settings({})


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        await launched.close()


@dataclass
class Visit:
    page: Page
    warnings: list[str]
    errors: list[str]


async def visit(browser: Browser, url: str, **context: object) -> Visit:
    options: dict = {"locale": "en-US", "viewport": {"width": 1000, "height": 760}, **context}
    page = await (await browser.new_context(**options)).new_page()
    visit = Visit(page, [], [])
    page.on("console", lambda m: visit.warnings.append(m.text) if m.type == "warning" else None)
    page.on("pageerror", lambda exc: visit.errors.append(str(exc)))
    await page.goto(url)
    await expect(page.locator("#sb-status")).to_have_attribute("data-state", "bot")  # online
    return visit


async def say(page: Page, text: str) -> None:
    await page.fill("#sb-input", text)
    await page.press("#sb-input", "Enter")
    await expect(page.locator("#sb-log .sb-bot").last).to_have_text(f"echo: {text}")


async def style(page: Page, selector: str, prop: str) -> str:
    script = f"e => getComputedStyle(e).getPropertyValue({json.dumps(prop)})"
    return str(await page.locator(selector).first.evaluate(script))


async def box(page: Page, selector: str) -> dict[str, float]:
    found = await page.locator(selector).bounding_box()
    assert found is not None, selector
    return dict(found)


async def test_data_attributes_brand_the_widget(shop: Shop, browser: Browser):
    url = shop.page(
        "acme",
        title="Acme help",
        greeting="Hello from Acme! Ask about tents, stoves or your order.",
        color="#0a7d4f",
        accent_color="#c2410c",
        text_color="#fff8e1",
        avatar="/avatar.svg",
        position="bottom-left",
        launcher_label="Help",
        open="true",
    )
    seen = await visit(browser, url)
    page = seen.page
    await expect(page.locator("#sb-title")).to_have_text("Acme help")
    await expect(page.locator("#sb-panel")).to_have_attribute("aria-label", "Acme help")
    await expect(page.locator("#sb-log .sb-bot").first).to_have_text(
        "Hello from Acme! Ask about tents, stoves or your order."
    )
    assert await style(page, "#sb-head", "background-color") == "rgb(10, 125, 79)"
    assert await style(page, "#sb-head", "color") == "rgb(255, 248, 225)"
    assert await style(page, "#sb-launch", "background-color") == "rgb(10, 125, 79)"
    assert await style(page, "#sb-send", "color") == "rgb(194, 65, 12)"
    await expect(page.locator("#sb-launch")).to_have_text("Help")
    await expect(page.locator("#sb-launch")).to_have_attribute("aria-label", "Help")
    avatar = page.locator("#sb-avatar")
    await expect(avatar).to_be_visible()
    assert await avatar.get_attribute("src") == f"{shop.url}/avatar.svg"
    assert await avatar.evaluate("img => img.complete && img.naturalWidth > 0")
    launcher, panel = await box(page, "#sb-launch"), await box(page, "#sb-panel")
    assert launcher["x"] == 20 and panel["x"] == 20  # bottom-left
    await say(page, "Where is my parcel?")
    assert await style(page, ".sb-customer", "background-color") == "rgb(10, 125, 79)"
    DOCS.mkdir(exist_ok=True)
    await page.screenshot(path=str(DOCS / "widget-branding.png"))

    close = page.locator("#sb-close")  # the close button exists on a desktop too
    await expect(close).to_have_attribute("aria-label", "Close chat")
    await close.click()
    await expect(page.locator("#sb-panel")).to_be_hidden()
    await expect(page.locator("#sb-launch")).to_have_attribute("aria-expanded", "false")
    await page.click("#sb-launch")
    await expect(page.locator("#sb-input")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(page.locator("#sb-panel")).to_be_hidden()
    assert seen.warnings == [] and seen.errors == []


async def test_the_default_widget_sits_bottom_right_in_its_own_colours(
    shop: Shop, browser: Browser
):
    seen = await visit(browser, shop.page("plain", open="true"))
    page = seen.page
    await expect(page.locator("#sb-title")).to_have_text("Brightcart support")
    assert await style(page, "#sb-head", "background-color") == DEFAULT_BLUE
    await expect(page.locator("#sb-avatar")).to_be_hidden()
    launcher, panel = await box(page, "#sb-launch"), await box(page, "#sb-panel")
    assert launcher["x"] + launcher["width"] == 1000 - 20
    assert panel["x"] + panel["width"] == 1000 - 20
    await expect(page.locator("#sb-launch")).to_have_attribute("aria-label", "Open chat")


async def test_the_settings_file_applies_and_data_attributes_override_it(
    shop: Shop, browser: Browser
):
    shop.settings(
        {
            "title": "Acme from the file",
            "greeting": "Greetings from the settings file.",
            "color": "#a00",
            "position": "bottom-left",
            "avatar": "/avatar.svg",
            "lang": "hr",
        }
    )
    seen = await visit(browser, shop.page("filed", open="true"))
    page = seen.page
    await expect(page.locator("#sb-title")).to_have_text("Acme from the file")
    await expect(page.locator("#sb-log .sb-bot").first).to_have_text(
        "Greetings from the settings file."
    )
    assert await style(page, "#sb-head", "background-color") == "rgb(170, 0, 0)"
    assert (await box(page, "#sb-launch"))["x"] == 20
    await expect(page.locator("#sb-avatar")).to_have_attribute("src", f"{shop.url}/avatar.svg")
    await expect(page.locator("#sb-send")).to_have_text("Pošalji")  # the file's language

    url = shop.page("tagged", open="true", title="Acme on this page", color="#123", lang="en")
    tagged = (await visit(browser, url)).page
    await expect(tagged.locator("#sb-title")).to_have_text("Acme on this page")
    assert await style(tagged, "#sb-head", "background-color") == "rgb(17, 34, 51)"
    await expect(tagged.locator("#sb-send")).to_have_text("Send")
    await expect(tagged.locator("#sb-log .sb-bot").first).to_have_text(
        "Greetings from the settings file."  # what the tag leaves out comes from the file
    )
    assert (await box(tagged, "#sb-launch"))["x"] == 20
    assert seen.warnings == []


async def test_invalid_values_are_ignored_with_a_console_warning(shop: Shop, browser: Browser):
    shop.settings({"accent_color": "orange", "title": "Acme"})
    url = shop.page(
        "bad",
        open="true",
        color="red;background:url(https://evil.example/x)",
        avatar="javascript:alert(document.cookie)",
        position="top-left",
        greeting="g" * 501,
        launcher_label="<img src=x onerror=alert(1)>",
    )
    seen = await visit(browser, url)
    page = seen.page
    await expect(page.locator("#sb-title")).to_have_text("Acme")  # the file's good value
    assert await style(page, "#sb-head", "background-color") == DEFAULT_BLUE
    assert await style(page, "#sb-send", "color") == DEFAULT_BLUE
    await expect(page.locator("#sb-avatar")).to_be_hidden()
    assert await page.locator("#sb-avatar").get_attribute("src") is None
    launcher = await box(page, "#sb-launch")
    assert launcher["x"] + launcher["width"] == 1000 - 20
    # a label is text, never HTML
    await expect(page.locator("#sb-launch")).to_have_text("<img src=x onerror=alert(1)>")
    assert await page.locator("#sb-launch img").count() == 0
    warned = "\n".join(seen.warnings)
    for name in ("data-color", "data-avatar", "data-position", "data-greeting", "accent_color"):
        assert name in warned, (name, warned)
    assert seen.errors == []


async def test_on_a_phone_the_panel_is_the_whole_screen_and_closes(shop: Shop, browser: Browser):
    url = shop.page(
        "phone",
        color="#0a7d4f",
        title="Acme help",
        avatar="/avatar.svg",
        greeting="Hi! I'm the Acme assistant: orders, delivery and returns.",
    )
    seen = await visit(
        browser,
        url,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = seen.page
    await expect(page.locator("#sb-panel")).to_be_hidden()
    await page.tap("#sb-launch")
    await expect(page.locator("#sb-panel")).to_be_visible()
    assert await box(page, "#sb-panel") == {"x": 0, "y": 0, "width": 390, "height": 844}
    form = await box(page, "#sb-form")
    assert form["y"] + form["height"] == 844  # the input at the bottom of the visible screen
    close = page.locator("#sb-close")
    await expect(close).to_be_visible()
    await expect(close).to_have_attribute("aria-label", "Close chat")
    await say(page, "Do you ship to Sarajevo?")
    await page.screenshot(path=str(DOCS / "widget-phone.png"))
    await close.tap()
    await expect(page.locator("#sb-panel")).to_be_hidden()
    await expect(page.locator("#sb-launch")).to_be_visible()
    assert seen.errors == []


async def test_the_pages_identity_reaches_the_router(shop: Shop, browser: Browser):
    url = shop.page(
        "identity",
        open="true",
        customer_name="Ana Kovač",
        customer_email="ana@example.com",
        attributes=json.dumps({"plan": "pro", "order_number": "A-1042", "Bad Key": "x"}),
    )
    seen = await visit(browser, url)
    page = seen.page
    await say(page, "Where is order A-1042?")
    customer = shop.router.seen[-1].customer
    assert (customer.display_name, customer.email) == ("Ana Kovač", "ana@example.com")
    assert customer.attributes == {
        "plan": "pro",
        "order_number": "A-1042",
        "page_url": f"{shop.url}/shop/identity",
    }
    assert any("Bad Key" in w for w in seen.warnings)  # left out, with a warning

    await page.evaluate(
        "SupportWidget.identify({email: 'ana.k@example.com', attributes: {plan: 'team', n: 3}})"
    )
    await page.evaluate("history.pushState({}, '', '/shop/identity?step=checkout#secret')")
    await say(page, "And now?")
    customer = shop.router.seen[-1].customer
    assert customer.email == "ana.k@example.com" and customer.display_name == "Ana Kovač"
    assert customer.attributes == {
        "plan": "team",
        "order_number": "A-1042",
        "page_url": f"{shop.url}/shop/identity?step=checkout",  # never the #fragment
    }
    assert any("attribute n must be a string" in w for w in seen.warnings)
    assert seen.errors == []
    async with shop.store.db.session() as s:  # the customer's profile keeps them
        row = (
            await s.execute(select(Customer).where(Customer.external_id == customer.external_id))
        ).scalar_one()
    assert (row.display_name, row.email) == ("Ana Kovač", "ana.k@example.com")
    assert row.attributes == customer.attributes
