"""Cluster keywords a person would choose, on AG News-like text (markup, entities, 'said'),
and the legend of the PNG map."""

from __future__ import annotations

import numpy as np
import pytest

from sentvec.apps.cluster import NOISE_WORDS, clean_text, ctfidf_keywords

NOISE = {"gt", "lt", "ap", "said", "quot", "amp", "reuters", "href", "http", "www", "com", "39"}
TOPICS = {
    0: ["oil", "prices", "crude", "barrel", "opec"],
    1: ["striker", "league", "goal", "coach", "season"],
    2: ["software", "microsoft", "browser", "linux", "security"],
}


def ag_news_like(per: int = 15, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """News lines the way AG News stores them: agency prefixes, escaped tags and links,
    '#39;' for apostrophes, ' quot;' for quotes, and 'said' everywhere."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for c, words in TOPICS.items():
        for i in range(per):
            a, b, d = rng.choice(words, 3, replace=False)
            agency = ["AP - ", "Reuters - ", "AFP - "][i % 3]
            texts.append(
                f"{agency}The {a} &lt;b&gt;{b}&lt;/b&gt; story, officials said on Monday. "
                f"It #39;s about {d}, a spokesman said, quot;{a} matters quot; "
                f'&lt;A HREF="http://www.example.com/news/{i}"&gt;more&lt;/A&gt;'
            )
            labels.append(c)
    return texts, np.array(labels)


def test_keywords_are_topic_words_not_markup_or_said():
    texts, labels = ag_news_like()
    words = ctfidf_keywords(texts, labels, n=5)
    for c, kws in words.items():
        assert not set(kws) & NOISE, kws
        assert set(kws[:3]) <= set(TOPICS[c]), kws  # words shared by every cluster rank last


def test_clean_text_drops_entities_tags_and_links():
    raw = 'Stocks &lt;b&gt;rally&lt;/b&gt; #39;s quot;big quot; &amp;lt;i&amp;gt;x &lt;a href="http://a.b/c"&gt;'
    out = clean_text(raw)
    for piece in ("&", "lt;", "gt;", "#39;", "quot;", "<", "http", "href"):
        assert piece not in out
    assert "Stocks" in out and "rally" in out and "big" in out
    assert {"said", "ap", "gt", "lt", "quot"} <= NOISE_WORDS


def test_png_map_has_a_legend(tmp_path):
    pytest.importorskip("matplotlib")
    from sentvec.apps.plot import write_png

    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal(c * 5, 1, (20, 2)) for c in range(3)]).astype(np.float32)
    labels = np.repeat(np.arange(3), 20)
    legend = {0: "oil, prices, crude", 1: "league, goal, coach", 2: "linux, browser, microsoft"}
    with_legend = write_png(points, labels, tmp_path / "a.png", "t", legend=legend)
    without = write_png(points, labels, tmp_path / "b.png", "t")
    import matplotlib.image

    a, b = matplotlib.image.imread(with_legend), matplotlib.image.imread(without)
    assert a.shape != b.shape or not np.array_equal(a, b)  # the legend is drawn
    from sentvec.apps.plot import colour, legend_entries

    assert legend_entries(legend) == [(colour(c), f"{c}: {n}") for c, n in legend.items()]
