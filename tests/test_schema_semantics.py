"""JSON Schema semantics that are easy to get wrong: every case must validate or refuse, never
emit an invalid value (regressions from review)."""
import jsonschema
import pytest

import constrained
from constrained import SchemaError, UnsatisfiableSchemaError, UnsupportedSchemaError

FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


@pytest.fixture(scope="module")
def model():
    from constrained.backends.tiny import random_backend
    return random_backend()


VALID_BY_CONSTRUCTION = [
    {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}, "anyOf": [{"required": ["b"]}]},
    {"type": "integer", "anyOf": [{"type": "number"}]},
    {"type": "integer", "minimum": 5, "anyOf": [{"minimum": 0, "maximum": 9}]},
    {"type": "number", "exclusiveMinimum": 0, "maximum": 1e-9},
    {"type": "array", "prefixItems": [{"type": "null"}] * 3, "items": False, "minItems": 2, "maxItems": 2},
    {"anyOf": [{"const": 5}, {"$ref": "#/$defs/e"}], "$defs": {"e": {"enum": [["a"], ["b"]], "items": {"$ref": "#"}}}},
    {"$schema": "http://json-schema.org/draft-07/schema#", "type": "array", "prefixItems": [{"type": "string"}],
     "items": {"type": "integer"}, "minItems": 1},
    {"allOf": [{"type": "object", "properties": {"a": {"type": "string", "maxLength": 3}}, "required": ["a"]},
               {"properties": {"a": {"minLength": 2}, "b": {"type": "boolean"}}, "required": ["b"]}]},
    {"allOf": [{"type": "integer", "minimum": 3}, {"maximum": 7}, {"enum": [1, 4, 9, 5.0]}]},
    {"oneOf": [{"type": "string"}, {"type": "integer"}], "maxLength": 2},
    {"type": "object", "properties": {"x1": {"type": "string"}, "y": {"type": "integer"}}, "required": ["x1"],
     "patternProperties": {"^x": {"maxLength": 2}}, "additionalProperties": False},
    {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}, "c": {"type": "null"}},
     "dependentRequired": {"a": ["b"]}, "propertyNames": {"maxLength": 1}, "maxProperties": 2},
    {"type": "object", "properties": {"a": {"type": "integer"}, "bb": {"type": "integer"}, "c": {"type": "null"}},
     "required": ["a"], "dependencies": {"a": ["c"], "bb": {"required": ["a"]}}, "minProperties": 2},
    {"type": "object", "properties": {"a": {"type": "boolean"}, "b": {"type": "boolean"}}, "minProperties": 2},
    {"$defs": {"s": {"type": "string", "minLength": 2}}, "$ref": "#/$defs/s", "maxLength": 3},
    {"allOf": [{"type": "integer", "x-doc": "a"}, {"maximum": 3, "x-doc": "b"}]},
    {"not": {"type": ["string", "object", "array", "number"]}},
    {"not": {"type": "string", "maxLength": 3}},
    {"type": "string", "minLength": 1, "maxLength": 4, "not": {"pattern": "^[a-c]+$"}},
    {"type": "array", "maxItems": 3, "items": {"type": "integer", "minimum": 0, "maximum": 4, "not": {"enum": [0, 2]}}},
    {"allOf": [{"type": "string", "maxLength": 1, "not": {"const": "a"}}, {"not": {"enum": ["b", "c"]}}]},
    # if/then/else: (if and then) or (not if, and else)
    {"type": "integer", "if": {"exclusiveMaximum": 0}, "then": {"minimum": -10}, "else": {"multipleOf": 2}},
    {"if": {"type": "string"}, "then": {"maxLength": 2}, "else": {"type": "boolean"}},
    {"type": "object", "required": ["kind"], "properties": {"kind": {"enum": ["a", "b"]}, "x": {"type": "integer"},
                                                           "y": {"type": "string", "maxLength": 3}},
     "if": {"properties": {"kind": {"const": "a"}}}, "then": {"required": ["x"]}, "else": {"required": ["y"]}},
    {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "null"}},
     "if": {"required": ["a"]}, "then": {"required": ["b"]}},
    {"type": "integer", "then": {"minimum": 5}, "else": {"maximum": 1}},
    # a member or item no value satisfies is left out, not refused
    {"type": "object", "properties": {"a": {"type": "object", "enum": ["x"]}, "b": {"type": "integer"}}},
    {"type": "array", "items": {"type": "string", "enum": [1]}},
    # JSON-Schema-Test-Suite regressions: allOf's properties are not the parent's own for its
    # additionalProperties; boolean subschemas; integral floats as counts.
    {"allOf": [{"properties": {"foo": {}}}], "additionalProperties": {"type": "boolean"}},
    {"allOf": [{"properties": {"foo": {"type": "integer"}}}], "properties": {"bar": {"type": "string"}},
     "additionalProperties": False, "required": ["bar"]},
    {"anyOf": [True, True]},
    {"$ref": "#/$defs/bool", "$defs": {"bool": True}},
    {"type": "array", "minItems": 1.0, "maxItems": 2.0},
    {"type": "array", "items": {"type": "integer"}, "maxItems": 1, "uniqueItems": True},
    # uniqueItems: literal items each at most once (equal values once), other items at most one
    {"type": "array", "uniqueItems": True, "items": {"enum": ["a", 1, 1.0, True, {"x": 1}, {"x": 1.0}, None]}},
    {"type": "array", "uniqueItems": True, "minItems": 1, "items": {"type": "boolean"}},
    {"type": "array", "uniqueItems": True, "maxItems": 2, "items": {"enum": ["a", "b", "c"]}},
    {"allOf": [{"type": "array", "items": {"enum": [1, 2]}, "uniqueItems": False}, {"uniqueItems": True}]},
    {"type": "object", "required": ["tags"], "properties": {"tags": {
        "type": "array", "uniqueItems": True, "minItems": 1, "items": {"$ref": "#/$defs/t"}}},
     "$defs": {"t": {"type": "object", "properties": {"n": {"type": "integer"}}}}},
    {"properties": {"a": {"not": {"type": "null"}, "maxLength": 2}}, "required": ["a"]},
    # multipleOf an integer dividing 1000: integers whose last digits show the remainder
    {"type": "number", "multipleOf": 1, "maximum": 50},
    {"type": "integer", "multipleOf": 25, "minimum": 30, "maximum": 120},
    {"type": ["number", "null"], "multipleOf": 10.0},
    {"type": "number", "multipleOf": 0.01, "minimum": 0, "maximum": 1e6},
    {"type": "number", "multipleOf": 0.25, "exclusiveMinimum": -3},
    # minProperties one beyond the listed members: a free member named by the model
    {"type": "object", "minProperties": 1, "additionalProperties": {"type": "integer"}},
    {"type": "object", "properties": {"a": {"type": "string", "maxLength": 3}}, "minProperties": 2},
    {"type": "object", "minProperties": 1, "dependentRequired": {"x": ["y"]}, "propertyNames": {"enum": ["x", "z"]}},
    {"type": "array", "maxItems": 2, "items": {"type": "object", "minProperties": 1, "maxProperties": 1}},
    {"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"s": {"type": "integer"}},
     "properties": {"a": {"$ref": "#/definitions/s", "type": "string"}}, "required": ["a"]},
    # not of member tests, several conditionals and anyOfs in one allOf: unions
    {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
     "not": {"required": ["b"]}},
    {"$defs": {"t": {"properties": {"b": {"type": "boolean"}}}}, "properties": {"a": {"enum": [1, 2]}},
     "allOf": [{"if": {"properties": {"a": {"const": 1}}}, "then": {"required": ["b"]}},
               {"if": {"properties": {"a": {"const": 2}}}, "then": {"$ref": "#/$defs/t"}, "else": {"required": ["a"]}}]},
    {"type": "array", "maxItems": 2, "items": {"allOf": [{"anyOf": [{"type": "integer"}, {"type": "string"}]},
                                                          {"anyOf": [{"minimum": 5}, {"maxLength": 1}]}]}},
]


