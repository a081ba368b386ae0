"""Run by tests/test_train_distributed.py: train the tiny model for a few steps with in-batch
negatives and save the final weights. Under torchrun each of N processes gets batch_size
examples; alone it gets the whole global batch."""

from __future__ import annotations

import sys

import torch
from torch import nn

import sentvec
from sentvec.train import MultipleNegativesRankingLoss, Trainer, TrainingArgs
from sentvec.train.data import from_records

PAIRS = [(f"question number {i} about cats", f"answer number {i} about dogs") for i in range(12)]


def run(model_dir: str, out_dir: str, batch_size: int, weights_file: str) -> None:
    torch.set_num_threads(1)
    enc = sentvec.load(model_dir)
    for m in enc.model.modules():  # dropout masks would differ between processes
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    args = TrainingArgs(
        output_dir=out_dir,
        epochs=2,
        batch_size=batch_size,
        lr=1e-3,
        seed=3,
        show_progress=False,
        resume=False,
        max_grad_norm=1.0,
    )
    trainer = Trainer(
        enc, MultipleNegativesRankingLoss(symmetric=True), from_records(PAIRS, "pairs"), args
    )
    trainer.train()
    if trainer.rank == 0:
        torch.save(enc.model.state_dict(), weights_file)


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
