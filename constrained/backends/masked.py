"""Masked diffusion: any model mapping ``input_ids`` to ``logits`` with a mask token.

Covers ``AutoModelForMaskedLM`` models and LLaDA/Dream-style models loaded with
``trust_remote_code``. The model sees ``[prompt ; canvas]`` with open positions masked.
"""
from __future__ import annotations

import torch

from ..errors import ModelLoadError
from ..vocabulary import TokenVocabulary
from .base import Backend


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
        self.max_length = getattr(model.config, "max_position_embeddings", None)

    def encode(self, prompt: str) -> torch.Tensor:
        ids = self.tokenizer(prompt, add_special_tokens=True, return_tensors="pt").input_ids[0]
        return ids.to(self.device)

    @torch.no_grad()
    def logits(self, prompt_state: torch.Tensor, canvas: torch.Tensor, open_positions: torch.Tensor,
               noise: torch.Tensor | None = None) -> torch.Tensor:
        canvas = torch.where(canvas < 0, self.mask_token_id, canvas).to(self.device)
        x = torch.cat([prompt_state, canvas])
        if self.max_length is not None and len(x) > self.max_length:
            raise ValueError(f"prompt ({len(prompt_state)} tokens) plus canvas ({len(canvas)}) exceed the "
                             f"model's {self.max_length} positions; shorten the prompt or the output")
        out = self.model(input_ids=x[None]).logits[0]
        return out[len(prompt_state) + open_positions.to(self.device)].float()
