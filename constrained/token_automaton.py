"""A byte-level DFA lifted to tokens: where each token takes each state, and exact masks.

The vocabulary is read once per DFA, off its token trie (each shared prefix read once, and
bytes by UTF-8 role where the DFA allows), and tokens with the same effect from every state
share one column. The walk is sparse: it carries only the (start state, prefix) pairs still
alive, so a state that few tokens leave alive (inside a key, an enum, a number) costs what
it reads. The states where nearly every token stays alive are inside strings: there a
*plain* token only counts characters, so those states read the plain tokens (nearly all of
a real vocabulary) by arithmetic and walk only the few others; so do the states that enter
a string on a token's first character (after an escape), and runs of one repeated symbol
(whitespace) are read at once where a state loops on it. State sets are numpy bool
vectors; one step over an open position is a bool matrix product (small automata) or a
pass over edges.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .automaton.dfa import DEAD, DFA, side_by_side
from .automaton.distinct import distinct_columns
from .automaton.graph import edges_of, ranges, reached, row_starts
from .bounded_cache import BoundedCache
from .errors import SchemaTooComplexError
from .vocabulary import TokenTrie, TokenVocabulary

_SMALL = 32     # up to this many states a bool matrix product (~0.8 us) beats walking the edges
                # (~2 us); numpy's bool product does not scale: 24 us at 300 states. Edges cost in
                # proportion to their number (0.3 ms for 360k), where a dense matrix costs n^2 bytes
MAX_TABLE = 8_000_000    # entries of a counted automaton's transition table (int32: 32 MB; per-step work grows with it)
MAX_WALK = 32_000_000    # (state, token prefix) pairs the walk visits, counting those that die at once
                         # (~20 bytes each kept, ~40 in flight: about 1.3 GB at the limit)
_KEPT_BYTES = 1 << 18   # per automaton and direction: bytes of successor sets kept (as many again in keys)
_KEPT_RUN = 1 << 20     # per automaton and direction: bytes of state sets kept along an open region
_SPLITS: BoundedCache = BoundedCache(8)          # (vocabulary, coarse?) -> _Split
_CLASS_TREES: BoundedCache = BoundedCache(32)    # (vocabulary, coarse?, byte partition) -> class tree, key per end
_FEW = 64                # a mask row under 1/_FEW of the vocabulary is built from its token ids
_DENSE_WALK = 1_000_000  # (state, prefix) pairs read off the vocabulary's own trie, past which a
                         # DFA's class tree is built and read instead (57 ns a pair: ~60 ms)
_PROJECT_FROM = 2        # from this trie depth on, a walk whose frontier, spread over the nodes below as
_PROJECTED = 4           # at its depth, comes to _PROJECTED * MAX_WALK pairs is refused before reading them
                         # (JSONSchemaBench, gemma3-262k: walks that end under MAX_WALK project at most 74M
                         # from depth 2 and 35M from depth 3; 13 of the 15 refused, 190M and more)
_BATCHED = 64           # DFAs of up to this many states are read off the vocabulary together (token_automata)
_BATCH_WALK = 4_000_000  # (state, prefix) pairs such a joint walk may read before each is read alone
_RUN_FRONTIER = 1024     # (state, prefix) pairs in flight up to which the walk looks for runs (see _Tree)
_PLAIN_ASCII = np.array([b for b in range(0x20, 0x80) if b not in b'"\\'])
_CONT = (0x80, 0xBF)
_MULTIBYTE = (((0xC2, 0xDF), _CONT), ((0xE0, 0xE0), (0xA0, 0xBF), _CONT), ((0xE1, 0xEC), _CONT, _CONT),
              ((0xED, 0xED), (0x80, 0x9F), _CONT), ((0xEE, 0xEF), _CONT, _CONT),
              ((0xF0, 0xF0), (0x90, 0xBF), _CONT, _CONT), ((0xF1, 0xF3), _CONT, _CONT, _CONT),
              ((0xF4, 0xF4), (0x80, 0x8F), _CONT, _CONT))      # every UTF-8 character past ASCII, as byte ranges


@dataclass(frozen=True)
class _Tree:
    """A token trie laid out for the walk: node s's children are the nodes
    ``child_start[s]:child_start[s + 1]``, each read as its ``symbol``. Nodes where tokens
    end are numbered: ``end_of[s]`` (-1 where none ends), and ``tok_end[t]`` for its tokens.

    A node whose whole subtree is one chain of a repeated symbol (runs of spaces or
    newlines: up to 31 deep in gemma3's vocabulary, 128 in Qwen's) has a *run*: its
    ``run_len[s]`` nodes below are ``run_nodes[run_at[s]:][:run_len[s]]``, each read as
    ``run_symbol[s]``. A state that loops on that symbol reads them all at once.
    """
    symbol: np.ndarray
    child_start: np.ndarray
    end_of: np.ndarray
    tok_end: np.ndarray
    n_ends: int
    by_end: tuple[np.ndarray, np.ndarray]    # token ids grouped by end, and group starts
    run_len: np.ndarray
    run_symbol: np.ndarray
    run_at: np.ndarray
    run_nodes: np.ndarray
    deeper: np.ndarray       # per depth d: how many nodes lie deeper than d
    level: np.ndarray        # per depth d: how many nodes lie at d

    @classmethod
    def of(cls, trie: TokenTrie) -> "_Tree":
        n = len(trie.parent)
        is_end = np.zeros(n, bool)
        is_end[trie.token_node] = True
        end_of = np.where(is_end, np.cumsum(is_end) - 1, -1)
        # nodes are numbered depth by depth and by parent within a depth, so each node's
        # children are one contiguous run
        child_start = np.concatenate([[1], 1 + np.cumsum(np.bincount(trie.parent[1:], minlength=n))])
        tok_end = end_of[trie.token_node]
        n_ends = int(is_end.sum())
        by_end = (np.argsort(tok_end, kind="stable"),
                  np.concatenate([[0], np.cumsum(np.bincount(tok_end, minlength=n_ends))]))
        return cls(trie.byte, child_start, end_of, tok_end, n_ends, by_end,
                   *_runs(trie.byte, trie.parent, child_start, trie.depth_start),
                   n - trie.depth_start[1:], np.diff(trie.depth_start))

    def tokens_at(self, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(token ids ending at any of ``ends``, how many end at each)."""
        order, starts = self.by_end
        count = starts[ends + 1] - starts[ends]
        return order[ranges(starts[ends], count)], count


