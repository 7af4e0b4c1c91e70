"""Triton: logits of each row's allowed tokens only (gathered lm_head rows · hidden row)."""
from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def _allowed_logits_kernel(hidden_ptr, weight_ptr, ids_ptr, out_ptr, H, K, stride_h, stride_w, stride_ids,
                           stride_out, BLOCK_K: tl.constexpr, BLOCK_H: tl.constexpr):
    r = tl.program_id(0)
    ks = tl.program_id(1) * BLOCK_K + tl.arange(0, BLOCK_K)
    ids = tl.load(ids_ptr + r.to(tl.int64) * stride_ids + ks, mask=ks < K, other=-1)
    valid = ids >= 0
    acc = tl.zeros((BLOCK_K,), dtype=tl.float32)
    for h0 in range(0, H, BLOCK_H):
        hs = h0 + tl.arange(0, BLOCK_H)
        x = tl.load(hidden_ptr + r.to(tl.int64) * stride_h + hs, mask=hs < H, other=0.0).to(tl.float32)
        w = tl.load(weight_ptr + ids.to(tl.int64)[:, None] * stride_w + hs[None, :],
                    mask=valid[:, None] & (hs[None, :] < H), other=0.0).to(tl.float32)
        acc += tl.sum(w * x[None, :], axis=1)
    tl.store(out_ptr + r.to(tl.int64) * stride_out + ks, tl.where(valid, acc, float("-inf")), mask=ks < K)


def allowed_logits_triton(hidden: torch.Tensor, weight: torch.Tensor, ids: torch.Tensor,
                          block_k: int = 64, block_h: int = 128) -> torch.Tensor:
    R, K = ids.shape
    out = torch.empty((R, K), dtype=torch.float32, device=hidden.device)
    if R and K:
        ids = ids.to(device=hidden.device, dtype=torch.int64).contiguous()
        grid = (R, triton.cdiv(K, block_k))
        _allowed_logits_kernel[grid](hidden, weight, ids, out, hidden.shape[1], K, hidden.stride(0),
                                     weight.stride(0), ids.stride(0), out.stride(0), BLOCK_K=block_k, BLOCK_H=block_h)
    return out
