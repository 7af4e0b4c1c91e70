"""The denoising loop: run the model, mask, pick, commit only what keeps the canvas valid.

Each step the model scores every open position; exact masks remove tokens that cannot be
part of a valid output; positions are ranked by confidence and committed one after the
other, each re-checked against the constraint state left by the commits before it (two
tokens that are each allowed may not be allowed together). The most confident position
always commits, so every step makes progress and the loop ends.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from .backends.base import Backend
from .canvas import CanvasState
from .drafting import CopyDrafter
from .errors import SlotFullWarning
from .kernels import apply_token_bitmask_inplace, masked_pick
from .spans import SpanDrafter
from .template import CanvasTemplate


SMALL_MASK = 1024   # masks allowing at most this many tokens get logits for those tokens only


@dataclass
class SamplingConfig:
    """How many positions to commit per step and how to pick tokens.

    steps: target number of denoising steps; each step commits ceil(open / steps left).
    threshold: if set, also commit every position whose probability is at least this.
    temperature: 0 picks the most likely allowed token; > 0 samples.
    entropy_bound: if set, commit like DiffusionGemma's sampler instead: the lowest-entropy
        positions whose entropies (all but the largest) sum to at most this.
    grow_rounds: how many times a value that filled its whole slot is regenerated in a
        slot twice as long (never cut silently: a value still full after that warns).
    spread: a position next to one committed in the same step waits for the next step
        unless its probability is at least this (None: no such rule). Neighbours decided
        together are guessed independently ("2000000", "Baker Baker"); waiting a step lets
        the second see the first. Within the last planned step nothing waits.
    copy: if set, copy drafts (:mod:`constrained.drafting`) are taken where the model gives
        the drafted token at least this share of its favourite's probability (None: no drafts).
    spans: if set, a value still wholly open is drafted as the best stretch of the document
        (:mod:`constrained.spans`) where that stretch has, per position, at least this share
        of the favourites' probability (geometric mean); begun so, it grows step by step.
    """
    steps: int = 8
    threshold: float | None = None
    temperature: float = 0.0
    seed: int | None = None
    grow_rounds: int = 2
    entropy_bound: float | None = None
    spread: float | None = 0.9
    copy: float | None = None
    spans: float | None = None

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError("steps must be at least 1")
        if self.threshold is not None and not 0.0 < self.threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0")
        if self.entropy_bound is not None and self.entropy_bound < 0:
            raise ValueError("entropy_bound must be >= 0")
        if self.grow_rounds < 0:
            raise ValueError("grow_rounds must be >= 0")
        if self.spread is not None and not 0.0 <= self.spread <= 1.0:
            raise ValueError("spread must be in [0, 1]")
        if self.copy is not None and not 0.0 < self.copy <= 1.0:
            raise ValueError("copy must be in (0, 1]")
        if self.spans is not None and not 0.0 < self.spans <= 1.0:
            raise ValueError("spans must be in (0, 1]")


@dataclass
class DenoiseStats:
    forwards: int = 0
    committed: int = 0           # tokens committed by the sampler (not the pinned skeleton)
    pinned: int = 0
    model_seconds: float = 0.0
    total_seconds: float = 0.0
    per_step_commits: list[int] = field(default_factory=list)
    regrown: int = 0             # slots regenerated with more room

    def add(self, other: "DenoiseStats") -> None:
        self.forwards += other.forwards
        self.committed += other.committed
        self.model_seconds += other.model_seconds
        self.total_seconds += other.total_seconds
        self.per_step_commits += other.per_step_commits

    @property
    def tokens_per_forward(self) -> float:
        return self.committed / max(1, self.forwards)

    @property
    def overhead_share(self) -> float:
        """Share of loop time spent outside the model forward."""
        return 1.0 - self.model_seconds / self.total_seconds if self.total_seconds else 0.0


def fill(template: CanvasTemplate, backend: Backend, prompts: list[str],
         config: SamplingConfig, documents: list[str] | None = None) -> list[tuple[CanvasState, DenoiseStats]]:
    """Denoise one canvas per prompt in lockstep (one forward per step for the batch), then
    regenerate, prompt by prompt, values that ran out of room in longer slots. Drafts copy
    from ``documents`` (default: the prompts), not from the instruction around them."""
    states = [CanvasState(template) for _ in prompts]
    first_open = max(1, len(states[0].open_positions()))
    drafters = [Drafters.for_prompt(backend.tokenizer, p, config) for p in documents or prompts] \
        if config.copy or config.spans else None
    results = list(zip(states, denoise(states, backend, backend.encode(prompts), config, drafters)))
    for b, prompt in enumerate(prompts):
        state, stats = results[b]
        full, encoded = state.full_regions(), None
        for _ in range(config.grow_rounds):
            bigger = state.template.grown(full) if full else None
            if bigger is None:
                break
            encoded = encoded if encoded is not None else backend.encode([prompt])
            state = state.moved_to(bigger, full)
            # Reopened values get steps in proportion to their share of the canvas: the
            # same commit rate as the first pass, not a whole second pass.
            steps = max(2, math.ceil(config.steps * len(state.open_positions()) / first_open))
            stats.add(denoise([state], backend, encoded, replace(config, steps=min(steps, config.steps)),
                              drafters and [drafters[b]])[0])
            stats.regrown += len(full)
            full = state.full_regions()
        if full:
            pointers = ", ".join(state.template.regions[r].pointer for r in full)
            warnings.warn(SlotFullWarning(f"values at {pointers} filled their whole slot and may be cut short; "
                                          "raise max_tokens or grow_rounds"), stacklevel=3)
        results[b] = (state, stats)
    return results


def _commit_order(conf: torch.Tensor, entropy: torch.Tensor, n_open: int, step: int,
                  config: SamplingConfig) -> tuple[list[int], int]:
    """Candidate rows in the order to try, and how many commits this step wants."""
    if config.entropy_bound is not None:
        # DiffusionGemma's rule: the k lowest-entropy positions whose entropies, all but the
        # largest, sum to at most the bound (at least one).
        order = torch.argsort(entropy).tolist()
        before = torch.cumsum(entropy[order], 0) - entropy[order]
        return order, max(1, int((before <= config.entropy_bound).sum()))
    quota = math.ceil(n_open / max(1, config.steps - step))
    if config.threshold is not None:
        quota = max(quota, int((conf >= config.threshold).sum()))
    return torch.argsort(conf, descending=True).tolist(), quota


def _noise(template: CanvasTemplate, rows, rng: torch.Generator) -> torch.Tensor:
    """A uniformly random allowed token for each open position (uniform-state re-noising)."""
    def draw(n: int) -> int:
        return int(torch.randint(n, (1,), generator=rng))
    return torch.tensor([template.masks.random_allowed(row, draw) for row in rows.tolist()], dtype=torch.long)


def denoise(states: list[CanvasState], backend: Backend, prompt_state,
            config: SamplingConfig, drafters: list["Drafters"] | None = None) -> list[DenoiseStats]:
    """Commit tokens at every open position of each state (in place), block by block.

    All states share one template; each forward serves the whole batch.
    """
    template = states[0].template
    stats = [DenoiseStats(pinned=template.n_pinned) for _ in states]
    generator = torch.Generator(device="cpu")
    if config.seed is None:
        generator.seed()
    else:
        generator.manual_seed(config.seed)
    block = backend.block_length or template.length
    started = time.perf_counter()
    for start in range(0, template.length, block):
        backend.start_block(prompt_state, _canvases(states), start)
        step = 0
        while True:
            opens = []
            for state in states:
                o = state.open_positions()
                opens.append(o[(o >= start) & (o < start + block)])
            if not any(len(o) for o in opens):
                break
            rows = [torch.from_numpy(s.mask_rows(o)) for s, o in zip(states, opens)]
            noise = [_noise(template, r, generator) for r in rows] if backend.needs_noise else None
            flat_rows = torch.cat(rows)
            small = {j: torch.from_numpy(template.masks.allowed_ids(int(r))) for j, r in enumerate(flat_rows.tolist())
                     if template.masks.count(int(r)) <= SMALL_MASK}
            t0 = time.perf_counter()
            logits = backend.logits(prompt_state, _canvases(states), [torch.from_numpy(o) for o in opens], noise, small)
            if logits.is_cuda:
                torch.cuda.synchronize()
            model_seconds = time.perf_counter() - t0
            apply_token_bitmask_inplace(logits, template.masks.tensor(logits.device), flat_rows.to(logits.device))
            tokens, conf, entropy = (t.cpu() for t in masked_pick(logits, config.temperature, generator))
            offset = 0
            for b, (state, o, st) in enumerate(zip(states, opens, stats)):
                n = len(o)
                if not n:
                    continue
                sl = slice(offset, offset + n)
                offset += n
                order, quota = _commit_order(conf[sl], entropy[sl], n, step, config)
                now, confidence = set(), conf[sl].tolist()
                copied = 0
                held: set[int] = set()
                if drafters:
                    row_of = _open_rows(o)
                    if drafters[b].spans is not None:
                        copied += _take_spans(state, drafters[b].spans, row_of, logits[sl], config.spans, now, held)
                    if drafters[b].copy is not None:
                        copied += _take_drafts(state, drafters[b].copy, row_of, logits[sl], config.copy, now, held)
                done = 0
                spread = config.spread if step < config.steps - 1 else None
                for j in order:
                    if done >= quota:
                        break
                    pos = int(o[j])
                    if pos in held:
                        continue
                    if done and spread is not None and (pos - 1 in now or pos + 1 in now) and confidence[j] < spread:
                        continue
                    if state.commit(pos, int(tokens[sl][j])):
                        done += 1
                        now.add(pos)
                st.forwards += 1
                st.model_seconds += model_seconds
                st.committed += done + copied
                st.per_step_commits.append(done + copied)
            step += 1
    elapsed = time.perf_counter() - started
    for st in stats:
        st.total_seconds = elapsed
    return stats


@dataclass
class Drafters:
    """One prompt's draft sources, as the config asks for them."""
    copy: CopyDrafter | None
    spans: SpanDrafter | None

    @classmethod
    def for_prompt(cls, tokenizer, prompt: str, config: SamplingConfig) -> "Drafters":
        return cls(CopyDrafter.for_prompt(tokenizer, prompt) if config.copy else None,
                   SpanDrafter.for_prompt(tokenizer, prompt) if config.spans else None)


