"""The bot's fixed texts reach customers in their language."""

from __future__ import annotations

import re
import string

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.replies import REPLIES, Reply
from bot.conversation.router import Router
from bot.handoff.handoffs import Handoffs
from bot.i18n import TEXTS, WIDGET_TEXTS, direction, t, widget_texts
from bot.language import DEFAULT_SUPPORTED
from bot.messages import Customer, IncomingMessage
from bot.rasa.client import RasaClient
from bot.storage.repo import Store
from tests.conftest import free_port

CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(TEXTS))
def test_every_text_exists_in_every_supported_language_with_the_same_fields(key: str):
    texts = TEXTS[key]
    assert set(DEFAULT_SUPPORTED) <= set(texts)
    assert all(fields(texts[lang]) == fields(texts["en"]) for lang in texts)


def test_serbian_cyrillic_is_transliterated_and_values_stay_as_given():
    text = t("rating_question", "sr-Cyrl", agent="Maria")
    assert text.startswith("Ваше питање је означено као решено (Maria)")
    assert t("greet", "sr-Cyrl").startswith("Здраво! Ја сам Brightcart асистент.")
    assert not CYRILLIC.search(t("greet", "sr"))
    # "joined" for either gender, with a slash: still words, not a path to keep in Latin
    assert t("agent_joined", "sr-Cyrl", agent="Ana") == "Ana се придружио/ла разговору."


def test_unknown_language_falls_back_to_english():
    assert t("too_long", "de-AT", length=5, limit=3) == (
        "Your message is too long (5 characters). Please keep it under 3."
    )
    assert t("human_button", None) == "Talk to a person"


def tracker(language: str | None) -> Tracker:
    metadata = {"language": language} if language else {}
    return Tracker.from_dict(
        {"sender_id": "web:x", "latest_message": {"text": "hi", "metadata": metadata}}
    )


@pytest.mark.parametrize(
    ("language", "start"),
    [
        ("ru", "Здравствуйте!"),
        ("fa", "سلام!"),
        ("hr", "Bok!"),
        ("sr-Cyrl", "Здраво!"),
        (None, "Hi!"),
    ],
)
async def test_the_greeting_action_speaks_the_conversation_language(language, start):
    dispatcher = CollectingDispatcher()
    await Reply("action_greet", REPLIES["action_greet"]).run(dispatcher, tracker(language), {})
    assert dispatcher.messages[0]["text"].startswith(start)


async def test_rasa_down_is_told_in_the_customer_language(store: Store):
    rasa = RasaClient(f"http://127.0.0.1:{free_port()}", timeout=2)
    router = Router(store, rasa, Handoffs(store.db, store, rasa))
    message = IncomingMessage("web", "s1", "где мой заказ?", Customer("s1"), None, "ru")
    replies = await router.handle(message)
    assert replies[0].text == t("rasa_down", "ru")
    assert replies[0].text.startswith("Извините, у меня техническая проблема")


def test_the_widget_texts_come_from_the_catalog_with_their_direction():
    persian = widget_texts("fa")
    assert persian["dir"] == "rtl" and persian["send"] == "ارسال"
    assert persian["greeting"] == t("greet", "fa")
    assert set(persian) == {*WIDGET_TEXTS, "dir"}
    cyrillic = widget_texts("sr-Cyrl")
    assert cyrillic["dir"] == "ltr" and cyrillic["title"] == "Brightcart подршка"
    assert widget_texts("de")["title"] == "Brightcart support"  # English when unknown
    assert [direction(x) for x in ("fa-IR", "ar", "ru", None)] == ["rtl", "rtl", "ltr", "ltr"]
