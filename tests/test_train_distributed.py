"""GradCache gives the plain loss's gradients; 2-process torchrun training (gloo) ends with the
same weights as one process on the same global batches."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import sentvec  # noqa: E402
from sentvec.train import losses as L  # noqa: E402
from sentvec.train.data import collate, from_records  # noqa: E402
from toy_train_data import PAIRS, TRIPLETS  # noqa: E402

HERE = Path(__file__).parent


def _grads(enc, loss, batch):
    enc.model.zero_grad()
    value = loss.compute(enc.model, batch)
    value.backward()
    return float(value), {
        n: p.grad.clone() for n, p in enc.model.named_parameters() if p.grad is not None
    }


@pytest.mark.parametrize("symmetric, rows", [(False, TRIPLETS), (True, PAIRS + PAIRS[:2])])
def test_gradcache_gives_the_plain_gradients(make_st_model, symmetric, rows):
    """Duplicated rows (PAIRS[:2] twice) also check the duplicate masking under caching."""
    enc = sentvec.load(make_st_model("mean"))
    enc.model.eval()  # no dropout: the plain and cached passes see the same network
    data = from_records(rows, "triplets" if len(rows[0]) == 3 else "pairs")
    batch = collate(data.examples, enc.tokenize)
    plain_value, plain = _grads(enc, L.MultipleNegativesRankingLoss(symmetric=symmetric), batch)
    cached_value, cached = _grads(
        enc, L.CachedMultipleNegativesRankingLoss(symmetric=symmetric, mini_batch_size=3), batch
    )
    assert cached_value == pytest.approx(plain_value, abs=1e-6)
    assert plain.keys() == cached.keys() and len(plain) > 10
    for name in plain:
        torch.testing.assert_close(cached[name], plain[name], atol=1e-5, rtol=1e-4)


def test_gradcache_replays_dropout_masks(make_st_model):
    """In train mode the cached forward and its replay must use the same dropout masks: the
    gradient then equals the plain loss's on embeddings computed with those masks."""
    enc = sentvec.load(make_st_model("mean"))
    enc.model.train()
    batch = collate(from_records(PAIRS, "pairs").examples, enc.tokenize)
    loss = L.CachedMultipleNegativesRankingLoss(mini_batch_size=4)
    torch.manual_seed(5)
    value = loss.compute(enc.model, batch)
    value.backward()
    a = {n: p.grad.clone() for n, p in enc.model.named_parameters() if p.grad is not None}
    enc.model.zero_grad()
    torch.manual_seed(5)  # same masks, same chunks, now with a graph all the way
    chunks = L._row_chunks(batch.features, 4)
    reps = [enc.model(**c) for c in chunks]
    ref = L.MultipleNegativesRankingLoss()(
        list(torch.cat(reps).split(batch.size)), None, batch.hashes
    )
    ref.backward()
    assert float(value) == pytest.approx(float(ref), abs=1e-6)
    for n, p in enc.model.named_parameters():
        if p.grad is not None:
            torch.testing.assert_close(a[n], p.grad, atol=1e-5, rtol=1e-4)


@pytest.fixture(scope="module")
def single_run(make_st_model, tmp_path_factory):
    """The tiny model and its weights after training in one process on the global batches."""
    sys.path.insert(0, str(HERE))
    from ddp_train_worker import run

    model = str(make_st_model("mean"))
    tmp = tmp_path_factory.mktemp("single")
    run(model, str(tmp / "one"), 6, str(tmp / "single.pt"))
    return model, tmp / "single.pt"


def _worker_env() -> dict[str, str]:
    src = Path(sentvec.__file__).parents[1]
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), str(HERE)]),
        "OMP_NUM_THREADS": "1",
    }


def _assert_same_training(model: str, single: Path, double: Path) -> None:
    a = torch.load(single, weights_only=True)
    b = torch.load(double, weights_only=True)
    base = sentvec.load(model).model.state_dict()
    assert any(not torch.allclose(a[k], base[k]) for k in a)  # training moved the weights
    for k in a:
        torch.testing.assert_close(b[k], a[k], atol=1e-5, rtol=1e-4)


@pytest.mark.slow
def test_two_process_training_equals_one_process(single_run, tmp_path):
    model, single = single_run
    double = tmp_path / "double.pt"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        str(HERE / "ddp_train_worker.py"),
        model,
        str(tmp_path / "two"),
        "3",
        str(double),
    ]
    proc = subprocess.run(cmd, env=_worker_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _assert_same_training(model, single, double)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_two_nodes_c10d_rendezvous_equals_one_process(single_run, tmp_path):
    """Two torchrun launchers, as on two machines (``--nnodes 2``, node ranks 0 and 1), meet at
    a c10d rendezvous on 127.0.0.1; one process each. In-batch negatives are gathered across
    the nodes, so the weights must equal the one-process run on the global batches."""
    model, single = single_run
    double = tmp_path / "double.pt"
    endpoint = f"127.0.0.1:{_free_port()}"
    procs = []
    for node in (0, 1):
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nnodes",
            "2",
            "--nproc-per-node",
            "1",
            "--node-rank",
            str(node),
            "--rdzv-backend",
            "c10d",
            "--rdzv-endpoint",
            endpoint,
            "--rdzv-id",
            "sentvec-test",
            "--rdzv-conf",
            "join_timeout=120",
            "--local-addr",
            "127.0.0.1",
            "--max-restarts",
            "0",
            str(HERE / "ddp_train_worker.py"),
            model,
            str(tmp_path / f"node{node}"),
            "3",
            str(double),
        ]
        log = open(tmp_path / f"node{node}.log", "w")  # noqa: SIM115
        procs.append((subprocess.Popen(cmd, env=_worker_env(), stdout=log, stderr=log), log))
    try:
        codes = [p.wait(timeout=300) for p, _ in procs]
    finally:
        for p, log in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
            log.close()
    logs = "".join((tmp_path / f"node{n}.log").read_text()[-2000:] for n in (0, 1))
    assert codes == [0, 0], logs
    _assert_same_training(model, single, double)
