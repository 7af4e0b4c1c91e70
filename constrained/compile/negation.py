"""``not``: what a negated schema leaves of each JSON type, as a regex over the value's text.

A value satisfies ``not N`` exactly when ``N`` rejects it, so per type we need the texts ``N``
accepts and take their complement. That is exact, or errs on the narrow side, where ``N``
constrains a type by:

- ``type`` alone (the whole type is ruled out);
- for strings, its length, ``pattern`` and ``enum``/``const``: a character has the same JSON
  encodings in every string regex we build, so a complement over them is a complement over
  decoded strings; a pattern is read as a superset of what it matches (``format`` is
  ignored, as a validator may accept anything), so its complement can only narrow;
- for numbers, its bounds and ``enum``/``const``: the rest of an interval is two intervals,
  and a number other than ``v`` is one below or above it;
- for booleans and null, ``enum``/``const``.

``N`` may be an ``anyOf`` of such schemas (``not`` of a union is the intersection of the
``not`` of each; merged ``allOf`` branches give that form). Any other ``N`` raises
:class:`UnsupportedSchemaError` naming the keyword.
"""
from __future__ import annotations

from ..automaton.regex import EMPTY, Node, alt, complement, intersect, lit, seq
from ..errors import UnsupportedSchemaError
from .merge import ALL_TYPES, TYPE_KEYWORDS, VALIDATION, type_set
from .numbers import bounds, number_regex
from .strings import json_string, other_than, string_parts

_ANY_TYPE = {"type", "enum", "const"}
MAX_NESTING = 16           # anyOf levels read inside one ``not`` (a recursive $ref stops here)
_LITERAL_TYPES = {"boolean": ("true", "false"), "null": ("null",)}


def negation(compiler, schema: dict, type_name: str, pointer: str) -> Node | None:
    """The regex a value of ``type_name`` must match for ``schema``'s ``not`` to hold: None
    when every value of the type passes, EMPTY when none does."""
    if "not" not in schema:
        return None
    ptr = pointer + "/not"
    return _rejected(compiler, compiler.flat_at(schema["not"], ptr), type_name, ptr)


def negated_schema(compiler, condition, pointer: str):
    """A schema of the values ``condition`` rejects (what ``else`` adds to its branch).

    An ``if`` that tests object members (``properties``/``required``, the usual discriminator)
    becomes an ``anyOf`` of the ways to fail it: a listed member absent, or present with a
    value its schema rejects (a ``not`` on that value), or a value of another ``type``.
    Anything else is ``{"not": condition}``, left to :func:`negation`.
    """
    if condition is True or condition is False:
        return not condition
    keys = set(condition) & VALIDATION
    if not keys:
        return False
    if not tests_members(condition):
        return {"not": condition}
    types = type_set(condition.get("type", ALL_TYPES))
    if "object" not in types:                          # member tests are vacuous there
        return {"not": {"type": sorted(types)}}
    ways = [{"not": {"type": sorted(types)}}] if "type" in keys else []
    ways += [{"type": "object", "properties": {name: False}} for name in condition.get("required") or []]
    ways += [{"type": "object", "required": [name], "properties": {name: {"not": sub}}}
             for name, sub in (condition.get("properties") or {}).items()]
    return {"anyOf": ways} if ways else False          # (no member test: every value passes)


def tests_members(condition) -> bool:
    """Whether ``condition`` tests object members only (``properties``/``required``, maybe
    ``type``): :func:`negated_schema` then writes its negation as an ``anyOf``."""
    keys = set(condition) & VALIDATION if isinstance(condition, dict) else set()
    return bool(keys & {"properties", "required"}) and keys <= {"type", "properties", "required"}