def _open_rows(opens: np.ndarray) -> dict[int, int]:
    """Each open position's row in the step's logits (dict order: the positions' order)."""
    return {int(p): j for j, p in enumerate(opens.tolist())}


def _take_spans(state: CanvasState, drafter: SpanDrafter, row_of: dict[int, int], logits: torch.Tensor,
                share: float, now: set[int], held: set[int]) -> int:
    """Grow each value as a stretch of the document (see :mod:`constrained.spans`); returns tokens committed.

    A value still wholly open takes the best stretch's words (not its end) where that stretch
    keeps at least ``share`` of the favourites' probability per position. A value begun so
    takes, each step, the best stretch that starts with its words: more words, or the end and
    padding once no longer stretch beats it. Positions of values handled so go into ``held``,
    which the step's other commits leave alone (they would fix the value's length early).
    """
    template = state.template
    pad = template.vocab.tokenize_exact(" ")[0]
    taken = 0
    for region in template.regions:
        span = np.arange(region.start, region.start + region.length)
        written = state.tokens[span]
        free = span[written < 0]
        if region.literal or not len(free) or any(int(p) not in row_of for p in free):
            continue
        rows = torch.tensor([row_of[int(p)] for p in free], device=logits.device)
        found = drafter.best(torch.log_softmax(logits[rows].float(), -1), free - region.start, written, pad,
                             template.vocab.byte_matrix[0][:, 0])
        if found is None:
            continue
        tokens, gap, cut = found
        begun = ((written >= 0) & (template.tokens[span] < 0)).any()     # past the skeleton's own tokens
        if not begun and gap < math.log(share):
            continue
        content = np.nonzero(tokens != pad)[0]
        if cut:                       # runs past the slot: all but the last position, which must close
            end = len(tokens) - 1
        elif begun and not (written[content[:-1]] < 0).any():
            end = len(tokens)         # nothing longer wins: close and pad
        else:
            end = int(content[-1])    # its words; the next step sees them and decides the end
        before = taken
        for p in free[free < region.start + end].tolist():
            if not state.commit(p, int(tokens[p - region.start])):
                break
            now.add(p)
            taken += 1
        if taken > before:        # a stretch that could not be written leaves the value to the model
            held.update(free.tolist())
    return taken


