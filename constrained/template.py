"""CanvasTemplate: the canvas laid out for one (spec, vocabulary) pair.

Fixed text is spelled with the vocabulary's exact tokens and pinned; each slot becomes a
region of open positions driven by a :class:`TokenAutomaton`. A region's language is the
slot's value followed by JSON whitespace, so a value shorter than its budget pads with
spaces instead of being cut, and positions whose exact mask is a single token are pinned
up front (they are skeleton too, just discovered rather than written).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .automaton.dfa import DFA, compile_dfa
from .automaton.regex import Node, byteset, min_length, seq, star, without_bounds_beyond
from .bounded_cache import BoundedCache
from .compile.json_schema import Part
from .errors import CanvasTooSmallError, SchemaTooComplexError, UnsatisfiableSchemaError
from .masks import MaskTable
from .token_automaton import TokenAutomaton, token_automata
from .vocabulary import TokenVocabulary

WHITESPACE = byteset(b" \n\t\r")
TOKENS_PER_CHAR = 0.5      # slot sizing: generous for real vocabularies (~3-4 chars/token)
MAX_SLOT_CHARS = 512       # slot sizing: a deep value's typical length counts every optional part at
                           # every level; past this a slot starts here and grows if its value fills it


@dataclass(frozen=True)
class Piece:
    """Fixed token ids, or a slot: an automaton over ``length`` open positions."""
    ids: tuple[int, ...] = ()
    automaton: TokenAutomaton | None = None
    length: int = 0
    pointer: str = "#"
    literal: bool = False        # a finite set of texts that always fits (enum, const, bool, null)


@dataclass
class Region:
    start: int
    length: int
    automaton: TokenAutomaton
    pointer: str
    literal: bool = False


_AUTOMATA: BoundedCache = BoundedCache(256)          # (regex, vocabulary) -> token automaton


def _automaton(node: Node, vocab: TokenVocabulary, pointer: str = "#", max_tokens: int | None = None,
               refused: dict | None = None) -> TokenAutomaton:
    """The slot's automaton, cached; a length bound no ``max_tokens`` canvas could reach is dropped.
    ``refused`` keeps why automata were too large (per compile: a narrower layout may leave
    a slot as it was, and its walk ran for seconds before failing)."""
    key = _slot_key(node, vocab, max_tokens)
    a = _AUTOMATA.get(key)
    if a is None:
        try:
            if refused is not None and key in refused:
                raise SchemaTooComplexError(refused[key])
            dfa = _slot_dfa(key)
            if dfa.is_empty():
                raise UnsatisfiableSchemaError("no JSON value satisfies the schema here", pointer)
            a = _AUTOMATA[key] = TokenAutomaton(dfa, vocab)
        except SchemaTooComplexError as exc:       # name the slot, so that it can be narrowed
            if refused is not None:
                refused[key] = exc.message
            raise SchemaTooComplexError(exc.message, pointer) from None
    return a


def _slot_key(node: Node, vocab: TokenVocabulary, max_tokens: int | None) -> tuple:
    """(the slot's regex, less length bounds no ``max_tokens`` canvas could reach; the vocabulary)."""
    if max_tokens is not None:
        node = without_bounds_beyond(node, max_tokens * vocab.widest)
    return node, vocab.content_hash


def _slot_dfa(key: tuple) -> DFA:
    """The DFA of what a slot's region holds: its value (``key``'s regex), then whitespace."""
    return compile_dfa(seq(key[0], star(WHITESPACE)))


def _read_together(parts: list[Part], vocab: TokenVocabulary, max_tokens: int, refused: dict) -> None:
    """Cache the automata of the slots not built yet, their small DFAs read off the
    vocabulary in one walk (``token_automata``); the rest, and any error, are left to
    ``_automaton``, slot by slot. A DFA refused as too large is remembered in ``refused``,
    and ends the reading: the layout fails there, and is narrowed before what follows."""
    wanted: dict[tuple, DFA] = {}
    for p in parts:
        if isinstance(p, str):
            continue
        key = _slot_key(p.node, vocab, max_tokens)
        if key in _AUTOMATA or key in refused or key in wanted:
            continue
        try:
            dfa = _slot_dfa(key)
        except SchemaTooComplexError as exc:
            refused[key] = exc.message
            break
        if not dfa.is_empty():           # else the error is ``_automaton``'s to raise
            wanted[key] = dfa
    for key, a in zip(wanted, token_automata(list(wanted.values()), vocab)):
        if a is not None:
            _AUTOMATA[key] = a


class CanvasTemplate:
    """Pinned tokens (``tokens[i] >= 0``), open positions (``-1``) and their regions."""

    def __init__(self, pieces: list[Piece], vocab: TokenVocabulary, max_tokens: int,
                 masks: MaskTable | None = None) -> None:
        self.pieces = pieces
        self.vocab = vocab
        self.max_tokens = max_tokens
        self.masks = masks if masks is not None else MaskTable(vocab.size)
        tokens: list[int] = []
        self.regions: list[Region] = []
        for p in pieces:
            if p.automaton is None:
                tokens.extend(p.ids)
            else:
                self.regions.append(Region(len(tokens), p.length, p.automaton, p.pointer, p.literal))
                tokens.extend([-1] * p.length)
        self.tokens = np.array(tokens, np.int64)
        self.region_of = np.full(len(tokens), -1, np.int32)
        for r, region in enumerate(self.regions):
            self.region_of[region.start: region.start + region.length] = r
        self._pin_forced()

    @property
    def length(self) -> int:
        return len(self.tokens)

    @property
    def n_pinned(self) -> int:
        return int((self.tokens >= 0).sum())

    @classmethod
    def build(cls, parts: list[Part], vocab: TokenVocabulary, max_tokens: int = 2048,
              tokens_per_char: float = TOKENS_PER_CHAR, refused: dict | None = None) -> "CanvasTemplate":
        """The template of ``parts``; ``refused`` collects automata refused as too large (see
        ``_automaton``), for layouts of the same schema tried after this one."""
        merged: list[Part] = []
        for p in parts:
            if isinstance(p, str) and merged and isinstance(merged[-1], str):
                merged[-1] += p
            else:
                merged.append(p)
        _check_room(merged, vocab, max_tokens)
        refused = {} if refused is None else refused
        _read_together(merged, vocab, max_tokens, refused)
        pieces: list[Piece] = []
        least: list[int] = []
        for p in merged:
            if isinstance(p, str):
                pieces.append(Piece(ids=tuple(vocab.tokenize_exact(p))))
                least.append(len(pieces[-1].ids))
                continue
            a = _automaton(p.node, vocab, p.pointer, max_tokens, refused)
            fewest = a.min_tokens()
            if fewest is None:
                raise CanvasTooSmallError(f"the vocabulary cannot spell any value for {p.pointer}")
            if p.literals:
                wanted = max(len(vocab.tokenize_exact(t)) for t in p.literals)
            else:
                wanted = math.ceil(min(p.chars, MAX_SLOT_CHARS) * tokens_per_char)
            pieces.append(Piece(automaton=a, length=max(fewest, wanted), pointer=p.pointer, literal=bool(p.literals)))
            least.append(fewest)
        if sum(least) > max_tokens:
            raise CanvasTooSmallError(
                f"the shortest valid output needs {sum(least)} tokens but the canvas allows {max_tokens}; "
                "raise max_tokens or relax minLength/minItems")
        total = sum(p.length if p.automaton else len(p.ids) for p in pieces)
        if total > max_tokens:      # shrink the slack of every slot proportionally
            scale = (max_tokens - sum(least)) / (total - sum(least))
            pieces = [replace(p, length=lo + int((p.length - lo) * scale)) if p.automaton else p
                      for p, lo in zip(pieces, least)]
        pieces = [replace(p, length=_feasible_length(p.automaton, p.length, p.pointer)) if p.automaton else p
                  for p in pieces]
        return cls(pieces, vocab, max_tokens)

    def grown(self, regions: list[int], factor: int = 2) -> "CanvasTemplate | None":
        """The same template with the given regions ``factor`` times longer (None if no room)."""
        extra = {r: self.regions[r].length * (factor - 1) for r in regions}
        room = self.max_tokens - self.length
        if room <= 0:
            return None
        scale = min(1.0, room / sum(extra.values()))
        pieces, r = [], 0
        for p in self.pieces:
            if p.automaton is not None:
                if r in extra:
                    want = p.length + max(1, int(extra[r] * scale))
                    p = replace(p, length=_feasible_length(p.automaton, want, p.pointer))
                r += 1
            pieces.append(p)
        return CanvasTemplate(pieces, self.vocab, self.max_tokens, self.masks)

    def _pin_forced(self) -> None:
        """Commit every open position whose exact mask admits a single token, to a fixpoint."""
        from .canvas import CanvasState
        state = CanvasState(self)
        while True:
            open_pos = state.open_positions()
            rows = state.mask_rows(open_pos)
            forced = np.array([self.masks.count(row) == 1 for row in rows], dtype=bool)
            if not forced.any():
                break
            state.pin(open_pos[forced], [int(self.masks.allowed_ids(row)[0]) for row in rows[forced]])
        self.tokens = state.tokens


def _check_room(parts: list[Part], vocab: TokenVocabulary, max_tokens: int) -> None:
    """Fail fast, before building automata, when even the longest tokens cannot fit."""
    widest = vocab.widest
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
    states = a.after_open(k)[-1]
    for length in range(k, k + 64):
        if (states & a.accept).any():
            return length
        states = a.forward_open(states)
    raise CanvasTooSmallError(f"no way to fill a slot of {k} tokens at {pointer} with this vocabulary")