def _runs(symbol: np.ndarray, parent: np.ndarray, child_start: np.ndarray, depth_start: np.ndarray):
    """(run_len, run_symbol, run_at, run_nodes) of ``_Tree``: read bottom-up, depth by depth."""
    n = len(symbol)
    only = np.diff(child_start) == 1
    child = np.where(only, child_start[:-1], 0)             # the only child, where there is one
    run_len = np.zeros(n, np.int64)
    run_symbol = np.full(n, -1, np.int64)
    for d in range(len(depth_start) - 2, -1, -1):
        nodes = np.arange(depth_start[d], depth_start[d + 1])
        nodes = nodes[only[nodes]]
        c = child[nodes]
        leaf = child_start[c + 1] == child_start[c]
        ok = leaf | ((run_len[c] > 0) & (run_symbol[c] == symbol[c]))
        run_len[nodes[ok]] = np.where(leaf, 1, run_len[c] + 1)[ok]
        run_symbol[nodes[ok]] = symbol[c[ok]]
    # each maximal run laid out once, from its head (a node whose parent has no run)
    heads = np.flatnonzero(run_len > 0)
    heads = heads[(heads == 0) | (run_len[parent[heads]] == 0)]
    offset = np.cumsum(run_len[heads]) - run_len[heads]
    run_nodes = np.zeros(int(run_len[heads].sum()), np.int64)
    run_at = np.zeros(n, np.int64)
    node, at = heads, offset
    while len(node):
        run_at[node] = at
        node = child[node]
        run_nodes[at] = node
        keep = run_len[node] > 0
        node, at = node[keep], at[keep] + 1
    return run_len, run_symbol, run_at, run_nodes


