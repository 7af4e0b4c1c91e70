"""Torch reference: logits of each row's allowed tokens only, ``hidden[r] · weight[ids[r, k]]``.

For positions with small masks (an enum, digits, a boolean) this replaces a vocabulary-wide
lm_head product with a few dot products. ``ids`` is (R, K) padded with -1; padded entries
come back as -inf.
"""
from __future__ import annotations

import torch


def allowed_logits_torch(hidden: torch.Tensor, weight: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    out = torch.full(ids.shape, float("-inf"), dtype=torch.float32, device=hidden.device)
    for r in range(ids.shape[0]):
        valid = ids[r] >= 0
        out[r, valid] = (weight.index_select(0, ids[r, valid]) @ hidden[r]).float()
    return out
