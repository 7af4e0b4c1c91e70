"""Counted loops (a string's length bounds kept as a register, not unrolled into states)
accept exactly what the unrolled automaton accepts, byte by byte and token by token."""
import json
import re
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constrained.automaton import dfa as dfa_module
from constrained.automaton.dfa import compile_dfa
from constrained.automaton.regex import Counted, alt, lit, seq, star, without_bounds_beyond
from constrained.canvas import CanvasState
from constrained.compile.formats import format_pattern
from constrained.compile.json_schema import SchemaCompiler
from constrained.compile.strings import json_string, pattern_content
from constrained.errors import SchemaTooComplexError
from constrained.template import WHITESPACE, CanvasTemplate, Piece
from constrained.token_automaton import TokenAutomaton
from constrained.vocabulary import TokenVocabulary

TOKENS = [b"", b'"', b"a", b"b", b"ab", b'"a', b'a"', b'a", "', b" ", b"abc", b"\\", b'\\"', b"\\n", b"\\u00",
          b"1f", b"[", b"]", b", ", b'["', b'"]', b"{", b"}", b'{"a": ', b'"b": ', b": ", b"\xc3", b"\xa9",
          b"\xc3\xa9", b"1", b"-"]
VOCAB = TokenVocabulary.from_token_bytes(TOKENS, special_ids=[0])

SCHEMAS = [
    {"type": "string", "maxLength": 3},
    {"type": "string", "minLength": 2, "maxLength": 5},
    {"type": "array", "items": {"type": "string", "maxLength": 2}},
    {"type": "array", "maxItems": 2, "items": {"type": "object", "properties": {
        "a": {"type": "string", "maxLength": 3}, "b": {"type": "string", "minLength": 1, "maxLength": 2}}}},
    {"anyOf": [{"type": "string", "maxLength": 2}, {"type": "integer"}]},
    {"type": "string", "pattern": "^[ab]+$", "maxLength": 3},
    {"type": "string", "pattern": "^a", "minLength": 2, "maxLength": 4},
]


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 4), st.integers(0, 6), st.text(max_size=9))
def test_counted_string_matches_like_unrolled(lo, span, text):
    for node in (json_string(lo, lo + span), without_bounds_beyond(json_string(lo, lo + span), lo)):
        counted, unrolled = compile_dfa(node), compile_dfa(node, counters=False)
        assert counted.bounds and not unrolled.bounds
        assert not counted.is_empty()
        data = json.dumps(text, ensure_ascii=False).encode()
        hi = node.items[1].hi
        assert counted.matches(data) == unrolled.matches(data) == (lo <= len(text) and (hi is None or len(text) <= hi))


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(["^[a-z-]+$", "^a.*", "b$", "^(ab|c)*$"]), st.integers(0, 3), st.integers(0, 4),
       st.text(alphabet="abc-é\"", max_size=9))
def test_counted_pattern_matches_like_unrolled(pattern, lo, span, text):
    node = json_string(lo, lo + span, pattern_content(pattern))
    counted, unrolled = compile_dfa(node), compile_dfa(node, counters=False)
    assert counted.bounds or unrolled.is_empty()
    assert counted.is_empty() == unrolled.is_empty()
    data = json.dumps(text, ensure_ascii=False).encode()
    want = lo <= len(text) <= lo + span and re.search(pattern, text) is not None
    assert counted.matches(data) == unrolled.matches(data) == want


def test_bounds_no_value_can_meet_are_found_empty():
    date = pattern_content(format_pattern("date"))
    for lo, hi, empty in ((10, 10, False), (9, 12, False), (11, 20, True), (0, 9, True)):
        assert compile_dfa(json_string(lo, hi, date)).is_empty() == empty


def test_long_bounds_cost_no_states():
    small, large = compile_dfa(json_string(0, 10)), compile_dfa(json_string(0, 5000))
    assert small.n_states == large.n_states < 20
    assert compile_dfa(json_string(0, 300), counters=False).n_states > 300


