"""The instruction every backend sees: what to extract (the schema, compactly) and from what.

Training builds its prompts with this same function, so the default model sees at run time
exactly the wording it was fine-tuned on. The schema is rendered as one line per field
(name, type, description, allowed values) rather than raw JSON Schema: it is what the model
needs, in a fraction of the tokens.
"""
from __future__ import annotations

import json

MAX_DEPTH = 4       # nested objects deeper than this are summarised by their type name
MAX_LINE = 300      # a longer description or value list is cut here (the masks still enforce every value)
MAX_CHARS = 1500    # field lines past this are counted, not listed: a huge schema must not crowd out
                    # the document or the model's context (training schemas use under 400)


def instruction(schema: dict | bool, document: str) -> str:
    """The prompt text for extracting a ``schema`` instance from ``document``."""
    fields = describe(schema)
    return (f"Extract the information from the input as JSON with these fields:\n{fields}\n"
            "Copy values exactly as written in the input.\n\n"
            f"Input:\n{document.strip()}")


def describe(schema: dict | bool) -> str:
    """One line per field: ``- name (type, required): description; one of ...``."""
    if not isinstance(schema, dict):
        return "- any JSON value"
    defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    lines: list[str] = []
    _fields(schema, defs, lines, 0)
    if not lines:
        return f"- value ({_type_name(schema, defs)})"
    kept, size = [], 0
    for line in lines:
        size += len(line) + 1
        if size > MAX_CHARS:
            return "\n".join(kept + [f"- ... and {len(lines) - len(kept)} more fields, not listed"])
        kept.append(line)
    return "\n".join(kept)


def _resolve(node, defs: dict) -> dict:
    """The node with local ``$ref``s followed (a description needs no more); booleans as {}."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 16:
        target = defs.get(node["$ref"].rsplit("/", 1)[-1])
        if not isinstance(target, dict):
            break
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        seen += 1
    return node if isinstance(node, dict) else {}


def _fields(schema: dict, defs: dict, lines: list[str], depth: int) -> None:
    schema = _resolve(schema, defs)
    required = set(schema.get("required", []))
    for name, sub in (schema.get("properties") or {}).items():
        sub = _resolve(sub, defs)
        notes = [_type_name(sub, defs), "required" if name in required else "optional"]
        line = f"{'  ' * depth}- {name} ({', '.join(notes)})"
        extras = []
        if sub.get("description"):
            extras.append(str(sub["description"]).strip())
        allowed = _allowed(sub, defs)
        if allowed:
            extras.append("one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in allowed))
        if extras:
            line += ": " + "; ".join(extras)
        lines.append(line if len(line) <= MAX_LINE else line[:MAX_LINE - 3] + "...")
        inner = _object_of(sub, defs)
        if inner is not None and depth < MAX_DEPTH:
            _fields(inner, defs, lines, depth + 1)


def _object_of(node: dict, defs: dict) -> dict | None:
    """The object schema a field holds (itself, its array items, or its one non-null branch)."""
    node = _resolve(node, defs)
    if node.get("type") == "array":
        node = _resolve(node.get("items", {}), defs)
    for key in ("anyOf", "oneOf"):
        branches = [_resolve(b, defs) for b in node.get(key, []) if _resolve(b, defs).get("type") != "null"]
        if len(branches) == 1:
            return _object_of(branches[0], defs)
    return node if isinstance(node.get("properties"), dict) else None


def _allowed(node: dict, defs: dict) -> list:
    if "const" in node:
        return [node["const"]]
    if isinstance(node.get("enum"), list):
        return node["enum"]
    for key in ("anyOf", "oneOf"):
        branches = [_resolve(b, defs) for b in node.get(key, [])]
        if branches and all("const" in b or "enum" in b or b.get("type") == "null" for b in branches):
            return [v for b in branches for v in _allowed(b, defs) or [None]]
    return []


def _type_name(node: dict, defs: dict) -> str:
    node = _resolve(node, defs)
    for key in ("anyOf", "oneOf"):
        if node.get(key):
            return " or ".join(dict.fromkeys(_type_name(b, defs) for b in node[key]))
    kind = node.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        items = node.get("items")
        return f"list of {_type_name(items, defs)}" if isinstance(items, dict) else "list"
    if kind == "object" or "properties" in node:
        return "object"
    if kind == "string" and node.get("format"):
        return f"string, {node['format']}"
    if kind is None and ("enum" in node or "const" in node):
        return "value"
    return kind or "any"
