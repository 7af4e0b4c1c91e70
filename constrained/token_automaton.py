"""A byte-level DFA lifted to tokens: where each token takes each state, and exact masks.

Tokens are grouped by their sequence of the DFA's byte classes (read off the vocabulary's
token trie, and shared by every DFA with the same byte classes), so the walk runs once per
distinct class sequence, not once per token. The walk is sparse: it carries only the
(start state, sequence) pairs still alive, so a state that few tokens leave alive (inside
a key, an enum, a pattern) costs what it reads, not the whole vocabulary. State sets are
numpy bool vectors; one step over an open position is a row/column gather of the
reachability matrix.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .automaton.dfa import DEAD, DFA, reached
from .automaton.distinct import distinct_columns
from .bounded_cache import BoundedCache
from .errors import SchemaTooComplexError
from .vocabulary import TokenVocabulary

_SMALL = 32     # up to this many states a bool matrix product (~0.8 us) beats walking the edges
                # (~2 us); numpy's bool product does not scale: 24 us at 300 states. Edges cost in
                # proportion to their number (0.3 ms for 360k), where a dense matrix costs n^2 bytes
MAX_TABLE = 8_000_000    # entries of a counted automaton's transition table (int32: 32 MB; per-step work grows with it)
MAX_WALK = 32_000_000    # (state, token prefix) pairs the walk visits, counting those that die at once
                         # (~20 bytes each kept, ~40 in flight: about 1.3 GB at the limit)
_KEPT_BYTES = 1 << 18   # per automaton and direction: bytes of successor sets kept (as many again in keys)
_CLASS_TRIES: BoundedCache = BoundedCache(32)          # (vocabulary, byte partition) -> _ClassTrie


@dataclass(frozen=True)
class _ClassTrie:
    """The vocabulary's token trie with each byte replaced by its class under one DFA.

    Node s extends its parent by class ``seq_class[s]``; its children are the nodes
    ``child_start[s]:child_start[s + 1]``. Tokens spelling the same class sequence end at
    the same node: ``tok_end[t]`` numbers it among the ``n_ends`` nodes where a token ends,
    and ``end_of[s]`` is that number (-1 where no token ends).
    """
    seq_class: np.ndarray
    child_start: np.ndarray
    end_of: np.ndarray
    tok_end: np.ndarray
    n_ends: int

    @classmethod
    def of(cls, vocab: TokenVocabulary, class_of: np.ndarray) -> "_ClassTrie":
        """Cached per (vocabulary, byte partition): DFAs with the same byte classes share it."""
        key = (vocab.content_hash, class_of.astype(np.uint8).tobytes())
        cached = _CLASS_TRIES.get(key)
        if cached is None:
            trie, symbol_class = vocab.trie_for(class_of)
            seq_parent, seq_class, _, node_seq = trie.class_sequences(symbol_class)
            tok_seq = node_seq[trie.token_node]
            is_end = np.zeros(len(seq_parent), bool)
            is_end[tok_seq] = True
            end_of = np.where(is_end, np.cumsum(is_end) - 1, -1)
            # nodes are numbered depth by depth and by parent within a depth, so parents
            # never decrease and each node's children are one contiguous run
            child_start = np.concatenate([[1], 1 + np.cumsum(np.bincount(seq_parent[1:], minlength=len(seq_parent)))])
            cached = _CLASS_TRIES[key] = cls(seq_class, child_start, end_of, end_of[tok_seq], int(is_end.sum()))
        return cached


def _ranges(begin: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``begin[i] .. begin[i] + count[i] - 1`` for every i, concatenated (no Python loop)."""
    return np.repeat(begin - np.cumsum(count) + count, count) + np.arange(int(count.sum()))


_ONE_FALSE = np.zeros(1, bool)


