"""Coverage on real-world schemas (JSONSchemaBench): how many compile, and whether every output
validates. Prints per split: compiled / refused (typed error) / crashed (untyped exception) /
invalid outputs, and compile-time percentiles.

    .venv/bin/python benchmarks/coverage.py [--per-split 20] [--seeds 2] [--sample-seed 0] [--tokenizer gpt2-50k]
    .venv/bin/python benchmarks/coverage.py --suite draft2020-12     # JSON-Schema-Test-Suite instead

Uses the random tiny masked model (validity never depends on the model). With --tokenizer,
compile time is measured on that real vocabulary instead (no generation).
"""
from __future__ import annotations

import argparse
import collections
import os
import signal
import statistics
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
import jsonschema  # noqa: E402
import torch  # noqa: E402

import constrained  # noqa: E402
from bench_data import SPLITS, load_tokenizer, require, sample, suite  # noqa: E402
from constrained.backends.tiny import random_backend  # noqa: E402


class Timeout(Exception):
    pass


_armed = False


def _alarm(signum, frame):
    if _armed:                 # a late signal after the work ended is ignored
        raise Timeout()


def _arm(seconds: int) -> None:
    global _armed
    _armed = seconds > 0
    signal.alarm(seconds)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-split", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=20)
    ap.add_argument("--sample-seed", type=int, default=0, help="which schemas are drawn from each split")
    ap.add_argument("--tokenizer", default=None)
    ap.add_argument("--suite", default=None, help="a JSON-Schema-Test-Suite draft, e.g. draft2020-12")
    args = ap.parse_args()
    require("json-schema-test-suite" if args.suite else "jsonschemabench")
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    backend = random_backend()
    vocab = backend.vocab
    if args.tokenizer:
        vocab = load_tokenizer(args.tokenizer)[1]
    signal.signal(signal.SIGALRM, _alarm)
    print(f"machine: {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.2f}; vocab {vocab.size}; "
          f"{args.per_split} schemas per split (sample seed {args.sample_seed}), {args.seeds} seeds each, "
          f"timeout {args.timeout}s")
    print(f"{'split':<16} {'n':>3} {'ok':>4} {'refused':>7} {'timeout':>7} {'crash':>5} {'invalid':>7} "
          f"{'p50 s':>6} {'p95 s':>6}")
    totals = collections.Counter()
    reasons = collections.Counter()
    crashes, timeouts = [], []
    groups = [(args.suite, suite(args.suite))] if args.suite else [(s, sample(s, args.per_split, args.sample_seed)) for s in SPLITS]
    for split, rows in groups:
        counts = collections.Counter()
        times = []
        for row in rows:
            schema = row["schema"]
            _arm(args.timeout)
            try:
                t0 = time.perf_counter()
                if args.tokenizer:
                    constrained.compile(schema, vocab)
                    times.append(time.perf_counter() - t0)
                    counts["ok"] += 1
                    continue
                g = constrained.Generator(schema, backend, steps=4)
                times.append(time.perf_counter() - t0)
                validator = jsonschema.validators.validator_for(schema)(
                    schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
                bad = 0
                for seed in range(args.seeds):
                    bad += not validator.is_valid(g("Fill in the record.", seed=seed, temperature=1.0))
                counts["invalid" if bad else "ok"] += 1
                if bad:
                    crashes.append((row["id"], "INVALID OUTPUT"))
            except Timeout:
                _arm(0)
                counts["timeout"] += 1
                timeouts.append(row["id"])
            except constrained.ConstrainedError as exc:
                _arm(0)
                counts["refused"] += 1
                reasons[f"{type(exc).__name__}: {getattr(exc, 'keyword', '') or str(exc)[:50]}"] += 1
            except Exception as exc:  # noqa: BLE001 - the point is to count these
                _arm(0)
                counts["crash"] += 1
                crashes.append((row["id"], f"{type(exc).__name__}: {str(exc)[:120]}"))
            finally:
                _arm(0)
        totals.update(counts)
        n = sum(counts.values())
        p50 = statistics.median(times) if times else float("nan")
        p95 = sorted(times)[int(0.95 * (len(times) - 1))] if times else float("nan")
        print(f"{split:<16} {n:>3} {counts['ok']:>4} {counts['refused']:>7} {counts['timeout']:>7} "
              f"{counts['crash']:>5} {counts['invalid']:>7} {p50:>6.2f} {p95:>6.2f}")
    n = sum(totals.values())
    print(f"{'ALL':<16} {n:>3} {totals['ok']:>4} {totals['refused']:>7} {totals['timeout']:>7} "
          f"{totals['crash']:>5} {totals['invalid']:>7}   coverage {100 * totals['ok'] / max(1, n):.1f}%")
    print("\nmost common refusals:")
    for reason, count in reasons.most_common(12):
        print(f"  {count:>3}  {reason}")
    if timeouts:
        print(f"\ntimed out: {', '.join(timeouts)}")
    if crashes:
        print("\ncrashes and invalid outputs:")
        for sid, what in crashes:
            print(f"  {sid}: {what}")


if __name__ == "__main__":
    main()
