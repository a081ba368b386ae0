"""save() writes a sentence-transformers folder both libraries load to identical vectors."""

import json

import numpy as np
import pytest

import sentvec

from parity_sentences import parity_sentences


@pytest.mark.parametrize(
    ("pooling", "dense", "normalize"), [("mean", None, True), ("max", 24, False), ("cls", 16, True)]
)
def test_round_trip_through_both_libraries(make_st_model, tmp_path, pooling, dense, normalize):
    from sentence_transformers import SentenceTransformer

    enc = sentvec.load(make_st_model(pooling, dense=dense, normalize=normalize))
    sentences = parity_sentences()[:50]
    before = enc.encode(sentences)
    out = enc.save(tmp_path / "saved")
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert not any(f.endswith((".bin", ".pt", ".pkl", ".pth")) for f in files), files
    assert {"modules.json", "model.safetensors", "tokenizer.json", "1_Pooling/config.json"} <= files
    np.testing.assert_allclose(sentvec.load(out).encode(sentences), before, rtol=0, atol=1e-6)
    st = SentenceTransformer(str(out), device="cpu")
    np.testing.assert_allclose(st.encode(sentences), before, rtol=0, atol=1e-5)
    modules = json.loads((out / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in modules][:2] == ["Transformer", "Pooling"]


def test_saved_settings_survive(make_st_model, tmp_path):
    enc = sentvec.load(
        make_st_model("mean"), pooling=["mean", "max"], normalize=True, max_seq_length=32
    )
    again = sentvec.load(enc.save(tmp_path / "s"))
    assert [m.value for m in again.spec.pooling] == ["mean", "max"]
    assert again.spec.normalize and again.max_seq_length == 32 and again.dim == 64
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(tmp_path / "s"), device="cpu")
    texts = ["a man is eating food", "the cat sits on the mat"]
    np.testing.assert_allclose(st.encode(texts), enc.encode(texts), rtol=0, atol=1e-5)


def test_save_over_its_own_folder(make_st_model, tmp_path):
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(make_st_model("mean", normalize=True), folder)
    enc = sentvec.load(folder)
    before = enc.encode(["a man is eating"])
    enc.save(folder)
    np.testing.assert_allclose(sentvec.load(folder).encode(["a man is eating"]), before, atol=1e-6)
