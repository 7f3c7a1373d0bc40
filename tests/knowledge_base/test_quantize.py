"""The optional int8 embedding model (EMBEDDING_QUANTIZE) keeps the demo answers right."""

from __future__ import annotations

import shutil

import pytest

from bot.settings import Settings
from knowledge_base.embedder import Embedder
from knowledge_base.index import KnowledgeIndex
from knowledge_base.retriever import Retriever
from tests.conftest import DEMO_ARTICLES


@pytest.fixture(scope="module")
def quantized(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Retriever:
    """The English demo articles (what these tests ask about) with the int8 model."""
    embedder = Embedder(
        base_settings.embedding_model, quantize=True, onnx_dir=base_settings.onnx_dir
    )
    english = tmp_path_factory.mktemp("quantized-kb")
    shutil.copytree(DEMO_ARTICLES / "en", english / "en")
    index, _ = KnowledgeIndex.from_directory(english, embedder)
    return Retriever(index, embedder)


def test_quantized_vectors_are_cached_apart_from_full_precision(quantized: Retriever, embedder):
    assert quantized.embedder.cache_name != embedder.cache_name
    assert quantized.embedder.runtime == "onnx"
    assert quantized.embedder.cache_name.endswith("#int8-onnx")


@pytest.mark.parametrize("question", ["how do I reset my password", "I can't remember my password"])
def test_quantized_model_answers_paraphrases(quantized: Retriever, question: str):
    result = quantized.search(question, "en")
    assert result.decision == "answer"
    assert result.best and result.best.article.id == "reset-password"


def test_quantized_model_still_knows_what_it_does_not_know(quantized: Retriever):
    assert quantized.search("what is the capital of Mongolia", "en").decision == "unknown"
