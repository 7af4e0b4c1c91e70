"""DiffusionGemma (transformers' ``DiffusionGemmaForBlockDiffusion``): uniform-state block diffusion.

The causal encoder writes the prompt into a KV cache once; each denoising step runs the
bidirectional decoder on one canvas block against it. Under our sampler committed tokens
stay put (skeleton included, never re-noised), open positions are re-noised with tokens
drawn from their *allowed* sets, and logits are computed only for open positions (the lm_head
runs on those rows alone, and on small masks only for the allowed tokens). Self-conditioning
gets the previous step's masked distribution for positions still open and the token itself
for committed ones, computed as embeddings directly, so no (canvas × vocabulary) tensor exists.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..errors import ModelLoadError
from ..kernels import allowed_logits
from ..vocabulary import TokenVocabulary
from .base import Backend, trained_positions


@dataclass
class _PromptState:
    cache: object
    lengths: torch.Tensor            # (B,) real prompt lengths
    mask: torch.Tensor               # (B, cached positions) 1 = real token, 0 = left padding
    encoded: int = 0                 # canvas positions already written to the cache
    block_start: int = 0
    previous: dict[tuple[int, int], torch.Tensor] = field(default_factory=dict)  # (row, pos) -> masked logits


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
        self.max_length = trained_positions(model.config)
        self.vocab = TokenVocabulary.from_tokenizer(tokenizer, size=text.vocab_size)
        pad = getattr(tokenizer, "pad_token_id", None)
        self.pad_token_id = int(pad if pad is not None else text.pad_token_id)
        self.softcap = model.final_logit_softcapping

    @torch.no_grad()
    def encode(self, prompts: list[str]) -> _PromptState:
        """Left-pad the prompts and write them into one batched KV cache."""
        from transformers import DynamicCache
        ids = [self.tokenizer(p, return_tensors="pt").input_ids[0] for p in prompts]
        width = max(len(x) for x in ids)
        self.check_fits(width, 0)       # before the costly prompt pass
        batch = torch.full((len(ids), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(batch)
        for b, x in enumerate(ids):
            batch[b, width - len(x):] = x
            mask[b, width - len(x):] = 1
        batch, mask = batch.to(self.device), mask.to(self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache(config=self.model.config.get_text_config(decoder=True))
        self.model.model.encoder(input_ids=batch, attention_mask=mask, past_key_values=cache, position_ids=positions)
        return _PromptState(cache, mask.sum(-1), mask)

    @torch.no_grad()
    def start_block(self, state: _PromptState, canvases: torch.Tensor, start: int) -> None:
        """Write the finished canvas tokens before ``start`` into the cache (causal encoder)."""
        if start > state.encoded:
            done = canvases[:, state.encoded:start].to(self.device)
            ones = torch.ones_like(done)
            state.mask = torch.cat([state.mask, ones], dim=1)
            pos = state.lengths[:, None] + torch.arange(state.encoded, start, device=self.device)[None]
            self.model.model.encoder(input_ids=done, attention_mask=state.mask, past_key_values=state.cache,
                                     position_ids=pos)
            state.encoded = start
        state.block_start = start
        state.previous.clear()

    @torch.no_grad()
    def logits(self, state: _PromptState, canvases: torch.Tensor, open_positions: list[torch.Tensor],
               noise: list[torch.Tensor] | None = None,
               allowed: dict[int, torch.Tensor] | None = None) -> torch.Tensor:
        self.check_fits(int(state.lengths.max()), canvases.shape[1])
        start, L = state.block_start, self.block_length
        B = canvases.shape[0]
        block = torch.full((B, L), self.pad_token_id, dtype=torch.long)
        part = canvases[:, start:start + L].clone()
        for b, opened in enumerate(open_positions):
            if noise is not None:
                part[b, opened - start] = noise[b]
        part[part < 0] = self.pad_token_id
        block[:, : part.shape[1]] = part
        block = block.to(self.device)
        pos = state.lengths[:, None] + start + torch.arange(L, device=self.device)[None]
        mask = torch.cat([state.mask, torch.ones((B, L), dtype=state.mask.dtype, device=self.device)], dim=1)
        decoder = self.model.model.decoder
        soft = self._soft_embeddings(state, block, open_positions)
        hook = None
        if soft is not None:   # our signal replaces the zeros the decoder uses when given no logits
            hook = decoder.self_conditioning.register_forward_pre_hook(
                lambda module, args: (args[0], soft.to(args[0].dtype)))
        try:
            hidden = decoder(decoder_input_ids=block, past_key_values=state.cache, decoder_attention_mask=mask,
                             decoder_position_ids=pos).last_hidden_state
        finally:
            if hook is not None:
                hook.remove()
        rows = torch.cat([hidden[b, (o - start).to(self.device)] for b, o in enumerate(open_positions)])
        out = self._head(rows, allowed or {})
        state.previous = {}
        j = 0
        for b, opened in enumerate(open_positions):
            for p in opened.tolist():
                state.previous[(b, p)] = out[j]
                j += 1
        return out

    def _head(self, rows: torch.Tensor, allowed: dict[int, torch.Tensor]) -> torch.Tensor:
        """Soft-capped logits; rows listed in ``allowed`` get logits only for their allowed ids
        (an enum or a digit costs a few dot products, not a vocabulary-wide matmul)."""
        weight = self.model.lm_head.weight
        full = [j for j in range(len(rows)) if j not in allowed]
        out = torch.full((len(rows), self.vocab.size), float("-inf"), device=self.device)
        if full:
            idx = torch.tensor(full, device=self.device)
            out[idx] = self._softcap(rows[idx] @ weight.T)
        if allowed:
            which = list(allowed)
            width = max(len(ids) for ids in allowed.values())
            ids = torch.full((len(which), width), -1, dtype=torch.long)
            for i, j in enumerate(which):
                ids[i, : len(allowed[j])] = allowed[j]
            ids = ids.to(self.device)
            small = self._softcap(allowed_logits(rows[which], weight, ids))
            for i, j in enumerate(which):
                n = len(allowed[j])
                out[j, ids[i, :n]] = small[i, :n]
        return out

    def _softcap(self, logits: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        return torch.tanh(logits / self.softcap) * self.softcap

    def _soft_embeddings(self, state: _PromptState, block: torch.Tensor, open_positions) -> torch.Tensor | None:
        """What the decoder computes as ``softmax(logits) @ embeddings`` for self-conditioning,
        without a vocabulary-wide tensor for the whole canvas: a committed (or noise) token's
        own embedding, and for a position still open the embedding mix of the allowed tokens
        under the previous step's masked logits."""
        if not state.previous:
            return None
        embed = self.model.model.decoder.embed_tokens
        soft = embed(block)                                   # one-hot rows, already scaled
        where = [(b, p) for b, opened in enumerate(open_positions) for p in opened.tolist() if (b, p) in state.previous]
        if where:
            probs = torch.softmax(torch.stack([state.previous[k] for k in where]), dim=-1).to(embed.weight.dtype)
            mixed = (probs @ embed.weight) * embed.embed_scale.to(embed.weight.dtype)
            rows = torch.tensor([b for b, _ in where], device=self.device)
            cols = torch.tensor([p - state.block_start for _, p in where], device=self.device)
            soft[rows, cols] = mixed
        return soft
