"""Customers writing Russian, Persian, Serbian and Croatian, through the real trained Rasa model,
the real knowledge base and the hub's language detection."""

from __future__ import annotations

import re

import pytest

from bot.i18n import t
from tests.e2e.conftest import Running

pytestmark = pytest.mark.e2e


async def chat(running: Running, session: str, text: str, language: str | None = None):
    return await running.chat(session, text, **({"language": language} if language else {}))


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("ru", "Я хочу поговорить с живым человеком"),
        ("fa", "می‌خواهم با یک نفر صحبت کنم"),
        ("sr-Cyrl", "Желим да разговарам са особом из подршке"),
    ],
)
async def test_asking_for_a_person_in_another_language_hands_over_in_that_language(
    running: Running, language: str, text: str
):
    session = f"lang-human-{language}"
    messages = await chat(running, session, text)  # the channel gave no language
    assert any((m.get("custom") or {}).get("handoff") for m in messages)
    assert messages[-1]["text"].startswith(t("no_agent_online", language))
    conversation = await running.hub.store.conversation(f"web:{session}")
    assert conversation is not None and conversation.language == language
    position = (await running.hub.handoffs.status(conversation))["position"]
    assert t("queue_position", language, position=position) in messages[-1]["text"]
    handoff = await running.hub.handoffs.open_for(conversation.id)
    assert handoff is not None and handoff.reason == "requested"


async def test_a_croatian_question_is_answered_from_the_croatian_article(running: Running):
    messages = await chat(running, "lang-hr-password", "Zaboravio sam lozinku za račun", "hr")
    answer = messages[0]
    assert answer["custom"]["kb"]["article"] == "reset-password"
    assert answer["text"].startswith("**Ponovno postavljanje lozinke**")
    assert {"title": "Razgovor s osobom", "payload": "/ask_human"} in answer["buttons"]


async def test_a_russian_greeting_is_answered_in_russian(running: Running):
    messages = await chat(running, "lang-ru-greet", "Здравствуйте!", "en")  # widget says en
    assert messages[0]["text"] == t("greet", "ru")


# Issue 9: these were read by Rasa as a request for a person (confidence 1.00) and queued.
NOT_A_PERSON = [
    ("sr-Cyrl", "Желим да вратим ципеле које ми не одговарају"),
    ("ru", "Хочу вернуть обувь, которая не подошла по размеру"),
    ("fa", "می‌خواهم کفش‌هایی را که اندازه‌ام نیست پس بدهم"),
    ("fa", "می‌خواهم سفارشم را لغو کنم"),
]


@pytest.mark.parametrize(("language", "text"), NOT_A_PERSON)
async def test_a_product_question_is_never_a_handoff_because_of_its_language(
    running: Running, language: str, text: str
):
    session = f"lang-not-a-person-{NOT_A_PERSON.index((language, text))}"
    messages = await chat(running, session, text)  # the channel gave no language
    assert not any((m.get("custom") or {}).get("handoff") for m in messages), messages
    kb = (messages[0].get("custom") or {}).get("kb") or {}
    assert kb.get("decision") in {"answer", "clarify"}, messages  # from the knowledge base
    conversation = await running.hub.store.conversation(f"web:{session}")
    assert conversation is not None and conversation.state == "bot"
    assert conversation.language == language
    assert await running.hub.handoffs.open_for(conversation.id) is None


async def test_a_russian_customer_stays_russian_on_a_serbian_looking_message(running: Running):
    """Issue 9: "карту отклонили" switched a Russian conversation to Serbian."""
    session = "lang-ru-card"
    await chat(running, session, "Здравствуйте!", "ru")
    messages = await chat(running, session, "карту отклонили", "ru")
    conversation = await running.hub.store.conversation(f"web:{session}")
    assert conversation is not None and conversation.language == "ru"
    assert not any((m.get("custom") or {}).get("handoff") for m in messages), messages
    assert re.search(r"[а-яё]", messages[0]["text"]), messages  # answered in Cyrillic
    assert not re.search(r"[ђјљњћџčćšžđ]", messages[0]["text"]), messages  # not in Serbian
