"""The backend interface the sampler talks to."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch

from ..vocabulary import TokenVocabulary


class Backend(ABC):
    """Encode the prompt once, then map a canvas to logits at the requested positions."""

    tokenizer: Any
    vocab: TokenVocabulary
    device: torch.device

    @abstractmethod
    def encode(self, prompt: str) -> Any:
        """Whatever per-prompt state ``logits`` needs (token ids, a KV cache, ...)."""

    @abstractmethod
    def logits(self, prompt_state: Any, canvas: torch.Tensor, open_positions: torch.Tensor) -> torch.Tensor:
        """(len(open_positions), vocab.size) float32 logits.

        ``canvas`` is (N,) token ids with every open position set to -1; the backend chooses
        how open positions are presented to the model (mask token, noise, ...).
        """
