"""``sentvec train CONFIG``: a YAML or TOML file mapped onto typed dataclasses.

Example (TOML)::

    model = "sentence-transformers/all-MiniLM-L6-v2"   # omit for the packaged default

    [[data]]
    path = "stsb/sts-train.csv"
    kind = "scored_pairs"
    header = false
    columns = { sentence1 = 5, sentence2 = 6, score = 4 }
    score_scale = 5.0

    [loss]
    name = "cosine"

    [evaluator]
    kind = "sts"
    path = "stsb/sts-dev.csv"

    [training]
    output_dir = "runs/stsb"
    epochs = 4
    batch_size = 16
    lr = 2e-5

Relative paths are resolved against the config file's folder. Unknown keys are errors.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_type_hints

import tomllib

from sentvec.errors import InvalidChoiceError, SentvecError
from sentvec.extras import import_extra
from sentvec.train.trainer import TrainingArgs

if TYPE_CHECKING:
    from sentvec.encoder import Encoder
    from sentvec.evaluate import Evaluator
    from sentvec.train.data import TrainData
    from sentvec.train.losses import Loss


@dataclass
class DataConfig:
    """One training file (see :func:`sentvec.train.data.read_examples`)."""

    path: str  # CSV, TSV, JSONL or .txt file
    kind: str  # scored_pairs, labelled_pairs, pairs, triplets, labelled_sentences, sentences
    columns: dict[str, Any] = field(default_factory=dict)  # role -> column name or index
    header: bool = True  # False: CSV/TSV without a header row (columns are 0-based indices)
    score_scale: float = 1.0  # scores are divided by this (5.0 for STS)
    label_map: dict[str, int] = field(default_factory=dict)  # text label -> class index
    skip_invalid: bool = False  # skip and count malformed rows instead of stopping
    format: str | None = None  # force csv, tsv, jsonl or txt
    limit: int | None = None  # use only the first N examples


@dataclass
class LossConfig:
    """The objective: a name from :data:`sentvec.train.LOSSES` and its keyword options."""

    name: str = "mnrl"  # cosine, cosent, contrastive, online_contrastive, triplet, mnrl, ...
    options: dict[str, Any] = field(default_factory=dict)  # e.g. {scale = 20.0}
    matryoshka_dims: list[int] = field(default_factory=list)  # wrap in MatryoshkaLoss if set


@dataclass
class EvalConfig:
    """An evaluator run during training; its primary metric picks the best model."""

    kind: str  # sts, retrieval, pairs, triplets, clusters
    path: str  # file (or BEIR folder for retrieval)
    columns: list[Any] = field(default_factory=list)  # pairs/triplets/clusters columns
    header: bool = True  # the file has a header row
    split: str = "test"  # retrieval: qrels split
    name: str | None = None  # metric prefix (default: the kind)


@dataclass
class TrainConfig:
    """A whole training run."""

    model: str | None = None  # base model folder or hub id (None: packaged all-MiniLM-L6-v2)
    model_type: str = "bi"  # "bi": a sentence embedder; "cross": a cross-encoder (reranker)
    num_labels: int | None = None  # cross: labels of a new head (default: the folder's, else 1)
    data: list[DataConfig] = field(default_factory=list)  # one or more training files
    loss: list[LossConfig] = field(default_factory=list)  # one loss, or one per data file
    evaluator: EvalConfig | None = None  # optional evaluation during training
    training: TrainingArgs = field(default_factory=TrainingArgs)  # hyper-parameters
    max_seq_length: int | None = None  # override the model's longest input in tokens


EVAL_KINDS = ("sts", "retrieval", "pairs", "triplets", "clusters")
MODEL_TYPES = ("bi", "cross")


def load_config(path: str | Path) -> TrainConfig:
    """Read a ``.toml``, ``.yaml`` or ``.yml`` training config.

    :param path: the file.
    :return: the config, paths resolved against the file's folder.
    :raises SentvecError: for unknown keys, wrong types, or missing required keys.
    """
    from sentvec.io import check_input_file

    path = check_input_file(path, "config file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise SentvecError(
            f"{path}: not UTF-8 (byte offset {e.start}). Fix: re-save the config as UTF-8"
        ) from None
    if path.suffix.lower() == ".toml":
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise SentvecError(f"{path}: invalid TOML ({e})") from None
    elif path.suffix.lower() in (".yaml", ".yml"):
        yaml = import_extra("yaml", "train", "pyyaml")
        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            raise SentvecError(f"{path}: invalid YAML ({e})") from None
    else:
        raise InvalidChoiceError("config file type", path.suffix, [".toml", ".yaml", ".yml"])
    if not isinstance(raw, dict):
        raise SentvecError(f"{path}: expected a table of settings, got {type(raw).__name__}")
    for key in ("data", "loss"):  # a single table is fine where a list is expected
        if isinstance(raw.get(key), dict):
            raw[key] = [raw[key]]
    config = _build(TrainConfig, raw, str(path))
    base = path.parent
    for d in config.data:
        d.path = str(_resolve(base, d.path))
    if config.evaluator is not None:
        config.evaluator.path = str(_resolve(base, config.evaluator.path))
    config.training.output_dir = str(_resolve(base, config.training.output_dir))
    if config.model and (base / config.model).exists():
        config.model = str(base / config.model)
    if not config.data:
        raise SentvecError(f"{path}: no [[data]] entry. Fix: add at least one training file.")
    if config.model_type not in MODEL_TYPES:
        raise InvalidChoiceError("model_type", config.model_type, MODEL_TYPES)
    _check_device(config.training.device, f"{path}: training: device")
    return config


def _check_device(device: str, where: str) -> None:
    """A GPU device that this machine has (torch would fail later with an AssertionError)."""
    if device == "cpu":
        return
    import torch

    if device.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(device.partition(":")[2] or 0)
        if index >= count:
            have = f"{count} CUDA device(s)" if count else "no CUDA device"
            raise SentvecError(
                f"{where}: {device!r} but this machine has {have}. Fix: use "
                + (f"cuda:0 to cuda:{count - 1}." if count else '"cpu".')
            )
    elif device == "mps" and not torch.backends.mps.is_available():
        raise SentvecError(f'{where}: "mps" is not available here. Fix: use "cpu".')


def _resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _build(cls: Any, raw: Any, where: str) -> Any:
    """Map a dict onto dataclass ``cls``, recursively, with errors that name the key."""
    if not isinstance(raw, dict):
        raise SentvecError(f"{where}: expected a table, got {raw!r:.60}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(raw) - set(fields)
    if unknown:
        raise SentvecError(
            f"{where}: unknown key(s) {sorted(unknown)}; valid keys are: {', '.join(fields)}"
        )
    kwargs = {}
    for name, value in raw.items():
        kwargs[name] = _convert(hints[name], value, f"{where}: {name}")
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise SentvecError(f"{where}: {e}. Fix: add the missing key(s).") from None


_NESTED = ("TrainingArgs", "DataConfig", "LossConfig", "EvalConfig")
# numbers that must be > 0 (name -> what a good value looks like)
_POSITIVE = {
    "score_scale": "5.0 for STS scores 0-5",
    "lr": "2e-5",
    "max_grad_norm": "1.0 (or leave it out for no clipping)",
    "max_steps": "1000 (or leave it out to run the epochs)",
    "limit": "1000 (or leave it out to use every example)",
    "num_labels": "1",
    "max_seq_length": "256",
}
_AT_LEAST_ZERO = {
    "weight_decay",
    "warmup_steps",
    "eval_steps",
    "save_steps",
    "log_steps",
    "early_stopping_patience",
}
_DEVICE = re.compile(r"cpu|mps|cuda(:\d+)?")


def _type_name(hint: Any) -> str:
    text = str(hint).replace("typing.", "")
    return getattr(hint, "__name__", text) if not text.startswith(("list", "dict")) else text


def _convert(hint: Any, value: Any, where: str) -> Any:
    """``value`` checked against the type hint ``hint`` (``int | None``, ``list[int]``,
    ``dict[str, Any]``, nested configs), then against the key's value rules.

    :raises SentvecError: one line naming the key, the value and the fix.
    """
    key = where.rsplit(": ", 1)[-1].split("[")[0]
    value = _typed(hint, value, where)
    if isinstance(value, float) and not math.isfinite(value):
        raise SentvecError(f"{where}: {value!r} is not a finite number. Fix: use a number.")
    if key in _POSITIVE and value is not None and isinstance(value, (int, float)) and value <= 0:
        raise SentvecError(f"{where}: must be > 0, got {value!r}. Fix: e.g. {_POSITIVE[key]}.")
    if key in _AT_LEAST_ZERO and isinstance(value, (int, float)) and value < 0:
        raise SentvecError(f"{where}: must be >= 0, got {value!r}. Fix: use 0 or more.")
    if key == "matryoshka_dims" and any(d < 1 for d in value):
        raise SentvecError(
            f"{where}: dimensions must be >= 1, got {value!r}. Fix: e.g. [384, 256, 128, 64]."
        )
    if key == "device" and not _DEVICE.fullmatch(value):
        raise SentvecError(
            f"{where}: {value!r} is not a torch device. Fix: cpu, cuda, cuda:0 or mps."
        )
    return value


def _typed(hint: Any, value: Any, where: str) -> Any:
    from typing import Union, get_args, get_origin

    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _typed(option, value, where)
            except SentvecError as e:
                errors.append(e)
        if len(options) == 1:
            raise errors[0]
        raise SentvecError(
            f"{where}: expected {' or '.join(_type_name(a) for a in options)}, got {value!r:.60}"
        )
    if getattr(hint, "__name__", "") in _NESTED:
        return _build(hint, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise SentvecError(
                f"{where}: expected a list, got {value!r:.60}. Fix: write it in brackets, "
                'e.g. ["a", "b"].'
            )
        inner = args[0] if args else Any
        return [_typed(inner, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise SentvecError(
                f"{where}: expected a table, got {value!r:.60}. Fix: e.g. "
                '{ sentence1 = "s1", sentence2 = "s2" }.'
            )
        inner = args[1] if len(args) == 2 else Any
        return {k: _typed(inner, v, f"{where}.{k}") for k, v in value.items()}
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise SentvecError(f"{where}: expected float (a number), got {value!r:.60}. Fix: e.g. 1.0.")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise SentvecError(
            f"{where}: expected int (a whole number), got {value!r:.60}. Fix: write it without "
            "quotes, e.g. 10."
        )
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise SentvecError(f"{where}: expected bool (true or false), got {value!r:.60}.")
    if hint is str:
        if isinstance(value, str):
            return value
        raise SentvecError(
            f"{where}: expected str (text), got {value!r:.60}. Fix: put it in quotes."
        )
    return value


def build_data(config: TrainConfig) -> list[TrainData]:
    """Read every training file of the config.

    :param config: the config. :return: one TrainData per file.
    """
    from sentvec.train.data import read_examples

    out = []
    for d in config.data:
        data = read_examples(
            d.path,
            d.kind,
            columns=d.columns or None,
            header=d.header,
            score_scale=d.score_scale,
            label_map=d.label_map or None,
            skip_invalid=d.skip_invalid,
            fmt=d.format,
        )
        if d.limit:
            data.examples = data.examples[: d.limit]
        out.append(data)
    return out


def build_losses(config: TrainConfig, encoder: Encoder) -> list[Loss]:
    """The configured loss(es); ``softmax`` gets the model's dimension unless given.

    :param config: the config. :param encoder: the model being trained.
    :return: one loss, or one per data file.
    """
    from sentvec.train.losses import LOSSES, MatryoshkaLoss

    specs = config.loss or [LossConfig()]
    out = []
    for spec in specs:
        if spec.name not in LOSSES:
            raise InvalidChoiceError("loss", spec.name, LOSSES)
        options = dict(spec.options)
        if spec.name == "softmax":
            options.setdefault("dim", encoder.dim)
        try:
            loss = LOSSES[spec.name](**options)
        except TypeError as e:
            raise SentvecError(f"loss {spec.name!r}: bad options {options} ({e})") from None
        if spec.matryoshka_dims:
            loss = MatryoshkaLoss(loss, spec.matryoshka_dims)
        out.append(loss)
    return out


def build_evaluator(spec: EvalConfig | None) -> Evaluator | None:
    """:param spec: the evaluator config (or None). :return: the evaluator (or None)."""
    if spec is None:
        return None
    from sentvec import evaluate as ev

    name = spec.name or spec.kind
    cols = spec.columns or None
    if spec.kind == "sts":
        return ev.STSEvaluator.from_file(spec.path, name)
    if spec.kind == "retrieval":
        return ev.RetrievalEvaluator.from_folder(spec.path, spec.split, name)
    if spec.kind == "pairs":
        return ev.PairClassificationEvaluator(
            ev.read_pairs(spec.path, cols or ("sentence1", "sentence2", "label"), spec.header), name
        )
    if spec.kind == "triplets":
        return ev.TripletEvaluator(
            ev.read_triplets(spec.path, cols or ("anchor", "positive", "negative"), spec.header),
            name,
        )
    if spec.kind == "clusters":
        return ev.ClusteringEvaluator(
            ev.read_clusters(spec.path, cols or ("text", "label"), spec.header), name
        )
    raise InvalidChoiceError("evaluator kind", spec.kind, EVAL_KINDS)
