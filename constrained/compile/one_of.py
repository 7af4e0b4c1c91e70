"""``oneOf`` made exact: each branch is narrowed until nothing it emits is valid under another.

A value satisfies ``oneOf`` when exactly one branch accepts it. The compiler emits, for a
branch, only values valid under it; here each branch is narrowed (never widened) so that no
value it can emit is valid under any *other* branch as written:

- a literal branch (``enum``/``const``) keeps the values the other branch rejects;
- a type the other branch accepts is dropped, unless its values are told apart: objects by
  a key the other requires (forbidden here) or a member always written that the other
  rejects (narrowed so, recursively; an optional one is made required), strings by regexes
  that do not meet, arrays by their lengths or their first item;
- a union is apart from another schema when each of its branches is;
- a branch of scalars that nothing else tells apart keeps what the other rejects (a ``not``
  of it), where that negation is supported (exact or narrower, see :mod:`.negation`).

A branch that cannot be narrowed so is left out: outputs stay valid, only less varied. When
every branch is left out the schema is refused, naming the first pair that clashed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from ..automaton.dfa import compile_dfa
from ..automaton.regex import is_empty
from ..errors import SchemaError, SchemaTooComplexError, UnsatisfiableSchemaError, UnsupportedSchemaError
from .merge import ALL_TYPES, canonical, member_rule, merge, type_set
from .strings import strings_meet

_NUMBERS = {"integer", "number"}
MAX_DEPTH = 3       # how deep into members branches are told apart
_STRING_KEYWORDS = ("pattern", "minLength", "maxLength")     # what they accept (a format may accept more)


class _Compiler(Protocol):
    def flat(self, schema): ...                     # $ref resolved, allOf merged
    def accepts(self, schema, value) -> bool: ...   # jsonschema validity, from the root document
    def types_of(self, schema: dict) -> list[str]: ...   # the types the compiler emits for it
    def item_rule(self, schema: dict, index: int): ...   # what an array's item must satisfy


@dataclass(frozen=True)
class _Shape:
    """What a schema emits or accepts, as far as telling branches apart needs."""
    emits: set[str]          # types it may emit
    accepts: set[str]        # types it may accept
    literals: list | None    # its values, when it is an enum or a const
    required: list[str]      # keys every object it accepts (and emits) has
    keys: set[str] | None    # keys an object it emits may have (None: any)
    forbidden: set[str]      # keys no object it accepts has


def _with_numbers(types) -> set[str]:
    types = set(types)
    return types | _NUMBERS if types & _NUMBERS else types


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _shape(c: _Compiler, schema) -> _Shape:
    schema = c.flat(schema)
    if schema is True or schema == {} or schema is False:
        types = set(ALL_TYPES) if schema is not False else set()
        return _Shape(types, types, None, [], None, set())
    literals = None
    if "const" in schema or "enum" in schema:
        values = [schema["const"]] if "const" in schema else list(schema["enum"])
        literals = [v for v in values if c.accepts(schema, v)]
        emits = accepts = _with_numbers(_json_type(v) for v in literals)
    else:
        accepts = _with_numbers(type_set(schema["type"]) if "type" in schema else ALL_TYPES)
        union = bool({"anyOf", "oneOf", "if"} & set(schema))
        emits = accepts if "type" in schema or union else _with_numbers(c.types_of(schema))
    props = schema.get("properties") or {}
    required = list(schema.get("required") or [])
    forbidden = {k for k, sub in props.items() if c.flat(sub) is False}
    keys = None
    if not {"anyOf", "oneOf", "if"} & set(schema):      # a nested union may add its own members
        keys = set(props) | set(required)
        for targets in [*(schema.get("dependentRequired") or {}).values(),
                        *(schema.get("dependencies") or {}).values()]:
            keys |= set(targets) if isinstance(targets, list) else set()
        keys -= forbidden
        if int(schema.get("minProperties", 0)) > len(set(required)) and not schema.get("patternProperties") \
                and schema.get("additionalProperties", True) is not False:   # maybe one of the model's naming
            keys = None
    return _Shape(emits, accepts, literals, required, keys, forbidden)


def _twins(value):
    """The value, and the same with integral numbers written the other way (1 and 1.0 are
    equal to ``enum``, but draft 4's ``integer`` tells them apart)."""
    def swap(v, to_float):
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, (int, float)):
            if abs(v) >= 2 ** 1023 or not float(v).is_integer():     # (no float twin, or none integral)
                return v
            return float(v) if to_float else int(v)
        if isinstance(v, list):
            return [swap(x, to_float) for x in v]
        return {k: swap(x, to_float) for k, x in v.items()}
    return [value, swap(value, True), swap(value, False)]


