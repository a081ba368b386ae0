"""The static model on disk and in memory: one vector per token id, a sentence is their mean.

numpy, safetensors and tokenizers only (no torch, no onnxruntime), so ``sentvec.load`` of a
static folder starts in milliseconds. The folder is a sentence-transformers folder whose only
module is a ``StaticEmbedding``::

    DIR/modules.json                      [StaticEmbedding (+ Normalize)]
    DIR/config_sentence_transformers.json similarity function, sentvec version
    DIR/static_config.json                how it was made (teacher, dims, weighting)
    DIR/0_StaticEmbedding/model.safetensors   "embedding.weight": (vocab, dim) float32
    DIR/0_StaticEmbedding/tokenizer.json      no padding, no truncation

Token weights (frequency weighting) are folded into the rows, so the mean of the rows is the
sentence vector, exactly what sentence-transformers' ``nn.EmbeddingBag(mode="mean")`` computes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from sentvec.errors import BrokenModelError, ModelNotFoundError

STATIC_TYPE = "sentence_transformers.models.StaticEmbedding"
NORMALIZE_TYPE = "sentence_transformers.models.Normalize"
MODULE_DIR = "0_StaticEmbedding"
WEIGHTS_FILE = "model.safetensors"
WEIGHTS_KEY = "embedding.weight"
CONFIG_FILE = "static_config.json"


@dataclass
class StaticModel:
    """A static embedder: ``embeddings[token_id]`` rows averaged over a text's tokens.

    :param embeddings: (vocab, dim) float32, token weights already folded in.
    :param tokenizer: the teacher's fast tokenizer (special tokens are never added).
    :param normalize: L2-normalise each sentence vector.
    :param info: provenance written to ``static_config.json`` (teacher, dims, weighting).
    """

    embeddings: np.ndarray
    tokenizer: Tokenizer
    normalize: bool = True
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.embeddings = np.ascontiguousarray(self.embeddings, dtype=np.float32)
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()

    @property
    def dim(self) -> int:
        """Length of each vector."""
        return int(self.embeddings.shape[1])

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, without special tokens and without truncation (as
        sentence-transformers' StaticEmbedding tokenizes)."""
        encodings = self.tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)
        return [e.ids for e in encodings]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts (no batching needed: the cost is one gather and one sum per token).

        :param texts: the texts.
        :return: float32 (len(texts), dim).
        """
        return self.pool(self.token_ids(texts))

    def pool(self, ids: Sequence[Sequence[int]]) -> np.ndarray:
        """Mean of the token rows of each id list (zeros for an empty one), then normalise.

        Each row is summed on its own, in token order, so a text's vector never depends on
        the other texts of the batch.

        :param ids: token ids per text.
        :return: float32 (len(ids), dim).
        """
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter((t for x in ids for t in x), dtype=np.int64, count=int(lengths.sum()))
        return self.pool_flat(flat, lengths)

    def pool_flat(self, flat: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """:func:`pool` on concatenated ids. :param flat: (N,) ids of every text in order.
        :param lengths: (B,) tokens per text. :return: float32 (B, dim)."""
        out = np.zeros((len(lengths), self.dim), dtype=np.float32)
        full = lengths > 0
        if full.any():
            rows = self.embeddings[flat]  # (N, D)
            starts = (np.cumsum(lengths) - lengths)[full]
            out[full] = np.add.reduceat(rows, starts, axis=0) / lengths[full, None]
        if self.normalize:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def save(self, path: str | Path, similarity: str = "cosine") -> Path:
        """Write a sentence-transformers StaticEmbedding folder.

        :param path: target folder (created).
        :param similarity: the similarity function to record.
        :return: the folder.
        """
        from safetensors.numpy import save_file

        from sentvec._version import __version__

        out = Path(path)
        (out / MODULE_DIR).mkdir(parents=True, exist_ok=True)
        save_file({WEIGHTS_KEY: self.embeddings}, str(out / MODULE_DIR / WEIGHTS_FILE))
        self.tokenizer.save(str(out / MODULE_DIR / "tokenizer.json"))
        modules: list[dict[str, Any]] = [
            {"idx": 0, "name": "0", "path": MODULE_DIR, "type": STATIC_TYPE}
        ]
        if self.normalize:
            modules.append({"idx": 1, "name": "1", "path": "1_Normalize", "type": NORMALIZE_TYPE})
            (out / "1_Normalize").mkdir(exist_ok=True)
        _write_json(out / "modules.json", modules)
        st_cfg = {
            "__version__": {"sentvec": __version__},
            "prompts": {},
            "default_prompt_name": None,
            "similarity_fn_name": similarity,
        }
        _write_json(out / "config_sentence_transformers.json", st_cfg)
        _write_json(out / CONFIG_FILE, {"dim": self.dim, **self.info})
        return out

    @classmethod
    def load(cls, path: str | Path) -> StaticModel:
        """Read a static folder (ours, or any sentence-transformers StaticEmbedding folder).

        :param path: the folder.
        :return: the model.
        :raises ModelNotFoundError: not a static folder, or a file is missing.
        :raises BrokenModelError: the weights cannot be read.
        """
        from safetensors.numpy import load_file

        root = Path(path)
        module = static_module_dir(root)
        if module is None:
            raise ModelNotFoundError(
                root,
                "not a static model folder (modules.json has no StaticEmbedding)",
                "distill one with `sentvec distill MODEL --out DIR`",
            )
        for name in (WEIGHTS_FILE, "tokenizer.json"):
            if not (module / name).exists():
                raise ModelNotFoundError(module, f"{name} is missing")
        try:
            weights = load_file(str(module / WEIGHTS_FILE))
            tokenizer = Tokenizer.from_file(str(module / "tokenizer.json"))
        except Exception as e:
            raise BrokenModelError(module, f"cannot read the static embedding ({e})") from None
        if WEIGHTS_KEY in weights:
            matrix = weights[WEIGHTS_KEY]
        elif "embeddings" in weights:  # a model2vec folder: fold its mapping and weights in
            matrix = weights["embeddings"]
            if "mapping" in weights:
                matrix = matrix[weights["mapping"].astype(np.int64)]
            if "weights" in weights:
                matrix = matrix.astype(np.float32) * weights["weights"][:, None]
        else:
            raise BrokenModelError(module, f"{WEIGHTS_FILE} has no {WEIGHTS_KEY!r} tensor")
        modules = json.loads((root / "modules.json").read_text(encoding="utf8"))
        normalize = any(str(m.get("type", "")).endswith("Normalize") for m in modules)
        info: dict[str, Any] = {}
        if (root / CONFIG_FILE).exists():
            info = json.loads((root / CONFIG_FILE).read_text(encoding="utf8"))
            info.pop("dim", None)
        return cls(matrix.astype(np.float32), tokenizer, normalize, info)


def static_module_dir(folder: str | Path) -> Path | None:
    """The StaticEmbedding module folder of a sentence-transformers folder, or None.

    :param folder: a model folder.
    :return: the module's folder, or None when ``folder`` is not a static model.
    """
    file = Path(folder) / "modules.json"
    if not file.is_file():
        return None
    try:
        modules = json.loads(file.read_text(encoding="utf8"))
    except (json.JSONDecodeError, OSError):
        return None
    for m in modules if isinstance(modules, list) else []:
        if isinstance(m, dict) and str(m.get("type", "")).endswith("StaticEmbedding"):
            return Path(folder) / str(m.get("path", ""))
    return None


def _write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
