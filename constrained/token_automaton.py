"""A byte-level DFA lifted to tokens: where each token takes each state, and exact masks.

Tokens are grouped by their sequence of the DFA's byte classes, so the walk runs once per
distinct class sequence (a few thousand, not the whole vocabulary). State sets are numpy
bool vectors; one step over an open position is a row/column gather of the reachability
matrix.
"""
from __future__ import annotations

import numpy as np

from .automaton.dfa import DEAD, DFA
from .vocabulary import TokenVocabulary


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
        reach = np.zeros((n + 1, n + 1), bool)
        rows = np.repeat(np.arange(n + 1), usable_next.shape[1])
        reach[rows, usable_next.reshape(-1)] = True
        self.reach = np.ascontiguousarray(reach[:n, :n])        # q -> q' by some usable token
        self.reach_t = np.ascontiguousarray(self.reach.T)
        self.accept = dfa.accept.copy()
        self.start = np.zeros(n, bool)
        self.start[0] = n > 0

    # --- state-set operations used by the canvas -----------------------------------------
    def forward_open(self, states: np.ndarray) -> np.ndarray:
        return self.reach[states].any(axis=0)

    def backward_open(self, after: np.ndarray) -> np.ndarray:
        return self.reach_t[after].any(axis=0)

    def forward_token(self, states: np.ndarray, token: int) -> np.ndarray:
        out = np.zeros(self.dead + 1, bool)
        out[self.next[:-1, self.tok2u[token]][states]] = True
        return out[:-1]

    def backward_token(self, after: np.ndarray, token: int) -> np.ndarray:
        return np.append(after, False)[self.next[:-1, self.tok2u[token]]]

    def allowed(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        """(V,) bool: tokens leading from some state in ``before`` to some state in ``after``."""
        target = np.append(after, False)
        ok_u = target[self.next[:-1][before]].any(axis=0)
        return ok_u[self.tok2u] & self.vocab.generable

    def min_tokens(self) -> int | None:
        """Fewest tokens from the start to acceptance (None if impossible)."""
        frontier, seen, steps = self.start, self.start.copy(), 0
        while frontier.any():
            if (frontier & self.accept).any():
                return steps
            frontier = self.forward_open(frontier) & ~seen
            seen |= frontier
            steps += 1
        return None
