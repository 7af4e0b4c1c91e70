"""``oneOf`` with overlapping branches: each branch is narrowed until no value it emits is valid
under another, so every output matches exactly one branch; what cannot be told apart is refused."""
import json
import re

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import constrained
from constrained import UnsupportedSchemaError
from constrained.automaton.dfa import compile_dfa
from constrained.compile.json_schema import SchemaCompiler
from constrained.compile.merge import merge
from constrained.compile.one_of import exclusive_branches
from constrained.compile.strings import json_string, pattern_content

FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


@pytest.fixture(scope="module")
def model():
    from constrained.backends.tiny import random_backend
    return random_backend()


def _narrowed(schema):
    """The branches as the compiler narrows them (each merged with the keywords beside oneOf)."""
    rest = {k: v for k, v in schema.items() if k != "oneOf"}
    return exclusive_branches(SchemaCompiler(schema), [merge(rest, b) for b in schema["oneOf"]], "#")


def _validate(schema, value):
    jsonschema.validators.validator_for(schema)(schema, format_checker=FORMAT_CHECKER).validate(value)


def test_branches_told_apart_by_required_keys_forbid_the_others():
    ids = {"ssn": {"type": "string"}, "ein": {"type": "string"}, "itin": {"type": "string"}}
    schema = {"properties": ids, "oneOf": [{"required": ["ssn"]}, {"required": ["ein"]}, {"required": ["itin"]}]}
    flat = SchemaCompiler(schema).flat
    for branch, key in zip(_narrowed(schema), ids):
        assert branch["required"] == [key]
        assert {k for k, rule in branch["properties"].items() if flat(rule) is not False} == {key}


def test_keys_a_branch_never_writes_need_no_narrowing():
    schema = {"oneOf": [{"required": ["ssn"]}, {"required": ["ein"]}]}
    assert _narrowed(schema) == schema["oneOf"]


def test_closed_objects_require_a_key_the_other_forbids():
    closed = {"type": "object", "additionalProperties": False}
    schema = {"oneOf": [{**closed, "properties": {"key": {"type": "string"}}},
                        {**closed, "properties": {"keys": {"type": "array"}}}]}
    first, second = _narrowed(schema)
    assert first["required"] == ["key"] and second["required"] == ["keys"]


def test_literals_keep_only_values_the_other_branch_rejects():
    schema = {"oneOf": [{"enum": ["warn", "error", "{{x}}"]}, {"type": "string", "pattern": "^\\{\\{.*\\}\\}$"}]}
    literals, pattern = _narrowed(schema)
    assert literals["enum"] == ["warn", "error"]
    # it may write "{{x}}", valid under the enum as written: it keeps what the enum rejects
    assert pattern == {**schema["oneOf"][1], "not": schema["oneOf"][0]}
    schema["oneOf"][0]["enum"].pop()
    assert _narrowed(schema) == schema["oneOf"]     # the pattern never writes "warn" or "error"


def test_shared_types_are_dropped_and_inseparable_branches_left_out():
    schema = {"oneOf": [{"type": ["string", "null"]}, {"type": "string", "maxLength": 2}]}
    assert _narrowed(schema) == [{"type": ["null"]}, False]


def test_strings_apart_when_their_regexes_do_not_meet():
    schema = {"oneOf": [{"type": "string", "pattern": "^[^:]+$"}, {"type": "string", "pattern": "^[^:]+:[^:]+:[0-9]+$"}]}
    assert _narrowed(schema) == schema["oneOf"]
    # a format may accept more than its regex, so only the side without one is kept
    schema = {"oneOf": [{"type": "string", "maxLength": 3}, {"type": "string", "format": "date"}]}
    assert _narrowed(schema) == [False, schema["oneOf"][1]]


def test_members_are_told_apart_and_narrowed_recursively():
    closed = {"type": "object", "required": ["from"], "additionalProperties": False}
    schema = {"oneOf": [{**closed, "properties": {"from": {"type": "object", "required": ["path"],
                                                           "properties": {"path": {"type": "string"}}}}},
                        {**closed, "properties": {"from": {"type": "object", "required": ["path"],
                                                           "properties": {"path": {"type": "integer"}}}}}]}
    assert _narrowed(schema) == schema["oneOf"]
    schema = {"oneOf": [{"type": "object", "required": ["a"], "properties": {"a": {"type": ["string", "integer"]}}},
                        {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}}]}
    first, second = _narrowed(schema)
    assert SchemaCompiler(schema).flat(first["properties"]["a"]) == {"type": ["string"]}
    assert second is False             # every {"a": integer} is valid under the first as written


