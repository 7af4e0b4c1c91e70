"""A tiny byte-level regular-expression AST.

Every spec (JSON Schema value, ``pattern``, ``format``) is first written as one of these
trees over *bytes*; :mod:`constrained.automaton.dfa` turns a tree into a minimal DFA.
Working on bytes (not characters) is what lets a token that spans several characters,
or half of a UTF-8 sequence, be judged exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Node:
    """Base class of the AST."""


def _kept_on(node: Node, name: str, compute):
    """``compute(node)``, computed once and kept on the (frozen) node under ``name``: trees
    are deep and shared, and asked the same of again and again."""
    if name not in node.__dict__:
        object.__setattr__(node, name, compute(node))
    return node.__dict__[name]


def _hashed_once(cls):
    """Hash a node once: they are cache keys again and again."""
    by_fields = cls.__hash__

    def __hash__(self) -> int:
        return _kept_on(self, "_hash", by_fields)
    cls.__hash__ = __hash__
    return cls


@_hashed_once
@dataclass(frozen=True)
class ByteSet(Node):
    """One byte out of ``bits`` (a 256-bit integer: bit b set means byte b allowed)."""
    bits: int


@_hashed_once
@dataclass(frozen=True)
class Seq(Node):
    items: tuple[Node, ...]


@_hashed_once
@dataclass(frozen=True)
class Alt(Node):
    """Union; ``Alt(())`` is the empty language."""
    items: tuple[Node, ...]


@_hashed_once
@dataclass(frozen=True)
class Repeat(Node):
    """``item{lo,hi}``; ``hi=None`` means unbounded."""
    item: Node
    lo: int
    hi: int | None


@_hashed_once
@dataclass(frozen=True)
class Counted(Node):
    """``item{lo,hi}`` where ``item`` is one character of a prefix-free code (e.g. a JSON
    string character). The DFA keeps the loop and counts with a register instead of
    unrolling ``hi`` copies, so a long ``maxLength`` costs states in proportion to the
    character's encoding, not to the bound (see :mod:`constrained.automaton.dfa`)."""
    item: Node
    lo: int
    hi: int | None           # None: no upper bound (counts saturate at ``lo``)


@_hashed_once
@dataclass(frozen=True)
class Intersect(Node):
    """Strings in every item's language (built by a product of DFAs)."""
    items: tuple[Node, ...]


@_hashed_once
@dataclass(frozen=True)
class Complement(Node):
    """Every byte string ``item`` does not match (built by completing and flipping its DFA):
    what ``not`` leaves of a value, once intersected with the value's own regex."""
    item: Node


@_hashed_once
@dataclass(frozen=True)
class Subsequence(Node):
    """Some of ``items``, in order, with ``sep`` between consecutive ones (possibly none):
    an object's optional members. As a tree of the nodes above it is quadratic (each
    first member followed by its own copies of all later ones); the NFA builds it linear."""
    items: tuple[Node, ...]
    sep: Node


EMPTY = Alt(())          # matches nothing
EPSILON = Seq(())        # matches the empty string


def is_empty(node: Node) -> bool:
    return isinstance(node, Alt) and not node.items


def byteset(values: Iterable[int]) -> ByteSet:
    bits = 0
    for v in values:
        bits |= 1 << v
    return ByteSet(bits)


def byte_range(lo: int, hi: int) -> ByteSet:
    return ByteSet(((1 << (hi - lo + 1)) - 1) << lo)


def lit(text: str | bytes) -> Node:
    """A literal string (UTF-8 encoded when given as ``str``)."""
    data = text.encode() if isinstance(text, str) else text
    if len(data) == 1:
        return ByteSet(1 << data[0])
    return Seq(tuple(ByteSet(1 << b) for b in data))


def seq(*items: Node) -> Node:
    flat: list[Node] = []
    for it in items:
        if is_empty(it):
            return EMPTY
        flat.extend(it.items if isinstance(it, Seq) else (it,))
    return flat[0] if len(flat) == 1 else Seq(tuple(flat))


def alt(*items: Node) -> Node:
    kept: list[Node] = []
    for it in items:
        for sub in (it.items if isinstance(it, Alt) else (it,)):
            if sub not in kept:
                kept.append(sub)
    return kept[0] if len(kept) == 1 else Alt(tuple(kept))


def repeat(item: Node, lo: int, hi: int | None) -> Node:
    if hi is not None and hi < lo:
        return EMPTY
    if is_empty(item):
        return EPSILON if lo == 0 else EMPTY
    if hi == lo == 1:
        return item
    if hi == 0:
        return EPSILON
    return Repeat(item, lo, hi)


