"""encode(): shape, order, batch invariance, long texts, prompts, bad input."""

import warnings

import numpy as np
import pytest
import torch

import sentvec
from sentvec.errors import InvalidChoiceError, TextTooLongError, TextTypeError

from parity_sentences import parity_sentences


def test_shape_dtype_and_empty(tiny_encoder):
    out = tiny_encoder.encode(["one", "two", "three"])
    assert out.shape == (3, 32) and out.dtype == np.float32
    empty = tiny_encoder.encode([])
    assert empty.shape == (0, 32) and empty.dtype == np.float32
    assert tiny_encoder.encode("a single string").shape == (1, 32)
    assert tiny_encoder.encode(t for t in ["from", "a generator"]).shape == (2, 32)


def test_non_string_names_its_index(tiny_encoder):
    with pytest.raises(TextTypeError) as err:
        tiny_encoder.encode(["fine", "also fine", 42, "x"])
    assert isinstance(err.value, TypeError)
    assert "#2" in str(err.value) and "int" in str(err.value)


@pytest.mark.parametrize("encoder_name", ["tiny_encoder", "default_encoder"])
def test_vector_does_not_depend_on_batch_size_or_neighbours(request, encoder_name):
    enc = request.getfixturevalue(encoder_name)
    sentences = parity_sentences()[:60]
    reference = enc.encode(sentences, batch_size=64)
    for bs in (1, 3, 7, 16):
        np.testing.assert_allclose(
            enc.encode(sentences, batch_size=bs), reference, rtol=0, atol=1e-6
        )
    for i in (0, 17, 45):  # alone, without any neighbours
        np.testing.assert_allclose(enc.encode([sentences[i]])[0], reference[i], rtol=0, atol=1e-6)
    shuffled = np.random.default_rng(0).permutation(len(sentences))
    again = enc.encode([sentences[i] for i in shuffled], batch_size=8)
    np.testing.assert_allclose(again, reference[shuffled], rtol=0, atol=1e-6)
    budget = enc.encode(sentences, max_tokens=200)  # token-budget batches
    np.testing.assert_allclose(budget, reference, rtol=0, atol=1e-6)


def _long_text():
    return " ".join(["the cat sits on the mat and a man is eating food"] * 12)  # > 64 tokens


def test_long_text_truncates_with_one_counting_warning(tiny_encoder):
    texts = [_long_text(), "short", _long_text() + " more"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = tiny_encoder.encode(texts)
    messages = [str(w.message) for w in caught if "truncated" in str(w.message)]
    assert len(messages) == 1 and messages[0].startswith("2 of 3 texts")
    # A truncated text equals the text cut to its first 62 content tokens by hand.
    ids = tiny_encoder.tokenizer.backend.encode(_long_text(), add_special_tokens=False).ids[:62]
    cut = tiny_encoder.tokenizer.backend.decode(ids)
    np.testing.assert_allclose(out[0], tiny_encoder.encode([cut])[0], atol=1e-5)


def test_long_text_error_names_the_text(tiny_encoder):
    with pytest.raises(TextTooLongError) as err:
        tiny_encoder.encode(["ok", _long_text()], long_text="error")
    assert err.value.indices == [1] and "#1" in str(err.value) and "chunk" in str(err.value)
    with pytest.raises(InvalidChoiceError):
        tiny_encoder.encode(["x"], long_text="drop")


def test_long_text_chunk_is_length_weighted_mean_of_windows(tiny_encoder):
    enc = tiny_encoder
    text = _long_text()
    got = enc.encode([text, "short text"], long_text="chunk")
    # Reference: windows cut by hand (62 content tokens, overlap 64 // 8 = 8), each run alone.
    ids = enc.tokenizer.backend.encode(text, add_special_tokens=False).ids
    cls_id, sep_id = enc.tokenizer.prefix[0], enc.tokenizer.suffix[0]
    windows, start = [], 0
    while True:
        windows.append(ids[start : start + 62])
        if start + 62 >= len(ids):
            break
        start += 62 - 8
    assert len(windows) >= 2
    vecs = []
    for w in windows:
        x = torch.tensor([[cls_id, *w, sep_id]])
        with torch.no_grad():
            vecs.append(enc.model(x, torch.ones_like(x)).numpy()[0])
    weights = np.array([len(w) for w in windows], dtype=np.float64)
    expected = (np.array(vecs) * weights[:, None]).sum(0) / weights.sum()
    expected /= np.linalg.norm(expected)  # the model normalises
    np.testing.assert_allclose(got[0], expected, atol=1e-5)
    np.testing.assert_allclose(got[1], enc.encode(["short text"])[0], atol=1e-6)


def test_prompts_from_config_and_literal(make_st_model, tmp_path):
    import json
    import shutil

    folder = tmp_path / "prompted"
    shutil.copytree(make_st_model("mean"), folder)
    cfg_file = folder / "config_sentence_transformers.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["prompts"] = {"query": "query: ", "document": "passage: "}
    cfg_file.write_text(json.dumps(cfg))
    enc = sentvec.load(folder)
    named = enc.encode(["what is a cat"], prompt="query")
    literal = enc.encode(["query: what is a cat"])
    np.testing.assert_allclose(named, literal, atol=1e-6)
    np.testing.assert_allclose(
        enc.encode(["x"], prompt="custom "), enc.encode(["custom x"]), atol=1e-6
    )
    # sentence-transformers applies the same named prompt the same way.
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(folder), device="cpu")
    np.testing.assert_allclose(named, st.encode(["what is a cat"], prompt_name="query"), atol=1e-5)


def test_normalize_flag_and_override(make_st_model):
    folder = make_st_model("mean")  # not normalised
    enc = sentvec.load(folder)
    raw = enc.encode(["a man is eating"])
    unit = enc.encode(["a man is eating"], normalize=True)
    np.testing.assert_allclose(unit, raw / np.linalg.norm(raw), atol=1e-6)
    forced = sentvec.load(folder, normalize=True).encode(["a man is eating"])
    np.testing.assert_allclose(forced, unit, atol=1e-6)
    cls = sentvec.load(folder, pooling="cls")
    assert [m.value for m in cls.spec.pooling] == ["cls"]
