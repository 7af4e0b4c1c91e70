"""JSON strings: characters as JSON-encoded bytes, lengths, and ``pattern`` regexes.

A character class (code-point ranges) becomes the bytes of its JSON encodings: raw UTF-8
for ordinary characters, escapes for ``"``, ``\\`` and control characters. Patterns are
parsed by Python's own regex parser (the ECMA-262 subset schemas use is the same syntax)
and rebuilt over those encodings, so a pattern and a maxLength can be intersected.
"""
from __future__ import annotations

import re
import re._constants as C  # noqa: N812  (stdlib parser constants)
import re._parser as sre_parse
from functools import lru_cache

from ..automaton.regex import Node, alt, byteset, counted, intersect, lit, optional, repeat, seq, star
from ..automaton.utf8 import MAX_CODEPOINT, codepoint_ranges, complement_ranges
from ..errors import InvalidPatternError, UnsupportedSchemaError
from .formats import format_pattern

Ranges = list[tuple[int, int]]
_ESCAPED: Ranges = [(0, 0x1F), (0x22, 0x22), (0x5C, 0x5C)]
_HEX = byteset(b"0123456789abcdefABCDEF")
_SHORT_ESCAPES = {0x22: '\\"', 0x5C: "\\\\", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}
ANY_CHAR: Ranges = [(0, MAX_CODEPOINT)]
_ASCII_PRINTABLE: Ranges = [(0x20, 0x7E)]


def _intersect_ranges(a: Ranges, b: Ranges) -> Ranges:
    out = []
    for lo1, hi1 in a:
        for lo2, hi2 in b:
            lo, hi = max(lo1, lo2), min(hi1, hi2)
            if lo <= hi:
                out.append((lo, hi))
    return sorted(out)


def json_char(ranges: Ranges) -> Node:
    """One character from ``ranges``, as it may appear inside a JSON string literal.

    A character has the same encodings whatever the ranges (a control character: its short
    escape if any, and ``\\u00XX`` in either case), so two string regexes meet exactly
    when their sets of decoded strings do. Cached: every string slot asks for any character.
    """
    return _json_char(tuple(ranges))


@lru_cache(maxsize=1024)
def _json_char(ranges: tuple) -> Node:
    raw = _intersect_ranges(ranges, complement_ranges(_ESCAPED))
    parts = [codepoint_ranges(raw)] if raw else []
    escaped = _intersect_ranges(ranges, _ESCAPED)
    if escaped[:1] == [(0, 0x1F)]:        # every control character: one compact form
        parts.append(seq(lit("\\u00"), byteset(b"01"), _HEX))
        parts.extend(lit(_SHORT_ESCAPES[cp]) for cp in (0x08, 0x09, 0x0A, 0x0C, 0x0D))
        escaped = escaped[1:]
    for lo, hi in escaped:
        for cp in range(lo, hi + 1):
            if cp in _SHORT_ESCAPES:
                parts.append(lit(_SHORT_ESCAPES[cp]))
            if cp < 0x20:
                digit = f"{cp % 16:x}"
                parts.append(seq(lit(f"\\u00{cp // 16}"), byteset((digit + digit.upper()).encode())))
    return alt(*parts)


def string_parts(schema: dict, pointer: str = "#", accepted: bool = False) -> tuple[int, int | None, list[Node]]:
    """(minLength, maxLength, content regexes) of a string schema: what we may emit, or with
    ``accepted`` a superset of what a validator accepts (patterns read both ways, ``format``
    ignored, since a checker may accept more than its regex)."""
    lo, hi = int(schema.get("minLength", 0)), schema.get("maxLength")
    content = []
    if "pattern" in schema:
        content.append(pattern_content(schema["pattern"], pointer + "/pattern", superset=accepted))
    fmt = None if accepted else format_pattern(schema.get("format", ""))
    if fmt is not None:
        content.append(pattern_content(fmt, pointer + "/format"))
    return lo, None if hi is None else int(hi), content


