"""Span drafts: an extracted value is usually a whole stretch of the document.

At the first step every position of a value is masked, and the model's distribution at
each position mixes several alignments of the same answer, so deciding positions apart
gives "20188" or a name cut short. Read together, the same distributions score each
stretch of the document's words spelled as the value would be (the quotes, then the padding
after it, so its length is scored too): the sum of its tokens' log-probabilities.

Read so, shorter stretches win (far positions are unsure, and padding is one token), so the
sampler (``sampler._take_spans``) takes only the best stretch's words at first and lets the
next step, which sees them, score the stretches that go on from them; it ends the value
only where the model, at the position right after its words, prefers the end to going on.
Every token still passes the canvas's exact commit check.
"""
from __future__ import annotations

import json
import re

import numpy as np
import torch

_TRAILING = ",;:."       # punctuation after a word that may end the sentence, not the value
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?")
_GROUPED = re.compile(r"[$€£]?(-?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?)")     # "1,250.00", "$12,000"


def _token_ids(tokenizer, texts: list[str]) -> list[list[int]]:
    """Token ids of many short texts. A document has thousands of runs: the Rust tokenizer's
    batch call without offsets takes ~40% of the Python wrapper's time (SROIE receipts:
    0.05 s against 0.13 s per document)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or not hasattr(backend, "encode_batch_fast"):
        return tokenizer(texts, add_special_tokens=False).input_ids
    return [e.ids for e in backend.encode_batch_fast(texts, add_special_tokens=False)]


class SpanDrafter:
    """Spellings of every run of up to ``max_words`` words of one document, also without the
    punctuation that ends it (a JSON string of the run and, where the run is a JSON number,
    the bare number; a number written with thousands separators also bare without them)."""

    def __init__(self, spellings: list[list[int]]) -> None:
        width = max((len(s) for s in spellings), default=0)
        self.ids = np.full((len(spellings), width), -1, np.int64)
        for i, s in enumerate(spellings):
            self.ids[i, :len(s)] = s
        self.lengths = np.array([len(s) for s in spellings], np.int64)

    @classmethod
    def for_prompt(cls, tokenizer, prompt: str, max_words: int = 24) -> "SpanDrafter":
        words = prompt.split()
        runs = {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, min(len(words), i + max_words) + 1)}
        runs |= {r.rstrip(_TRAILING) for r in runs} - {""}      # "Road East," also as "Road East"
        ordered = sorted(runs)
        texts = [json.dumps(r, ensure_ascii=False) for r in ordered]
        texts += [r for r in ordered if _NUMBER.fullmatch(r)]
        texts += [m[1].replace(",", "") for r in ordered if (m := _GROUPED.fullmatch(r))]
        return cls(_token_ids(tokenizer, texts) if texts else [])

    def best(self, logprobs: torch.Tensor, free: np.ndarray, written: np.ndarray,
             pad: int, first_bytes: np.ndarray) -> tuple[np.ndarray, float, bool] | None:
        """The best spelling for a value of ``len(written)`` positions, padded with ``pad`` or,
        when longer, cut to fit, that agrees with its ``written`` tokens (-1: open); scored by
        the (allowed-token) log-probabilities of its ``free`` positions. Also its mean
        log-probability per free position below the model's favourites' (<= 0), and whether
        it was cut. None if no spelling agrees and is allowed."""
        length = len(written)
        ids = self.ids[:, :length] if self.ids.shape[1] >= length else \
            np.pad(self.ids, ((0, 0), (0, length - self.ids.shape[1])), constant_values=-1)
        ids = np.where(ids < 0, pad, ids)
        fixed = written >= 0
        agree = np.nonzero((ids[:, fixed] == written[fixed]).all(1))[0]
        if not len(agree):
            return None
        table = torch.from_numpy(ids[agree][:, free]).to(logprobs.device)
        each = logprobs.gather(1, table.T)
        if free[-1] == length - 1:     # a stretch cut to fit: whatever token closes the slot stands for its rest
            over = torch.from_numpy(self.lengths[agree] > length).to(logprobs.device)
            each[-1] = torch.where(over, logprobs[-1].max(), each[-1])
        scores = each.sum(0)
        k = int(torch.argmax(scores))
        if not torch.isfinite(scores[k]):
            return None
        if fixed.any() and self.lengths[agree[k]] <= free[0] + 1:
            # The best ends at the next position. The model sees the value's words beside that
            # position, so it judges there alone whether the value ends or goes on.
            # Its ending may be spelled many ways (a quote alone, a quote and spaces): all
            # tokens that start as its ending does count for the end.
            ending = first_bytes == first_bytes[int(table[k, 0])]
            end = float(torch.logsumexp(logprobs[0][torch.from_numpy(ending).to(logprobs.device)], 0))
            longer = torch.from_numpy(self.lengths[agree] > free[0] + 1).to(logprobs.device)
            first = torch.where(longer & torch.isfinite(scores), each[0], -torch.inf)
            if float(first.max()) > end:
                k = int(torch.argmax(torch.where(each[0] == first.max(), scores, -torch.inf)))
        gap = float(scores[k] - logprobs.max(-1).values.sum()) / len(free)
        return ids[agree[k]], gap, bool(self.lengths[agree[k]] > length)
