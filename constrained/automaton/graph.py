"""Reachability over a graph given as edges sorted by source, and the index helpers it
shares with the vocabulary walk and the automata's edge lists."""
from __future__ import annotations

import numpy as np

_PYTHON_EDGES = 4096    # up to this many edges a search in Python beats numpy's cost per level
                        # (a chain of literal bytes, a key, is one level per byte: 25-30 us each)


def ranges(begin: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``begin[i] .. begin[i] + count[i] - 1`` for every i, concatenated (no Python loop)."""
    return np.repeat(begin - np.cumsum(count) + count, count) + np.arange(int(count.sum()))


def row_starts(src: np.ndarray, n: int) -> np.ndarray:
    """Where each of states ``0 .. n - 1`` starts in edges sorted by source ``src`` (and the end)."""
    return np.searchsorted(src, np.arange(n + 1))


def edges_of(first: np.ndarray, states: np.ndarray) -> np.ndarray:
    """The indices of the edges of ``states``, in edges whose states start at ``first`` (``row_starts``)."""
    return ranges(first[states], first[states + 1] - first[states])


def reached(seeds: np.ndarray, src: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Boolean mask of the states reachable from ``seeds`` along the edges ``src`` ->
    ``targets`` (sorted by source): a depth-first search in Python for small graphs, else
    breadth first, one vectorised step per level (linear in edges either way)."""
    first = row_starts(src, len(seeds))
    if len(targets) <= _PYTHON_EDGES:
        bounds, out = first.tolist(), targets.tolist()
        seen = seeds.tolist()
        stack = [q for q, s in enumerate(seen) if s]
        while stack:
            q = stack.pop()
            for t in out[bounds[q]:bounds[q + 1]]:
                if not seen[t]:
                    seen[t] = True
                    stack.append(t)
        return np.array(seen, bool)
    seen = seeds.copy()
    frontier = np.flatnonzero(seen)
    while frontier.size:
        nxt = np.unique(targets[edges_of(first, frontier)])
        nxt = nxt[~seen[nxt]]
        seen[nxt] = True
        frontier = nxt
    return seen
