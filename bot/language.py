"""Which supported language a customer writes in, offline.

Script rules first (Arabic script is Persian here; Cyrillic is Serbian or Russian), then
lingua-language-detector restricted to the supported languages. Bosnian, Croatian and Serbian
(Latin) are one family: nearly the same language, so a detection inside the family never
overrides the conversation's (or the channel's) choice. Serbian written in Cyrillic is the tag
`sr-Cyrl`: the knowledge base falls back to `sr`, and fixed texts are transliterated.
Short or unclear texts ("ok", "hi", "42") give no detection: the conversation keeps its language.

Russian and Serbian Cyrillic share most letters. ђ ј љ њ ћ џ are Serbian only, ё й щ ъ ы ь э ю я
Russian only; a text with neither ("карту отклонили") is Serbian only when lingua is clearly sure,
and never moves a conversation already in Russian or Serbian Cyrillic to the other. A short text
(fewer than three words) switches a conversation only when it is clearly in another language:
another script than Latin (Cyrillic in an English chat), letters only that language has, or
lingua nearly certain ("Order BC-12345" keeps a Persian conversation Persian).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Set
from functools import cache

from lingua import IsoCode639_1, LanguageDetector, LanguageDetectorBuilder

DEFAULT_SUPPORTED = ("en", "bs", "hr", "sr", "ru", "fa")
BCS = frozenset({"bs", "hr", "sr"})  # Bosnian, Croatian, Serbian: one family
SERBIAN_CYRILLIC = "sr-Cyrl"
ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
SERBIAN_ONLY = re.compile(r"[ђјљњћџЂЈЉЊЋЏ]")
RUSSIAN_ONLY = re.compile(r"[ёйщъыьэюяЁЙЩЪЫЬЭЮЯ]")
LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
MIN_LATIN_LETTERS = 4  # "ok", "hi", "bok" say nothing about the language
MIN_CONFIDENCE = 0.65  # share lingua must give the winner (a family counts as one)
CLEAR_SERBIAN = 0.6  # Cyrillic without ђ ј љ њ ћ џ is Serbian only when lingua is this sure
# (on 10 + 10 such Russian and Serbian shop sentences lingua gave Serbian ≤ 0.55 and ≥ 0.58)
CLEAR_CONFIDENCE = 0.9  # a short text switches a conversation only when lingua is this sure
SHORT_WORDS = 3  # fewer words than this is a short text


def base(language: str | None) -> str:
    """`sr-Cyrl` → `sr`, `en-GB` → `en`, None → ``."""
    return (language or "").replace("_", "-").split("-")[0].lower()


def script(language: str | None) -> str:
    """The script a conversation's language is written in: arabic, cyrillic or latin."""
    if base(language) == "fa":
        return "arabic"
    return "cyrillic" if language in ("ru", SERBIAN_CYRILLIC) else "latin"


def unique_letters(text: str, language: str) -> bool:
    """Does `text` have letters only Russian (or only Serbian Cyrillic) has?"""
    if language == "ru":
        return bool(RUSSIAN_ONLY.search(text))
    return language == SERBIAN_CYRILLIC and bool(SERBIAN_ONLY.search(text))


def parse_languages(value: str) -> tuple[str, ...]:
    """SUPPORTED_LANGUAGES: a comma-separated list of ISO 639-1 codes lingua knows."""
    codes = tuple(dict.fromkeys(c.strip().lower() for c in value.split(",") if c.strip()))
    if not codes:
        raise ValueError("expected a comma-separated list such as en,bs,hr,sr,ru,fa")
    for code in codes:
        if not hasattr(IsoCode639_1, code.upper()):
            raise ValueError(f"unknown language code {code!r}")
    return codes


@cache
def _lingua(codes: frozenset[str]) -> LanguageDetector:
    """Built once per set of languages, on first use (loading the models takes a moment)."""
    isos = [getattr(IsoCode639_1, c.upper()) for c in sorted(codes)]
    if len(isos) == 1:  # lingua needs two languages at least
        isos.append(IsoCode639_1.EN if codes != {"en"} else IsoCode639_1.DE)
    return LanguageDetectorBuilder.from_iso_codes_639_1(*isos).build()


