"""A byte-level DFA lifted to tokens: where each token takes each state, and exact masks.

Tokens are grouped by their sequence of the DFA's byte classes, so the walk runs once per
distinct class sequence (a few thousand, not the whole vocabulary). State sets are Python
ints used as bitsets (bit q = state q), which keeps the per-commit bookkeeping cheap.
"""
from __future__ import annotations

import numpy as np

from .automaton.dfa import DEAD, DFA
from .vocabulary import TokenVocabulary


def _bits(states) -> int:
    out = 0
    for q in states:
        out |= 1 << int(q)
    return out


def iter_bits(bits: int):
    while bits:
        low = bits & -bits
        yield low.bit_length() - 1
        bits ^= low


class TokenAutomaton:
    """``next[q, u]``: the state after reading any token of class sequence ``u`` from ``q``."""

    def __init__(self, dfa: DFA, vocab: TokenVocabulary) -> None:
        self.dfa = dfa
        self.vocab = vocab
        n = dfa.n_states
        self.dead = n
        class_of, table = dfa.byte_classes()
        n_classes = table.shape[1]
        matrix, lengths = vocab.byte_matrix
        in_token = np.arange(matrix.shape[1])[None, :] < lengths[:, None]
        seqs = np.where(in_token, class_of[matrix], n_classes).astype(np.int32)
        uniq, self.tok2u = np.unique(seqs, axis=0, return_inverse=True)
        self.tok2u = self.tok2u.reshape(-1)
        # Extended table: row n is the dead state, column n_classes is "token ended".
        ext = np.full((n + 1, n_classes + 1), n, np.int32)
        ext[:n, :n_classes] = np.where(table == DEAD, n, table)
        ext[:, n_classes] = np.arange(n + 1)
        state = np.broadcast_to(np.arange(n + 1, dtype=np.int32)[:, None], (n + 1, len(uniq)))
        for k in range(uniq.shape[1]):
            state = ext[state, uniq[None, :, k]]
        self.next = state                                    # (n+1, U), dead = n
        usable = np.zeros(len(uniq), bool)
        usable[self.tok2u[vocab.generable]] = True
        usable_next = np.where(usable[None, :], self.next, n)
        self.succ = [_bits(t for t in np.unique(usable_next[q]) if t != n) for q in range(n)]
        self.pred = [0] * n
        for q in range(n):
            for t in iter_bits(self.succ[q]):
                self.pred[t] |= 1 << q
        self.accept = _bits(np.nonzero(dfa.accept)[0])
        self.start = 1
        self._usable = usable

    # --- state-set operations used by the canvas -----------------------------------------
    def forward_open(self, states: int) -> int:
        out = 0
        for q in iter_bits(states):
            out |= self.succ[q]
        return out

    def backward_open(self, after: int) -> int:
        out = 0
        for q in iter_bits(after):
            out |= self.pred[q]
        return out

    def forward_token(self, states: int, token: int) -> int:
        col = self.next[:, self.tok2u[token]]
        return _bits(t for t in (col[q] for q in iter_bits(states)) if t != self.dead)

    def backward_token(self, after: int, token: int) -> int:
        col = self.next[:-1, self.tok2u[token]]
        return _bits(q for q in range(self.dead) if col[q] != self.dead and after >> int(col[q]) & 1)

    def allowed(self, before: int, after: int) -> np.ndarray:
        """(V,) bool: tokens leading from some state in ``before`` to some state in ``after``."""
        target = np.zeros(self.dead + 1, bool)
        target[list(iter_bits(after))] = True
        ok_u = np.zeros(self.next.shape[1], bool)
        for q in iter_bits(before):
            ok_u |= target[self.next[q]]
        return ok_u[self.tok2u] & self.vocab.generable

    def min_tokens(self) -> int | None:
        """Fewest tokens from the start to acceptance (None if impossible)."""
        frontier, seen, steps = self.start, self.start, 0
        while frontier:
            if frontier & self.accept:
                return steps
            frontier = self.forward_open(frontier) & ~seen
            seen |= frontier
            steps += 1
        return None
