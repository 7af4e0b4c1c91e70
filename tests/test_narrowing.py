"""Values too large for one automaton are laid out narrower, never invalid: each level emits
a subset of the level before, a warning names the slot, and running out of levels is the
typed error naming it."""
import json
import warnings

import jsonschema
import pytest

import constrained
from constrained import NarrowedSchemaWarning, SchemaTooComplexError
from constrained.automaton import dfa as dfa_module
from constrained.automaton.dfa import compile_dfa
from constrained.automaton.regex import Repeat, complement, intersect, lit, unrolled_size
from constrained.compile.json_schema import SchemaCompiler, Slot
from constrained.compile.narrowing import NARROWER, Narrowing

TREE = {
    "$defs": {"node": {"type": "object", "required": ["v"], "properties": {
        "v": {"type": "string", "maxLength": 70},
        "tags": {"type": "array", "maxItems": 6, "items": {"type": "string", "maxLength": 3}},
        "kids": {"type": "array", "maxItems": 2, "items": {"$ref": "#/$defs/node"}}}}},
    "type": "array", "maxItems": 5, "items": {"$ref": "#/$defs/node"},
}
RECORD = {
    "type": "object", "anyOf": [{"required": ["a"]}, {"required": ["b"]}],
    "properties": {"a": {"type": "string", "maxLength": 90}, "n": {"type": "integer"},
                   "b": {"type": "array", "maxItems": 5, "items": {
                       "type": "object", "properties": {"x": {"type": "string", "maxLength": 70},
                                                        "y": {"type": "boolean"}}}}},
}


def _slot_at(compiler: SchemaCompiler, pointer: str) -> Slot:
    return next(p for p in compiler.layout() if isinstance(p, Slot) and p.pointer == pointer)


def _levels(schema, pointer: str = "#"):
    """The slot at ``pointer`` laid out at every level, widest first."""
    compiler = SchemaCompiler(schema)
    out = [_slot_at(compiler, pointer).node]
    while compiler.narrow(pointer, "test"):
        out.append(_slot_at(compiler, pointer).node)
    return out


SMALL_TREE = {
    "$defs": {"node": {"type": "object", "required": ["v"], "properties": {
        "v": {"type": "integer"}, "t": {"type": "boolean"},
        "kids": {"type": "array", "maxItems": 2, "items": {"$ref": "#/$defs/node"}}}}},
    "type": "array", "maxItems": 2, "items": {"$ref": "#/$defs/node"},
}


@pytest.mark.parametrize("schema", [
    {"type": "string", "maxLength": 70},
    {"type": "array", "maxItems": 20, "items": {"type": "boolean"}},
    SMALL_TREE,
    {"type": "object", "anyOf": [{"required": ["a"]}, {"required": ["b"]}], "properties": {
        "a": {"type": "integer"}, "b": {"type": "array", "maxItems": 5, "items": {
            "type": "object", "properties": {"x": {"type": "boolean"}, "y": {"type": "array", "items": {}}}}}}},
])
def test_every_level_emits_a_subset_of_the_level_before(schema):
    levels = _levels(schema)
    assert len(levels) == len(NARROWER) + 1
    for wider, narrower in zip(levels, levels[1:]):
        assert compile_dfa(intersect(narrower, complement(wider))).is_empty()
    assert not compile_dfa(intersect(levels[0], complement(levels[-1]))).is_empty()    # and it did narrow


def test_narrowing_reads_each_bound():
    n = Narrowing(max_length=10, max_items=3, optional_depth=1)
    assert (n.string_max(0, 50), n.string_max(12, 50), n.string_max(0, None), n.string_max(0, 5)) == (10, 12, None, 5)
    assert (n.items_max(0, 9, 1), n.items_max(5, 9, 1), n.items_max(0, None, 1), n.items_max(2, 9, 2)) == (3, 5, None, 2)
    assert n.keeps_optional(1) and not n.keeps_optional(2)


@pytest.fixture
def small_automata(monkeypatch):
    """A state limit low enough that the schemas here overflow it at full width."""
    monkeypatch.setattr(dfa_module, "MAX_STATES", 400)
    dfa_module.clear_caches()
    yield
    dfa_module.clear_caches()


@pytest.mark.parametrize("schema", [TREE, RECORD, {"type": "object", "required": ["r"], "properties": {"r": RECORD}}])
def test_a_narrowed_schema_warns_and_its_outputs_validate(small_automata, schema):
    from constrained.backends.tiny import random_backend
    backend = random_backend()
    schema = {**schema, "title": f"narrowing test {id(schema)}"}        # not a template cached at full width
    with pytest.warns(NarrowedSchemaWarning, match="laid out narrower"):
        generator = constrained.Generator(schema, backend, steps=4)
    validator = jsonschema.Draft202012Validator(schema)
    for seed in range(4):
        value = generator("Fill in the record.", seed=seed, temperature=1.0)
        assert validator.is_valid(value), json.dumps(value)


