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
    return config


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


def _convert(hint: Any, value: Any, where: str) -> Any:
    nested = {
        TrainingArgs: TrainingArgs,
        DataConfig: DataConfig,
        LossConfig: LossConfig,
        EvalConfig: EvalConfig,
    }
    text = str(hint)
    for cls in nested:
        if hint is cls or text in (f"{cls.__module__}.{cls.__name__} | None",):
            return None if value is None else _build(cls, value, where)
    if text.startswith("list[") and "Config" in text:
        inner = DataConfig if "DataConfig" in text else LossConfig
        if not isinstance(value, list):
            raise SentvecError(f"{where}: expected a list of tables")
        return [_build(inner, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    expected = {int: int, float: float, bool: bool, str: str}.get(hint)
    if expected is not None and not isinstance(value, expected):
        raise SentvecError(f"{where}: expected {expected.__name__}, got {value!r:.60}")
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
