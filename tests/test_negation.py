"""``not``: a value's regex keeps exactly the values the negated schema rejects."""
import itertools
import json

import jsonschema
import pytest

from constrained import UnsupportedSchemaError
from constrained.automaton.dfa import compile_dfa
from constrained.compile.json_schema import SchemaCompiler
from constrained.compile.negation import negated_schema

STRINGS = ["".join(p) for n in range(4) for p in itertools.product('ab"é', repeat=n)]
INTEGERS = list(range(-4, 5))
NUMBERS = [x / 2 for x in range(-8, 9)] + INTEGERS
LITERALS = [True, False, None]


def _accepted(schema, probes):
    """(probes the compiled value regex matches, probes a validator accepts)."""
    (slot,) = SchemaCompiler(schema).layout()
    dfa = compile_dfa(slot.node)
    validator = jsonschema.validators.validator_for(schema)(schema)
    ours = [v for v in probes if dfa.matches(json.dumps(v, ensure_ascii=False).encode())]
    theirs = [v for v in probes if validator.is_valid(v)]
    return ours, theirs


@pytest.mark.parametrize("schema, probes", [
    ({"type": "string", "not": {"pattern": "^a"}}, STRINGS),
    ({"type": "string", "not": {"pattern": "b"}}, STRINGS),
    ({"type": "string", "not": {"maxLength": 1}}, STRINGS),
    ({"type": "string", "not": {"minLength": 1, "maxLength": 2, "pattern": "a$"}}, STRINGS),
    ({"type": "string", "not": {"enum": ["a", 'b"', "é", 3]}}, STRINGS),
    ({"type": "string", "not": {"const": ""}}, STRINGS),
    ({"type": "string", "allOf": [{"not": {"const": "a"}}, {"not": {"pattern": "^b"}}]}, STRINGS),
    ({"type": "number", "not": {"minimum": -1, "exclusiveMaximum": 2.5}}, NUMBERS),
    ({"type": "number", "not": {"exclusiveMinimum": 0}}, NUMBERS),
    ({"type": "number", "not": {"enum": [0, 1.5, "0"]}}, NUMBERS),
    ({"type": "integer", "not": {"enum": [0, 2.0]}}, INTEGERS),
    ({"type": "integer", "not": {"anyOf": [{"maximum": -2}, {"const": 3}]}}, INTEGERS),
    ({"type": ["boolean", "null"], "not": {"enum": [False, None, 0]}}, LITERALS),
    ({"type": ["boolean", "null", "string"], "not": {"type": "string"}}, LITERALS + STRINGS),
    ({"type": ["null", "string"], "not": {"pattern": "a"}}, LITERALS + STRINGS),
    # a validator may ignore format: the listed value is then accepted, so it must be rejected
    ({"type": "string", "not": {"enum": ["a", "b"], "format": "email"}}, STRINGS),
    ({"type": "string", "not": {"maxLength": 2, "format": "date"}}, STRINGS),
    # floats from 2**53 up are integers: compared exactly with integer texts
    ({"type": "integer", "not": {"const": 1e23}}, [99999999999999991611392, 10 ** 23, 5]),
    ({"type": "integer", "minimum": 1e23, "maximum": 1e23}, [99999999999999991611392, 10 ** 23]),
])
def test_not_keeps_exactly_what_the_negated_schema_rejects(schema, probes):
    ours, theirs = _accepted(schema, probes)
    assert ours == theirs and ours


@pytest.mark.parametrize("negated, keyword", [
    ({"multipleOf": 2}, "multipleOf"),
    ({"minProperties": 2}, "minProperties"),
    ({"oneOf": [{"const": 1}]}, "oneOf"),
    ({"enum": [[1]]}, "enum"),
])
def test_unsupported_negations_name_their_keyword(negated, keyword):
    with pytest.raises(UnsupportedSchemaError) as info:
        SchemaCompiler({"type": ["integer", "object", "array"], "not": negated}).layout()
    assert info.value.keyword == keyword and info.value.pointer.startswith("#/not")


def test_an_impossible_optional_member_is_left_out():
    schema = {"type": "object", "properties": {"a": {"type": "object", "enum": ["x"]}, "b": {"type": "integer"}},
              "required": ["b"]}
    parts = SchemaCompiler(schema).layout()
    assert '"a"' not in "".join(p for p in parts if isinstance(p, str))


OBJECTS = [{}, {"kind": "a"}, {"kind": "b"}, {"kind": 1}, {"x": 1}, {"kind": "a", "x": None}, {"x": "s"}]


@pytest.mark.parametrize("condition", [
    {"properties": {"kind": {"const": "a"}}},
    {"properties": {"kind": {"const": "a"}}, "required": ["kind"]},
    {"type": "object", "required": ["kind", "x"]},
    {"properties": {"kind": {"type": "string"}, "x": {"type": "integer"}}},
    {"type": ["object", "string"], "properties": {"x": {"type": "null"}}},
    {"type": "integer", "properties": {"x": {"type": "null"}}},
])
def test_an_if_on_members_negates_to_the_ways_of_failing_it(condition):
    negated = negated_schema(SchemaCompiler(condition), condition, "#/if")
    for value in OBJECTS + LITERALS + ["s", 3]:
        failed = not jsonschema.Draft202012Validator(condition).is_valid(value)
        assert jsonschema.Draft202012Validator(negated).is_valid(value) == failed, value


def test_a_recursive_reference_under_not_is_a_typed_error():
    schema = {"$defs": {"A": {"anyOf": [{"const": "a"}, {"$ref": "#/$defs/A"}]}}, "type": "string",
              "not": {"$ref": "#/$defs/A"}}
    with pytest.raises(UnsupportedSchemaError) as info:
        SchemaCompiler(schema).layout()
    assert info.value.keyword == "anyOf" and info.value.pointer.startswith("#/not")