def test_running_out_of_levels_is_the_typed_error_naming_the_slot(monkeypatch):
    monkeypatch.setattr(dfa_module, "MAX_STATES", 3)
    dfa_module.clear_caches()
    from constrained.backends.tiny import random_backend
    when = {"type": "string", "pattern": "^when: [0-9]+ narrowing test$"}       # no automaton cached for it
    schema = {"type": "object", "required": ["when"], "properties": {"when": when}}
    with pytest.raises(SchemaTooComplexError) as info, warnings.catch_warnings():
        warnings.simplefilter("error")         # no warning for a schema that is refused anyway
        constrained.compile(schema, random_backend().vocab)
    assert info.value.pointer == "#/properties/when"
    dfa_module.clear_caches()


def test_subschema_overflow_narrows_the_slot(monkeypatch):
    from constrained.compile import json_schema
    monkeypatch.setattr(json_schema, "MAX_SUBSCHEMAS", 12)
    compiler = SchemaCompiler(TREE)
    (slot,) = compiler.layout()
    assert "#" in compiler.narrowed and "subschemas" in compiler.narrowed["#"][1]
    assert not compile_dfa(slot.node).is_empty()


def test_an_expression_too_large_fails_before_its_automaton_is_built():
    node = Repeat(Repeat(lit("abcdefgh"), 0, 1000), 0, 1000)
    assert unrolled_size(node) > dfa_module.MAX_NFA_STATES
    with pytest.raises(SchemaTooComplexError, match="too large"):
        compile_dfa(node)


def test_a_slot_narrowed_until_it_has_no_value_is_too_complex_not_unsatisfiable(monkeypatch):
    from constrained import token_automaton
    from constrained.backends.tiny import random_backend
    monkeypatch.setattr(token_automaton, "MAX_TABLE", 2_000)         # 300 counted characters overflow it
    word = {"type": "string", "pattern": "^[a-z]{100}$", "maxLength": 300, "title": "narrowed to nothing"}
    schema = {"type": "object", "required": ["w"], "properties": {"w": word}}
    with pytest.raises(SchemaTooComplexError) as info:
        constrained.compile(schema, random_backend().vocab)
    assert info.value.pointer == "#/properties/w"


def test_a_walk_over_too_many_token_prefixes_narrows_instead_of_exhausting_memory(monkeypatch):
    """On a 262k vocabulary a slot of thousands of states walked the token trie from each of
    them (300M pairs, an OOM kill); the walk's budget is a size error like any other."""
    from constrained import template, token_automaton
    from constrained.backends.tiny import random_backend
    from constrained.bounded_cache import BoundedCache
    monkeypatch.setattr(token_automaton, "MAX_WALK", 2200)       # 20 items overflow it, 4 fit
    monkeypatch.setattr(template, "_AUTOMATA", BoundedCache(8))  # walked here, not read from the cache
    schema = {"type": "array", "maxItems": 20, "items": {"type": "integer", "minimum": 0, "maximum": 9},
              "title": "walk budget test"}
    with pytest.warns(NarrowedSchemaWarning, match="token prefix"):
        generator = constrained.Generator(schema, random_backend(), steps=4)
    for seed in range(3):
        value = generator("Some digits.", seed=seed, temperature=1.0)
        jsonschema.validate(value, schema)
        assert len(value) <= 4


def test_a_slot_refused_as_too_large_is_not_walked_again_in_the_same_compile(monkeypatch):
    """A narrower layout can leave the refused slot as it was (nothing in it to narrow at
    that level): the refusal is remembered, not found again after seconds of walking."""
    from constrained import template, token_automaton
    from constrained.backends.tiny import random_backend
    from constrained.bounded_cache import BoundedCache
    monkeypatch.setattr(token_automaton, "MAX_WALK", 2200)
    monkeypatch.setattr(template, "_AUTOMATA", BoundedCache(8))
    built = []
    monkeypatch.setattr(template, "TokenAutomaton", lambda dfa, vocab: built.append(dfa) or
                        token_automaton.TokenAutomaton(dfa, vocab))
    vocab = random_backend().vocab
    slot = _slot_at(SchemaCompiler({"type": "array", "maxItems": 20, "items": {"type": "integer"}}), "#")
    refused: dict = {}
    for _ in range(2):
        with pytest.raises(SchemaTooComplexError, match="token prefix"):
            template.CanvasTemplate.build([slot], vocab, refused=refused)
    assert len(built) == 1 and len(refused) == 1
    with pytest.raises(SchemaTooComplexError, match="token prefix"):
        template.CanvasTemplate.build([slot], vocab)          # a compile of its own walks it again
    assert len(built) == 2


def test_a_refused_slot_ends_the_reading_ahead(monkeypatch):
    """Slots are read together up to the first refused DFA: the layout fails there and is
    narrowed, so nothing after it is built at that width."""
    from constrained import template
    from constrained.backends.tiny import random_backend
    vocab = random_backend().vocab
    monkeypatch.setattr(dfa_module, "MAX_STATES", 12)
    dfa_module.clear_caches()
    built = []
    monkeypatch.setattr(template, "compile_dfa", lambda node: built.append(node) or compile_dfa(node))
    first, wide, last = lit('"a"'), lit('"' + "b" * 30 + '"'), lit('"c"')
    refused: dict = {}
    try:
        template._read_together([Slot(first, 1, "#/a"), "x", Slot(wide, 30, "#/b"), Slot(last, 1, "#/c")],
                                vocab, 64, refused)
    finally:
        dfa_module.clear_caches()
    assert len(built) == 2 and len(refused) == 1 and "exceeds 12 states" in next(iter(refused.values()))
