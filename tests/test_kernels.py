"""Triton kernels (interpreted on CPU) match their torch references exactly."""
import os

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from constrained.kernels import (allowed_logits_torch, apply_token_bitmask_inplace, apply_token_bitmask_inplace_torch,
                                 masked_pick_torch)

triton = pytest.importorskip("triton")


def _case(n_rows, vocab, n_masks, seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n_rows, vocab, generator=g)
    table = torch.randint(-2**31, 2**31 - 1, (n_masks, (vocab + 31) // 32), generator=g, dtype=torch.int64).to(torch.int32)
    rows = torch.randint(0, n_masks, (n_rows,), generator=g)
    return logits, table, rows


@settings(max_examples=12, deadline=None)
@given(st.integers(1, 6), st.integers(1, 5000), st.integers(1, 4), st.integers(0, 10**6))
def test_triton_bitmask_matches_torch(n_rows, vocab, n_masks, seed):
    assert os.environ.get("TRITON_INTERPRET") == "1"
    from constrained.kernels.apply_token_bitmask_triton import apply_token_bitmask_inplace_triton
    logits, table, rows = _case(n_rows, vocab, n_masks, seed)
    expected = logits.clone()
    apply_token_bitmask_inplace_torch(expected, table, rows)
    got = logits.clone()
    apply_token_bitmask_inplace_triton(got, table, rows, block=1024)
    assert torch.equal(got, expected)


@pytest.mark.parametrize("fill", [0, -1])
def test_all_masked_and_all_allowed_rows(fill):
    from constrained.kernels.apply_token_bitmask_triton import apply_token_bitmask_inplace_triton
    logits = torch.randn(3, 100)
    table = torch.full((1, 4), fill, dtype=torch.int32)
    rows = torch.zeros(3, dtype=torch.int64)
    got = logits.clone()
    apply_token_bitmask_inplace_triton(got, table, rows, block=64)
    assert torch.equal(got, logits if fill == -1 else torch.full_like(logits, float("-inf")))


def test_single_token_row_keeps_only_that_token():
    logits = torch.randn(1, 70)
    table = torch.zeros(1, 3, dtype=torch.int32)
    table[0, 2] = 1 << (65 - 64)
    apply_token_bitmask_inplace(logits, table, torch.zeros(1, dtype=torch.int64))
    assert torch.isfinite(logits[0]).nonzero().flatten().tolist() == [65]


@settings(max_examples=12, deadline=None)
@given(st.integers(1, 5), st.integers(1, 3000), st.floats(0.0, 0.95), st.integers(0, 10**6))
def test_triton_masked_pick_matches_torch(n_rows, vocab, masked_share, seed):
    from constrained.kernels.masked_pick_triton import masked_pick_triton
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n_rows, vocab, generator=g) * 3
    logits[torch.rand(n_rows, vocab, generator=g) < masked_share] = float("-inf")
    logits[torch.arange(n_rows), torch.randint(vocab, (n_rows,), generator=g)] = 0.5   # at least one allowed
    got = masked_pick_triton(logits, 0.0, block=512)
    want = masked_pick_torch(logits, 0.0)
    assert torch.equal(got[0], want[0])
    assert torch.allclose(got[1], want[1], atol=1e-5) and torch.allclose(got[2], want[2], atol=1e-4)
    tokens, prob, entropy = masked_pick_triton(logits, 0.7, seed=seed, block=512)
    assert torch.isfinite(logits[torch.arange(n_rows), tokens]).all()
    assert torch.allclose(entropy, masked_pick_torch(logits, 0.7)[2], atol=1e-4)


def test_masked_pick_single_token_rows():
    from constrained.kernels.masked_pick_triton import masked_pick_triton
    logits = torch.full((2, 300), float("-inf"))
    logits[0, 7] = 1.0
    logits[1, 299] = -2.0
    for tokens, prob, entropy in (masked_pick_triton(logits, 0.0, block=128), masked_pick_torch(logits, 0.0),
                                  masked_pick_triton(logits, 1.0, seed=1, block=128)):
        assert tokens.tolist() == [7, 299] and torch.allclose(prob, torch.ones(2)) and entropy.abs().max() < 1e-6


def test_torch_sampling_follows_the_masked_distribution():
    logits = torch.log(torch.tensor([[0.0, 0.5, 0.0, 0.3, 0.2, 0.0]])).repeat(20000, 1)
    tokens, prob, _ = masked_pick_torch(logits, 1.0, torch.Generator().manual_seed(0))
    freq = torch.bincount(tokens, minlength=6).float() / len(tokens)
    assert freq[[0, 2, 5]].sum() == 0
    assert torch.allclose(freq[[1, 3, 4]], torch.tensor([0.5, 0.3, 0.2]), atol=0.02)


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 4), st.integers(1, 300), st.integers(1, 70), st.integers(0, 10**6))
def test_triton_allowed_logits_match_torch(n_rows, hidden_size, k, seed):
    from constrained.kernels.allowed_logits_triton import allowed_logits_triton
    g = torch.Generator().manual_seed(seed)
    hidden = torch.randn(n_rows, hidden_size, generator=g)
    weight = torch.randn(500, hidden_size, generator=g)
    ids = torch.randint(0, 500, (n_rows, k), generator=g)
    ids[torch.rand(n_rows, k, generator=g) < 0.3] = -1                      # ragged rows
    want = allowed_logits_torch(hidden, weight, ids)
    got = allowed_logits_triton(hidden, weight, ids, block_k=32, block_h=64)
    assert torch.equal(torch.isinf(got), torch.isinf(want))
    assert torch.allclose(got[~torch.isinf(want)], want[~torch.isinf(want)], atol=1e-4)
    full = hidden @ weight.T
    valid = ids >= 0
    assert torch.allclose(want[valid], full.gather(1, ids.clamp(min=0))[valid], atol=1e-4)
