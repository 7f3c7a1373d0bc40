"""The answer gate chosen by cross-validation: its estimate must describe what the retriever
will really do."""

from __future__ import annotations

import numpy as np

from knowledge_base.classifier import _choose_answer_gate


def test_questions_the_retriever_never_answers_are_not_counted_as_answered() -> None:
    # 5 held-out questions below the minimum share (confidence -1: never answered), 95 answerable
    in_conf = np.array([-1.0] * 5 + list(np.linspace(0.6, 0.99, 95)))
    in_sim = np.full(100, 0.8)
    in_correct = np.ones(100, dtype=bool)
    gate = _choose_answer_gate(in_conf, in_sim, in_correct, np.array([]), np.array([]), 0.97, 0.1)
    assert gate.threshold >= 0.0
    assert gate.correct == 95
    assert gate.share == 0.95


def test_nothing_answerable_means_never_answer() -> None:
    gate = _choose_answer_gate(
        np.full(10, -1.0),
        np.full(10, 0.8),
        np.ones(10, bool),
        np.array([]),
        np.array([]),
        0.97,
        0.1,
    )
    assert gate.correct == -1.0 and gate.share == 0.0
