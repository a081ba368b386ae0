"""Fine-tuning of sentence embedders: losses, data readers, a trainer, hard-negative mining.

Needs torch (``pip install 'sentvec[torch]'``); importing this package without it raises a
:class:`~sentvec.errors.MissingExtraError` that names the install line.

>>> import sentvec
>>> from sentvec.train import Trainer, TrainingArgs, CosineSimilarityLoss, read_examples
>>> enc = sentvec.load()
>>> data = read_examples("stsb-train.csv", kind="scored_pairs", score_scale=5.0)
>>> Trainer(enc, CosineSimilarityLoss(), data, TrainingArgs(epochs=1)).train()
"""

from __future__ import annotations

from sentvec.extras import import_extra

import_extra("torch", "torch")  # the install line, not a ModuleNotFoundError deep inside

from sentvec.train.data import (
    Batch,
    Example,
    ExampleKind,
    NoDuplicatesBatchSampler,
    from_hf_dataset,
    mix_datasets,
    read_examples,
)
from sentvec.train.losses import (
    LOSSES,
    BatchHardTripletLoss,
    BatchSemiHardTripletLoss,
    CachedMultipleNegativesRankingLoss,
    ContrastiveLoss,
    CoSENTLoss,
    CosineSimilarityLoss,
    Loss,
    MatryoshkaLoss,
    MSEDistillationLoss,
    MultipleNegativesRankingLoss,
    OnlineContrastiveLoss,
    SoftmaxLoss,
    SupervisedSimCSELoss,
    TripletLoss,
    UnsupervisedSimCSELoss,
)
from sentvec.train.trainer import Trainer, TrainingArgs

__all__ = [
    "LOSSES",
    "Batch",
    "BatchHardTripletLoss",
    "BatchSemiHardTripletLoss",
    "CachedMultipleNegativesRankingLoss",
    "CoSENTLoss",
    "ContrastiveLoss",
    "CosineSimilarityLoss",
    "Example",
    "ExampleKind",
    "Loss",
    "MSEDistillationLoss",
    "MatryoshkaLoss",
    "MultipleNegativesRankingLoss",
    "NoDuplicatesBatchSampler",
    "OnlineContrastiveLoss",
    "SoftmaxLoss",
    "SupervisedSimCSELoss",
    "Trainer",
    "TrainingArgs",
    "TripletLoss",
    "UnsupervisedSimCSELoss",
    "from_hf_dataset",
    "mix_datasets",
    "read_examples",
]
