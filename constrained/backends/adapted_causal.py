"""A causal LM adapted to diffusion (the DiffuLLaMA / Dream recipe), run as block diffusion.

The prompt is encoded once, causally and with the adapter switched off, into a KV cache.
Each denoising step runs only the canvas against that cache, with bidirectional attention
inside the canvas, so a step costs in proportion to the canvas, not the document. The
pretrained head is kept with its shift: the hidden state at input position i predicts the
token at i + 1. The prompt's last token is therefore held out of the cache and leads the
canvas block, where its output predicts canvas position 0.

Training (:mod:`constrained.training.train`) calls the same :func:`encode_prompts` and
:func:`canvas_hidden`, so the model is fine-tuned on exactly the computation it serves.
"""
from __future__ import annotations

import contextlib
import copy
import functools
from dataclasses import dataclass

import torch

from ..vocabulary import TokenVocabulary
from .base import Backend, trained_positions


@dataclass
class PromptState:
    cache: object                   # transformers DynamicCache over prompt[:, :-1]
    valid: torch.Tensor             # (B, cached) bool, False = left padding
    last: torch.Tensor              # (B,) each prompt's last token id
    lengths: torch.Tensor           # (B,) real prompt lengths (last token included)


def chat_text(tokenizer, prompt: str) -> str:
    """The prompt as a user turn of the model's chat template, ready for the answer."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                             add_generation_prompt=True)
    return prompt


@functools.cache
def bf16_is_fast() -> bool:
    """CPUs with native bf16 (AVX512-BF16 / AMX) run the model 2-2.5x faster under autocast."""
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast(device: torch.device, enabled: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16) if enabled else contextlib.nullcontext()


def _adapter_off(model):
    return model.disable_adapter() if hasattr(model, "disable_adapter") else contextlib.nullcontext()


def _unwrapped(model):
    """The causal LM itself, through a peft wrapper if any."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _trunk(model):
    """The transformer body (no lm_head)."""
    return _unwrapped(model).model


def head(model):
    """The output projection (hidden state -> vocabulary logits)."""
    return _unwrapped(model).lm_head


def prompt_ids(tokenizer, prompts: list[str]) -> list[torch.Tensor]:
    """Each prompt's token ids, formatted as a user turn of the chat template."""
    return [torch.tensor(tokenizer(chat_text(tokenizer, p), add_special_tokens=False).input_ids) for p in prompts]


def encode_prompts(model, ids: list[torch.Tensor], pad_id: int, device: torch.device) -> PromptState:
    """Left-pad the prompts' ids to the longest and cache all but each one's last token.

    No padding beyond the longest: a lone prompt runs unmasked, and on a CPU padding to a
    multiple of 64 (for shape-keyed kernels) cost ~0.08 s more per receipt than it saved."""
    from transformers import DynamicCache
    width = max(len(x) for x in ids) - 1
    batch = torch.full((len(ids), width), pad_id, dtype=torch.long)
    valid = torch.zeros(batch.shape, dtype=torch.bool)
    for b, x in enumerate(ids):
        if len(x) > 1:
            batch[b, batch.shape[1] - len(x) + 1:] = x[:-1]
            valid[b, batch.shape[1] - len(x) + 1:] = True
    batch, valid = batch.to(device), valid.to(device)
    positions = (valid.long().cumsum(1) - 1).clamp(min=0)
    cache = DynamicCache(config=_trunk(model).config)
    with torch.no_grad(), _adapter_off(model):
        _trunk(model)(input_ids=batch, attention_mask=valid, position_ids=positions,
                      past_key_values=cache, use_cache=True)
    return PromptState(cache, valid, torch.stack([x[-1] for x in ids]).to(device),
                       torch.tensor([len(x) for x in ids], device=device))


def canvas_hidden(model, state: PromptState, canvas: torch.Tensor,
                  canvas_valid: torch.Tensor | None = None) -> torch.Tensor:
    """(B, C, H) hidden states whose row j predicts canvas token j (mask ids where open).

    ``canvas`` may hold several views per prompt: B must be a multiple of the cached batch.
    ``canvas_valid`` (B, C) hides right padding when canvases of different lengths share a
    batch (training only; at inference a batch shares one template).
    """
    views = canvas.shape[0] // state.valid.shape[0]
    cache, valid = state.cache, state.valid
    if views > 1:
        cache.batch_repeat_interleave(views)
        valid = valid.repeat_interleave(views, 0)
    last, lengths = state.last.repeat_interleave(views), state.lengths.repeat_interleave(views)
    block = torch.cat([last[:, None], canvas[:, :-1]], 1)       # row j sees token j-1 as input
    n = block.shape[1]
    mask = torch.ones(block.shape[0], 1, n, valid.shape[1] + n, dtype=torch.bool, device=canvas.device)
    mask[:, :, :, : valid.shape[1]] = valid[:, None, None, :]
    if canvas_valid is not None:
        mask[:, :, :, valid.shape[1] + 1:] &= canvas_valid[:, None, None, :-1]
    positions = (lengths - 1)[:, None] + torch.arange(n, device=canvas.device)
    try:
        out = _trunk(model)(input_ids=block, attention_mask=_as_model_mask(model, mask), position_ids=positions,
                            past_key_values=cache, use_cache=True)
    finally:
        cache.crop(-n)
        if views > 1:
            cache.batch_select_indices(torch.arange(0, block.shape[0], views, device=canvas.device))
    return out.last_hidden_state


