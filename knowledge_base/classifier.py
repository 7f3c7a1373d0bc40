"""Article classifier and score calibration, learned from the KB's OWN example questions.

At index-build time, per language:

* a multinomial logistic regression over the embeddings of each article's title and example
  questions (one class per article) gives P(article | query);
* the retriever mixes it with a softmax over the dense nearest-entry similarities:
  ``score = w * P_classifier + (1 - w) * softmax(dense / T)``;
* k-fold cross-validation over the example questions (each fold holds out ~1/k of every
  article's examples) chooses ``w`` and ``T`` (best held-out top-1 accuracy), the confidence
  measure (the best article's score, or its margin over the second) and the decision
  thresholds (see `calibrate`). No external or evaluation queries are ever used: only the
  articles themselves.

The result is cached on disk, keyed by a hash of the vectors, labels and settings, so a restart
with an unchanged knowledge base does not refit anything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

VERSION = 4  # 3: lexical-aware CV for languages with a BM25 weight; 4: out-of-scope margin
FOLDS = 5
C_REGULARISATION = 10.0  # LogisticRegression C; fixed, chosen by k-fold CV on the KB questions
WEIGHT_GRID = (0.0, 0.3, 0.5, 0.7, 0.85, 1.0)  # classifier share, chosen per KB by CV
TEMPERATURE_GRID = (0.02, 0.05, 0.1)  # softmax temperature of dense similarities, chosen by CV
PASSAGE_WEIGHT = 0.92
CONFIDENCES = ("score", "margin")  # best score, or best minus second; chosen per KB by CV
# Never answer unless the best article holds at least half of the (probability-like) score:
# two articles sharing it means "ask which one", whatever the CV chose.
MIN_ANSWER_SHARE = 0.5
# BM25 bonus added to the dense similarity, per language (over words and, for these inflecting
# languages, character n-grams: index.lexical_tokens). Chosen when MiniLM (English-only) served
# them; kept with e5 (bench/kb_dev.py measured it there, with the words' n-grams)
LEXICAL_WEIGHTS = {"bs": 0.8, "hr": 0.8, "sr": 0.8, "ru": 0.8, "fa": 0.8}
LEXICAL_SATURATION = 6.0  # bm25 / (bm25 + this)
# A question closer to the knowledge base's out-of-scope examples (knowledge_base/out_of_scope.yml)
# than to its best article by at least the calibrated margin is "unknown" rather than "clarify".
# The margin lets at most this share of held-out in-scope questions through to "unknown".
OOS_INSCOPE_LOSS = 0.05
NEVER = 9.0  # a margin no cosine difference reaches

# (train mask, test mask) over the examples -> raw BM25 of each test example per article,
# against an index of the training examples and the passages
LexicalScores = Callable[[np.ndarray, np.ndarray], np.ndarray]


def lexical_bonus(
    bm25: np.ndarray, weight: float, saturation: float = LEXICAL_SATURATION
) -> np.ndarray:
    """What BM25 adds to the dense similarity: saturating, at most `weight`."""
    return weight * bm25 / (bm25 + saturation)


MAX_CLASSIFIER_ARTICLES = 500  # above this (or above the example cap): no classifier, no CV
MAX_CLASSIFIER_EXAMPLES = 10_000  # LR + 5-fold CV must stay a few seconds of the build


@dataclass(frozen=True)
class Calibration:
    """How scores are mixed and where the decision thresholds lie; all chosen by CV."""

    weight: float = 0.0  # share of the classifier probability in the score
    temperature: float = 0.05  # dense-similarity softmax temperature
    confidence: str = "score"  # what answer_threshold applies to: "score" or "margin"
    answer_threshold: float = 0.6  # confidence needed to answer
    answer_similarity: float = 0.5  # raw cosine to the best article needed to answer
    unknown_similarity: float = 0.35  # raw cosine below which nothing is close: unknown
    oos_margin: float = NEVER  # unknown if cos(out-of-scope examples) - cos(best) >= this
    cv_top1: float = 0.0  # held-out top-1 accuracy (informational)
    cv_answered_precision: float = 0.0
    cv_answered_share: float = 0.0
    cv_pseudo_oos_answered: float = 0.0
    cv_oos_unknown: float = 0.0  # out-of-scope examples (leave-one-out) past the margin
    held_out: int = 0


@dataclass
class ArticleClassifier:
    weights: np.ndarray  # (dim, n_articles) float32
    bias: np.ndarray  # (n_articles,) float32

    def proba(self, vector: np.ndarray) -> np.ndarray:
        logits = vector @ self.weights + self.bias
        logits = logits - logits.max(axis=-1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=-1, keepdims=True)


def fit_classifier(vectors: np.ndarray, labels: np.ndarray, n_articles: int) -> ArticleClassifier:
    """Multinomial logistic regression (the objective of scikit-learn's
    ``LogisticRegression(C=C_REGULARISATION)``: summed cross-entropy + ||W||^2 / 2C), solved
    with full-batch L-BFGS in torch - scikit-learn's lbfgs took seconds per fit here.
    Articles without examples keep a very negative bias (never predicted)."""
    import torch

    dim = vectors.shape[1]
    classes = np.unique(labels)
    weights = np.zeros((dim, n_articles), dtype=np.float32)
    bias = np.full(n_articles, -30.0, dtype=np.float32)
    if len(classes) == 1:
        bias[classes[0]] = 0.0
        return ArticleClassifier(weights, bias)
    remap = np.searchsorted(classes, labels)
    x = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
    y = torch.from_numpy(remap.astype(np.int64))
    w = torch.zeros(dim, len(classes), requires_grad=True)
    b = torch.zeros(len(classes), requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [w, b],
        lr=1.0,
        max_iter=300,
        tolerance_grad=1e-6,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ w + b, y, reduction="sum")
        loss = loss + (w * w).sum() / (2 * C_REGULARISATION)
        loss.backward()
        return loss

    optimizer.step(closure)
    weights[:, classes] = w.detach().numpy()
    bias[classes] = b.detach().numpy()
    return ArticleClassifier(weights, bias)


def softmax_rows(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def mix(proba: np.ndarray, dense: np.ndarray, weight: float, temperature: float) -> np.ndarray:
    """The retriever's score: classifier probability mixed with a dense-similarity softmax."""
    dense_p = softmax_rows(np.maximum(dense, -1.0) / temperature)
    return weight * proba + (1 - weight) * dense_p


