"""Hypothesis strategies for the inputs users get wrong (issue 21): collection names that
almost pass the rule, metadata keys and values no backend can store the same way, texts with
lone surrogates, NUL and very long strings. Shared by the store, HTTP and CLI fuzz tests."""

from __future__ import annotations

from hypothesis import strategies as st

NAME_OK = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,20}\Z")
# names one character away from valid: a newline at the end, a slash, a dot first, too long
NAME_BAD = st.one_of(
    NAME_OK.map(lambda n: n + "\n"),
    NAME_OK.map(lambda n: n + "\r"),
    NAME_OK.map(lambda n: "." + n),
    NAME_OK.map(lambda n: n + "/x"),
    NAME_OK.map(lambda n: "../" + n),
    NAME_OK.map(lambda n: n + "\x00"),
    NAME_OK.map(lambda n: n + " "),
    st.just("x" * 101),
    st.just(""),
    st.text(min_size=1, max_size=8).filter(lambda s: not s.isascii()),
)
NAMES = st.one_of(NAME_OK, NAME_BAD)

SURROGATE = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
PLAIN = st.text(min_size=1, max_size=40)
# texts: ordinary, with a lone surrogate or NUL inside, whitespace only, very long
TEXTS = st.one_of(
    PLAIN,
    st.tuples(PLAIN, SURROGATE, PLAIN).map("".join),
    st.tuples(PLAIN, st.just("\x00"), PLAIN).map("".join),
    st.sampled_from([" ", "\n\t", "\u200b"]),
    st.integers(5_000, 25_000).map(lambda n: "word " * (n // 5)),
)

ENGINE_NAMES = [
    "_distance",
    "_score",
    "_rowid",
    "_rowaddr",
    "_relevance_score",
    "tsv",
    "TSV",
    "vector",
    "meta",
    "pid",
    "id",
    "text",
    "AND",
    "select",
]
META_KEYS = st.one_of(
    st.from_regex(r"\A[a-z][a-z0-9_]{0,10}\Z"),
    st.sampled_from(ENGINE_NAMES),
    st.integers(60, 70).map(lambda n: "k" * n),
    st.tuples(st.just("k"), SURROGATE).map("".join),
    st.just("k\x00"),
    st.text(max_size=8),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXTS,
)
META_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
METADATA = st.dictionaries(META_KEYS, META_VALUES, max_size=4)

__all__ = ["METADATA", "META_KEYS", "META_VALUES", "NAMES", "NAME_BAD", "NAME_OK", "TEXTS"]
