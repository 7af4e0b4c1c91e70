"""Fine-tune the default model's diffusion adapter: ``python -m constrained.training.train``.

The recipe is the AR-to-diffusion one (DiffuLLaMA, Dream): bidirectional attention over the
canvas, the pretrained head kept with its shift, a mask token, and the random-ratio masking
loss (each canvas view masks its open positions with probability t ~ U(0, 1); masked
cross-entropy weighted 1/t). The prompt is encoded with the adapter off, as at inference,
and each document is seen under several masked views for one prompt encoding.

Sized for a 2-core CPU in the background: a LoRA adapter (a few MB, what ships), bf16
autocast where the CPU has it, a checkpoint every few minutes and ``--resume`` by default.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import torch

from .. import api
from ..backends.adapted_causal import (AdaptedCausalBackend, autocast, bf16_is_fast, canvas_hidden,
                                       encode_prompts, head, prompt_ids)
from ..embedded_model import ADAPTER_DIR, load_base
from ..prompt import instruction
from ..vocabulary import TokenVocabulary
from . import receipts, synthetic
from .examples import Example
from .targets import target_canvas

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def example_stream(seed: int, receipt_share: float, tasks: list[list[Example]] | None = None):
    """Endless training examples: real receipts (training part) mixed with synthetic ones."""
    r = random.Random(seed)
    real = receipts.load(held_out=False) if tasks is None else [e for t in tasks for e in t]
    block = 0
    while True:
        fake = synthetic.examples(256, seed * 100_003 + block)
        block += 1
        for e in fake:
            yield r.choice(real) if real and r.random() < receipt_share else e


def make_batch(examples: list[Example], vocab: TokenVocabulary, tokenizer, views: int, mask_id: int,
               pad_id: int, rng: np.random.Generator):
    """Prompts, masked canvases (B*views, C), targets, loss weights and the canvas padding mask."""
    prompts, rows = [], []
    for e in examples:
        template = api.compile(e.schema, vocab, tokens_per_char=AdaptedCausalBackend.tokens_per_char)
        built = target_canvas(template, e.answer, tokenizer)
        if built is None:
            continue
        template, tokens = built
        prompts.append(instruction(e.schema, e.document))
        rows.append((tokens, template.tokens < 0))
    if not rows:
        return None
    width = -(-max(len(t) for t, _ in rows) // 32) * 32     # few distinct shapes: kernels are built per shape
    n = len(rows) * views
    canvas = torch.full((n, width), pad_id, dtype=torch.long)
    target = torch.full((n, width), -100, dtype=torch.long)
    weight = torch.zeros(n, width)
    valid = torch.zeros(n, width, dtype=torch.bool)
    for i, (tokens, open_) in enumerate(rows):
        for v in range(views):
            k = i * views + v
            t = rng.uniform(0.02, 1.0)
            masked = open_ & (rng.random(len(tokens)) < t)
            if not masked.any() and open_.any():
                masked[rng.choice(np.nonzero(open_)[0])] = True
            canvas[k, :len(tokens)] = torch.from_numpy(np.where(masked, mask_id, tokens))
            target[k, :len(tokens)] = torch.from_numpy(np.where(masked, tokens, -100))
            weight[k, :len(tokens)] = torch.from_numpy(masked / t / max(1, open_.sum()))
            valid[k, :len(tokens)] = True
    return prompts, canvas, target, weight, valid


def loss_on(model, tokenizer, batch, pad_id: int, device, bf16: bool) -> torch.Tensor:
    prompts, canvas, target, weight, valid = batch
    with autocast(device, bf16):
        state = encode_prompts(model, prompt_ids(tokenizer, prompts), pad_id, device)
        hidden = canvas_hidden(model, state, canvas.to(device), valid.to(device))
        rows = target.to(device) >= 0
        logits = head(model)(hidden[rows]).float()
    ce = torch.nn.functional.cross_entropy(logits, target.to(device)[rows], reduction="none")
    return (ce * weight.to(device)[rows]).sum() / canvas.shape[0]


def add_adapter(model, rank: int):
    from peft import LoraConfig, get_peft_model
    config = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, target_modules=LORA_TARGETS)
    return get_peft_model(model, config)


def train(out: Path, steps: int, batch_size: int = 4, views: int = 2, lr: float = 3e-4, rank: int = 16,
          receipt_share: float = 0.4, seed: int = 0, save_every: int = 100, threads: int | None = None,
          bf16: bool | None = None, base=None, tasks=None, progress: bool = True) -> Path:
    """Train (or resume) an adapter in ``out``; returns the adapter directory."""
    from peft import PeftModel, set_peft_model_state_dict
    from safetensors.torch import load_file
    if threads:
        torch.set_num_threads(threads)
    model, tokenizer, mask_id = base if base is not None else load_base()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else mask_id
    bf16 = bf16_is_fast() if bf16 is None else bf16
    device = next(model.parameters()).device
    model = add_adapter(model, rank) if not isinstance(model, PeftModel) else model
    vocab = TokenVocabulary.from_tokenizer(tokenizer, size=head(model).out_features)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0, fused=True)
    out.mkdir(parents=True, exist_ok=True)
    adapter_dir, state_file = out / "adapter", out / "trainer.pt"
    start = 0
    if state_file.exists():                       # resume
        set_peft_model_state_dict(model, load_file(adapter_dir / "adapter_model.safetensors"))
        saved = torch.load(state_file, weights_only=False)
        optimizer.load_state_dict(saved["optimizer"])
        start = saved["step"]
    stream = example_stream(seed + start, receipt_share, tasks)
    rng = np.random.default_rng(seed + start)
    warmup = min(50, steps // 10 + 1)
    schedule = lambda s: min(1.0, (s + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * s / steps)))
    log = (out / "log.jsonl").open("a")
    bar = _progress(start, steps, progress)
    model.train()
    for step in range(start, steps):
        batch = make_batch([next(stream) for _ in range(batch_size)], vocab, tokenizer, views, mask_id, pad_id, rng)
        if batch is None:
            continue
        for group in optimizer.param_groups:
            group["lr"] = lr * schedule(step)
        t0 = time.perf_counter()
        loss = loss_on(model, tokenizer, batch, pad_id, device, bf16)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        log.write(json.dumps({"step": step + 1, "loss": round(loss.item(), 4),
                              "seconds": round(time.perf_counter() - t0, 3), "time": time.time()}) + "\n")
        log.flush()
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}")
        if (step + 1) % save_every == 0 or step + 1 == steps:
            _save(model, optimizer, step + 1, adapter_dir, state_file)
    bar.close()
    log.close()
    return adapter_dir


def _save(model, optimizer, step: int, adapter_dir: Path, state_file: Path) -> None:
    """Write the adapter and trainer state atomically enough to resume after a kill."""
    tmp = adapter_dir.with_name(adapter_dir.name + ".tmp")
    model.save_pretrained(tmp)
    torch.save({"optimizer": optimizer.state_dict(), "step": step}, state_file.with_suffix(".tmp"))
    if adapter_dir.exists():
        for f in adapter_dir.iterdir():
            f.unlink()
        adapter_dir.rmdir()
    tmp.rename(adapter_dir)
    state_file.with_suffix(".tmp").rename(state_file)


def _progress(start: int, total: int, enabled: bool):
    from tqdm import tqdm
    return tqdm(total=total, initial=start, disable=not enabled, desc="training", unit="step")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("runs/default-model"))
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--views", type=int, default=2)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--receipt-share", type=float, default=0.4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save-every", type=int, default=100)
    p.add_argument("--ship", action="store_true", help=f"copy the final adapter to {ADAPTER_DIR}")
    a = p.parse_args(argv)
    adapter = train(a.out, a.steps, a.batch_size, a.views, a.lr, a.rank, a.receipt_share, a.seed,
                    a.save_every, a.threads)
    if a.ship:
        ship(adapter)


def ship(adapter: Path) -> None:
    """Copy an adapter into the package, in bf16 (half the bytes; the base stays fp32)."""
    from safetensors.torch import load_file, save_file
    ADAPTER_DIR.mkdir(parents=True, exist_ok=True)
    tensors = load_file(adapter / "adapter_model.safetensors")
    save_file({k: v.to(torch.bfloat16) for k, v in tensors.items()}, ADAPTER_DIR / "adapter_model.safetensors")
    (ADAPTER_DIR / "adapter_config.json").write_text((adapter / "adapter_config.json").read_text())


if __name__ == "__main__":
    main()