def test_drafts_without_if_ignore_it():
    schema = {"$schema": "http://json-schema.org/draft-06/schema#", "type": "boolean",
              "if": {"const": True}, "then": False, "else": False}
    ours, theirs = _accepted(schema, LITERALS)
    assert ours == theirs == [True, False]


MEMBERS = {"kind": {"enum": ["a", "b"]}, "x": {"const": 1}, "y": {"const": "s"}}
RECORDS = [{k: v for k, v in zip(MEMBERS, values) if v is not None}
           for values in itertools.product([None, "a", "b"], [None, 1], [None, "s"])]


@pytest.mark.parametrize("constraint", [
    {"not": {"required": ["kind", "x"]}},
    {"allOf": [{"not": {"required": ["kind", "x"]}}, {"not": {"properties": {"kind": {"const": "a"}}, "required": ["y"]}}]},
    {"not": {"anyOf": [{"required": ["y"]}, {"type": "string"}]}},
    # two conditionals, and two anyOfs, in one allOf: each becomes the union it means
    {"allOf": [{"if": {"properties": {"kind": {"const": "a"}}}, "then": {"required": ["x"]}},
               {"if": {"properties": {"kind": {"const": "b"}}, "required": ["kind"]}, "then": {"required": ["y"]},
                "else": {"properties": {"y": False}}}]},
    {"allOf": [{"anyOf": [{"required": ["kind"]}, {"required": ["x"]}]},
               {"anyOf": [{"required": ["y"]}, {"properties": {"kind": {"const": "b"}}}]}]},
    {"anyOf": [{"required": ["x"]}, {"required": ["y"]}], "oneOf": [{"required": ["kind"]}, {"required": ["y"]}]},
])
def test_member_tests_under_not_and_combined_unions_keep_exactly_the_valid_objects(constraint):
    schema = {"type": "object", "properties": MEMBERS, "additionalProperties": False, **constraint}
    ours, theirs = _accepted(schema, RECORDS + [None, 3])
    assert ours == theirs and 0 < len(ours) < len(RECORDS)


TYPED = {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer", "minimum": 0, "maximum": 2}},
         "$defs": {"s": {"type": "string"}}}


@pytest.mark.parametrize("schema, probes", [
    # JSON equality, not Python's (True == 1)
    ({"oneOf": [{"type": "integer", "minimum": 1, "maximum": 2, "not": {"const": True}}, {"const": 1}]}, [1, 2, True]),
    ({"allOf": [{"not": {"const": 1}}, {"not": {"const": True}}], "type": ["boolean", "integer"], "minimum": 0,
      "maximum": 2}, [0, 1, 2, True, False]),
    # a condition every value passes: nothing fails it
    ({"allOf": [{"if": {"type": "string"}, "then": {"minLength": 2}},
                {"if": {"properties": {}}, "then": {"type": "string", "maxLength": 3}}]}, [1, "x", "xy", None]),
    # a pair of union branches dropped as empty under an if: a validator may ignore format
    ({"type": "string", "if": {"allOf": [{"anyOf": [{"const": "abc"}, {"const": "q"}]},
                                         {"anyOf": [{"format": "email"}, {"maxLength": 1}]}]}, "then": False},
     ["abc", "q", "a@b", "x"]),
])
def test_rewritten_negations_keep_exactly_the_valid_values(schema, probes):
    ours, theirs = _accepted(schema, probes)
    assert ours == theirs and ours


KINDS = [f"k{i}" for i in range(8)]


@pytest.mark.parametrize("required", [[], ["kind"]])
def test_conditionals_on_one_discriminator_keep_exactly_the_valid_objects(required):
    """Eight conditionals are 2^8 combinations of branches; those giving the member two
    constants at once, or requiring it and then none, are dropped before the limit (64)."""
    schema = {"type": "object", "required": required, "additionalProperties": False,
              "properties": {"kind": {"type": "string"}, "x": {"type": "integer"}},
              "allOf": [{"if": {"properties": {"kind": {"const": k}}}, "then": {"properties": {"x": {"minimum": i}}}}
                        for i, k in enumerate(KINDS)]}
    records = [{k: v for k, v in (("kind", kind), ("x", x)) if v is not None}
               for kind in [None, *KINDS, "other"] for x in [None, 0, 3, 7]]
    ours, theirs = _accepted(schema, records)
    assert ours == theirs and 0 < len(ours) < len(records)


def test_a_product_of_unions_keeps_only_the_pairs_that_hold_values():
    """9 x 9 pairs, 45 of them possible: within the limit once the impossible ones are dropped."""
    schema = {"allOf": [{"anyOf": [{"const": i} for i in range(9)]}, {"anyOf": [{"minimum": i} for i in range(9)]}]}
    ours, theirs = _accepted(schema, list(range(-1, 10)) + ["a", None])
    assert ours == theirs == list(range(9))


def test_a_keyword_we_do_not_read_is_not_a_member_test():
    """Negated twice, a dropped keyword would widen the schema: it is refused instead."""
    schema = {**TYPED, "not": {"not": {"required": ["a"], "$dynamicRef": "#/$defs/s"}}}
    with pytest.raises(UnsupportedSchemaError):
        SchemaCompiler(schema).layout()


def test_a_not_that_refers_to_itself_is_a_typed_error():
    with pytest.raises(UnsupportedSchemaError) as info:
        SchemaCompiler({"$defs": {"n": {"not": {"$ref": "#/$defs/n"}}}, "$ref": "#/$defs/n"}).layout()
    assert info.value.keyword == "not"