def _rejected(compiler, negated, t: str, ptr: str, depth: int = 0) -> Node | None:
    """Texts of type ``t`` that ``negated`` rejects (None: all of them; EMPTY: none).

    ``format`` is dropped first: a validator may ignore it, and then ``negated`` accepts
    more, so its rejects must be read without it."""
    if negated is False:
        return None
    if isinstance(negated, dict):
        negated = {k: v for k, v in negated.items() if k != "format"}
    keys = set(negated) & VALIDATION if isinstance(negated, dict) else set()
    if not keys:                                       # true, {}, or annotations only
        return EMPTY
    if keys == {"anyOf"}:
        if depth >= MAX_NESTING:
            raise UnsupportedSchemaError("'not' over a recursive or too deeply nested 'anyOf'", ptr, "anyOf")
        parts = [_rejected(compiler, compiler.flat_at(branch, f"{ptr}/anyOf/{i}"), t, f"{ptr}/anyOf/{i}", depth + 1)
                 for i, branch in enumerate(negated["anyOf"])]
        parts = [p for p in parts if p is not None]
        return intersect(*parts) if parts else None
    family = "number" if t == "integer" else t
    if "type" in keys:
        types = type_set(negated["type"])
        if t == "number" and "integer" in types and "number" not in types:
            raise UnsupportedSchemaError("'not' integer beside number is not supported", ptr, "not")
        if family not in types and t not in types:
            return None
    own = keys & (TYPE_KEYWORDS.get(family, set()) | {"enum", "const"})
    others = keys - own - _ANY_TYPE - set().union(*TYPE_KEYWORDS.values())
    if others:
        keyword = min(others)
        raise UnsupportedSchemaError(f"'not' with '{keyword}' is not supported", f"{ptr}/{keyword}", keyword)
    values = None
    if own & {"enum", "const"}:
        listed = [negated["const"]] if "const" in negated else list(negated["enum"])
        values = [v for v in listed if _is_type(v, t) and compiler.accepts(negated, v)]
        if not values:
            return None                     # no value of this type is listed: all pass
    if family in ("array", "object") and own:
        keyword = min(own)
        raise UnsupportedSchemaError(f"'not' with '{keyword}' on {t}s is not supported", f"{ptr}/{keyword}", keyword)
    if not own:
        return EMPTY                        # N accepts every value of this type
    if t in _LITERAL_TYPES:
        texts = {"true" if v is True else "false" if v is False else "null" for v in values}
        return alt(*(lit(x) for x in _LITERAL_TYPES[t] if x not in texts))
    if family == "string":
        return _other_strings(negated, values, ptr)
    return _other_numbers(negated, values, ptr)


def _other_strings(negated: dict, values: list | None, ptr: str) -> Node:
    """Strings ``negated`` rejects: other than each listed value (already checked against
    its other keywords), outside its pattern, or outside its length range (itself a range)."""
    if values is not None:
        return seq(lit('"'), other_than(values), lit('"'))
    lo, hi, content = string_parts(negated, ptr, accepted=True)
    if content:
        return complement(json_string(lo, hi, intersect(*content)))
    return alt(json_string(0, lo - 1) if lo else EMPTY, json_string(hi + 1) if hi is not None else EMPTY)


def _other_numbers(negated: dict, values: list | None, ptr: str) -> Node:
    """Numbers outside ``negated``'s range, or other than each of its listed values."""
    if "multipleOf" in negated:
        raise UnsupportedSchemaError("'not' with 'multipleOf' is not supported", f"{ptr}/multipleOf", "multipleOf")
    if values is not None:
        return intersect(*(alt(number_regex(maximum=v, exclusive_maximum=True),
                               number_regex(minimum=v, exclusive_minimum=True)) for v in values))
    lo, hi, lo_x, hi_x = bounds(negated)
    below = number_regex(maximum=lo, exclusive_maximum=not lo_x) if lo is not None else EMPTY
    above = number_regex(minimum=hi, exclusive_minimum=not hi_x) if hi is not None else EMPTY
    return alt(below, above)


def _is_type(value, t: str) -> bool:
    if t == "null":
        return value is None
    if t == "boolean":
        return isinstance(value, bool)
    if t in ("number", "integer"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t == "string":
        return isinstance(value, str)
    return isinstance(value, list if t == "array" else dict)
