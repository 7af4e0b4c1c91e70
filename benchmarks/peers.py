"""This project beside xgrammar, llguidance and outlines-core, in one run, on the same schemas
and the same real tokenizer.

    pip install -e '.[bench]'
    python benchmarks/peers.py [--per-split 10] [--tokenizer qwen3-151k] [--walks 2] [--budget 10]

Per engine and split: coverage (compiled within the budget and every random walk valid),
compile time p50/p95/p99, mask cost (peers: one vocabulary bitmask per token; ours: all
host-side constraint work of one denoising step over the whole canvas), constraint CPU per
object (compile + all mask work for one output), and invalid random-walk outputs. Walks pick
uniformly among allowed tokens (peers: end-of-sequence with p=0.5 once allowed, 1,000-token
cap; ours: 8 steps, each committing its quota of open positions). Validity is checked with
``jsonschema`` without asserting formats (the peers do not all enforce them). Each engine runs
in its own worker process under a memory cap; a schema over budget kills the worker (native
code included) and counts as a timeout.
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import multiprocessing
import os
import resource
import statistics
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
import jsonschema  # noqa: E402
import numpy as np  # noqa: E402

import constrained  # noqa: E402
from bench_data import SPLITS, load_tokenizer, require, sample  # noqa: E402
from constrained.canvas import CanvasState  # noqa: E402

MAX_WALK_TOKENS = 1000


class Ours:
    name = "constrained"

    def __init__(self, tokenizer, vocab):
        self.vocab = vocab

    def compile(self, schema):
        return constrained.compile(schema, self.vocab)

    def walk(self, template, rng, steps: int = 8):
        """A random canvas fill: (text, seconds of the sampler's host work per step).

        Timed: the mask rows of the open positions and the commits. The random picks stand
        in for the model (the sampler picks on the device) and are not timed.
        """
        state, times = CanvasState(template), []
        step = 0
        while True:
            t0 = time.perf_counter()
            open_ = state.open_positions()
            if not len(open_):
                break
            rows = state.mask_rows(open_)
            spent = time.perf_counter() - t0
            order = rng.permutation(len(open_))
            picks = [template.masks.random_allowed(int(rows[j]), lambda n: int(rng.integers(n))) for j in order]
            t0 = time.perf_counter()
            quota, done = math.ceil(len(open_) / max(1, steps - step)), 0
            for j, token in zip(order, picks):
                if done >= quota:
                    break
                done += state.commit(int(open_[j]), token)
            if not done:          # every pick clashed with an earlier commit this step: take a sure one
                pos = int(open_[0])
                row = state.mask_rows([pos])[0]
                state.commit(pos, int(template.masks.allowed_ids(int(row))[0]))
            times.append(spent + time.perf_counter() - t0)
            step += 1
        return state.text(), times, True


class TokenWalker:
    """Shared random walk for the token-by-token engines (subclasses wrap one matcher).

    As in ``../shared/notes/peers-measured.md``: whitespace-only tokens are skipped 90% of the
    time and 35% of steps pick among tokens holding one of ``"]},``, so walks end.
    """

    def __init__(self, tokenizer, vocab):
        self.vocab = vocab
        self.n = vocab.size
        self.eos = tokenizer.eos_token_id
        texts = [vocab.decode([i]) for i in range(self.n)]
        self.blank = np.array([t.strip() == b"" and t != b"" for t in texts])
        self.closing = np.array([any(c in t for c in b'"]},') for t in texts])

    def walk(self, compiled, rng):
        """(text, seconds per mask, ended at eos) of one random walk."""
        matcher = self.start(compiled)
        out, times = [], []
        for _ in range(MAX_WALK_TOKENS):
            t0 = time.perf_counter()
            allowed = self.allowed(matcher)
            times.append(time.perf_counter() - t0)
            eos_ok = self.eos < len(allowed) and allowed[self.eos]
            allowed = allowed[: self.n].copy()
            allowed[self.eos] = False
            if eos_ok and (rng.random() < 0.5 or not allowed.any()):
                return self.vocab.decode(out).decode("utf-8", errors="replace"), times, True
            if not allowed.any():
                break
            if rng.random() < 0.35 and (allowed & self.closing).any():
                allowed &= self.closing
            elif rng.random() < 0.9 and (allowed & ~self.blank).any():
                allowed &= ~self.blank
            ids = np.nonzero(allowed)[0]
            t = int(ids[rng.integers(len(ids))])
            self.advance(matcher, t)
            out.append(t)
        return self.vocab.decode(out).decode("utf-8", errors="replace"), times, False


class XGrammar(TokenWalker):
    name = "xgrammar"

    def __init__(self, tokenizer, vocab):
        super().__init__(tokenizer, vocab)
        import xgrammar as xgr
        self.xgr = xgr
        self.info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab.size, stop_token_ids=[self.eos])
        self.compiler = xgr.GrammarCompiler(self.info, max_threads=1, cache_enabled=False)

    def compile(self, schema):
        return self.compiler.compile_json_schema(json.dumps(schema))

    def start(self, compiled):
        self.mask = self.xgr.allocate_token_bitmask(1, self.info.vocab_size)
        return self.xgr.GrammarMatcher(compiled)

    def allowed(self, matcher):
        matcher.fill_next_token_bitmask(self.mask)
        return _unpack(self.mask.numpy()[0], self.n)

    def advance(self, matcher, t):
        matcher.accept_token(t)


class LLGuidance(TokenWalker):
    name = "llguidance"
    lenient = False

    def __init__(self, tokenizer, vocab):
        super().__init__(tokenizer, vocab)
        import llguidance
        import llguidance.hf
        import llguidance.numpy
        self.ll = llguidance
        self.tok = llguidance.hf.from_tokenizer(tokenizer, n_vocab=vocab.size, eos_token=self.eos)

    def compile(self, schema):
        options = {"coerce_one_of": True, "lenient": True} if self.lenient else None
        grammar = self.ll.LLMatcher.grammar_from_json_schema(schema, defaults=options)
        matcher = self.ll.LLMatcher(self.tok, grammar, log_level=0)
        if matcher.is_error():
            raise ValueError(matcher.get_error())
        return grammar

    def start(self, grammar):
        self.mask = self.ll.numpy.allocate_token_bitmask(1, self.tok.vocab_size)
        return self.ll.LLMatcher(self.tok, grammar, log_level=0)

    def allowed(self, matcher):
        self.ll.numpy.fill_next_token_bitmask(matcher, self.mask, 0)
        return _unpack(self.mask[0], self.n)

    def advance(self, matcher, t):
        matcher.consume_token(t)


class LLGuidanceLenient(LLGuidance):
    name = "llguidance-lenient"
    lenient = True


class OutlinesCore(TokenWalker):
    name = "outlines-core"

    def __init__(self, tokenizer, vocab):
        super().__init__(tokenizer, vocab)
        import outlines_core
        self.oc = outlines_core
        table = collections.defaultdict(list)
        for i in np.nonzero(vocab.generable)[0]:
            if int(i) != self.eos:
                table[vocab.decode([int(i)])].append(int(i))
        self.vocabulary = outlines_core.Vocabulary(self.eos, dict(table))

    def compile(self, schema):
        from outlines_core.json_schema import build_regex_from_schema
        return self.oc.Index(build_regex_from_schema(json.dumps(schema)), self.vocabulary)

    def start(self, index):
        self.mask = np.zeros((self.n + 31) // 32, np.int32)
        return self.oc.Guide(index)

    def allowed(self, guide):
        self.mask[:] = 0
        guide.write_mask_into(self.mask.ctypes.data, self.mask.size, 4)
        return _unpack(self.mask, self.n)

    def advance(self, guide, t):
        guide.advance(t)


ENGINES = {e.name: e for e in (Ours, LLGuidance, LLGuidanceLenient, XGrammar, OutlinesCore)}


def _unpack(words: np.ndarray, n: int) -> np.ndarray:
    return np.unpackbits(np.ascontiguousarray(words).view(np.uint8), bitorder="little")[:n].astype(bool)


def _pct(xs, q):
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def _one(engine, schema, walks: int, rng) -> dict:
    """Compile one schema and walk it: the measurements a worker sends back."""
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = engine.compile(schema)
    except Exception as exc:  # noqa: BLE001 - a refusal, typed or not, is "not covered" for every engine
        return {"refused": type(exc).__name__}
    took = time.perf_counter() - t0
    validator = jsonschema.validators.validator_for(schema)(schema)
    walked = []
    for _ in range(walks):
        text, times, ended = "", [], True
        try:
            text, times, ended = engine.walk(compiled, rng)
            good = validator.is_valid(json.loads(text))
        except Exception:  # noqa: BLE001 - unparsable or a crash mid-walk: an invalid output
            good = False
        walked.append({"valid": good, "capped": not ended, "mask": times, "text": text[:200]})
    return {"compile": took, "walks": walked}


def _worker(name: str, tokenizer_name: str, conn, walks: int, seed: int, memory_gb: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_gb << 30, memory_gb << 30))
    tokenizer, vocab = load_tokenizer(tokenizer_name)
    engine = ENGINES[name](tokenizer, vocab)
    rng = np.random.default_rng(seed)
    conn.send("ready")
    while (schema := conn.recv()) is not None:
        conn.send(_one(engine, schema, walks, rng))


class Worker:
    """One engine in a child process with a memory cap, killed when a schema runs over budget."""

    def __init__(self, name: str, a) -> None:
        self.name, self.a, self.proc = name, a, None

    def _start(self) -> None:
        ctx = multiprocessing.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(self.name, self.a.tokenizer, child, self.a.walks,
                                                      self.a.seed, self.a.memory_gb), daemon=True)
        self.proc.start()
        if not self.conn.poll(300) or self.conn.recv() != "ready":
            raise RuntimeError(f"{self.name}: worker did not start")

    def measure(self, schema) -> dict:
        if self.proc is None or not self.proc.is_alive():
            self._start()
        self.conn.send(schema)
        try:
            if self.conn.poll(self.a.budget + 60 * self.a.walks):
                return self.conn.recv()
            outcome = {"timeout": True}
        except EOFError:
            outcome = {"crashed": True}        # e.g. the memory cap: the engine died on this schema
        self.stop()
        return outcome

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.join()
            self.proc = None


def run(name: str, rows, a) -> dict:
    per_split = collections.defaultdict(collections.Counter)
    compile_s, mask_s, per_object, invalid, capped, examples = [], [], [], 0, 0, []
    worker = Worker(name, a)
    try:
        for row in rows:
            counts = per_split[row["split"]]
            counts["n"] += 1
            got = worker.measure(row["schema"])
            if "compile" not in got:
                counts["timeout" if got.get("timeout") else "crashed" if got.get("crashed") else "refused"] += 1
                continue
            if got["compile"] > a.budget:
                counts["timeout"] += 1
                continue
            compile_s.append(got["compile"])
            for w in got["walks"]:
                mask_s.extend(w["mask"])
                if w["capped"]:           # the walk never ended: neither valid nor invalid
                    capped += 1
                    continue
                per_object.append(got["compile"] + sum(w["mask"]))
                if not w["valid"]:
                    invalid += 1
                    examples.append((row["id"], w["text"]))
            counts["covered"] += all(w["valid"] or w["capped"] for w in got["walks"])
    finally:
        worker.stop()
    return {"splits": per_split, "compile": compile_s, "mask": mask_s, "object": per_object, "invalid": invalid,
            "capped": capped, "examples": examples}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-split", type=int, default=10)
    ap.add_argument("--tokenizer", default="qwen3-151k")
    ap.add_argument("--walks", type=int, default=2)
    ap.add_argument("--budget", type=float, default=10.0)
    ap.add_argument("--engines", default="constrained,llguidance,llguidance-lenient,xgrammar,outlines-core")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--memory-gb", type=int, default=8, help="address-space cap per engine worker")
    a = ap.parse_args()
    require("jsonschemabench")
    tokenizer, vocab = load_tokenizer(a.tokenizer)
    rows = [row for split in SPLITS for row in sample(split, a.per_split, a.seed)]
    print(f"machine: {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.2f}; tokenizer {a.tokenizer} "
          f"({vocab.size} tokens); {a.per_split} schemas per split, {a.walks} walks each, budget {a.budget:.0f} s")
    results = {}
    for name in a.engines.split(","):
        try:
            results[name] = r = run(name, rows, a)
        except RuntimeError as exc:
            print(f"{exc} (installed? pip install -e '.[bench]')")
            continue
        covered = sum(c["covered"] for c in r["splits"].values())
        print(f"{name}: covered {covered}/{len(rows)}, compile p50 {_pct(r['compile'], .5):.4f} s, "
              f"invalid walks {r['invalid']}", flush=True)      # a long run shows progress per engine
    print(f"\ncoverage % (compiled within budget and every walk valid), n={a.per_split} per split")
    print(f"{'split':<16}" + "".join(f"{n:>20}" for n in results))
    for split in SPLITS + ["ALL"]:
        cells = []
        for r in results.values():
            c = r["splits"].get(split) if split != "ALL" else sum(r["splits"].values(), collections.Counter())
            cells.append(f"{100 * c['covered'] / max(1, c['n']):>19.0f}%" if c else f"{'-':>20}")
        print(f"{split:<16}" + "".join(cells))
    print(f"\n{'engine':<20}{'compile p50':>12}{'p95':>9}{'p99':>9}{'mask p50':>10}{'mask p99':>10}"
          f"{'object p50':>11}{'invalid':>8}{'capped':>7}   (seconds; mask = per token, ours per step)")
    for name, r in results.items():
        print(f"{name:<20}{_pct(r['compile'], .5):>12.4f}{_pct(r['compile'], .95):>9.3f}{_pct(r['compile'], .99):>9.3f}"
              f"{_pct(r['mask'], .5):>10.5f}{_pct(r['mask'], .99):>10.4f}{_pct(r['object'], .5):>11.4f}"
              f"{r['invalid']:>8}{r['capped']:>7}")
    for name, r in results.items():
        for sid, text in r["examples"][:5]:
            print(f"invalid walk, {name}, {sid}: {text!r}")
        gone = sum(c["crashed"] for c in r["splits"].values())
        if gone:
            print(f"{name}: {gone} schemas killed the worker (memory cap {a.memory_gb} GiB or a crash)")
    if "constrained" in results and results["constrained"]["mask"]:
        print(f"\nours, host work per denoising step: median {1e3 * statistics.median(results['constrained']['mask']):.2f} ms")


if __name__ == "__main__":
    main()
