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
from dataclasses import dataclass, field

import torch

from .backends.base import Backend
from .canvas import CanvasState
from .errors import SlotFullWarning
from .kernels import apply_token_bitmask_inplace
from .template import CanvasTemplate


@dataclass
class SamplingConfig:
    """How many positions to commit per step and how to pick tokens.

    steps: target number of denoising steps; each step commits ceil(open / steps left).
    threshold: if set, also commit every position whose probability is at least this.
    temperature: 0 picks the most likely allowed token; > 0 samples.
    grow_rounds: how many times a value that filled its whole slot is regenerated in a
        slot twice as long (never cut silently: a value still full after that warns).
    """
    steps: int = 8
    threshold: float | None = None
    temperature: float = 0.0
    seed: int | None = None
    grow_rounds: int = 2

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError("steps must be at least 1")
        if self.threshold is not None and not 0.0 < self.threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0")
        if self.grow_rounds < 0:
            raise ValueError("grow_rounds must be >= 0")


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


def _pick(logits: torch.Tensor, temperature: float, generator: torch.Generator | None):
    """Token and its probability under the masked distribution, per row."""
    if temperature > 0:
        probs = torch.softmax(logits / temperature, dim=-1)
        tokens = torch.multinomial(probs, 1, generator=generator).squeeze(1)
    else:
        probs = torch.softmax(logits, dim=-1)
        tokens = probs.argmax(dim=-1)
    return tokens, probs.gather(1, tokens[:, None]).squeeze(1)


def fill(template: CanvasTemplate, backend: Backend, prompt_state, config: SamplingConfig) -> tuple[CanvasState, DenoiseStats]:
    """Denoise the whole canvas; regenerate values that ran out of room in longer slots."""
    state, stats = denoise(CanvasState(template), backend, prompt_state, config)
    for _ in range(config.grow_rounds):
        full = state.full_regions()
        bigger = state.template.grown(full) if full else None
        if bigger is None:
            break
        state, more = denoise(state.moved_to(bigger, full), backend, prompt_state, config)
        stats.add(more)
        stats.regrown += len(full)
    full = state.full_regions()
    if full:
        pointers = ", ".join(state.template.regions[r].pointer for r in full)
        warnings.warn(SlotFullWarning(f"values at {pointers} filled their whole slot and may be cut short; "
                                      "raise max_tokens or grow_rounds"), stacklevel=3)
    stats.pinned = template.n_pinned
    return state, stats


def denoise(state: CanvasState, backend: Backend, prompt_state, config: SamplingConfig) -> tuple[CanvasState, DenoiseStats]:
    """Commit tokens at every open position of ``state`` (in place)."""
    template = state.template
    stats = DenoiseStats(pinned=template.n_pinned)
    generator = None
    if config.seed is not None:
        generator = torch.Generator(device="cpu").manual_seed(config.seed)
    started = time.perf_counter()
    step = 0
    while not state.is_complete():
        open_pos = state.open_positions()
        rows = torch.from_numpy(state.mask_rows(open_pos))
        canvas = torch.from_numpy(state.tokens)
        positions = torch.from_numpy(open_pos)
        t0 = time.perf_counter()
        logits = backend.logits(prompt_state, canvas, positions)
        if logits.is_cuda:
            torch.cuda.synchronize()
        stats.model_seconds += time.perf_counter() - t0
        stats.forwards += 1
        apply_token_bitmask_inplace(logits, template.masks.tensor(logits.device), rows.to(logits.device))
        tokens, conf = _pick(logits.cpu(), config.temperature, generator)
        steps_left = max(1, config.steps - step)
        quota = math.ceil(len(open_pos) / steps_left)
        order = torch.argsort(conf, descending=True).tolist()
        done = 0
        for j in order:
            if done >= quota and not (config.threshold is not None and conf[j] >= config.threshold):
                break
            if state.commit(int(open_pos[j]), int(tokens[j])):
                done += 1
        stats.committed += done
        stats.per_step_commits.append(done)
        step += 1
    stats.total_seconds = time.perf_counter() - started
    return state, stats