def _as_model_mask(model, mask: torch.Tensor) -> torch.Tensor:
    """The boolean mask as the model's attention takes it: eager attention adds it to the scores."""
    if _trunk(model).config._attn_implementation != "eager":
        return mask
    return torch.zeros(mask.shape, device=mask.device).masked_fill_(~mask, torch.finfo(torch.float32).min)


def serving_models(model, bf16: bool):
    """(prompt model, canvas model, autocast) for inference.

    A peft model is split into two plain copies: the base weights (the prompt pass runs with
    the adapter off) and the weights with the adapter merged in (the canvas pass). Merged, the
    LoRA branch costs nothing per step; stored in bf16 where the CPU has it, no weight is
    recast per op either (together ~35% of a canvas step on the default model). Memory: two
    copies of the weights. Any other model serves both passes as given; ``autocast`` is then
    ``bf16``: the caller runs it under bf16 autocast.
    """
    if not hasattr(model, "merge_and_unload"):
        return model, model, bf16
    dtype = torch.bfloat16 if bf16 else next(model.parameters()).dtype
    prompt_model = copy.deepcopy(model).unload()
    canvas_model = copy.deepcopy(model).merge_and_unload()
    return prompt_model.to(dtype).eval(), canvas_model.to(dtype).eval(), False


class AdaptedCausalBackend(Backend):
    """Serves a causal LM (optionally a peft model with a diffusion adapter) as a masked-diffusion
    backend: open positions are fed as ``mask_id`` and predicted all at once each step.

    Slots are twice the generic size: document values (addresses, company names) are long,
    and a canvas step costs far less than regrowing a slot (another full denoising pass).
    A small model copies long values badly when many positions are decided together: it
    takes 16 steps by default, copy drafts and span drafts. Chosen with the stop-18 adapter on
    SROIE training receipts: copy drafts at a share of 0.3 took 48 of them from 35% to 43%
    field match; span drafts (0.01 or 0.1) took the first 24 to 61%, and 20 synthetic
    documents from 52% to 60%.
    """

    tokens_per_char = 1.0
    # 8 steps halve the time; on SROIE training receipts they halved field match too
    sampling_defaults = {"steps": 16, "copy": 0.3, "spans": 0.1}

    def __init__(self, model, tokenizer, mask_id: int, device=None, bf16: bool | None = None) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.model.to(self.device)
        self.vocab = TokenVocabulary.from_tokenizer(tokenizer, size=head(model).out_features)
        self.mask_id = int(mask_id)
        self.max_length = trained_positions(model.config)
        self.pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else mask_id)
        self.bf16 = bf16_is_fast() if bf16 is None else bf16
        self.prompt_model, self.canvas_model, self.autocast = serving_models(self.model, self.bf16)
        if self.device.type == "cpu" and self.canvas_model is not self.prompt_model:
            # A short canvas against a long cache: transformers' eager attention beats the CPU's
            # SDPA kernel there (default model, receipt-sized prompt: 0.175 s against 0.19 s per
            # step). The prompt pass keeps SDPA, which is faster for long causal blocks.
            self.canvas_model.set_attn_implementation("eager")
        self.model = self.canvas_model
        self._encoded: tuple[list[str], PromptState] | None = None

    @torch.no_grad()
    def encode(self, prompts: list[str]) -> PromptState:
        """The prompts' cached state. The last one is kept: a canvas step leaves the cache as it
        found it, so regrowing a slot after a one-prompt call skips a second prompt pass."""
        if self._encoded is not None and self._encoded[0] == prompts:
            return self._encoded[1]
        with autocast(self.device, self.autocast):
            ids = prompt_ids(self.tokenizer, prompts)
            self.check_fits(max(len(x) for x in ids), 0)    # before the costly prompt pass
            state = encode_prompts(self.prompt_model, ids, self.pad_id, self.device)
        self._encoded = (list(prompts), state)
        return state

    @torch.no_grad()
    def logits(self, prompt_state, canvases, open_positions, noise=None, allowed=None) -> torch.Tensor:
        self.check_fits(int(prompt_state.lengths.max()), canvases.shape[1])
        canvas = canvases.to(self.device).clone()
        canvas[canvas < 0] = self.mask_id
        with autocast(self.device, self.autocast):
            hidden = canvas_hidden(self.canvas_model, prompt_state, canvas)
            rows = torch.cat([hidden[b, o.to(self.device)] for b, o in enumerate(open_positions)])
            return head(self.canvas_model)(rows).float()
