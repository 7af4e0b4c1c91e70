"""JSON Schema → canvas layout: pinned skeleton text and value slots (regexes over bytes).

Objects with required properties are laid out *inline*: ``{"name": `` is fixed text that
the compiler pins, and each value becomes a slot. Anything whose shape varies (optional
members, arrays, unions) is one slot whose regex covers all of it. The text we emit is
canonical ``json.dumps`` style (``", "`` and ``": "``, members in schema order, no
exponents), a subset of valid JSON that still contains a valid instance of every schema
we accept; a schema with no such instance raises :class:`UnsatisfiableSchemaError`.
"""
from __future__ import annotations

import copy
import json
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import jsonschema
import jsonschema_rs
import referencing.exceptions
import referencing.jsonschema

from ..automaton.regex import (
    EMPTY,
    Node,
    alt,
    byte_range,
    intersect,
    is_empty,
    lit,
    optional,
    repeat,
    seq,
    star,
    subsequence,
)
from ..errors import (
    InvalidPatternError,
    SchemaError,
    SchemaTooComplexError,
    UnsatisfiableSchemaError,
    UnsupportedSchemaError,
)
from .merge import ALL_TYPES, ANNOTATIONS, TYPE_KEYWORDS, VALIDATION, canonical, member_rule, merge, type_set
from .narrowing import FULL, NARROWER, Narrowing
from .negation import MAX_NESTING, negated_schema, negation, tests_members
from .numbers import FLOAT_SAFE, bounds, multiples_of, number_regex
from .one_of import exclusive_branches
from .references import as_pointers, follow, inside_constants, is_pointer, needs_resolving
from .references import child_pointer as _ptr
from .strings import json_string, other_than, string_parts

MAX_REF_NESTING = 32       # how many $refs may be open at once (no canvas holds deeper values)
MAX_SUBSCHEMAS = 10_000    # subschemas laid out per schema; 99.9% of real ones need under 3,500
DEFAULT_STRING_CHARS = 24  # layout budget for a string with no maxLength
DEFAULT_KEY_CHARS = 8      # layout budget for a member name of the model's choosing
DEFAULT_ARRAY_ITEMS = 3    # layout budget for an array with no maxItems

# Keywords we enforce, or that cannot be violated by what we emit.
_HANDLED = {
    "type", "enum", "const", "$ref", "$defs", "definitions", "anyOf", "oneOf",
    "properties", "required", "additionalProperties", "items", "prefixItems", "minItems", "maxItems",
    "minLength", "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "discriminator", "allOf", "additionalItems", "patternProperties", "propertyNames",
    "dependentRequired", "dependentSchemas", "dependencies", "minProperties", "maxProperties", "multipleOf",
}
# Keywords that constrain values in ways not handled yet: refusing beats emitting invalid output.
_UNSUPPORTED = {
    "unevaluatedProperties", "unevaluatedItems", "contains", "minContains", "maxContains", "$dynamicRef",
    "$recursiveRef",
}


@dataclass(frozen=True)
class Slot:
    """A run of open canvas positions whose bytes must spell a string of ``node``."""
    node: Node
    chars: int               # typical length in characters, used to size the slot
    pointer: str
    literals: tuple[str, ...] = ()   # when the slot is a finite set of texts


@dataclass(frozen=True)
class Value:
    node: Node
    chars: int
    literals: tuple[str, ...] = ()


Part = str | Slot


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


@lru_cache(maxsize=None)
def _meta_checker(cls: type) -> jsonschema_rs.Validator:
    """jsonschema-rs's validator of ``cls``'s metaschema: it finds a schema valid 100-200x
    faster than ``cls.check_schema`` (1.2 ms at the median of JSONSchemaBench, 11 ms at p90),
    which is left to name the keyword and pointer of what it rejects."""
    return jsonschema_rs.validator_for(cls.META_SCHEMA)


