"""The CrossEncoder: load a reranker, score (query, document) pairs, rank documents, save.

A cross-encoder reads the query and the document together, through every layer, and gives one
score per pair: slower than comparing two vectors, and more exact. It loads
sentence-transformers ``CrossEncoder`` folders and plain Hugging Face sequence-classification
folders, and gives the same scores as sentence-transformers (tests/test_cross.py).

>>> ce = sentvec.load_cross("cross-encoder/ms-marco-MiniLM-L6-v2")
>>> ce.predict([("How do I reset my password?", "Open Settings, then Security ...")])
array([0.93], dtype=float32)
>>> ce.rank("How do I reset my password?", docs, k=3)
[Ranked(index=4, score=0.93, text='Open Settings ...'), ...]
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sentvec import hub
from sentvec.batching import plan_batches
from sentvec.cross.config import (
    ACTIVATIONS,
    FUNCTIONS,
    CrossSpec,
    activation_name,
    read_cross_spec,
    softmax,
    write_cross_config,
)
from sentvec.cross.pairs import Pair, PairTokenizer, check_pairs
from sentvec.errors import InvalidChoiceError, SentvecError
from sentvec.tokenization import TextTokenizer, copy_tokenizer_files

CROSS_BACKENDS = ("torch", "onnx", "onnx-int8")


@dataclass
class Ranked:
    """One document of :meth:`CrossEncoder.rank`: its index in the input, score and text."""

    index: int
    score: float
    text: str


class CrossEncoder:
    """Scores (query, document) pairs with one forward pass per pair.

    :param spec: the folder's description (labels, activation, longest input).
    :param tokenizer: the pair tokenizer.
    :param backend: runs the network (``logits(input_ids, attention_mask, token_type_ids)``).
    :param name: how the model is called (its path or hub id).
    """

    def __init__(
        self, spec: CrossSpec, tokenizer: PairTokenizer, backend: Any, name: str = ""
    ) -> None:
        self.spec = spec
        self.tokenizer = tokenizer
        self.backend = backend
        self.name = name or str(spec.path)

    @classmethod
    def load(
        cls,
        model: str | os.PathLike[str],
        *,
        backend: str = "torch",
        activation: str | None = None,
        num_labels: int | None = None,
        max_seq_length: int | None = None,
        revision: str | None = None,
        **backend_options: Any,
    ) -> CrossEncoder:
        """Load a cross-encoder: a local folder or a Hugging Face hub id.

        :param model: a sentence-transformers CrossEncoder folder, a plain Hugging Face
            sequence-classification folder, or (with ``num_labels``) any encoder folder, which
            gets a new, randomly initialised head to train.
        :param backend: ``torch`` (default), ``onnx`` or ``onnx-int8`` (torch-free once exported).
        :param activation: override the folder's activation: sigmoid, identity, tanh, softmax
            or relu (default: the folder's; sigmoid for one label, identity for more).
        :param num_labels: labels of a new head (torch only; default: the folder's).
        :param max_seq_length: override the longest pair in tokens.
        :param revision: hub revision, for hub ids.
        :param backend_options: torch: ``device``, ``trust_remote_code``; onnx: ``threads``,
            ``lanes``, ``cache_dir``.
        :return: the cross-encoder.
        """
        if backend not in CROSS_BACKENDS:
            raise InvalidChoiceError("cross-encoder backend", backend, CROSS_BACKENDS)
        folder = hub.resolve(model, revision=revision)
        spec = read_cross_spec(folder, activation, max_seq_length)
        if num_labels is not None:
            if backend != "torch":
                raise SentvecError("num_labels= makes a new head: load it with backend='torch'.")
            if activation is None:
                spec.activation = "sigmoid" if num_labels == 1 else "identity"
            spec.num_labels = num_labels
        tokenizer = PairTokenizer(TextTokenizer.from_folder(folder, spec.do_lower_case))
        if backend == "torch":
            from sentvec.cross.torch_backend import TorchCrossBackend, build_cross_model

            device = backend_options.pop("device", "cpu")
            net = build_cross_model(folder, num_labels, **backend_options)
            runner: Any = TorchCrossBackend(net, device)
            spec.num_labels = int(net.transformer.config.num_labels)
        else:
            from sentvec.cross.onnx import CrossOnnxBackend

            runner = CrossOnnxBackend.for_folder(spec, backend, **backend_options)
        return cls(spec, tokenizer, runner, os.fspath(model))

    @property
    def num_labels(self) -> int:
        """Labels of the head (1 for a reranker: one relevance score per pair)."""
        return self.spec.num_labels

    @property
    def max_seq_length(self) -> int:
        """Longest pair in tokens (special tokens included); longer pairs lose the end of the
        document first (see :meth:`PairTokenizer.fit`)."""
        return self.spec.max_seq_length

    @property
    def activation(self) -> str:
        """The function applied to the logits by :meth:`predict`."""
        return self.spec.activation

    @property
    def model(self) -> Any:
        """The torch module (torch backend only), for training and export."""
        model = getattr(self.backend, "model", None)
        if model is None:
            raise InvalidChoiceError("backend for this operation", self.backend.name, ["torch"])
        return model

    @property
    def fingerprint(self) -> str:
        """A short id of the weights and the settings that change the scores."""
        parts = [self.name, self.num_labels, self.activation, self.max_seq_length]
        parts.append(getattr(self.backend, "quantization", None))
        h = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode())
        for file in sorted([*self.spec.path.glob("*.safetensors"), *self.spec.path.glob("*.onnx")]):
            h.update(f"{file.name}:{file.stat().st_size}".encode())
        return h.hexdigest()[:16]

    def predict(
        self,
        pairs: Sequence[Pair] | Pair,
        *,
        batch_size: int = 32,
        max_tokens: int | None = None,
        activation: str | None = None,
        apply_softmax: bool = False,
        show_progress: bool | None = None,
    ) -> np.ndarray:
        """Score pairs.

        :param pairs: (query, document) pairs (a single pair counts as a list of one).
        :param batch_size: most pairs per forward pass (sorted by length, so each pads little).
        :param max_tokens: if set, most padded tokens per pass (rows x longest row);
            default: the backend's own budget (onnx), else none.
        :param activation: override the model's activation for this call.
        :param apply_softmax: with several labels, softmax over them (after the activation).
        :param show_progress: progress bar; default on from 1,000 pairs.
        :return: float32 (N,) for a one-label model, else (N, labels), in input order; a pair's
            score does not depend on the batch.
        """
        items = check_pairs(pairs)
        fn = FUNCTIONS[activation_name(activation) if activation else self.activation]
        if not items:
            shape = (0,) if self.num_labels == 1 else (0, self.num_labels)
            return np.zeros(shape, dtype=np.float32)
        logits = self.logits(items, batch_size, max_tokens, show_progress)  # (N, L)
        scores = fn(logits)
        if self.num_labels == 1:
            scores = scores[:, 0]
        elif apply_softmax:
            scores = softmax(scores)
        return np.asarray(scores, dtype=np.float32)

    def logits(
        self,
        pairs: Sequence[Pair],
        batch_size: int = 32,
        max_tokens: int | None = None,
        show_progress: bool | None = None,
    ) -> np.ndarray:
        """Raw scores of the head, before any activation: float32 (N, labels), input order."""
        from tqdm.auto import tqdm

        if batch_size < 1:
            raise SentvecError(f"batch_size must be >= 1, got {batch_size}. Fix: pass 32.")
        ids, types = self.tokenizer.encode(pairs, self.max_seq_length)
        if max_tokens is None:
            max_tokens = getattr(self.backend, "max_tokens", None)
        out = np.empty((len(ids), self.num_labels), dtype=np.float32)
        batches = plan_batches([len(x) for x in ids], batch_size, max_tokens)
        if show_progress is None:
            show_progress = len(ids) >= 1000
        with tqdm(total=len(ids), unit="pair", desc="rerank", disable=not show_progress) as bar:
            for idx in batches:
                feats = self.tokenizer.features([ids[i] for i in idx], [types[i] for i in idx])
                out[idx] = self.backend.logits(
                    feats["input_ids"], feats["attention_mask"], feats["token_type_ids"]
                )
                bar.update(len(idx))
        return out

    def rank(
        self,
        query: str,
        documents: Sequence[str],
        k: int | None = None,
        *,
        batch_size: int = 32,
    ) -> list[Ranked]:
        """Order documents by their score with the query, best first.

        :param query: the query.
        :param documents: the candidates.
        :param k: keep the best k (None: all).
        :param batch_size: pairs per forward pass.
        :return: the documents with their input index and score.
        """
        if self.num_labels != 1:
            raise SentvecError(
                f"rank() needs a one-label model (a relevance score); this one has "
                f"{self.num_labels} labels. Fix: use predict() and pick a label."
            )
        if not isinstance(query, str):
            raise SentvecError(f"the query is {type(query).__name__}, not a string.")
        docs = list(documents)
        scores = self.predict([(query, d) for d in docs], batch_size=batch_size)
        order = np.argsort(-scores, kind="stable")
        if k is not None:
            order = order[: max(k, 0)]
        return [Ranked(int(i), float(scores[i]), docs[i]) for i in order]

    def tokenize(self, pairs: Sequence[Pair]) -> dict[str, np.ndarray]:
        """Token ids of pairs for training: cut to ``max_seq_length``, right-padded.

        :return: ``input_ids``, ``attention_mask``, ``token_type_ids``, each int64 (B, T).
        """
        ids, types = self.tokenizer.encode(check_pairs(list(pairs)), self.max_seq_length)
        return self.tokenizer.features(ids, types)

    def collate(self, examples: Sequence[Any]) -> Any:
        """The trainer's hook: examples become a :class:`~sentvec.cross.batch.PairBatch`
        whose losses build and score their own pairs."""
        from sentvec.cross.batch import PairBatch

        return PairBatch.from_examples(examples, self)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write a sentence-transformers CrossEncoder folder (safetensors, never pickle), which
        sentence-transformers loads back to the same scores.

        :param path: target folder.
        :return: the folder.
        """
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        net = self.model.transformer
        net.config.sentence_transformers = {"activation_fn": ACTIVATIONS[self.activation]}
        net.save_pretrained(str(out), safe_serialization=True)
        copy_tokenizer_files(self.spec.path, out)
        if not (out / "tokenizer.json").exists():
            self.tokenizer.text.backend.save(str(out / "tokenizer.json"))
        write_cross_config(out, self.activation, self.max_seq_length)
        return out

    def __repr__(self) -> str:
        return (
            f"CrossEncoder({self.name!r}, labels={self.num_labels}, "
            f"activation={self.activation}, max_seq_length={self.max_seq_length}, "
            f"backend={self.backend.name})"
        )


def load_cross(model: str | os.PathLike[str], **kwargs: Any) -> CrossEncoder:
    """Load a :class:`CrossEncoder`; see :meth:`CrossEncoder.load` for the arguments."""
    return CrossEncoder.load(model, **kwargs)


__all__ = ["CROSS_BACKENDS", "CrossEncoder", "Ranked", "load_cross"]
