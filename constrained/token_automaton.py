"""A byte-level DFA lifted to tokens: where each token takes each state, and exact masks.

Tokens are grouped by their sequence of the DFA's byte classes (read off the vocabulary's
token trie, and shared by every DFA with the same byte classes), so the walk runs once per
distinct class sequence, not once per token. State sets are numpy bool vectors; one step
over an open position is a row/column gather of the reachability matrix.
"""
from __future__ import annotations

import numpy as np

from .automaton.dfa import DEAD, DFA, MAX_STATES, reached
from .bounded_cache import BoundedCache
from .errors import SchemaTooComplexError
from .vocabulary import TokenVocabulary

_SEQUENCES: BoundedCache = BoundedCache(32)          # (vocabulary, byte partition) -> class sequences


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


def _reachable_part(nxt: np.ndarray, accept: np.ndarray, usable: np.ndarray):
    """``nxt`` (dead = last row) and ``accept`` narrowed to the states that usable tokens
    reach from state 0 (a counted loop's expansion has counts no path can produce)."""
    dead = len(accept)
    seeds = np.zeros(dead + 1, bool)
    seeds[[0, dead]] = True
    moves = nxt[:, usable]
    seen = reached(seeds, lambda states: np.unique(moves[states]))
    if seen.all():
        return nxt, accept
    keep = np.nonzero(seen)[0]                     # the dead row stays last
    remap = np.full(dead + 1, len(keep) - 1, np.int32)
    remap[keep] = np.arange(len(keep), dtype=np.int32)
    return remap[nxt[keep]], accept[keep[:-1]]


class _Walk:
    """Every class sequence walked from every DFA state, one trie depth at a time.

    Besides the end state, it records for counted loops: ``first``, characters started in
    the loop the walk began in; ``left``, whether it left that loop; ``later``, characters
    in the loop entered last. A loop entered and left inside one token is checked here.
    """

    def __init__(self, dfa: DFA, table: np.ndarray) -> None:
        n = self.n = dfa.n_states
        self.ext = np.full((n + 1, table.shape[1]), n, np.int32)     # row n = dead
        self.ext[:n] = np.where(table == DEAD, n, table)
        self.dfa = dfa
        segment, head = dfa.tags()
        self.segment, self.head = np.append(segment, -1), np.append(head, False)
        self.lo, self.hi, self.top = dfa.bound_arrays()
        self.counted = bool(dfa.bounds)

    def run(self, seq_parent, seq_class, depth_start) -> None:
        n, total = self.n, len(seq_parent)
        self.state = np.empty((n + 1, total), np.int32)
        self.state[:, 0] = np.arange(n + 1)
        if self.counted:
            self.first = np.zeros((n + 1, total), np.int16)
            self.later = np.zeros((n + 1, total), np.int16)
            self.left = np.zeros((n + 1, total), bool)
            self.left[:, 0] = self.segment < 0
        for d in range(1, len(depth_start) - 1):
            lo, hi = depth_start[d], depth_start[d + 1]
            parent, cls = seq_parent[lo:hi], seq_class[lo:hi][None, :]
            q = self.state[:, parent]
            nq = self.ext[q, cls]
            if self.counted:
                nq = self._count(slice(lo, hi), parent, q, nq)
            self.state[:, lo:hi] = nq
        if self.counted:             # the radix that packs the counts into one code
            self.width = int(max(self.first.max(), self.later.max())) + 1

    def _count(self, cols: slice, parent, q, nq):
        sq, snq = self.segment[q], self.segment[nq]
        left, later = self.left[:, parent], self.later[:, parent]
        start = (sq >= 0) & (snq == sq) & self.head[q]       # a byte that starts a character
        self.first[:, cols] = self.first[:, parent] + (start & ~left)
        leaving = (sq >= 0) & (snq != sq)
        bad = leaving & left & (later < self.lo[sq])
        later = np.where(snq != sq, 0, later + (start & left))
        bad |= later > self.hi[snq]
        self.later[:, cols], self.left[:, cols] = later, left | leaving
        return np.where(bad, self.n, nq)

    def code(self) -> np.ndarray:
        """One integer per (state, sequence) that tells outcomes apart."""
        if not self.counted:
            return self.state
        out = self.later.astype(np.int64) * 2 + self.left
        return (out * self.width + self.first) * (self.n + 1) + self.state

    def expand(self, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(next over expanded states with dead row, accepting expanded states) from distinct
        ``code`` columns: a loop state q becomes states (q, c) for counts c = 0..hi."""
        n = self.n
        if not self.counted:
            return columns, self.dfa.accept
        state = columns % (n + 1)
        rest = columns // (n + 1)
        first, rest = rest % self.width, rest // self.width
        left, later = (rest % 2).astype(bool), rest // 2
        seg = self.segment[:n]
        width = np.where(seg >= 0, self.top[seg] + 1, 1)
        off = np.concatenate([[0], np.cumsum(width)])
        total = int(off[-1])
        if total > MAX_STATES:
            raise SchemaTooComplexError(f"length bounds need {total} automaton states (limit {MAX_STATES})")
        nxt = np.full((total + 1, columns.shape[1]), total, np.int32)
        for q in range(n):
            k = seg[q]
            rows = slice(off[q], off[q + 1])
            entered = np.minimum(later[q], self.top[self.segment[state[q]]])
            if k < 0:
                nxt[rows] = np.where(state[q] < n, off[state[q]] + entered, total)
                continue
            count = np.arange(width[q])[:, None] + first[q][None, :]
            ok = (state[q] < n) & (count <= self.hi[k]) & (~left[q] | (count >= self.lo[k]))
            kept = np.minimum(count, self.top[k])
            nxt[rows] = np.where(ok, off[state[q]] + np.where(left[q], entered, kept), total)
        base = np.repeat(np.arange(n), width)
        return nxt, self.dfa.accepts(base, np.arange(total) - off[base])


class TokenAutomaton:
    """``next[q, u]``: the state after reading any token of class sequence ``u`` from ``q``.

    States are the DFA's, except that a state inside a counted loop becomes one state per
    count (0..hi): the walk over the vocabulary runs on the DFA's few loop states and
    records character counts, and the expansion to counts is arithmetic.
    """

    def __init__(self, dfa: DFA, vocab: TokenVocabulary) -> None:
        self.dfa = dfa
        self.vocab = vocab
        class_of, table = dfa.byte_classes()
        seq_parent, seq_class, depth_start, tok_seq = _sequences(vocab, class_of)
        seqs, tok2seq = np.unique(tok_seq, return_inverse=True)
        walk = _Walk(dfa, table)
        walk.run(seq_parent, seq_class, depth_start)
        columns, seq2u = _distinct_columns(walk.code()[:, seqs])
        tok2u = seq2u[tok2seq.reshape(-1)]
        nxt, accept = walk.expand(columns)
        usable = np.zeros(nxt.shape[1], bool)
        usable[tok2u[vocab.generable]] = True
        nxt, self.accept = _reachable_part(nxt, accept, usable)
        self.next, u2col = _distinct_columns(nxt)               # (n+1, U), dead = n
        self.tok2u = u2col[tok2u]
        usable = np.zeros(self.next.shape[1], bool)
        usable[self.tok2u[vocab.generable]] = True
        n = self.dead = len(self.accept)
        usable_next = np.where(usable[None, :], self.next, n)
        reach = np.zeros((n + 1, n + 1), bool)
        reach[np.arange(n + 1)[:, None], usable_next] = True
        self.reach = np.ascontiguousarray(reach[:n, :n])        # q -> q' by some usable token
        self.reach_t = np.ascontiguousarray(self.reach.T)
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
