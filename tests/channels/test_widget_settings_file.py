"""The widget's settings file (WIDGET_SETTINGS_FILE) served at GET /widget/settings: JSON or
YAML, bad values left out with an error naming them, a bad file never a 500, edits picked up
without a restart."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bot.conversation.router import Router
from bot.handoff.handoffs import Handoffs
from bot.rasa.client import RasaClient
from bot.settings import Settings
from bot.storage.repo import Store
from channels.web import WebChannel
from channels.web_branding import BrandingFile
from tests.support import serve

Serve = Callable[[Path | None], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def hub(sqlite_store: Store, settings: Settings) -> Serve:
    @asynccontextmanager
    async def start(path: Path | None) -> AsyncIterator[httpx.AsyncClient]:
        rasa = RasaClient("http://127.0.0.1:9")  # never called here
        router = Router(sqlite_store, rasa, Handoffs(sqlite_store.db, sqlite_store, rasa))
        channel = WebChannel(router, settings.with_(widget_settings_file=str(path or "")))
        app = FastAPI()
        app.include_router(channel.routes())
        async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
            yield http

    return start


async def test_without_a_file_there_is_no_branding(hub: Serve):
    async with hub(None) as http:
        response = await http.get("/widget/settings")
    assert response.status_code == 200
    assert response.json() == {"settings": {}, "errors": []}


async def test_a_yaml_file_is_served_and_its_edits_picked_up(hub: Serve, tmp_path: Path):
    path = tmp_path / "widget.yml"
    path.write_text("title: Acme help\ncolor: '#0a7d4f'\nposition: bottom-left\n")
    async with hub(path) as http:
        first = (await http.get("/widget/settings")).json()
        path.write_text("title: Acme help desk\navatar: /static/acme.png\n")
        os.utime(path, ns=(1, 1))  # a different modification time, however fast the test
        second = (await http.get("/widget/settings")).json()
    assert first == {
        "settings": {"title": "Acme help", "color": "#0a7d4f", "position": "bottom-left"},
        "errors": [],
    }
    assert second["settings"] == {"title": "Acme help desk", "avatar": "/static/acme.png"}


async def test_bad_values_are_left_out_and_named(
    hub: Serve, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    path = tmp_path / "widget.json"
    path.write_text(
        '{"title": "Acme", "color": "red", "accent_color": "#12345", "avatar": '
        '"javascript:alert(1)", "position": "top-left", "greeting": "' + "g" * 501 + '", '
        '"lang": "not a tag", "colour": "#fff", "text_color": 7, "launcher_label": "Help"}'
    )
    with caplog.at_level(logging.ERROR):
        async with hub(path) as http:
            body = (await http.get("/widget/settings")).json()
    assert body["settings"] == {"title": "Acme", "launcher_label": "Help"}
    errors = "\n".join(body["errors"])
    for name in ("color", "accent_color", "avatar", "position", "greeting", "lang", "colour"):
        assert f"'{name}'" in errors
    assert "'text_color' must be a string" in errors
    assert "widget.json: 'color' must be a colour like #2457d6" in caplog.text  # when loaded


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("widget.json", "{not json", "not valid JSON"),
        ("widget.yml", "title: [unclosed", "not valid YML"),
        ("widget.yml", "- a list\n- of things\n", "expected a mapping"),
        ("widget.json", b"\xff\xfe", "cannot be read"),
        ("widget.toml", 'title = "Acme"', "name a .json, .yml or .yaml file"),
        ("missing.json", None, "no such file"),
    ],
)
def test_a_bad_file_gives_one_clear_error_naming_it(
    tmp_path: Path, name: str, content: str | bytes | None, error: str
):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    branding = BrandingFile(str(path)).current()
    assert branding.settings == {} and len(branding.errors) == 1
    assert error in branding.errors[0] and name in branding.errors[0]


async def test_a_bad_file_is_served_as_its_error_never_a_500(hub: Serve, tmp_path: Path):
    path = tmp_path / "widget.json"
    path.write_text("{not json")
    async with hub(path) as http:
        response = await http.get("/widget/settings")
    assert response.status_code == 200
    assert response.json()["settings"] == {}
    assert "widget.json: not valid JSON" in response.json()["errors"][0]
