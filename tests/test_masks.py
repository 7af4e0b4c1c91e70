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
        rows.append(table._row(("test", tuple(allowed)), len(allowed), lambda: None, lambda bits=bits: bits))
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


def test_rows_are_counted_when_met_and_packed_when_read():
    """A template meets many rows on its way to pinning; only those read are packed."""
    table = MaskTable(90)
    listed = table._row(("ids",), 2, lambda: np.array([1, 5]))
    bits = np.zeros(90, bool)
    bits[::7] = True
    gathered = table._row(("bits",), 13, lambda: None, lambda: bits)
    assert (table.count(listed), table.count(gathered)) == (2, 13) and table._rows == [None, None]
    assert np.array_equal(table.allowed_ids(listed), [1, 5]) and table._rows[listed] is None
    unpacked = np.unpackbits(table.tensor().numpy().view(np.uint8), axis=1, bitorder="little")[:, :90]
    assert [list(np.flatnonzero(u)) for u in unpacked] == [[1, 5], list(range(0, 90, 7))]


def test_rows_kept_per_position_match_a_fresh_canvas():
    import constrained
    from constrained.canvas import CanvasState
    from constrained.vocabulary import TokenVocabulary
    tokens = [b"", b'"', b"a", b"b", b"ab", b'"a', b'a"', b" ", b"1", b"12", b"-", b",", b", ", b"[", b"]", b"{",
              b"}", b'{"', b'": ', b"x", b"tr", b"ue", b"false", b"null"]
    vocab = TokenVocabulary.from_token_bytes(tokens, special_ids=[0])
    schema = {"type": "object", "properties": {"x": {"type": "array", "items": {"type": "integer"}},
                                               "a": {"type": "string", "maxLength": 4}, "b": {"type": "boolean"}}}
    template = constrained.compile(schema, vocab, max_tokens=40)
    rng = np.random.default_rng(0)
    for _ in range(3):
        state = CanvasState(template)
        while not state.is_complete():
            open_ = state.open_positions()
            assert np.array_equal(state.mask_rows(open_), CanvasState(template, state.tokens).mask_rows(open_))
            pos = int(rng.choice(open_))
            state.commit(pos, template.masks.random_allowed(int(state.mask_rows([pos])[0]), lambda n: int(rng.integers(n))))


def test_few_tokens_listed_by_column_are_the_gathered_ones():
    """Rows of under V/64 tokens (or of all but so few) are read off the tokens grouped by
    column: the same ids as the gather over the whole vocabulary, non-generable tokens left out."""
    from constrained.automaton.dfa import compile_dfa
    from constrained.compile.json_schema import SchemaCompiler
    from constrained.token_automaton import TokenAutomaton
    from constrained.vocabulary import TokenVocabulary
    pieces = [bytes([b]) for b in range(32, 127)] + [b"12", b"-1", b'"a', b"1e", b".5", b"ab", b"true", b"nul"]
    vocab = TokenVocabulary.from_token_bytes([b""] + pieces * 8, special_ids=[0, 5])     # 824 tokens, 5 special
    (slot,) = SchemaCompiler({"anyOf": [{"type": "number"}, {"enum": ["ab", True]}]}).layout()
    a = TokenAutomaton(compile_dfa(slot.node), vocab)
    rng = np.random.default_rng(0)
    width = a.next.shape[1]
    single = np.eye(width, dtype=bool)
    subsets = [single[c] for c in range(width)] + [~single[c] for c in range(width)] \
        + [rng.random(width) < p for p in (0.3, 0.97) for _ in range(20)]
    listed = 0
    for columns in subsets:
        gathered = np.flatnonzero(vocab.generable & np.append(columns, False)[a.tok2u])
        ids = a.few_tokens_of(columns)
        assert np.array_equal(np.flatnonzero(a.tokens_of(columns)), gathered)     # also read off the few not in them
        if ids is None:
            assert len(gathered) * 64 > vocab.size
        else:
            listed += 1
            assert np.array_equal(ids, gathered)
    assert listed > width // 2


def test_rows_packed_from_ids_equal_rows_packed_from_bits():
    rng = np.random.default_rng(0)
    for vocab_size in (1, 31, 33, 824, 151_669):
        for k in (0, 1, 7, min(vocab_size, 4000)):
            ids = np.sort(rng.choice(vocab_size, min(k, vocab_size), replace=False))
            bits = np.zeros(vocab_size, bool)
            bits[ids] = True
            assert np.array_equal(masks.pack_ids(ids, vocab_size), masks.pack_bits(bits))
