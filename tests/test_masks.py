"""The mask table: rows kept once, ids listed for small rows, random picks only of allowed tokens."""
import numpy as np

from constrained import masks
from constrained.masks import MaskTable


def _table(allowed_sets, vocab_size):
    table = MaskTable(vocab_size)
    rows = []
    for allowed in allowed_sets:
        bits = np.zeros(vocab_size, bool)
        bits[list(allowed)] = True
        rows.append(table._row(("test", tuple(allowed)), lambda bits=bits: bits))
    return table, rows


def test_random_picks_are_allowed_and_cover_the_row(monkeypatch):
    monkeypatch.setattr(masks, "IDS_KEPT", 8)           # the second row takes the rejection path
    small, large = {3, 70, 99}, set(range(0, 200, 3))
    table, (r_small, r_large) = _table([small, large], 200)
    rng = np.random.default_rng(0)
    for row, allowed in ((r_small, small), (r_large, large)):
        picks = {table.random_allowed(row, lambda n: int(rng.integers(n))) for _ in range(3000)}
        assert picks == allowed
    assert r_small in table._ids and r_large not in table._ids    # only small id lists are kept
    assert np.array_equal(table.allowed_ids(r_large), sorted(large))
