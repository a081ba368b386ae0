"""Tiny models built in memory: a 2-layer, 32-wide BERT with a real WordPiece tokenizer
trained on a few sentences. Runs in milliseconds; needs nothing from the network."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

CORPUS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "The cat sits on the mat.",
    "How do I reset my password?",
    "Where can I download my invoices?",
    "The stock market fell today.",
    "Weather is sunny and warm.",
    "Café naïve résumé — unicode text! 東京 is a city.",
    "Numbers 123 456 and punctuation?!",
    "zebras giraffes lions elephants",
]


def shared_data(name: str) -> Path:
    """Path to ../shared/data/NAME; skip (or fail under CI=true) when it is missing."""
    path = SHARED_DATA / name
    if not path.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the shared data {path} is missing")
        pytest.skip(f"shared data {path} not present (only in the project's workspace)")
    return path


def _train_tokenizer(folder: Path) -> None:
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizerFast

    wp = BertWordPieceTokenizer(lowercase=True)
    wp.train_from_iterator(CORPUS * 3, vocab_size=300, min_frequency=1)
    tok = BertTokenizerFast(tokenizer_object=wp._tokenizer, model_max_length=64)
    tok.save_pretrained(str(folder))


@pytest.fixture(scope="session")
def tiny_hf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain Hugging Face folder: tiny BertModel + tokenizer (no sentence-transformers files)."""
    import torch
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-bert")
    _train_tokenizer(folder)
    from tokenizers import Tokenizer

    vocab = Tokenizer.from_file(str(folder / "tokenizer.json")).get_vocab_size()
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=vocab,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).eval().save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def make_st_model(
    tmp_path_factory: pytest.TempPathFactory, tiny_hf_dir: Path
) -> Callable[..., Path]:
    """Build a sentence-transformers folder with sentence-transformers itself (the reference)."""
    cache: dict[tuple, Path] = {}

    def make(
        pooling: str = "mean",
        dense: int | None = None,
        normalize: bool = False,
        max_seq_length: int = 64,
    ) -> Path:
        key = (pooling, dense, normalize, max_seq_length)
        if key in cache:
            return cache[key]
        import torch
        from sentence_transformers import SentenceTransformer, models

        torch.manual_seed(1)
        word = models.Transformer(str(tiny_hf_dir), max_seq_length=max_seq_length)
        modules = [word, models.Pooling(word.get_embedding_dimension(), pooling_mode=pooling)]
        if dense:
            modules.append(models.Dense(modules[-1].get_embedding_dimension(), dense))
        if normalize:
            modules.append(models.Normalize())
        folder = tmp_path_factory.mktemp(f"st-{pooling}-{dense}-{normalize}")
        SentenceTransformer(modules=modules, device="cpu").save(str(folder))
        cache[key] = folder
        return folder

    return make


@pytest.fixture(scope="session")
def tiny_encoder(make_st_model: Callable[..., Path]):
    """A loaded sentvec Encoder on the tiny model (mean pooling, normalised)."""
    import sentvec

    return sentvec.load(make_st_model("mean", normalize=True))


@pytest.fixture(scope="session")
def default_encoder():
    """The packaged all-MiniLM-L6-v2."""
    import sentvec

    return sentvec.load()


# The fuzz suites' case counts, printed at the end of every run (CI's log keeps them).
FUZZ_CASES: list[tuple[str, int, float]] = []


@pytest.fixture
def fuzz_cases(request: pytest.FixtureRequest):
    """Count one fuzz test's generated cases; the count lands in the run's closing summary."""
    import time

    counter = [0]
    start = time.perf_counter()
    yield counter
    FUZZ_CASES.append((request.node.nodeid, counter[0], time.perf_counter() - start))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not FUZZ_CASES:
        return
    terminalreporter.section("fuzz cases")
    for nodeid, n, took in FUZZ_CASES:
        terminalreporter.write_line(f"{n:6d} cases in {took:6.1f} s  {nodeid}")
    total = sum(n for _, n, _ in FUZZ_CASES)
    terminalreporter.write_line(f"{total:6d} cases in all")
