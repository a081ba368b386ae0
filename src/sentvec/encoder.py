"""The Encoder: load a model, encode texts into vectors, save it back.

Nothing about training, hubs or export lives here; see ``sentvec.train``, ``sentvec.hub``
and ``sentvec.backends``.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from sentvec import hub
from sentvec.backends import Backend, open_model
from sentvec.batching import pad, plan_batches
from sentvec.errors import (
    InvalidChoiceError,
    InvalidTextError,
    SentvecError,
    TextTooLongError,
    TextTypeError,
)
from sentvec.model_format import ModelSpec, write_spec
from sentvec.pooling import PoolingMode
from sentvec.tokenization import TextTokenizer, copy_tokenizer_files

if TYPE_CHECKING:
    from sentvec.modules import SentenceModel

LongText = Literal["truncate", "error", "chunk"]
LONG_TEXT_POLICIES = ("truncate", "error", "chunk")
Role = Literal["query", "document"]
ROLES = ("query", "document")
PROGRESS_MIN_TEXTS = 1000  # show a progress bar by default from this many texts on
LANE_MIN_TOKENS = 64  # a lone batch is cut across lanes from this many tokens per lane on


class Encoder:
    """A sentence embedder: text in, one fixed-size float32 vector out.

    >>> enc = sentvec.load()                      # the packaged all-MiniLM-L6-v2
    >>> enc.encode(["How do I reset my password?"]).shape
    (1, 384)
    """

    def __init__(
        self, spec: ModelSpec, tokenizer: TextTokenizer, backend: Backend, name: str = ""
    ) -> None:
        self.spec = spec
        self.tokenizer = tokenizer
        self.backend = backend
        self.name = name or str(spec.transformer_path)
        self._pool: Any = None  # threads that feed the backend's lanes, made on first use
        self._pool_size = 0

    @classmethod
    def load(
        cls,
        model: str | os.PathLike[str] | None = None,
        *,
        backend: str = "torch",
        pooling: str | Sequence[str] | None = None,
        normalize: bool | None = None,
        max_seq_length: int | None = None,
        revision: str | None = None,
        **backend_options: Any,
    ) -> Encoder:
        """Load a model: the packaged default, a local folder, or a Hugging Face hub id.

        :param model: None for all-MiniLM-L6-v2; a plain Hugging Face folder (mean pooling);
            a sentence-transformers folder; or a hub id such as ``BAAI/bge-small-en-v1.5``.
        :param backend: ``torch`` (default), or another name from :data:`sentvec.backends.BACKENDS`;
            a static folder (``sentvec distill``) always loads with ``static``.
        :param pooling: override the pooling mode(s): mean, cls, max, mean_sqrt_len_tokens,
            weightedmean, lasttoken.
        :param normalize: override L2 normalisation of the output.
        :param max_seq_length: override the longest input in tokens.
        :param revision: hub revision, for hub ids.
        :param backend_options: passed to the backend (torch: ``device``, ``trust_remote_code``;
            onnx: ``threads``, ``lanes``, ``optimization``, ``cache_dir``).
        :return: the encoder.
        """
        folder = hub.resolve(model, revision=revision)
        name = hub.DEFAULT_MODEL if model is None else os.fspath(model)
        parts = open_model(folder, backend, pooling, normalize, max_seq_length, **backend_options)
        return cls(*parts, name)

    @property
    def dim(self) -> int:
        """Length of each output vector."""
        return self.backend.dim

    @property
    def max_seq_length(self) -> int:
        """Longest input in tokens (special tokens included); longer texts follow ``long_text``."""
        return int(self.spec.max_seq_length or 512)

    @property
    def model(self) -> SentenceModel:
        """The torch module (torch backend only), for training and export."""
        model = getattr(self.backend, "model", None)
        if model is None:
            raise InvalidChoiceError("backend for this operation", self.backend.name, ["torch"])
        return model

    @property
    def fingerprint(self) -> str:
        """A short id of the weights and every setting that changes the vectors.

        torch and onnx (fp32) give the same vectors to ~1e-6 and share it, so a collection
        indexed with one is searched with the other; onnx-int8 vectors differ by ~1e-2 and get
        their own (with the quantization scheme's version)."""
        parts: list[Any] = [self.name, self.spec.settings()]
        quantization = getattr(self.backend, "quantization", None)
        if quantization is not None:
            parts.append(quantization)
        h = hashlib.sha256(json.dumps(parts, sort_keys=True).encode())
        folder = self.spec.transformer_path
        for file in sorted([*folder.glob("*.safetensors"), *folder.glob("model*.onnx")]):
            h.update(f"{file.name}:{file.stat().st_size}".encode())
            with open(file, "rb") as f:
                h.update(f.read(1 << 20))
        return h.hexdigest()[:16]

    def encode(
        self,
        texts: str | Iterable[str],
        *,
        batch_size: int = 32,
        prompt: str | None = None,
        role: Role | None = None,
        normalize: bool = False,
        long_text: LongText = "truncate",
        max_tokens: int | None = None,
        show_progress: bool | None = None,
    ) -> np.ndarray:
        """Embed texts.

        :param texts: the texts (a single string counts as a list of one).
        :param batch_size: most texts per forward pass.
        :param prompt: a prompt name from the model config (e.g. ``"query"``) or literal text
            put before every text; default: the model's default prompt, if any.
        :param role: ``"query"`` or ``"document"``: what the texts are, for models that embed
            the two differently (E5's ``query: ``/``passage: ``, BGE's query instruction). The
            model's prompt of that name if it has one, else its default prompt. The one place
            sentvec decides a search's prompts; not together with ``prompt``.
        :param normalize: L2-normalise the output even if the model does not.
        :param long_text: texts over ``max_seq_length`` tokens are ``"truncate"``-d (one warning
            counts them), refused (``"error"``), or split into overlapping windows whose vectors
            are averaged, weighted by length (``"chunk"``).
        :param max_tokens: if set, cap each batch at this many padded tokens (rows x longest);
            default: the backend's preferred budget (onnx backends), else none.
        :param show_progress: progress bar; default on from 1,000 texts.
        :return: float32 array (len(texts), dim), in input order; the vector of a text does not
            depend on the batch size or on the other texts.
        """
        items = _check_texts(texts)
        if role is not None:
            if prompt is not None:
                raise SentvecError(
                    f"pass prompt= or role=, not both (got prompt={prompt!r}, role={role!r})."
                )
            prompt = self.role_prompt(role)
        if long_text not in LONG_TEXT_POLICIES:
            raise InvalidChoiceError("long_text policy", long_text, LONG_TEXT_POLICIES)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        prefix = self._prompt(prompt)
        if prefix:
            items = [prefix + t for t in items]
        seqs, owners, weights = self._sequences(items, long_text)
        if max_tokens is None:
            max_tokens = getattr(self.backend, "max_tokens", None)
        vectors = self._run(seqs, batch_size, max_tokens, show_progress)
        if len(seqs) != len(items):  # chunked: average each text's windows, weighted by length
            out = np.zeros((len(items), vectors.shape[1]), dtype=np.float64)
            np.add.at(out, owners, vectors * weights[:, None])
            out /= np.bincount(owners, weights=weights, minlength=len(items))[:, None]
            vectors = out.astype(np.float32)
            if self.spec.normalize:
                normalize = True
        if normalize:
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def role_prompt(self, role: str) -> str | None:
        """The prompt name the model uses for a role (``query``/``document``): the model's
        prompt of that name if it has one, else None (its default prompt applies).

        :raises InvalidChoiceError: for another role.
        """
        if role not in ROLES:
            raise InvalidChoiceError("role", role, ROLES)
        return role if role in self.spec.prompts else None

    def role_prefix(self, role: str | None) -> str:
        """The literal text put before a text of that role (None: the model's default prompt;
        empty for most models)."""
        return self._prompt(self.role_prompt(role) if role else None)

    def tokenize(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Token ids for training: truncated to ``max_seq_length``, right-padded, input order.

        :param texts: the texts.
        :return: ``input_ids``, ``attention_mask``, ``token_type_ids``, each int64 (B, T).
        """
        ids = [
            self.tokenizer.finish(x, self.max_seq_length)
            for x in self.tokenizer.content_ids(_check_texts(texts))
        ]
        return _features(ids, self.tokenizer.pad_id)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Score matrix (len(a), len(b)) with the model's similarity function (default cosine)."""
        from sentvec.similarity import similarity_matrix

        return similarity_matrix(a, b, self.spec.similarity)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write a sentence-transformers-compatible folder (safetensors only, never pickle).

        :param path: target folder.
        :return: the folder.
        """
        from safetensors.torch import save_file

        out = Path(path)
        own_format = getattr(self.backend, "save", None)  # the static backend writes its own
        if own_format is not None:
            return Path(own_format(out, self.spec.similarity))
        out.mkdir(parents=True, exist_ok=True)
        model = self.model
        model.transformer.save_pretrained(str(out), safe_serialization=True)
        copy_tokenizer_files(self.spec.transformer_path, out)
        if not (out / "tokenizer.json").exists():  # converted from slow tokenizer files
            self.tokenizer.backend.save(str(out / "tokenizer.json"))
        write_spec(self.spec, out, dim=model.hidden_size)
        for i, layer in enumerate(model.dense_layers(), start=2):
            state = {f"linear.{k}": v.contiguous() for k, v in layer.linear.state_dict().items()}
            save_file(state, str(out / f"{i}_Dense" / "model.safetensors"))
        return out

    # -- internals ---------------------------------------------------------------------------

    def _prompt(self, prompt: str | None) -> str:
        if prompt is None:
            name = self.spec.default_prompt_name
            return self.spec.prompts.get(name, "") if name else ""
        return self.spec.prompts.get(prompt, prompt)

    def _sequences(
        self, texts: list[str], long_text: str
    ) -> tuple[list[list[int]], np.ndarray, np.ndarray]:
        """Tokenize; apply the long-text policy. Returns sequences, owner text, weight."""
        limit = self.max_seq_length
        tok = self.tokenizer
        content = tok.content_ids(texts)
        over = [i for i, ids in enumerate(content) if len(ids) + tok.n_special > limit]
        if over and long_text == "error":
            raise TextTooLongError(over, [len(content[i]) + tok.n_special for i in over], limit)
        if not over or long_text == "truncate":
            if over:
                warnings.warn(
                    f"{len(over)} of {len(texts)} texts were longer than {limit} tokens and were "
                    "truncated; pass long_text='chunk' to embed them whole or 'error' to refuse.",
                    stacklevel=3,
                )
            seqs = [tok.finish(ids, limit) for ids in content]
            return seqs, np.arange(len(seqs)), np.ones(len(seqs))
        seqs, owners, weights = [], [], []
        for i, ids in enumerate(content):
            for window in tok.windows(ids, limit, overlap=max(limit // 8, 1)):
                seqs.append(window)
                owners.append(i)
                weights.append(len(window) - tok.n_special)
        return seqs, np.asarray(owners), np.asarray(weights, dtype=np.float64)

    def _run(
        self,
        seqs: list[list[int]],
        batch_size: int,
        max_tokens: int | None,
        show_progress: bool | None,
    ) -> np.ndarray:
        """Embed token sequences in length-sorted batches; return them in input order.

        A backend with ``lanes`` > 1 (onnx) runs that many batches at once, each on its own
        session; fewer batches than lanes are cut into smaller ones so every lane has work,
        unless the texts are too few to pay for it (a query or two stays on one session)."""
        from collections import deque
        from concurrent.futures import Future, ThreadPoolExecutor

        from tqdm.auto import tqdm

        if show_progress is None:
            show_progress = len(seqs) >= PROGRESS_MIN_TEXTS
        out = np.empty((len(seqs), self.dim), dtype=np.float32)
        batches = plan_batches([len(s) for s in seqs], batch_size, max_tokens)
        lanes = int(getattr(self.backend, "lanes", 1))
        if lanes > 1 and len(batches) < lanes and sum(map(len, seqs)) >= LANE_MIN_TOKENS * lanes:
            batches = [part for b in batches for part in np.array_split(b, lanes) if len(part)]

        def embed(idx: np.ndarray) -> np.ndarray:
            feats = _features([seqs[i] for i in idx], self.tokenizer.pad_id)
            return self.backend.embed(
                feats["input_ids"], feats["attention_mask"], feats["token_type_ids"]
            )

        with tqdm(total=len(seqs), unit="text", desc="encode", disable=not show_progress) as bar:
            if lanes == 1 or len(batches) == 1:
                for idx in batches:
                    out[idx] = embed(idx)
                    bar.update(len(idx))
                return out
            if self._pool_size != lanes:
                self._pool = ThreadPoolExecutor(lanes, thread_name_prefix="sentvec-lane")
                self._pool_size = lanes
            running: deque[tuple[np.ndarray, Future[np.ndarray]]] = deque()
            try:
                for idx in batches:  # at most two batches per lane in flight: bounded memory
                    running.append((idx, self._pool.submit(embed, idx)))
                    if len(running) >= 2 * lanes:
                        done, future = running.popleft()
                        out[done] = future.result()
                        bar.update(len(done))
                while running:
                    done, future = running.popleft()
                    out[done] = future.result()
                    bar.update(len(done))
            finally:
                for _, future in running:  # an error (or Ctrl-C): drop what has not started
                    future.cancel()
        return out

    def __repr__(self) -> str:
        pooling = "+".join(m.value for m in self.spec.pooling)
        return (
            f"Encoder({self.name!r}, dim={self.dim}, pooling={pooling}, "
            f"normalize={self.spec.normalize}, max_seq_length={self.max_seq_length}, "
            f"backend={self.backend.name})"
        )


def load(model: str | os.PathLike[str] | None = None, **kwargs: Any) -> Encoder:
    """Load an :class:`Encoder`; see :meth:`Encoder.load` for the arguments."""
    return Encoder.load(model, **kwargs)


def _check_texts(texts: str | Iterable[str]) -> list[str]:
    if isinstance(texts, str):
        return [texts]
    if texts is None or isinstance(texts, (bytes, dict)) or not isinstance(texts, Iterable):
        raise TextTypeError(-1, texts)
    items = list(texts)
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise TextTypeError(i, t)
        if not t.isascii():
            try:
                t.encode("utf-8")
            except UnicodeEncodeError as e:
                raise InvalidTextError(i, e.start, t[e.start]) from None
    return items


def _features(ids: list[list[int]], pad_id: int) -> dict[str, np.ndarray]:
    input_ids = pad(ids, pad_id)  # (B, T)
    mask = pad([[1] * len(x) for x in ids], 0)  # (B, T)
    return {
        "input_ids": input_ids,
        "attention_mask": mask,
        "token_type_ids": np.zeros_like(input_ids),
    }


__all__ = ["LONG_TEXT_POLICIES", "ROLES", "Encoder", "PoolingMode", "Role", "load"]
