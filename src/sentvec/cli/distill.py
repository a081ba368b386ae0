"""`sentvec distill`: a static model from any encoder, and how it compares with its teacher."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sentvec.cli._options import JsonOpt
from sentvec.errors import SentvecError

if TYPE_CHECKING:
    from sentvec.evaluate.suite import EvalFiles

DEFAULT_EVAL_DATA = "SENTVEC_EVAL_DATA"  # environment variable naming a data folder


def distill(
    model: Annotated[
        str | None,
        typer.Argument(help="Teacher: model folder or hub id [default: all-MiniLM-L6-v2]."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder to write the static model to.")
    ] = None,
    dims: Annotated[
        int | None,
        typer.Option(min=2, help="Vector size [default: 256]."),
    ] = None,
    sif: Annotated[
        float, typer.Option(min=1e-9, help="SIF constant a in a/(a+p): lower favours rare tokens.")
    ] = 3e-5,
    corpus: Annotated[
        Path | None,
        typer.Option(help="Text file (one text per line) whose token counts set the weights."),
    ] = None,
    fit: Annotated[
        Path | None,
        typer.Option(
            "--fit",
            help="Text file (one text per line, no labels): fit the static model to the "
            "teacher's vectors of these texts (better quality, minutes of CPU).",
        ),
    ] = None,
    fit_epochs: Annotated[int, typer.Option(min=1, help="With --fit: passes over the texts.")] = 4,
    fit_blend: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="With --fit: weight of the data-free rows kept beside the fitted ones "
            "(0: fitted rows only) [default: 0.5, FitConfig.blend].",
        ),
    ] = None,
    evaluate: Annotated[
        bool, typer.Option("--eval", help="Compare the static model with its teacher.")
    ] = False,
    static: Annotated[
        Path | None,
        typer.Option("--static", help="With --eval: an existing static folder (no distilling)."),
    ] = None,
    eval_data: Annotated[
        Path | None,
        typer.Option(
            "--eval-data",
            help=f"Folder with stsb/, msmarco-subset/, ag-news/ [default: ${DEFAULT_EVAL_DATA}].",
        ),
    ] = None,
    sts: Annotated[Path | None, typer.Option(help="STS test file (overrides --eval-data).")] = None,
    beir: Annotated[
        Path | None, typer.Option(help="BEIR retrieval folder (overrides --eval-data).")
    ] = None,
    news_limit: Annotated[
        int | None, typer.Option(min=10, help="AG News rows to use [default: all].")
    ] = None,
    speed_texts: Annotated[int, typer.Option(min=10, help="Texts per timed run.")] = 2000,
    as_json: JsonOpt = False,
) -> None:
    """Distil a static model (one vector per token, ~100x faster, no torch to run it):
    the vocabulary goes through MODEL, PCA reduces it, frequency weights scale it.
    No data needed; --corpus fits the weights to your text; --fit FILE then regresses the
    model onto the teacher's vectors of FILE's texts (the recommended recipe).

    Example: sentvec distill --out minilm-static --fit texts.txt
    """
    from sentvec.distill.distillation import DistillConfig
    from sentvec.distill.distillation import distill as run_distill
    from sentvec.distill.tune import FitConfig

    if out is None and static is None:
        raise SentvecError("distill needs --out DIR (or --static DIR with --eval). Fix: add one.")
    if static is not None and not evaluate:
        raise SentvecError("--static only makes sense with --eval. Fix: add --eval.")
    files = _eval_files(eval_data, sts, beir, news_limit) if evaluate else None
    from sentvec.encoder import load

    teacher = load(model)
    if static is None:
        texts = _read_lines(corpus, "--corpus")
        fit_texts = _read_lines(fit, "--fit")
        cfg = DistillConfig(dims=DistillConfig().dims if dims is None else dims, sif=sif)
        static_model = run_distill(
            teacher,
            cfg,
            texts,
            show_progress=not as_json,
            fit_texts=fit_texts,
            fit=FitConfig(
                epochs=fit_epochs, blend=FitConfig.blend if fit_blend is None else fit_blend
            ),
        )
        folder = static_model.save(out)  # type: ignore[arg-type]
        if not as_json:
            typer.echo(f"static model written to {folder} (load it with sentvec.load)")
        static = folder
    if files is None:
        if as_json:
            typer.echo(json.dumps({"out": str(static)}))
        return
    from sentvec.evaluate import suite as report

    student = load(static)
    texts_for_speed = report.speed_corpus(files, speed_texts)
    rows = {
        f"teacher ({teacher.backend.name})": report.evaluate(teacher, files, texts_for_speed),
        "static": report.evaluate(student, files, texts_for_speed),
    }
    if as_json:
        typer.echo(json.dumps({"static": str(static), "results": rows}, indent=2))
    else:
        typer.echo(report.format_table(rows))


def _read_lines(path: Path | None, option: str) -> list[str] | None:
    if path is None:
        return None
    if not path.is_file():
        raise SentvecError(f"{option} {str(path)!r} is not a file. Fix: check the path.")
    return path.read_text(encoding="utf8").splitlines()


def _eval_files(
    folder: Path | None, sts: Path | None, beir: Path | None, news_limit: int | None
) -> EvalFiles:
    from sentvec.evaluate.suite import EvalFiles

    folder = folder or (
        Path(os.environ[DEFAULT_EVAL_DATA]) if DEFAULT_EVAL_DATA in os.environ else None
    )
    if folder is not None:
        files = EvalFiles.from_folder(folder, news_limit)
    elif sts is None and beir is None:
        raise SentvecError(
            f"--eval needs data: --eval-data DIR, ${DEFAULT_EVAL_DATA}, --sts FILE or --beir DIR."
        )
    else:
        files = EvalFiles(news_limit=news_limit)
    for path, attr in ((sts, "sts"), (beir, "beir")):
        if path is not None:
            if not path.exists():
                raise SentvecError(f"--{attr} {str(path)!r} does not exist. Fix: check the path.")
            setattr(files, attr, path)
    return files


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command()(distill)
