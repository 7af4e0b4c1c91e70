"""Hot-path kernels, each with a torch reference (``*_torch``) and a Triton version.

Installed as ``constrained.kernels`` (never a top-level ``kernels`` module: transformers
looks for a Hugging Face package of that name). The dispatcher picks Triton on CUDA
tensors when it is available and the torch reference everywhere else.
"""
from __future__ import annotations

import torch

from .allowed_logits_torch import allowed_logits_torch
from .apply_token_bitmask_torch import apply_token_bitmask_inplace_torch
from .masked_pick_torch import masked_pick_torch


def _triton_available() -> bool:
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def apply_token_bitmask_inplace(logits: torch.Tensor, table: torch.Tensor, rows: torch.Tensor) -> None:
    """Set ``logits[i, t] = -inf`` where bit t of ``table[rows[i]]`` is 0.

    logits: (R, V) float; table: (M, ceil(V/32)) int32 packed masks; rows: (R,) int64.
    """
    if logits.is_cuda and _triton_available():
        from .apply_token_bitmask_triton import apply_token_bitmask_inplace_triton
        apply_token_bitmask_inplace_triton(logits, table, rows)
    else:
        apply_token_bitmask_inplace_torch(logits, table, rows)


def masked_pick(logits: torch.Tensor, temperature: float = 0.0, generator: torch.Generator | None = None):
    """Per row of masked logits: (token, its probability, entropy); greedy when temperature is 0."""
    if logits.is_cuda and _triton_available():
        from .masked_pick_triton import masked_pick_triton
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator)) if temperature > 0 else 0
        return masked_pick_triton(logits, temperature, seed)
    return masked_pick_torch(logits, temperature, generator)


def allowed_logits(hidden: torch.Tensor, weight: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """(R, K) logits ``hidden[r] · weight[ids[r, k]]``; ids padded with -1 give -inf."""
    if hidden.is_cuda and _triton_available():
        from .allowed_logits_triton import allowed_logits_triton
        return allowed_logits_triton(hidden, weight, ids)
    return allowed_logits_torch(hidden, weight, ids)


__all__ = ["apply_token_bitmask_inplace", "apply_token_bitmask_inplace_torch", "masked_pick", "masked_pick_torch",
           "allowed_logits", "allowed_logits_torch"]