# $refs resolve as validators resolve them: against the base URI of the nearest $id, or to anchors
NESTED_ID = {"$id": "http://x.example/root.json", "type": "object", "required": ["i", "j", "s"],
             "properties": {"i": {"$ref": "item.json"}, "j": {"$ref": "#/definitions/a"}, "s": {"$ref": "#/definitions/b"}},
             "definitions": {"b": {"type": "string", "maxLength": 2},
                             "a": {"$id": "item.json", "type": "object", "required": ["v"],
                                   "properties": {"v": {"$ref": "#/definitions/b"}},       # item.json's b
                                   "definitions": {"b": {"type": "integer"}}}}}
VALID_BY_CONSTRUCTION += [
    NESTED_ID,
    {"$defs": {"s": {"$anchor": "str", "type": "string"}}, "properties": {"a": {"$ref": "#str"}}, "required": ["a"]},
    {"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"n": {"$id": "#num", "type": "integer"}},
     "type": "array", "items": {"$ref": "#num"}, "minItems": 1},
    {"$schema": "http://json-schema.org/draft-04/schema#", "id": "http://x.example/a.json", "type": "object",
     "definitions": {"q": {"id": "q.json", "type": "boolean"}}, "properties": {"x": {"$ref": "q.json"}}, "required": ["x"]},
    {"$id": "http://x.example/r.json", "$ref": "http://x.example/r.json#/$defs/s", "$defs": {"s": {"enum": [1, "a"]}}},
    # (second review) values are checked with the rewritten pointers, which nested $ids must not
    # re-base: this "n#/$defs/s" is the string, not p's own integer
    {"$defs": {"n": {"$id": "http://e.example/n", "$defs": {"s": {"type": "string"}}}}, "enum": [{"p": "a"}, {"p": 1}],
     "properties": {"p": {"$id": "http://e.example/c", "$ref": "n#/$defs/s", "$defs": {"n": {"$defs": {"s": {"type": "integer"}}}}}}},
    # a nested resource reached by its own URI and by a pointer into its parent's
    {"$id": "http://e.example/r", "$defs": {"a": {"$id": "a", "$defs": {"b": {"$id": "b", "type": "integer", "maximum": 3}}}},
     "type": "object", "properties": {"x": {"$ref": "a#/$defs/b"}, "y": {"$ref": "b"}}, "required": ["x", "y"]},
    # (review) percent-encoded pointers decode; a member named const; draft 7 lists beside schemas
    {"$defs": {"a%b": {"type": "integer"}, "a%25b": {"type": "string"}}, "type": "object",
     "properties": {"x": {"$ref": "#/$defs/a%25b"}}, "required": ["x"]},
    {"$defs": {"s": {"$anchor": "str", "type": "string"}}, "type": "object", "properties": {"const": {"$ref": "#str"}},
     "required": ["const"]},
    {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "required": ["b"], "dependencies": {"b": ["a"]},
     "properties": {"a": {"type": "null"}, "b": {"$ref": "#/definitions/s"}},
     "definitions": {"s": {"$id": "http://b.example/s.json", "type": "string", "maxLength": 3}}},
]


