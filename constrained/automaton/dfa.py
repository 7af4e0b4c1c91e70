"""Regular-expression AST → minimal byte-level DFA.

Thompson NFA, subset construction over byte equivalence classes, trimming of states that
cannot reach acceptance, then Moore partition refinement (vectorised with numpy).
A trimmed DFA has the property the canvas relies on: every state it can be in can still
reach an accepting state, so "not dead" means "completable".

A :class:`~constrained.automaton.regex.Counted` loop (a string's ``maxLength``) is kept as
a loop whose states are tagged with the loop's *segment*; a register counts characters:
reading a byte from a ``head`` state (a character boundary) that stays in the segment
starts a character (at most ``hi``), leaving the segment needs at least ``lo``, entering
it resets the count. :class:`~constrained.token_automaton.TokenAutomaton` expands the
register into states. Where determinisation would mix a segment with other paths, the
loop is unrolled instead (the count would be ambiguous), so the result is always exact.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..collector import collector_paused
from ..errors import SchemaTooComplexError
from .distinct import distinct_rows
from .graph import reached
from .regex import Alt, ByteSet, Complement, Counted, Intersect, Node, Repeat, Seq, Subsequence, seq, unrolled_size

DEAD = -1
_UNBOUNDED = np.iinfo(np.int32).max
MAX_STATES = 50_000
MAX_UNROLLED_STATES = 5_000    # where counted loops had to be unrolled (those that fit here have 400 at most)
MAX_NFA_STATES = 40 * MAX_STATES
MAX_REFINE_WORK = 3_000_000    # states x rounds of Moore refinement (~1 us each) before the trimmed DFA is kept
MIN_REFINE_ROUNDS = 48


@dataclass(eq=False)
class DFA:
    """``trans[q, b]`` is the next state or ``DEAD``; state 0 is the start."""
    trans: np.ndarray            # (n, 256) int32
    accept: np.ndarray           # (n,) bool
    segment: np.ndarray | None = None    # (n,) int32: the counted loop a state is in, or -1
    head: np.ndarray | None = None       # (n,) bool: a character boundary inside its loop
    bounds: tuple[tuple[int, int | None], ...] = ()   # (lo, hi) characters of each counted loop
    _classes: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _bounds: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def n_states(self) -> int:
        return len(self.accept)

    def bound_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lo, hi, top) per counted loop, indexable by a segment or by -1 (no loop: zeros).
        ``hi`` is int32's max where unbounded; ``top`` is the highest count that matters:
        ``hi``, or ``lo`` where unbounded (counts from there on act alike)."""
        if self._bounds is None:
            lo = np.array([lo for lo, _ in self.bounds] + [0])
            hi = np.array([_UNBOUNDED if hi is None else hi for _, hi in self.bounds] + [0])
            top = np.array([lo if hi is None else hi for lo, hi in self.bounds] + [0])
            self._bounds = (lo, hi, top)
        return self._bounds

    def tags(self) -> tuple[np.ndarray, np.ndarray]:
        """(segment, head) of every state; no state is in a segment without counted loops."""
        if self.segment is None:
            return np.full(self.n_states, -1, np.int32), np.zeros(self.n_states, bool)
        return self.segment, self.head

    def count_step(self, q, count, nq):
        """(count after moving ``q`` -> ``nq``, whether the move keeps within the loops'
        bounds) for numpy arrays that broadcast together; ``nq`` must not be ``DEAD``."""
        segment, head = self.tags()
        lo, hi, top = self.bound_arrays()
        k, k2 = segment[q], segment[nq]
        stay = (k >= 0) & (k2 == k)
        after = np.where(stay, count + head[q], 0)
        ok = np.where(stay, after <= hi[k], (k < 0) | (count >= lo[k]))
        return np.minimum(after, top[k2]), ok

    def accepts(self, q, count):
        """Whether ending in state ``q`` with ``count`` characters in its loop accepts."""
        k = self.tags()[0][q]
        return self.accept[q] & ((k < 0) | (count >= self.bound_arrays()[0][k]))

    def is_empty(self) -> bool:
        """No string is accepted (with counted loops: none within their bounds)."""
        if self.n_states == 0 or self.segment is None:
            return self.n_states == 0
        _, table = self.byte_classes()
        seen: set[tuple[int, int]] = {(0, 0)}
        frontier = [(0, 0)]
        while frontier:                           # breadth-first over (state, count)
            q, c = (np.array(column) for column in zip(*frontier))
            if self.accepts(q, c).any():
                return False
            nq = table[q]                                         # (m, classes)
            count, ok = self.count_step(q[:, None], c[:, None], np.maximum(nq, 0))
            ok &= nq != DEAD
            frontier = list(set(zip(nq[ok].tolist(), count[ok].tolist())) - seen)
            seen.update(frontier)
        return True

    def byte_classes(self) -> tuple[np.ndarray, np.ndarray]:
        """(class_of_byte (256,), table (n, n_classes)): bytes that act alike share a class."""
        if self._classes is None:
            first, class_of = distinct_rows(self.trans.T)
            self._classes = (class_of.astype(np.int32), np.ascontiguousarray(self.trans[:, first]))
        return self._classes

    def matches(self, data: bytes) -> bool:
        if self.n_states == 0:
            return False
        q, count = 0, 0
        for b in data:
            nxt = int(self.trans[q, b])
            if nxt == DEAD:
                return False
            if self.segment is not None:
                count, ok = self.count_step(q, count, nxt)
                if not ok:
                    return False
            q = nxt
        return bool(self.accepts(q, count))


