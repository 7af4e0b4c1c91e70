"""Per-request canvas state: committed tokens and, per region, reachable automaton states.

For region positions 0..K, ``fwd[i]`` is the set of states reachable after positions < i
(committed tokens fixed, open positions any token) and ``bwd[i]`` the set from which the
positions ≥ i can still finish in an accepting state. Token t is allowed at open position
i iff it leads from ``fwd[i] ∩ bwd[i]`` into ``bwd[i+1]``: the exact, joint condition that
keeps the whole canvas completable after every commit.
"""
from __future__ import annotations

import numpy as np

from .template import CanvasTemplate


class CanvasState:
    def __init__(self, template: CanvasTemplate) -> None:
        self.template = template
        self.tokens = template.tokens.copy()
        self._fwd: list[list[int]] = []
        self._bwd: list[list[int]] = []
        for r in range(len(template.regions)):
            self._fwd.append([])
            self._bwd.append([])
            self._update(r)

    def _update(self, r: int) -> None:
        region = self.template.regions[r]
        a, toks = region.automaton, self.tokens[region.start: region.start + region.length]
        fwd = [a.start]
        for t in toks:
            fwd.append(a.forward_open(fwd[-1]) if t < 0 else a.forward_token(fwd[-1], int(t)))
        bwd = [a.accept]
        for t in toks[::-1]:
            bwd.append(a.backward_open(bwd[-1]) if t < 0 else a.backward_token(bwd[-1], int(t)))
        self._fwd[r], self._bwd[r] = fwd, bwd[::-1]

    def open_positions(self) -> np.ndarray:
        return np.nonzero(self.tokens < 0)[0]

    def is_complete(self) -> bool:
        return bool((self.tokens >= 0).all())

    def _locate(self, pos: int):
        r = int(self.template.region_of[pos])
        return r, pos - self.template.regions[r].start

    def mask_rows(self, positions) -> np.ndarray:
        """Mask-table row of every given open position."""
        rows = np.empty(len(positions), np.int64)
        table = self.template.masks
        for j, pos in enumerate(positions):
            r, i = self._locate(int(pos))
            fwd, bwd = self._fwd[r], self._bwd[r]
            rows[j] = table.row(self.template.regions[r].automaton, fwd[i] & bwd[i], bwd[i + 1] & fwd[i + 1])
        return rows

    def can_commit(self, pos: int, token: int) -> bool:
        r, i = self._locate(pos)
        a = self.template.regions[r].automaton
        return bool(self.template.vocab.generable[token]) and \
            bool(a.forward_token(self._fwd[r][i] & self._bwd[r][i], token) & self._bwd[r][i + 1])

    def commit(self, pos: int, token: int) -> bool:
        """Commit ``token`` at open ``pos`` if the canvas stays completable; report whether it did."""
        if self.tokens[pos] >= 0 or not self.can_commit(pos, token):
            return False
        self.tokens[pos] = token
        self._update(self._locate(pos)[0])
        return True

    def text(self) -> str:
        if not self.is_complete():
            raise RuntimeError("the canvas still has open positions")
        return self.template.vocab.decode(self.tokens).decode("utf-8")
