"""Narrower layouts for values too large for one automaton.

A slot's value is one regex, and some real schemas make it huge: long ``maxLength`` bounds
(counted loops cost a state per character), long ``maxItems`` arrays of objects (a copy of
the item per place), deep trees of optional members, mutually recursive ``$ref``s. Rather
than refuse such a schema, the compiler lays the offending slot out again one level
narrower. Every level only leaves out what the schema allows (longer strings, more items,
optional members, deeper recursion), so every output still validates: the model just
cannot produce some valid values there, and a warning says which slot. (Each level is
then a subset of the one before, but for one corner: ``uniqueItems`` arrays capped below
their distinct literals switch to the one-free-item form.)
"""
from __future__ import annotations

from dataclasses import dataclass

MAX_REF_DEPTH = 3          # how many times one $ref may recurse into itself


@dataclass(frozen=True)
class Narrowing:
    max_length: int | None = None       # strings: maxLength capped here
    max_items: int | None = None        # arrays: maxItems capped here (never below minItems)
    ref_depth: int = MAX_REF_DEPTH      # how many times one $ref may recurse into itself
    optional_depth: int | None = None   # objects/arrays nested deeper hold only what is required

    def string_max(self, lo: int, hi: int | None) -> int | None:
        """A string's maxLength here (an unbounded string has no counter to cut)."""
        if self.max_length is None or hi is None:
            return hi
        return max(lo, min(hi, self.max_length))

    def items_max(self, lo: int, hi: int | None, nest: int) -> int | None:
        """An array's maxItems here, ``nest`` objects/arrays deep in its slot (an unbounded
        array is a loop, no bigger than one item, unless its items are left out)."""
        if not self.keeps_optional(nest):
            return lo
        if self.max_items is None or hi is None:
            return hi
        return max(lo, min(hi, self.max_items))

    def keeps_optional(self, nest: int) -> bool:
        """Whether optional members and items ``nest`` objects/arrays deep are kept."""
        return self.optional_depth is None or nest <= self.optional_depth

    def describe(self) -> str:
        return (f"strings of at most {self.max_length} characters, arrays of at most {self.max_items} items "
                f"(or minItems), $refs followed {self.ref_depth} deep, optional members and items nested "
                f"over {self.optional_depth} deep left out")


FULL = Narrowing()
NARROWER = (
    Narrowing(max_length=256, max_items=16, ref_depth=2, optional_depth=3),
    Narrowing(max_length=64, max_items=4, ref_depth=1, optional_depth=1),
    Narrowing(max_length=32, max_items=1, ref_depth=1, optional_depth=0),
)
