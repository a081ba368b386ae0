"""`sentvec train` and `sentvec mine-negatives`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sentvec.cli._options import (
    COSINE_RANGE,
    DEFAULT_BACKEND,
    BackendOpt,
    ColumnsOpt,
    HeaderOpt,
    JsonOpt,
    ModelOpt,
    check_output,
    check_output_folder,
    check_range,
    emit_json,
    load_encoder,
    parse_columns,
    require_rows,
)

if TYPE_CHECKING:
    pass


def train(
    config: Annotated[Path, typer.Argument(help="Training config (.toml, .yaml or .yml).")],
    resume: Annotated[
        bool, typer.Option("--resume/--no-resume", help="Continue from the last checkpoint.")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Fine-tune a model from a config file; save it (with a model card) to OUTPUT_DIR/model.

    Multi-process: torchrun --nproc-per-node 2 -m sentvec train CONFIG

    Example: sentvec train examples/stsb.toml
    """
    from sentvec.train.config import build_data, build_evaluator, build_losses, load_config
    from sentvec.train.trainer import Trainer

    cfg = load_config(config)
    cfg.training.resume = resume
    from sentvec.encoder import load

    check_output_folder(Path(cfg.training.output_dir), "training.output_dir")
    if cfg.model_type == "cross":
        _train_cross(cfg, as_json)
        return
    data = build_data(cfg)  # read (and check) the files before the model loads
    evaluator = build_evaluator(cfg.evaluator)
    encoder = load(cfg.model, max_seq_length=cfg.max_seq_length)
    for d in data:
        if d.skipped:
            typer.echo(f"{d.name}: skipped {d.skipped} malformed row(s)", err=True)
    trainer = Trainer(encoder, build_losses(cfg, encoder), data, cfg.training, evaluator)
    state = trainer.train()
    folder = trainer.save(
        Path(cfg.training.output_dir) / "model",
        base_model=cfg.model or "sentence-transformers/all-MiniLM-L6-v2",
    )
    if trainer.rank == 0 and as_json:
        emit_json({"steps": state.step, "best": state.best, "model": str(folder)})
    elif trainer.rank == 0:
        best = f", best {state.best:.4f}" if state.best is not None else ""
        typer.echo(f"trained {state.step} steps{best}; model saved to {folder}")


def _train_cross(cfg: Any, as_json: bool) -> None:
    """`sentvec train` with ``model_type = "cross"``: the same trainer, a cross-encoder."""
    from sentvec.cross.training import build_cross_evaluator, build_cross_losses, load_for_training
    from sentvec.train.config import build_data
    from sentvec.train.trainer import Trainer

    data = build_data(cfg)
    evaluator = build_cross_evaluator(cfg.evaluator)
    cross = load_for_training(cfg.model, cfg.num_labels)
    if cfg.max_seq_length:
        cross.spec.max_seq_length = cfg.max_seq_length
    trainer = Trainer(cross, build_cross_losses(cfg), data, cfg.training, evaluator)  # type: ignore[arg-type]
    state = trainer.train()
    folder = cross.save(Path(cfg.training.output_dir) / "model")
    if as_json:
        emit_json({"steps": state.step, "best": state.best, "model": str(folder)})
    else:
        best = f", best {state.best:.4f}" if state.best is not None else ""
        typer.echo(f"trained {state.step} steps{best}; cross-encoder saved to {folder}")


def mine_negatives(
    file: Annotated[Path, typer.Argument(help="(anchor, positive) pairs: CSV/TSV/JSONL.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output JSONL: anchor, positive, negative_1, ...")
    ],
    columns: ColumnsOpt = None,
    header: HeaderOpt = True,
    corpus: Annotated[
        Path | None, typer.Option(help="Candidate texts (txt/JSONL/CSV) [default: the positives].")
    ] = None,
    num_negatives: Annotated[int, typer.Option(min=1, help="Negatives per pair.")] = 1,
    skip_top: Annotated[int, typer.Option(min=0, help="Skip the N best-ranked candidates.")] = 0,
    margin: Annotated[
        float | None,
        typer.Option(help="Skip candidates scored above sim(anchor, positive) - MARGIN."),
    ] = 0.05,
    max_score: Annotated[
        float | None, typer.Option(help="Skip candidates scored above this.")
    ] = None,
    model: ModelOpt = None,
    backend: BackendOpt = DEFAULT_BACKEND,
    as_json: JsonOpt = False,
) -> None:
    """Mine hard negatives with the current model, guarding against false negatives.

    Example: sentvec mine-negatives pairs.csv --out triplets.jsonl --num-negatives 2
    """
    from sentvec.evaluate.files import read_columns
    from sentvec.io import read_records
    from sentvec.train.mining import mine_hard_negatives, rows_to_jsonl

    check_range("--margin", margin, -float("inf"))  # any number; NaN refused
    check_range("--max-score", max_score, *COSINE_RANGE)
    check_output(out, suffixes=(".jsonl",))
    pairs = [
        (r[0], r[1])
        for r in read_columns(file, parse_columns(columns, ("anchor", "positive"), header), header)
    ]
    require_rows(pairs, file, "(anchor, positive) pairs")
    texts = [r.text for r in read_records(corpus)] if corpus else None
    if corpus is not None:
        require_rows(texts or [], corpus)
    rows, dropped = mine_hard_negatives(
        load_encoder(model, backend),
        pairs,
        texts,
        num_negatives=num_negatives,
        skip_top=skip_top,
        margin=margin,
        max_score=max_score,
    )
    with open(out, "w", encoding="utf8") as f:
        for obj in rows_to_jsonl(rows):
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")
    if as_json:
        emit_json({"rows": len(rows), "dropped": dropped, "out": str(out)})
    typer.echo(
        f"wrote {len(rows)} rows to {out}; {dropped} pair(s) had too few negatives", err=True
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command()(train)
    app.command("mine-negatives")(mine_negatives)