@dataclass(frozen=True)
class _Split:
    """The vocabulary as the walk reads it, per tokenizer and trie (bytes, or UTF-8 roles).

    A plain token (``TokenVocabulary.plain_chars``) read from a *plain loop*, a state that
    every plain character leads back to (inside a JSON string), only counts characters:
    there it is arithmetic. So those states walk only the ``rest`` of the vocabulary, on a
    trie of its own, and the other states walk ``every`` token (or, where that passes
    ``_DENSE_WALK``, a ``class_tree``). A token is told apart by its ``key``: its first
    symbol and characters if plain (keys ``0 .. n_plain - 1``, by first symbol), else
    ``n_plain +`` its end in ``rest``. The first symbol matters to states that enter a
    plain loop on it (after an escape in a string): there too a plain token is arithmetic.
    """
    cache_key: tuple           # (vocabulary, coarse?)
    trie: TokenTrie
    every: _Tree
    rest: _Tree
    plain_chars: np.ndarray    # per plain key: its characters
    first_keys: np.ndarray     # the plain keys of first symbol f: first_keys[f]:first_keys[f + 1]
    plain_end: np.ndarray      # per end of ``every``: whether its tokens are plain
    rest_end: np.ndarray       # per end of ``rest``: its end in ``every``
    key: np.ndarray            # (V,) int64
    generable_key: np.ndarray  # (V,) ``key``, and -1 for tokens the sampler never places
    per_key: np.ndarray        # per key: how many generable tokens have it
    key_of_end: np.ndarray     # per end of ``every``: its tokens' key (they spell the same symbols)
    by_key: tuple[np.ndarray, np.ndarray]    # generable token ids grouped by key, and group starts

    @property
    def n_plain(self) -> int:
        return len(self.plain_chars)

    @property
    def n_keys(self) -> int:
        return self.n_plain + self.rest.n_ends

    def class_tree(self, symbol_class: np.ndarray) -> tuple[_Tree, np.ndarray]:
        """(the tree of ``trie`` with each symbol replaced by its class, the key of one token
        per end): for DFAs whose states other than plain loops leave most tokens alive
        (a URI, a pattern), where the class sequences are far fewer than the tokens.
        Tokens with one class sequence act alike from every state, plain loops included,
        so any of them gives the end's key. Cached per byte partition."""
        cache_key = (self.cache_key, symbol_class.astype(np.uint8).tobytes())
        cached = _CLASS_TREES.get(cache_key)
        if cached is None:
            tree = _Tree.of(self.trie.coarsened(symbol_class))
            key_of_end = np.zeros(tree.n_ends, np.int64)
            key_of_end[tree.tok_end] = self.key
            cached = _CLASS_TREES[cache_key] = (tree, key_of_end)
        return cached

    def generable_tokens(self, keys: np.ndarray) -> np.ndarray:
        """The generable token ids with any of ``keys``."""
        order, starts = self.by_key
        return order[ranges(starts[keys], self.per_key[keys])]

    @classmethod
    def of(cls, vocab: TokenVocabulary, class_of: np.ndarray) -> tuple["_Split", np.ndarray]:
        """(the split for the trie a DFA with these byte classes reads, each trie symbol's class)."""
        trie, symbol_class = vocab.trie_for(class_of)
        coarse = trie is vocab.coarse_trie
        key = (vocab.content_hash, coarse)
        split = _SPLITS.get(key)
        if split is None:
            chars = vocab.plain_chars.astype(np.int64)
            rest_ids = np.flatnonzero(chars == 0)
            every, rest = _Tree.of(trie), _Tree.of(vocab.trie_of(rest_ids, coarse))
            first, plain, radix = vocab.first_symbols(coarse), chars > 0, int(chars.max()) + 1
            pairs, plain_key = np.unique(first[plain] * radix + chars[plain], return_inverse=True)
            token_key = np.zeros(len(chars), np.int64)
            token_key[plain] = plain_key.reshape(-1)
            token_key[rest_ids] = len(pairs) + rest.tok_end
            key_of_end = np.zeros(every.n_ends, np.int64)
            key_of_end[every.tok_end] = token_key
            plain_end = np.zeros(every.n_ends, bool)
            plain_end[every.tok_end[plain]] = True
            rest_end = np.zeros(rest.n_ends, np.int64)
            rest_end[rest.tok_end] = every.tok_end[rest_ids]
            generable = np.flatnonzero(vocab.generable)
            per_key = np.bincount(token_key[generable], minlength=len(pairs) + rest.n_ends)
            by_key = generable[np.argsort(token_key[generable], kind="stable")], np.cumsum(per_key) - per_key
            split = _SPLITS[key] = cls(key, trie, every, rest, pairs % radix,
                                       np.searchsorted(pairs // radix, np.arange(257)), plain_end, rest_end,
                                       token_key, np.where(vocab.generable, token_key, -1), per_key, key_of_end,
                                       by_key)
        return split, symbol_class


class _Dense(Exception):
    """A walk passed its budget: the vocabulary's trie is the wrong thing to read here."""


_ONE_FALSE = np.zeros(1, bool)


def _or_dead(members: np.ndarray) -> np.ndarray:
    """A bool vector extended by one False entry, for the last (dead, or never allowed)
    index of a table (np.append does the same in twice the time)."""
    return np.concatenate((members, _ONE_FALSE))


def _steps(table: np.ndarray, dead: int) -> tuple[np.ndarray, np.ndarray]:
    """(source, target) of every distinct live move of ``table``'s rows, by source: a row
    of hundreds of token columns leads to a few states."""
    steps = np.sort(table, axis=1)
    fresh = steps != dead
    fresh[:, 1:] &= steps[:, 1:] != steps[:, :-1]          # each target once per state
    return np.nonzero(fresh)[0], steps[fresh]


def _reachable_part(nxt: np.ndarray, accept: np.ndarray):
    """``nxt`` (dead = last row; every column some generable token's) and ``accept`` narrowed
    to the states tokens reach from state 0 (a counted loop's expansion has counts no path
    can produce), and their ``_steps``."""
    dead = len(accept)
    seeds = np.zeros(dead + 1, bool)
    seeds[[0, dead]] = True
    src, dst = _steps(nxt, dead)
    seen = reached(seeds, src, dst)
    if seen.all():
        return nxt, accept, (src, dst)
    keep = np.nonzero(seen)[0]                     # the dead row stays last
    remap = np.full(dead + 1, len(keep) - 1, np.int32)
    remap[keep] = np.arange(len(keep), dtype=np.int32)
    kept = seen[src]                               # a reached state's moves lead to reached states
    return remap[nxt[keep]], accept[keep[:-1]], (remap[src[kept]], remap[dst[kept]])


@dataclass(frozen=True)
class _Keys:
    """Each token's key in one automaton (see ``_Walk.outcomes``); keys past ``split.n_keys``
    are the ``hit`` ends of ``tree``."""
    count: int                 # keys kept (some generable token has them)
    renumber: np.ndarray       # key -> kept key, -1 where dropped
    token_key: np.ndarray      # (V,) each token's key, -1 for tokens never placed
    tree: _Tree                # what states other than plain loops read (``split.every`` or a class tree)
    hit: np.ndarray            # its ends they read alive, ascending
    hit_tokens: np.ndarray     # the generable tokens at those ends
    hit_at: np.ndarray         # the end of each, as an index into ``hit``
    untouched: np.ndarray      # per split key: its generable tokens not among ``hit_tokens``


class _Walk:
    """The outcome of every token from every DFA state, as sparse (start, key, outcome) triples.

    Besides the end state, it records for counted loops: ``first``, characters started in
    the loop the walk began in; ``left``, whether it left that loop; ``later``, characters
    in the loop entered last. A loop entered and left inside one token is checked here.
    """

    def __init__(self, dfa: DFA, table: np.ndarray, class_of: np.ndarray, symbol_class: np.ndarray,
                 limit: int | None = None) -> None:
        n = self.n = dfa.n_states
        self.limit = MAX_WALK if limit is None else limit       # (state, prefix) pairs read at most
        self.ext = np.where(table == DEAD, n, table).astype(np.int32)     # dead = n
        self.symbol_class = symbol_class
        self.moves = self.ext[:, symbol_class]                            # by trie symbol
        self.class_of = class_of
        self.dfa = dfa
        segment, head = dfa.tags()
        self.segment, self.head = np.append(segment, -1), np.append(head, False)
        self.lo, self.hi, self.top = dfa.bound_arrays()
        self.counted = bool(dfa.bounds)
        self.visited = 0

    def outcomes(self, split: _Split, generable: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, "_Keys"]:
        """(start, key, outcome ``code``) of every token read alive, and the tokens' keys.

        Keys are ``split``'s, except for a token that a state other than a plain loop reads
        alive: its key is then its end in the tree those states read (``split.every``, or a
        class tree), which takes the plain loops' outcomes of its tokens' ``split`` key too. Only keys some generable token has
        are kept, counted per key, so nothing here costs a pass over the vocabulary but
        the one copy of the token keys."""
        loops = self.plain_loops()
        held = np.flatnonzero(loops).astype(np.int32)
        q = np.repeat(held, split.n_plain)
        key = np.tile(np.arange(split.n_plain), len(held))
        chars = split.plain_chars[key]
        plain = [q, key, q]                # plain tokens stay, counting their characters
        if self.counted:
            inside = self.segment[q] >= 0
            plain += [np.where(inside, chars, 0).astype(np.int16), np.zeros(len(q), np.int16), ~inside]
        rest = self.run(split.rest, np.arange(self.n, dtype=np.int32), self.moves)   # from every state at once
        from_loop = loops[rest[0]]
        looped = [np.concatenate((x, y[from_loop])) for x, y in zip(plain, rest)]
        looped[1][len(q):] += split.n_plain
        others = np.flatnonzero(~loops).astype(np.int32)
        try:
            tree, key_of_end = split.every, split.key_of_end
            read, entered = self.entering(split, others, loops, [x[~from_loop] for x in rest])
            looped = [np.concatenate(pair) for pair in zip(looped, entered)]
        except _Dense:
            tree, key_of_end = split.class_tree(self.symbol_class)
            read = self.run(tree, others, self.ext)
        hit, read[1] = np.unique(read[1], return_inverse=True)
        base = split.n_keys
        read[1] = base + read[1].reshape(-1)
        by_key = np.argsort(looped[1], kind="stable")
        starts = np.concatenate([[0], np.cumsum(np.bincount(looped[1], minlength=base))])
        own = key_of_end[hit]
        count = starts[own + 1] - starts[own]
        copied = [x[by_key[ranges(starts[own], count)]] for x in looped]
        copied[1] = base + np.repeat(np.arange(len(hit)), count)
        start, key, state, *counts = (np.concatenate(column) for column in zip(looped, read, copied))
        tokens, count = tree.tokens_at(hit)
        placed = generable[tokens]
        tokens, at = tokens[placed], np.repeat(np.arange(len(hit)), count)[placed]
        token_key = split.generable_key.copy()
        token_key[tokens] = base + at
        untouched = split.per_key - np.bincount(split.key[tokens], minlength=base)
        used = np.concatenate([untouched > 0, np.bincount(at, minlength=len(hit)) > 0])
        renumber = np.where(used, np.cumsum(used) - 1, -1)
        keep = used[key]
        keys = _Keys(int(used.sum()), renumber, token_key, tree, hit, tokens, at, untouched)
        return start[keep], renumber[key[keep]], self.code(state, *counts)[keep], keys

    def entering(self, split: _Split, others: np.ndarray, loops: np.ndarray, rest: list) -> tuple[list, list]:
        """(the walk of ``every`` from ``others``, the outcomes of plain keys from them) where a
        state enters a plain loop on a token's first symbol (after an escape, or a string's
        first character): every plain token starting so stays in that loop, counting its
        other characters, so it is arithmetic, and only the others are walked (non-plain
        ones in ``rest``, whose walk from ``others`` is given)."""
        tree = split.every
        first = np.arange(tree.child_start[0], tree.child_start[1])       # the root's children
        nq, counts = self._first_counts(np.repeat(others, len(first)), self.moves[others][:, tree.symbol[first]].ravel())
        nq = nq.reshape(len(others), len(first))
        enters = np.append(loops, False)[nq]
        i, j = np.nonzero(enters)
        symbol = tree.symbol[first[j]]
        count = split.first_keys[symbol + 1] - split.first_keys[symbol]
        key = ranges(split.first_keys[symbol], count)
        entered = [np.repeat(others[i], count), key, np.repeat(nq[i, j], count)]
        if self.counted:         # the token's other characters, counted where its loop counts
            pair = np.repeat(i * len(first) + j, count)
            more = split.plain_chars[key] - 1
            seg = self.segment[entered[2]]
            begun, later, left = (c[pair] for c in counts)
            begun = begun + np.where((seg >= 0) & ~left, more, 0)
            later = later + np.where((seg >= 0) & left, more, 0)
            ok = later <= self.hi[seg]
            entered = [x[ok] for x in entered] + [begun[ok].astype(np.int16), later[ok].astype(np.int16), left[ok]]
        i, j = np.nonzero(~enters & (nq < self.n))
        walked = tuple(c.reshape(nq.shape)[i, j] for c in counts)
        read = self.run(tree, others[i], self.moves, _DENSE_WALK, (nq[i, j], first[j], walked))
        plain = split.plain_end[read[1]]
        rest[1] = split.rest_end[rest[1]]
        return [np.concatenate((x[plain], y)) for x, y in zip(read, rest)], entered

    def _first_counts(self, q: np.ndarray, nq: np.ndarray) -> tuple[np.ndarray, tuple]:
        """(``nq``, dead where a bound breaks; the loop counts) after one symbol from ``q``."""
        if not self.counted:
            return nq, ()
        zero = np.zeros(len(q), np.int16)
        return self._count(q, nq, zero, zero, self.segment[q] < 0)

    def plain_loops(self) -> np.ndarray:
        """(n,) bool: the states every plain character leads back to, as one character of
        their counted loop if they are in one, and through states of that loop only.
        Multi-byte characters are followed from the states ASCII keeps in place only."""
        n, seg = self.n, self.segment[:self.n]
        ok = (self.ext[:, self.class_of[_PLAIN_ASCII]] == np.arange(n)[:, None]).all(axis=1) & ((seg < 0) | self.head[:n])
        me = np.flatnonzero(ok)
        if not len(me):
            return ok
        ext = np.vstack([self.ext, np.full(self.ext.shape[1], n, np.int32)])     # dead stays dead
        keep = np.ones(len(me), bool)
        classes = {r: np.unique(self.class_of[r[0]:r[1] + 1]) for r in {r for shape in _MULTIBYTE for r in shape}}
        for shape in _MULTIBYTE:
            at = me
            for i, (lo, hi) in enumerate(shape):
                moves = ext[at][:, classes[lo, hi]]
                at = np.where((moves == moves[:, :1]).all(axis=1), moves[:, 0], n)   # where all lead, if to one state
                if i < len(shape) - 1:
                    keep &= (self.segment[at] == seg[me]) & ~self.head[at] & (at < n)
            keep &= at == me
        ok[me[~keep]] = False
        return ok

    def run(self, tree: _Tree, start: np.ndarray, moves: np.ndarray, budget: int | None = None,
            at: tuple | None = None) -> list[np.ndarray]:
        """[start state, token end, state, *counts] of every walk of ``tree`` from the given
        states that stays alive (the counts where there are counted loops); ``moves`` reads
        the tree's symbols. Walks begin at the root, or ``at`` (state, node, counts) each.
        Raises ``_Dense`` past ``budget`` (state, prefix) pairs, if given."""
        n, spent, depth = self.n, 0, 0 if at is None else 1
        if at is not None:
            q, s, counts = at
        else:
            q, s = start.copy(), np.zeros(len(start), np.int64)
            counts = (np.zeros(len(start), np.int16), np.zeros(len(start), np.int16),
                      self.segment[start] < 0) if self.counted else ()
        found = []
        while True:
            hit = tree.end_of[s] >= 0
            found.append((start[hit], tree.end_of[s[hit]], q[hit]) + tuple(c[hit] for c in counts))
            if len(s) <= _RUN_FRONTIER:            # deep in the trie, where runs are: read them at once
                looping = (tree.run_len[s] > 0) & (moves[q, tree.run_symbol[s]] == q)
                if self.counted:
                    looping &= self.segment[q] < 0     # a loop outside counted loops: counts stay
                if looping.any():
                    on_run = np.flatnonzero(looping)
                    k = tree.run_len[s[on_run]]
                    ends = tree.end_of[tree.run_nodes[ranges(tree.run_at[s[on_run]], k)]]
                    by = np.repeat(on_run, k)[ends >= 0]
                    found.append((start[by], ends[ends >= 0], q[by]) + tuple(c[by] for c in counts))
                    spent += int(k.sum())
                    start, q, s = start[~looping], q[~looping], s[~looping]
                    counts = tuple(c[~looping] for c in counts)
            if not len(s):
                self.visited += spent              # an abandoned walk (``_Dense``) does not count
                return [np.concatenate(column) for column in zip(*found)]
            lo = tree.child_start[s]
            n_children = tree.child_start[s + 1] - lo
            spent += int(n_children.sum())
            if self.visited + spent > self.limit:    # a large automaton on a large vocabulary: stop before allocating
                raise SchemaTooComplexError(f"reading the vocabulary from {n} automaton states passes "
                                            f"{self.limit:,} (state, token prefix) pairs")
            if budget is not None and spent > budget:
                raise _Dense
            ahead = len(s) * tree.deeper[depth] / tree.level[depth]     # the frontier's share of what lies below
            if depth >= _PROJECT_FROM and self.visited + spent + ahead > _PROJECTED * self.limit:
                raise SchemaTooComplexError(f"reading the vocabulary from {n} automaton states is on course "
                                            f"to pass {self.limit:,} (state, token prefix) pairs")
            depth += 1
            parent = np.repeat(np.arange(len(s)), n_children)
            child = ranges(lo, n_children)
            pq = q[parent]
            nq = moves[pq, tree.symbol[child]]
            if self.counted:
                nq, counts = self._count(pq, nq, *(c[parent] for c in counts))
            alive = nq < n
            start, q, s = start[parent[alive]], nq[alive], child[alive]
            counts = tuple(c[alive] for c in counts)

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
        self.first = row_starts(src, n)                          # edges of q: first[q]:first[q+1]
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
        out[self.dst[edges_of(self.first, active)]] = True
        return out


class _Listing:
    """The generable tokens of some columns, where they are few, read off keys and never
    off the whole vocabulary: a token's column is its split key's, unless its end is a hit
    (then the hit's). The tokens of every column small enough to be listed are grouped by
    column on first use: ~200 tokens for a typical automaton, against a sort of all 262k."""

    def __init__(self, split: _Split, column_of_key: np.ndarray, keys: _Keys, never: int) -> None:
        self.split, self.keys = split, keys
        self.key_column = column_of_key[:split.n_keys]
        self.hit_column = column_of_key[split.n_keys + keys.hit_at]
        self.sizes = (np.bincount(self.key_column, weights=keys.untouched, minlength=never + 1)
                      + np.bincount(self.hit_column, minlength=never + 1)).astype(np.int64)   # generable tokens per column
        self._by_column: tuple[np.ndarray, np.ndarray] | None = None

    def tokens(self, columns: np.ndarray) -> np.ndarray | None:
        """The generable token ids in ``columns`` (unsorted), where they are under 1/``_FEW``
        of the vocabulary, else None."""
        picked = np.flatnonzero(columns)
        count = self.sizes[picked]
        if int(count.sum()) * _FEW > len(self.split.key):
            return None
        if self._by_column is None:
            self._by_column = self._grouped()
        order, starts = self._by_column
        return order[ranges(starts[picked], count)]

    def _grouped(self) -> tuple[np.ndarray, np.ndarray]:
        """(the tokens of every small column, grouped by column; where each column starts)."""
        small = self.sizes * _FEW <= len(self.split.key)
        tokens = self.split.generable_tokens(np.flatnonzero(small[self.key_column]))
        hit = self.keys.hit
        if len(hit):                           # less the hits: their column is the hit's
            ends = self.keys.tree.tok_end[tokens]
            tokens = tokens[hit[np.minimum(np.searchsorted(hit, ends), len(hit) - 1)] != ends]
        hits = small[self.hit_column]
        tokens = np.concatenate([tokens, self.keys.hit_tokens[hits]])
        column = np.concatenate([self.key_column[self.split.key[tokens[:len(tokens) - int(hits.sum())]]],
                                 self.hit_column[hits]])
        order = np.argsort(column, kind="stable")
        starts = np.concatenate([[0], np.cumsum(np.bincount(column, minlength=len(self.sizes)))])
        return tokens[order], starts


class TokenAutomaton:
    """``next[q, u]``: the state after reading any token of column ``u`` from ``q`` (tokens
    with the same moves from every state share a column; ``tok2u`` gives each token's).

    States are the DFA's, except that a state inside a counted loop becomes one state per
    count (0..hi): the walk over the vocabulary runs on the DFA's few loop states and
    records character counts, and the expansion to counts is arithmetic.
    """

    def __init__(self, dfa: DFA, vocab: TokenVocabulary, read: tuple | None = None) -> None:
        """``read``: (walk, split, outcomes) where the vocabulary was read for several DFAs
        at once (see ``token_automata``); else it is read here."""
        self.dfa = dfa
        self.vocab = vocab
        if read is None:
            class_of, table = dfa.byte_classes()
            split, symbol_class = _Split.of(vocab, class_of)
            walk = _Walk(dfa, table, class_of, symbol_class)
            read = walk, split, walk.outcomes(split, vocab.generable)
        walk, split, (start, key, code, keys) = read
        columns, key2u = distinct_columns(start, key, code, (walk.n + 1, keys.count), walk.n)
        nxt, accept = walk.expand(columns)
        nxt, self.accept, (src, dst) = _reachable_part(nxt, accept)
        dead = len(self.accept)
        if nxt is columns:           # no counts expanded, no state dropped: the columns are distinct already
            self.next, u2col = nxt, np.arange(nxt.shape[1])
        else:
            rows, cols = np.nonzero(nxt != dead)
            self.next, u2col = distinct_columns(rows, cols, nxt[rows, cols], nxt.shape, dead)   # (n+1, U)
        never = self.next.shape[1]
        column_of_key = np.full(len(keys.renumber) + 1, never)       # the last entry: key -1, never placed
        kept = keys.renumber >= 0
        column_of_key[:-1][kept] = u2col[key2u][keys.renumber[kept]]
        # a token's column is its key's (``never`` for tokens the sampler never places):
        # looked up per token, as no (V,) array per automaton is needed
        self._column_of_key, self._token_key = column_of_key, keys.token_key
        # one token's moves as one row (read per commit); the last row, never placed: dead
        self._by_token = np.vstack([self.next[:-1].T, np.full((1, dead), dead, self.next.dtype)])
        self._listing = _Listing(split, column_of_key, keys, never)
        n = self.dead = len(self.accept)
        # q -> q' by some usable token (every column has a generable token; merging equal
        # columns left each state's targets as they were): a bool matrix while small, else edges
        self._out = _Adjacency(src, dst, n)                      # sorted by source already
        by_dst = np.argsort(dst, kind="stable")
        self._in = _Adjacency(dst[by_dst], src[by_dst], n)
        if n <= _SMALL:
            self.reach = np.zeros((n, n), bool)
            self.reach[src, dst] = True
        else:       # the table's live entries, by state: 1-12% of it on real automata
            q, u = np.nonzero(self.next[:-1] != n)
            self._moves = (row_starts(q, n), q, u, self.next[q, u].astype(np.intp))
        self.start = np.zeros(n, bool)
        self.start[0] = n > 0
        self._open_runs = ([self.start], [self.accept])     # see ``after_open``

    def after_open(self, k: int) -> list[np.ndarray]:
        """The states after i open positions from the start, for i = 0..k (a fresh list)."""
        return self._open_run(0, k)

    def finishing_in(self, k: int) -> list[np.ndarray]:
        """The states from which i open positions can finish, for i = 0..k (a fresh list)."""
        return self._open_run(1, k)

    def _open_run(self, direction: int, k: int) -> list[np.ndarray]:
        """A region's open stretches (all of it before any commit) are laid out (its feasible
        length) and entered by every canvas of every template using this automaton, through
        the same state sets: kept, read-only, up to ``_KEPT_RUN`` bytes."""
        seed = (self.start, self.accept)[direction]
        run = self._open_runs[direction] if (k + 1) * self.dead <= _KEPT_RUN else [seed]
        step = (self.forward_open, self.backward_open)[direction]
        while len(run) <= k:
            nxt = step(run[-1])
            nxt.flags.writeable = False
            run.append(nxt)
        return run[:k + 1]

    @property
    def tok2u(self) -> np.ndarray:
        """(V,) each token's column (``never``, one past the last, for tokens never placed)."""
        return self._column_of_key[self._token_key]

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
        """States ``token`` leads to from ``states`` (none for a token never placed)."""
        out = np.zeros(self.dead + 1, bool)
        out[self._moves_of(token)[states]] = True
        return out[:-1]

    def backward_token(self, after: np.ndarray, token: int) -> np.ndarray:
        return _or_dead(after)[self._moves_of(token)]

    def _moves_of(self, token: int) -> np.ndarray:
        """(n + 1,) where ``token`` leads from each state (dead for a token never placed)."""
        return self._by_token[self._column_of_key[self._token_key[token]]]

    def allowed_columns(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        """(U,) bool: the token columns leading from some state in ``before`` into ``after``.
        Past ``_SMALL`` states, read off the live entries of the table (of ``before``'s
        states, where they are few) rather than whole rows."""
        if self.dead <= _SMALL:
            return _or_dead(after)[self.next[:-1][before]].any(axis=0)
        first, q, u, target = self._moves
        active = np.flatnonzero(before)
        out = np.zeros(self.next.shape[1], bool)
        if len(active) * 16 > self.dead:
            out[u[before[q] & after[target]]] = True
        else:
            at = edges_of(first, active)
            out[u[at[after[target[at]]]]] = True
        return out

    def tokens_of(self, columns: np.ndarray) -> np.ndarray:
        """(V,) bool: the generable tokens in the given columns. Where nearly all are (string
        content), the generable tokens less the few that are not: 12 against 150 us on 262k."""
        excluded = self._listed(~columns)
        if excluded is None:
            return _or_dead(columns)[self._column_of_key][self._token_key]     # keys first: one (V,) gather
        out = self.vocab.generable.copy()
        out[excluded] = False
        return out

    def count_of(self, columns: np.ndarray) -> int:
        """How many generable tokens the given columns hold."""
        return int(self._listing.sizes[:len(columns)][columns].sum())

    def few_tokens_of(self, columns: np.ndarray) -> np.ndarray | None:
        """The generable token ids in the given columns, sorted, where they are under 1/``_FEW`` of
        the vocabulary (else None): read off keys (see ``_Listing``), instead of a gather
        over the whole vocabulary (a digit or key position of a 262k vocabulary allows
        ~100 tokens; half the rows a canvas needs are such)."""
        ids = self._listed(columns)
        return None if ids is None else np.sort(ids)

    def _listed(self, columns: np.ndarray) -> np.ndarray | None:
        """``few_tokens_of``, unsorted."""
        return self._listing.tokens(columns)

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


def token_automata(dfas: list[DFA], vocab: TokenVocabulary) -> list[TokenAutomaton | None]:
    """Token automata of small DFAs, the vocabulary read for all of them in one walk (None
    for those left to be built one by one, with their own errors). A walk's cost is mostly
    per trie level, whatever number of states it carries: a schema's optional members,
    enums and numbers (tens of states each) cost ~1 ms apiece read alone."""
    out: list[TokenAutomaton | None] = [None] * len(dfas)
    picked = [i for i, d in enumerate(dfas) if 0 < d.n_states <= _BATCHED
              and vocab.trie_for(d.byte_classes()[0])[0] is vocab.coarse_trie]
    if len(picked) < 2:
        return out
    union, first = side_by_side([dfas[i] for i in picked])    # the walk reads from every state
    class_of, table = union.byte_classes()
    split, symbol_class = _Split.of(vocab, class_of)
    walk = _Walk(union, table, class_of, symbol_class, _BATCH_WALK)
    try:
        start, key, code, keys = walk.outcomes(split, vocab.generable)
    except SchemaTooComplexError:           # too much at once: each is read alone
        return out
    state = code % (walk.n + 1)
    slot = np.searchsorted(first, start, side="right") - 1
    for j, i in enumerate(picked):
        mine = slot == j
        dfa = dfas[i]
        own_class, own_table = dfa.byte_classes()
        own = _Walk(dfa, own_table, own_class, vocab.trie_for(own_class)[1])
        local = state[mine] - first[j]
        if own.counted:                    # the same counts, over this DFA's states
            own.width = walk.width
            local = code[mine] // (walk.n + 1) * (own.n + 1) + local
        try:
            out[i] = TokenAutomaton(dfa, vocab, (own, split, (start[mine] - first[j], key[mine], local, keys)))
        except SchemaTooComplexError:      # its length bounds expand too far: it fails alone too
            pass
    return out
