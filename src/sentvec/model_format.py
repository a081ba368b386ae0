"""The on-disk model format: plain Hugging Face folders and sentence-transformers folders.

Reads and writes JSON only (no torch), so the ONNX path and ``sentvec info`` stay light.
A sentence-transformers folder is described by ``modules.json``: a Transformer at the root,
then ``1_Pooling/config.json``, optional ``2_Dense/`` layers, and an optional ``Normalize``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sentvec.errors import (
    BrokenModelError,
    InvalidChoiceError,
    ModelNotFoundError,
    OutOfRangeError,
)
from sentvec.pooling import PoolingMode, parse_pooling

ST_TYPES = {
    "transformer": "sentence_transformers.models.Transformer",
    "pooling": "sentence_transformers.models.Pooling",
    "dense": "sentence_transformers.models.Dense",
    "normalize": "sentence_transformers.models.Normalize",
}
ACTIVATIONS = {  # sentence-transformers writes the torch class path
    "torch.nn.modules.activation.Tanh": "tanh",
    "torch.nn.modules.linear.Identity": "identity",
    "torch.nn.modules.activation.ReLU": "relu",
    "torch.nn.modules.activation.GELU": "gelu",
    "torch.nn.modules.activation.Sigmoid": "sigmoid",
}
SIMILARITIES = ("cosine", "dot", "euclidean", "manhattan")
_LEGACY_POOLING = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


@dataclass
class DenseSpec:
    """One dense layer after pooling: ``activation(W x + b)``."""

    in_features: int
    out_features: int
    bias: bool = True
    activation: str = "tanh"  # one of ACTIVATIONS' values
    path: Path | None = None  # folder holding its weights, when loaded from disk


@dataclass
class ModelSpec:
    """Everything about a sentence embedder except its weights."""

    transformer_path: Path
    pooling: tuple[PoolingMode, ...] = (PoolingMode.MEAN,)
    dense: list[DenseSpec] = field(default_factory=list)
    normalize: bool = False
    max_seq_length: int | None = None
    do_lower_case: bool = False
    prompts: dict[str, str] = field(default_factory=dict)
    default_prompt_name: str | None = None
    similarity: str = "cosine"

    def settings(self) -> dict[str, Any]:
        """The settings that change the vectors, as plain JSON values (for fingerprints)."""
        return {
            "pooling": [m.value for m in self.pooling],
            "dense": [(d.in_features, d.out_features, d.activation) for d in self.dense],
            "normalize": self.normalize,
            "max_seq_length": self.max_seq_length,
            "do_lower_case": self.do_lower_case,
        }


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BrokenModelError(path, f"{path.name} is not valid JSON ({e})") from None
    except RecursionError:
        raise BrokenModelError(path, f"{path.name} is nested too deeply") from None
    except IsADirectoryError:
        raise BrokenModelError(path, f"{path.name} is a folder, not a file") from None
    if not isinstance(data, (dict, list)):
        raise BrokenModelError(path, f"{path.name} holds {type(data).__name__}, expected an object")
    return data  # type: ignore[return-value]


def _activation_name(value: str | None) -> str:
    if value is None:
        return "identity"
    if value in ACTIVATIONS.values():
        return value
    if value in ACTIVATIONS:
        return ACTIVATIONS[value]
    raise InvalidChoiceError("dense activation", value, list(ACTIVATIONS))


def _pooling_from_config(cfg: dict[str, Any]) -> tuple[PoolingMode, ...]:
    if "pooling_mode" in cfg:  # sentence-transformers >= 5 writes a single key
        return parse_pooling(cfg["pooling_mode"])
    modes = [mode for key, mode in _LEGACY_POOLING.items() if cfg.get(key)]
    return parse_pooling(modes or ["mean"])


def read_spec(folder: str | Path) -> ModelSpec:
    """Describe the model in ``folder`` (a plain Hugging Face or a sentence-transformers folder).

    :param folder: a local folder.
    :return: its ModelSpec; a plain Hugging Face folder gets mean pooling and no normalisation.
    :raises ModelNotFoundError: the folder or a file it needs is missing.
    :raises BrokenModelError: a file is not valid.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ModelNotFoundError(root, "no such folder")
    spec = ModelSpec(transformer_path=root)
    modules_file = root / "modules.json"
    if modules_file.exists():
        modules = _read_json(modules_file)
        if not isinstance(modules, list):
            raise BrokenModelError(modules_file, "modules.json must be a list of modules")
        try:
            for module in sorted(modules, key=lambda m: int(m.get("idx", 0))):
                _read_module(root, module, spec)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            if isinstance(e, InvalidChoiceError):
                raise
            raise BrokenModelError(
                modules_file, f"a module description is malformed ({type(e).__name__}: {e})"
            ) from None
    if not (spec.transformer_path / "config.json").exists():
        raise ModelNotFoundError(
            spec.transformer_path, "config.json is missing (not a Hugging Face model folder)"
        )
    if not isinstance(_read_json(spec.transformer_path / "config.json"), dict):
        raise BrokenModelError(
            spec.transformer_path / "config.json", "config.json is not an object"
        )
    sbert = spec.transformer_path / "sentence_bert_config.json"
    if not sbert.exists():
        sbert = root / "sentence_bert_config.json"
    if sbert.exists():
        cfg = _read_json(sbert)
        spec.max_seq_length = cfg.get("max_seq_length")
        spec.do_lower_case = bool(cfg.get("do_lower_case", False))
    st_cfg = root / "config_sentence_transformers.json"
    if st_cfg.exists():
        cfg = _read_json(st_cfg)
        spec.prompts = dict(cfg.get("prompts") or {})
        spec.default_prompt_name = cfg.get("default_prompt_name")
        sim = cfg.get("similarity_fn_name") or "cosine"
        spec.similarity = {"dot_product": "dot", "cos_sim": "cosine"}.get(sim, sim)
    return spec


