"""Torch reference: per row of masked logits, pick a token and report its probability and
the entropy of the (temperature-scaled) distribution."""
from __future__ import annotations

import torch


def masked_pick_torch(logits: torch.Tensor, temperature: float = 0.0, generator: torch.Generator | None = None):
    """(tokens, prob, entropy) for (R, V) logits where disallowed entries are -inf.

    temperature 0 is greedy (entropy and prob at temperature 1); > 0 samples.
    """
    scaled = logits / temperature if temperature > 0 else logits
    logp = torch.log_softmax(scaled.float(), dim=-1)
    p = logp.exp()
    entropy = -(p * torch.where(p > 0, logp, torch.zeros_like(logp))).sum(-1)
    if temperature > 0:
        # Inverse-CDF sampling (torch.multinomial is slow on large CPU vocabularies). With
        # u < 1, the draw lands on a step of the CDF, i.e. a token with p > 0.
        cdf = p.cumsum(-1)
        u = torch.rand(p.shape[0], 1, generator=generator).to(p.device)
        tokens = torch.searchsorted(cdf, u * cdf[:, -1:]).squeeze(1).clamp(max=p.shape[1] - 1)
    else:
        tokens = scaled.argmax(dim=-1)
    return tokens, p.gather(1, tokens[:, None]).squeeze(1), entropy
