"""Fine-tune the default model's diffusion adapter: ``python -m constrained.training.train``.

The recipe is the AR-to-diffusion one (DiffuLLaMA, Dream): bidirectional attention over the
canvas, the pretrained head kept with its shift, a mask token, and the random-ratio masking
loss (each canvas view masks its open positions with probability t ~ U(0, 1); masked
cross-entropy weighted 1/t). The prompt is encoded with the adapter off, as at inference,
and each document is seen under several masked views for one prompt encoding.

Sized for a 2-core CPU in the background: a LoRA adapter (a few MB, what ships), bf16
autocast where the CPU has it, a checkpoint every few minutes and ``--resume`` by default.
On a GPU (``--device cuda``) batches are built by ``--workers`` processes (compiling each
example's schema is CPU work) and ``--minutes`` bounds the run, the learning-rate schedule
following the time spent.
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

BASE_NAME = "HuggingFaceTB/SmolLM2-135M-Instruct"      # what the packaged GGUF holds
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
               pad_id: int, rng: np.random.Generator, cut_share: float = 0.5):
    """Prompts, masked canvases (B*views, C), targets, loss weights and the canvas padding mask.

    ``cut_share`` of the examples lay strings too long for their first slot out cut to it
    (see :mod:`.targets`), the others in the slot the sampler regrows."""
    prompts, rows = [], []
    for e in examples:
        template = api.compile(e.schema, vocab, tokens_per_char=AdaptedCausalBackend.tokens_per_char)
        built = target_canvas(template, e.answer, tokenizer, cut=rng.random() < cut_share)
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


class BatchStream(torch.utils.data.IterableDataset):
    """Endless training batches; each DataLoader worker builds its own, seeded apart."""

    def __init__(self, vocab, tokenizer, batch_size: int, views: int, mask_id: int, pad_id: int,
                 seed: int, receipt_share: float, tasks) -> None:
        super().__init__()
        self.vocab, self.tokenizer, self.batch_size, self.views = vocab, tokenizer, batch_size, views
        self.mask_id, self.pad_id, self.seed, self.receipt_share, self.tasks = mask_id, pad_id, seed, receipt_share, tasks

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        seed = self.seed * 1009 + (info.id if info is not None else 0)
        stream, rng = example_stream(seed, self.receipt_share, self.tasks), np.random.default_rng(seed)
        while True:
            batch = make_batch([next(stream) for _ in range(self.batch_size)], self.vocab, self.tokenizer,
                               self.views, self.mask_id, self.pad_id, rng)
            if batch is not None:
                yield batch


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
          bf16: bool | None = None, base=None, tasks=None, progress: bool = True, device: str | None = None,
          workers: int = 0, minutes: float | None = None) -> Path:
    """Train (or resume) an adapter in ``out``; returns the adapter directory.

    The run ends after ``steps`` steps or ``minutes`` of training, whichever comes first; the
    learning rate follows whichever of the two is further along."""
    from peft import PeftModel, set_peft_model_state_dict
    from safetensors.torch import load_file
    if threads:
        torch.set_num_threads(threads)
    model, tokenizer, mask_id = base if base is not None else load_base()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else mask_id
    device = torch.device(device) if device else next(model.parameters()).device
    model.to(device)
    bf16 = bf16_is_fast() if bf16 is None else bf16
    model = add_adapter(model, rank) if not isinstance(model, PeftModel) else model
    vocab = TokenVocabulary.from_tokenizer(tokenizer, size=head(model).out_features)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0, fused=True)
    out.mkdir(parents=True, exist_ok=True)
    adapter_dir, state_file = out / "adapter", out / "trainer.pt"
    start, spent = 0, 0.0
    if state_file.exists():                       # resume
        set_peft_model_state_dict(model, load_file(adapter_dir / "adapter_model.safetensors"))
        saved = torch.load(state_file, weights_only=False)
        optimizer.load_state_dict(saved["optimizer"])
        start, spent = saved["step"], saved.get("seconds", 0.0)
    batches = iter(torch.utils.data.DataLoader(
        BatchStream(vocab, tokenizer, batch_size, views, mask_id, pad_id, seed + start, receipt_share, tasks),
        batch_size=None, num_workers=workers, prefetch_factor=4 if workers else None))
    warmup = min(50, steps // 10 + 1)
    budget = minutes * 60 if minutes else math.inf
    schedule = lambda s, t: min(1.0, (s + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * max(s / steps, t / budget))))
    log = (out / "log.jsonl").open("a")
    bar = _progress(start, steps, progress)
    model.train()
    step, began = start, time.perf_counter() - spent
    while step < steps and time.perf_counter() - began < budget:
        batch = next(batches)
        for group in optimizer.param_groups:
            group["lr"] = lr * schedule(step, time.perf_counter() - began)
        t0 = time.perf_counter()
        loss = loss_on(model, tokenizer, batch, pad_id, device, bf16)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        step += 1
        log.write(json.dumps({"step": step, "loss": round(loss.item(), 4),
                              "seconds": round(time.perf_counter() - t0, 3), "time": time.time()}) + "\n")
        log.flush()
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}")
        if step % save_every == 0:
            _save(model, optimizer, step, time.perf_counter() - began, adapter_dir, state_file)
    if step > start and step % save_every:       # steps ran since the last checkpoint
        _save(model, optimizer, step, time.perf_counter() - began, adapter_dir, state_file)
    bar.close()
    log.close()
    return adapter_dir


def _save(model, optimizer, step: int, seconds: float, adapter_dir: Path, state_file: Path) -> None:
    """Write the adapter and trainer state atomically enough to resume after a kill."""
    tmp = adapter_dir.with_name(adapter_dir.name + ".tmp")
    model.save_pretrained(tmp)
    torch.save({"optimizer": optimizer.state_dict(), "step": step, "seconds": seconds}, state_file.with_suffix(".tmp"))
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
    p.add_argument("--device", default=None, help="e.g. cuda (default: where the base model loads, the CPU)")
    p.add_argument("--workers", type=int, default=0, help="processes building batches (0: the training one)")
    p.add_argument("--minutes", type=float, default=None, help="stop after this much training time")
    p.add_argument("--ship", action="store_true", help=f"copy the final adapter to {ADAPTER_DIR}")
    a = p.parse_args(argv)
    adapter = train(a.out, a.steps, a.batch_size, a.views, a.lr, a.rank, a.receipt_share, a.seed,
                    a.save_every, a.threads, device=a.device, workers=a.workers, minutes=a.minutes)
    if a.ship:
        ship(adapter)


def ship(adapter: Path) -> None:
    """Copy an adapter into the package, in bf16 (half the bytes; the base stays fp32)."""
    from safetensors.torch import load_file, save_file
    ADAPTER_DIR.mkdir(parents=True, exist_ok=True)
    tensors = load_file(adapter / "adapter_model.safetensors")
    save_file({k: v.to(torch.bfloat16) for k, v in tensors.items()}, ADAPTER_DIR / "adapter_model.safetensors")
    config = json.loads((adapter / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = BASE_NAME          # not the training machine's cache path
    (ADAPTER_DIR / "adapter_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
