"""The ``static`` backend: a distilled static model (numpy + tokenizers; no torch needed).

A sentence vector is the mean of one row per token, so there is no network to run: the
encoder's padded ids are flattened back to each text's tokens and the rows summed per text.
For training, :attr:`StaticBackend.model` is a torch ``nn.Module`` over the same weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sentvec.backends.static.model import StaticModel, static_module_dir
from sentvec.errors import ModelNotFoundError
from sentvec.model_format import ModelSpec
from sentvec.pooling import PoolingMode
from sentvec.tokenization import TextTokenizer

if TYPE_CHECKING:
    from sentvec.backends.static.torch_module import StaticEmbeddingBag

NO_LIMIT = 1_000_000  # a static model reads texts of any length; sentence-transformers: inf


class StaticBackend:
    """Embeds padded token ids with a :class:`~sentvec.backends.static.model.StaticModel`."""

    name = "static"
    max_tokens = 1 << 16  # padded tokens per batch: big batches, the cost is per token

    def __init__(self, static: StaticModel) -> None:
        self.static = static
        self.dim = static.dim
        self._module: StaticEmbeddingBag | None = None

    @property
    def model(self) -> StaticEmbeddingBag:
        """A torch module over the same weights, for :class:`sentvec.train.Trainer` (built on
        first use; needs torch). Updates made by training show in :meth:`embed` at once."""
        if self._module is None:
            from sentvec.backends.static.torch_module import StaticEmbeddingBag

            self._module = StaticEmbeddingBag(self.static.embeddings, self.static.normalize)
        return self._module

    def embed(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray
    ) -> np.ndarray:
        """:param input_ids: (B, T) int64. :param attention_mask: (B, T) 0/1.
        :param token_type_ids: unused. :return: (B, D) float32, the mean of each text's rows."""
        if self._module is not None:  # a training run may have moved or replaced the weights
            self.static.embeddings = self._module.numpy_weights()
        keep = attention_mask.astype(bool)
        return self.static.pool_flat(input_ids[keep], keep.sum(axis=1))

    def save(self, path: str | Path, similarity: str = "cosine") -> Path:
        """Write the sentence-transformers StaticEmbedding folder. :param path: target.
        :param similarity: similarity function to record. :return: the folder."""
        if self._module is not None:
            self.static.embeddings = self._module.numpy_weights()
        return self.static.save(path, similarity)


class StaticTokenizer(TextTokenizer):
    """Tokenizes as sentence-transformers' StaticEmbedding does: no special tokens, no
    stripping (the tokenizer's own normaliser does the rest)."""

    def __init__(self, static: StaticModel) -> None:
        super().__init__(static.tokenizer, do_lower_case=False)
        self.prefix, self.suffix, self.n_special = [], [], 0

    def prepare(self, text: str) -> str:
        """The text as it is."""
        return text


def load_static(
    folder: Path, normalize: bool | None = None
) -> tuple[ModelSpec, TextTokenizer, StaticBackend]:
    """The encoder's parts for a static folder.

    :param folder: a sentence-transformers folder with a StaticEmbedding module.
    :param normalize: override the folder's normalisation.
    :return: the spec, the tokenizer and the backend.
    :raises ModelNotFoundError: the folder is not a static model.
    """
    module = static_module_dir(folder)
    if module is None:
        raise ModelNotFoundError(
            folder,
            "backend 'static' needs a static model folder (modules.json with a StaticEmbedding)",
            f"distill one first: sentvec distill {folder} --out STATIC_DIR",
        )
    static = StaticModel.load(folder)
    if normalize is not None:
        static.normalize = normalize
    spec = ModelSpec(
        transformer_path=module,
        pooling=(PoolingMode.MEAN,),
        normalize=static.normalize,
        max_seq_length=NO_LIMIT,
        similarity=_similarity(folder),
    )
    return spec, StaticTokenizer(static), StaticBackend(static)


def _similarity(folder: Path) -> str:
    import json

    file = folder / "config_sentence_transformers.json"
    if not file.exists():
        return "cosine"
    cfg: dict[str, Any] = json.loads(file.read_text(encoding="utf8"))
    sim = cfg.get("similarity_fn_name") or "cosine"
    return {"dot_product": "dot", "cos_sim": "cosine"}.get(sim, sim)
