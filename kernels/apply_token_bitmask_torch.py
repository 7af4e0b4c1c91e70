"""Torch reference for applying gathered packed bitmasks to logits (CPU path and test oracle)."""
from __future__ import annotations

import torch

_SHIFTS = torch.arange(32, dtype=torch.int32)


def unpack_rows(table: torch.Tensor, rows: torch.Tensor, vocab: int) -> torch.Tensor:
    """(R, vocab) bool: the allowed tokens of ``table[rows]``."""
    words = table.index_select(0, rows.to(table.device))
    bits = (words.unsqueeze(-1) >> _SHIFTS.to(words.device)) & 1
    return bits.reshape(words.shape[0], -1)[:, :vocab].bool()


def apply_token_bitmask_inplace_torch(logits: torch.Tensor, table: torch.Tensor, rows: torch.Tensor) -> None:
    allowed = unpack_rows(table, rows, logits.shape[-1])
    logits.masked_fill_(~allowed, float("-inf"))
