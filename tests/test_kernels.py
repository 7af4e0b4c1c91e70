"""Triton kernels (interpreted on CPU) match their torch references exactly."""
import os

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from constrained.kernels import apply_token_bitmask_inplace, apply_token_bitmask_inplace_torch

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
