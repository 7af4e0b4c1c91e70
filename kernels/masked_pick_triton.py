"""Triton: one pass over each row of masked logits for max, argmax (or Gumbel-max sample),
log-sum-exp and entropy, so no softmax tensor of the vocabulary's size is written."""
from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def _masked_pick_kernel(logits_ptr, tokens_ptr, prob_ptr, entropy_ptr, vocab, stride, inv_temp, seed,
                        SAMPLE: tl.constexpr, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    base = logits_ptr + row.to(tl.int64) * stride
    m = -float("inf")
    s = 0.0
    t = 0.0
    best_key = -float("inf")
    best_idx = 0
    best_x = -float("inf")
    for start in range(0, vocab, BLOCK):
        offs = start + tl.arange(0, BLOCK)
        x = tl.load(base + offs, mask=offs < vocab, other=-float("inf")).to(tl.float32) * inv_temp
        finite = x > -float("inf")
        xs = tl.where(finite, x, 0.0)                       # keeps -inf out of the arithmetic
        m_new = tl.maximum(m, tl.max(x, 0))
        m_safe = tl.where(m_new > -float("inf"), m_new, 0.0)
        scale = tl.where(m > -float("inf"), tl.exp(m - m_safe), 0.0)
        shift = tl.where(m > -float("inf"), m - m_safe, 0.0)
        e = tl.where(finite, tl.exp(xs - m_safe), 0.0)
        t = scale * (t + shift * s) + tl.sum(e * (xs - m_safe), 0)
        s = scale * s + tl.sum(e, 0)
        m = m_new
        if SAMPLE:
            u = tl.rand(seed, row.to(tl.int64) * vocab + offs)
            key = tl.where(finite, xs - tl.log(-tl.log(u + 1e-20) + 1e-20), -float("inf"))
        else:
            key = x
        block_best = tl.max(key, 0)
        block_idx = tl.argmax(key, 0)
        block_x = tl.max(tl.where(offs == start + block_idx, x, -float("inf")), 0)
        better = block_best > best_key
        best_idx = tl.where(better, start + block_idx, best_idx)
        best_x = tl.where(better, block_x, best_x)
        best_key = tl.where(better, block_best, best_key)
    tl.store(tokens_ptr + row, best_idx.to(tl.int64))
    tl.store(prob_ptr + row, tl.exp(best_x - m) / s)
    tl.store(entropy_ptr + row, tl.log(s) - t / s)


def masked_pick_triton(logits: torch.Tensor, temperature: float = 0.0, seed: int = 0, block: int = 4096):
    rows, vocab = logits.shape
    tokens = torch.empty(rows, dtype=torch.int64, device=logits.device)
    prob = torch.empty(rows, dtype=torch.float32, device=logits.device)
    entropy = torch.empty(rows, dtype=torch.float32, device=logits.device)
    if rows:
        inv_temp = 1.0 / temperature if temperature > 0 else 1.0
        _masked_pick_kernel[(rows,)](logits, tokens, prob, entropy, vocab, logits.stride(0), inv_temp, seed,
                                     SAMPLE=temperature > 0, BLOCK=block)
    return tokens, prob, entropy
