"""DiffusionGemma (transformers' ``DiffusionGemmaForBlockDiffusion``): uniform-state block diffusion.

The causal encoder writes the prompt into a KV cache once; each denoising step runs the
bidirectional decoder on one canvas block against it. Under our sampler committed tokens
stay put (skeleton included, never re-noised), open positions are re-noised with tokens
drawn from their *allowed* sets, and logits are computed only for open positions (the lm_head
runs on those rows alone). Self-conditioning gets the previous step's masked logits for
positions still open and a one-hot of the token for committed ones.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..errors import ModelLoadError
from ..vocabulary import TokenVocabulary
from .base import Backend


@dataclass
class _PromptState:
    cache: object
    length: int                      # positions used by the prompt
    encoded: int = 0                 # canvas positions already written to the cache
    block_start: int = 0
    previous: dict[int, torch.Tensor] = field(default_factory=dict)   # position -> last masked logits


class DiffusionGemmaBackend(Backend):
    needs_noise = True

    def __init__(self, model, tokenizer, device=None) -> None:
        if not hasattr(model, "model") or not hasattr(model.model, "decoder"):
            raise ModelLoadError("expected a DiffusionGemmaForBlockDiffusion model")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.model.to(self.device)
        text = model.config.get_text_config()
        self.block_length = int(model.config.canvas_length)
        self.vocab = TokenVocabulary.from_tokenizer(tokenizer, size=text.vocab_size)
        pad = getattr(tokenizer, "pad_token_id", None)
        self.pad_token_id = int(pad if pad is not None else text.pad_token_id)
        self.softcap = model.final_logit_softcapping

    def encode(self, prompt: str) -> _PromptState:
        from transformers import DynamicCache
        ids = self.tokenizer(prompt, return_tensors="pt").input_ids.to(self.device)
        cache = DynamicCache(config=self.model.config.get_text_config(decoder=True))
        with torch.no_grad():
            self.model.model.encoder(input_ids=ids, past_key_values=cache,
                                     position_ids=torch.arange(ids.shape[1], device=self.device)[None])
        return _PromptState(cache, ids.shape[1])

    @torch.no_grad()
    def start_block(self, state: _PromptState, canvas: torch.Tensor, start: int) -> None:
        """Write the finished canvas tokens before ``start`` into the cache (causal encoder)."""
        if start > state.encoded:
            done = canvas[state.encoded:start].to(self.device)[None]
            pos = state.length + torch.arange(state.encoded, start, device=self.device)[None]
            self.model.model.encoder(input_ids=done, past_key_values=state.cache, position_ids=pos)
            state.encoded = start
        state.block_start = start
        state.previous.clear()

    @torch.no_grad()
    def logits(self, state: _PromptState, canvas: torch.Tensor, open_positions: torch.Tensor,
               noise: torch.Tensor | None = None) -> torch.Tensor:
        start, L = state.block_start, self.block_length
        block = torch.full((L,), self.pad_token_id, dtype=torch.long)
        part = canvas[start:start + L].clone()
        local = open_positions - start
        if noise is not None:
            part[local] = noise
        part[part < 0] = self.pad_token_id
        block[: len(part)] = part
        sc = self._self_conditioning(state, block, open_positions)
        pos = state.length + start + torch.arange(L, device=self.device)[None]
        hidden = self.model.model.decoder(
            decoder_input_ids=block.to(self.device)[None], past_key_values=state.cache,
            self_conditioning_logits=sc, decoder_position_ids=pos).last_hidden_state[0]
        out = self.model.lm_head(hidden[local.to(self.device)]).float()
        out = torch.tanh(out / self.softcap) * self.softcap
        state.previous = {int(p): out[j] for j, p in enumerate(open_positions)}
        return out

    def _self_conditioning(self, state: _PromptState, block: torch.Tensor, open_positions) -> torch.Tensor | None:
        """Previous step's masked logits where still open, a one-hot of the token elsewhere."""
        if not state.previous:
            return None
        V = self.vocab.size
        sc = torch.full((1, len(block), V), float("-inf"), device=self.device)
        sc[0, torch.arange(len(block)), block.to(self.device)] = 0.0
        for p in open_positions.tolist():
            if p in state.previous:
                sc[0, p - state.block_start] = state.previous[p]
        return sc
