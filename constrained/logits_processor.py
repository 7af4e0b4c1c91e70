"""Our constraint inside DiffusionGemma's stock ``model.generate(...)``.

Stock generation re-decides every position at every step and returns the last argmax, and
a logits processor never sees the canvas. So this processor keeps its own canvas state:
each call it masks every position exactly, commits the most confident positions
(``ceil(open / steps left)``, or all at the last step), and lifts a jointly valid
completion of the rest to the top of each row. Whatever step generation stops at, the
argmax canvas is valid; positions past the template's end may only hold EOS.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .canvas import CanvasState
from .kernels import apply_token_bitmask_inplace
from .template import CanvasTemplate


class CanvasLogitsProcessor:
    def __init__(self, template: CanvasTemplate, prompt_length: int, eos_token_id: int, margin: float = 1.0) -> None:
        self.template = template
        self.state = CanvasState(template)
        self.prompt_length = prompt_length
        self.eos_token_id = eos_token_id
        self.margin = margin

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, cur_step) -> torch.FloatTensor:
        if scores.shape[0] != 1:
            raise ValueError("CanvasLogitsProcessor handles one sequence at a time")
        start, length = input_ids.shape[1] - self.prompt_length, scores.shape[1]
        self._accept_finished(input_ids[0, self.prompt_length:])
        rows = scores[0]
        end = min(start + length, self.template.length)
        if end < start + length:                       # past the output: EOS only
            rows[end - start:] = float("-inf")
            rows[end - start:, self.eos_token_id] = 0.0
        if end <= start:
            return scores
        positions = torch.arange(start, end)
        mask_rows = torch.from_numpy(self._rows(positions))
        apply_token_bitmask_inplace(rows[: end - start], self.template.masks.tensor(rows.device), mask_rows.to(rows.device))
        open_now = [p for p in positions.tolist() if self.state.tokens[p] < 0]
        steps_left = max(1, int(cur_step))
        best = rows[: end - start].max(dim=-1)
        order = sorted(open_now, key=lambda p: -float(best.values[p - start]))
        quota = len(open_now) if steps_left == 1 else math.ceil(len(open_now) / steps_left)
        committed = 0
        for p in order:
            if committed >= quota:
                break
            committed += self.state.commit(p, int(best.indices[p - start]))
        self._lift(rows, start, end, order, best.indices)
        return scores

    def _rows(self, positions: torch.Tensor):
        """Mask rows; committed positions get a single-token row."""
        open_rows = iter(self.state.mask_rows([p for p in positions.tolist() if self.state.tokens[p] < 0]).tolist())
        out = []
        for p in positions.tolist():
            tok = int(self.state.tokens[p])
            out.append(self.template.masks.single(tok) if tok >= 0 else next(open_rows))
        return np.array(out, np.int64)

    def _lift(self, rows: torch.Tensor, start: int, end: int, order: list[int], argmax: torch.Tensor) -> None:
        """Make each row's argmax a jointly valid completion of the canvas."""
        trial = CanvasState(self.template, self.state.tokens)
        for p in order:
            if trial.tokens[p] >= 0:
                continue
            tok = int(argmax[p - start])
            if not trial.commit(p, tok):
                row = trial.mask_rows([p])[0]
                allowed = torch.from_numpy(self.template.masks.allowed_ids(row))
                tok = int(allowed[rows[p - start, allowed].argmax()])
                trial.commit(p, tok)
        for p in range(start, end):
            tok = int(trial.tokens[p])
            rows[p - start, tok] = rows[p - start].max() + self.margin

    def _accept_finished(self, finished: torch.Tensor) -> None:
        """Tokens of blocks generate() already finished are the completions we lifted: commit them."""
        for p, tok in enumerate(finished.tolist()[: self.template.length]):
            if self.state.tokens[p] < 0:
                if not self.state.commit(p, tok):
                    raise RuntimeError(f"generate() finished position {p} with a token outside the constraint")
