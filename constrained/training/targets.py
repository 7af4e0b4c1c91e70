"""Training targets: the canvas the sampler would ideally produce for a known answer.

The answer is laid out on the very template inference uses (same skeleton, same slot
lengths, regrown the same way when a value does not fit), with each value spelled by the
tokenizer's own encoding and padded with spaces. Every token is committed through a
:class:`CanvasState`, so a target is valid by the same exact check the sampler applies;
an answer the template cannot hold gives ``None`` and is skipped.

A string too long for its first slot can instead be *cut*: its start fills the slot to the
last position. That is what inference needs to see first (a full slot is what makes the
sampler regrow it), where a target grown in advance would teach that values always fit.
"""
from __future__ import annotations

import json

import numpy as np

from ..canvas import CanvasState
from ..template import CanvasTemplate

MAX_GROWTH = 4


def answer_text(value) -> str:
    """The answer in the compiler's canonical spelling (``, `` and ``: `` separators)."""
    return json.dumps(value, ensure_ascii=False)


def target_canvas(template: CanvasTemplate, value, tokenizer,
                  cut: bool = False) -> tuple[CanvasTemplate, np.ndarray] | None:
    """(template, token ids) spelling ``value``; the template is grown where a value needs it,
    or, with ``cut``, strings that overflow their slot fill it with their start."""
    text = answer_text(value).encode()
    if cut:
        tokens, _ = _spell(template, text, tokenizer, cut=True)
        if tokens is not None:
            return template, tokens
    for _ in range(MAX_GROWTH + 1):
        tokens, short = _spell(template, text, tokenizer)
        if tokens is not None:
            return template, tokens
        if not short:
            return None
        template = template.grown(short)
        if template is None:
            return None
    return None


def _spell(template: CanvasTemplate, text: bytes, tokenizer,
           cut: bool = False) -> tuple[np.ndarray | None, list[int]]:
    """Token ids for ``text`` on ``template``, or (None, regions too short to hold their value)."""
    vocab, fixed = template.vocab, template.tokens
    out = fixed.copy()
    cursor, pos, short = 0, 0, []
    space = vocab.tokenize_exact(" ")[0]
    n = template.length
    while pos < n:
        r = int(template.region_of[pos])
        if r < 0:
            piece = vocab.decode([int(fixed[pos])])
            if not text.startswith(piece, cursor):
                return None, []
            cursor += len(piece)
            pos += 1
            continue
        region = template.regions[r]
        end = region.start + region.length
        after = _skeleton_after(template, end)
        if after:
            stop = text.find(after, cursor)
        elif end < template.length:         # another region follows: its value starts where ours ends
            stop = _longest_match(region.automaton.dfa, text, cursor)
        else:
            stop = len(text)
        if stop < 0:
            return None, []
        spelled = _spell_region(fixed[region.start:end], text[cursor:stop], tokenizer, vocab, space, cut)
        if spelled is None:
            return None, []
        if isinstance(spelled, str):
            short.append(r)
        else:
            out[region.start:end] = spelled
        cursor, pos = stop, end
    if short:
        return None, short
    if cursor != len(text):
        return None, []
    state = CanvasState(template)
    for p in state.open_positions():
        if not state.commit(int(p), int(out[p])):
            return None, []
    return out, []


def _longest_match(dfa, text: bytes, cursor: int) -> int:
    """End of the longest prefix of ``text[cursor:]`` the region's language accepts (-1: none)."""
    for stop in range(len(text), cursor - 1, -1):
        if dfa.matches(text[cursor:stop]):
            return stop
    return -1


def _skeleton_after(template: CanvasTemplate, pos: int) -> bytes:
    """The pinned text that follows position ``pos`` up to the next region."""
    ids = []
    while pos < template.length and template.region_of[pos] < 0:
        ids.append(int(template.tokens[pos]))
        pos += 1
    return template.vocab.decode(ids) if ids else b""


def _spell_region(fixed: np.ndarray, content: bytes, tokenizer, vocab, space: int, cut: bool = False):
    """Fill a region's open positions with ``content`` (pinned positions must match), padding
    the tail with spaces; "short" when the content needs more positions than there are
    (unless ``cut`` and the region is one open run holding a string: then its start)."""
    out = fixed.copy()
    pos, cursor = 0, 0
    while pos < len(fixed):
        if fixed[pos] >= 0:
            piece = vocab.decode([int(fixed[pos])])
            if not content.startswith(piece, cursor):
                if cursor == len(content) and piece.strip() == b"":
                    pos += 1
                    continue
                return None
            cursor += len(piece)
            pos += 1
            continue
        run_end = pos
        while run_end < len(fixed) and fixed[run_end] < 0:
            run_end += 1
        if run_end < len(fixed):            # content up to the next pinned token
            nxt = vocab.decode([int(fixed[run_end])])
            stop = content.find(nxt, cursor) if cursor < len(content) else cursor
            stop = len(content) if stop < 0 else stop
        else:
            stop = len(content)
        piece = content[cursor:stop].decode("utf-8", errors="strict") if stop > cursor else ""
        ids = tokenizer.encode(piece, add_special_tokens=False) if piece else []
        if len(ids) > run_end - pos:
            cut_ids = _cut_string(content, len(fixed), tokenizer) if cut and (fixed < 0).all() else None
            return "short" if cut_ids is None else np.array(cut_ids, dtype=fixed.dtype)
        out[pos:pos + len(ids)] = ids
        out[pos + len(ids):run_end] = space
        cursor, pos = stop, run_end
    return out if cursor == len(content) else None


def _cut_string(content: bytes, room: int, tokenizer) -> list[int] | None:
    """Ids of the longest start of the JSON string ``content`` whose spelling (quotes
    included) takes exactly ``room`` tokens; None if ``content`` is no string or none does."""
    try:
        value = json.loads(content)
    except ValueError:
        return None
    if not isinstance(value, str):
        return None
    spell = lambda k: tokenizer.encode(answer_text(value[:k]), add_special_tokens=False)
    lo, hi = 0, len(value)              # the longest k whose spelling fits: token counts grow with k
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if len(spell(mid)) <= room else (lo, mid - 1)
    ids = spell(lo)
    return ids if len(ids) == room else None
