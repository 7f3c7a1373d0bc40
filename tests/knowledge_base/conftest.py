"""The demo knowledge base, built once per test run: its calibration (cross-validated over every
language's example questions) is the slowest thing the knowledge-base tests do."""

from __future__ import annotations

import pytest

from knowledge_base.index import KnowledgeIndex
from knowledge_base.retriever import Retriever
from tests.conftest import DEMO_ARTICLES


@pytest.fixture(scope="session")
def demo_retriever(embedder) -> Retriever:  # type: ignore[no-untyped-def]
    """Every demo article in every language, with the English model, as `kb index` builds it
    without EMBEDDING_MODELS."""
    index, _ = KnowledgeIndex.from_directory(DEMO_ARTICLES, embedder)
    return Retriever(index, embedder)
