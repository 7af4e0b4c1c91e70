"""Spine figures, side by side in one run: compile time, forwards per object, tokens
committed per forward, and the share of step time spent outside the model forward.

    .venv/bin/python benchmarks/spine.py [--real-tokenizers]

The model is the built-in random tiny masked LM (its forward is ~1 ms, so the overhead
share here is an upper bound: real models' forwards are 10-1000x longer). With
``--real-tokenizers`` compile time is also measured on ../shared/data/tokenizers.
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
from test_generate_valid import Person, Receipt, Tree  # noqa: E402

import constrained  # noqa: E402
from constrained import template as template_module  # noqa: E402
from constrained.automaton import dfa as dfa_module  # noqa: E402
from constrained.backends.tiny import random_backend  # noqa: E402
from constrained.compile.json_schema import SchemaCompiler  # noqa: E402
from constrained.template import CanvasTemplate  # noqa: E402
from constrained.vocabulary import TokenVocabulary  # noqa: E402

SCHEMAS = {
    "Receipt": Receipt.model_json_schema(),
    "Person": Person.model_json_schema(),
    "Tree": Tree.model_json_schema(),
    "flat-enum": {"type": "object", "properties": {"status": {"enum": ["open", "closed", "pending"]},
                                                   "count": {"type": "integer", "minimum": 0, "maximum": 999}},
                  "required": ["status", "count"]},
}
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "tokenizers"


def cold_compile(schema, vocab) -> float:
    dfa_module.clear_caches()
    template_module._AUTOMATA.clear()
    t0 = time.perf_counter()
    CanvasTemplate.build(SchemaCompiler(schema).layout(), vocab)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--real-tokenizers", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    backend = random_backend()
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__}, 1 thread; "
          f"load avg {os.getloadavg()[0]:.2f}; model: random tiny ModernBERT, vocab {backend.vocab.size}")
    print(f"{'schema':<10} {'compile s':>9} {'canvas':>6} {'pinned':>6} {'forwards':>8} {'tok/fwd':>7} "
          f"{'step ms':>7} {'model ms':>8} {'outside %':>9}")
    for name, schema in SCHEMAS.items():
        compile_s = cold_compile(schema, backend.vocab)
        g = constrained.Generator(schema, backend, steps=8)
        stats = []
        for seed in range(args.runs):
            g("Extract the record from this document.", seed=seed, temperature=1.0)
            stats.append(g.last_stats)
        fwd = statistics.mean(s.forwards for s in stats)
        tpf = statistics.mean(s.tokens_per_forward for s in stats)
        step = statistics.mean(s.total_seconds / s.forwards for s in stats) * 1e3
        model = statistics.mean(s.model_seconds / s.forwards for s in stats) * 1e3
        share = statistics.mean(s.overhead_share for s in stats) * 100
        print(f"{name:<10} {compile_s:>9.3f} {g.template.length:>6} {g.template.n_pinned:>6} {fwd:>8.1f} "
              f"{tpf:>7.1f} {step:>7.2f} {model:>8.2f} {share:>8.1f}%")
    if args.real_tokenizers:
        from transformers import PreTrainedTokenizerFast
        print("\ncold compile time (s) on real vocabularies")
        for tok_dir in sorted(SHARED.glob("*/tokenizer.json")):
            t0 = time.perf_counter()
            vocab = TokenVocabulary.from_tokenizer(PreTrainedTokenizerFast(tokenizer_file=str(tok_dir)))
            analysis = time.perf_counter() - t0
            times = {n: cold_compile(s, vocab) for n, s in SCHEMAS.items()}
            print(f"{tok_dir.parent.name:<14} vocab {vocab.size:>6}  analysis {analysis:6.2f}  " +
                  "  ".join(f"{n} {t:.2f}" for n, t in times.items()))


if __name__ == "__main__":
    main()
