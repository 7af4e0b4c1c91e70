"""The Triton kernels compiled for a real GPU match their torch references at real vocabulary sizes.

Skipped without CUDA. The suite's conftest makes Triton interpret (CPU), so on a GPU run this
file with ``TRITON_INTERPRET=0``.
"""
import os

import pytest
import torch

from constrained.kernels import (allowed_logits, allowed_logits_torch, apply_token_bitmask_inplace,
                                 apply_token_bitmask_inplace_torch, masked_pick, masked_pick_torch)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available() or os.environ.get("TRITON_INTERPRET") == "1",
                                reason="needs a CUDA GPU and TRITON_INTERPRET=0")

VOCABS = [49_152, 151_936, 262_144]


@pytest.mark.parametrize("vocab", VOCABS)
def test_bitmask_matches_torch(vocab):
    g = torch.Generator().manual_seed(vocab)
    logits = torch.randn(256, vocab, generator=g)
    table = torch.randint(-2**31, 2**31 - 1, (40, (vocab + 31) // 32), generator=g, dtype=torch.int64).to(torch.int32)
    table[0] = 0                                                   # a row allowing nothing
    rows = torch.randint(0, 40, (256,), generator=g)
    want = logits.clone()
    apply_token_bitmask_inplace_torch(want, table, rows)
    got = logits.cuda()
    apply_token_bitmask_inplace(got, table.cuda(), rows.cuda())
    assert torch.equal(got.cpu(), want)


@pytest.mark.parametrize("vocab", VOCABS)
def test_masked_pick_matches_torch(vocab):
    g = torch.Generator().manual_seed(vocab)
    logits = torch.randn(256, vocab, generator=g) * 3
    logits[torch.rand(256, vocab, generator=g) < 0.9] = float("-inf")
    logits[torch.arange(256), torch.randint(vocab, (256,), generator=g)] = 0.5   # at least one allowed
    tokens, prob, entropy = masked_pick(logits.cuda(), 0.0)
    want = masked_pick_torch(logits, 0.0)
    assert torch.equal(tokens.cpu(), want[0])
    assert torch.allclose(prob.cpu(), want[1], atol=1e-5) and torch.allclose(entropy.cpu(), want[2], atol=1e-3)
    sampled, _, _ = masked_pick(logits.cuda(), 0.8, torch.Generator().manual_seed(1))
    assert torch.isfinite(logits[torch.arange(256), sampled.cpu()]).all()


def test_allowed_logits_match_torch():
    g = torch.Generator().manual_seed(0)
    hidden, weight = torch.randn(256, 640, generator=g), torch.randn(262_144, 640, generator=g)
    ids = torch.randint(0, 262_144, (256, 96), generator=g)
    ids[torch.rand(256, 96, generator=g) < 0.3] = -1
    want = allowed_logits_torch(hidden, weight, ids)
    got = allowed_logits(hidden.cuda(), weight.cuda(), ids.cuda()).cpu()
    assert torch.equal(torch.isinf(got), torch.isinf(want))
    assert torch.allclose(got[~torch.isinf(want)], want[~torch.isinf(want)], atol=1e-3, rtol=1e-4)
