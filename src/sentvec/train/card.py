"""A model card (README.md) for a trained model: base model, losses, data, hyper-parameters,
evaluation results, and how to load it with sentvec or sentence-transformers."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from sentvec.train.data import TrainData
from sentvec.train.losses import Loss


def _loss_line(loss: Loss) -> str:
    name = type(loss).__name__
    public = {
        k: v
        for k, v in vars(loss).items()
        if not k.startswith("_")
        and k != "training"
        and isinstance(v, (int, float, str, bool, list))
    }
    inner = getattr(loss, "inner", None)
    if isinstance(inner, Loss):
        name += f"({type(inner).__name__})"
    return f"`{name}` {json.dumps(public)}" if public else f"`{name}`"


def model_card(
    base_model: str,
    losses: Sequence[Loss],
    datasets: Sequence[TrainData],
    args: Any,
    metrics: Mapping[str, float] | None = None,
    dim: int | None = None,
) -> str:
    """The README.md text.

    :param base_model: name or path of the model fine-tuned.
    :param losses: the losses (one, or one per dataset).
    :param datasets: the training data.
    :param args: the hyper-parameters (a dataclass, e.g. ``TrainingArgs``).
    :param metrics: final evaluation metrics, if any.
    :param dim: output dimension.
    :return: Markdown with a YAML header that the Hugging Face hub reads.
    """
    lines = [
        "---",
        "library_name: sentence-transformers",
        "pipeline_tag: sentence-similarity",
        "tags:",
        "- sentence-transformers",
        "- sentence-similarity",
        "- sentvec",
        f"base_model: {base_model}",
        "---",
        "",
        f"# Fine-tuned {Path(base_model).name or base_model}",
        "",
        f"A sentence embedding model fine-tuned with sentvec on {date.today().isoformat()} "
        f"from `{base_model}`" + (f"; it maps text to {dim}-dimensional vectors." if dim else "."),
        "",
        "## Use it",
        "",
        "```python",
        "import sentvec",
        "enc = sentvec.load('PATH')",
        "vectors = enc.encode(['first text', 'second text'])",
        "```",
        "",
        "It is a sentence-transformers folder, so `SentenceTransformer('PATH')` loads it too.",
        "",
        "## Training data",
        "",
        "| data | kind | examples | skipped rows |",
        "|---|---|---|---|",
    ]
    lines += [f"| {d.name} | {d.kind.value} | {len(d)} | {d.skipped} |" for d in datasets]
    lines += ["", "## Losses", ""]
    lines += [f"- {_loss_line(loss)}" for loss in dict.fromkeys(losses)]
    lines += ["", "## Hyper-parameters", "", "| parameter | value |", "|---|---|"]
    skip = {"output_dir", "show_progress", "device", "resume", "dist_backend"}
    lines += [f"| {k} | {v} |" for k, v in asdict(args).items() if k not in skip]
    if metrics:
        lines += ["", "## Evaluation", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v:.4f} |" for k, v in metrics.items() if k != "step"]
    return "\n".join(lines) + "\n"


def write_model_card(folder: str | Path, text: str) -> Path:
    """:param folder: the saved model folder. :param text: the card. :return: README.md path."""
    path = Path(folder) / "README.md"
    path.write_text(text, encoding="utf8")
    return path


def card_metrics(history: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """The last evaluation's metrics (without the step)."""
    return {k: float(v) for k, v in history[-1].items() if k != "step"} if history else {}