class SchemaCompiler:
    """Walks one JSON Schema; ``layout()`` gives the parts of its canvas."""

    def __init__(self, schema) -> None:
        if not isinstance(schema, (dict, bool)):
            raise SchemaError(f"a JSON Schema must be an object or a boolean, got {type(schema).__name__}")
        self._ref_stack: list[str] = []
        self._negating = 0                 # nots being read inside one another (see _members_negated)
        self._proving = False              # inside _provably_empty (see _conjoin)
        self._subschemas = 0
        self.narrowed: dict[str, tuple[Narrowing, str]] = {}     # slot pointer -> (its narrowing, why)
        self._narrowing = FULL                   # the narrowing of the slot being laid out
        self._nest = 0                           # objects/arrays open in the slot being laid out
        cls = jsonschema.validators.validator_for(schema if isinstance(schema, dict) else {})
        if cls is jsonschema.Draft3Validator:
            raise UnsupportedSchemaError("draft 3 schemas are not supported", "#", "$schema")
        try:
            if not _meta_checker(cls).is_valid(schema):
                cls.check_schema(schema)
        except jsonschema.SchemaError as exc:
            pointer = _ptr("#", *exc.path)
            keyword = str(exc.path[-1]) if exc.path else None
            error = InvalidPatternError if keyword == "pattern" else SchemaError
            raise error(f"invalid JSON Schema: {exc.message}", pointer, keyword) from None
        spec = referencing.jsonschema.specification_with(cls.META_SCHEMA["$schema"])
        self.root = as_pointers(schema, spec) if needs_resolving(schema, spec) else schema
        if cls is jsonschema.Draft4Validator:
            self.root = _without_const(self.root)
        self._validator_cls = cls
        self._root_validator = cls(self.root, format_checker=cls.FORMAT_CHECKER)
        self._format_blind = cls(self.root)     # a validator may ignore format: proofs of emptiness must too
        self._draft2020 = cls is jsonschema.Draft202012Validator
        self._siblings_apply = cls in (jsonschema.Draft201909Validator, jsonschema.Draft202012Validator)
        self._conditionals = cls not in (jsonschema.Draft4Validator, jsonschema.Draft6Validator)

    # --- entry point -------------------------------------------------------------------
    def layout(self) -> list[Part]:
        self._subschemas = 0
        parts = self._parts(self.root, "#")
        for p in parts:
            if isinstance(p, Slot) and is_empty(p.node):
                raise UnsatisfiableSchemaError("no JSON value satisfies this schema", p.pointer)
        return parts

    # --- references ----------------------------------------------------------------
    def _resolve(self, schema, pointer: str):
        """Follow local $refs; returns (schema, pointer, refs entered)."""
        entered = []
        while isinstance(schema, dict) and "$ref" in schema:
            ref = schema["$ref"]
            if ref in entered:
                raise SchemaError(f"circular reference {ref!r}", pointer, "$ref")
            siblings = {k: v for k, v in schema.items() if k != "$ref" and k not in ANNOTATIONS}
            if not isinstance(ref, str) or not is_pointer(ref):
                raise UnsupportedSchemaError(f"only references into the schema itself are supported, got {ref!r}",
                                             pointer, "$ref")
            target = follow(self.root, ref, pointer)
            entered.append(ref)
            if siblings and self._siblings_apply:      # 2019-09+: $ref AND its sibling keywords
                target, _, more = self._resolve(target, ref)
                return {"allOf": [siblings, target]}, ref, entered + more
            schema, pointer = target, ref            # earlier drafts ignore $ref's siblings
        return schema, pointer, entered

    def _enter(self, refs: list[str]) -> bool:
        """Push refs; False when one of them is already nested too deep (recursion cut)."""
        if refs and len(self._ref_stack) + len(refs) > MAX_REF_NESTING:
            return False
        for r in refs:
            if self._ref_stack.count(r) >= self._narrowing.ref_depth:
                return False
        self._ref_stack.extend(refs)
        return True

    def _leave(self, refs: list[str]) -> None:
        del self._ref_stack[len(self._ref_stack) - len(refs):]

    # --- layout -----------------------------------------------------------------------
    @contextmanager
    def _entered(self, schema, pointer: str):
        """Resolve ``schema`` and merge its ``allOf``, inside the $refs it went through; yields
        (schema, pointer), or (None, pointer) where recursion is cut."""
        resolved, ptr, refs = self._resolve(schema, pointer)
        if not self._enter(refs):
            yield None, pointer
            return
        try:
            yield self._flatten_all_of(resolved, ptr), ptr
        finally:
            self._leave(refs)

    def _parts(self, schema, pointer: str) -> list[Part]:
        with self._entered(schema, pointer) as (resolved, ptr):
            if resolved is None:
                return [Slot(EMPTY, 0, ptr)]
            if self._inline_object(resolved, ptr):
                return self._object_parts(resolved, ptr)
            v = self._slot_value(lambda: self._value(resolved, ptr), ptr)
            return [Slot(v.node, v.chars, ptr, v.literals)]

    # --- narrowing ---------------------------------------------------------------------
    def narrow(self, pointer: str | None, reason: str) -> bool:
        """Lay the slot at ``pointer`` out one level narrower from now on (see
        :mod:`.narrowing`); False when it is already at the narrowest."""
        if pointer is None:
            return False
        level = self._level(pointer)
        if level >= len(NARROWER):
            return False
        self.narrowed[pointer] = (NARROWER[level], reason)
        return True

    def _level(self, pointer: str) -> int:
        """How many times the slot at ``pointer`` has been narrowed."""
        return NARROWER.index(self.narrowed[pointer][0]) + 1 if pointer in self.narrowed else 0

    def _slot_value(self, compute, pointer: str) -> Value:
        """``compute()``, the value of the slot at ``pointer``, under that slot's narrowing;
        narrower until it fits where it expands past ``MAX_SUBSCHEMAS``."""
        while True:
            level, counted = self._level(pointer), self._subschemas
            self._narrowing = NARROWER[level - 1] if level else FULL
            try:
                return compute()
            except SchemaTooComplexError as exc:
                if not self.narrow(pointer, exc.message):
                    raise SchemaTooComplexError(exc.message, pointer) from None
                self._subschemas = counted
            except UnsupportedSchemaError:
                if not level:
                    raise
                raise SchemaTooComplexError(self.narrowed[pointer][1], pointer) from None    # e.g. oneOf emptied
            finally:
                self._narrowing = FULL

    def _inline_object(self, schema, pointer: str) -> bool:
        return (isinstance(schema, dict) and self.types_of(schema, pointer) == ["object"]
                and not ({"enum", "const", "anyOf", "oneOf"} & set(schema)) and not self._conditional_in(schema)
                and bool(schema.get("required") or schema.get("properties")))

    def _object_parts(self, schema, pointer: str) -> list[Part]:
        """``{"key": `` pinned for members that are always present; each optional member is a
        slot of its own (``, "key": value`` or nothing), independent of the others because a
        present member always stands before it (or after it, for those before the first).

        An object with no required member gets its first member written anyway (optional
        members may be present), so it has a skeleton too.
        """
        self._check_keywords(schema, pointer)
        members = []
        for name, sub_schema, sub_ptr, required in self._members(schema, pointer):
            if required:
                members.append((name, sub_schema, sub_ptr, True, None))
                continue
            v = self._slot_value(lambda: self._optional_value(sub_schema, sub_ptr), sub_ptr)
            if not is_empty(v.node):
                members.append((name, sub_schema, sub_ptr, False, v))
        if members and not any(m[3] for m in members):
            members[0] = (*members[0][:3], True, None)
        parts: list[Part] = ["{"]
        seen_required = False
        for name, sub_schema, sub_ptr, required, v in members:
            key = "" if name is None else _dumps(name) + ": "
            if required:
                parts.append((", " if seen_required else "") + key)
                if name is None:        # the free member's name is a slot of its own
                    free = self._key(schema, None, pointer)
                    parts.append(Slot(free.node, free.chars, _ptr(pointer, "minProperties")))
                seen_required = True
                parts.extend(self._parts(sub_schema, sub_ptr))
            else:
                node = seq(lit(", "), lit(key), v.node) if seen_required else seq(lit(key), v.node, lit(", "))
                parts.append(Slot(optional(node), len(key) + v.chars + 2, sub_ptr))
        parts.append("}")
        return parts

    # --- flat values ----------------------------------------------------------------
    def _value_at(self, schema, pointer: str) -> Value:
        with self._entered(schema, pointer) as (resolved, ptr):
            return Value(EMPTY, 0) if resolved is None else self._value(resolved, ptr)

    def _optional_value(self, schema, pointer: str) -> Value:
        """The value of a member or item that may be left out: a schema no value satisfies
        gives the empty language (the value is then never written) instead of an error."""
        try:
            return self._value_at(schema, pointer)
        except UnsatisfiableSchemaError:
            return Value(EMPTY, 0)

    def _value(self, schema, pointer: str) -> Value:
        self._subschemas += 1
        if self._subschemas > MAX_SUBSCHEMAS:
            raise SchemaTooComplexError(f"the schema expands to over {MAX_SUBSCHEMAS} subschemas "
                                        f"(mutually recursive $refs, each followed {self._narrowing.ref_depth} "
                                        "deep)", pointer)
        if schema is True or schema == {}:
            return _any_value()
        if schema is False:
            return Value(EMPTY, 0)
        self._check_keywords(schema, pointer)
        if "enum" in schema or "const" in schema:
            return self._literals(schema, pointer)
        if self._conditional_in(schema):
            return self._conditional(schema, pointer)
        if "anyOf" in schema or "oneOf" in schema:
            return self._union(schema, pointer)
        options = [self._negated(self._typed(t, schema, pointer), rejected, schema)
                   for t, rejected in self._typed_negations(schema, pointer)]
        return _union_values(options)

    def _negated(self, value: Value, rejected: Node | None, schema: dict) -> Value:
        """``value`` (of one type) narrowed by what ``schema``'s ``not`` leaves of its type."""
        if rejected is None:
            return value
        literals = tuple(t for t in value.literals if self.accepts(schema, json.loads(t)))
        return Value(intersect(value.node, rejected), value.chars, literals)

    def _check_keywords(self, schema: dict, pointer: str) -> None:
        for kw in schema:
            if kw in _UNSUPPORTED:
                raise UnsupportedSchemaError(f"'{kw}' is not supported yet", _ptr(pointer, kw), kw)

    def types_of(self, schema: dict, pointer: str = "#") -> list[str]:
        """The JSON types we may emit for ``schema``: its ``type`` (or those its keywords
        imply), less any type its ``not`` rules out entirely."""
        return [t for t, _ in self._typed_negations(schema, pointer)]

    def _typed_negations(self, schema: dict, pointer: str) -> list[tuple[str, Node | None]]:
        """(type, what ``not`` leaves of it: see :func:`negation`) for each type we may emit."""
        t = schema.get("type")
        if t is None:
            inferred = [name for name, kws in TYPE_KEYWORDS.items() if kws & set(schema)]
            types = inferred or list(ALL_TYPES)
        else:
            types = [t] if isinstance(t, str) else list(t)
        if "number" in types and "integer" in types:
            types.remove("integer")     # every integer is a number
        pairs = [(x, negation(self, schema, x, pointer)) for x in types]
        return [(x, rejected) for x, rejected in pairs if not _rules_out(rejected)]

    def flat(self, schema):
        """``schema`` with its $refs followed and its ``allOf`` merged."""
        return self.flat_at(schema, "#")

    def flat_at(self, schema, pointer: str):
        """``schema``, found at ``pointer``, with its $refs followed and its ``allOf`` merged."""
        resolved, ptr, _ = self._resolve(schema, pointer)
        return self._flatten_all_of(resolved, ptr)

    def accepts(self, schema, value) -> bool:
        """Whether ``value`` is valid under ``schema``, a part of the root document."""
        return _is_valid(self._root_validator.evolve(schema=schema), value)

    def item_rule(self, schema: dict, index: int):
        """What item ``index`` of an array under ``schema`` must satisfy (flattened)."""
        prefix, rest = self._item_rules(schema)
        return self.flat(prefix[index] if index < len(prefix) else rest)

    def _item_rules(self, schema: dict) -> tuple[list, object]:
        """(rules of the leading items, rule of the others), for every draft's spelling."""
        prefix = (schema.get("prefixItems") or []) if self._draft2020 else []
        items = schema.get("items", True)
        if isinstance(items, list):          # draft 4–2019 tuple form
            return items, schema.get("additionalItems", True)
        return prefix, items

    def _flatten_all_of(self, schema, pointer: str, depth: int = 0):
        """Merge ``allOf`` branches (and nested ones) into one schema. A second conditional
        among them, or a ``not`` of object members, becomes the ``anyOf`` it means."""
        if not isinstance(schema, dict) or "allOf" not in schema:
            return self._members_negated(schema, pointer)
        if depth > 8:
            raise UnsupportedSchemaError("allOf nested too deeply", pointer, "allOf")
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for i, branch in enumerate(schema["allOf"]):
            sub_ptr = _ptr(pointer, "allOf", i)
            resolved, _, _ = self._resolve(branch, sub_ptr)
            flat = self._flatten_all_of(resolved, sub_ptr, depth + 1)
            if isinstance(merged, dict) and isinstance(flat, dict) and "if" in merged and "if" in flat:
                flat = self._as_union(flat, sub_ptr)
            merged = merge(merged, flat, sub_ptr, self._conjoin)
        return self._members_negated(merged, pointer)

    def _conjoin(self, p, q, pointer: str):
        """Branches ``p`` and ``q`` of two ``anyOf``s as one flat schema, or False where it
        provably holds no value; a pair that does not flatten stays an ``allOf`` (compiled,
        or refused, with its branch later)."""
        if self._proving:          # a proof reads members, which may lead back here: it combines lazily
            return {"allOf": [p, q]}
        try:
            both = self._flatten_all_of({"allOf": [p, q]}, pointer)
        except SchemaError:
            return {"allOf": [p, q]}
        self._proving = True
        try:
            return False if self._provably_empty(both) else both
        finally:
            self._proving = False

    def _provably_empty(self, schema, depth: int = 0) -> bool:
        """Cheap proofs that a flat schema holds no value: every listed value rejected, or
        an object that must have a member no value can fill (a discriminator required by
        one conditional's ``else`` and given two different constants by two others).

        A pair dropped here may sit under a ``not`` (or an ``if``, which ``else`` negates),
        where dropping too much would widen the output: so a proof reads ``format`` as a
        validator that ignores it would (and stops ``_PROOF_DEPTH`` members/unions deep)."""
        if schema is False:
            return True
        if not isinstance(schema, dict) or depth > _PROOF_DEPTH:
            return False
        if "const" in schema or "enum" in schema:
            listed = [schema["const"]] if "const" in schema else schema["enum"]
            blind = self._format_blind.evolve(schema=schema)
            return not any(_is_valid(blind, v) for v in listed)
        if isinstance(schema.get("anyOf"), list):           # (how a negated ``if`` is written)
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            try:
                return all(self._provably_empty(merge(rest, self.flat(b)), depth + 1) for b in schema["anyOf"])
            except SchemaError:
                return False
        if type_set(schema.get("type", ALL_TYPES)) - {"object"}:
            return False
        for name in schema.get("required") or []:
            try:
                rule = self.flat(member_rule(schema, name)[0])
            except SchemaError:
                continue
            if self._provably_empty(rule, depth + 1):
                return True
        return False

    def _as_union(self, schema: dict, pointer: str):
        """``if``/``then``/``else`` as the ``anyOf`` it means, so that it combines with another
        conditional; drafts 4 and 6 ignore them."""
        if not self._conditionals:
            return {k: v for k, v in schema.items() if k not in ("if", "then", "else")}
        rest, tests = self._if_tests(schema, pointer)
        return merge(rest, {"anyOf": [{"allOf": [test, schema.get(name, True)]} for name, test in tests]}, pointer,
                     self._conjoin)

    def _if_tests(self, schema: dict, pointer: str):
        """(the keywords beside a conditional, [("then", its ``if``), ("else", the ways to fail
        it)]): how every conditional is read."""
        rest = {k: v for k, v in schema.items() if k not in ("if", "then", "else")}
        if_ptr = _ptr(pointer, "if")
        condition = self.flat_at(schema["if"], if_ptr)
        return rest, [("then", condition), ("else", negated_schema(self, condition, if_ptr))]

    def _members_negated(self, schema, pointer: str):
        """``schema`` with a ``not`` of object member tests (``required``, ``properties``)
        written as the ``anyOf`` of ways to fail them (see :func:`negated_schema`); the
        ``not`` of anything else is left to :func:`negation`, per type."""
        if not isinstance(schema, dict) or "not" not in schema:
            return schema
        ptr = _ptr(pointer, "not")
        if self._negating >= MAX_NESTING:
            raise UnsupportedSchemaError("'not' over a recursive or too deeply nested reference", ptr, "not")
        self._negating += 1
        try:
            negated = self.flat_at(schema["not"], ptr)
            either = isinstance(negated, dict) and set(negated) & VALIDATION == {"anyOf"}
            parts = [self.flat_at(p, _ptr(ptr, "anyOf", i)) for i, p in enumerate(negated["anyOf"])] if either \
                else [negated]
        finally:
            self._negating -= 1
        members = [p for p in parts if tests_members(p)]
        if not members:
            return schema
        out = {k: v for k, v in schema.items() if k != "not"}
        kept = [p for p in parts if not tests_members(p)]
        if kept:                                        # not (a or b) == not a and not b
            out["not"] = kept[0] if len(kept) == 1 else {"anyOf": kept}
        for p in members:
            out = merge(out, negated_schema(self, p, ptr), ptr, self._conjoin)
        return out

    def _literals(self, schema: dict, pointer: str) -> Value:
        kw = "const" if "const" in schema else "enum"
        values = [schema["const"]] if "const" in schema else list(schema["enum"])
        texts = tuple(dict.fromkeys(_dumps(v) for v in values if self.accepts(schema, v)))
        if not texts:
            raise UnsatisfiableSchemaError(f"no value of '{kw}' satisfies the schema", _ptr(pointer, kw), kw)
        return Value(alt(*(lit(t) for t in texts)), max(map(len, texts)), texts)

    def _conditional_in(self, schema: dict) -> bool:
        """Whether ``schema`` has an ``if`` its draft reads (drafts 4 and 6 ignore it)."""
        return "if" in schema and self._conditionals

    def _conditional(self, schema: dict, pointer: str) -> Value:
        """``if``/``then``/``else`` as the union it means: values that pass ``if`` and ``then``,
        and values that fail ``if`` and pass ``else``."""
        rest, tests = self._if_tests(schema, pointer)
        if_ptr = _ptr(pointer, "if")
        values, errors = [], []
        for name, test in tests:
            branch_ptr = _ptr(pointer, name)
            branch = merge(merge(rest, test, if_ptr), self.flat_at(schema.get(name, True), branch_ptr), branch_ptr)
            try:
                values.append(self._value_at(branch, branch_ptr))
            except UnsatisfiableSchemaError as exc:     # an impossible branch just drops out
                errors.append(exc)
            except UnsupportedSchemaError as exc:
                if name == "else" and self._from_negated_if(exc, schema, branch_ptr):
                    raise UnsupportedSchemaError(f"'if' cannot be negated for 'else': {exc.message}",
                                                 if_ptr, "if") from None
                raise
        if not values:
            raise errors[0]
        return _union_values(values)

    def _from_negated_if(self, exc: SchemaError, schema: dict, else_ptr: str) -> bool:
        """Whether an error in the ``else`` branch comes from the ``if`` it negates: it sits
        under the branch's ``not``/``anyOf``, which ``else`` itself does not have."""
        if not exc.pointer.startswith((else_ptr + "/not", else_ptr + "/anyOf")):
            return False
        own = self.flat_at(schema.get("else", True), else_ptr)
        return not (isinstance(own, dict) and {"not", "anyOf"} & set(own))

    def _union(self, schema: dict, pointer: str) -> Value:
        kw = "oneOf" if "oneOf" in schema else "anyOf"      # an anyOf beside oneOf stays in every branch
        rest = {k: v for k, v in schema.items() if k not in (kw, "discriminator")}
        branches, refs = [], []
        for i, branch in enumerate(schema[kw]):
            sub_ptr = _ptr(pointer, kw, i)
            resolved, _, entered = self._resolve(branch, sub_ptr)
            # rest AND (b1 OR b2 ...) == (rest AND b1) OR (rest AND b2) ...
            branches.append(merge(rest, self._flatten_all_of(resolved, sub_ptr), sub_ptr))
            refs.append(entered)
        written = branches
        if kw == "oneOf":
            branches = exclusive_branches(self, branches, pointer)
        values, errors = [], []
        for i, (branch, entered) in enumerate(zip(branches, refs)):
            if branch is False or not self._enter(entered):     # impossible, or the recursion cut
                continue
            try:
                values.append(self._value_at(branch, _ptr(pointer, kw, i)))
            except UnsatisfiableSchemaError as exc:   # an impossible branch just drops out
                errors.append(exc)
            finally:
                self._leave(entered)
        union = _union_values(values)
        if is_empty(union.node) and branches != written:      # emptied by telling branches apart
            raise UnsupportedSchemaError("oneOf branches could not be told apart", pointer, "oneOf")
        if not values and errors:
            raise errors[0]
        return union

    def _members(self, schema: dict, pointer: str):
        """(name, schema, pointer, required) of every member we may emit, in order.

        We never emit keys beyond ``properties`` and ``required``, so ``patternProperties``
        only adds constraints to matching names; ``propertyNames``, dependencies and
        ``maxProperties`` drop optional members (absence is always allowed) and
        ``minProperties`` makes optional members required (presence is allowed too). The
        one exception: when ``minProperties`` needs one member more than are listed, a free
        member (name None) under ``additionalProperties`` takes a name the model chooses.
        """
        props = schema.get("properties") or {}
        required = list(dict.fromkeys(schema.get("required") or []))
        deps = dict(schema.get("dependentRequired") or {})
        deps.update({k: v for k, v in (schema.get("dependencies") or {}).items() if isinstance(v, list)})
        dep_schemas = dict(schema.get("dependentSchemas") or {})
        dep_schemas.update({k: v for k, v in (schema.get("dependencies") or {}).items() if not isinstance(v, list)})
        for name in required:                             # required members pull in their dependencies
            required.extend(d for d in deps.get(name, []) if d not in required)
            if name in dep_schemas:
                raise UnsupportedSchemaError(f"a schema dependency of required property '{name}'",
                                             _ptr(pointer, "dependentSchemas"), "dependentSchemas")
        names = list(props) + [n for n in required if n not in props]
        names_ok = self._root_validator.evolve(schema=schema.get("propertyNames", True))
        out = []
        for name in names:
            is_required = name in required
            droppable = name in dep_schemas or any(d not in required for d in deps.get(name, []))
            if not _is_valid(names_ok, name) or (droppable and not is_required):
                if is_required:
                    raise UnsatisfiableSchemaError(f"required property '{name}' is not an allowed name",
                                                   _ptr(pointer, "propertyNames"), "propertyNames")
                continue
            sub, sub_ptr = self._member_schema(schema, name, pointer)
            out.append((name, sub, sub_ptr, is_required))
        return self._count_members(schema, out, pointer)

    def _member_schema(self, schema: dict, name: str, pointer: str):
        sub, keyword = member_rule(schema, name, pointer)
        if sub is False and keyword == "additionalProperties":
            raise UnsatisfiableSchemaError(f"required property '{name}' is forbidden by additionalProperties: false",
                                           _ptr(pointer, "required"), "required")
        return sub, (_ptr(pointer, keyword, name) if keyword == "properties" else _ptr(pointer, keyword))

    def _count_members(self, schema: dict, members: list, pointer: str) -> list:
        lo, hi = _count(schema, "minProperties", 0), _count(schema, "maxProperties")
        n_required = sum(m[3] for m in members)
        if hi is not None and lo > hi:
            raise UnsatisfiableSchemaError(f"minProperties {lo} > maxProperties {hi}",
                                           _ptr(pointer, "minProperties"), "minProperties")
        if hi is not None and n_required > hi:
            raise UnsatisfiableSchemaError(f"{n_required} required properties exceed maxProperties {hi}",
                                           _ptr(pointer, "maxProperties"), "maxProperties")
        free = lo == len(members) + 1 and not schema.get("patternProperties") and \
            schema.get("additionalProperties", True) is not False
        if len(members) < lo and not free:
            raise UnsupportedSchemaError(f"minProperties {lo} needs properties beyond the {len(members)} listed",
                                         _ptr(pointer, "minProperties"), "minProperties")
        if free:          # every listed member, and one more under a name of its own
            return [(name, sub, ptr, True) for name, sub, ptr, _ in members] + \
                [(None, schema.get("additionalProperties", True), _ptr(pointer, "additionalProperties"), True)]
        out, optional_left = [], (None if hi is None else hi - n_required)
        promote = max(0, lo - n_required)
        for name, sub, ptr, required in members:
            if not required and promote:
                required, promote = True, promote - 1
                optional_left = None if optional_left is None else optional_left - 1
            elif not required and optional_left is not None:
                if optional_left <= 0:
                    continue
                optional_left -= 1
            out.append((name, sub, ptr, required))
        return out

    def _typed(self, type_name: str, schema: dict, pointer: str) -> Value:
        if type_name == "null":
            return Value(lit("null"), 4, ("null",))
        if type_name == "boolean":
            return Value(alt(lit("true"), lit("false")), 5, ("true", "false"))
        if type_name in ("integer", "number"):
            return self._number(schema, pointer, type_name == "integer")
        if type_name == "string":
            return self._string(schema, pointer)
        if type_name in ("array", "object"):
            with self._nested():
                return self._array(schema, pointer) if type_name == "array" else self._object(schema, pointer)
        raise UnsupportedSchemaError(f"unknown type {type_name!r}", _ptr(pointer, "type"), "type")

    @contextmanager
    def _nested(self):
        """Inside one more array or object of the slot (narrowing leaves deep optional parts out)."""
        self._nest += 1
        try:
            yield
        finally:
            self._nest -= 1

    def _number(self, schema: dict, pointer: str, integer: bool) -> Value:
        lo, hi, lo_x, hi_x = bounds(schema)
        step = schema.get("multipleOf")
        multiples = None if step is None else multiples_of(step)
        if step is not None and multiples is None:
            raise UnsupportedSchemaError(f"multipleOf {step} is not supported (integers dividing 1000 and "
                                         "steps 1/N that floats divide exactly are)", _ptr(pointer, "multipleOf"),
                                         "multipleOf")
        node = number_regex(lo, hi, lo_x, hi_x, integer or multiples is not None)
        if multiples is not None:                # integers only: all multiples we write are
            node = intersect(node, multiples)
        elif not integer:
            node = intersect(node, FLOAT_SAFE)
        if is_empty(node) or (lo is not None and hi is not None and (lo > hi or (lo == hi and (lo_x or hi_x)))):
            raise UnsatisfiableSchemaError("the numeric range is empty", pointer, "minimum")
        width = max(len(str(b)) for b in (lo, hi, 1000) if b is not None)
        return Value(node, width + (0 if integer else 3))

    def _string(self, schema: dict, pointer: str) -> Value:
        lo, hi, content = string_parts(schema, pointer)
        if hi is not None and lo > hi:
            raise UnsatisfiableSchemaError(f"minLength {lo} > maxLength {hi}", _ptr(pointer, "minLength"), "minLength")
        node = json_string(lo, self._narrowing.string_max(lo, hi), intersect(*content) if content else None)
        typical = DEFAULT_STRING_CHARS if hi is None else min(hi, 2 * DEFAULT_STRING_CHARS)
        return Value(node, max(lo, typical) + 2)

    def _array(self, schema: dict, pointer: str) -> Value:
        lo, hi = _count(schema, "minItems", 0), _count(schema, "maxItems")
        if hi is not None and lo > hi:
            raise UnsatisfiableSchemaError(f"minItems {lo} > maxItems {hi}", _ptr(pointer, "minItems"), "minItems")
        hi = self._narrowing.items_max(lo, hi, self._nest)
        prefix, items = self._item_rules(schema)
        head = [self._optional_value(s, _ptr(pointer, "prefixItems", i)) for i, s in enumerate(prefix[:hi])]
        tail = self._optional_value(items, _ptr(pointer, "items")) if hi is None or hi > len(prefix) else Value(EMPTY, 0)
        if schema.get("uniqueItems") is True and (hi is None or hi > 1):
            return self._unique_array(head, tail, lo, hi, pointer)
        # An array of n items: the first min(n, len(prefix)) follow prefixItems, the rest items.
        options, chars = [], 2
        n_max = (len(head) if hi is None else min(hi, len(head))) if is_empty(tail.node) else hi
        typical = max(lo, min(DEFAULT_ARRAY_ITEMS, hi if hi is not None else DEFAULT_ARRAY_ITEMS))
        for n in range(lo, min(len(head), n_max if n_max is not None else len(head)) + 1):
            options.append(_sequence([v.node for v in head[:n]]))
        if not is_empty(tail.node) and (n_max is None or n_max > len(head)):
            first = max(lo, len(head) + 1)
            rest_lo, rest_hi = first - len(head), None if n_max is None else n_max - len(head)
            if rest_hi is None or rest_lo <= rest_hi:
                more = repeat(seq(lit(", "), tail.node), rest_lo - 1, None if rest_hi is None else rest_hi - 1)
                options.append(_sequence([v.node for v in head] + [seq(tail.node, more)]))
        node = seq(lit("["), alt(*options), lit("]")) if options else EMPTY
        item_chars = [v.chars for v in head] + [tail.chars] * max(0, typical - len(head))
        chars += sum(c + 2 for c in item_chars[:max(typical, lo)])
        return Value(node, chars)

    def _unique_array(self, head: list[Value], tail: Value, lo: int, hi: int | None, pointer: str) -> Value:
        """``uniqueItems``: distinct items by construction. Items from a finite set of
        literals are written in the set's order, each at most once (values JSON Schema
        calls equal, like 1 and 1.0, count once); any other items, at most one: that free
        items differ is not a regular language, so the array is narrowed, never invalid."""
        if head or lo > 1:
            keyword = "prefixItems" if head else "minItems"
            raise UnsupportedSchemaError(f"'uniqueItems' with '{keyword}' is not supported yet",
                                         _ptr(pointer, "uniqueItems"), "uniqueItems")
        distinct = list({canonical(json.loads(t)): t for t in reversed(tail.literals)}.values())[::-1]
        if distinct and (hi is None or hi >= len(distinct)):
            items = subsequence((lit(t) for t in distinct), lit(", "))
            if lo:
                items = intersect(items, seq(byte_range(0, 255), star(byte_range(0, 255))))   # not empty
            return Value(seq(lit("["), items, lit("]")), 2 + sum(len(t) + 2 for t in distinct))
        items = tail.node if lo else optional(tail.node)
        return Value(seq(lit("["), items, lit("]")), 2 + tail.chars)

    def _key(self, schema: dict, name: str | None, pointer: str) -> Value:
        """``"name": ``, or for the free member (``name`` None) any name no listed member or
        dependency uses, that ``propertyNames`` allows."""
        if name is not None:
            return Value(lit(_dumps(name) + ": "), len(name) + 4)
        taken = [*(schema.get("properties") or {}), *(schema.get("required") or []),
                 *(schema.get("dependentRequired") or {}), *(schema.get("dependentSchemas") or {}),
                 *(schema.get("dependencies") or {})]
        node = json_string(0, None, other_than(taken))
        if "propertyNames" in schema:
            node = intersect(node, self._value_at(schema["propertyNames"], _ptr(pointer, "propertyNames")).node)
        return Value(seq(node, lit(": ")), DEFAULT_KEY_CHARS + 4)

    def _object(self, schema: dict, pointer: str) -> Value:
        members = []
        for name, sub, sub_ptr, required in self._members(schema, pointer):
            if not (required or self._narrowing.keeps_optional(self._nest)):
                continue
            v = self._value_at(sub, sub_ptr) if required else self._optional_value(sub, sub_ptr)
            if is_empty(v.node) and required:
                return Value(EMPTY, 0)
            if not is_empty(v.node):
                key = self._key(schema, name, pointer)
                members.append((seq(key.node, v.node), key.chars + v.chars, required))
        return Value(seq(lit("{"), _member_list(members), lit("}")), 2 + sum(c + 2 for _, c, _ in members))


