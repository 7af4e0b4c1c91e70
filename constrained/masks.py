"""The table of distinct token masks a template has needed so far.

Most open positions share one of a few masks (string content, digits, whitespace), so each
position only carries a row index; the kernel gathers rows on the device. A row is
computed once per (automaton, states before, states after) and reused across steps and
requests.
"""
from __future__ import annotations

import numpy as np
import torch

from .token_automaton import TokenAutomaton


def pack_bits(allowed: np.ndarray) -> np.ndarray:
    """(V,) bool → (ceil(V/32),) int32, bit i of word i//32 set when token i is allowed."""
    packed = np.packbits(allowed, bitorder="little")
    if len(packed) % 4:
        packed = np.concatenate([packed, np.zeros(-len(packed) % 4, np.uint8)])   # (np.pad costs ~50 us)
    return packed.view("<i4")


def pack_ids(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """``pack_bits`` of the mask allowing only ``ids`` (distinct), set word by word: no
    vocabulary-wide bool array (4 against 13 us for 100 ids of 262k)."""
    words = np.zeros((vocab_size + 31) // 32, np.uint32)
    np.bitwise_or.at(words, ids >> 5, np.left_shift(np.uint32(1), (ids & 31).astype(np.uint32)))
    return words.view("<i4")


IDS_KEPT = 4096


class MaskTable:
    def __init__(self, vocab_size: int) -> None:
        self.vocab_size = vocab_size
        self._rows: list[np.ndarray] = []
        self._counts: list[int] = []
        self._index: dict[tuple, int] = {}
        self._tensors: dict[torch.device, torch.Tensor] = {}
        self._ids: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def row(self, automaton: TokenAutomaton, before: np.ndarray, after: np.ndarray) -> int:
        """Row of the tokens leading from a state in ``before`` to one in ``after``.

        Many state-set pairs allow the same token columns: those share a row, and only a
        new set of columns pays for a vocabulary-wide mask.
        """
        key = (id(automaton), np.packbits(before).tobytes(), np.packbits(after).tobytes())
        idx = self._index.get(key)
        if idx is None:
            columns = automaton.allowed_columns(before, after)
            idx = self._row((id(automaton), np.packbits(columns).tobytes()),
                            lambda: automaton.few_tokens_of(columns), lambda: automaton.tokens_of(columns))
            self._index[key] = idx
        return idx

    def single(self, token: int) -> int:
        """Row allowing only ``token`` (a committed position)."""
        return self._row(("token", token), lambda: np.array([token]))

    def _row(self, key: tuple, ids, allowed=None) -> int:
        """The row stored under ``key``, made on first use from ``ids()`` (sorted token ids), or
        from ``allowed()`` ((V,) bool) where ``ids()`` gives None."""
        idx = self._index.get(key)
        if idx is None:
            listed = ids()
            idx = len(self._rows)
            if listed is None:
                mask = allowed()
                self._rows.append(pack_bits(mask))
                self._counts.append(int(np.count_nonzero(mask)))
            else:
                self._rows.append(pack_ids(listed, self.vocab_size))
                self._counts.append(len(listed))
            if listed is not None and len(listed) <= IDS_KEPT:
                self._ids[idx] = listed
            self._index[key] = idx
        return idx

    def count(self, row: int) -> int:
        """How many tokens row ``row`` allows."""
        return self._counts[row]

    def allowed_ids(self, row: int) -> np.ndarray:
        """Token ids row ``row`` allows; kept for rows of at most ``IDS_KEPT`` tokens (a
        string-content row of a 262k vocabulary would hold a megabyte per row)."""
        ids = self._ids.get(row)
        if ids is None:
            bits = np.unpackbits(self._rows[row].view(np.uint8), bitorder="little")[: self.vocab_size]
            ids = np.flatnonzero(bits)
            if len(ids) <= IDS_KEPT:
                self._ids[row] = ids
        return ids

    def random_allowed(self, row: int, draw) -> int:
        """A uniformly random token row ``row`` allows; ``draw(n)`` gives a uniform int below n.

        Large rows are sampled by rejection on their bits (fewer than V / IDS_KEPT draws
        expected), so no megabyte list of ids is built per position.
        """
        if self._counts[row] <= IDS_KEPT:
            ids = self.allowed_ids(row)
            return int(ids[draw(len(ids))])
        words = self._rows[row]
        while True:
            token = draw(self.vocab_size)
            if (int(words[token >> 5]) >> (token & 31)) & 1:
                return token

    def tensor(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """(rows, ceil(V/32)) int32 on ``device``, extended when new rows appeared."""
        device = torch.device(device)
        cached = self._tensors.get(device)
        if cached is None or cached.shape[0] < len(self._rows):
            start = 0 if cached is None else cached.shape[0]
            new = torch.from_numpy(np.stack(self._rows[start:])).to(device)
            cached = new if cached is None else torch.cat([cached, new])
            self._tensors[device] = cached
        return cached