def _open_types(c: _Compiler, mine, me: _Shape, theirs, them: _Shape, depth: int) -> set[str]:
    """Types of the values ``mine`` emits that may be valid under ``theirs`` (empty: excluded)."""
    if me.literals is not None:
        return _with_numbers(_json_type(v) for v in me.literals if c.accepts(theirs, v))
    if them.literals is not None and not any(c.accepts(mine, t) for v in them.literals for t in _twins(v)):
        return set()
    shared = me.emits & them.accepts
    if "object" in shared and _objects_apart(c, mine, me, theirs, them, depth):
        shared.discard("object")
    if "string" in shared and _strings_apart(mine, theirs):
        shared.discard("string")
    if "array" in shared and _arrays_apart(c, mine, theirs, depth):
        shared.discard("array")
    return shared


def _objects_apart(c: _Compiler, mine, me: _Shape, theirs, them: _Shape, depth: int) -> bool:
    """No object ``mine`` emits is valid under ``theirs``: they need a key we never write, or
    a member we always write is apart from their rule for it."""
    if not isinstance(mine, dict) or not isinstance(theirs, dict):
        return False
    if set(them.required) & me.forbidden or (me.keys is not None and not set(them.required) <= me.keys):
        return True
    return depth < MAX_DEPTH and any(_excludes(c, *_rules(c, mine, theirs, key), depth + 1) for key in me.required)


def _arrays_apart(c: _Compiler, mine, theirs, depth: int) -> bool:
    """No array ``mine`` emits is valid under ``theirs``: the lengths do not meet, or our
    first item (always written) is apart from their rule for it."""
    if not isinstance(mine, dict) or not isinstance(theirs, dict):
        return False
    lo, hi = _length(mine)
    their_lo, their_hi = _length(theirs)
    if (their_hi is not None and lo > their_hi) or (hi is not None and hi < their_lo):
        return True
    return lo >= 1 and depth < MAX_DEPTH and _excludes(c, c.item_rule(mine, 0), c.item_rule(theirs, 0), depth + 1)


def _length(schema: dict) -> tuple[int, int | None]:
    hi = schema.get("maxItems")
    return int(schema.get("minItems", 0)), None if hi is None else int(hi)


def _strings_apart(mine, theirs) -> bool:
    """No string ``mine`` emits is valid under ``theirs``: our regex does not meet one that
    holds every string they accept. Only tried where both sides constrain strings."""
    ours = {k: mine[k] for k in ("format", *_STRING_KEYWORDS) if k in mine} if isinstance(mine, dict) else {}
    their = {k: theirs[k] for k in _STRING_KEYWORDS if k in theirs} if isinstance(theirs, dict) else {}
    return bool(ours and their) and _regexes_apart(json.dumps([ours, their], sort_keys=True))


@lru_cache(maxsize=4096)
def _regexes_apart(keywords: str) -> bool:
    ours, their = json.loads(keywords)
    try:
        meet = strings_meet(ours, their)
        return is_empty(meet) or compile_dfa(meet).is_empty()
    except (SchemaError, SchemaTooComplexError):
        return False


def _rules(c: _Compiler, mine: dict, theirs: dict, key: str):
    """What member ``key`` must satisfy on each side."""
    return c.flat(member_rule(mine, key)[0]), c.flat(member_rule(theirs, key)[0])


