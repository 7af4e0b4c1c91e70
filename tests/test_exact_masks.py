"""Per-position masks equal brute-force enumeration of every completion (small cases)."""
import itertools
import json
import random

import jsonschema
import pytest

from constrained.automaton.dfa import compile_dfa
from constrained.automaton.regex import seq, star
from constrained.canvas import CanvasState
from constrained.compile.json_schema import SchemaCompiler
from constrained.template import WHITESPACE, CanvasTemplate, Piece, _automaton
from constrained.vocabulary import TokenVocabulary

TOKENS = [b"", b'"', b"a", b"b", b"ab", b'"a', b'a"', b" ", b"1", b"12", b"0", b"-", b".", b"5",
          b"\\", b'\\"', b"[", b"]", b", ", b"[1", b"]  ", b"tr", b"ue", b"null", b"\xc3", b"\xa9"]
VOCAB = TokenVocabulary.from_token_bytes(TOKENS, special_ids=[0])

SCHEMAS = [
    {"type": "string", "maxLength": 2},
    {"type": "string", "minLength": 1, "pattern": "^a+$"},
    {"enum": ["a", "ab", 12]},
    {"type": "integer", "minimum": -5, "maximum": 12},
    {"type": "number", "exclusiveMinimum": 0.5, "maximum": 1},
    {"type": "array", "items": {"type": "integer", "maximum": 2}, "maxItems": 2},
    {"anyOf": [{"type": "boolean"}, {"type": "null"}, {"type": "string", "maxLength": 1}]},
]


def _region_template(schema, length):
    (slot,) = SchemaCompiler(schema).layout()
    automaton = _automaton(slot.node, VOCAB)
    template = CanvasTemplate([Piece(automaton=automaton, length=length)], VOCAB, max_tokens=length)
    return template, compile_dfa(seq(slot.node, star(WHITESPACE)))


def _brute_force(dfa, tokens):
    """For each position, the set of tokens that appear in some accepted full assignment."""
    ids = [i for i in range(VOCAB.size) if VOCAB.generable[i]]
    open_pos = [i for i, t in enumerate(tokens) if t < 0]
    allowed = {i: set() for i in open_pos}
    completions = []
    for combo in itertools.product(ids, repeat=len(open_pos)):
        filled = list(tokens)
        for p, t in zip(open_pos, combo):
            filled[p] = t
        data = VOCAB.decode(filled)
        if dfa.matches(data):
            completions.append(data)
            for p, t in zip(open_pos, combo):
                allowed[p].add(t)
    return allowed, completions


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: json.dumps(s)[:40])
def test_masks_equal_brute_force(schema):
    rng = random.Random(0)
    for scenario in range(3):
        template, dfa = _region_template(schema, 4)
        state = CanvasState(template)
        for _ in range(scenario):                       # commit a few valid tokens first
            pos = int(rng.choice(state.open_positions()))
            row = state.mask_rows([pos])[0]
            choices = template.masks.allowed_ids(row)
            if len(choices):
                assert state.commit(pos, int(rng.choice(choices)))
        expected, completions = _brute_force(dfa, state.tokens)
        open_pos = state.open_positions()
        for pos, row in zip(open_pos, state.mask_rows(open_pos)):
            assert set(template.masks.allowed_ids(row).tolist()) == expected[int(pos)], (schema, scenario, pos)
        for data in completions:                          # and every completion is valid JSON for the schema
            jsonschema.validate(json.loads(data), schema)


def test_a_disallowed_commit_is_refused():
    template, _ = _region_template({"type": "string", "maxLength": 2}, 3)
    state = CanvasState(template)
    quote = TOKENS.index(b'"')
    a_id = TOKENS.index(b"a")
    assert not state.commit(0, a_id)                      # a string must open with a quote
    assert state.commit(0, quote) and state.commit(1, quote)
    assert not state.commit(2, a_id)                      # after the closing quote only whitespace
    assert state.commit(2, TOKENS.index(b" "))
    assert state.text() == '"" '


def test_canvases_of_one_template_share_nothing_they_change():
    """A canvas starts from state sets its automaton keeps for open regions: commits in one
    canvas leave another canvas of the same template, and a new one, as they were."""
    template, _ = _region_template({"type": "string", "maxLength": 2}, 4)
    first, second = CanvasState(template), CanvasState(template)
    before = [template.masks.allowed_ids(r).tolist() for r in second.mask_rows(second.open_positions())]
    assert first.commit(0, TOKENS.index(b'"')) and first.commit(1, TOKENS.index(b'a"'))
    for state in (second, CanvasState(template)):
        after = [template.masks.allowed_ids(r).tolist() for r in state.mask_rows(state.open_positions())]
        assert after == before
    assert [template.masks.allowed_ids(first.mask_rows([2])[0]).tolist()] != before[2:3]    # the commits did narrow it