_EMPTY_DFA = DFA(np.zeros((0, 256), np.int32), np.zeros(0, bool))


class _CounterConflict(Exception):
    """Determinisation mixed a counted loop with other paths: unroll it instead."""


class _NFA:
    def __init__(self, counters: bool) -> None:
        self.counters = counters
        self.eps: list[list[int]] = []
        self.edges: list[list[tuple[int, int]]] = []
        self.segment_of: list[int] = []      # counted loop of each state, or -1
        self.heads: list[set[int]] = []      # per loop: its character-boundary states
        self.ends: list[int] = []            # per loop: its end state
        self.bounds: list[tuple[int, int | None]] = []

    def new(self) -> int:
        self.eps.append([])
        self.edges.append([])
        self.segment_of.append(-1)
        if len(self.eps) > MAX_NFA_STATES:
            raise SchemaTooComplexError("the expression is too large to compile")
        return len(self.eps) - 1

    def build(self, node: Node) -> tuple[int, int]:
        """Return (start, end) of a fragment accepting ``node``."""
        s, e = self.new(), self.new()
        if isinstance(node, ByteSet):
            if node.bits:
                self.edges[s].append((node.bits, e))
        elif isinstance(node, Seq):
            # X (S X)*: after S the loop re-enters the X just read, from a state of its own,
            # instead of a copy of X (which doubled a list's item states at every level)
            loops = _separated_loops(node.items)
            run_starts = {j - k for j, k in loops.items()}
            entries: dict[int, int] = {}             # where each X's run starts, left only into it
            cur = s
            for i, item in enumerate(node.items):
                if i in run_starts:
                    entries[i] = self.new()
                    self.eps[cur].append(entries[i])
                    cur = entries[i]
                if i in loops:
                    sep_start, sep_end = self.build(Seq(item.item.items[:-loops[i]]))
                    self.eps[cur].append(sep_start)
                    self.eps[sep_end].append(entries[i - loops[i]])
                    continue
                if isinstance(item, ByteSet):        # a byte needs one state, not a fragment
                    b = self.new()
                    self.edges[cur].append((item.bits, b))
                else:
                    a, b = self.build(item)
                    self.eps[cur].append(a)
                cur = b
            self.eps[cur].append(e)
        elif isinstance(node, Alt):
            for item in node.items:
                a, b = self.build(item)
                self.eps[s].append(a)
                self.eps[b].append(e)
        elif isinstance(node, Counted) and self.counters:
            k, h = len(self.bounds), self.new()
            self.bounds.append((node.lo, node.hi))
            a, b = self.build(node.item)
            self.eps[s].append(h)
            self.eps[h] += [a, e]
            self.eps[b].append(h)
            self.heads.append({h})
            self.ends.append(e)
            for q in range(s, len(self.segment_of)):
                self.segment_of[q] = k
        elif isinstance(node, (Repeat, Counted)):
            cur = s
            for _ in range(node.lo):
                a, b = self.build(node.item)
                self.eps[cur].append(a)
                cur = b
            if node.hi is None:
                a, b = self.build(node.item)
                self.eps[cur].append(a)
                self.eps[b].append(a)
                self.eps[b].append(e)
                self.eps[cur].append(e)
            else:
                for _ in range(node.hi - node.lo):
                    a, b = self.build(node.item)
                    self.eps[cur].append(a)
                    self.eps[cur].append(e)
                    cur = b
                self.eps[cur].append(e)
        elif isinstance(node, Subsequence):
            # before[i]: nothing written yet, item i next; after[i]: something written. Item
            # i is written from either (after a separator from ``after``), then on to
            # after[i + 1]. Both share the item's states (a copy each doubled the subset
            # construction's states at every level of nesting, for minimisation to merge),
            # unless it counts: then each context has its own, so that a loop's register
            # never stands for two entries at once.
            before, after = [s] + [self.new() for _ in node.items], [self.new() for _ in range(len(node.items) + 1)]
            for i, item in enumerate(node.items):
                self.eps[before[i]].append(before[i + 1])
                self.eps[after[i]].append(after[i + 1])
                first = len(self.eps)
                a, b = self.build(item)
                self.eps[before[i]].append(a)
                self.eps[b].append(after[i + 1])
                if any(k >= 0 for k in self.segment_of[first:]):
                    a, b = self.build(item)
                    self.eps[b].append(after[i + 1])
                sep_start, sep_end = self.build(node.sep)
                self.eps[after[i]].append(sep_start)
                self.eps[sep_end].append(a)
            self.eps[before[-1]] += [e]
            self.eps[after[-1]] += [e]
        elif isinstance(node, (Intersect, Complement)):
            self._embed(*_embeddable(node, self.counters), s, e)
        else:
            raise TypeError(node)
        return s, e

    def _embed(self, dfa: DFA, edges: list[list[tuple[int, int]]], s: int, e: int) -> None:
        if dfa.n_states == 0:
            return
        first = len(self.eps)
        ids = [self.new() for _ in range(dfa.n_states)]
        self.eps[s].append(first)
        if dfa.segment is not None:            # the DFA's counted loops become this NFA's
            k0 = len(self.bounds)
            self.bounds += dfa.bounds
            self.heads += [set() for _ in dfa.bounds]
            self.ends += [e] * len(dfa.bounds)
            for q in np.nonzero(dfa.segment >= 0)[0]:
                self.segment_of[ids[q]] = k0 + int(dfa.segment[q])
                if dfa.head[q]:
                    self.heads[k0 + int(dfa.segment[q])].add(ids[q])
        for q in np.nonzero(dfa.accept)[0]:
            self.eps[first + int(q)].append(e)
        for q, row in zip(ids, edges):
            self.edges[q] = [(bits, first + t) for bits, t in row]

    def closure(self, states: set[int]) -> frozenset[int]:
        stack, seen = list(states), set(states)
        while stack:
            for t in self.eps[stack.pop()]:
                if t not in seen:
                    seen.add(t)
                    stack.append(t)
        return frozenset(seen)


