"""``oneOf`` made exact: each branch is narrowed until nothing it emits is valid under another.

A value satisfies ``oneOf`` when exactly one branch accepts it. The compiler emits, for a
branch, only values valid under it; here each branch is narrowed (never widened) so that no
value it can emit is valid under any *other* branch as written:

- a literal branch (``enum``/``const``) keeps the values the other branch rejects;
- types the other branch also accepts are dropped, except objects that keys tell apart;
- an object is told apart by a key the other branch requires (forbidden here), a key it
  forbids (required here), or a required key whose literal values it rejects.

A branch that cannot be narrowed so is left out: outputs stay valid, only less varied. When
every branch is left out the schema is refused, naming the first pair that clashed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..errors import UnsupportedSchemaError
from .merge import ALL_TYPES, member_rule, merge, type_set

_NUMBERS = {"integer", "number"}


class _Compiler(Protocol):
    def flat(self, schema): ...                     # $ref resolved, allOf merged
    def accepts(self, schema, value) -> bool: ...   # jsonschema validity, from the root document
    def types_of(self, schema: dict) -> list[str]: ...   # the types the compiler emits for it


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
        union = "anyOf" in schema or "oneOf" in schema
        emits = accepts if "type" in schema or union else _with_numbers(c.types_of(schema))
    props = schema.get("properties") or {}
    required = list(schema.get("required") or [])
    forbidden = {k for k, sub in props.items() if c.flat(sub) is False}
    keys = None
    if not {"anyOf", "oneOf"} & set(schema):      # a nested union may add its own members
        keys = set(props) | set(required)
        for targets in [*(schema.get("dependentRequired") or {}).values(),
                        *(schema.get("dependencies") or {}).values()]:
            keys |= set(targets) if isinstance(targets, list) else set()
        keys -= forbidden
    return _Shape(emits, accepts, literals, required, keys, forbidden)


def _twins(value):
    """The value, and the same with integral numbers written the other way (1 and 1.0 are
    equal to ``enum``, but draft 4's ``integer`` tells them apart)."""
    def swap(v, to_float):
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, (int, float)):
            return (float(v) if to_float else int(v)) if float(v).is_integer() else v
        if isinstance(v, list):
            return [swap(x, to_float) for x in v]
        return {k: swap(x, to_float) for k, x in v.items()}
    return [value, swap(value, True), swap(value, False)]


def _excludes(c: _Compiler, mine, me: _Shape, theirs, them: _Shape) -> bool:
    """True when no value ``mine`` emits is valid under ``theirs``."""
    if me.literals is not None:
        return not any(c.accepts(theirs, v) for v in me.literals)
    if them.literals is not None and not any(c.accepts(mine, t) for v in them.literals for t in _twins(v)):
        return True
    shared = me.emits & them.accepts
    if not shared:
        return True
    if shared != {"object"} or not isinstance(mine, dict) or not isinstance(theirs, dict):
        return False
    if set(them.required) & me.forbidden or (me.keys is not None and not set(them.required) <= me.keys):
        return True
    for key in me.required:              # a member we always write that they reject
        rule = c.flat(member_rule(theirs, key)[0])
        values = _member_literals(c, mine, key)
        if rule is False or (values is not None and not any(c.accepts(rule, v) for v in values)):
            return True
    return False


def _member_literals(c: _Compiler, schema: dict, key: str) -> list | None:
    """The values member ``key`` may take, when its schema is an enum or a const."""
    rule = c.flat((schema.get("properties") or {}).get(key, True))
    if not isinstance(rule, dict) or not ("const" in rule or "enum" in rule):
        return None
    return [v for v in ([rule["const"]] if "const" in rule else rule["enum"]) if c.accepts(rule, v)]


def _narrow(c: _Compiler, mine, me: _Shape, theirs, them: _Shape):
    """``mine`` narrowed one step towards excluding ``theirs`` (False: nothing is left), or
    None when no narrowing is known."""
    if me.literals is not None:
        kept = [v for v in me.literals if not c.accepts(theirs, v)]
        return merge(mine, {"enum": kept}) if kept else False
    shared = me.emits & them.accepts
    if shared - {"object"}:
        return _only(mine, me.emits - shared | {"object"} & shared)
    if isinstance(mine, dict) and isinstance(theirs, dict):
        narrowed = _narrow_members(c, mine, me, theirs, them)
        if narrowed is not None:
            return narrowed
    return _only(mine, me.emits - {"object"}) if me.emits != {"object"} else None


def _narrow_members(c: _Compiler, mine: dict, me: _Shape, theirs: dict, them: _Shape):
    for key in me.required:              # a required tag: keep the values they reject
        values = _member_literals(c, mine, key)
        kept = [v for v in values or () if not c.accepts(c.flat(member_rule(theirs, key)[0]), v)]
        if kept:
            return merge(mine, {"properties": {key: {"enum": kept}}})
    for key in them.required:            # a key they need: never write it
        if key not in me.required and key not in me.forbidden:
            return merge(mine, {"properties": {key: False}})
    for key in sorted(me.keys or ()):    # a key they forbid: always write it
        if key not in me.required and c.flat(member_rule(theirs, key)[0]) is False:
            return merge(mine, {"required": [key]})
    return None


def _only(schema, types: set[str]):
    return merge(schema, {"type": sorted(types)}) if types else False


def _exclude(c: _Compiler, mine, theirs):
    """``mine`` narrowed until it excludes ``theirs``, or False."""
    try:
        them = _shape(c, theirs)
        for _ in range(8):           # a narrowing settles literals, types, a tag or a key
            me = _shape(c, mine)
            if _excludes(c, mine, me, theirs, them):
                return mine
            mine = _narrow(c, mine, me, theirs, them)
            if mine is None or mine is False:
                return False
    except UnsupportedSchemaError:     # a narrowing that cannot be expressed
        pass
    return False


def exclusive_branches(c: _Compiler, branches: list, pointer: str) -> list:
    """The branch schemas narrowed to be mutually exclusive; False for those left out."""
    out, clash = [], None
    for i, mine in enumerate(branches):
        for j, theirs in enumerate(branches):
            if j != i and mine is not False:
                mine = _exclude(c, mine, theirs)
                if mine is False and clash is None:
                    clash = (i, j) if i < j else (j, i)
        out.append(mine)
    if clash is not None and all(b is False for b in out):   # (all impossible: unsatisfiable)
        i, j = clash
        raise UnsupportedSchemaError(f"oneOf branches {i} and {j} may both match the same value", pointer, "oneOf")
    return out
