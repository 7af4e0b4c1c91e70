"""A byte-level DFA lifted to tokens: where each token takes each state, and exact masks.

Tokens are grouped by their sequence of the DFA's byte classes (read off the vocabulary's
token trie, and shared by every DFA with the same byte classes), so the walk runs once per
distinct class sequence, not once per token. State sets are numpy bool vectors; one step
over an open position is a row/column gather of the reachability matrix.
"""
from __future__ import annotations

import numpy as np

from .automaton.dfa import DEAD, DFA
from .vocabulary import TokenVocabulary


_SEQUENCES: dict[tuple[str, bytes], tuple] = {}


def _sequences(vocab: TokenVocabulary, class_of: np.ndarray):
    """Class-sequence structure of the vocabulary under a byte partition, cached."""
    key = (vocab.content_hash, class_of.astype(np.uint8).tobytes())
    cached = _SEQUENCES.get(key)
    if cached is None:
        seq_parent, seq_class, depth_start, node_seq = vocab.trie.class_sequences(class_of)
        cached = _SEQUENCES[key] = (seq_parent, seq_class, depth_start, node_seq[vocab.trie.token_node])
    return cached


def _distinct_columns(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge columns that are equal (tokens that act alike from every state).

    Columns are grouped by a 64-bit hash, then checked for exact equality (a collision
    falls back to exact grouping), so the result is exact.
    """
    hashes = np.zeros(table.shape[1], np.int64)
    with np.errstate(over="ignore"):
        for row in table:                       # polynomial hash, wrapping in 64 bits
            hashes *= np.int64(1_000_003)
            hashes += row
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    distinct = table[:, first]
    if not np.array_equal(distinct[:, inverse], table):
        distinct, inverse = np.unique(table, axis=1, return_inverse=True)
        inverse = inverse.reshape(-1)
    return np.ascontiguousarray(distinct), inverse


class TokenAutomaton:
    """``next[q, u]``: the state after reading any token of class sequence ``u`` from ``q``."""

    def __init__(self, dfa: DFA, vocab: TokenVocabulary) -> None:
        self.dfa = dfa
        self.vocab = vocab
        n = dfa.n_states
        self.dead = n
        class_of, table = dfa.byte_classes()
        seq_parent, seq_class, depth_start, tok_seq = _sequences(vocab, class_of)
        # Walk every class sequence from every state, one depth at a time (row n = dead).
        ext = np.full((n + 1, table.shape[1]), n, np.int32)
        ext[:n] = np.where(table == DEAD, n, table)
        walk = np.empty((n + 1, len(seq_parent)), np.int32)
        walk[:, 0] = np.arange(n + 1)
        for d in range(1, len(depth_start) - 1):
            lo, hi = depth_start[d], depth_start[d + 1]
            walk[:, lo:hi] = ext[walk[:, seq_parent[lo:hi]], seq_class[lo:hi][None, :]]
        seqs, tok2seq = np.unique(tok_seq, return_inverse=True)
        columns, seq2u = _distinct_columns(walk[:, seqs])
        self.tok2u = seq2u[tok2seq.reshape(-1)]
        self.next = columns                                  # (n+1, U), dead = n
        usable = np.zeros(self.next.shape[1], bool)
        usable[self.tok2u[vocab.generable]] = True
        usable_next = np.where(usable[None, :], self.next, n)
        reach = np.zeros((n + 1, n + 1), bool)
        reach[np.arange(n + 1)[:, None], usable_next] = True
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
