"""The backend interface the sampler talks to."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch

from ..vocabulary import TokenVocabulary


class Backend(ABC):
    """Encode the prompt once, then map a canvas to logits at the requested positions.

    Block-diffusion backends set ``block_length``: the sampler then finishes the canvas one
    block at a time and calls ``start_block`` before each. Uniform-state backends (no mask
    token) set ``needs_noise``: the sampler passes a random allowed token for every open
    position, so the model never sees a token the constraint could not keep.
    """

    tokenizer: Any
    vocab: TokenVocabulary
    device: torch.device
    block_length: int | None = None
    needs_noise: bool = False

    @abstractmethod
    def encode(self, prompt: str) -> Any:
        """Whatever per-prompt state ``logits`` needs (token ids, a KV cache, ...)."""

    def start_block(self, prompt_state: Any, canvas: torch.Tensor, start: int) -> None:
        """Called before the block beginning at ``start``; ``canvas[:start]`` is final."""

    @abstractmethod
    def logits(self, prompt_state: Any, canvas: torch.Tensor, open_positions: torch.Tensor,
               noise: torch.Tensor | None = None) -> torch.Tensor:
        """(len(open_positions), vocab.size) float32 logits.

        ``canvas`` is (N,) token ids with every open position set to -1; ``noise`` holds a
        token for each open position when ``needs_noise``. The sampler masks the returned
        tensor in place, so a backend may keep it as next step's self-conditioning input.
        """