def test_unions_are_apart_branch_by_branch():
    def tagged(tag):
        return {"type": "object", "properties": {"type": {"const": tag}}, "required": ["type"]}
    schema = {"$defs": {"term": {"oneOf": [tagged("variable"), tagged("literal")]}},
              "oneOf": [{"$ref": "#/$defs/term"},
                        {"type": "object", "properties": {"type": {"enum": ["star", "plus"]}}, "required": ["type"]}]}
    compiler = SchemaCompiler(schema)
    branches = [compiler.flat(b) for b in schema["oneOf"]]
    assert exclusive_branches(compiler, branches, "#") == branches


def test_draft4_integral_floats_count_as_equal_to_enum():
    # 1.0 is not a draft-4 integer, but the integer branch may write 1, which equals 1.0
    schema = {"$schema": "http://json-schema.org/draft-04/schema#", "oneOf": [{"enum": [1.0, 2.5]}, {"type": "integer"}]}
    narrowed = _narrowed(schema)
    assert narrowed[0] == {"enum": [1.0, 2.5]} and narrowed[1] == {"type": "integer", "not": {"enum": [1.0, 2.5]}}


OVERLAPPING = [
    {"type": "object", "properties": {"name": {"type": "string"}, "ssn": {"type": "string", "maxLength": 4},
                                      "ein": {"type": "integer"}},
     "oneOf": [{"required": ["ssn"]}, {"required": ["ein"]}]},
    {"oneOf": [{"type": "string", "pattern": "\\{\\{.*\\}\\}"}, {"type": "string", "enum": ["warn", "error"]}]},
    {"type": "object", "oneOf": [
        {"additionalProperties": False, "properties": {"key": {"type": "string", "maxLength": 5}}},
        {"additionalProperties": False, "properties": {"keys": {"type": "array", "items": {"type": "string"}}}}]},
    {"oneOf": [{"type": "string", "maxLength": 3}, {"minimum": 0}]},
    {"oneOf": [{"type": ["string", "null"]}, {"type": "string", "maxLength": 2}]},
    {"oneOf": [{"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}},
               {"type": "object", "properties": {"b": {"type": "boolean"}}, "required": ["b"]}]},
    {"type": "array", "maxItems": 3, "items": {"oneOf": [
        {"type": "object", "properties": {"kind": {"const": "a"}, "x": {"type": "integer"}}, "required": ["kind"]},
        {"type": "object", "properties": {"kind": {"enum": ["a", "b"]}, "y": {"type": "null"}}, "required": ["kind"]}]}},
    {"oneOf": [{"type": "string", "pattern": "^[^:]+$", "maxLength": 6}, {"type": "string", "pattern": "^[a-z]+:[0-9]+$"}]},
    {"oneOf": [{"type": "object", "required": ["a"], "properties": {"a": {"type": ["string", "integer"], "maxLength": 4}}},
               {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}}]},
    {"$defs": {"term": {"anyOf": [{"type": "object", "properties": {"t": {"const": "v"}}, "required": ["t"]},
                                  {"type": "string", "maxLength": 3}]}},
     "oneOf": [{"$ref": "#/$defs/term"}, {"type": "object", "properties": {"t": {"type": "string"}}, "required": ["t"]}]},
    # review regressions: item rules behind $ref, draft-4 exclusive flags
    {"$defs": {"o": {"type": "object", "properties": {"k": {"type": "integer"}}, "required": ["k"]}},
     "oneOf": [{"type": "array", "minItems": 1, "maxItems": 1, "items": {"$ref": "#/$defs/o"}},
               {"type": "array", "items": {"type": "object", "required": ["k"]}}, {"type": "null"}]},
    {"$schema": "http://json-schema.org/draft-04/schema#",
     "oneOf": [{"enum": [-1, 1]}, {"type": "integer", "allOf": [{"minimum": 0, "exclusiveMinimum": True}, {"minimum": 1}]}]},
    {"$defs": {"node": {"oneOf": [{"type": "integer"}, {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}},
                                                         "required": ["next"]}, {"type": "string"}]}},
     "$ref": "#/$defs/node"},
    # scalars kept by a not of the other branch
    {"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 2}]},
    {"oneOf": [{"enum": [1, 2, "x"]}, {"type": "integer"}, {"type": "string", "maxLength": 2}]},
]


