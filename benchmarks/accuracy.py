"""Accuracy of the default model on documents it never saw, constrained and unconstrained.

    python benchmarks/accuracy.py [--adapter DIR] [--receipts N] [--synthetic N] [--free N] [--tuning]

Sets: the held-out fifth of the SROIE receipts (``../shared/data/sroie``; skipped with a
message when absent) and synthetic documents from domains and a document style that
training never used. Metric: field exact match, case- and whitespace-insensitive, over the
schema's fields. Also seconds per document (one process, this CPU), forward passes, tokens
committed per forward, and the same model decoding the same canvas length *unconstrained*
(free generation of JSON): parse rate, schema validity, field match.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
import warnings

import jsonschema
import torch

import constrained
from constrained.embedded_model import ADAPTER_DIR, load_default
from constrained.prompt import instruction
from constrained.training import receipts, synthetic


def normal(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return " ".join(text.lower().split())


def field_matches(schema: dict, got, gold, spaced=normal) -> list[bool]:
    got = got if isinstance(got, dict) else {}
    return [spaced(got.get(k)) == spaced(gold.get(k)) for k in schema.get("properties", {})]


def unspaced(value) -> str:
    """Also blind to where spaces stand: SROIE's labels and OCR text often disagree there
    ("NO: 28,JALAN" against "NO: 28, JALAN"). Reported beside the metric, not instead of it."""
    return "".join(normal(value).split())


def constrained_run(backend, example, sampling: dict):
    """(output, seconds, stats, the settings it ran with: the Generator resolves the model's defaults)."""
    g = constrained.Generator(example.schema, backend, **sampling)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = g(example.document)
    return out, time.perf_counter() - t0, g.last_stats, g.config


@torch.no_grad()
def free_run(backend, example, length: int, steps: int):
    """The same model and schedule with no constraint: every position open, argmax, by confidence."""
    state = backend.encode([instruction(example.schema, example.document)])
    canvas = torch.full((1, length), -1, dtype=torch.long)
    for step in range(steps):
        open_ = torch.nonzero(canvas[0] < 0).flatten()
        if not len(open_):
            break
        logits = backend.logits(state, canvas, [open_])
        probs = torch.softmax(logits, -1)
        conf, tokens = probs.max(-1)
        quota = math.ceil(len(open_) / (steps - step))
        for j in torch.argsort(conf, descending=True)[:quota].tolist():
            canvas[0, open_[j]] = tokens[j]
    text = backend.tokenizer.decode(canvas[0].tolist(), skip_special_tokens=True).strip()
    try:
        value, _ = json.JSONDecoder().raw_decode(text[text.index("{"):] if "{" in text else text)
    except (ValueError, json.JSONDecodeError):
        return None
    return value


def evaluate(name: str, backend, examples, sampling: dict, free: int) -> dict:
    matches, unspaced_matches, seconds, forwards, per_forward, regrown, config = [], [], [], [], [], 0, None
    free_parsed = free_valid = 0
    free_matches = []
    for i, e in enumerate(examples):
        out, dt, stats, config = constrained_run(backend, e, sampling)
        value = json.loads(json.dumps(out, default=str)) if not hasattr(out, "model_dump") else out.model_dump(mode="json")
        matches.append(field_matches(e.schema, value, e.answer))
        unspaced_matches.append(field_matches(e.schema, value, e.answer, unspaced))
        seconds.append(dt)
        forwards.append(stats.forwards)
        per_forward.append(stats.tokens_per_forward)
        regrown += stats.regrown
        if i < free:
            length = constrained.compile(e.schema, backend.vocab).length
            got = free_run(backend, e, length, config.steps)
            free_parsed += got is not None
            free_valid += got is not None and jsonschema.Draft202012Validator(e.schema).is_valid(got)
            free_matches.append(field_matches(e.schema, got, e.answer))
    fields = [m for row in matches for m in row]
    row = {
        "set": name, "documents": len(examples), "steps": config and config.steps, "copy": config and config.copy,
        "field_match": sum(fields) / max(1, len(fields)),
        "field_match_ignoring_space_positions": sum(map(sum, unspaced_matches)) / max(1, len(fields)),
        "all_fields_right": sum(all(r) for r in matches) / max(1, len(matches)),
        "s_per_doc_median": statistics.median(seconds), "s_per_doc_p90": sorted(seconds)[int(0.9 * (len(seconds) - 1))],
        "forwards_median": statistics.median(forwards), "tokens_per_forward": statistics.mean(per_forward),
        "slots_regrown": regrown,
    }
    if free:
        ff = [m for r in free_matches for m in r]
        row.update(free_documents=len(free_matches), free_parse=free_parsed / len(free_matches),
                   free_valid=free_valid / len(free_matches), free_field_match=sum(ff) / max(1, len(ff)))
    if examples and examples[0].source.startswith("sroie"):
        keys = list(examples[0].schema["properties"])
        row["per_field"] = {k: sum(m[i] for m in matches) / len(matches) for i, k in enumerate(keys)}
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--adapter", default=str(ADAPTER_DIR))
    p.add_argument("--receipts", type=int, default=1000, help="at most this many held-out receipts")
    p.add_argument("--synthetic", type=int, default=60, help="documents per unseen synthetic set")
    p.add_argument("--free", type=int, default=20, help="documents per set also decoded unconstrained")
    p.add_argument("--steps", type=int, default=None, help="default: the model's own default")
    p.add_argument("--threshold", type=float, default=None, help="also commit positions at least this likely")
    p.add_argument("--copy", type=float, default=None,
                   help="copy-draft share (0 turns drafts off; default: the model's own default)")
    p.add_argument("--tuning", action="store_true",
                   help="measure on training-side documents instead (SROIE training receipts, synthetic "
                        "training domains and styles): choose settings here, report on the held-out sets")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bf16", choices=["auto", "on", "off"], default="auto")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    backend = load_default(a.adapter, bf16=None if a.bf16 == "auto" else a.bf16 == "on")
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, torch "
          f"{torch.__version__}, {a.threads} threads, bf16 {backend.bf16}; load avg "
          f"{os.getloadavg()[0]:.2f}; adapter {a.adapter}; threshold {a.threshold}; copy {a.copy}")
    sampling = {"threshold": a.threshold, **({"steps": a.steps} if a.steps else {}),
                **({"copy": a.copy or None} if a.copy is not None else {})}
    held = receipts.load(held_out=not a.tuning)[: a.receipts]
    sets = []
    if held:
        sets.append((f"SROIE {'training' if a.tuning else 'held-out'} receipts", held))
    else:
        print(f"SROIE data not found at {receipts.DATA}: receipts skipped")
    train_styles = [s for s in synthetic.STYLES if s not in synthetic.HELD_OUT_STYLES]
    if a.tuning:
        sets.append(("synthetic, training domains and styles", synthetic.examples(a.synthetic, 779)))
    else:
        sets += [("synthetic, unseen domains", synthetic.examples(a.synthetic, 777, synthetic.HELD_OUT_DOMAINS,
                                                                  train_styles)),
                 ("synthetic, unseen style", synthetic.examples(a.synthetic, 778, None, synthetic.HELD_OUT_STYLES))]
    for name, examples in sets:
        row = evaluate(name, backend, examples, sampling, min(a.free, len(examples)))
        print(json.dumps(row, default=lambda x: round(x, 3)))


if __name__ == "__main__":
    main()
