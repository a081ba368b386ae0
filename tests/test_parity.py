"""The same sentences through sentence-transformers and through sentvec give the same vectors."""

import numpy as np
import pytest

import sentvec

from parity_sentences import parity_sentences

POOLINGS = ["mean", "cls", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"]


def _st_encode(folder, sentences):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu")
    return model.encode(sentences, batch_size=16, convert_to_numpy=True)


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("dense", [None, 24])
def test_tiny_model_matches_sentence_transformers(make_st_model, pooling, dense):
    folder = make_st_model(pooling, dense=dense, normalize=dense is not None)
    sentences = parity_sentences()
    ours = sentvec.load(folder).encode(sentences, batch_size=16)
    theirs = _st_encode(folder, sentences)
    assert ours.shape == theirs.shape == (200, dense or 32)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)


def test_plain_hugging_face_folder_matches(tiny_hf_dir):
    """A folder without sentence-transformers files: both default to mean pooling."""
    sentences = parity_sentences()
    theirs = _st_encode(tiny_hf_dir, sentences)
    enc = sentvec.load(tiny_hf_dir)
    assert [m.value for m in enc.spec.pooling] == ["mean"] and not enc.spec.normalize
    np.testing.assert_allclose(enc.encode(sentences), theirs, rtol=0, atol=1e-5)


@pytest.mark.slow
def test_packaged_model_matches_sentence_transformers(default_encoder):
    sentences = parity_sentences()
    ours = default_encoder.encode(sentences)
    theirs = _st_encode(default_encoder.spec.transformer_path, sentences)
    assert ours.shape == (200, 384) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)
