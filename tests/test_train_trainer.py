"""The training loop on the tiny model: it learns, it is repeatable, a killed run resumes to the
same weights, it keeps the best evaluation and stops early, and it logs."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

import sentvec  # noqa: E402
from sentvec.train import (  # noqa: E402
    CosineSimilarityLoss,
    MultipleNegativesRankingLoss,
    Trainer,
    TrainingArgs,
)
from sentvec.train.data import from_records  # noqa: E402
from toy_train_data import PAIRS, SCORED  # noqa: E402

DATA = SCORED * 4  # 24 scored pairs


class CountingEvaluator:
    """Scores are scripted, so the best step is known in advance."""

    name = "fake"
    primary_metric = "fake_score"

    def __init__(self, scores):
        self.scores = list(scores)
        self.calls = 0

    def __call__(self, encoder):
        score = self.scores[min(self.calls, len(self.scores) - 1)]
        self.calls += 1
        return {"fake_score": score}


def _fresh(make_st_model):
    return sentvec.load(make_st_model("mean"))


def _weights(enc):
    return {k: v.detach().clone() for k, v in enc.model.state_dict().items()}


def _args(tmp_path, **kw):
    base = dict(
        output_dir=str(tmp_path),
        epochs=2,
        batch_size=4,
        lr=1e-3,
        seed=7,
        show_progress=False,
        log_steps=1,
    )
    base.update(kw)
    return TrainingArgs(**base)


def test_training_lowers_the_loss_and_is_repeatable(make_st_model, tmp_path):
    data = from_records(DATA, "scored_pairs")
    runs = []
    for i in range(2):
        enc = _fresh(make_st_model)
        Trainer(enc, CosineSimilarityLoss(), data, _args(tmp_path / str(i), epochs=3)).train()
        runs.append(_weights(enc))
        rows = [
            json.loads(x)
            for x in (tmp_path / str(i) / "metrics.jsonl").read_text().split("\n")
            if x
        ]
        losses = [r["loss"] for r in rows if "loss" in r]
        assert len(losses) == 18  # 24 / 4 batches x 3 epochs, one log line per step
        assert sum(losses[-6:]) < sum(losses[:6])
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


def test_killed_run_resumes_to_the_same_weights(make_st_model, tmp_path):
    data = from_records(DATA, "scored_pairs")
    kw = dict(epochs=2, save_steps=0, grad_accumulation=2)  # 3 steps per epoch, 6 in all

    enc = _fresh(make_st_model)
    enc.model.train()
    Trainer(enc, CosineSimilarityLoss(), data, _args(tmp_path / "whole", **kw)).train()
    whole = _weights(enc)

    def crash(state):
        if state.step == 5:  # a checkpoint was written after epoch 1 (step 3); die later
            raise KeyboardInterrupt

    enc = _fresh(make_st_model)
    with pytest.raises(KeyboardInterrupt):
        Trainer(
            enc, CosineSimilarityLoss(), data, _args(tmp_path / "cut", **kw), on_step=crash
        ).train()
    assert (tmp_path / "cut" / "checkpoint" / "state.pt").exists()

    enc = _fresh(make_st_model)  # a new process would start from the base weights again
    state = Trainer(enc, CosineSimilarityLoss(), data, _args(tmp_path / "cut", **kw)).train()
    assert state.step == 6
    resumed = _weights(enc)
    for k in whole:
        torch.testing.assert_close(resumed[k], whole[k], atol=1e-6, rtol=1e-5)


def test_resume_with_dropout_and_mid_epoch_checkpoints(make_st_model, tmp_path):
    """save_steps=2 checkpoints mid-epoch; dropout on, so the RNG state must be restored."""
    data = from_records([p for p in PAIRS] * 2, "pairs")
    kw = dict(epochs=1, batch_size=3, save_steps=2)

    enc = _fresh(make_st_model)
    Trainer(enc, MultipleNegativesRankingLoss(), data, _args(tmp_path / "whole", **kw)).train()
    whole = _weights(enc)

    def crash(state):
        if state.step == 3:
            raise KeyboardInterrupt

    enc = _fresh(make_st_model)
    with pytest.raises(KeyboardInterrupt):
        Trainer(
            enc, MultipleNegativesRankingLoss(), data, _args(tmp_path / "cut", **kw), on_step=crash
        ).train()
    enc = _fresh(make_st_model)
    Trainer(enc, MultipleNegativesRankingLoss(), data, _args(tmp_path / "cut", **kw)).train()
    resumed = _weights(enc)
    for k in whole:
        torch.testing.assert_close(resumed[k], whole[k], atol=1e-6, rtol=1e-5)


def test_keeps_best_model_and_stops_early(make_st_model, tmp_path):
    data = from_records(DATA, "scored_pairs")
    seen = []

    def record(state):
        seen.append(_weights(enc))

    enc = _fresh(make_st_model)
    evaluator = CountingEvaluator([0.5, 0.9, 0.4, 0.3, 0.2, 0.1])
    args = _args(tmp_path, epochs=10, eval_steps=1, early_stopping_patience=2)
    trainer = Trainer(enc, CosineSimilarityLoss(), data, args, evaluator, on_step=record)
    state = trainer.train()
    assert evaluator.calls == 4  # best at eval 2, then two evaluations without improvement
    assert state.step == 4 and state.best == 0.9
    final = _weights(enc)
    for k in final:  # the weights after step 2 (the best evaluation), not after step 4
        assert torch.equal(final[k], seen[1][k])
    metrics = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [m["fake_score"] for m in metrics if "fake_score" in m] == [0.5, 0.9, 0.4, 0.3]


def test_learning_rate_schedule_warms_up_then_decays(make_st_model, tmp_path):
    data = from_records(DATA, "scored_pairs")
    enc = _fresh(make_st_model)
    args = _args(tmp_path, epochs=2, warmup_ratio=0.25, lr=1e-3)  # 12 steps, 3 of warm-up
    Trainer(enc, CosineSimilarityLoss(), data, args).train()
    lrs = [json.loads(x)["lr"] for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    expected = [1e-3 * s / 3 for s in (1, 2)] + [1e-3 * (12 - s) / 9 for s in range(3, 13)]
    assert lrs == pytest.approx(expected)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(sentvec.errors.SentvecError, match="batch_size"):
        TrainingArgs(batch_size=0)


def _count_layer_calls(enc):
    """Count forward passes through a module inside the first transformer layer (inside: the
    checkpoint wraps the layer's forward, so only its sub-modules run again in backward)."""
    calls = []
    layer = enc.model.transformer.encoder.layer[0].intermediate
    handle = layer.register_forward_hook(lambda *_: calls.append(torch.is_grad_enabled()))
    return calls, handle


def test_gradient_checkpointing_recomputes_and_gives_the_same_weights(make_st_model, tmp_path):
    """With the flag, each layer runs twice per step (forward, then again in backward);
    without it, once. The weights come out the same either way."""
    data = from_records(DATA, "scored_pairs")
    runs, counts = [], []
    for flag in (False, True):
        enc = _fresh(make_st_model)
        calls, handle = _count_layer_calls(enc)
        args = _args(tmp_path / str(flag), epochs=1, gradient_checkpointing=flag)
        Trainer(enc, CosineSimilarityLoss(), data, args).train()
        handle.remove()
        runs.append(_weights(enc))
        counts.append(len(calls))
        model = enc.model.transformer
        on = getattr(model, "is_activation_checkpointing", None)
        assert (model.is_gradient_checkpointing if on is None else on) is flag
    steps = len(DATA) // 4
    assert counts[0] == steps  # both columns go through in one padded block: one pass a step
    assert counts[1] == 2 * counts[0], counts  # recomputed in backward
    for k in runs[0]:
        torch.testing.assert_close(runs[1][k], runs[0][k], atol=1e-6, rtol=1e-5)


def test_bf16_autocast_runs_the_matmuls_in_bf16_and_trains(make_st_model, tmp_path):
    """The flag must reach the forward pass: linear layers inside the transformer return
    bfloat16 under autocast (float32 without it), and the weights still move."""
    data = from_records(DATA, "scored_pairs")
    dtypes = {}
    for flag in (False, True):
        enc = _fresh(make_st_model)
        before = _weights(enc)
        seen = []
        query = enc.model.transformer.encoder.layer[0].attention.self.query
        handle = query.register_forward_hook(lambda _m, _i, out, seen=seen: seen.append(out.dtype))
        out = tmp_path / str(flag)
        Trainer(enc, CosineSimilarityLoss(), data, _args(out, epochs=1, bf16=flag)).train()
        handle.remove()
        dtypes[flag] = set(seen)
        rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
        assert all(torch.isfinite(torch.tensor(r["loss"])) for r in rows)
        assert any(not torch.equal(before[k], v) for k, v in _weights(enc).items())
        assert all(v.dtype == torch.float32 for v in _weights(enc).values())  # master weights
    assert dtypes == {False: {torch.float32}, True: {torch.bfloat16}}


def test_several_datasets_with_their_own_losses(make_st_model, tmp_path):
    scored = from_records(DATA, "scored_pairs")
    pairs = from_records(PAIRS, "pairs")
    enc = _fresh(make_st_model)
    args = _args(tmp_path, epochs=1, mixing="round_robin")
    trainer = Trainer(
        enc, [CosineSimilarityLoss(), MultipleNegativesRankingLoss()], [scored, pairs], args
    )
    schedule = trainer.epoch_batches(0)
    assert [d for d, _ in schedule] == [0, 1, 0, 1]  # pairs: 6 examples = 2 batches of 4/2
    assert trainer.train().step == 4
