"""The embedding model run by ONNX Runtime (the default) gives the vectors torch gives, is
exported once, and a failed export falls back to torch instead of stopping the bot."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from bot.settings import Settings
from knowledge_base.embedder import Embedder

SENTENCES = [
    "how do I reset my password",
    "My card payment was declined twice at the supermarket, why?",
    "Где мой заказ?",
    "a",
]


@pytest.fixture(scope="module")
def torch_embedder(base_settings: Settings) -> Embedder:
    return Embedder(base_settings.embedding_model, runtime="torch")


def test_default_runtime_is_onnx_with_the_same_vectors_as_torch(
    embedder: Embedder, torch_embedder: Embedder
) -> None:
    assert embedder.runtime == "onnx"
    assert torch_embedder.runtime == "torch"
    batch = embedder.encode(SENTENCES)
    reference = torch_embedder.encode(SENTENCES)
    assert batch.shape == reference.shape == (len(SENTENCES), embedder.dim)
    assert np.allclose((batch * reference).sum(axis=1), 1.0, atol=1e-4)
    for sentence, vector in zip(SENTENCES, reference, strict=True):
        assert float(embedder.encode_one(sentence) @ vector) > 0.9999
    # same vectors, so both runtimes share one embedding cache
    assert embedder.cache_name == torch_embedder.cache_name


def test_batch_results_keep_the_input_order(embedder: Embedder) -> None:
    batch = embedder.encode(SENTENCES)  # encoded sorted by length internally
    for sentence, vector in zip(SENTENCES, batch, strict=True):
        assert float(embedder.encode_one(sentence) @ vector) > 0.9999


def test_export_is_made_once_and_reused(base_settings: Settings, embedder: Embedder) -> None:
    exports = sorted(base_settings.onnx_dir.glob("encoder-*.onnx"))
    assert exports, "the session's embedder exported the model"
    before = {path: path.stat().st_mtime_ns for path in exports}
    again = Embedder(base_settings.embedding_model, onnx_dir=base_settings.onnx_dir)
    assert again.runtime == "onnx"
    assert {path: path.stat().st_mtime_ns for path in exports} == before
    assert not list(base_settings.onnx_dir.glob("*.tmp"))


def test_failed_export_falls_back_to_torch(
    base_settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the export folder should be")
    fallback = Embedder(base_settings.embedding_model, onnx_dir=blocked)
    assert fallback.runtime == "torch"
    assert "using torch" in caplog.text
    vector = fallback.encode_one("how do I reset my password")
    assert vector.shape == (fallback.dim,)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


async def test_two_embedders_loading_at_once_both_run_on_onnx(
    base_settings: Settings, tmp_path: Path
) -> None:
    # a hub restarting while the old one still loads: two exports in one process at once
    # broke torch's exporter (both fell back to torch) until exports were serialised
    fresh = tmp_path / "onnx"
    both = await asyncio.gather(
        *(
            asyncio.to_thread(Embedder, base_settings.embedding_model, onnx_dir=fresh)
            for _ in range(2)
        )
    )
    assert [e.runtime for e in both] == ["onnx", "onnx"]
    assert len(list(fresh.glob("encoder-*.onnx"))) == 1