def counted(item: Node, lo: int, hi: int | None) -> Node:
    """``item{lo,hi}`` counted by a register; ``item`` must be a prefix-free character code."""
    if hi is not None and hi < lo:
        return EMPTY
    if is_empty(item):
        return EPSILON if lo == 0 else EMPTY
    return Counted(item, lo, hi)


def subsequence(items: Iterable[Node], sep: Node) -> Node:
    """Some of ``items`` in order, ``sep`` between present ones (empty items dropped)."""
    kept = tuple(it for it in items if not is_empty(it))
    return Subsequence(kept, sep) if kept else EPSILON


def optional(item: Node) -> Node:
    return repeat(item, 0, 1)


def star(item: Node) -> Node:
    return repeat(item, 0, None)


def intersect(*items: Node) -> Node:
    if any(is_empty(it) for it in items):
        return EMPTY
    return items[0] if len(items) == 1 else Intersect(tuple(items))


def complement(item: Node) -> Node:
    return Complement(item)


def without_bounds_beyond(node: Node, limit: int) -> Node:
    """``node`` with every counted upper bound of ``limit`` or more dropped: where no value
    that long can fit, the bound constrains nothing, and a register up to it costs states."""
    memo: dict[int, Node] = {}          # shared subtrees are rewritten once

    def cut(n: Node) -> Node:
        if _widest_bound(n) < limit:
            return n
        if id(n) not in memo:
            memo[id(n)] = out = n
            if isinstance(n, Counted) and n.hi is not None and n.hi >= limit:
                out = Counted(n.item, n.lo, None)
            elif isinstance(n, (Seq, Alt, Intersect, Subsequence)):
                items = tuple(map(cut, n.items))
                if any(a is not b for a, b in zip(items, n.items)):
                    out = Subsequence(items, n.sep) if isinstance(n, Subsequence) else type(n)(items)
            elif isinstance(n, Repeat) and cut(n.item) is not n.item:
                out = Repeat(cut(n.item), n.lo, n.hi)
            memo[id(n)] = out
        return memo[id(n)]
    return cut(node)


def _widest_bound(n: Node) -> int:
    """The largest counted upper bound in ``n`` where ``without_bounds_beyond`` looks (-1 if
    none), kept on the node: a slot's tree is asked once per layout, and mostly has none."""
    return _kept_on(n, "_bound", _widest_bound_of)


def _widest_bound_of(n: Node) -> int:
    if isinstance(n, Counted):
        return -1 if n.hi is None else n.hi
    if isinstance(n, (Seq, Alt, Intersect, Subsequence)):
        return max(map(_widest_bound, n.items), default=-1)
    if isinstance(n, Repeat):
        return _widest_bound(n.item)
    return -1


def unrolled_size(node: Node) -> int:
    """Leaves of ``node`` with bounded repeats unrolled: about half the states of its Thompson
    NFA, known before building it (an intersection or complement counts one: its automaton
    is built apart)."""
    memo: dict[int, int] = {}

    def size(n: Node) -> int:
        if id(n) not in memo:
            if isinstance(n, (Seq, Alt)):
                memo[id(n)] = sum(map(size, n.items)) or 1
            elif isinstance(n, Repeat):
                memo[id(n)] = size(n.item) * max(1, n.lo + (1 if n.hi is None else n.hi - n.lo))
            elif isinstance(n, Counted):
                memo[id(n)] = size(n.item)
            elif isinstance(n, Subsequence):
                memo[id(n)] = 2 * sum(map(size, n.items)) + len(n.items) * size(n.sep)
            else:
                memo[id(n)] = 1
        return memo[id(n)]
    return size(node)


def min_length(node: Node) -> int | None:
    """Shortest string in bytes, or None for the empty language (used for layout budgets),
    kept on the node: every layout of a schema asks it of every slot's whole tree."""
    return _kept_on(node, "_min", _min_length)


def _min_length(node: Node) -> int | None:
    if isinstance(node, ByteSet):
        return 1 if node.bits else None
    if isinstance(node, Seq):
        total = 0
        for it in node.items:
            m = min_length(it)
            if m is None:
                return None
            total += m
        return total
    if isinstance(node, Alt):
        lengths = [m for m in map(min_length, node.items) if m is not None]
        return min(lengths) if lengths else None
    if isinstance(node, (Repeat, Counted)):
        m = min_length(node.item)
        return 0 if node.lo == 0 else (None if m is None else m * node.lo)
    if isinstance(node, (Subsequence, Complement)):
        return 0
    if isinstance(node, Intersect):
        lengths = [min_length(it) for it in node.items]
        return None if None in lengths else max(lengths)   # a lower bound is enough
    raise TypeError(node)