def strings_meet(emitted: dict, accepted: dict) -> Node:
    """The regex of strings we may emit for ``emitted`` that ``accepted`` may accept: empty
    exactly when there is none (every character has the same encodings in every regex)."""
    lo, hi, content = string_parts(emitted)
    their_lo, their_hi, their_content = string_parts(accepted, accepted=True)
    lo, hi = max(lo, their_lo), their_hi if hi is None else hi if their_hi is None else min(hi, their_hi)
    if hi is not None and lo > hi:
        return alt()
    content += their_content
    return json_string(lo, hi, intersect(*content) if content else None)


def other_than(words) -> Node:
    """String *content* of every string except ``words`` (read off their trie: end where no
    word ends, leave the trie on any other character, or follow it)."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[None] = {}

    def build(node: dict) -> Node:
        chars = sorted(ord(ch) for ch in node if ch is not None)
        options = [] if None in node else [seq()]
        options.append(seq(json_char(complement_ranges([(c, c) for c in chars])), star(json_char(ANY_CHAR))))
        options.extend(seq(json_char([(c, c)]), build(node[chr(c)])) for c in chars)
        return alt(*options)
    return build(trie)


def json_string(min_length: int = 0, max_length: int | None = None, content: Node | None = None) -> Node:
    """A JSON string literal, quotes included; ``content`` (a char-level regex) narrows it."""
    char = json_char(ANY_CHAR)
    body = repeat(char, min_length, None) if max_length is None else counted(char, min_length, max_length)
    if content is not None:
        body = intersect(body, content) if (min_length or max_length is not None) else content
    return seq(lit('"'), body, lit('"'))


# --- patterns --------------------------------------------------------------------------
_CATEGORIES: dict[object, tuple[Ranges, bool]] = {
    C.CATEGORY_DIGIT: ([(0x30, 0x39)], False),
    C.CATEGORY_NOT_DIGIT: ([(0x30, 0x39)], True),
    C.CATEGORY_WORD: ([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)], False),
    C.CATEGORY_NOT_WORD: ([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)], True),
    C.CATEGORY_SPACE: ([(0x09, 0x0D), (0x20, 0x20)], False),
    C.CATEGORY_NOT_SPACE: ([(0x09, 0x0D), (0x20, 0x20)], True),
}
_LINE_TERMINATORS: Ranges = [(0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029)]


def _negate(ranges: Ranges) -> Ranges:
    """Complement, kept to printable ASCII: Python's and ECMA's Unicode classes differ, and
    a character outside both (e.g. a non-ASCII digit under ``\\D``) must never be emitted."""
    return _intersect_ranges(complement_ranges(ranges), _ASCII_PRINTABLE)


def _category(category, superset: bool) -> Ranges:
    """A class escape's characters: where Python's and ECMA's meanings agree (for emitting),
    or a set holding both (for deciding what a pattern can never accept)."""
    ranges, negated = _CATEGORIES[category]
    if not superset:
        return _negate(ranges) if negated else ranges
    if negated:
        return complement_ranges(ranges)
    extra = [(0x1C, 0x1F)] if category is C.CATEGORY_SPACE else []     # Python's \s has these
    return sorted(ranges + extra + [(0x80, MAX_CODEPOINT)])


def _class_ranges(items, pointer: str, superset: bool) -> Ranges:
    ranges: Ranges = []
    negate = bool(items) and items[0][0] is C.NEGATE
    for op, arg in items[negate:]:
        if op is C.LITERAL:
            ranges.append((arg, arg))
        elif op is C.RANGE:
            ranges.append(arg)
        elif op is C.CATEGORY and arg in _CATEGORIES:
            ranges.extend(_category(arg, superset and not negate))   # a complement needs subsets
        elif op is C.CATEGORY:
            raise UnsupportedSchemaError(f"regex class {arg} is not supported", pointer, "pattern")
        else:
            raise UnsupportedSchemaError(f"regex construct {op} is not supported", pointer, "pattern")
    if negate:
        return complement_ranges(ranges) if superset else _negate(ranges)
    return sorted(ranges)


def _convert(parsed, pointer: str, superset: bool) -> Node:
    parts: list[Node] = []
    for op, arg in parsed:
        if op is C.LITERAL:
            parts.append(json_char([(arg, arg)]))
        elif op is C.NOT_LITERAL:
            parts.append(json_char(complement_ranges([(arg, arg)]) if superset else _negate([(arg, arg)])))
        elif op is C.ANY:
            parts.append(json_char(ANY_CHAR if superset else complement_ranges(_LINE_TERMINATORS)))
        elif op is C.IN:
            ranges = _class_ranges(arg, pointer, superset)
            parts.append(json_char(ranges) if ranges else alt())
        elif op is C.BRANCH:
            parts.append(alt(*(_convert(b, pointer, superset) for b in arg[1])))
        elif op is C.SUBPATTERN:
            _group, add_flags, _del, sub = arg
            if add_flags & (re.IGNORECASE | re.MULTILINE):
                raise UnsupportedSchemaError("regex flags are not supported", pointer, "pattern")
            parts.append(_convert(sub, pointer, superset))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            lo, hi, sub = arg
            parts.append(repeat(_convert(sub, pointer, superset), lo, None if hi is C.MAXREPEAT else hi))
        elif op is C.AT:
            raise UnsupportedSchemaError("anchors are only supported at the ends of a pattern", pointer, "pattern")
        else:
            raise UnsupportedSchemaError(f"regex construct {str(op).lower()} is not supported", pointer, "pattern")
    return seq(*parts)


def _strip_anchors(items: list, pointer: str, superset: bool) -> Node:
    """A top-level alternative: JSON Schema patterns search, so unanchored ends get ``.*``."""
    items = list(items)
    start = bool(items) and items[0][0] is C.AT and items[0][1] in (C.AT_BEGINNING, C.AT_BEGINNING_STRING)
    if start:
        items = items[1:]
    end = bool(items) and items[-1][0] is C.AT and items[-1][1] in (C.AT_END, C.AT_END_STRING)
    # Python's "$" (which validators use) also matches before a final newline
    newline = [optional(json_char([(0x0A, 0x0A)]))] if superset and end and items[-1][1] is C.AT_END else []
    if end:
        items = items[:-1]
    anything = star(json_char(ANY_CHAR))
    body = _convert(items, pointer, superset)
    return seq(*([] if start else [anything]), body, *newline, *([] if end else [anything]))


def pattern_content(pattern: str, pointer: str = "#", superset: bool = False) -> Node:
    """String *content* (JSON-encoded, no quotes) of strings the pattern matches: only ones it
    matches under both Python's and ECMA-262's reading (what we may emit), or with
    ``superset`` every one it matches under either (what a validator may accept)."""
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        raise InvalidPatternError(f"invalid pattern {pattern!r}: {exc}", pointer, "pattern") from None
    if parsed.state.flags & (re.IGNORECASE | re.MULTILINE | re.VERBOSE):
        raise UnsupportedSchemaError("regex flags are not supported", pointer, "pattern")
    return alt(*(_strip_anchors(items, pointer, superset) for items in _alternatives(list(parsed), pointer)))


MAX_ALTERNATIVES = 64      # top-level alternatives a pattern may spread into


def _alternatives(items: list, pointer: str) -> list[list]:
    """The pattern as alternatives whose anchors stand at their ends: groups holding an
    anchor are inlined and alternations holding one distributed over what surrounds them
    (the parser factors ``^$|^a`` into ``^(?:$|a)``; schemas write ``(^a$)``)."""
    for i, (op, arg) in enumerate(items):
        if op is C.SUBPATTERN and not (arg[1] or arg[2]) and _anchored(arg[3]):
            return _alternatives(items[:i] + list(arg[3]) + items[i + 1:], pointer)
        if op is C.BRANCH and any(_anchored(b) for b in arg[1]):
            out = [a for b in arg[1] for a in _alternatives(items[:i] + list(b) + items[i + 1:], pointer)]
            if len(out) > MAX_ALTERNATIVES:
                raise UnsupportedSchemaError("the pattern's anchors spread into too many alternatives", pointer, "pattern")
            return out
    return [items]


def _anchored(items) -> bool:
    """Whether an anchor stands in ``items`` outside any repetition."""
    for op, arg in items:
        if op is C.AT or (op is C.SUBPATTERN and _anchored(arg[3])) or \
                (op is C.BRANCH and any(_anchored(b) for b in arg[1])):
            return True
    return False
