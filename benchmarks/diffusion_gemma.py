"""DiffusionGemma, side by side in one run on the same random model and canvas:

  1. step time of our constrained sampler vs the same loop with the constraint machinery
     switched off (no masks, no commit checks), and the overhead share;
  2. forwards per object: our sampler vs the stock unconstrained ``generate``.

    .venv/bin/python benchmarks/diffusion_gemma.py [--vocab 262144 --hidden 256 --canvas 256]

Defaults are a small CPU config; the flags give real vocabulary/canvas sizes (random
weights are fine for timing). On a GPU pass --device cuda.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_generate_valid import Receipt  # noqa: E402

import constrained  # noqa: E402
from constrained.backends.diffusion_gemma import DiffusionGemmaBackend  # noqa: E402
from constrained.backends.tiny import build_tokenizer, random_diffusion_gemma  # noqa: E402
from constrained.kernels import masked_pick  # noqa: E402


def big_tokenizer(vocab: int):
    """The tiny BPE tokenizer padded with filler tokens up to ``vocab`` entries."""
    tok = build_tokenizer("byte_level")
    if vocab > len(tok):
        tok = build_tokenizer.__wrapped__("byte_level")
        tok.add_tokens([f"<filler{i}>" for i in range(vocab - len(tok))])
    return tok


def unconstrained_step_ms(backend, prompt_state, canvas_len: int, steps: int) -> float:
    """The same forward (open rows only, noise, self-conditioning) with no masks or checks."""
    L = backend.block_length
    canvas = torch.full((1, canvas_len), -1, dtype=torch.long)
    backend.start_block(prompt_state, canvas, 0)
    open_pos = [torch.arange(min(L, canvas_len))]
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        noise = [torch.randint(backend.vocab.size, (len(open_pos[0]),))]
        logits = backend.logits(prompt_state, canvas, open_pos, noise)
        masked_pick(logits, 0.0)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", type=int, default=0, help="pad the vocabulary to this size")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--canvas", type=int, default=32)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(1)
    tok = big_tokenizer(args.vocab)
    model = random_diffusion_gemma(tok, canvas_length=args.canvas)
    if args.hidden != 64:
        from transformers import DiffusionGemmaForBlockDiffusion
        cfg = model.config
        cfg.text_config.hidden_size = args.hidden
        cfg.text_config.intermediate_size = 2 * args.hidden
        torch.manual_seed(0)
        model = DiffusionGemmaForBlockDiffusion(cfg).eval()
    backend = DiffusionGemmaBackend(model, tok, device=args.device)
    print(f"machine: {os.cpu_count()} cores, 1 torch thread, device {args.device}, load avg {os.getloadavg()[0]:.2f}; "
          f"DiffusionGemma random: vocab {backend.vocab.size}, hidden {args.hidden}, canvas {args.canvas}")
    gen = constrained.Generator(Receipt, backend, entropy_bound=0.1, grow_rounds=0)
    prompt = "Extract the receipt: ACME STORE, 12 Main St, 2024-03-05, total 12.50"
    gen(prompt, seed=0, temperature=0.8)      # warm-up: kernel builds and caches are not a step's cost
    ours = []
    for seed in range(args.runs):
        gen(prompt, seed=seed, temperature=0.8)
        ours.append(gen.last_stats)
    step_ms = statistics.mean(s.total_seconds / s.forwards for s in ours) * 1e3
    model_ms = statistics.mean(s.model_seconds / s.forwards for s in ours) * 1e3
    plain_ms = unconstrained_step_ms(backend, backend.encode([prompt]), gen.template.length, 5)
    fwd_ours = statistics.mean(s.forwards for s in ours)
    print(f"canvas: {gen.template.length} tokens, {gen.template.n_pinned} pinned, "
          f"{-(-gen.template.length // backend.block_length)} block(s)")
    print(f"step time, constrained (ours):        {step_ms:8.2f} ms  (model forward {model_ms:.2f} ms)")
    print(f"step time, no constraint machinery:   {plain_ms:8.2f} ms")
    print(f"overhead share of our step:           {100 * (step_ms - model_ms) / step_ms:8.1f} %")
    ids = tok(prompt, return_tensors="pt").input_ids.to(args.device)
    stock = []
    for seed in range(args.runs):
        torch.manual_seed(seed)
        out = model.generate(ids, max_new_tokens=gen.template.length, max_denoising_steps=48,
                             eos_token_id=tok.sep_token_id, pad_token_id=tok.pad_token_id)
        new = out.sequences.shape[1] - ids.shape[1]
        stock.append(new / float(out.tokens_per_forward[0]))
    print(f"forwards per object, ours:            {fwd_ours:8.1f}  ({statistics.mean(s.tokens_per_forward for s in ours):.1f} tokens/forward)")
    print(f"forwards per object, stock generate:  {statistics.mean(stock):8.1f}  (unconstrained, same canvas length)")


if __name__ == "__main__":
    main()
