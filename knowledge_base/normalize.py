"""Text normalisation for matching across scripts and spellings, and Serbian transliteration.

- Serbian Cyrillic ↔ Latin is one-to-one (љ = lj, њ = nj, џ = dž), so the index and the
  queries of bs/hr/sr are kept in Latin: a Cyrillic question finds Latin questions.
- bs/hr/sr customers often type without diacritics (c s z dj for č ć š ž đ): matching folds
  them.
- Persian text comes with Arabic ي/ك as often as Persian ی/ک, with or without the zero-width
  non-joiner (ZWNJ) and Arabic diacritics: all folded to one form.
"""

from __future__ import annotations

import re
import unicodedata

_CYR_TO_LAT = dict(
    zip(
        "абвгдђежзијклљмнњопрстћуфхцчџшАБВГДЂЕЖЗИЈКЛЉМНЊОПРСТЋУФХЦЧЏШ",
        [
            *"a b v g d đ e ž z i j k l lj m n nj o p r s t ć u f h c č dž š".split(),
            *"A B V G D Đ E Ž Z I J K L Lj M N Nj O P R S T Ć U F H C Č Dž Š".split(),
        ],
        strict=True,
    )
)
_LAT_TO_CYR = {v: k for k, v in _CYR_TO_LAT.items()}
_LAT_TOKEN = re.compile(r"Lj|LJ|lj|Nj|NJ|nj|Dž|DŽ|dž|[A-Za-zČĆĐŠŽčćđšž]")
_WORD = re.compile(r"\S+")
# words joined by a slash ("pridružio/la", "i/ili") are words, not a path or a link
_SLASHED_WORDS = re.compile(r"[^\W\d_]+(?:/[^\W\d_]+)+[.,;:!?]*")
# kept in Latin inside Cyrillic text: links, e-mails, fields, numbers, acronyms, brand names
_KEEP = re.compile(
    r"https?://|www\.|@|/|\{|\d|[QWXYqwxy]|\b[A-Z]{2,}\b"
    r"|Brightcart|Apple|Google|Klarna|Mastercard|Maestro|American|Express|Revolut|Secure|Bright\b"
)
_PERSIAN = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "ۀ": "ه", "أ": "ا", "إ": "ا"})
_PERSIAN_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_ARABIC_MARKS = re.compile(r"[\u064b-\u065f\u0670\u0640]")  # harakat, superscript alef, tatweel
_ZW = re.compile(r"[\u200c\u200d\u200e\u200f]")
_FOLD = str.maketrans({"đ": "dj", "Đ": "Dj"})
BCS = frozenset({"bs", "hr", "sr"})


def cyrillic_to_latin(text: str) -> str:
    """Serbian Cyrillic to Latin; other characters (Russian-only letters too) are kept."""
    return "".join(_CYR_TO_LAT.get(c, c) for c in text)


def latin_to_cyrillic(text: str) -> str:
    """Serbian Latin to Cyrillic, word by word; brand names, links and payloads stay."""

    def word(match: re.Match[str]) -> str:
        w = match.group(0)
        if _KEEP.search(w) and not _SLASHED_WORDS.fullmatch(w):
            return w
        return _LAT_TOKEN.sub(lambda m: _LAT_TO_CYR.get(m.group(0), m.group(0)), w)

    return _WORD.sub(word, text)


def fold_diacritics(text: str) -> str:
    """č ć → c, š → s, ž → z, đ → dj (what people type on a keyboard without them)."""
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalize_persian(text: str) -> str:
    text = _ZW.sub(" ", text.translate(_PERSIAN).translate(_PERSIAN_DIGITS))
    return _ARABIC_MARKS.sub("", text)


def for_matching(text: str, language: str | None) -> str:
    """The form of `text` that the index (dense and lexical) and the queries of `language`
    use. Languages without a rule (English among them) are left exactly as they are."""
    lang = (language or "").split("-")[0].lower()
    if lang in BCS:
        return fold_diacritics(cyrillic_to_latin(unicodedata.normalize("NFC", text).lower()))
    if lang == "fa":
        return normalize_persian(unicodedata.normalize("NFC", text))
    if lang == "ru":
        return text.lower().replace("ё", "е")
    return text


def for_embedding(text: str, language: str | None) -> str:
    """The form the embedding model sees: as `for_matching`, except that bs/hr/sr keep their
    diacritics (a multilingual model knows "račun" better than "racun");
    Serbian Cyrillic still becomes Latin."""
    lang = (language or "").split("-")[0].lower()
    if lang in BCS:
        return cyrillic_to_latin(unicodedata.normalize("NFC", text).lower())
    return for_matching(text, language)


# where to look when a language has no article for a question (the default language is last)
FALLBACKS: dict[str, tuple[str, ...]] = {
    "bs": ("hr", "sr"),
    "hr": ("bs", "sr"),
    "sr": ("bs", "hr"),
}


def fallback_chain(language: str | None, default: str) -> list[str]:
    """`sr-Cyrl` → [sr-Cyrl, sr, bs, hr, en]: the language, its base, its family, the default."""
    chain: list[str] = []
    if language:
        chain.append(language)
        base = language.replace("_", "-").split("-")[0].lower()
        chain.append(base)
        chain.extend(FALLBACKS.get(base, ()))
    chain.append(default)
    return list(dict.fromkeys(chain))