@pytest.mark.parametrize("schema", VALID_BY_CONSTRUCTION)
def test_outputs_validate(model, schema):
    g = constrained.Generator(schema, model, steps=3)
    for seed in range(6):
        jsonschema.validators.validator_for(schema)(schema, format_checker=FORMAT_CHECKER).validate(
            g("x", seed=seed, temperature=1.0))


@pytest.mark.parametrize("schema, error", [
    ({"oneOf": [{"const": 1}, {"const": 1.0}]}, UnsatisfiableSchemaError),
    ({"oneOf": [{"const": {"a": 1, "b": 2}}, {"const": {"b": 2, "a": 1}}]}, UnsatisfiableSchemaError),
    ({"const": "a", "enum": ["b"]}, UnsatisfiableSchemaError),
    # a reference out of the schema, and one that does not resolve against its nested $id's base
    ({"type": "object", "properties": {"a": {"$ref": "other.json"}}, "required": ["a"]}, UnsupportedSchemaError),
    ({"$defs": {"x": {"$id": "http://y.example/x.json", "$ref": "#/$defs/n"}, "n": {"type": "null"}}, "$ref": "#/$defs/x"},
     UnsupportedSchemaError),
    # (review) a $ref into an enum value (rewriting it would change the constant), two
    # subschemas with one base URI, a dynamic anchor (its target moves at run time)
    ({"$id": "http://a.example/r.json", "type": "object", "required": ["b"],
      "properties": {"a": {"enum": [{"$ref": "r.json#/$defs/s"}]}, "b": {"$ref": "#/properties/a/enum/0"}},
      "$defs": {"s": {"type": "string"}}}, UnsupportedSchemaError),
    ({"$id": "http://a.example/r.json", "type": "object", "required": ["p"], "properties": {"p": {"$ref": "#/$defs/s"}},
      "$defs": {"s": {"type": "string"}, "dup": {"$id": "r.json", "$defs": {"s": {"type": "integer"}}}}},
     UnsupportedSchemaError),
    ({"$id": "http://a.example/r.json", "type": "object", "required": ["p"], "properties": {"p": {"$ref": "list.json"}},
      "$defs": {"item": {"$dynamicAnchor": "item", "type": "string"},
                "L": {"$id": "list.json", "type": "object", "required": ["v"], "properties": {"v": {"$ref": "#item"}},
                      "$defs": {"item": {"$dynamicAnchor": "item", "type": "integer"}}}}}, UnsupportedSchemaError),
    # (second review) a reference that does not resolve under a urn: base is not read from the
    # root; an enum checked against a member whose $ref resolves nowhere
    ({"$defs": {"x": {"type": "integer"}, "n": {"$id": "urn:example:n", "$ref": "#/$defs/x"}}, "$ref": "#/$defs/n"},
     UnsupportedSchemaError),
    ({"enum": [{"p": "a"}, {"p": 1}], "properties": {"p": {"$ref": "#/$defs/missing"}}}, SchemaError),
    # draft 4 ignores const in a $ref's target too: nothing passes "not {}"
    ({"$schema": "http://json-schema.org/draft-04/schema#", "type": "integer", "not": {"$ref": "#/x/c"},
      "x": {"c": {"const": 1}}}, UnsatisfiableSchemaError),
    ({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}, SchemaError),
    ({"$schema": "http://json-schema.org/draft-03/schema#", "type": "integer", "divisibleBy": 7}, UnsupportedSchemaError),
    ({"allOf": [{"type": "string", "pattern": "^a"}, {"pattern": "b$"}]}, UnsupportedSchemaError),
    ({"allOf": [{"type": "string"}, {"type": "integer"}]}, UnsatisfiableSchemaError),
    ({"type": "object", "required": ["a", "b"], "maxProperties": 1}, UnsatisfiableSchemaError),
    ({"type": "object", "required": ["ab"], "propertyNames": {"maxLength": 1}}, UnsatisfiableSchemaError),
    ({"type": "object", "properties": {"a": {}}, "minProperties": 3}, UnsupportedSchemaError),
    ({"type": "object", "minProperties": 1, "patternProperties": {"^x": {"type": "null"}}}, UnsupportedSchemaError),
    ({"type": "number", "multipleOf": 0.1}, UnsupportedSchemaError),
    ({"type": "array", "uniqueItems": True, "minItems": 2, "items": {"type": "string"}}, UnsupportedSchemaError),
    ({"type": "integer", "multipleOf": 3}, UnsupportedSchemaError),
    ({"type": "integer", "multipleOf": 5, "minimum": 1, "maximum": 4}, UnsatisfiableSchemaError),
    ({"type": "object", "properties": {"a": {"type": "integer"}}, "minProperties": 2, "maxProperties": 1},
     UnsatisfiableSchemaError),
    ({"type": "object", "minProperties": 1, "propertyNames": {"enum": ["x"]}, "dependentRequired": {"x": ["y"]}},
     UnsatisfiableSchemaError),
    ({"type": "integer", "not": {"multipleOf": 2}}, UnsupportedSchemaError),
    ({"allOf": [{"anyOf": [{"minimum": i} for i in range(9)]}, {"anyOf": [{"maximum": 20 + i} for i in range(9)]}]},
     UnsupportedSchemaError),
    ({"type": "number", "not": {"type": "integer"}}, UnsupportedSchemaError),
    # draft 4 has no const: validators ignore it, so nothing passes these
    ({"$schema": "http://json-schema.org/draft-04/schema#", "type": "string", "not": {"const": "a"}}, SchemaError),
    ({"$schema": "http://json-schema.org/draft-04/schema#", "oneOf": [{"const": 1}, {"const": 2}]}, SchemaError),
    ({"type": "string", "not": {}}, SchemaError),
    # the only such float needs 16 digits; shorter texts would round onto the bound
    ({"type": "number", "minimum": 0.9999999999999999, "exclusiveMaximum": 1}, UnsatisfiableSchemaError),
])
def test_refused_rather_than_invalid(model, schema, error):
    with pytest.raises(error):
        constrained.Generator(schema, model)