def _separated_loops(items: tuple[Node, ...]) -> dict[int, int]:
    """The items that repeat what precedes them after a separator: index of each
    ``(S X)*`` whose ``X`` is the run of items just before it, and that run's length
    (``seq`` flattens ``X``'s own items into both places)."""
    loops = {}
    for i, item in enumerate(items):
        if isinstance(item, Repeat) and item.lo == 0 and item.hi is None and isinstance(item.item, Seq):
            body = item.item.items
            for k in range(min(len(body) - 1, i), 0, -1):
                if items[i - k:i] == body[len(body) - k:]:
                    loops[i] = k
                    break
    return loops


def _byte_classes(bitsets: set[int]) -> tuple[np.ndarray, list[int]]:
    """class of each byte (256,), and the members-bitset of each class: bytes that no edge
    set tells apart share a class (numbered by their membership in the sorted bitsets, the
    first most significant)."""
    ordered = sorted(bitsets)
    if not ordered:
        return np.zeros(256, np.int64), [(1 << 256) - 1]
    packed = np.frombuffer(b"".join(bits.to_bytes(32, "little") for bits in ordered), np.uint8)
    held = np.unpackbits(packed.reshape(len(ordered), 32), axis=1, bitorder="little")   # (bitsets, 256)
    width = (len(ordered) + 7) // 8
    flat = np.ascontiguousarray(np.packbits(held, axis=0).T).tobytes()     # each byte's membership, as bytes
    keys = [flat[b * width:(b + 1) * width] for b in range(256)]
    rank = {key: c for c, key in enumerate(sorted(set(keys)))}
    members = [0] * len(rank)
    for b, key in enumerate(keys):
        members[rank[key]] |= 1 << b
    return np.array([rank[key] for key in keys], np.int64), members


