"""Documents as passages: windows within the model's limit, cut at sentence boundaries, with
the overlap asked for, exact offsets, the title in every embedded text; the answering
sentence. References: the texts are built from known sentences (their boundaries are known),
and token counts come from the tokenizer itself."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentvec.documents import (
    Chunker,
    Chunking,
    best_sentences,
    default_chunk_tokens,
    sentence_spans,
)
from sentvec.errors import SentvecError
from sentvec.io import Record

WORDS = ["alpha", "beta", "gamma", "delta", "horse", "violin", "market", "weather"]
WORDS += ["refund", "password", "invoice"]


def _sentence(rng: np.random.Generator, n: int) -> str:
    words = [WORDS[int(i)] for i in rng.integers(0, len(WORDS), n)]
    return " ".join(words).capitalize() + "."


def _tokens(chunker: Chunker, text: str) -> int:
    return len(chunker.tokenizer.backend.encode(text, add_special_tokens=False).ids)


@pytest.fixture(scope="module")
def chunker(tiny_encoder):
    return Chunker(
        tiny_encoder.tokenizer, tiny_encoder.max_seq_length, Chunking(tokens=32, overlap=8)
    )


def test_default_size_follows_the_model():
    assert default_chunk_tokens(256) == 128
    assert default_chunk_tokens(512) == 256
    assert default_chunk_tokens(8192) == 256
    assert default_chunk_tokens(64) == 32


def test_bad_settings_name_the_value_and_the_fix(tiny_encoder):
    with pytest.raises(SentvecError, match=r"chunk tokens 500 .*--chunk-tokens between 16 and 62"):
        Chunker(tiny_encoder.tokenizer, tiny_encoder.max_seq_length, Chunking(tokens=500))
    with pytest.raises(SentvecError, match=r"overlap 40 .*below the passage length 32"):
        Chunker(tiny_encoder.tokenizer, 64, Chunking(tokens=32, overlap=40))
    with pytest.raises(SentvecError, match="no text and no title"):
        Chunker(tiny_encoder.tokenizer, 64).passages(Record("  ", "x"))


def test_windows_fit_break_at_sentences_and_overlap(chunker, tiny_encoder):
    rng = np.random.default_rng(0)
    paragraphs = [[_sentence(rng, int(rng.integers(1, 4))) for _ in range(14)] for _ in range(3)]
    text = "\n\n".join(" ".join(p) for p in paragraphs)
    # every sentence fits a window beside the title, so no sentence may be cut
    assert max(_tokens(chunker, x) for p in paragraphs for x in p) <= 16
    ends = set()  # character offsets where a sentence ends (known by construction)
    pos = 0
    for p in paragraphs:
        for s in p:
            ends.add(pos + len(s))
            pos += len(s) + 1
        pos += 1
    starts = {0} | {e + 1 for e in ends} | {e + 2 for e in ends}
    passages = chunker.passages(Record(text, "doc", {"title": "Refund policy"}))
    assert len(passages) > 6
    limit = tiny_encoder.max_seq_length - tiny_encoder.tokenizer.n_special
    overlapped = 0
    for a, b in itertools.pairwise(passages):
        if b.start < a.end:
            overlapped += 1
            assert _tokens(chunker, text[b.start : a.end]) <= 8  # the overlap asked for, at most
            assert "\n\n" not in text[b.start : a.end]  # never across a paragraph break
    assert overlapped > 0
    for p in passages:
        assert text[p.start : p.end] == p.text  # exact offsets
        assert p.end in ends and p.start in starts  # whole sentences only
        assert _tokens(chunker, p.embed_text) <= 32 <= limit  # title included, within the window
        assert p.embed_text.startswith("Refund policy\n")
    covered = np.zeros(len(text), bool)
    for p in passages:
        covered[p.start : p.end] = True
    assert all(covered[i] or text[i].isspace() for i in range(len(text)))
    assert passages[0].document == text and all(p.document is None for p in passages[1:])
    no_overlap = Chunker(tiny_encoder.tokenizer, 64, Chunking(tokens=32, overlap=0))
    spans = no_overlap.spans(text)
    assert all(b[0] >= a[1] for a, b in itertools.pairwise(spans))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.text(
        alphabet=st.sampled_from([*"abcdefghij  .,!?\n", "é", "😀", "日", "本"]),
        min_size=1,
        max_size=3000,
    ),
    st.text(alphabet="abcxyz ", max_size=400),
)
def test_no_window_is_over_the_limit_whatever_the_text(chunker, tiny_encoder, text, title):
    if not text.strip() and not title.strip():
        return
    for p in chunker.passages(Record(text, "d", {"title": title})):
        assert text[p.start : p.end] == p.text
        seq = tiny_encoder.tokenizer.backend.encode(p.embed_text)  # with the special tokens
        assert len(seq.ids) <= tiny_encoder.max_seq_length


def test_a_long_title_is_cut_to_its_share(chunker):
    title = " ".join(WORDS * 5)
    p = chunker.passages(Record("Short body.", "d", {"title": title}))[0]
    assert p.title == title and len(p.embed_title) < len(title)
    assert _tokens(chunker, p.embed_title) <= 8  # a quarter of 32


def test_unchunked_is_one_passage(tiny_encoder):
    text = " ".join(["A sentence about refunds."] * 200)
    one = Chunker(tiny_encoder.tokenizer, 64, Chunking(enabled=False)).passages(Record(text, "d"))
    assert len(one) == 1 and one[0].text == text


def test_sentence_spans_cover_the_sentences():
    text = "Go to Settings > Profile, e.g. the email. We send a link!  Does it work?\n\n- item"
    spans = sentence_spans(text)
    got = [text[a:b] for a, b in spans]
    assert got == [
        "Go to Settings > Profile, e.g. the email.",
        "We send a link!",
        "Does it work?",
        "- item",
    ]


def test_best_sentence_is_the_closest_by_the_model(tiny_encoder):
    passages = [
        "The cat sits on the mat. How do I reset my password? Weather is sunny.",
        "One sentence only",
        "",
    ]
    q = tiny_encoder.encode(["reset my password"])[0]
    spans = best_sentences(q, passages, tiny_encoder.encode)
    sents = ["The cat sits on the mat.", "How do I reset my password?", "Weather is sunny."]
    v = tiny_encoder.encode(sents, normalize=True)
    want = sents[int(np.argmax(v @ (q / np.linalg.norm(q))))]
    a, b = spans[0]
    assert passages[0][a:b] == want
    assert spans[1] == (0, len(passages[1])) and spans[2] is None
