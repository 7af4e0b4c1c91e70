"""``$ref`` as validators read it, reduced to JSON pointers into the schema itself.

The compiler follows plain pointers (``#/$defs/x``) from the root. Where a schema needs more
(a nested ``$id`` that moves the base URI, an anchor, a URI naming the schema itself, a
percent-encoded pointer), each ``$ref`` is resolved once with ``referencing``, the library
jsonschema's validators use, and written as the pointer of its target.
"""
from __future__ import annotations

import copy
from urllib.parse import urldefrag, urljoin

import referencing
import referencing.exceptions

from ..errors import SchemaError, UnsupportedSchemaError

CONSTANTS = ("enum", "const", "default", "examples")      # keywords whose values are data, not schemas
_RESOLVER_ERRORS = (referencing.exceptions.Unresolvable, LookupError, ValueError, TypeError, AttributeError)


def is_pointer(ref: str) -> bool:
    """A JSON pointer into the schema, which the compiler follows as it is written."""
    return ref == "#" or ref.startswith("#/")


def follow(root, ref: str, pointer: str):
    """The subschema a plain pointer names (SchemaError where there is none)."""
    target = root
    for raw in ref[1:].split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        try:
            target = target[int(key)] if isinstance(target, list) else target[key]
        except (KeyError, IndexError, ValueError, TypeError):
            raise SchemaError(f"reference {ref!r} does not resolve", pointer, "$ref") from None
    return target


def subschemas(root, spec: referencing.Specification):
    """Every subschema in keyword positions, the root first (by ``spec``'s keywords)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, dict):              # (a boolean schema has no subschemas)
            stack.extend(spec.subresources_of(node))


def needs_resolving(root, spec: referencing.Specification) -> bool:
    """Whether some ``$ref`` is not a plain pointer (or is percent-encoded), or a subschema
    sets its own base URI."""
    return any(not is_pointer(ref) or "%" in ref for ref in _refs(root)) or any(
        isinstance(node, dict) and node is not root and spec.id_of(node) is not None for node in subschemas(root, spec))


def _refs(node):
    """Every string under a ``$ref`` key, wherever it is (a superset of the references)."""
    if isinstance(node, list):
        for v in node:
            yield from _refs(v)
    elif isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from _refs(v)


def as_pointers(schema, spec: referencing.Specification):
    """``schema`` (copied) with each ``$ref`` written as the JSON pointer of its target.

    A reference that does not resolve within the schema is written as an absolute URI,
    refused when a value needs it. Refused at once: a target inside a constant (writing its
    ``$ref`` would change the constant), a reference through a base URI that several
    subschemas declare (generated schemas repeat ``$id``s; harmless until a reference uses
    one), a target that depends on how it is reached, and a ``$dynamicAnchor`` target (it
    moves at run time). Nested ``$id``s are then dropped: validators built on the copy
    must read its pointers from the root.
    """
    root = copy.deepcopy(schema)
    located = _locations(root)
    constants = inside_constants(root, spec)
    resource = spec.create_resource(root)
    base = resource.id() or ""
    start = referencing.Registry().with_resource(base, resource).resolver(base)
    nested_ids: dict[int, dict] = {}      # (one node may be reached under several bases)
    repeated = _repeated_bases(root, start, spec)
    written: dict[int, str] = {}
    original: dict[int, str] = {}
    seen: set[tuple[int, str]] = set()
    pending = [(root, start)]
    while pending:
        node, resolver = pending.pop()
        if not isinstance(node, dict) or (id(node), _base(resolver)) in seen:
            continue
        seen.add((id(node), _base(resolver)))
        pending.extend(_inner(node, resolver, spec))
        if node is not root and spec.id_of(node) is not None:
            nested_ids[id(node)] = node
        where = located[id(node)]
        if not isinstance(node.get("$ref"), str):
            continue
        if id(node) in constants:
            raise UnsupportedSchemaError("a $ref reads an enum or const value as a schema", where, "$ref")
        ref = original.setdefault(id(node), node["$ref"])
        target = urljoin(_base(resolver), ref)       # if it does not resolve within the schema
        if is_pointer(target) and _base(resolver) != base:
            target = _base(resolver) + ref           # (urljoin keeps a fragment as it is under a urn: base)
        through = urldefrag(target)[0]
        if through in repeated:
            raise UnsupportedSchemaError(f"reference {ref!r} goes through the base URI {through!r}, "
                                         "which several subschemas declare", where, "$ref")
        try:
            found = resolver.lookup(ref)
        except _RESOLVER_ERRORS:
            found = None
        if found is not None and id(found.contents) in located:    # (a boolean target: identity cannot place it)
            if "$dynamicAnchor" in found.contents:
                raise UnsupportedSchemaError("a $ref to a $dynamicAnchor (its target moves at run time)", where, "$ref")
            target = located[id(found.contents)]
            pending.append((found.contents, found.resolver))
        if written.setdefault(id(node), target) != target:
            raise UnsupportedSchemaError(f"reference {ref!r} resolves to {written[id(node)]} or {target}, "
                                         "by the '$id' scope it is reached in", where, "$ref")
        node["$ref"] = target
    id_key = "id" if spec.id_of({"id": "x"}) else "$id"      # (draft 4 names it id)
    for node in nested_ids.values():     # the pointers are the root's now: a validator must not re-base them
        del node[id_key]
    return root


def _base(resolver: referencing.Resolver) -> str:
    return resolver._base_uri         # private, but the only way to tell scopes apart


def _inner(node: dict, resolver: referencing.Resolver, spec: referencing.Specification):
    """The subschemas of ``node``, each with the resolver its own ``$id`` (if any) sets."""
    return [(sub, resolver.in_subresource(spec.create_resource(sub)))
            for sub in spec.subresources_of(node) if isinstance(sub, (dict, bool))]   # (draft 7 lists them all)


def _repeated_bases(root, start: referencing.Resolver, spec: referencing.Specification) -> set[str]:
    """Base URIs that more than one subschema declares (the root's included)."""
    declared: dict[str, int] = {}
    repeated: set[str] = set()
    pending = [(root, start)]
    while pending:
        node, resolver = pending.pop()
        if isinstance(node, dict):
            if node is root or spec.id_of(node) is not None:
                uri = urldefrag(_base(resolver))[0]
                if declared.setdefault(uri, id(node)) != id(node):
                    repeated.add(uri)
            pending.extend(_inner(node, resolver, spec))
    return repeated


def child_pointer(base: str, *keys) -> str:
    """The JSON pointer ``base`` extended by ``keys`` (``~`` and ``/`` escaped)."""
    out = base
    for k in keys:
        out += "/" + str(k).replace("~", "~0").replace("/", "~1")
    return out


def _locations(root) -> dict[int, str]:
    """The JSON pointer of every object and array in ``root``, by identity."""
    located, stack = {}, [(root, "#")]
    while stack:
        node, pointer = stack.pop()
        if isinstance(node, (dict, list)):
            located[id(node)] = pointer
            items = node.items() if isinstance(node, dict) else enumerate(node)
            stack.extend((v, child_pointer(pointer, k)) for k, v in items)
    return located


def inside_constants(root, spec: referencing.Specification) -> set[int]:
    """Identities of the objects and arrays within enum, const, default and examples values."""
    inside: set[int] = set()
    stack = [node[k] for node in subschemas(root, spec) if isinstance(node, dict) for k in CONSTANTS if k in node]
    while stack:
        node = stack.pop()
        if isinstance(node, (dict, list)):
            inside.add(id(node))
            stack.extend(node.values() if isinstance(node, dict) else node)
    return inside
