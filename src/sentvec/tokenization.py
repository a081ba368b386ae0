"""Tokenization with the `tokenizers` library alone (no torch, no transformers needed)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tokenizers import Tokenizer

from sentvec.errors import BrokenModelError, ModelNotFoundError
from sentvec.extras import import_extra

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
    "added_tokens.json",
)


def copy_tokenizer_files(src: Path, dst: Path) -> None:
    """Copy the tokenizer files that exist in ``src`` into ``dst`` (skips a file onto itself)."""
    for name in TOKENIZER_FILES:
        source, target = src / name, dst / name
        if source.exists() and not (target.exists() and os.path.samefile(source, target)):
            shutil.copyfile(source, target)


class TextTokenizer:
    """A fast tokenizer that tokenizes without truncation, so long texts can be counted,
    cut, or split into windows; special tokens are added afterwards from a learnt template."""

    def __init__(self, tokenizer: Tokenizer, do_lower_case: bool = False) -> None:
        self.pad_id = _pad_id(tokenizer)  # read before padding is switched off
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self.backend = tokenizer
        self.do_lower_case = do_lower_case
        # Learn where content goes between the special tokens ([CLS] x [SEP], <s> x </s>, x </s>).
        probe = tokenizer.encode("a", add_special_tokens=False)
        full = tokenizer.post_process(probe)
        pos = full.ids.index(probe.ids[0])
        self.prefix, self.suffix = full.ids[:pos], full.ids[pos + len(probe.ids) :]
        self.n_special = len(self.prefix) + len(self.suffix)

    @classmethod
    def from_folder(cls, folder: str | Path, do_lower_case: bool = False) -> TextTokenizer:
        """Load ``tokenizer.json``; without it, convert the slow tokenizer files via transformers.

        :param folder: the transformer folder.
        :param do_lower_case: lower-case texts before tokenizing (sentence_bert_config).
        :return: the tokenizer.
        """
        folder = Path(folder)
        file = folder / "tokenizer.json"
        if file.exists():
            try:
                return cls(Tokenizer.from_file(str(file)), do_lower_case)
            except Exception as e:
                raise BrokenModelError(file, f"tokenizer.json cannot be read ({e})") from None
        names = ("vocab.txt", "tokenizer_config.json", "spiece.model", "vocab.json")
        if not any((folder / n).exists() for n in names):
            raise ModelNotFoundError(folder, "no tokenizer files (tokenizer.json or vocab.txt)")
        AutoTokenizer = import_extra("transformers", "torch").AutoTokenizer
        hf = AutoTokenizer.from_pretrained(str(folder), use_fast=True)
        if not hasattr(hf, "backend_tokenizer"):
            raise BrokenModelError(
                folder, "only a slow tokenizer is available; save a tokenizer.json"
            )
        return cls(Tokenizer.from_str(hf.backend_tokenizer.to_str()), do_lower_case)

    def prepare(self, text: str) -> str:
        """Strip and (if the model asks) lower-case, as sentence-transformers does."""
        text = text.strip()
        return text.lower() if self.do_lower_case else text

    def content_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, without special tokens and without truncation."""
        return [
            e.ids
            for e in self.backend.encode_batch_fast(  # the same ids, without offsets
                [self.prepare(t) for t in texts], add_special_tokens=False
            )
        ]

    def finish(self, ids: list[int], limit: int | None) -> list[int]:
        """Cut content ids to fit ``limit`` tokens in all and wrap them in special tokens."""
        if limit is not None:
            ids = ids[: max(limit - self.n_special, 0)]
        return [*self.prefix, *ids, *self.suffix]

    def windows(self, ids: list[int], limit: int, overlap: int) -> list[list[int]]:
        """Split content ids into overlapping windows that each fit ``limit`` tokens."""
        width = max(limit - self.n_special, 1)
        step = width - min(overlap, width // 2)
        starts = range(0, max(len(ids) - width, 0) + step, step)
        return [self.finish(ids[s : s + width], None) for s in starts if s < max(len(ids), 1)]


def _pad_id(tokenizer: Tokenizer) -> int:
    padding = tokenizer.padding
    if padding and padding.get("pad_id") is not None:
        return int(padding["pad_id"])
    for token in ("[PAD]", "<pad>", "<|pad|>", "<|endoftext|>", "</s>"):
        idx = tokenizer.token_to_id(token)
        if idx is not None:
            return idx
    return 0
