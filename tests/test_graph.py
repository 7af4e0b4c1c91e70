"""Reachability over edges sorted by source: the search in Python (small graphs) and the one by
levels (large ones) reach the same states as a plain fixpoint."""
import numpy as np
import pytest

from constrained.automaton import graph


def _fixpoint(seeds, src, dst):
    seen = seeds.copy()
    while True:
        more = seen.copy()
        more[dst[seen[src]]] = True
        if (more == seen).all():
            return seen
        seen = more


@pytest.mark.parametrize("python_edges", [10**9, 0])
def test_reached_is_the_fixpoint_of_one_step(python_edges, monkeypatch):
    monkeypatch.setattr(graph, "_PYTHON_EDGES", python_edges)
    rng = np.random.default_rng(0)
    for n, m in ((1, 0), (5, 3), (40, 39), (200, 150), (300, 900)):
        src = np.sort(rng.integers(0, n, m))
        dst = rng.integers(0, n, m)
        if m == 39:                                    # a chain, as a literal's bytes make
            src, dst = np.arange(39), np.arange(1, 40)
        seeds = rng.random(n) < 0.05
        assert np.array_equal(graph.reached(seeds, src, dst), _fixpoint(seeds, src, dst))


def test_ranges_concatenates_index_runs():
    assert graph.ranges(np.array([5, 0, 9]), np.array([2, 0, 3])).tolist() == [5, 6, 9, 10, 11]