@pytest.mark.parametrize("schema", OVERLAPPING)
def test_overlapping_branches_compile_and_validate(model, schema):
    g = constrained.Generator(schema, model, steps=3)
    for seed in range(6):
        _validate(schema, g("x", seed=seed, temperature=1.0))


@pytest.mark.parametrize("schema, probes", [
    ({"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 2}]}, ["", "a", "ab", "abc", "abab"]),
    ({"oneOf": [{"enum": [1, 2, "x"]}, {"type": "integer"}, {"type": "string", "maxLength": 2}]},
     [0, 1, 2, 3, "", "x", "y", "xy", "xyz"]),
    ({"type": "string", "oneOf": [{"enum": ["window"]}, {"enume": ["inline"]}]}, ["window", "inline", "w"]),
])
def test_scalars_nothing_else_tells_apart_keep_what_the_others_reject(schema, probes):
    (slot,) = SchemaCompiler(schema).layout()
    dfa = compile_dfa(slot.node)
    validator = jsonschema.Draft202012Validator(schema)
    ours = [v for v in probes if dfa.matches(json.dumps(v).encode())]
    assert ours == [v for v in probes if validator.is_valid(v)] and ours


@pytest.mark.parametrize("schema", [
    {"oneOf": [{"type": "object", "properties": {"k": {"const": 1}}, "required": ["k"]},
               {"type": "object", "properties": {"k": {"const": 1.0}}, "required": ["k"]}]},
    # the model may name a member "c" (minProperties beyond the listed ones)
    {"oneOf": [{"type": "object", "properties": {"a": {"type": "integer"}, "b": {}}, "propertyNames": {"enum": ["a", "c"]},
                "minProperties": 2}, {"type": "object", "required": ["c"]}]},
])
def test_branches_no_narrowing_separates_are_refused(model, schema):
    with pytest.raises(UnsupportedSchemaError, match="oneOf branches"):
        constrained.Generator(schema, model)


# --- random overlapping branches: valid by construction, or a typed refusal ---------------
_keys = st.sampled_from(["a", "b", "c"])
_scalar = st.sampled_from([{"type": "string", "maxLength": 3}, {"type": "integer", "minimum": 0}, {"type": "null"},
                           {"enum": ["a", 1, None]}, {"const": "b"}, {"type": ["string", "integer"]}, {"minimum": 2},
                           {"type": "boolean"}, {"type": "number", "maximum": 2}])


@st.composite
def _branch(draw):
    if draw(st.booleans()):
        return draw(_scalar)
    props = draw(st.dictionaries(_keys, _scalar, max_size=3))
    out = {"type": "object", "properties": props}
    required = draw(st.lists(_keys, max_size=2, unique=True))
    if required:
        out["required"] = required
    if draw(st.booleans()):
        out["additionalProperties"] = False
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(branches=st.lists(_branch(), min_size=2, max_size=3))
def test_random_overlapping_branches_validate_or_refuse(model, branches):
    schema = {"oneOf": branches}
    try:
        g = constrained.Generator(schema, model, steps=3)
    except (UnsupportedSchemaError, constrained.UnsatisfiableSchemaError, constrained.CanvasTooSmallError) as exc:
        assert str(exc)
        return
    for seed in range(3):
        _validate(schema, g("x", seed=seed, temperature=1.0))


# --- the superset reading of patterns, which string exclusion relies on --------------------
_atoms = st.sampled_from(["a", "1", ":", ".", "\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "[^a]", "[^\\d:]", "[a-c1]",
                          "[\\s\\d]", "(a|1)"])
_pieces = st.builds(lambda atom, q: atom + q, _atoms, st.sampled_from(["", "+", "*", "?", "{2}"]))
_patterns = st.builds(lambda start, body, end: start + "".join(body) + end,
                      st.sampled_from(["", "^"]), st.lists(_pieces, min_size=1, max_size=4), st.sampled_from(["", "$"]))
_texts = st.text(alphabet=["a", "b", "1", "\u0663", "\u00e9", ":", " ", "\n", "\r", "\x1c", "\u2003", "_"], max_size=6)


@settings(max_examples=300, deadline=None)
@given(pattern=_patterns, text=_texts)
def test_superset_pattern_holds_every_string_python_matches(pattern, text):
    if re.search(pattern, text):
        dfa = compile_dfa(json_string(0, None, pattern_content(pattern, superset=True)))
        assert dfa.matches(json.dumps(text, ensure_ascii=False).encode())
