"""CanvasTemplate: the canvas laid out for one (spec, vocabulary) pair.

Fixed text is spelled with the vocabulary's exact tokens and pinned; each slot becomes a
region of open positions driven by a :class:`TokenAutomaton`. A region's language is the
slot's value followed by JSON whitespace, so a value shorter than its budget pads with
spaces instead of being cut, and positions whose exact mask is a single token are pinned
up front (they are skeleton too, just discovered rather than written).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .automaton.dfa import compile_dfa
from .automaton.regex import Node, byteset, min_length, seq, star
from .compile.json_schema import Part, Slot
from .errors import CanvasTooSmallError, UnsatisfiableSchemaError
from .masks import MaskTable
from .token_automaton import TokenAutomaton
from .vocabulary import TokenVocabulary

WHITESPACE = byteset(b" \n\t\r")
TOKENS_PER_CHAR = 0.5      # slot sizing: generous for real vocabularies (~3-4 chars/token)


@dataclass
class Region:
    start: int
    length: int
    automaton: TokenAutomaton
    pointer: str


_AUTOMATA: dict[tuple[Node, str], TokenAutomaton] = {}


def _automaton(node: Node, vocab: TokenVocabulary, pointer: str = "#") -> TokenAutomaton:
    key = (node, vocab.content_hash)
    a = _AUTOMATA.get(key)
    if a is None:
        dfa = compile_dfa(seq(node, star(WHITESPACE)))
        if dfa.is_empty():
            raise UnsatisfiableSchemaError("no JSON value satisfies the schema here", pointer)
        a = _AUTOMATA[key] = TokenAutomaton(dfa, vocab)
    return a


class CanvasTemplate:
    """Pinned tokens (``tokens[i] >= 0``), open positions (``-1``) and their regions."""

    def __init__(self, tokens: np.ndarray, regions: list[Region], vocab: TokenVocabulary) -> None:
        self.tokens = tokens
        self.regions = regions
        self.vocab = vocab
        self.masks = MaskTable(vocab.size)
        self.region_of = np.full(len(tokens), -1, np.int32)
        for r, region in enumerate(regions):
            self.region_of[region.start: region.start + region.length] = r

    @property
    def length(self) -> int:
        return len(self.tokens)

    @property
    def n_pinned(self) -> int:
        return int((self.tokens >= 0).sum())

    @classmethod
    def build(cls, parts: list[Part], vocab: TokenVocabulary, max_tokens: int = 2048,
              tokens_per_char: float = TOKENS_PER_CHAR) -> "CanvasTemplate":
        merged: list[Part] = []
        for p in parts:
            if isinstance(p, str) and merged and isinstance(merged[-1], str):
                merged[-1] += p
            else:
                merged.append(p)
        _check_room(merged, vocab, max_tokens)
        pieces: list[tuple[list[int], Slot | None, TokenAutomaton | None, int]] = []
        for p in merged:
            if isinstance(p, str):
                pieces.append((vocab.tokenize_exact(p), None, None, 0))
                continue
            a = _automaton(p.node, vocab, p.pointer)
            least = a.min_tokens()
            if least is None:
                raise CanvasTooSmallError(f"the vocabulary cannot spell any value for {p.pointer}")
            if p.literals:
                wanted = max(len(vocab.tokenize_exact(t)) for t in p.literals)
            else:
                wanted = math.ceil(p.chars * tokens_per_char)
            pieces.append(([], p, a, max(least, wanted)))
        fixed = sum(len(ids) for ids, *_ in pieces)
        least_total = fixed + sum(a.min_tokens() for _, s, a, _ in pieces if a is not None)
        if least_total > max_tokens:
            raise CanvasTooSmallError(
                f"the shortest valid output needs {least_total} tokens but the canvas allows {max_tokens}; "
                "raise max_tokens or relax minLength/minItems")
        total = fixed + sum(k for *_, k in pieces)
        if total > max_tokens:      # shrink the slack of every slot proportionally
            scale = (max_tokens - least_total) / (total - least_total)
            pieces = [(ids, s, a, k if a is None else a.min_tokens() + int((k - a.min_tokens()) * scale))
                      for ids, s, a, k in pieces]
        tokens: list[int] = []
        regions: list[Region] = []
        for ids, slot, a, k in pieces:
            if a is None:
                tokens.extend(ids)
                continue
            k = _feasible_length(a, k, slot.pointer)
            regions.append(Region(len(tokens), k, a, slot.pointer))
            tokens.extend([-1] * k)
        template = cls(np.array(tokens, np.int64), regions, vocab)
        template._pin_forced()
        return template

    def _pin_forced(self) -> None:
        """Commit every open position whose exact mask admits a single token, to a fixpoint."""
        from .canvas import CanvasState
        state = CanvasState(self)
        changed = True
        while changed:
            changed = False
            open_pos = state.open_positions()
            for pos, row in zip(open_pos, state.mask_rows(open_pos)):
                if self.masks.count(row) == 1 and state.commit(int(pos), int(self.masks.allowed_ids(row)[0])):
                    changed = True
        self.tokens = state.tokens


def _check_room(parts: list[Part], vocab: TokenVocabulary, max_tokens: int) -> None:
    """Fail fast, before building automata, when even the longest tokens cannot fit."""
    widest = int(vocab.byte_matrix[1][vocab.generable].max())
    least = 0
    for p in parts:
        n_bytes = len(p.encode()) if isinstance(p, str) else (min_length(p.node) or 0)
        least += math.ceil(n_bytes / widest)
    if least > max_tokens:
        raise CanvasTooSmallError(
            f"the shortest valid output needs at least {least} tokens but the canvas allows {max_tokens}; "
            "raise max_tokens or relax minLength/minItems")


def _feasible_length(a: TokenAutomaton, k: int, pointer: str) -> int:
    """Smallest length ≥ k at which the region can be filled exactly (whitespace may be missing)."""
    states = a.start
    for length in range(k + 64):
        if length >= k and (states & a.accept).any():
            return length
        states = a.forward_open(states)
    raise CanvasTooSmallError(f"no way to fill a slot of {k} tokens at {pointer} with this vocabulary")