def test_draft4_reads_const_as_its_validators_do():
    """Left out of every subschema (a member named const stays), not of draft 6 and later."""
    from constrained.compile.json_schema import SchemaCompiler
    member = {"type": "integer", "const": 5}
    schema = {"properties": {"const": member}, "definitions": {"d": {"not": {"const": 1}}}, "const": {"a": 1}}
    draft4 = SchemaCompiler({"$schema": "http://json-schema.org/draft-04/schema#", **schema}).root
    assert draft4["properties"] == {"const": {"type": "integer"}} and draft4["definitions"]["d"] == {"not": {}}
    assert "const" not in draft4 and member == {"type": "integer", "const": 5}       # the input is untouched
    assert SchemaCompiler({"$schema": "http://json-schema.org/draft-06/schema#", **schema}).root["const"] == {"a": 1}


def test_references_are_rewritten_as_pointers_only_where_bases_or_anchors_need_it():
    """The compiler follows pointers: nested bases and anchors are read into them (the input
    untouched); a reference out of the schema that nothing reaches does not stop a compile."""
    import copy
    from constrained.compile.json_schema import SchemaCompiler
    before = copy.deepcopy(NESTED_ID)
    root = SchemaCompiler(NESTED_ID).root
    assert root["properties"]["i"]["$ref"] == "#/definitions/a"
    assert root["definitions"]["a"]["properties"]["v"]["$ref"] == "#/definitions/a/definitions/b"
    assert root["properties"]["s"]["$ref"] == "#/definitions/b" and NESTED_ID == before
    plain = {"$defs": {"n": {"type": "null"}}, "$ref": "#/$defs/n"}
    assert SchemaCompiler(plain).root is plain                   # nothing to rewrite: no copy
    vocab = constrained.TokenVocabulary.from_token_bytes([bytes([b]) for b in range(32, 127)])
    for unused in ({"$defs": {"remote": {"$ref": "https://x.example/other.json"}}, "type": "integer"},
                   {"$id": "http://x.example/r.json", "$defs": {"t": True, "u": {"$ref": "r.json#/$defs/t"},
                                                              "v": {"$ref": "r.json#/$defs/t/type/x"}}, "type": "integer"}):
        constrained.compile(unused, vocab)
    assert SchemaCompiler(unused).root["$defs"]["u"]["$ref"] == "http://x.example/r.json#/$defs/t"   # refused if reached
