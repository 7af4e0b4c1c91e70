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


def _key(flags: np.ndarray) -> bytes:
    """A bool vector as a dict key: its bytes (a tenth of packing them, for the few hundred
    states or columns of most automata), packed where that makes a long key short."""
    return flags.tobytes() if len(flags) <= 1024 else np.packbits(flags).tobytes()


class MaskTable:
    """Rows are counted when first met and packed when first read (``tensor``, or ids of a
    row too large to list): a template pins the positions that allow a single token, and
    the rows it met on the way there are never read again."""

    def __init__(self, vocab_size: int) -> None:
        self.vocab_size = vocab_size
        self._rows: list[np.ndarray | None] = []       # packed, or None until first read
        self._counts: list[int] = []
        self._index: dict[tuple, int] = {}
        self._tensors: dict[torch.device, torch.Tensor] = {}
        self._ids: dict[int, np.ndarray] = {}
        self._makers: dict[int, tuple] = {}            # row -> (ids, allowed) while not packed

    def __len__(self) -> int:
        return len(self._rows)

    def row(self, automaton: TokenAutomaton, before: np.ndarray, after: np.ndarray) -> int:
        """Row of the tokens leading from a state in ``before`` to one in ``after``.

        Many state-set pairs allow the same token columns: those share a row, and only a
        new set of columns pays for a vocabulary-wide mask.
        """
        key = (id(automaton), _key(before), _key(after))
        idx = self._index.get(key)
        if idx is None:
            columns = automaton.allowed_columns(before, after)
            idx = self._row((id(automaton), _key(columns)), automaton.count_of(columns),
                            lambda: automaton.few_tokens_of(columns), lambda: automaton.tokens_of(columns))
            self._index[key] = idx
        return idx

    def single(self, token: int) -> int:
        """Row allowing only ``token`` (a committed position)."""
        return self._row(("token", token), 1, lambda: np.array([token]))

    def _row(self, key: tuple, count: int, ids, allowed=None) -> int:
        """The row stored under ``key``, of ``count`` tokens: ``ids()`` (sorted token ids), or
        ``allowed()`` ((V,) bool) where ``ids()`` gives None, once it is read."""
        idx = self._index.get(key)
        if idx is None:
            idx = len(self._rows)
            self._rows.append(None)
            self._counts.append(count)
            self._makers[idx] = (ids, allowed)
            self._index[key] = idx
        return idx

    def _listed(self, row: int) -> np.ndarray | None:
        """The ids of a row not packed yet, where its maker lists them (kept if few)."""
        ids = self._makers[row][0]()
        if ids is not None and len(ids) <= IDS_KEPT:
            self._ids[row] = ids
        return ids

    def _packed(self, row: int) -> np.ndarray:
        """The row as ``pack_bits`` words, made from its ids or its (V,) mask on first read."""
        words = self._rows[row]
        if words is None:
            listed = self._ids.get(row)
            if listed is None:
                listed = self._listed(row)
            words = pack_bits(self._makers[row][1]()) if listed is None else pack_ids(listed, self.vocab_size)
            self._rows[row] = words
            del self._makers[row]
        return words

    def count(self, row: int) -> int:
        """How many tokens row ``row`` allows."""
        return self._counts[row]

    def allowed_ids(self, row: int) -> np.ndarray:
        """Token ids row ``row`` allows; kept for rows of at most ``IDS_KEPT`` tokens (a
        string-content row of a 262k vocabulary would hold a megabyte per row)."""
        ids = self._ids.get(row)
        if ids is None and row in self._makers:
            ids = self._listed(row)
        if ids is None:
            bits = np.unpackbits(self._packed(row).view(np.uint8), bitorder="little")[: self.vocab_size]
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
        words = self._packed(row)
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
            new = torch.from_numpy(np.stack([self._packed(r) for r in range(start, len(self._rows))])).to(device)
            cached = new if cached is None else torch.cat([cached, new])
            self._tensors[device] = cached
        return cached
