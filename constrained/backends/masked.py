"""Masked diffusion: any model mapping ``input_ids`` to ``logits`` with a mask token.

Covers ``AutoModelForMaskedLM`` models and LLaDA/Dream-style models loaded with
``trust_remote_code``. The model sees ``[prompt ; canvas]`` with open positions masked.
"""
from __future__ import annotations

import torch

from ..errors import ModelLoadError
from ..vocabulary import TokenVocabulary
from .base import Backend, trained_positions


class MaskedDiffusionBackend(Backend):
    def __init__(self, model, tokenizer, mask_token_id: int | None = None, device=None) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.model.to(self.device)
        mask_id = mask_token_id if mask_token_id is not None else getattr(tokenizer, "mask_token_id", None)
        if mask_id is None:
            mask_id = getattr(model.config, "mask_token_id", None)
        if mask_id is None:
            raise ModelLoadError("the model has no mask token: pass mask_token_id=... for a masked-diffusion model")
        self.mask_token_id = int(mask_id)
        size = model.get_output_embeddings().weight.shape[0] if model.get_output_embeddings() is not None \
            else model.config.vocab_size
        self.vocab = TokenVocabulary.from_tokenizer(tokenizer, size=size)
        self.max_length = trained_positions(model.config)

    def encode(self, prompts: list[str]) -> list[torch.Tensor]:
        return [self.tokenizer(p, add_special_tokens=True, return_tensors="pt").input_ids[0].to(self.device)
                for p in prompts]

    @torch.no_grad()
    def logits(self, prompt_state: list[torch.Tensor], canvases: torch.Tensor, open_positions: list[torch.Tensor],
               noise: list[torch.Tensor] | None = None,
               allowed: dict[int, torch.Tensor] | None = None) -> torch.Tensor:
        canvases = torch.where(canvases < 0, self.mask_token_id, canvases).to(self.device)
        self.check_fits(max(len(p) for p in prompt_state), canvases.shape[1])
        seqs = [torch.cat([p, c]) for p, c in zip(prompt_state, canvases)]
        width = max(len(x) for x in seqs)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.mask_token_id
        x = torch.full((len(seqs), width), pad, dtype=torch.long, device=self.device)
        attention = torch.zeros_like(x)
        for b, seq in enumerate(seqs):
            x[b, : len(seq)] = seq
            attention[b, : len(seq)] = 1
        out = self.model(input_ids=x, attention_mask=attention).logits
        return torch.cat([out[b, len(p) + o.to(self.device)] for b, (p, o) in enumerate(zip(prompt_state, open_positions))]).float()
