"""The backend interface the sampler talks to."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch

from ..errors import ContextTooLongError
from ..template import TOKENS_PER_CHAR
from ..vocabulary import TokenVocabulary


class Backend(ABC):
    """Encode prompts once, then map canvases to logits at the requested positions (batched).

    Block-diffusion backends set ``block_length``: the sampler then finishes the canvas one
    block at a time and calls ``start_block`` before each. Uniform-state backends (no mask
    token) set ``needs_noise``: the sampler passes a random allowed token for every open
    position, so the model never sees a token the constraint could not keep.
    ``tokens_per_char`` sizes value slots: a backend whose values run long for their schema
    (real documents) asks for more room up front, which costs less than regrowing slots.
    ``sampling_defaults`` override :class:`SamplingConfig`'s defaults for a model that needs
    other settings to be accurate (more steps, copy drafts); an explicit argument always wins.
    """

    tokenizer: Any
    vocab: TokenVocabulary
    device: torch.device
    block_length: int | None = None
    needs_noise: bool = False
    tokens_per_char: float = TOKENS_PER_CHAR
    max_length: int | None = None       # positions the model attends over: prompt plus canvas
    sampling_defaults: dict[str, Any] = {}

    def check_fits(self, prompt_tokens: int, canvas_tokens: int) -> None:
        """Refuse, by name, a batch the model could only process past its trained positions."""
        if self.max_length is not None and prompt_tokens + canvas_tokens > self.max_length:
            raise ContextTooLongError(
                f"prompt ({prompt_tokens} tokens) plus canvas ({canvas_tokens} tokens) exceed the model's "
                f"{self.max_length} positions; shorten the prompt or lower max_tokens")

    @abstractmethod
    def encode(self, prompts: list[str]) -> Any:
        """Whatever per-batch state ``logits`` needs (token ids, a KV cache, ...)."""

    def start_block(self, prompt_state: Any, canvases: torch.Tensor, start: int) -> None:
        """Called before the block beginning at ``start``; ``canvases[:, :start]`` is final."""

    @abstractmethod
    def logits(self, prompt_state: Any, canvases: torch.Tensor, open_positions: list[torch.Tensor],
               noise: list[torch.Tensor] | None = None,
               allowed: dict[int, torch.Tensor] | None = None) -> torch.Tensor:
        """(total open positions, vocab.size) float32 logits, rows in batch order.

        ``canvases`` is (B, N) token ids with every open position set to -1; ``noise`` holds
        a token for each open position when ``needs_noise``. The sampler masks the returned
        tensor in place, so a backend may keep it as next step's self-conditioning input.
        ``allowed`` maps output rows with small masks to their allowed ids: a backend may
        compute only those logits (others stay -inf) or ignore it.
        """


def trained_positions(config) -> int | None:
    """``max_position_embeddings`` of a transformers config (of its text part, if multimodal)."""
    return getattr(config.get_text_config(), "max_position_embeddings", None)