def _class_groups(bitsets: frozenset[int], members: list[int]) -> list[tuple[np.ndarray, tuple[int, ...]]]:
    """Byte classes grouped by which of ``bitsets`` hold them: (classes, bitsets holding
    them) per group. A DFA state moves every class of a group to one target, so it is
    explored once per group, not once per class (inside a string: ~10 groups, ~60 classes)."""
    by_holders: dict[tuple[int, ...], list[int]] = {}
    for c, mem in enumerate(members):
        holders = tuple(bits for bits in bitsets if bits & mem)
        if holders:
            by_holders.setdefault(holders, []).append(c)
    return [(np.array(classes), holders) for holders, classes in by_holders.items()]


def _explore(start, successors, n_classes: int, max_states: int | None = None) -> tuple[np.ndarray, list]:
    """Breadth-first construction of a DFA whose states are hashable keys.

    ``successors(key)`` yields (byte class or array of classes, next key); returns the (states, classes)
    transition table and the keys in state order (the start is state 0), refused past
    ``max_states`` (``MAX_STATES`` if not given).
    """
    max_states = MAX_STATES if max_states is None else max_states
    index = {start: 0}
    order = [start]
    rows: list[list[tuple[int, int]]] = []
    i = 0
    while i < len(order):
        row = []
        for c, nxt in successors(order[i]):
            if nxt not in index:
                if len(order) >= max_states:
                    raise SchemaTooComplexError("the automaton exceeds %d states" % max_states)
                index[nxt] = len(order)
                order.append(nxt)
            row.append((c, index[nxt]))
        rows.append(row)
        i += 1
    ctab = np.full((len(order), n_classes), DEAD, dtype=np.int32)
    for q, row in enumerate(rows):
        for c, t in row:
            ctab[q, c] = t
    return ctab, order


def compile_dfa(node: Node, counters: bool = True) -> DFA:
    """Minimal DFA of ``node``; ``counters=False`` unrolls counted loops (the reference)."""
    with collector_paused():
        try:
            return _compiled(node, counters)
        except SchemaTooComplexError as exc:
            # raised again once the collector runs, without the failed build's frames (their
            # millions of sets, held by the traceback, took it ~0.1 s to scan)
            refused = exc.message, exc.pointer
    raise SchemaTooComplexError(*refused)


