"""Pooling math against hand computations on fixed tensors."""

import pytest
import torch

from sentvec.errors import InvalidChoiceError
from sentvec.pooling import PoolingMode, parse_pooling, pool

# Two texts, up to 3 tokens, 2-d token vectors; the second text has one padding token.
TOKENS = torch.tensor(
    [[[1.0, 2.0], [3.0, 4.0], [5.0, -6.0]], [[-1.0, 0.5], [2.0, 2.0], [100.0, 100.0]]]
)
MASK = torch.tensor([[1, 1, 1], [1, 1, 0]])


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("mean", [[3.0, 0.0], [0.5, 1.25]]),
        ("cls", [[1.0, 2.0], [-1.0, 0.5]]),
        ("max", [[5.0, 4.0], [2.0, 2.0]]),
        ("mean_sqrt_len_tokens", [[9.0 / 3**0.5, 0.0], [1.0 / 2**0.5, 2.5 / 2**0.5]]),
        # weights 1, 2, 3 (first text) and 1, 2 (second): sum(w*x) / sum(w)
        ("weightedmean", [[(1 + 6 + 15) / 6, (2 + 8 - 18) / 6], [(-1 + 4) / 3, (0.5 + 4) / 3]]),
        ("lasttoken", [[5.0, -6.0], [2.0, 2.0]]),
    ],
)
def test_each_mode_matches_hand_computation(mode, expected):
    out = pool(TOKENS, MASK, parse_pooling(mode))
    torch.testing.assert_close(out, torch.tensor(expected), rtol=0, atol=1e-6)


def test_several_modes_concatenate_in_order():
    out = pool(TOKENS, MASK, parse_pooling(["cls", "max"]))
    assert out.shape == (2, 4)
    torch.testing.assert_close(out[:, 2:], torch.tensor([[5.0, 4.0], [2.0, 2.0]]))


def test_padding_never_leaks_into_any_mode():
    changed = TOKENS.clone()
    changed[1, 2] = torch.tensor([-1e6, 1e6])  # only the padding position differs
    for mode in PoolingMode:
        a = pool(TOKENS, MASK, (mode,))
        b = pool(changed, MASK, (mode,))
        torch.testing.assert_close(a[1], b[1], msg=f"padding leaked into {mode}")


def test_bad_mode_lists_the_valid_ones():
    with pytest.raises(InvalidChoiceError) as err:
        parse_pooling("average")
    msg = str(err.value)
    assert "'average'" in msg
    for mode in PoolingMode:
        assert mode.value in msg


def test_aliases_and_enum_values():
    assert parse_pooling("weighted_mean") == (PoolingMode.WEIGHTED_MEAN,)
    assert parse_pooling(PoolingMode.CLS) == (PoolingMode.CLS,)
    with pytest.raises(InvalidChoiceError):
        parse_pooling([])