def test_loops_that_determinisation_would_mix_are_unrolled():
    for node in (alt(json_string(0, 2), json_string(0, 4)), alt(json_string(2, 3), lit('"a"'))):
        dfa = compile_dfa(node)
        assert not dfa.bounds
        for text in ("", "a", "ab", "abc", "abcd", "abcde"):
            assert dfa.matches(json.dumps(text).encode()) == compile_dfa(node, counters=False).matches(
                json.dumps(text).encode())


def test_loops_unrolled_past_use_are_refused_early(monkeypatch):
    """Unrolled because they mix, long bounds are refused at ``MAX_UNROLLED_STATES`` (the
    slot is then narrowed), where the reference, unrolled by request, is built whole."""
    node = alt(json_string(0, 40), json_string(0, 60))
    full = compile_dfa(node, counters=False).n_states
    monkeypatch.setattr(dfa_module, "MAX_UNROLLED_STATES", full - 1)
    dfa_module.clear_caches()
    try:
        with pytest.raises(SchemaTooComplexError, match=f"exceeds {full - 1} states"):
            compile_dfa(node)
    finally:
        dfa_module.clear_caches()


def _masks(state: CanvasState) -> list[np.ndarray]:
    table = state.template.masks
    return [table.allowed_ids(row) for row in state.mask_rows(state.open_positions())]


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: json.dumps(s)[:40])
def test_token_masks_equal_the_unrolled_automatons(schema):
    (slot,) = SchemaCompiler(schema).layout()
    node = seq(slot.node, star(WHITESPACE))
    counted = TokenAutomaton(compile_dfa(node), VOCAB)
    unrolled = TokenAutomaton(compile_dfa(node, counters=False), VOCAB)
    assert counted.dfa.bounds
    rng = np.random.default_rng(0)
    for length in (3, 5, 7):
        for _ in range(3):
            states = [CanvasState(CanvasTemplate([Piece(automaton=a, length=length)], VOCAB, length))
                      for a in (counted, unrolled)]
            while not states[0].is_complete():
                got, want = _masks(states[0]), _masks(states[1])
                assert all(np.array_equal(g, w) for g, w in zip(got, want))
                pos = int(rng.choice(states[0].open_positions()))
                token = int(rng.choice(states[0].template.masks.allowed_ids(states[0].mask_rows([pos])[0])))
                assert states[0].commit(pos, token) and states[1].commit(pos, token)
            assert counted.dfa.matches(VOCAB.decode(states[0].tokens))


def test_bound_beyond_any_canvas_is_dropped():
    node = seq(json_string(0, 65535), star(WHITESPACE))
    capped = without_bounds_beyond(node, 2048 * 4)
    assert capped.items[1] == Counted(capped.items[1].item, 0, None)
    assert without_bounds_beyond(node, 70000) is node
    started = time.perf_counter()
    automaton = TokenAutomaton(compile_dfa(capped), VOCAB)
    assert automaton.dead < 50 and time.perf_counter() - started < 5


def test_a_count_table_over_its_limit_is_a_typed_error(monkeypatch):
    import constrained.token_automaton as ta
    from constrained import SchemaTooComplexError
    monkeypatch.setattr(ta, "MAX_TABLE", 5_000)
    dfa = compile_dfa(json_string(0, 777))
    with pytest.raises(SchemaTooComplexError, match="777|table entries"):
        TokenAutomaton(dfa, VOCAB)
    TokenAutomaton(compile_dfa(json_string(0, 7)), VOCAB)       # a small count still fits


def test_bounds_are_cut_per_limit_though_each_node_keeps_its_widest():
    short, long = json_string(0, 5), json_string(0, 20)
    node = seq(short, alt(long, lit("x")))
    assert _counted_bounds(without_bounds_beyond(node, 10)) == [5, None]
    assert _counted_bounds(without_bounds_beyond(node, 3)) == [None, None]    # the first limit left no trace
    assert without_bounds_beyond(node, 21) is node


def _counted_bounds(node):
    """The upper bounds of the counted loops in ``node``, left to right."""
    if isinstance(node, Counted):
        return [node.hi]
    return [b for item in getattr(node, "items", ()) for b in _counted_bounds(item)]
