"""Copy drafts: an extracted value usually goes on the way the document does.

Denoising positions in parallel guesses each from a canvas whose neighbours are still
masked, so a value that starts right can drop or repeat pieces ("1851-A & 1851AN"). A
copy draft supplies what the model cannot see: after a run of committed value tokens that
also occurs in the prompt, the prompt's next tokens are proposed for the open positions
that follow, and taken left to right while the model's own (constrained) distribution
ranks each close enough to its favourite. The model still decides; the document only
breaks its ties, and every draft token goes through the same exact commit check.
"""
from __future__ import annotations

import numpy as np


class CopyDrafter:
    """Proposals from one prompt's token ids (whitespace runs read as one space, so a value
    spanning two lines of the document, like an address, continues across the break)."""

    def __init__(self, source: list[int], ngram: int = 3, length: int = 32) -> None:
        self.ngram, self.length = ngram, length
        self.source = np.asarray(source, np.int64)
        self.index: dict[tuple[int, ...], int] = {}
        for k in range(1, ngram + 1):
            for i in range(len(source) - k, -1, -1):      # the first occurrence wins
                self.index[tuple(source[i:i + k])] = i + k

    @classmethod
    def for_prompt(cls, tokenizer, prompt: str) -> "CopyDrafter":
        text = " ".join(prompt.split())
        return cls(tokenizer(text, add_special_tokens=False).input_ids)

    def propose(self, before: np.ndarray) -> np.ndarray:
        """The source's continuation of the longest tail of ``before`` it contains (may be empty)."""
        for k in range(min(self.ngram, len(before)), 0, -1):
            end = self.index.get(tuple(before[-k:].tolist()))
            if end is not None:
                return self.source[end: end + self.length]
        return self.source[:0]
