"""Equal columns (or rows) of an integer table: things that act alike.

The token walk groups tokens with the same effect from every state: its table is sparse
and has a column per token class sequence, so columns are summed into a hash and the
grouping then checked exactly, never sorted whole. DFA minimisation and byte classes
group the rows of small dense tables, which one sort of their raw bytes does best.
"""
from __future__ import annotations

import itertools

import numpy as np


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: well-spread 64-bit hashes of distinct integers."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _column_sums(cols: np.ndarray, values: np.ndarray, n_cols: int, most: int) -> np.ndarray:
    """Per column, the sum of its uint64 ``values`` modulo 2**64. bincount adds pieces of
    them in float64, each as wide as keeps a column of ``most`` entries exact (two pieces
    while ``most`` < 2**21)."""
    width = 53 - int(most).bit_length()
    out = np.zeros(n_cols, np.uint64)
    for shift in range(0, 64, width):
        piece = ((values >> np.uint64(shift)) & np.uint64((1 << width) - 1)).astype(np.float64)
        out += np.bincount(cols, weights=piece, minlength=n_cols).astype(np.uint64) << np.uint64(shift)
    return out


def distinct_columns(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int],
                      default: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct columns of the table holding ``values`` at (``rows``, ``cols``) and
    ``default`` elsewhere (given sparse: the table itself is never built), and each
    column's index among them. ``values`` must differ from ``default``.

    Columns are grouped by the sum of a hash of their entries, then every entry is checked
    against its group's first column, so the grouping is exact (a collision only retries
    with another hash).
    """
    with np.errstate(over="ignore"):
        counts = np.bincount(cols, minlength=shape[1])
        entry = rows.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + values.astype(np.uint64)
        for salt in itertools.count(1):
            hashes = _column_sums(cols, _mix(entry + np.uint64(salt * 0xD1B54A32D192ED03 % 2**64)), shape[1], shape[0])
            _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
            inverse = inverse.reshape(-1)
            distinct = np.full((shape[0], len(first)), default, values.dtype)
            group = inverse[cols]
            own = first[group] == cols
            distinct[rows[own], group[own]] = values[own]
            if (counts == counts[first][inverse]).all() and (distinct[rows, group] == values).all():
                return distinct, inverse


def distinct_rows(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each distinct row, each row's index among them) of a small dense table:
    rows are compared as raw bytes, one sort, 5-10x faster than ``np.unique(axis=0)``."""
    table = np.ascontiguousarray(table)
    rows = table.view(np.dtype((np.void, table.itemsize * table.shape[1]))).reshape(-1)
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)
