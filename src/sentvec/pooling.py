"""Pooling: token vectors (B, T, H) -> one sentence vector (B, H) per text.

The modes and their math follow the original SBERT definitions, so a model saved by
sentence-transformers pools here exactly as it did there (right padding assumed).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import TYPE_CHECKING

from sentvec.errors import InvalidChoiceError

if TYPE_CHECKING:
    import torch


class PoolingMode(str, Enum):
    """How token vectors become a sentence vector."""

    MEAN = "mean"  # average of the real (non-padding) tokens
    CLS = "cls"  # the first token
    MAX = "max"  # element-wise maximum over real tokens
    MEAN_SQRT_LEN = "mean_sqrt_len_tokens"  # sum / sqrt(number of tokens)
    WEIGHTED_MEAN = "weightedmean"  # token i weighted by its position i (1-based)
    LAST_TOKEN = "lasttoken"  # the last real token (decoder models)

    def __str__(self) -> str:
        return self.value


_ALIASES = {
    "mean_sqrt_len": PoolingMode.MEAN_SQRT_LEN,
    "weighted_mean": PoolingMode.WEIGHTED_MEAN,
    "last_token": PoolingMode.LAST_TOKEN,
    "last": PoolingMode.LAST_TOKEN,
}


def parse_pooling(
    value: str | PoolingMode | Sequence[str | PoolingMode],
) -> tuple[PoolingMode, ...]:
    """Check pooling mode(s) once, at load time.

    :param value: one mode, or several whose outputs are concatenated (e.g. ``["mean", "max"]``).
    :return: the modes as a tuple.
    :raises InvalidChoiceError: naming the bad mode and listing the valid ones.
    """
    items = [value] if isinstance(value, (str, PoolingMode)) else list(value)
    if not items:
        raise InvalidChoiceError("pooling mode", value, [m.value for m in PoolingMode])
    modes = []
    for item in items:
        key = str(item).lower()
        if key in _ALIASES:
            modes.append(_ALIASES[key])
            continue
        try:
            modes.append(PoolingMode(key))
        except ValueError:
            raise InvalidChoiceError("pooling mode", item, [m.value for m in PoolingMode]) from None
    return tuple(modes)


def pool(tokens: torch.Tensor, mask: torch.Tensor, modes: Sequence[PoolingMode]) -> torch.Tensor:
    """Pool token vectors into sentence vectors.

    :param tokens: token vectors, shape (B, T, H).
    :param mask: attention mask, shape (B, T), 1 for real tokens, 0 for padding (right-padded).
    :param modes: pooling modes; their outputs are concatenated in order.
    :return: sentence vectors, shape (B, H * len(modes)).
    """
    import torch

    m = mask.unsqueeze(-1).to(tokens.dtype)  # (B, T, 1)
    out = []
    for mode in modes:
        if mode is PoolingMode.CLS:
            out.append(tokens[:, 0])  # (B, H)
        elif mode is PoolingMode.MAX:
            out.append(tokens.masked_fill(m == 0, float("-inf")).max(dim=1).values)  # (B, H)
        elif mode in (PoolingMode.MEAN, PoolingMode.MEAN_SQRT_LEN):
            total = (tokens * m).sum(dim=1)  # (B, H)
            count = torch.clamp(m.sum(dim=1), min=1e-9)  # (B, 1)
            out.append(total / (count if mode is PoolingMode.MEAN else torch.sqrt(count)))
        elif mode is PoolingMode.WEIGHTED_MEAN:
            positions = torch.arange(
                1, tokens.shape[1] + 1, dtype=tokens.dtype, device=tokens.device
            )
            w = m * positions.view(1, -1, 1)  # (B, T, 1)
            out.append((tokens * w).sum(dim=1) / torch.clamp(w.sum(dim=1), min=1e-9))
        elif mode is PoolingMode.LAST_TOKEN:
            last = (mask.sum(dim=1) - 1).clamp(min=0).long()  # (B,)
            idx = last.view(-1, 1, 1).expand(-1, 1, tokens.shape[-1])  # (B, 1, H)
            out.append(torch.gather(tokens, 1, idx).squeeze(1))  # (B, H)
        else:  # pragma: no cover - parse_pooling makes this unreachable
            raise InvalidChoiceError("pooling mode", mode, [p.value for p in PoolingMode])
    return torch.cat(out, dim=-1)
