"""The training loop: AdamW with linear warm-up and decay, gradient accumulation and clipping,
optional bf16 autocast and gradient checkpointing, periodic evaluation keeping the best model,
early stopping, resumable checkpoints, a JSONL metrics log, and ``torchrun`` data parallelism.

A run is a pure function of its seed: each epoch's batch order comes from ``(seed, epoch)``,
and a checkpoint stores the model, optimizer, scheduler, torch RNG and position, so a killed
run that resumes ends with the same weights as one that was never stopped.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from sentvec.errors import SentvecError
from sentvec.train import ddp as D
from sentvec.train.data import (
    NoDuplicatesBatchSampler,
    TrainData,
    collate,
    mix_datasets,
    shuffled_batches,
)
from sentvec.train.losses import Loss, MultipleNegativesRankingLoss

if TYPE_CHECKING:
    from sentvec.encoder import Encoder
    from sentvec.evaluate import Evaluator

CHECKPOINT = "checkpoint"
BEST = "best.pt"
LOG = "metrics.jsonl"


@dataclass
class TrainingArgs:
    """Hyper-parameters and bookkeeping of a training run (every field has a default)."""

    output_dir: str = "output"  # checkpoints, best.pt and metrics.jsonl go here
    epochs: int = 1  # passes over the data
    max_steps: int | None = None  # stop after this many optimizer steps (overrides epochs)
    batch_size: int = 16  # examples per batch, per process
    lr: float = 2e-5  # peak learning rate of AdamW
    weight_decay: float = 0.01  # AdamW decay (not applied to biases and LayerNorm weights)
    warmup_ratio: float = 0.1  # share of the steps spent warming up linearly from 0
    warmup_steps: int | None = None  # warm-up length in steps (overrides warmup_ratio)
    grad_accumulation: int = 1  # batches per optimizer step
    max_grad_norm: float | None = 1.0  # clip the gradient norm to this (None: no clipping)
    bf16: bool = False  # bfloat16 autocast for the forward pass (CPU or GPU)
    gradient_checkpointing: bool = False  # recompute activations in backward to save memory
    seed: int = 42  # makes runs repeatable: init, batch order, dropout
    eval_steps: int = 0  # evaluate every N optimizer steps (0: after each epoch)
    save_steps: int = 0  # checkpoint every N optimizer steps (0: after each epoch)
    keep_best: bool = True  # end with the weights of the best evaluation
    early_stopping_patience: int | None = None  # stop after N evaluations without improvement
    no_duplicates: bool | None = None  # batches without repeated texts (default: in-batch losses)
    mixing: str = "proportional"  # several datasets: "proportional" or "round_robin"
    resume: bool = True  # continue from output_dir/checkpoint when it exists
    log_steps: int = 10  # write the running loss to metrics.jsonl every N optimizer steps
    show_progress: bool = True  # progress bar with the running loss
    device: str = "cpu"  # torch device
    dist_backend: str = "gloo"  # torchrun backend: gloo (CPU) or nccl (GPU)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "grad_accumulation"):
            if getattr(self, name) < 1:
                raise SentvecError(f"TrainingArgs.{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.warmup_ratio <= 1:
            raise SentvecError(
                f"TrainingArgs.warmup_ratio must be in [0, 1], got {self.warmup_ratio}"
            )


@dataclass
class TrainState:
    """Where a run is: saved in every checkpoint."""

    step: int = 0  # optimizer steps done
    epoch: int = 0  # current epoch
    batch: int = 0  # batches of the current epoch done
    best: float | None = None  # best primary metric so far
    bad_evals: int = 0  # evaluations since the best
    history: list[dict[str, float]] = field(default_factory=list)  # evaluation results


class Trainer:
    """Fine-tune an :class:`~sentvec.encoder.Encoder` (or a
    :class:`~sentvec.cross.CrossEncoder`, whose ``collate`` builds the batches) in place.

    :param encoder: the model to train (torch backend); ``encoder.model`` is updated.
    :param loss: a loss, or one per dataset.
    :param data: training data, or several datasets (mixed by ``args.mixing``).
    :param args: hyper-parameters.
    :param evaluator: optional; run every ``args.eval_steps`` and at the end.
    :param on_step: optional callback ``(state) -> None`` after each optimizer step.
    """

    def __init__(
        self,
        encoder: Encoder,
        loss: Loss | Sequence[Loss],
        data: TrainData | Sequence[TrainData],
        args: TrainingArgs | None = None,
        evaluator: Evaluator | None = None,
        on_step: Callable[[TrainState], None] | None = None,
    ) -> None:
        self.encoder = encoder
        self.model: nn.Module = encoder.model
        self.datasets = [data] if isinstance(data, TrainData) else list(data)
        self.losses = [loss] * len(self.datasets) if isinstance(loss, Loss) else list(loss)
        if len(self.losses) != len(self.datasets):
            raise SentvecError(
                f"got {len(self.losses)} losses for {len(self.datasets)} datasets. "
                "Fix: pass one loss, or one per dataset."
            )
        self.args = args or TrainingArgs()
        self.evaluator = evaluator
        self.on_step = on_step
        self.state = TrainState()
        self.out = Path(self.args.output_dir)
        self.rank, self.world = D.rank_and_world()

    # -- the loop ---------------------------------------------------------------------------

    def train(self) -> TrainState:
        """Run training to the end (or early stop); resume from a checkpoint if there is one.

        :return: the final state (steps done, best metric, evaluation history).
        """
        from tqdm.auto import tqdm

        args = self.args
        distributed = D.init_from_env(args.dist_backend)
        self.rank, self.world = D.rank_and_world()
        torch.manual_seed(args.seed)
        device = torch.device(args.device)
        self.model.to(device)
        for loss in self.losses:
            loss.to(device)
        if distributed:
            for module in [self.model, *self.losses]:
                D.broadcast_parameters(module)
        if args.gradient_checkpointing:
            _enable_checkpointing(self.model.transformer)
        params = self._parameters()
        # fused: one kernel for all parameters (CPU and GPU), the fastest AdamW in torch
        self.optimizer = torch.optim.AdamW(self._param_groups(), lr=args.lr, fused=True)
        total = self.total_steps()
        warmup = (
            args.warmup_steps
            if args.warmup_steps is not None
            else math.ceil(total * args.warmup_ratio)
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, _linear(warmup, total))
        if args.resume and (self.out / CHECKPOINT / "state.pt").exists():
            self._load_checkpoint()
        self.model.train()
        autocast = torch.autocast(device.type, dtype=torch.bfloat16) if args.bf16 else nullcontext()
        bar = tqdm(
            total=total,
            initial=self.state.step,
            desc="train",
            unit="step",
            disable=not args.show_progress or self.rank != 0,
        )
        running: list[float] = []
        stop = False
        while self.state.step < total and not stop:
            schedule = self.epoch_batches(self.state.epoch)
            groups = [
                schedule[i : i + args.grad_accumulation]
                for i in range(0, len(schedule), args.grad_accumulation)
            ]
            for group in groups[self.state.batch // args.grad_accumulation :]:
                self.optimizer.zero_grad(set_to_none=True)
                value = 0.0
                for d, idx in group:
                    batch = self._collate(d, idx).to(device)
                    with autocast:
                        part = self.losses[d].compute(self.model, batch) / len(group)
                    part.backward()
                    value += float(part.detach())
                if distributed:
                    D.average_gradients(params)
                if args.max_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(params, args.max_grad_norm)
                self.optimizer.step()
                self.scheduler.step()
                self.state.step += 1
                self.state.batch += len(group)
                running = [*running[-49:], value]
                bar.update(1)
                bar.set_postfix(loss=f"{sum(running) / len(running):.4f}")
                if self.state.step % args.log_steps == 0:
                    self._log(
                        {
                            "step": self.state.step,
                            "epoch": self.state.epoch,
                            "loss": sum(running) / len(running),
                            "lr": self.scheduler.get_last_lr()[0],
                        }
                    )
                end_of_epoch = self.state.batch >= len(schedule)
                if end_of_epoch:
                    self.state.epoch += 1
                    self.state.batch = 0
                last = self.state.step >= total
                if self._due(args.eval_steps, end_of_epoch, last):
                    stop = self._evaluate()
                if self._due(args.save_steps, end_of_epoch, False) and not (last or stop):
                    self._save_checkpoint()  # a finished run needs no resume point
                if self.on_step is not None:
                    self.on_step(self.state)
                if last or stop or end_of_epoch:
                    break
        bar.close()
        self._finish()
        return self.state

    def save(self, path: str | os.PathLike[str], base_model: str | None = None) -> Path:
        """Save the trained model as a sentence-transformers folder with a model card.

        :param path: target folder.
        :param base_model: the name to credit as base model (default: the encoder's name).
        :return: the folder.
        """
        from sentvec.train.card import card_metrics, model_card, write_model_card

        if self.rank != 0:
            return Path(path)
        folder = self.encoder.save(path)
        text = model_card(
            base_model or self.encoder.name,
            self.losses,
            self.datasets,
            self.args,
            card_metrics(self.state.history),
            self.encoder.dim,
        )
        write_model_card(folder, text)
        return folder

    def total_steps(self) -> int:
        """Optimizer steps of the whole run."""
        if self.args.max_steps is not None:
            return self.args.max_steps
        per_epoch = math.ceil(len(self.epoch_batches(0)) / self.args.grad_accumulation)
        return per_epoch * self.args.epochs

    def epoch_batches(self, epoch: int) -> list[tuple[int, list[int]]]:
        """This process's batches of an epoch: (dataset index, example indices) pairs.

        Every process builds the same global batches of ``batch_size * world`` examples and
        takes its own slice, so N processes see exactly the batches one process would see with
        an N times larger batch.
        """
        rank, world = getattr(self, "rank", 0), getattr(self, "world", 1)
        size = self.args.batch_size * world
        seed = self.args.seed * 1000 + epoch
        per_dataset = []
        for i, (data, loss) in enumerate(zip(self.datasets, self.losses, strict=True)):
            no_dup = self.args.no_duplicates
            if no_dup is None:
                no_dup = isinstance(loss, MultipleNegativesRankingLoss)
            if no_dup:
                batches = NoDuplicatesBatchSampler(data, size, drop_last=world > 1).batches(
                    seed + i
                )
            else:
                batches = shuffled_batches(len(data), size, seed + i, drop_last=world > 1)
            per_dataset.append(batches)
        mixed = mix_datasets(per_dataset, self.args.mixing, seed)
        bs = self.args.batch_size
        return [(d, b[rank * bs : (rank + 1) * bs]) for d, b in mixed]

    # -- pieces -----------------------------------------------------------------------------

    def _parameters(self) -> list[nn.Parameter]:
        seen: dict[int, nn.Parameter] = {}
        for module in [self.model, *self.losses]:
            for p in module.parameters():
                if p.requires_grad:
                    seen.setdefault(id(p), p)
        return list(seen.values())

    def _param_groups(self) -> list[dict[str, Any]]:
        decay: list[nn.Parameter] = []
        no_decay: list[nn.Parameter] = []
        seen: set[int] = set()
        for module in [self.model, *self.losses]:
            for name, p in module.named_parameters():
                if not p.requires_grad or id(p) in seen:
                    continue
                seen.add(id(p))
                plain = name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name
                (no_decay if plain else decay).append(p)
        return [
            {"params": decay, "weight_decay": self.args.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]

    def _collate(self, dataset: int, indices: list[int]) -> Any:
        examples = [self.datasets[dataset].examples[i] for i in indices]
        own = getattr(self.encoder, "collate", None)  # a cross-encoder batches its own pairs
        if own is not None:
            return own(examples)
        uses_types = bool(getattr(self.model, "uses_token_types", True))
        return collate(examples, self.encoder.tokenize, token_types=uses_types)

    def _due(self, every: int, end_of_epoch: bool, last: bool) -> bool:
        """Whether a periodic action (every N steps, or each epoch when N is 0) is due now."""
        return last or (end_of_epoch if every <= 0 else self.state.step % every == 0)

    def _evaluate(self) -> bool:
        """Run the evaluator (rank 0); keep the best weights. Returns True to stop early."""
        stop = False
        if self.evaluator is not None and self.rank == 0:
            metrics = self.evaluator(self.encoder)
            score = float(metrics[self.evaluator.primary_metric])
            self.state.history.append({"step": self.state.step, **metrics})
            self._log({"step": self.state.step, "epoch": self.state.epoch, **metrics})
            if self.state.best is None or score > self.state.best:
                self.state.best, self.state.bad_evals = score, 0
                if self.args.keep_best:
                    self.out.mkdir(parents=True, exist_ok=True)
                    _atomic_save(self.model.state_dict(), self.out / BEST)
            else:
                self.state.bad_evals += 1
            patience = self.args.early_stopping_patience
            stop = patience is not None and self.state.bad_evals >= patience
            self.model.train()
        if self.world > 1:
            flag = torch.tensor([int(stop)])
            torch.distributed.broadcast(flag, src=0)
            stop = bool(flag.item())
        return stop

    def _finish(self) -> None:
        if self.args.keep_best and self.evaluator is not None and (self.out / BEST).exists():
            state = torch.load(self.out / BEST, map_location="cpu", weights_only=True)
            self.model.load_state_dict(state)
        self.model.eval()

    def _log(self, row: dict[str, Any]) -> None:
        if self.rank != 0:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        with open(self.out / LOG, "a", encoding="utf8") as f:
            f.write(json.dumps({"time": round(time.time(), 3), **row}) + "\n")

    def _save_checkpoint(self) -> None:
        """Write output_dir/checkpoint atomically (a new folder, then a rename)."""
        if self.rank != 0:
            return
        tmp = self.out / (CHECKPOINT + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        torch.save(
            {
                "model": self.model.state_dict(),
                "losses": [loss.state_dict() for loss in self.losses],
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "rng": torch.get_rng_state(),
                "state": asdict(self.state),
                "args": asdict(self.args),
            },
            tmp / "state.pt",
        )
        final = self.out / CHECKPOINT
        old = self.out / (CHECKPOINT + ".old")
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)

    def _load_checkpoint(self) -> None:
        ckpt = torch.load(self.out / CHECKPOINT / "state.pt", map_location="cpu", weights_only=True)
        self.model.load_state_dict(ckpt["model"])
        for loss, state in zip(self.losses, ckpt["losses"], strict=True):
            loss.load_state_dict(state)
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        torch.set_rng_state(ckpt["rng"])
        self.state = TrainState(**ckpt["state"])


def _enable_checkpointing(transformer: Any) -> None:
    """Recompute activations in backward (transformers' name for it changed in v5)."""
    enable = getattr(transformer, "activation_checkpointing_enable", None) or getattr(
        transformer, "gradient_checkpointing_enable", None
    )
    if enable is None:
        raise SentvecError(
            f"{type(transformer).__name__} has no gradient checkpointing. Fix: set "
            "gradient_checkpointing = false."
        )
    enable()


def _linear(warmup: int, total: int) -> Callable[[int], float]:
    """LR multiplier: 0 -> 1 over ``warmup`` steps, then 1 -> 0 at ``total``."""

    def factor(step: int) -> float:
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)
