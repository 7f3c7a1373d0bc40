"""Frustration signals computed per customer message, combined into one score (0..1).

The score carries over with decay, so repeated mild signs add up: score = min(1, carried *
DECAY + sum of this message's signal weights). Over the threshold (setting
`FRUSTRATION_THRESHOLD`) the bot stops trying and hands over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from knowledge_base.normalize import cyrillic_to_latin

DECAY = 0.5
WEIGHTS = {
    "complaint": 0.5,  # Rasa understood a complaint
    "insult": 0.5,
    "negative_reaction": 0.35,  # "that didn't help" after an answer
    "repeated_question": 0.3,  # asked again: the answer did not land
    "unanswered_streak": 0.3,  # the bot could not answer twice in a row
    "shouting": 0.25,  # CAPITALS or "!!"
}
NEGATIVE = re.compile(
    r"\b(did ?n[o']?t help|does ?n[o']?t help|not helpful|useless|not what i asked|"
    r"wrong answer|that'?s not it|you don'?t understand|not working|still (not|no))\b"
    r"|\b(nije (mi )?pomoglo|ne pomaže|ne pomaze|ne razumiješ|ne razumes|ne razumeš|"
    r"beskorisn\w*|to nije to|i dalje ne)\b"
    r"|\b(не помогло|не помогает|бесполезн\w*|не то|вы не понимаете|ты не понимаешь|"
    r"не работает|всё равно не|все равно не)\b"
    r"|کمکی نکرد|کمک نکرد|بی‌فایده|بی فایده|متوجه نمی‌شوی|متوجه نمی‌شوید|کار نمی‌کند",
    re.IGNORECASE,
)
INSULTS = re.compile(
    r"\b(stupid|idiot\w*|dumb|moron\w*|crap|shit\w*|fuck\w*|wtf|damn|pathetic|"
    r"glup\w*|idiot\w*|kreten\w*|budal\w*|jebem|sranje|"
    r"туп\w*|идиот\w*|дурак\w*|глуп\w*|бляд\w*|хрен\w*)\b"
    r"|احمق|کثافت",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Assessment:
    score: float
    signals: list[str] = field(default_factory=list)


def _shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    upper = sum(c.isupper() for c in letters)
    caps = len(letters) >= 8 and upper / len(letters) >= 0.7
    return caps or "!!" in text


def _normal(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _repeated(text: str, earlier: list[str]) -> bool:
    current = _normal(text)
    if len(current) < 12:
        return False
    return any(SequenceMatcher(None, current, _normal(e)).ratio() >= 0.85 for e in earlier)


def assess(
    text: str,
    intent: str | None,
    earlier_texts: list[str],
    previous_score: float,
    unknown_streak: int,
    after_answer: bool,
) -> Assessment:
    """Signals of one customer message, given what came before in the conversation."""
    signals = []
    words = f"{text}\n{cyrillic_to_latin(text)}"  # Serbian Cyrillic matches the Latin words
    if intent == "complain":
        signals.append("complaint")
    if INSULTS.search(words):
        signals.append("insult")
    if NEGATIVE.search(words) or (intent == "deny" and after_answer):
        signals.append("negative_reaction")
    if _repeated(text, earlier_texts):
        signals.append("repeated_question")
    if unknown_streak >= 2:
        signals.append("unanswered_streak")
    if _shouting(text):
        signals.append("shouting")
    score = min(1.0, previous_score * DECAY + sum(WEIGHTS[s] for s in signals))
    return Assessment(round(score, 3), signals)
