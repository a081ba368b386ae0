"""STS evaluation: rank correlation against scipy; published scores of the packaged model."""

import numpy as np
import pytest
from scipy import stats

from sentvec.errors import SentvecError
from sentvec.evaluate.sts import STSEvaluator, pearson, rankdata, read_sts, spearman

from conftest import shared_data


def test_rank_and_correlations_match_scipy():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, size=200).astype(float)  # many ties
    y = x + rng.normal(size=200)
    np.testing.assert_allclose(rankdata(x), stats.rankdata(x))
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert pearson(x, y) == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-12)


def test_reads_stsb_format_and_reports_bad_line(tmp_path):
    f = tmp_path / "sts.csv"
    f.write_text(
        "main-news\tMSRvid\t2012test\t0001\t5.000\tA cat.\tA cat!\textra\n"
        "main-news\tMSRvid\t2012test\t0002\t1.5\tA dog.\tA car.\n"
    )
    data = read_sts(f)
    assert data.sentences1 == ["A cat.", "A dog."] and list(data.scores) == [5.0, 1.5]
    bad = tmp_path / "bad.csv"
    bad.write_text("g\tf\ty\t1\tnot-a-number\ta\tb\n")
    with pytest.raises(SentvecError) as err:
        read_sts(bad)
    assert "bad.csv:1" in str(err.value)


def test_evaluator_against_scipy_on_tiny_model(tiny_encoder, tmp_path):
    from sentvec.similarity import pairwise_similarity

    pairs = [
        ("a man is eating food", "a man eats bread", 4.2),
        ("the cat sits", "stocks fell", 0.2),
        ("a woman plays violin", "a woman is playing violin", 4.9),
        ("it is sunny", "weather is warm", 3.0),
        ("drums", "a monkey plays drums", 2.5),
    ]
    f = tmp_path / "mini.tsv"
    f.write_text("".join(f"g\tf\ty\t{i}\t{s}\t{a}\t{b}\n" for i, (a, b, s) in enumerate(pairs)))
    metrics = STSEvaluator.from_file(f, name="mini")(tiny_encoder)
    u = tiny_encoder.encode([p[0] for p in pairs])
    v = tiny_encoder.encode([p[1] for p in pairs])
    gold = [p[2] for p in pairs]
    for metric in ("cosine", "dot", "euclidean", "manhattan"):
        sims = pairwise_similarity(u, v, metric)
        assert metrics[f"mini_{metric}_spearman"] == pytest.approx(
            stats.spearmanr(sims, gold).statistic, abs=1e-9
        )


@pytest.mark.slow
@pytest.mark.published
@pytest.mark.parametrize(("split", "published"), [("sts-test", 82.03), ("sts-dev", 86.72)])
def test_packaged_model_reproduces_published_stsb(default_encoder, split, published):
    path = shared_data("stsb") / f"{split}.csv"
    metrics = STSEvaluator.from_file(path, name=split)(default_encoder)
    assert 100 * metrics[f"{split}_cosine_spearman"] == pytest.approx(published, abs=0.01)
