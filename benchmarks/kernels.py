"""The on-device mask kernels beside their torch references, in one run, at real sizes.

    python benchmarks/kernels.py [--rows 256] [--vocab 262144] [--device cuda]

Per call: applying packed per-position masks to a canvas's logits (a table of distinct
masks plus a row index per position), the masked greedy pick with its probability and
entropy, and the logits of allowed tokens only (hidden · weight[ids]). On CUDA the Triton
kernels run; on the CPU both columns are the torch reference (Triton would be interpreted).
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from constrained.kernels import (allowed_logits, allowed_logits_torch, apply_token_bitmask_inplace,
                                 apply_token_bitmask_inplace_torch, masked_pick, masked_pick_torch)


def timed_ms(fn, device: str, repeats: int = 20) -> float:
    """Median milliseconds of ``fn()`` after a warm-up (synchronised on CUDA)."""
    fn()
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=256, help="open canvas positions per step")
    ap.add_argument("--vocab", type=int, default=262_144)
    ap.add_argument("--masks", type=int, default=64, help="distinct masks in the table")
    ap.add_argument("--hidden", type=int, default=640)
    ap.add_argument("--allowed", type=int, default=128, help="allowed tokens per row for allowed_logits")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    d = a.device
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(a.rows, a.vocab, generator=g).to(d)
    table = torch.randint(-2**31, 2**31 - 1, (a.masks, (a.vocab + 31) // 32), generator=g,
                          dtype=torch.int64).to(torch.int32).to(d)
    rows = torch.randint(0, a.masks, (a.rows,), generator=g).to(d)
    hidden = torch.randn(a.rows, a.hidden, generator=g).to(d)
    weight = torch.randn(a.vocab, a.hidden, generator=g).to(d)
    ids = torch.randint(0, a.vocab, (a.rows, a.allowed), generator=g).to(d)
    name = torch.cuda.get_device_name() if d == "cuda" else "CPU"
    print(f"device {name}; {a.rows} rows x vocab {a.vocab}, {a.masks} distinct masks, hidden {a.hidden}; "
          f"median ms per call")
    print(f"{'':38}{'kernel':>10}{'torch':>10}")
    work = logits.clone()                # masking is idempotent: repeated calls redo the same work
    cases = [
        ("apply packed masks (in place)", lambda: apply_token_bitmask_inplace(work, table, rows),
         lambda: apply_token_bitmask_inplace_torch(work, table, rows)),
        ("masked greedy pick + entropy", lambda: masked_pick(logits, 0.0), lambda: masked_pick_torch(logits, 0.0)),
        ("full logits hidden @ W.T", lambda: hidden @ weight.T, lambda: hidden @ weight.T),
        (f"allowed logits only ({a.allowed}/row)", lambda: allowed_logits(hidden, weight, ids),
         lambda: allowed_logits_torch(hidden, weight, ids)),
    ]
    for label, kernel, reference in cases:
        print(f"{label:38}{timed_ms(kernel, d):10.3f}{timed_ms(reference, d):10.3f}")


if __name__ == "__main__":
    main()
