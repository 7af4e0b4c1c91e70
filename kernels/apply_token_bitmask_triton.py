"""Triton kernel: gather a packed mask row per logits row and write -inf where disallowed.

Checked on CPU under ``TRITON_INTERPRET=1`` against the torch reference.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def _apply_token_bitmask_kernel(logits_ptr, table_ptr, rows_ptr, vocab, stride_logits, stride_table,
                                BLOCK: tl.constexpr):
    r = tl.program_id(0)
    offs = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    in_vocab = offs < vocab
    mask_row = tl.load(rows_ptr + r).to(tl.int64)
    words = tl.load(table_ptr + mask_row * stride_table + offs // 32, mask=in_vocab, other=0)
    allowed = ((words >> (offs % 32)) & 1) != 0
    tl.store(logits_ptr + r.to(tl.int64) * stride_logits + offs, float("-inf"), mask=in_vocab & ~allowed)


def apply_token_bitmask_inplace_triton(logits: torch.Tensor, table: torch.Tensor, rows: torch.Tensor,
                                       block: int = 4096) -> None:
    n_rows, vocab = logits.shape
    if n_rows == 0:
        return
    rows = rows.to(device=logits.device, dtype=torch.int64).contiguous()
    grid = (n_rows, triton.cdiv(vocab, block))
    _apply_token_bitmask_kernel[grid](logits, table, rows, vocab, logits.stride(0), table.stride(0), BLOCK=block)
