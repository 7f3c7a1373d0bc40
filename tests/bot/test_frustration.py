"""Frustration signals, per message."""

from __future__ import annotations

from bot.conversation.frustration import assess


def signals(text: str, intent: str | None = "question", **kw) -> list[str]:  # type: ignore[no-untyped-def]
    context = {
        "earlier_texts": [],
        "previous_score": 0.0,
        "unknown_streak": 0,
        "after_answer": False,
    }
    context.update(kw)
    return assess(text, intent, **context).signals


def test_a_calm_question_has_no_signals():
    result = assess("how long does delivery take?", "question", [], 0.0, 0, False)
    assert result.signals == [] and result.score == 0.0


def test_each_signal_is_recognised():
    assert signals("this is ridiculous", intent="complain") == ["complaint"]
    assert signals("you stupid bot") == ["insult"]
    assert signals("that didn't help at all") == ["negative_reaction"]
    assert signals("no", intent="deny", after_answer=True) == ["negative_reaction"]
    assert signals("WHERE IS MY ORDER") == ["shouting"]
    assert signals("where is my order!!") == ["shouting"]
    assert signals("where is my order?", earlier_texts=["Where is my order"]) == [
        "repeated_question"
    ]
    assert signals("what about crypto", unknown_streak=2) == ["unanswered_streak"]


def test_insults_in_our_customers_languages():
    assert "insult" in signals("ti si glup bot")
    assert "insult" in signals("ты тупой бот")


def test_negative_reactions_in_our_customers_languages():
    for text in [
        "to mi nije pomoglo",  # bs/hr/sr Latin
        "то ми није помогло",  # sr Cyrillic
        "Ti me ne razumiješ",
        "это не помогло",  # ru
        "всё равно не работает",
        "این کمکی نکرد",  # fa
        "بی‌فایده است",
    ]:
        assert signals(text) == ["negative_reaction"], text
    assert signals("то је тачно, хвала") == []  # Serbian Cyrillic without a complaint
    assert signals("ти си глуп бот") == ["insult"]


def test_signals_add_up_across_messages():
    first = assess("WHERE IS MY PARCEL", "question", [], 0.0, 0, False)
    second = assess("that didn't help", "deny", ["WHERE IS MY PARCEL"], first.score, 0, True)
    assert 0 < first.score < second.score <= 1.0
