"""Issue 21, defect 10: ``sentvec encode FILE --out x.npy|x.jsonl`` (and stdout) streams the
input in chunks with bounded memory and writes the target whole or not at all.

The reference is the non-streamed path: ``np.save`` of ``Encoder.encode`` over all texts."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import numpy as np
import pytest

from sentvec.records import Record

from sentvec_cli_runner import run_cli

TEXTS = [f"text number {i}: a man is riding a horse {'and more ' * (i % 5)}" for i in range(23)]


class Spy:
    """An encoder wrapper that records the size of every call, and can fail on call ``fail_on``."""

    def __init__(self, encoder, fail_on: int | None = None, exc: BaseException | None = None):
        self.encoder = encoder
        self.sizes: list[int] = []
        self.fail_on = fail_on
        self.exc = exc or KeyboardInterrupt()

    def encode(self, texts, **kw):
        texts = list(texts)
        self.sizes.append(len(texts))
        if self.fail_on is not None and len(self.sizes) >= self.fail_on:
            raise self.exc
        return self.encoder.encode(texts, **kw)

    def __getattr__(self, name):
        return getattr(self.encoder, name)


@pytest.fixture
def spy_cli(monkeypatch, tiny_encoder):
    """Route the CLI's model loading to a Spy around the tiny encoder; chunks of 5 records."""
    import sentvec.cli.encode as cli_encode

    try:
        import sentvec.bulk.stream as stream
    except ImportError:  # main before the fix: no streaming, so the tests below fail there
        pass
    else:
        monkeypatch.setattr(stream, "CHUNK_SIZE", 5)
    made: list[Spy] = []

    def use(fail_on: int | None = None):
        spy = Spy(tiny_encoder, fail_on)
        made.append(spy)
        monkeypatch.setattr(cli_encode, "load_encoder", lambda model, backend=None: spy)
        return spy

    return use


def _input(tmp_path):
    f = tmp_path / "texts.txt"
    f.write_text("".join(t + "\n" for t in TEXTS), encoding="utf8")
    return f


def test_streamed_npy_is_np_save_byte_for_byte(tmp_path, tiny_encoder):
    from sentvec.bulk.stream import encode_records

    records = (Record(t, str(i)) for i, t in enumerate(TEXTS, 1))
    out = tmp_path / "v.npy"
    result = encode_records(tiny_encoder, records, out, chunk_size=4, show_progress=False)
    assert (result.rows, result.dim) == (len(TEXTS), tiny_encoder.encode(["x"]).shape[1])
    ref = io.BytesIO()
    np.save(ref, tiny_encoder.encode(TEXTS))
    assert out.read_bytes() == ref.getvalue()
    assert not (tmp_path / ".v.npy.tmp").exists()


def test_streamed_jsonl_matches_the_encoder(tmp_path, tiny_encoder):
    from sentvec.bulk.stream import encode_records

    records = (Record(t, f"id{i}") for i, t in enumerate(TEXTS))
    out = tmp_path / "v.jsonl"
    encode_records(tiny_encoder, records, out, chunk_size=4, show_progress=False)
    rows = [json.loads(line) for line in out.read_text(encoding="utf8").splitlines()]
    assert [r["id"] for r in rows] == [f"id{i}" for i in range(len(TEXTS))]
    np.testing.assert_allclose(
        np.array([r["vector"] for r in rows]), tiny_encoder.encode(TEXTS), atol=1e-6
    )


@pytest.mark.parametrize("suffix", [".npy", ".jsonl", None])
def test_cli_encode_streams_in_chunks_and_matches_the_reference(tmp_path, spy_cli, suffix):
    """Fails on main: the CLI read the whole file and gave the encoder all 23 texts at once."""
    spy = spy_cli()
    f = _input(tmp_path)
    args = ["encode", str(f)]
    out = tmp_path / f"v{suffix}" if suffix else None
    if out is not None:
        args += ["--out", str(out)]
    code, output = run_cli(args)
    assert code == 0, output
    assert spy.sizes and max(spy.sizes) <= 5, spy.sizes
    assert sum(spy.sizes) == len(TEXTS)
    expected = spy.encoder.encode(TEXTS)
    if suffix == ".npy":
        ref = io.BytesIO()
        np.save(ref, expected)
        assert out.read_bytes() == ref.getvalue()
        return
    text = out.read_text(encoding="utf8") if out else output
    rows = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert [r["id"] for r in rows] == [str(i) for i in range(1, len(TEXTS) + 1)]
    np.testing.assert_allclose(np.array([r["vector"] for r in rows]), expected, atol=1e-6)


def test_memory_holds_one_chunk_of_records(tmp_path, tiny_encoder):
    """A generator of 2,000 records is never read more than one chunk ahead of what is written."""
    from sentvec.bulk.stream import encode_records

    consumed = 0
    ahead: list[int] = []
    spy = Spy(tiny_encoder)

    def records() -> Iterator[Record]:
        nonlocal consumed
        for i in range(2000):
            consumed += 1
            ahead.append(consumed - sum(spy.sizes))  # held, not yet handed to the encoder
            yield Record(TEXTS[i % len(TEXTS)], str(i))

    result = encode_records(spy, records(), tmp_path / "v.npy", chunk_size=64, show_progress=False)
    assert result.rows == 2000
    assert max(spy.sizes) <= 64
    assert max(ahead) <= 64
    assert np.load(tmp_path / "v.npy", mmap_mode="r").shape[0] == 2000


@pytest.mark.parametrize("suffix", [".npy", ".jsonl"])
@pytest.mark.parametrize("exc", [KeyboardInterrupt(), RuntimeError("boom")])
def test_stop_mid_stream_leaves_no_file(tmp_path, tiny_encoder, suffix, exc):
    from sentvec.bulk.stream import encode_records

    out = tmp_path / f"v{suffix}"
    spy = Spy(tiny_encoder, fail_on=2, exc=exc)
    records = (Record(t, str(i)) for i, t in enumerate(TEXTS))
    with pytest.raises(type(exc)):
        encode_records(spy, records, out, chunk_size=4, show_progress=False)
    assert spy.sizes == [4, 4]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".npy", ".jsonl"])
def test_cli_ctrl_c_keeps_the_previous_target(tmp_path, spy_cli, suffix):
    """Fails on main: it encoded everything in one call and then overwrote the target."""
    spy_cli(fail_on=2)
    f = _input(tmp_path)
    out = tmp_path / f"v{suffix}"
    out.write_bytes(b"previous run")
    code, _ = run_cli(["encode", str(f), "--out", str(out)])
    assert code != 0
    assert out.read_bytes() == b"previous run"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f.name, out.name])