def _take_drafts(state: CanvasState, drafter: CopyDrafter, row_of: dict[int, int], logits: torch.Tensor,
                 ratio: float, now: set[int], held: set[int]) -> int:
    """Commit copy-draft tokens after every committed run inside a value, left to right while
    each gets at least ``ratio`` of the best allowed token's probability; returns how many.
    Values span drafts are growing (``held``) are theirs to end."""
    template, tokens = state.template, state.tokens
    floor = math.log(ratio)
    taken = 0
    for p in row_of:
        r = int(template.region_of[p])
        region = template.regions[r]
        if region.literal or p == region.start or tokens[p - 1] < 0 or tokens[p] >= 0 or p in held:
            continue
        first = p
        while first > region.start and tokens[first - 1] >= 0 and p - first < drafter.ngram:
            first -= 1
        end = region.start + region.length
        for q, t in zip(range(p, end), drafter.propose(tokens[first:p]).tolist()):
            if tokens[q] >= 0 or q not in row_of:      # committed, or past this canvas block
                break
            row = logits[row_of[q]]          # a probability ratio is a logit difference: no softmax needed
            if float(row[t]) < float(row.max()) + floor or not state.commit(q, t):
                break
            now.add(q)
            taken += 1
    return taken


def _canvases(states: list[CanvasState]) -> torch.Tensor:
    return torch.from_numpy(np.stack([s.tokens for s in states]))
