"""Each loss against a hand-written reference on fixed tensors, and each loss going down on a
toy task with the tiny model."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sentvec.train import losses as L  # noqa: E402
from sentvec.train.data import collate, from_records, text_hash  # noqa: E402

RNG = np.random.default_rng(0)
A, B, N = (RNG.normal(size=(5, 4)) for _ in range(3))


def t(x: np.ndarray) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64)


def cos(u: np.ndarray, v: np.ndarray) -> float:
    return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))


def euc(u: np.ndarray, v: np.ndarray) -> float:
    return float(np.sqrt(((u - v) ** 2).sum()))


def test_cosine_similarity_loss():
    y = np.array([0.1, 0.9, 0.5, 0.0, 1.0])
    ref = np.mean([(cos(a, b) - s) ** 2 for a, b, s in zip(A, B, y, strict=False)])
    got = L.CosineSimilarityLoss()([t(A), t(B)], t(y))
    assert float(got) == pytest.approx(ref, abs=1e-10)


def test_cosent_loss():
    y = np.array([0.1, 0.9, 0.5, 0.5, 1.0])  # a tie: pairs 2 and 3 are not compared
    c = [20 * cos(a, b) for a, b in zip(A, B, strict=False)]
    terms = [math.exp(c[j] - c[i]) for i in range(5) for j in range(5) if y[i] > y[j]]
    ref = math.log(1 + sum(terms))
    assert float(L.CoSENTLoss()([t(A), t(B)], t(y))) == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
def test_contrastive_loss(distance):
    y = np.array([1, 0, 1, 0, 0])
    d = [(1 - cos(a, b)) if distance == "cosine" else euc(a, b) for a, b in zip(A, B, strict=False)]
    m = 1.0
    ref = np.mean(
        [
            0.5 * (yy * dd**2 + (1 - yy) * max(0.0, m - dd) ** 2)
            for yy, dd in zip(y, d, strict=False)
        ]
    )
    got = L.ContrastiveLoss(margin=m, distance=distance)([t(A), t(B)], torch.tensor(y))
    assert float(got) == pytest.approx(ref, abs=1e-10)


def test_contrastive_margin_edge():
    """A dissimilar pair exactly `margin` apart costs nothing; closer costs (m - d)^2 / 2."""
    u = torch.tensor([[0.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    v = torch.tensor([[2.0, 0.0], [1.5, 0.0]], dtype=torch.float64)
    loss = L.ContrastiveLoss(margin=2.0, distance="euclidean")
    assert float(loss([u[:1], v[:1]], torch.tensor([0]))) == 0.0
    assert float(loss([u[1:], v[1:]], torch.tensor([0]))) == pytest.approx(0.5 * 0.5**2)
    assert float(loss([u[1:], v[1:]], torch.tensor([1]))) == pytest.approx(0.5 * 1.5**2)


def test_online_contrastive_uses_hard_pairs_only():
    u = torch.zeros(4, 1, dtype=torch.float64)
    v = torch.tensor([[1.0], [3.0], [2.0], [4.0]], dtype=torch.float64)  # distances 1, 3, 2, 4
    y = torch.tensor([1, 1, 0, 0])
    # positives {1, 3}, negatives {2, 4}: hard positives > min neg 2 -> {3};
    # hard negatives < max pos 3 -> {2}; margin 2.5
    ref = 3.0**2 + (2.5 - 2.0) ** 2
    got = L.OnlineContrastiveLoss(margin=2.5, distance="euclidean")([u, v], y)
    assert float(got) == pytest.approx(ref)


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_triplet_loss(distance):
    dist = euc if distance == "euclidean" else (lambda a, b: 1 - cos(a, b))
    m = 0.7
    ref = np.mean([max(0.0, dist(a, p) - dist(a, n) + m) for a, p, n in zip(A, B, N, strict=False)])
    got = L.TripletLoss(margin=m, distance=distance)([t(A), t(B), t(N)])
    assert float(got) == pytest.approx(ref, abs=1e-10)


def test_triplet_margin_edge():
    """d(a,p) - d(a,n) + margin == 0 costs exactly zero; a little more costs that much."""
    a = torch.zeros(1, 2, dtype=torch.float64)
    p = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    n = torch.tensor([[3.0, 0.0]], dtype=torch.float64)
    assert float(L.TripletLoss(margin=2.0)([a, p, n])) == 0.0
    assert float(L.TripletLoss(margin=2.5)([a, p, n])) == pytest.approx(0.5)


def _batch_reference(x: np.ndarray, y: np.ndarray, margin: float, semi: bool) -> float:
    d = np.array([[euc(a, b) for b in x] for a in x])
    losses = []
    for a in range(len(x)):
        pos = [p for p in range(len(x)) if p != a and y[p] == y[a]]
        neg = [n for n in range(len(x)) if y[n] != y[a]]
        if not pos or not neg:
            continue
        if not semi:
            losses.append(max(0.0, max(d[a, p] for p in pos) - min(d[a, n] for n in neg) + margin))
            continue
        for p in pos:
            farther = [d[a, n] for n in neg if d[a, n] > d[a, p]]
            dn = min(farther) if farther else max(d[a, n] for n in neg)
            losses.append(max(0.0, d[a, p] - dn + margin))
    return float(np.mean(losses))


@pytest.mark.parametrize("semi", [False, True])
def test_batch_triplet_losses(semi):
    x = RNG.normal(size=(8, 3))
    y = np.array([0, 0, 1, 1, 1, 2, 2, 3])  # class 3 has no positive: left out as an anchor
    cls = L.BatchSemiHardTripletLoss if semi else L.BatchHardTripletLoss
    got = cls(margin=1.0)([t(x)], torch.tensor(y))
    assert float(got) == pytest.approx(_batch_reference(x, y, 1.0, semi), abs=1e-8)


def _mnrl_reference(a, cands, scale, masked=()):
    out = []
    for i in range(len(a)):
        logits = [scale * cos(a[i], c) for c in cands]
        for j in masked:
            if j[0] == i:
                logits[j[1]] = -np.inf
        out.append(-(logits[i] - np.log(np.sum(np.exp(logits)))))
    return float(np.mean(out))


def test_mnrl_with_hard_negatives():
    ref = _mnrl_reference(A, np.concatenate([B, N]), 20.0)
    got = L.MultipleNegativesRankingLoss(scale=20.0)([t(A), t(B), t(N)])
    assert float(got) == pytest.approx(ref, rel=1e-9)


def test_mnrl_symmetric():
    ref = (_mnrl_reference(A, B, 10.0) + _mnrl_reference(B, A, 10.0)) / 2
    got = L.MultipleNegativesRankingLoss(scale=10.0, symmetric=True)([t(A), t(B)])
    assert float(got) == pytest.approx(ref, rel=1e-9)


def test_mnrl_masks_duplicate_positives():
    texts = ["p0", "p1", "p0", "p3", "p4"]  # examples 0 and 2 share a positive text
    hashes = torch.tensor([[text_hash(f"a{i}") for i in range(5)], [text_hash(x) for x in texts]])
    ref = _mnrl_reference(A, B, 20.0, masked=[(0, 2), (2, 0)])
    got = L.MultipleNegativesRankingLoss()([t(A), t(B)], None, hashes)
    assert float(got) == pytest.approx(ref, rel=1e-9)
    assert float(got) < float(L.MultipleNegativesRankingLoss()([t(A), t(B)]))


def test_softmax_loss():
    loss = L.SoftmaxLoss(dim=4, num_labels=3).double()
    W = loss.classifier.weight.detach().numpy()
    b = loss.classifier.bias.detach().numpy()
    y = np.array([0, 1, 2, 1, 0])
    ref = []
    for u, v, c in zip(A, B, y, strict=False):
        z = W @ np.concatenate([u, v, np.abs(u - v)]) + b
        ref.append(-(z[c] - np.log(np.exp(z).sum())))
    assert float(loss([t(A), t(B)], torch.tensor(y))) == pytest.approx(np.mean(ref), rel=1e-9)


def test_mse_distillation_and_matryoshka():
    assert float(L.MSEDistillationLoss()([t(A)], t(B))) == pytest.approx(((A - B) ** 2).mean())
    inner = L.CosineSimilarityLoss()
    y = np.array([0.1, 0.9, 0.5, 0.0, 1.0])
    ref = sum(
        w * np.mean([(cos(a[:d], b[:d]) - s) ** 2 for a, b, s in zip(A, B, y, strict=False)])
        for d, w in [(4, 1.0), (2, 0.5)]
    )
    got = L.MatryoshkaLoss(inner, dims=[4, 2], weights=[1.0, 0.5])([t(A), t(B)], t(y))
    assert float(got) == pytest.approx(ref, rel=1e-9)


def test_matryoshka_refuses_model_running_losses():
    with pytest.raises(L.SentvecError, match="cannot wrap"):
        L.MatryoshkaLoss(L.CachedMultipleNegativesRankingLoss())


def test_wrong_data_shape_is_a_clear_error():
    with pytest.raises(L.SentvecError, match="needs a label"):
        L.CosineSimilarityLoss()([t(A), t(B)], None)
    with pytest.raises(L.SentvecError, match="triplets"):
        L.TripletLoss()([t(A), t(B)])


# -- every loss goes down on a toy task --------------------------------------------------------

from toy_train_data import CLASSES, LABELLED, SCORED, SENTENCES, TRIPLETS  # noqa: E402

TOY = {
    "cosine": ("scored_pairs", SCORED, {}),
    "cosent": ("scored_pairs", SCORED, {}),
    "contrastive": ("labelled_pairs", LABELLED, {}),
    # Labels flipped: the toy pairs start out "solved" (no hard pair, loss 0) for some random
    # initialisations; flipped, every pair is hard, so the loss has something to reduce.
    "online_contrastive": ("labelled_pairs", [(a, b, 1 - y) for a, b, y in LABELLED], {}),
    "triplet": ("triplets", TRIPLETS, {}),
    "batch_hard_triplet": ("labelled_sentences", CLASSES, {}),
    "batch_semi_hard_triplet": ("labelled_sentences", CLASSES, {}),
    "mnrl": ("triplets", TRIPLETS, {}),
    "cached_mnrl": ("triplets", TRIPLETS, {"mini_batch_size": 4}),
    "simcse": ("sentences", SENTENCES, {}),
    "supervised_simcse": ("triplets", TRIPLETS, {}),
    "softmax": ("labelled_pairs", LABELLED, {"dim": 32, "num_labels": 2}),
    "mse": ("sentences", SENTENCES, {}),
}


def test_toy_table_covers_every_loss():
    assert set(TOY) == set(L.LOSSES)


@pytest.mark.parametrize("name", sorted(TOY))
def test_loss_decreases_on_toy_task(name, make_st_model):
    import sentvec

    enc = sentvec.load(make_st_model("mean"))
    model = enc.model
    kind, rows, kwargs = TOY[name]
    data = from_records(rows, kind)
    if name == "mse":  # teacher: fixed random targets
        gen = torch.Generator().manual_seed(0)
        for ex in data.examples:
            ex.label = torch.randn(32, generator=gen).tolist()
    loss_fn = L.LOSSES[name](**kwargs)
    batch = collate(data.examples, enc.tokenize)
    params = list(model.parameters()) + list(loss_fn.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    torch.manual_seed(0)
    model.train(name == "simcse")  # SimCSE needs dropout; the others are checked deterministically
    losses = []
    for _ in range(12):
        opt.zero_grad()
        loss = loss_fn.compute(model, batch)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    if name == "simcse":  # noisy by design: compare averages
        assert np.mean(losses[-4:]) < np.mean(losses[:4]), losses
    else:
        assert losses[-1] < losses[0], losses