def _branches(c: _Compiler, schema) -> list | None:
    """A union's branches, each with the keywords beside it; None for any other schema."""
    if not isinstance(schema, dict) or ("anyOf" in schema) == ("oneOf" in schema):
        return None
    kw = "anyOf" if "anyOf" in schema else "oneOf"
    rest = {k: v for k, v in schema.items() if k not in (kw, "discriminator")}
    return [merge(rest, c.flat(b)) for b in schema[kw]]


def _excludes(c: _Compiler, mine, theirs, depth: int = 0) -> bool:
    """True when no value ``mine`` emits is valid under ``theirs``; a union on either side
    must be apart branch by branch (what a union accepts or emits, one of its branches does)."""
    theirs_branches = _branches(c, theirs)
    if theirs_branches is not None:
        return depth < MAX_DEPTH and all(_excludes(c, mine, b, depth + 1) for b in theirs_branches)
    my_branches = _branches(c, mine)
    if my_branches is not None:
        return depth < MAX_DEPTH and all(_excludes(c, b, theirs, depth + 1) for b in my_branches)
    if isinstance(mine, dict) and _negates(mine.get("not"), theirs):
        return True
    return not _open_types(c, mine, _shape(c, mine), theirs, _shape(c, theirs), depth)


def _negates(negated, theirs) -> bool:
    """Whether a ``not`` of ``negated`` rules out every value ``theirs`` accepts: it is (JSON-)
    equal to ``theirs`` or an ``anyOf`` holding it, and a compiled ``not`` is exact or narrower."""
    return canonical(negated) == canonical(theirs) or (
        isinstance(negated, dict) and set(negated) == {"anyOf"} and any(_negates(n, theirs) for n in negated["anyOf"]))


def _rejecting(c: _Compiler, mine, theirs):
    """Scalars ``mine`` emits less every value ``theirs`` accepts (a ``not`` of it), where no
    narrowing above tells them apart; False where that negation is unsupported or rules out
    every type (a branch it empties otherwise compiles to nothing and drops out). Literals
    are left to the exact narrowing above."""
    if not isinstance(mine, dict) or not isinstance(theirs, dict):
        return False
    me = _shape(c, mine)
    if me.literals is not None or me.emits & {"object", "array"}:
        return False
    try:
        narrowed = merge(mine, {"not": theirs})
        return narrowed if narrowed is not False and c.types_of(c.flat(narrowed)) else False
    except UnsupportedSchemaError:
        return False


def _narrow(c: _Compiler, mine, theirs, depth: int):
    """``mine`` narrowed one step towards excluding ``theirs`` (False: nothing is left), or
    None when no narrowing is known."""
    me, them = _shape(c, mine), _shape(c, theirs)
    if me.literals is not None:
        kept = [v for v in me.literals if not c.accepts(theirs, v)]
        return merge(mine, {"enum": kept}) if kept else False
    open_types = _open_types(c, mine, me, theirs, them, depth)
    if open_types - {"object", "array"}:
        return _only(mine, me.emits - (open_types - {"object", "array"}))
    kind = "array" if "array" in open_types else "object"
    narrowed = None
    if isinstance(mine, dict) and isinstance(theirs, dict):
        narrowed = _narrow_items(c, mine, theirs, depth) if kind == "array" else \
            _narrow_members(c, mine, me, theirs, them, depth)
    return narrowed if narrowed is not None else _only(mine, me.emits - {kind})


def _narrow_items(c: _Compiler, mine: dict, theirs: dict, depth: int):
    """At least one item, every item apart from their rule for the first (plain ``items`` only)."""
    lo, hi = _length(mine)
    if depth >= MAX_DEPTH or hi == 0 or mine.get("prefixItems") or isinstance(mine.get("items"), list):
        return None
    items = _exclude(c, c.item_rule(mine, 0), c.item_rule(theirs, 0), depth + 1)
    return None if items is False else merge(mine, {"minItems": max(lo, 1), "items": items})