def _compiled(node: Node, counters: bool) -> DFA:
    if not counters:
        return _compile_cached(node, False)
    try:
        return _compile_cached(node, True)
    except _CounterConflict:
        # unrolled where they mix with other paths, long maxLengths grow past any use:
        # refused sooner, so that the slot is narrowed in a tenth of the time
        return _compile_cached(node, False, MAX_UNROLLED_STATES)


def clear_caches() -> None:
    """Forget every DFA built (tests that change the limits)."""
    for cached in (_compile_cached, _determinised, _embeddable):
        cached.cache_clear()


@lru_cache(maxsize=1024)
def _embeddable(node: Intersect | Complement, counters: bool) -> tuple[DFA, list[list[tuple[int, int]]]]:
    """The DFA of an intersection or complement and its edges as the NFA holds them
    ((byte bitset, target) per state): built once, however often the node is copied
    (an item of a bounded repeat is copied once per repetition)."""
    if isinstance(node, Intersect):
        dfa = product(*(_compile_cached(it, counters) for it in node.items))
    else:
        dfa = negate(_compile_cached(node.item, False))
    class_of, table = dfa.byte_classes()
    members = [0] * table.shape[1]
    for b, c in enumerate(class_of.tolist()):
        members[c] |= 1 << b
    edges = []
    for row in table.tolist():       # per class, not per byte
        by_target: dict[int, int] = {}
        for c, t in enumerate(row):
            if t != DEAD:
                by_target[t] = by_target.get(t, 0) | members[c]
        edges.append([(bits, t) for t, bits in by_target.items()])
    return dfa, edges


@lru_cache(maxsize=4096)
def _compile_cached(node: Node, counters: bool, max_states: int | None = None) -> DFA:
    composed = _optional_literal_head(node, counters, max_states)
    return _determinised(node, counters, max_states) if composed is None else composed


@lru_cache(maxsize=1024)
def _determinised(node: Node, counters: bool, max_states: int | None = None) -> DFA:
    """The minimal DFA of ``node`` by subset construction."""
    if unrolled_size(node) > MAX_NFA_STATES // 2:       # fail in microseconds, not in seconds of building
        raise SchemaTooComplexError("the expression is too large to compile")
    nfa = _NFA(counters)
    start, end = nfa.build(node)
    bitsets = {bits for edges in nfa.edges for bits, _ in edges}
    class_of, members = _byte_classes(bitsets)
    # A DFA state is the set of NFA states it stands for, less those that only lead on by
    # epsilon (most of a Thompson NFA's): none of them reads, accepts or counts. Each NFA
    # state's share of that set is found once.
    kept = [bool(edges) or q == end or k >= 0 for q, (edges, k) in enumerate(zip(nfa.edges, nfa.segment_of))]
    reach: list[frozenset[int] | None] = [None] * len(kept)

    def reach_of(q: int) -> frozenset[int]:
        r = reach[q]
        if r is None:
            r = reach[q] = frozenset(t for t in nfa.closure({q}) if kept[t])
        return r

    closures: dict[frozenset[int], frozenset[int]] = {}
    groups_of: dict[frozenset[int], list[tuple[np.ndarray, tuple[int, ...]]]] = {}

    def successors(state: frozenset[int]):
        targets_of: dict[int, set[int]] = {}              # edge bitset -> targets
        for s in state:
            for bits, t in nfa.edges[s]:
                targets = targets_of.get(bits)
                if targets is None:
                    targets_of[bits] = {t}
                else:
                    targets.add(t)
        kinds = frozenset(targets_of)
        groups = groups_of.get(kinds)
        if groups is None:
            groups = groups_of[kinds] = _class_groups(kinds, members)
        for classes, covering in groups:
            key = frozenset().union(*(targets_of[bits] for bits in covering))
            closure = closures.get(key)
            if closure is None:
                closure = closures[key] = frozenset().union(*map(reach_of, key))
            yield classes, closure

    ctab, order = _explore(reach_of(start), successors, len(members), max_states)
    accept = np.array([end in st for st in order], dtype=bool)
    if not nfa.bounds:
        return _minimal(ctab, class_of, accept, explored=True)
    segment, head = _segment_tags(nfa, order, end)
    return _minimal(ctab, class_of, accept, segment, head, tuple(nfa.bounds), explored=True)