def _dense_per_article(
    sims: np.ndarray, entry_article: np.ndarray, entry_weight: np.ndarray, n_articles: int
) -> np.ndarray:
    out = np.full((sims.shape[0], n_articles), -1.0, dtype=np.float32)
    weighted = sims * entry_weight[None, :]
    for a in range(n_articles):
        cols = entry_article == a
        if cols.any():
            out[:, a] = weighted[:, cols].max(axis=1)
    return out


@dataclass(frozen=True)
class Gate:
    threshold: float  # on the confidence (score or margin)
    similarity: float  # on the raw cosine to the best article
    correct: float  # held-out questions answered right
    precision: float
    share: float  # of held-out in-scope questions answered
    oos_answered: float  # of pseudo out-of-scope questions answered


def _choose_answer_gate(
    in_conf: np.ndarray,
    in_sim: np.ndarray,
    in_correct: np.ndarray,
    oos_conf: np.ndarray,
    oos_sim: np.ndarray,
    target_precision: float,
    oos_share: float,
) -> Gate:
    """Thresholds (confidence, similarity) that answer as many held-out questions correctly as
    possible while the estimated precision stays >= target. Answered pseudo-out-of-scope
    questions count as errors, weighted as if `oos_share` of all traffic were out of scope."""
    n_in, n_oos = len(in_conf), max(len(oos_conf), 1)
    oos_weight = (oos_share / (1 - oos_share)) * n_in / n_oos
    sim_grid = np.unique(np.quantile(in_sim, np.linspace(0.0, 0.5, 11)))
    best = Gate(0.99, float(sim_grid[-1]), -1.0, 0.0, 0.0, 0.0)
    # thresholds only from questions the retriever could answer at all: a -1 ("never
    # answered") threshold would count those as answered and overstate the estimate
    eligible = in_conf[in_conf >= 0]
    if eligible.size == 0:
        return best
    conf_grid = np.unique(np.quantile(eligible, np.linspace(0.0, 0.95, 40)))
    for ts in sim_grid:
        in_ok = in_sim >= ts
        oos_ok = oos_sim >= ts
        for ta in conf_grid:
            answered = in_ok & (in_conf >= ta)
            correct = float((answered & in_correct).sum())
            wrong = float((answered & ~in_correct).sum()) + oos_weight * float(
                (oos_ok & (oos_conf >= ta)).sum()
            )
            if correct + wrong == 0:
                continue
            precision = correct / (correct + wrong)
            if precision >= target_precision and correct > best.correct:
                oos_answered = float((oos_ok & (oos_conf >= ta)).mean()) if len(oos_conf) else 0.0
                best = Gate(
                    float(ta), float(ts), correct, precision, float(answered.mean()), oos_answered
                )
    return best


def confidence(scores: np.ndarray, measure: str) -> np.ndarray:
    """Per row: the best score or its margin over the second; -1 (never answered) where the
    best score is below MIN_ANSWER_SHARE, as in the retriever."""
    top2 = np.sort(scores, axis=1)[:, -2:]
    best = top2[:, -1]
    conf = best - top2[:, 0] if measure == "margin" and scores.shape[1] > 1 else best
    return np.where(best >= MIN_ANSWER_SHARE, conf, -1.0)


