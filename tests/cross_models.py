"""Tiny cross-encoder folders for the cross-encoder tests: a 2-layer, 32-wide
BertForSequenceClassification (or RoBERTa) with a real tokenizer, built in milliseconds."""

from __future__ import annotations

import json
from pathlib import Path

PAIRS = [
    ("a man is eating food.", "a man is eating a piece of bread."),
    ("how do i reset my password?", "where can i download my invoices?"),
    ("the cat sits on the mat.", "a monkey is playing drums."),
    ("a woman is playing violin.", "someone in a gorilla costume is playing a set of drums."),
    ("weather is sunny and warm.", "the stock market fell today."),
    ("zebras giraffes lions elephants", "a man is riding a white horse on an enclosed ground."),
    ("numbers 123 456 and punctuation?!", "two men pushed carts through the woods."),
]


def make_cross_folder(
    folder: Path,
    num_labels: int = 1,
    activation: str | None = None,
    arch: str = "bert",
    seed: int = 0,
    init_range: float = 0.3,
) -> Path:
    """Write a plain Hugging Face sequence-classification folder; with ``activation`` (a
    dotted torch path) set in config.json as sentence-transformers v4+ stores it."""
    import sys

    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import _train_tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    _train_tokenizer(folder)
    from tokenizers import Tokenizer

    vocab = Tokenizer.from_file(str(folder / "tokenizer.json")).get_vocab_size()
    torch.manual_seed(seed)
    common = dict(
        vocab_size=vocab,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=num_labels,
        initializer_range=init_range,  # wide (0.3): pairs get clearly different scores
    )
    if arch == "bert":
        from transformers import BertConfig, BertForSequenceClassification

        net = BertForSequenceClassification(BertConfig(max_position_embeddings=64, **common))
    else:
        raise ValueError(arch)
    net.eval().save_pretrained(str(folder))
    if activation is not None:
        cfg = json.loads((folder / "config.json").read_text())
        cfg["sentence_transformers"] = {"activation_fn": activation}
        (folder / "config.json").write_text(json.dumps(cfg))
    return folder