def _optional_literal_head(node: Node, counters: bool, max_states: int | None) -> DFA | None:
    """``(P R)? T`` for a literal ``P`` that ``T`` cannot begin with (an optional member,
    ``, "key": value``, then whitespace), from the cached DFAs of ``R T`` and ``T``:
    a fresh start that moves as ``T``'s start does, or along ``P`` into ``R T``. Every
    optional member with the same value shares ``R T``, where determinising the whole
    slot cost ~1.4 ms each. None where ``node`` is not of that shape.

    Not minimised: ``T``'s states (whitespace, mostly) are ``R T``'s last ones
    again, 2% of all, and the refinement that merged them took a third of the time spent
    on the slot DFAs of typical schemas."""
    if not (isinstance(node, Seq) and len(node.items) > 1 and isinstance(node.items[0], Repeat)
            and (node.items[0].lo, node.items[0].hi) == (0, 1) and isinstance(node.items[0].item, Seq)):
        return None
    head = node.items[0].item.items
    k = 0
    while k < len(head) and isinstance(head[k], ByteSet) and head[k].bits.bit_count() == 1:
        k += 1
    if k == 0 or k == len(head):
        return None
    literal = [head[i].bits.bit_length() - 1 for i in range(k)]
    # ``T`` and ``R T`` are never composed in turn: an object's optional members would each
    # recompile those after them
    after = _determinised(seq(*node.items[1:]), counters, max_states)
    if after.segment is not None or after.n_states == 0 or after.trans[0, literal[0]] != DEAD:
        return None
    rest = _determinised(seq(*head[k:], *node.items[1:]), counters, max_states)
    if rest.n_states == 0:
        return None
    # states: k along P (the last leads on to state k, ``rest``'s start), ``rest``'s, ``after``'s
    chain = np.full((k, 256), DEAD, np.int32)
    chain[np.arange(k), literal] = np.arange(1, k + 1)
    joint, first = side_by_side([DFA(chain, np.zeros(k, bool)), rest, after])
    into_p = joint.trans[0, literal[0]]
    joint.trans[0] = joint.trans[first[2]]        # the start moves as ``after``'s does,
    joint.trans[0, literal[0]] = into_p           # or along P
    joint.accept[0] = after.accept[0]
    # every state is reachable (the start moves as ``T``'s) and live (``R T`` and ``T`` are
    # trimmed) but ``T``'s own start, which is dropped where nothing else leads to it
    t = int(first[2])
    into = joint.trans == t
    into[t] = False
    keep = np.arange(joint.n_states)
    table = joint.trans
    if not into.any():
        keep = np.delete(keep, t)
        table = table[keep]
        table = np.where(table > t, table - 1, table)
    tags = (joint.segment[keep], joint.head[keep]) if joint.bounds else (None, None)
    return DFA(np.ascontiguousarray(table), joint.accept[keep], *tags, joint.bounds)


def side_by_side(dfas: list[DFA]) -> tuple[DFA, np.ndarray]:
    """One DFA holding the given ones side by side (state 0 is the first's start), and
    where each one's states begin."""
    first = np.concatenate([[0], np.cumsum([d.n_states for d in dfas])])
    trans = np.vstack([np.where(d.trans == DEAD, DEAD, d.trans + f) for d, f in zip(dfas, first)]).astype(np.int32)
    accept = np.concatenate([d.accept for d in dfas])
    if not any(d.bounds for d in dfas):
        return DFA(trans, accept), first[:-1]
    loops = np.concatenate([[0], np.cumsum([len(d.bounds) for d in dfas])])
    tags = [d.tags() for d in dfas]
    segment = np.concatenate([np.where(seg >= 0, seg + k, -1) for (seg, _), k in zip(tags, loops)]).astype(np.int32)
    head = np.concatenate([h for _, h in tags])
    return DFA(trans, accept, segment, head, tuple(b for d in dfas for b in d.bounds)), first[:-1]