class LanguageDetection:
    def __init__(self, supported: Iterable[str] = DEFAULT_SUPPORTED, default: str = "en") -> None:
        self.supported = frozenset(base(s) for s in supported)
        self.default = default

    def _scores(self, text: str, among: Set[str]) -> dict[str, float]:
        values = _lingua(self.supported).compute_language_confidence_values(text)
        scores = {v.language.iso_code_639_1.name.lower(): v.value for v in values}
        return {k: v for k, v in scores.items() if k in among}

    def detect(self, text: str) -> str | None:
        """The language of `text` among the supported ones, or None when it is not clear."""
        return self._detect(text)[0]

    def _detect(self, text: str) -> tuple[str | None, bool]:
        """(language or None, whether it is clear: the script or letters only that language
        has decide it, or lingua is nearly certain)."""
        letters = LETTER.findall(text)
        if not letters:
            return None, False
        arabic = sum(1 for c in letters if ARABIC.match(c))
        cyrillic = sum(1 for c in letters if CYRILLIC.match(c))
        # brand names are Latin ("Принимаете ли вы American Express?"): a quarter of the letters
        # in Arabic or Cyrillic script decides the script
        if arabic >= max(3, len(letters) / 4):
            return ("fa", True) if "fa" in self.supported else (None, False)
        if cyrillic >= max(3, len(letters) / 4):
            return self._cyrillic(text)
        if len(letters) < MIN_LATIN_LETTERS:
            return None, False
        return self._latin(text)

    def _cyrillic(self, text: str) -> tuple[str | None, bool]:
        candidates = {"ru", "sr"} & self.supported
        if not candidates:
            return None, False
        if len(candidates) == 1:
            return ("ru" if candidates == {"ru"} else SERBIAN_CYRILLIC), True
        serbian = len(SERBIAN_ONLY.findall(text))
        russian = len(RUSSIAN_ONLY.findall(text))
        if serbian > russian:
            return SERBIAN_CYRILLIC, True
        if russian > serbian:
            return "ru", True
        scores = self._scores(text, candidates)  # no letter decides: lingua, leaning Russian
        if scores.get("sr", 0) >= CLEAR_SERBIAN:
            return SERBIAN_CYRILLIC, False
        return "ru", False  # only letters are clear between the two

    def _latin(self, text: str) -> tuple[str | None, bool]:
        latin = self.supported - {"ru", "fa"}
        if not latin:
            return None, False
        scores = self._scores(text, latin)
        scores.pop("sr", None)  # lingua's Serbian model is Cyrillic: Latin sr scores as bs/hr
        family = {k: v for k, v in scores.items() if k in BCS}
        groups = {k: v for k, v in scores.items() if k not in BCS}
        if family:
            groups["bcs"] = sum(family.values())
        if not groups:
            return None, False
        winner, share = max(groups.items(), key=lambda kv: kv[1])
        if share < MIN_CONFIDENCE:
            return None, False
        clear = share >= CLEAR_CONFIDENCE
        if winner != "bcs":
            return winner, clear
        in_family = sorted(BCS & self.supported)
        return (max(family, key=lambda k: family[k]) if family else in_family[0]), clear

    def choose(self, text: str, current: str | None, channel: str | None = None) -> str:
        """The conversation's language after `text`: `current` unless `text` is clearly in
        another supported language; within the bs/hr/sr family the conversation's (or the
        channel's) choice stays."""
        known = current if base(current) in self.supported else None
        from_channel = channel if base(channel) in self.supported else None
        detected, clear = self._detect(text)
        if detected is None:
            return known or from_channel or self.default
        now = known or from_channel
        if now is not None and not clear:
            if {now, detected} == {"ru", SERBIAN_CYRILLIC}:
                return now  # Russian stays Russian on "карту отклонили"
            same_script = script(now) == script(detected)
            if now == known and len(text.split()) < SHORT_WORDS:
                if same_script or script(detected) == "latin":
                    return now  # "ok thanks" or "Order BC-12345" keep a Bosnian or Persian chat
        if base(detected) in BCS and detected != SERBIAN_CYRILLIC:
            for choice in (known, from_channel):
                if base(choice) in BCS:
                    return base(choice)  # Latin text: a sr-Cyrl conversation goes to sr Latin
        return detected