def _read_module(root: Path, module: dict[str, Any], spec: ModelSpec) -> None:
    kind = str(module.get("type", ""))
    path = root / str(module.get("path", ""))
    short = kind.rsplit(".", 1)[-1].lower()
    if short in ("transformer", "mlmtransformer"):
        spec.transformer_path = path
    elif short == "pooling":
        cfg_file = path / "config.json"
        if not cfg_file.exists():
            raise ModelNotFoundError(path, "the Pooling module's config.json is missing")
        spec.pooling = _pooling_from_config(_read_json(cfg_file))
    elif short == "dense":
        cfg_file = path / "config.json"
        if not cfg_file.exists():
            raise ModelNotFoundError(path, "the Dense module's config.json is missing")
        cfg = _read_json(cfg_file)
        spec.dense.append(
            DenseSpec(
                in_features=int(cfg["in_features"]),
                out_features=int(cfg["out_features"]),
                bias=bool(cfg.get("bias", True)),
                activation=_activation_name(
                    cfg.get("activation_function", "torch.nn.modules.activation.Tanh")
                ),
                path=path,
            )
        )
    elif short == "normalize":
        spec.normalize = True
    else:
        raise BrokenModelError(
            root / "modules.json",
            f"module type {kind!r} is not supported "
            "(supported: Transformer, Pooling, Dense, Normalize)",
        )


def effective_max_length(spec: ModelSpec) -> int:
    """sentence_bert_config's max_seq_length, else min(tokenizer limit, position embeddings)."""
    if spec.max_seq_length:
        return int(spec.max_seq_length)
    limits = []
    for file, key in (
        ("tokenizer_config.json", "model_max_length"),
        ("config.json", "max_position_embeddings"),
    ):
        path = spec.transformer_path / file
        if path.exists():
            value = _read_json(path).get(key)
            if isinstance(value, int) and 0 < value < 1_000_000:
                limits.append(value)
    return min(limits) if limits else 512


def load_spec(
    folder: str | Path,
    pooling: str | Sequence[str] | None = None,
    normalize: bool | None = None,
    max_seq_length: int | None = None,
) -> ModelSpec:
    """Read a model folder's spec and apply the caller's overrides.

    :param folder: a local model folder (see :func:`read_spec`).
    :param pooling: override the pooling mode(s).
    :param normalize: override L2 normalisation.
    :param max_seq_length: override the longest input in tokens.
    :return: the spec, with ``max_seq_length`` always set.
    """
    spec = read_spec(folder)
    if pooling is not None:
        spec.pooling = parse_pooling(pooling)
    if normalize is not None:
        spec.normalize = normalize
    if max_seq_length is not None:
        if isinstance(max_seq_length, bool) or not isinstance(max_seq_length, int):
            raise OutOfRangeError(
                "max_seq_length", max_seq_length, "a whole number of tokens", "pass e.g. 256"
            )
        limit = position_limit(spec)
        if not 1 <= max_seq_length <= (limit or max_seq_length):
            raise OutOfRangeError(
                "max_seq_length",
                max_seq_length,
                f"between 1 and {limit}, the model's number of positions"
                if limit
                else "at least 1",
                f"pass at most {limit}, or long_text='chunk' to embed longer texts in windows"
                if limit and max_seq_length > limit
                else "pass a positive number of tokens",
            )
        spec.max_seq_length = max_seq_length
    spec.max_seq_length = effective_max_length(spec)
    check_weights(spec)
    return spec