def _narrow_members(c: _Compiler, mine: dict, me: _Shape, theirs: dict, them: _Shape, depth: int):
    if depth < MAX_DEPTH:
        for key in me.required:          # a member we always write: keep what they reject there
            narrowed = _exclude(c, *_rules(c, mine, theirs, key), depth + 1)
            if narrowed is not False:
                return merge(mine, {"properties": {key: narrowed}})
    for key in them.required:            # a key they need: never write it
        if key not in me.required and key not in me.forbidden:
            return merge(mine, {"properties": {key: False}})
    if depth < MAX_DEPTH:
        for key in sorted(me.keys or ()):    # an optional member apart from theirs: always write it
            if key not in me.required and _may_require(c, mine, key):
                narrowed = _exclude(c, *_rules(c, mine, theirs, key), depth + 1)
                if narrowed is not False:
                    return merge(mine, {"required": [key], "properties": {key: narrowed}})
    return None


def _may_require(c: _Compiler, schema: dict, key: str) -> bool:
    """Whether making ``key`` required keeps the schema within what the compiler lays out."""
    dependencies = {**(schema.get("dependencies") or {}), **(schema.get("dependentSchemas") or {})}
    return not isinstance(dependencies.get(key, []), (dict, bool)) and c.accepts(schema.get("propertyNames", True), key)


def _only(schema, types: set[str]):
    return merge(schema, {"type": sorted(types)}) if types else False


def _exclude(c: _Compiler, mine, theirs, depth: int = 0):
    """``mine`` narrowed until it excludes ``theirs``, or False."""
    try:
        theirs_branches = _branches(c, theirs)
        if theirs_branches is not None and depth < MAX_DEPTH:    # apart from each of them
            for branch in theirs_branches:
                mine = _exclude(c, mine, branch, depth + 1)
                if mine is False:
                    return False
            return mine
        for _ in range(8):           # a narrowing settles literals, types, a member or a key
            if _excludes(c, mine, theirs, depth):
                return mine
            mine = _narrow(c, mine, theirs, depth)
            if mine is None or mine is False:
                return False
    except UnsupportedSchemaError:     # a narrowing that cannot be expressed
        pass
    return False


def _proven(c: _Compiler, mine, theirs) -> bool:
    try:
        return _excludes(c, mine, theirs)
    except UnsupportedSchemaError:
        return False


def exclusive_branches(c: _Compiler, branches: list, pointer: str) -> list:
    """The branch schemas narrowed to be mutually exclusive; False for those left out."""
    out, clash = [], None
    for i, mine in enumerate(branches):
        for j, theirs in enumerate(branches):
            if j != i and mine is not False:
                narrowed = _exclude(c, mine, theirs)
                mine = narrowed if narrowed is not False else _rejecting(c, mine, theirs)
                if mine is False and clash is None:
                    clash = (i, j) if i < j else (j, i)
        out.append(mine)
    for i, mine in enumerate(out):      # a last check that every narrowing kept its proofs
        unproven = [j for j, theirs in enumerate(branches) if j != i and mine is not False
                    and not _proven(c, mine, theirs)]
        if unproven:
            out[i] = False
            clash = clash or tuple(sorted((i, unproven[0])))
    if clash is not None and all(b is False for b in out):   # (all impossible: unsatisfiable)
        i, j = clash
        if _each_value_matched_twice(c, branches):
            raise UnsatisfiableSchemaError(f"every value of oneOf branch {i} also matches branch {j}",
                                           pointer, "oneOf")
        raise UnsupportedSchemaError(f"oneOf branches {i} and {j} may both match the same value", pointer, "oneOf")
    return out


def _each_value_matched_twice(c: _Compiler, branches: list) -> bool:
    """Whether every branch is literals, each valid under another branch too (no value is
    valid under exactly one)."""
    shapes = [_shape(c, b) for b in branches]
    return all(me.literals is not None for me in shapes) and all(
        any(c.accepts(other, v) for j, other in enumerate(branches) if j != i)
        for i, me in enumerate(shapes) for v in me.literals)
