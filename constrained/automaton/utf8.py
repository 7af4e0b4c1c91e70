"""Unicode code-point ranges as byte-level regular expressions (valid UTF-8 only).

The same splitting the Rust ``regex`` crate (utf8-ranges) does: a range of code points
becomes a union of byte-range sequences, so an automaton over bytes accepts exactly the
UTF-8 encodings of those characters (no overlongs, no surrogates).
"""
from __future__ import annotations

from .regex import EPSILON, Node, alt, byte_range, seq

MAX_CODEPOINT = 0x10FFFF
_SURROGATES = (0xD800, 0xDFFF)
_LENGTH_LIMITS = (0x7F, 0x7FF, 0xFFFF, MAX_CODEPOINT)


def _encode_bounds(cp: int) -> bytes:
    return chr(cp).encode("utf-8", "surrogatepass")


def _split_same_length(lo: int, hi: int, out: list[tuple[tuple[int, int], ...]]) -> None:
    """lo..hi have the same UTF-8 length; emit byte-range sequences covering them."""
    a, b = _encode_bounds(lo), _encode_bounds(hi)
    n = len(a)
    if n == 1:
        out.append(((a[0], b[0]),))
        return
    # Find a split so that every range is a product of per-byte ranges.
    for i in range(1, n):
        max_tail = (1 << (6 * i)) - 1       # continuation bits below byte n-i
        if lo & ~max_tail != hi & ~max_tail:
            if lo & max_tail != 0:
                _split_same_length(lo, (lo | max_tail), out)
                _split_same_length((lo | max_tail) + 1, hi, out)
                return
            if hi & max_tail != max_tail:
                _split_same_length(lo, (hi & ~max_tail) - 1, out)
                _split_same_length(hi & ~max_tail, hi, out)
                return
    out.append(tuple(zip(a, b)))


def codepoint_ranges(ranges: list[tuple[int, int]]) -> Node:
    """Any one character whose code point lies in one of the inclusive ``ranges``."""
    parts: list[tuple[tuple[int, int], ...]] = []
    for lo, hi in ranges:
        pieces = [(lo, hi)]
        if lo <= _SURROGATES[1] and hi >= _SURROGATES[0]:
            pieces = [(lo, _SURROGATES[0] - 1), (_SURROGATES[1] + 1, hi)]
        for plo, phi in pieces:
            start = plo
            for limit in _LENGTH_LIMITS:
                if start > phi:
                    break
                if start <= limit:
                    end = min(phi, limit)
                    if start <= end:
                        _split_same_length(start, end, parts)
                    start = limit + 1
    return _sharing_ends(parts)


def _sharing_ends(sequences: list[tuple[tuple[int, int], ...]]) -> Node:
    """The union of byte-range sequences, those that end alike written once around their
    common end: ``(E0 [A0-BF] | [E1-EC] [80-BF]) [80-BF]``. As a plain union every
    sequence had states of its own, which determinisation kept apart (11 states more than
    the minimal DFA of each JSON string, in every string of a slot)."""
    heads: dict[tuple[int, int], list[tuple[tuple[int, int], ...]]] = {}
    for sequence in sequences:
        heads.setdefault(sequence[-1], []).append(sequence[:-1])
    options = []
    for (lo, hi), before in heads.items():
        longer = [h for h in before if h]
        lead = [_sharing_ends(longer)] if longer else []
        if len(longer) < len(before):
            lead.append(EPSILON)
        options.append(seq(alt(*lead), byte_range(lo, hi)))
    return alt(*options)


def complement_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Code points (0..0x10FFFF) not in ``ranges``."""
    out, prev = [], 0
    for lo, hi in sorted(ranges):
        if lo > prev:
            out.append((prev, lo - 1))
        prev = max(prev, hi + 1)
    if prev <= MAX_CODEPOINT:
        out.append((prev, MAX_CODEPOINT))
    return out