def check_weights(spec: ModelSpec) -> None:
    """Check that every ``.safetensors`` file of the model is whole (its header parses and
    the tensors it lists fit in the file), without reading the tensors or importing torch.

    :param spec: the model.
    :raises BrokenModelError: naming the truncated or corrupt file.
    """
    folders = [spec.transformer_path, *(d.path for d in spec.dense if d.path is not None)]
    for file in (f for folder in folders for f in sorted(folder.glob("*.safetensors"))):
        size = file.stat().st_size
        with open(file, "rb") as f:
            head = f.read(8)
            n = int.from_bytes(head, "little") if len(head) == 8 else -1
            if not 0 < n <= size - 8:
                raise BrokenModelError(file, f"{file.name} is truncated or not a safetensors file")
            try:
                header = json.loads(f.read(n))
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise BrokenModelError(file, f"{file.name} has a corrupt header") from None
        ends = [
            v["data_offsets"][1]
            for k, v in (header.items() if isinstance(header, dict) else [])
            if k != "__metadata__" and isinstance(v, dict) and "data_offsets" in v
        ]
        if 8 + n + max(ends, default=0) > size:
            raise BrokenModelError(
                file,
                f"{file.name} is truncated ({size} bytes, its header lists "
                f"{8 + n + max(ends)} bytes)",
            )


def position_limit(spec: ModelSpec) -> int | None:
    """The most tokens the transformer can take (its position embeddings), or None if unknown.

    :param spec: the model. :return: the limit (RoBERTa-style models lose ``pad_token_id + 1``
        positions to their offset).
    """
    path = spec.transformer_path / "config.json"
    if not path.exists():
        return None
    cfg = _read_json(path)
    positions = cfg.get("max_position_embeddings") if isinstance(cfg, dict) else None
    if not isinstance(positions, int) or positions <= 0:
        return None
    if cfg.get("model_type") in ("roberta", "xlm-roberta", "camembert", "mpnet"):
        positions -= int(cfg.get("pad_token_id") or 1) + 1
    return positions


def write_spec(spec: ModelSpec, folder: str | Path, dim: int) -> None:
    """Write the sentence-transformers description files for ``spec`` into ``folder``.

    The transformer's own files (config, weights, tokenizer) are written by the caller.

    :param spec: what to describe.
    :param folder: target folder (created if needed).
    :param dim: the transformer's hidden size (the pooling input width).
    """
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    reverse = {v: k for k, v in ACTIVATIONS.items()}
    modules: list[dict[str, Any]] = [
        {"idx": 0, "name": "0", "path": "", "type": ST_TYPES["transformer"]},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": ST_TYPES["pooling"]},
    ]
    (root / "1_Pooling").mkdir(exist_ok=True)
    modes = [m.value for m in spec.pooling]
    # `pooling_mode` keeps the order of several modes (sentence-transformers >= 5 reads it first);
    # the legacy booleans let older versions load single-mode models.
    pooling_cfg: dict[str, Any] = {
        "word_embedding_dimension": dim,
        "pooling_mode": modes[0] if len(modes) == 1 else modes,
    }
    for key, mode in _LEGACY_POOLING.items():
        pooling_cfg[key] = mode in modes
    _write_json(root / "1_Pooling" / "config.json", pooling_cfg)
    for i, dense in enumerate(spec.dense, start=2):
        name = f"{i}_Dense"
        modules.append({"idx": i, "name": str(i), "path": name, "type": ST_TYPES["dense"]})
        (root / name).mkdir(exist_ok=True)
        dense_cfg = {
            "in_features": dense.in_features,
            "out_features": dense.out_features,
            "bias": dense.bias,
            "activation_function": reverse[dense.activation],
        }
        _write_json(root / name / "config.json", dense_cfg)
    if spec.normalize:
        i = len(modules)
        modules.append(
            {"idx": i, "name": str(i), "path": f"{i}_Normalize", "type": ST_TYPES["normalize"]}
        )
        (root / f"{i}_Normalize").mkdir(exist_ok=True)
    _write_json(root / "modules.json", modules)
    sbert = {"max_seq_length": spec.max_seq_length, "do_lower_case": spec.do_lower_case}
    _write_json(root / "sentence_bert_config.json", sbert)
    from sentvec._version import __version__

    st_cfg = {
        "__version__": {"sentvec": __version__},
        "prompts": spec.prompts,
        "default_prompt_name": spec.default_prompt_name,
        "similarity_fn_name": spec.similarity,
    }
    _write_json(root / "config_sentence_transformers.json", st_cfg)


def _write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


def spec_to_dict(spec: ModelSpec) -> dict[str, Any]:
    """A JSON-friendly view of a spec (for ``sentvec info``)."""
    d = asdict(spec)
    d["transformer_path"] = str(spec.transformer_path)
    d["pooling"] = [m.value for m in spec.pooling]
    d["dense"] = [
        {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(x).items()}
        for x in spec.dense
    ]
    return d