def _is_valid(validator, value) -> bool:
    """Whether ``validator`` (moved onto a part of its root) accepts ``value``; a ``$ref``
    it cannot resolve is a typed error."""
    try:
        return validator.is_valid(value)
    except referencing.exceptions.Unresolvable as exc:
        raise SchemaError(f"reference {getattr(exc, 'ref', '')!r} does not resolve", "#", "$ref") from None


def _without_const(schema):
    """A draft-4 schema with ``const`` left out of every subschema and every ``$ref`` target:
    draft 4 has no such keyword and its validators ignore it, so reading it would narrow a
    value, and widen whatever negates it (a ``not``, another ``oneOf`` branch)."""
    schema = copy.deepcopy(schema)
    spec = referencing.jsonschema.DRAFT4
    constants = inside_constants(schema, spec)
    stack, seen = [schema], set()
    while stack:
        sub = stack.pop()
        if not isinstance(sub, dict) or id(sub) in seen:
            continue
        seen.add(id(sub))
        ref = sub.get("$ref")
        if isinstance(ref, str) and is_pointer(ref):
            try:
                target = follow(schema, ref, "#")
            except SchemaError:
                target = None                  # refused when a value needs it
            if id(target) in constants:
                raise UnsupportedSchemaError("a $ref reads an enum value as a schema", "#", "$ref")
            stack.append(target)
        sub.pop("const", None)
        stack.extend(spec.subresources_of(sub))
    return schema