def calibrate(
    example_vectors: np.ndarray,
    example_labels: np.ndarray,
    fixed_vectors: np.ndarray,
    fixed_labels: np.ndarray,
    n_articles: int,
    target_precision: float,
    oos_share: float,
    unknown_quantile: float,
    use_classifier: bool,
    lexical: LexicalScores | None = None,
    lexical_weight: float = 0.0,
    oos_vectors: np.ndarray | None = None,
) -> Calibration:
    """k-fold CV over the articles' own examples (titles + example questions).

    * ``w``/``T``: the pair with the best held-out top-1 accuracy.
    * answer gate: `_choose_answer_gate` over held-out questions (in scope: their article is in
      the index; pseudo out-of-scope: the same question with its own article removed, the
      hardest kind of out-of-scope question there is - a neighbouring topic).
    * unknown: the `unknown_quantile` quantile of the held-out questions' similarity to their
      own article, i.e. only that share of real paraphrases would be called "unknown".
    Passages (fixed_*) are never held out: they are part of every fold's index.
    """
    n = len(example_labels)
    rank_in_article = np.zeros(n, dtype=np.int64)
    seen: dict[int, int] = {}
    for i, a in enumerate(example_labels):
        rank_in_article[i] = seen.get(int(a), 0)
        seen[int(a)] = rank_in_article[i] + 1
    counts = np.bincount(example_labels, minlength=n_articles)
    # an article's only example is never held out (it would vanish from the index)
    holdable = counts[example_labels] >= 2
    fold = np.where(holdable, rank_in_article % FOLDS, -1)
    probas, denses, bonuses, truths, near_oos = [], [], [], [], []
    has_oos = oos_vectors is not None and len(oos_vectors) > 1
    for f in range(FOLDS):
        test = fold == f
        if not test.any():
            continue
        train = ~test
        if has_oos:
            assert oos_vectors is not None
            near_oos.append((example_vectors[test] @ oos_vectors.T).max(axis=1))
        vec = np.vstack([example_vectors[train], fixed_vectors])
        art = np.concatenate([example_labels[train], fixed_labels])
        wgt = np.concatenate(
            [np.ones(int(train.sum())), np.full(len(fixed_labels), PASSAGE_WEIGHT)]
        ).astype(np.float32)
        sims = example_vectors[test] @ vec.T
        denses.append(_dense_per_article(sims, art, wgt, n_articles))
        bonus = np.zeros_like(denses[-1])
        if lexical is not None and lexical_weight > 0:
            bonus = lexical_bonus(lexical(train, test), lexical_weight).astype(np.float32)
        bonuses.append(bonus)
        if use_classifier:
            clf = fit_classifier(example_vectors[train], example_labels[train], n_articles)
            probas.append(clf.proba(example_vectors[test]))
        else:
            probas.append(np.zeros((int(test.sum()), n_articles), dtype=np.float32))
        truths.append(example_labels[test])
    if not truths:
        return Calibration()
    proba, dense, truth = np.vstack(probas), np.vstack(denses), np.concatenate(truths)
    boosted = dense + np.vstack(bonuses)  # what the retriever mixes; gates use the raw cosine
    rows = np.arange(len(truth))
    best_wt = (-1.0, 0.0, TEMPERATURE_GRID[1])
    for weight in WEIGHT_GRID if use_classifier else (0.0,):
        for temperature in TEMPERATURE_GRID:
            acc = float((mix(proba, boosted, weight, temperature).argmax(1) == truth).mean())
            if acc > best_wt[0] + 1e-9:
                best_wt = (acc, weight, temperature)
    top1, weight, temperature = best_wt
    scores = mix(proba, boosted, weight, temperature)
    top = scores.argmax(1)
    in_sim, in_correct = dense[rows, top], top == truth
    # pseudo out-of-scope: the question's own article removed from the index
    oos_dense, oos_boosted = dense.copy(), boosted.copy()
    oos_dense[rows, truth] = oos_boosted[rows, truth] = -1.0
    oos_proba = proba.copy()
    oos_proba[rows, truth] = 0.0
    oos_proba /= np.maximum(oos_proba.sum(1, keepdims=True), 1e-12)
    oos_scores = mix(oos_proba, oos_boosted, weight, temperature)
    oos_top = oos_scores.argmax(1)
    gates = {
        measure: _choose_answer_gate(
            confidence(scores, measure),
            in_sim,
            in_correct,
            confidence(oos_scores, measure),
            oos_dense[rows, oos_top],
            target_precision,
            oos_share,
        )
        for measure in CONFIDENCES
    }
    measure = max(CONFIDENCES, key=lambda m: gates[m].correct)  # ties: the first, "score"
    gate = gates[measure]
    own_sim = dense[rows, truth]
    unknown = float(np.quantile(own_sim, unknown_quantile))
    oos_margin, oos_unknown = NEVER, 0.0
    if has_oos and near_oos:
        assert oos_vectors is not None
        closest = dense.max(axis=1)  # the closest article, whichever ranks first
        oos_margin = float(np.quantile(np.concatenate(near_oos) - closest, 1 - OOS_INSCOPE_LOSS))
        all_vec = np.vstack([example_vectors, fixed_vectors])
        all_art = np.concatenate([example_labels, fixed_labels])
        all_wgt = np.concatenate(
            [np.ones(len(example_labels)), np.full(len(fixed_labels), PASSAGE_WEIGHT)]
        ).astype(np.float32)
        best = _dense_per_article(oos_vectors @ all_vec.T, all_art, all_wgt, n_articles).max(1)
        among = oos_vectors @ oos_vectors.T
        np.fill_diagonal(among, -1.0)  # leave one out
        oos_unknown = float((among.max(axis=1) - best >= oos_margin).mean())
    return Calibration(
        weight=float(weight),
        temperature=float(temperature),
        confidence=measure,
        answer_threshold=gate.threshold,
        answer_similarity=gate.similarity,
        unknown_similarity=min(unknown, gate.similarity),
        cv_top1=round(top1, 4),
        cv_answered_precision=round(gate.precision, 4),
        cv_answered_share=round(gate.share, 4),
        cv_pseudo_oos_answered=round(gate.oos_answered, 4),
        oos_margin=oos_margin,
        cv_oos_unknown=round(oos_unknown, 4),
        held_out=len(truth),
    )