def _segment_tags(nfa: _NFA, order: list[frozenset[int]], end: int) -> tuple[np.ndarray, np.ndarray]:
    """Each DFA state's counted loop and whether it is at a character boundary; raises
    :class:`_CounterConflict` where a state mixes a loop with paths that do not count."""
    exits = [nfa.closure({e}) for e in nfa.ends]
    segment = np.full(len(order), -1, np.int32)
    head = np.zeros(len(order), bool)
    for i, st in enumerate(order):
        loops = {nfa.segment_of[q] for q in st} - {-1}
        if not loops:
            continue
        if len(loops) > 1:
            raise _CounterConflict
        (k,) = loops
        acting = [q for q in st if nfa.edges[q] or q == end]     # states that read or accept
        if any(nfa.segment_of[q] != k and q not in exits[k] for q in acting):
            raise _CounterConflict
        reading_heads = [q for q in acting if q in nfa.heads[k]]
        if reading_heads and len(reading_heads) < sum(nfa.segment_of[q] == k for q in acting):
            raise _CounterConflict           # a boundary and a character's middle at once
        segment[i], head[i] = k, not nfa.heads[k].isdisjoint(st)
    return segment, head


def _trim(table: np.ndarray, accept: np.ndarray, explored: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(kept states in order, their table renumbered): states reachable from 0 that can
    reach acceptance; none where the start cannot. ``explored``: every state is reachable
    from 0 (a DFA built from its start), so every state on the way to one that can reach
    acceptance can too, and only reaching acceptance is checked."""
    n = len(accept)
    src, sym = np.nonzero(table != DEAD)                 # by source
    dst = table[src, sym]
    order = np.argsort(dst, kind="stable")
    live = reached(accept, dst[order], src[order])
    if n == 0 or not live[0]:
        return np.zeros(0, np.int64), table[:0]
    if explored and live.all():
        return np.arange(n), table
    trans = np.where((table != DEAD) & live[np.where(table == DEAD, 0, table)], table, DEAD)
    if explored:
        keep = np.nonzero(live)[0]
    else:
        kept = live[dst]
        start = np.zeros(n, bool)
        start[0] = True
        keep = np.nonzero(reached(start, src[kept], dst[kept]))[0]
    remap = np.full(n + 1, DEAD, np.int32)
    remap[keep] = np.arange(len(keep), dtype=np.int32)
    return keep, remap[trans[keep]]          # DEAD (-1) indexes remap[-1] == DEAD


def minimize(dfa: DFA) -> DFA:
    """The minimal DFA of ``dfa``'s language, counted loops kept."""
    first, class_of = distinct_rows(dfa.trans.T)
    return _minimal(dfa.trans[:, first], class_of, dfa.accept, dfa.segment, dfa.head, dfa.bounds)


def _minimal(ctab: np.ndarray, class_of: np.ndarray, accept: np.ndarray, segment: np.ndarray | None = None,
             head: np.ndarray | None = None, bounds: tuple = (), explored: bool = False) -> DFA:
    """:func:`minimize` of the DFA whose byte ``b`` moves as column ``class_of[b]`` of
    ``ctab``: trimmed (see ``_trim`` for ``explored``), then Moore-refined, on those few
    columns rather than on 256."""
    keep, ctab = _trim(ctab, accept, explored)
    n = len(keep)
    if n == 0:
        return _EMPTY_DFA
    accept = accept[keep]
    if segment is not None:
        segment, head = segment[keep], head[keep]
    tags = (segment, head) if segment is not None else (np.full(n, -1), np.zeros(n, bool))
    block = distinct_rows(np.stack([accept, *tags], axis=1).astype(np.int64))[1].astype(np.int64)
    n_blocks = len(np.unique(block))
    dead = ctab == DEAD
    for _ in range(max(MIN_REFINE_ROUNDS, MAX_REFINE_WORK // n)):
        # Split blocks by (block, block of each successor): one row per state, deduplicated.
        succ = np.where(dead, 0, block[np.where(dead, 0, ctab)] + 1)
        key = distinct_rows(np.column_stack([block, succ]))[1]
        if key.max() + 1 == n_blocks:
            break
        block, n_blocks = key, int(key.max()) + 1
    else:     # long chains (a round tells states apart one byte further from the end): keep the (correct, larger) trimmed DFA
        block, n_blocks = np.arange(n), n
    # Renumber blocks so the start state's block is 0, in BFS order.
    rep_of_block = np.zeros(n_blocks, np.int64)
    rep_of_block[block[::-1]] = np.arange(n)[::-1]          # first state of each block
    rows = ctab[rep_of_block]
    block_trans = np.where(rows == DEAD, DEAD, block[np.where(rows == DEAD, 0, rows)])
    new_id = np.full(n_blocks, DEAD, np.int64)
    bfs = [int(block[0])]
    seen = set(bfs)
    for b in bfs:                         # breadth first; ``bfs`` grows as it is read
        for t in sorted(set(block_trans[b].tolist()) - seen - {DEAD}):
            seen.add(t)
            bfs.append(t)
    new_id[bfs] = np.arange(len(bfs))
    order = np.argsort(new_id)
    table = np.where(block_trans == DEAD, DEAD, new_id[np.where(block_trans == DEAD, 0, block_trans)])[order]
    first, merged = distinct_rows(table.T)      # classes the minimal DFA no longer tells apart merge
    class_of = merged[class_of].astype(np.int32)
    table = np.ascontiguousarray(table[:, first].astype(np.int32))
    states = rep_of_block[order]
    if segment is None:
        return DFA(table[:, class_of], accept[states].copy(), _classes=(class_of, table))
    return DFA(table[:, class_of], accept[states].copy(), segment[states].copy(), head[states].copy(), bounds,
               _classes=(class_of, table))


def negate(dfa: DFA) -> DFA:
    """DFA of every byte string ``dfa`` rejects; ``dfa`` must have no counted loops (a
    count's bound cannot be flipped state by state)."""
    sink = dfa.n_states
    trans = np.vstack([np.where(dfa.trans == DEAD, sink, dfa.trans), np.full((1, 256), sink)])
    return minimize(DFA(trans.astype(np.int32), np.append(~dfa.accept, True)))


def product(*dfas: DFA) -> DFA:
    """DFA of the intersection of the given DFAs' languages."""
    if any(d.n_states == 0 for d in dfas):
        return _EMPTY_DFA
    stacked = np.concatenate([d.trans for d in dfas], axis=0)
    class_of = distinct_rows(stacked.T)[1]
    reps = [int(np.nonzero(class_of == c)[0][0]) for c in range(class_of.max() + 1)]

    def successors(state: tuple[int, ...]):
        for c, r in enumerate(reps):
            nxt = tuple(int(d.trans[q, r]) for d, q in zip(dfas, state))
            if DEAD not in nxt:
                yield c, nxt

    ctab, order = _explore(tuple(0 for _ in dfas), successors, len(reps))
    trans = ctab[:, class_of]
    accept = np.array([all(d.accept[s] for d, s in zip(dfas, st)) for st in order], bool)
    tagged = [j for j, d in enumerate(dfas) if d.segment is not None]
    if not tagged:
        return minimize(DFA(trans, accept))
    if len(tagged) > 1:
        raise _CounterConflict               # one register per state
    d, own = dfas[tagged[0]], [st[tagged[0]] for st in order]
    return minimize(DFA(trans, accept, d.segment[own], d.head[own], d.bounds))