def _or_dead(members: np.ndarray) -> np.ndarray:
    """A bool vector extended by one False entry, for the last (dead, or never allowed)
    index of a table (np.append does the same in twice the time)."""
    return np.concatenate((members, _ONE_FALSE))


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
    """Every class sequence walked from every DFA state, as sparse (start, sequence) pairs.

    Besides the end state, it records for counted loops: ``first``, characters started in
    the loop the walk began in; ``left``, whether it left that loop; ``later``, characters
    in the loop entered last. A loop entered and left inside one token is checked here.
    """

    def __init__(self, dfa: DFA, table: np.ndarray) -> None:
        n = self.n = dfa.n_states
        self.ext = np.where(table == DEAD, n, table).astype(np.int32)     # dead = n
        self.dfa = dfa
        segment, head = dfa.tags()
        self.segment, self.head = np.append(segment, -1), np.append(head, False)
        self.lo, self.hi, self.top = dfa.bound_arrays()
        self.counted = bool(dfa.bounds)

    def run(self, trie: _ClassTrie) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start state, token-ending sequence, outcome ``code``) of every walk that stays alive."""
        n = self.n
        start = np.arange(n, dtype=np.int32)
        q, s = start.copy(), np.zeros(n, np.int64)
        counts = (np.zeros(n, np.int16), np.zeros(n, np.int16), self.segment[:n] < 0) if self.counted else ()
        found, visited = [], 0
        while len(s):
            hit = trie.end_of[s] >= 0
            found.append((start[hit], trie.end_of[s[hit]], q[hit]) + tuple(c[hit] for c in counts))
            lo = trie.child_start[s]
            n_children = trie.child_start[s + 1] - lo
            visited += int(n_children.sum())
            if visited > MAX_WALK:                 # a large automaton on a large vocabulary: stop before allocating
                raise SchemaTooComplexError(f"reading the vocabulary from {n} automaton states passes "
                                            f"{MAX_WALK:,} (state, token prefix) pairs")
            parent = np.repeat(np.arange(len(s)), n_children)
            child = _ranges(lo, n_children)
            pq = q[parent]
            nq = self.ext[pq, trie.seq_class[child]]
            if self.counted:
                nq, counts = self._count(pq, nq, *(c[parent] for c in counts))
            alive = nq < n
            start, q, s = start[parent[alive]], nq[alive], child[alive]
            counts = tuple(c[alive] for c in counts)
        start, end, state, *counts = (np.concatenate(column) for column in zip(*found))
        return start, end, self.code(state, *counts)

    def _count(self, q, nq, first, later, left):
        sq, snq = self.segment[q], self.segment[nq]
        start = (sq >= 0) & (snq == sq) & self.head[q]       # a byte that starts a character
        first = first + (start & ~left)
        leaving = (sq >= 0) & (snq != sq)
        bad = leaving & left & (later < self.lo[sq])
        later = np.where(snq != sq, 0, later + (start & left))
        bad |= later > self.hi[snq]
        return np.where(bad, self.n, nq), (first, later, left | leaving)

    def code(self, state, first=None, later=None, left=None) -> np.ndarray:
        """One integer per walk that tells outcomes apart: the state, and loop counts
        (``first``, ``later``, ``left``: see the class) where there are counted loops."""
        if not self.counted:
            return state.astype(np.int64)
        self.width = int(max(first.max(initial=0), later.max(initial=0))) + 1   # the radix of the counts
        out = later.astype(np.int64) * 2 + left
        return (out * self.width + first) * (self.n + 1) + state

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
        if total * columns.shape[1] > MAX_TABLE:
            raise SchemaTooComplexError(f"length bounds need {total} automaton states over {columns.shape[1]} "
                                        f"token classes (limit {MAX_TABLE:,} table entries)")
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


class _Adjacency:
    """Edges grouped by their first end: one step over a state set walks every edge when
    many states are in it, and only the edges of its states when few are (e.g. a position
    inside one string, key or number of a large automaton)."""

    def __init__(self, src: np.ndarray, dst: np.ndarray, n: int) -> None:
        self.src, self.dst, self.n = src, dst, n
        self.first = np.searchsorted(src, np.arange(n + 1))      # edges of q: first[q]:first[q+1]
        self._seen: dict[bytes, np.ndarray] = {}

    def step(self, states: np.ndarray) -> np.ndarray:
        """The states one edge leads to (read-only: results are kept, since a canvas steps
        through the same sets again and again, e.g. inside every string of a slot)."""
        key = states.tobytes()
        out = self._seen.get(key)
        if out is None:
            out = self._step(states)
            out.flags.writeable = False
            if len(self._seen) * self.n >= _KEPT_BYTES:
                self._seen.clear()
            self._seen[key] = out
        return out

    def _step(self, states: np.ndarray) -> np.ndarray:
        out = np.zeros(self.n, bool)
        active = np.flatnonzero(states)
        if len(active) * 16 > self.n:                           # dense: one pass over every edge
            out[self.dst[states[self.src]]] = True
            return out
        out[self.dst[_ranges(self.first[active], self.first[active + 1] - self.first[active])]] = True
        return out


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
        trie = _ClassTrie.of(vocab, class_of)
        walk = _Walk(dfa, table)
        columns, end2u = distinct_columns(*walk.run(trie), (walk.n + 1, trie.n_ends), walk.n)
        tok2u = end2u[trie.tok_end]
        nxt, accept = walk.expand(columns)
        usable = np.zeros(nxt.shape[1], bool)
        usable[tok2u[vocab.generable]] = True
        nxt, self.accept = _reachable_part(nxt, accept, usable)
        dead = len(self.accept)
        rows, cols = np.nonzero(nxt != dead)
        self.next, u2col = distinct_columns(rows, cols, nxt[rows, cols], nxt.shape, dead)   # (n+1, U)
        self.tok2u = u2col[tok2u]              # (V,) intp: indexing with int32 is 3x slower (a cast per gather)
        self._generable_tok2u = np.where(vocab.generable, self.tok2u, self.next.shape[1])   # last: never allowed
        self._by_token = np.ascontiguousarray(self.next[:-1].T)    # a column per row: one token's moves, read per commit
        self._by_column = None                 # (tokens by column, column starts, sizes): see few_tokens_of
        usable = np.zeros(self.next.shape[1], bool)
        usable[self.tok2u[vocab.generable]] = True
        n = self.dead = len(self.accept)
        # q -> q' by some usable token: a bool matrix while small, else a list of edges
        steps = np.sort(self.next[:n][:, usable], axis=1)
        fresh = steps < n
        fresh[:, 1:] &= steps[:, 1:] != steps[:, :-1]          # each target once per state
        src, dst = np.nonzero(fresh)[0], steps[fresh]
        self._out = _Adjacency(src, dst, n)                      # sorted by source already
        by_dst = np.argsort(dst, kind="stable")
        self._in = _Adjacency(dst[by_dst], src[by_dst], n)
        if n <= _SMALL:
            self.reach = np.zeros((n, n), bool)
            self.reach[src, dst] = True
        self.start = np.zeros(n, bool)
        self.start[0] = n > 0

    # --- state-set operations used by the canvas -----------------------------------------
    def forward_open(self, states: np.ndarray) -> np.ndarray:
        """States reachable from ``states`` by one usable token."""
        if self.dead <= _SMALL:
            return states @ self.reach
        return self._out.step(states)

    def backward_open(self, after: np.ndarray) -> np.ndarray:
        """States from which one usable token leads into ``after``."""
        if self.dead <= _SMALL:
            return self.reach @ after
        return self._in.step(after)

    def forward_token(self, states: np.ndarray, token: int) -> np.ndarray:
        out = np.zeros(self.dead + 1, bool)
        out[self._by_token[self.tok2u[token]][states]] = True
        return out[:-1]

    def backward_token(self, after: np.ndarray, token: int) -> np.ndarray:
        return _or_dead(after)[self._by_token[self.tok2u[token]]]

    def allowed_columns(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        """(U,) bool: the token columns leading from some state in ``before`` into ``after``."""
        return _or_dead(after)[self.next[:-1][before]].any(axis=0)

    def tokens_of(self, columns: np.ndarray) -> np.ndarray:
        """(V,) bool: the generable tokens in the given columns. Where nearly all are (string
        content), the generable tokens less the few that are not: 12 against 150 us on 262k."""
        excluded = self._listed(~columns)
        if excluded is None:
            return _or_dead(columns)[self._generable_tok2u]
        out = self.vocab.generable.copy()
        out[excluded] = False
        return out

    def few_tokens_of(self, columns: np.ndarray) -> np.ndarray | None:
        """The generable token ids in the given columns, sorted, where they are under 1/64 of
        the vocabulary (else None): read off the tokens grouped by column, instead of a
        gather over the whole vocabulary (a digit or key position of a 262k vocabulary
        allows ~100 tokens; half the rows a canvas needs are such)."""
        ids = self._listed(columns)
        return None if ids is None else np.sort(ids)

    def _listed(self, columns: np.ndarray) -> np.ndarray | None:
        """``few_tokens_of``, unsorted."""
        if self._by_column is None:            # built on first use: a sort of the vocabulary
            small = np.uint16 if len(columns) < np.iinfo(np.uint16).max else np.intp   # radix sort: 5x faster
            order = np.argsort(self._generable_tok2u.astype(small), kind="stable")
            sizes = np.bincount(self._generable_tok2u, minlength=len(columns) + 1)
            self._by_column = (order, np.concatenate([[0], np.cumsum(sizes)]), sizes)
        order, starts, sizes = self._by_column
        chosen = np.flatnonzero(columns)
        counts = sizes[chosen]
        if int(counts.sum()) * 64 > len(order):
            return None
        return order[_ranges(starts[chosen], counts)]

    def allowed(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        """(V,) bool: tokens leading from some state in ``before`` to some state in ``after``."""
        return self.tokens_of(self.allowed_columns(before, after))

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
