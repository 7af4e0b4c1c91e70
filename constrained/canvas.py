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


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal state sets (bool vectors of one automaton): ten times faster than array_equal."""
    return a.tobytes() == b.tobytes()


class CanvasState:
    def __init__(self, template: CanvasTemplate, tokens: np.ndarray | None = None) -> None:
        self.template = template
        self.tokens = template.tokens.copy() if tokens is None else tokens.copy()
        self._fwd: list[list[np.ndarray]] = [[] for _ in template.regions]
        self._bwd: list[list[np.ndarray]] = [[] for _ in template.regions]
        self._rows = np.full(len(self.tokens), -1, np.int64)     # mask row per position, -1: stale
        for r in range(len(template.regions)):
            self._recompute(r)

    def _recompute(self, r: int) -> None:
        """Every state set of region r, from its start and accepting states: the open
        positions before its first commit and after its last are the automaton's kept runs."""
        region = self.template.regions[r]
        self._rows[region.start: region.start + region.length] = -1
        a, toks = region.automaton, self._region_tokens(region)
        committed = np.flatnonzero(toks >= 0)
        first = int(committed[0]) if len(committed) else len(toks)
        last = int(committed[-1]) + 1 if len(committed) else 0
        fwd = a.after_open(first)
        for t in toks[first:]:
            fwd.append(self._step_forward(a, fwd[-1], t))
        bwd = a.finishing_in(len(toks) - last)
        for t in toks[:last][::-1]:
            bwd.append(self._step_backward(a, bwd[-1], t))
        self._fwd[r], self._bwd[r] = fwd, bwd[::-1]

    def _region_tokens(self, region):
        return self.tokens[region.start: region.start + region.length]

    @staticmethod
    def _step_forward(a, states, token):
        return a.forward_open(states) if token < 0 else a.forward_token(states, int(token))

    @staticmethod
    def _step_backward(a, after, token):
        return a.backward_open(after) if token < 0 else a.backward_token(after, int(token))

    def _propagate(self, r: int, i: int, reached: np.ndarray) -> None:
        """Position i of region r was committed, which leads into ``reached``: refresh sets
        right of it (forward) and left of it (backward), stopping as soon as a set comes out
        unchanged."""
        region = self.template.regions[r]
        a, toks, fwd, bwd = region.automaton, self._region_tokens(region), self._fwd[r], self._bwd[r]
        last, first, new = i, i + 1, reached      # fwd[i+1 .. last] and bwd[first .. i] change
        while last < len(toks) and not _same(new, fwd[last + 1]):
            last += 1
            fwd[last] = new
            if last < len(toks):
                new = self._step_forward(a, new, toks[last])
        for j in range(i, -1, -1):
            new = self._step_backward(a, bwd[j + 1], toks[j])
            if _same(new, bwd[j]):
                break
            bwd[j], first = new, j
        # a position's row reads the sets on both its sides: those next to a changed set are stale
        self._rows[region.start + max(first - 1, 0): region.start + min(last + 1, len(toks))] = -1

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
            pos = int(pos)
            if self._rows[pos] < 0:
                r, i = self._locate(pos)
                fwd, bwd = self._fwd[r], self._bwd[r]
                self._rows[pos] = table.row(self.template.regions[r].automaton, fwd[i] & bwd[i], bwd[i + 1] & fwd[i + 1])
            rows[j] = self._rows[pos]
        return rows

    def commit(self, pos: int, token: int) -> bool:
        """Commit ``token`` at open ``pos`` if the canvas stays completable; report whether it did.

        It does iff the token leads from a state reachable before ``pos`` into one from which
        the rest can finish (the state it leaves can then finish too, by this very token)."""
        if self.tokens[pos] >= 0 or not self.template.vocab.generable[token]:
            return False
        r, i = self._locate(pos)
        reached = self.template.regions[r].automaton.forward_token(self._fwd[r][i], token)
        if not (reached & self._bwd[r][i + 1]).any():
            return False
        self.tokens[pos] = token
        self._propagate(r, i, reached)
        return True

    def pin(self, positions: np.ndarray, tokens: list[int]) -> None:
        """Commit tokens that every completion has (each the only one its exact mask allows)
        all at once: each touched region is recomputed once instead of propagated per token."""
        self.tokens[positions] = tokens
        for r in {self._locate(int(p))[0] for p in positions}:
            self._recompute(r)

    def full_regions(self) -> list[int]:
        """Regions where the lack of room restricted the last token: more positions would
        have allowed tokens the end of the slot did not (the value may be cut short)."""
        full = []
        for r, region in enumerate(self.template.regions):
            a, before = region.automaton, self._fwd[r][region.length - 1]
            if region.literal or not before.any():
                continue
            tight = a.allowed(before, a.accept)
            loose = a.allowed(before, np.ones_like(a.accept))
            if (loose & ~tight).any():
                full.append(r)
        return full

    def moved_to(self, template: CanvasTemplate, reopen: list[int]) -> "CanvasState":
        """This canvas on a re-laid-out ``template``: other regions keep their tokens; the
        regions in ``reopen``, which ran out of room, keep their start (all but the last
        token, which had to close the value) and go on from there in their longer slot."""
        tokens = template.tokens.copy()
        for r, (old, new) in enumerate(zip(self.template.regions, template.regions)):
            if r not in reopen:
                tokens[new.start: new.start + new.length] = self.tokens[old.start: old.start + old.length]
        state = CanvasState(template, tokens)
        for r in reopen:
            old, new = self.template.regions[r], template.regions[r]
            for i in range(old.length - 1):
                token, pos = int(self.tokens[old.start + i]), new.start + i
                if state.tokens[pos] != token and not state.commit(pos, token):
                    break
        return state

    def text(self) -> str:
        if not self.is_complete():
            raise RuntimeError("the canvas still has open positions")
        return self.template.vocab.decode(self.tokens).decode("utf-8")
