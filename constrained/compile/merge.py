"""Conjunction of two JSON Schemas as one schema (for ``allOf`` and for keywords beside
``anyOf``/``oneOf``): every value valid for the result is valid for both inputs.

Keywords combine by their meaning (tighter bounds, union of ``required``, intersection of
``type`` and ``enum``, ``allOf`` of shared property schemas); a pair that cannot be combined
exactly raises :class:`UnsupportedSchemaError` rather than loosening either side.
"""
from __future__ import annotations

import json
import re
from decimal import Decimal

from ..errors import InvalidPatternError, UnsupportedSchemaError

ANNOTATIONS = {"title", "description", "default", "examples", "$comment", "deprecated", "readOnly",
               "writeOnly", "$schema", "$id", "discriminator", "$defs", "definitions"}
# Keywords that constrain values; anything else (x-*, vendor annotations) carries no constraint.
VALIDATION = {
    "type", "enum", "const", "properties", "required", "additionalProperties", "items", "prefixItems",
    "additionalItems", "minItems", "maxItems", "minLength", "maxLength", "pattern", "format", "minimum",
    "maximum", "exclusiveMinimum", "exclusiveMaximum", "anyOf", "oneOf", "allOf", "not", "if", "then", "else",
    "patternProperties", "propertyNames", "dependentRequired", "dependentSchemas", "dependencies",
    "minProperties", "maxProperties", "multipleOf", "uniqueItems", "contains", "minContains", "maxContains",
    "unevaluatedProperties", "unevaluatedItems", "$ref", "$dynamicRef", "$recursiveRef",
}
# Keywords that constrain one JSON type only (vacuous for values of any other type).
TYPE_KEYWORDS = {
    "object": {"properties", "required", "additionalProperties", "patternProperties", "propertyNames",
               "minProperties", "maxProperties", "dependentRequired", "dependentSchemas", "dependencies"},
    "array": {"items", "prefixItems", "minItems", "maxItems", "uniqueItems"},
    "string": {"minLength", "maxLength", "pattern", "format"},
    "number": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
}
ALL_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")
MAX_BRANCHES = 64          # branches of two combined ``anyOf``s (each pair becomes one)
MAX_PAIRS = 4 * MAX_BRANCHES   # pairs tested for emptiness before that
_LOWER = {"minimum", "minLength", "minItems", "minProperties"}
_UPPER = {"maximum", "maxLength", "maxItems", "maxProperties"}


def canonical(value) -> str:
    """A text equal for JSON values JSON Schema calls equal (1 == 1.0, key order ignored)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        d = Decimal(repr(value))
        return "n:0" if d == 0 else "n:" + format(d.normalize(), "f")
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    return "{" + ",".join(sorted(json.dumps(k) + ":" + canonical(v) for k, v in value.items())) + "}"


def type_set(t) -> set[str]:
    """The ``type`` keyword's value as a set of type names."""
    return {t} if isinstance(t, str) else set(t)


def _merge_types(x, y) -> list[str]:
    a, b = type_set(x), type_set(y)
    out = (a & b) | ({"integer"} if ("integer" in a and "number" in b) or ("integer" in b and "number" in a) else set())
    return sorted(out)


def _rule(schema: dict, key: str, pointer: str):
    """The subschema ``schema`` applies to member ``key`` (its property, else additionalProperties)."""
    props = schema.get("properties") or {}
    if key in props:
        return props[key]
    if schema.get("patternProperties"):
        raise UnsupportedSchemaError("cannot combine patternProperties with properties declared elsewhere",
                                     pointer, "patternProperties")
    return schema.get("additionalProperties", True)


def member_rule(schema: dict, name: str, pointer: str = "#"):
    """(subschema, keyword): what member ``name`` of an object must satisfy, and whether that
    comes from ``properties``, ``patternProperties`` or ``additionalProperties``."""
    matching = []
    for pat, sub in (schema.get("patternProperties") or {}).items():
        try:
            if re.search(pat, name):
                matching.append(sub)
        except re.error as exc:
            raise InvalidPatternError(f"invalid pattern {pat!r}: {exc}", pointer + "/patternProperties",
                                      "patternProperties") from None
    props = schema.get("properties") or {}
    if name in props:
        base, keyword = props[name], "properties"
    elif matching:
        base, keyword = True, "patternProperties"
    else:
        base, keyword = schema.get("additionalProperties", True), "additionalProperties"
    return ({"allOf": [base, *matching]} if matching else base), keyword


def _both(x, y):
    if x is True or x == {} or x == y:
        return y
    if y is True or y == {}:
        return x
    return {"allOf": _conjuncts(x) + _conjuncts(y)}     # one level, however many schemas meet


def _conjuncts(schema) -> list:
    return list(schema["allOf"]) if isinstance(schema, dict) and set(schema) == {"allOf"} else [schema]


