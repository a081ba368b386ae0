"""Similarity functions against scipy / brute force; chunked top-k against a full sort."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from sentvec.errors import InvalidChoiceError
from sentvec.similarity import METRICS, pairwise_similarity, similarity_matrix, top_k

RNG = np.random.default_rng(0)
A = RNG.normal(size=(13, 8)).astype(np.float32)
B = RNG.normal(size=(21, 8)).astype(np.float32)
SCIPY = {
    "cosine": lambda a, b: 1 - cdist(a, b, "cosine"),
    "dot": lambda a, b: a @ b.T,
    "euclidean": lambda a, b: -cdist(a, b, "euclidean"),
    "manhattan": lambda a, b: -cdist(a, b, "cityblock"),
}


@pytest.mark.parametrize("metric", METRICS)
def test_matrix_matches_scipy(metric):
    expected = SCIPY[metric](A.astype(np.float64), B.astype(np.float64))
    np.testing.assert_allclose(similarity_matrix(A, B, metric), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("metric", METRICS)
def test_pairwise_is_the_matrix_diagonal(metric):
    expected = np.diag(SCIPY[metric](A.astype(np.float64), B[:13].astype(np.float64)))
    np.testing.assert_allclose(
        pairwise_similarity(A, B[:13], metric), expected, rtol=1e-4, atol=1e-4
    )


def test_bad_metric_and_shape():
    with pytest.raises(InvalidChoiceError) as err:
        similarity_matrix(A, B, "jaccard")
    assert "manhattan" in str(err.value)
    with pytest.raises(ValueError):
        pairwise_similarity(A, B)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_top_k_equals_full_sort(metric, chunk):
    corpus = RNG.normal(size=(300, 8)).astype(np.float32)
    queries = RNG.normal(size=(5, 8)).astype(np.float32)
    scores, idx = top_k(queries, corpus, k=10, metric=metric, corpus_chunk=chunk)
    full = SCIPY[metric](queries.astype(np.float64), corpus.astype(np.float64))
    expected = np.argsort(-full, axis=1)[:, :10]
    np.testing.assert_array_equal(idx, expected)
    np.testing.assert_allclose(scores, np.take_along_axis(full, expected, 1), rtol=1e-4, atol=1e-4)


def test_top_k_on_memmap_and_small_corpus(tmp_path):
    corpus = RNG.normal(size=(1000, 8)).astype(np.float32)
    np.save(tmp_path / "c.npy", corpus)
    mm = np.load(tmp_path / "c.npy", mmap_mode="r")
    _, i1 = top_k(A, mm, k=5, corpus_chunk=128)
    _, i2 = top_k(A, corpus, k=5)
    np.testing.assert_array_equal(i1, i2)
    s, i = top_k(A, corpus[:3], k=10)  # k larger than the corpus
    assert s.shape == (13, 3) and sorted(i[0]) == [0, 1, 2]