_PROOF_DEPTH = 2     # members and unions a proof of emptiness looks into (discriminators sit at 1)


def _rules_out(rejected: Node | None) -> bool:
    """Whether a ``not`` leaves no value of a type (``negation`` gave EMPTY)."""
    return rejected is not None and is_empty(rejected)


def _count(schema: dict, key: str, default: int | None = None) -> int | None:
    """A count keyword as an int: JSON Schema lets ``1.0`` mean 1 (the metaschema checked the rest)."""
    value = schema.get(key, default)
    return int(value) if value is not None else None


def _sequence(nodes: list[Node]):
    """Comma-separated items (no brackets)."""
    out = []
    for i, n in enumerate(nodes):
        out.extend([lit(", ")] if i else [])
        out.append(n)
    return seq(*out)


def _member_list(members: list[tuple[Node, int, bool]]) -> Node:
    """Members in order, optional ones may be absent, commas only between present ones."""
    first_req = next((i for i, m in enumerate(members) if m[2]), None)
    if first_req is not None:
        out = [optional(seq(m, lit(", "))) for m, _, _ in members[:first_req]]
        out.append(members[first_req][0])
        for m, _, req in members[first_req + 1:]:
            out.append(seq(lit(", "), m) if req else optional(seq(lit(", "), m)))
        return seq(*out)
    return subsequence((m for m, _, _ in members), lit(", "))


def _union_values(values: list[Value]) -> Value:
    kept = [v for v in values if not is_empty(v.node)]
    if not kept:
        return Value(EMPTY, 0)
    literals = tuple(t for v in kept for t in v.literals) if all(v.literals for v in kept) else ()
    return Value(alt(*(v.node for v in kept)), max(v.chars for v in kept), literals)


def _any_value() -> Value:
    """Any JSON value, written shallow: scalars, and arrays/objects of scalars."""
    string = json_string()
    scalar = alt(lit("null"), lit("true"), lit("false"), number_regex(), string)
    array = seq(lit("["), optional(seq(scalar, star(seq(lit(", "), scalar)))), lit("]"))
    member = seq(string, lit(": "), scalar)
    obj = seq(lit("{"), optional(seq(member, star(seq(lit(", "), member)))), lit("}"))
    return Value(alt(scalar, array, obj), 8)