def _pairs(x: list, y: list, pointer: str, conjoin) -> list:
    """One branch per pair of ``x`` and ``y``, less the pairs ``conjoin`` finds empty: several
    conditionals on one discriminator (``if`` member X is c1, c2, ...) combine into a few
    satisfiable branches (X is one of them, or absent), not 2^k."""
    limit = MAX_BRANCHES if conjoin is None else MAX_PAIRS
    if len(x) * len(y) > limit:
        raise UnsupportedSchemaError(f"combining two 'anyOf's gives {len(x) * len(y)} pairs of branches "
                                     f"(at most {limit} are {'tested' if conjoin else 'kept'})", pointer, "anyOf")
    if conjoin is None:
        return [{"allOf": [p, q]} for p in x for q in y]
    pairs = [both for p in x for q in y if (both := conjoin(p, q, pointer)) is not False]
    if len(pairs) > MAX_BRANCHES:
        raise UnsupportedSchemaError(f"combining two 'anyOf's gives {len(pairs)} branches that may hold "
                                     f"values (at most {MAX_BRANCHES})", pointer, "anyOf")
    return pairs


def _draft4_bound(out: dict, sides: list[tuple], bound: str, flag: str) -> None:
    """Draft 4 writes an exclusive bound as the bound plus a boolean flag: the tighter bound
    wins with its own flag (either side's flag where both bounds are equal)."""
    out.pop(flag, None)
    if not sides:
        return
    value = max(v for v, _ in sides) if bound == "minimum" else min(v for v, _ in sides)
    out[bound] = value
    if any(exclusive for v, exclusive in sides if v == value):
        out[flag] = True


def merge(a, b, pointer: str = "#", conjoin=None):
    """The conjunction of schemas ``a`` and ``b`` (booleans allowed); ``$ref``s must be resolved.

    ``conjoin(p, q, pointer)``, where given, writes each pair of two ``anyOf``s' branches as one
    schema, or False where that pair is provably empty (see :func:`_pairs`)."""
    if a is False or b is False:
        return False
    if a is True or a == {}:
        return b
    if b is True or b == {}:
        return a
    out: dict = {}
    for key in list(a) + [k for k in b if k not in a]:
        if key in ANNOTATIONS or key not in VALIDATION:
            continue
        if key == "properties":         # each member under both sides' rules for it
            x, y = a.get(key) or {}, b.get(key) or {}
            out[key] = {k: _both(_rule(a, k, pointer), _rule(b, k, pointer)) for k in list(x) + [k for k in y if k not in x]}
            continue
        if key not in b or key not in a or canonical(a[key]) == canonical(b[key]):   # (True == 1 in Python)
            out[key] = a[key] if key in a else b[key]
            continue
        x, y = a[key], b[key]
        if key == "type":
            out[key] = _merge_types(x, y)
            if not out[key]:
                return False
        elif key in _LOWER:
            out[key] = max(x, y)
        elif key in _UPPER:
            out[key] = min(x, y)
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(x, bool) and not isinstance(y, bool):
            out[key] = max(x, y) if key == "exclusiveMinimum" else min(x, y)
        elif key in ("exclusiveMinimum", "exclusiveMaximum"):
            continue                    # draft 4's flags: set with their bounds, below
        elif key == "required":
            out[key] = list(dict.fromkeys(list(x) + list(y)))
        elif key == "uniqueItems":
            out[key] = bool(x or y)
        elif key == "items" and not isinstance(x, list) and not isinstance(y, list):
            out[key] = _both(x, y)
        elif key == "additionalProperties" and isinstance(x, dict) and isinstance(y, dict):
            out[key] = {"allOf": [x, y]}
        elif key == "additionalProperties":
            out[key] = False if False in (x, y) else (x if isinstance(x, dict) else y)
        elif key == "enum":
            keep = {canonical(v) for v in y}
            out[key] = [v for v in x if canonical(v) in keep]
        elif key == "const" and canonical(x) == canonical(y):
            out[key] = x
        elif key == "const":
            return False
        elif key == "not":              # neither x nor y: not (x or y)
            out[key] = {"anyOf": [x, y]}
        elif key == "anyOf":            # (x1 or x2) and (y1 or y2): one branch per pair
            out[key] = _pairs(x, y, pointer, conjoin)
            if not out[key]:
                return False
        else:
            raise UnsupportedSchemaError(f"cannot combine two different '{key}' values", pointer, key)
    for bound, flag in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if any(isinstance(s.get(flag), bool) for s in (a, b)):
            _draft4_bound(out, [(s[bound], s.get(flag) is True) for s in (a, b) if bound in s], bound, flag)
    if out.get("additionalProperties") is False:
        # With additionalProperties false on one side, the other side's extra properties are forbidden.
        closed = [set(s.get("properties") or {}) for s in (a, b) if s.get("additionalProperties") is False]
        allowed = set.intersection(*closed)
        props = out.get("properties") or {}
        out["properties"] = {k: v for k, v in props.items() if k in allowed}
        if set(out.get("required") or []) - allowed:
            return False
    return out
