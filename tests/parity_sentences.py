"""200 varied sentences for parity tests: short, long, unicode, punctuation, near-empty."""

from __future__ import annotations

import random

_BASE = [
    "A man is eating food.",
    "A man is playing a guitar.",
    "The new movie is awesome!",
    "A woman is slicing an onion.",
    "How do I reset my password if I lost my 2FA device?",
    "Where can I download last month's invoice?",
    "The quick brown fox jumps over the lazy dog.",
    "Stocks fell sharply after the central bank raised interest rates.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "Can you recommend a good Italian restaurant near the station?",
    "The committee postponed the vote until next Tuesday.",
    "I can't log in to my account.",
    "She sells sea shells by the sea shore.",
    "Is it going to rain tomorrow in Berlin?",
    "Machine learning models need lots of data.",
    "The patient was discharged after two days.",
]
_UNICODE = [
    "Café naïve résumé façade coöperate",
    "東京は日本の首都です。",
    "Москва — столица России.",
    "مرحبا بالعالم",
    "हिन्दी में एक वाक्य",
    "😀 🎉 emoji in a sentence 👍🏽",
    "Ünïcödé ÄÖÜ ß ẞ",
    "Ελληνικά κείμενα εδώ",
    "한국어 문장입니다",
    "naïve 北京 mixed script ŝĉĥ",
    "zero\u200bwidth joiner",
    "tab\tseparated\ttext",
    "line\nbreak inside",
]
_PUNCT = [
    "?",
    "!!!",
    "...",
    "—",
    "(((",
    "a",
    "I",
    " ",
    "",
    "  leading and trailing spaces  ",
    "#hashtag @mention https://example.com/path?q=1&r=2",
    "$100.00 or €85,50 — 50% off!",
    "C++/C#/F# & Rust's borrow-checker",
    "1 2 3 4 5 6 7 8 9 10",
    "e=mc^2; x<y>z {a:[b]}",
]


def parity_sentences() -> list[str]:
    """Deterministic list of exactly 200 sentences."""
    rng = random.Random(0)
    out = _BASE + _UNICODE + _PUNCT
    words = " ".join(_BASE).split()
    long_text = " ".join(_BASE * 6)  # ~500 tokens: exercises truncation at 256
    out += [long_text, long_text[:900], " ".join(_UNICODE * 8)]
    while len(out) < 200:
        n = rng.choice([2, 4, 8, 16, 32, 64, 120])
        out.append(" ".join(rng.choice(words) for _ in range(n)))
    return out[:200]