@dataclass
class Learned:
    classifier: ArticleClassifier | None
    calibration: Calibration


def learn(
    example_vectors: np.ndarray,
    example_labels: np.ndarray,
    fixed_vectors: np.ndarray,
    fixed_labels: np.ndarray,
    n_articles: int,
    *,
    target_precision: float = 0.97,
    oos_share: float = 0.1,
    unknown_quantile: float = 0.02,
    use_classifier: bool = True,
    cache_dir: Path | None = None,
    name: str = "en",
    lexical: LexicalScores | None = None,
    lexical_weight: float = 0.0,
    oos_vectors: np.ndarray | None = None,
) -> Learned:
    """Fit the classifier on all examples and calibrate by CV; cached by content hash."""
    small = n_articles <= MAX_CLASSIFIER_ARTICLES and len(example_labels) <= MAX_CLASSIFIER_EXAMPLES
    if not small:
        # Large KBs: no classifier and no CV (5 LR fits over thousands of classes would not fit
        # the 60 s build budget); the fixed `Calibration()` defaults apply (dense scores only).
        return Learned(None, Calibration())
    use_classifier = use_classifier and small
    digest = hashlib.sha256()
    parts = [example_vectors, example_labels, fixed_vectors, fixed_labels]
    for part in [*parts, *([] if oos_vectors is None else [oos_vectors])]:
        digest.update(np.ascontiguousarray(part).tobytes())
    digest.update(
        json.dumps(
            [
                VERSION,
                n_articles,
                target_precision,
                oos_share,
                unknown_quantile,
                use_classifier,
                lexical_weight if lexical is not None else 0.0,
            ]
        ).encode()
    )
    key = digest.hexdigest()[:16]
    file = cache_dir / f"classifier-{name}-{key}.npz" if cache_dir else None
    if file and file.exists():
        data = np.load(file)
        calibration = Calibration(**json.loads(str(data["calibration"])))
        classifier = ArticleClassifier(data["weights"], data["bias"]) if "weights" in data else None
        return Learned(classifier, calibration)
    calibration = calibrate(
        example_vectors,
        example_labels,
        fixed_vectors,
        fixed_labels,
        n_articles,
        target_precision,
        oos_share,
        unknown_quantile,
        use_classifier,
        lexical,
        lexical_weight,
        oos_vectors,
    )
    classifier = None
    if use_classifier and calibration.weight > 0 and len(example_labels):
        classifier = fit_classifier(example_vectors, example_labels, n_articles)
    if file:
        file.parent.mkdir(parents=True, exist_ok=True)
        for old in file.parent.glob(f"classifier-{name}-*.npz"):
            old.unlink(missing_ok=True)
        arrays: dict[str, np.ndarray] = {"calibration": np.array(json.dumps(asdict(calibration)))}
        if classifier is not None:
            arrays["weights"], arrays["bias"] = classifier.weights, classifier.bias
        np.savez(file, **arrays)  # type: ignore[arg-type]
    return Learned(classifier, calibration)
