"""The public API end to end: compile once, dicts for JSON Schema, models loaded from disk."""
import json
import warnings

import jsonschema
import torch
import pytest
from pydantic import BaseModel

import constrained
from constrained.backends.tiny import build_tokenizer, random_model


class Point(BaseModel):
    x: int
    y: int
    label: str


def test_generator_compiles_once_and_reuses_the_template(backend):
    g = constrained.Generator(Point, backend, steps=4)
    template = g.template
    outs = [g("Where is it?", seed=s, temperature=1.0) for s in range(3)]
    assert g.template is template and all(isinstance(o, Point) for o in outs)
    assert constrained.Generator(Point, backend).template is template        # cached per (schema, vocab)


def test_json_schema_gives_a_dict(backend):
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    out = constrained.generate(schema, "Give a.", model=backend)
    assert isinstance(out, dict) and set(out) == {"a"}
    jsonschema.validate(out, schema)


def test_same_seed_same_output(backend):
    g = constrained.Generator(Point, backend)
    assert g("p", seed=5, temperature=1.0) == g("p", seed=5, temperature=1.0)


def test_skeleton_is_pinned_before_the_model_runs(backend):
    g = constrained.Generator(Point, backend)
    text = backend.vocab.decode(t for t in g.template.tokens if t >= 0).decode()
    assert '{"x": ' in text and '"label": ' in text and g.template.n_pinned >= 5


def test_threshold_policy_commits_more_per_step(backend):
    g = constrained.Generator(Point, backend, steps=16)
    g("p", seed=0)
    slow = g.last_stats.forwards
    g("p", seed=0, threshold=0.01)
    assert g.last_stats.forwards <= slow


def test_stats_are_reported(backend):
    g = constrained.Generator(Point, backend, steps=4, grow_rounds=0)
    g("p", seed=0)
    s = g.last_stats
    assert s.forwards >= 1 and s.committed + s.pinned == g.template.length
    assert 0.0 <= s.overhead_share < 1.0 and s.tokens_per_forward > 0


def test_load_a_local_masked_lm(tmp_path):
    tok = build_tokenizer("byte_level")
    random_model(tok, seed=3).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    backend = constrained.load(str(tmp_path))
    out = constrained.generate(Point, "Locate the point.", model=backend, steps=4)
    assert isinstance(out, Point)


def test_values_that_fill_their_slot_are_regrown_not_cut(backend):
    schema = {"type": "object", "properties": {"s": {"type": "string"}}, "required": ["s"]}
    g = constrained.Generator(schema, backend, steps=4, temperature=1.0)
    first_slot = g.template.regions[0].length
    full_seeds = []
    for seed in range(12):                          # a random model often fills a string slot
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            g("p", seed=seed, grow_rounds=0)
        if any(issubclass(w.category, constrained.SlotFullWarning) and "#/properties/s" in str(w.message)
               for w in caught):
            full_seeds.append(seed)
    assert full_seeds
    out = g("p", seed=full_seeds[0], grow_rounds=1)
    assert g.last_stats.regrown == 1
    assert len(backend.vocab.tokenize_exact(json.dumps(out["s"], ensure_ascii=False))) >= first_slot - 1


def test_batch_of_ragged_prompts(backend):
    g = constrained.Generator(Point, backend, steps=4, grow_rounds=0)
    prompts = ["a", "a longer prompt with more words in it " * 3, "mid"]
    outs = g.batch(prompts, seed=0, temperature=1.0)
    assert len(outs) == 3 and all(isinstance(o, Point) for o in outs)
    assert len(g.batch_stats) == 3
    with pytest.raises(constrained.EmptyPromptError):
        g.batch(["ok", ""])


def test_masked_backend_padding_does_not_change_the_logits(backend):
    canvas = torch.full((1, 6), -1, dtype=torch.long)
    open_pos = [torch.arange(6)]
    alone = backend.logits(backend.encode(["hello"]), canvas, open_pos)
    both = backend.logits(backend.encode(["hello", "a much longer prompt than hello"]), canvas.repeat(2, 1), open_pos * 2)
    assert torch.allclose(alone, both[:6], atol=1e-4)


class _Recording:
    """Wraps a backend and keeps every canvas it was asked to score."""

    def __init__(self, inner):
        self.inner, self.seen = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def logits(self, state, canvases, *args, **kwargs):
        self.seen.append(canvases.clone())
        return self.inner.logits(state, canvases, *args, **kwargs)


def test_spread_keeps_unsure_neighbours_apart(backend):
    """No two unsure neighbours are committed in the same step (a random model is unsure
    everywhere, and its quota of 40 open positions would otherwise take neighbours)."""
    schema = {"type": "object", "properties": {"s": {"type": "string", "minLength": 40, "maxLength": 40}},
              "required": ["s"]}
    rec = _Recording(backend)
    g = constrained.Generator(schema, rec, steps=3, spread=0.9, grow_rounds=0)
    g("Text.", seed=0, temperature=1.0)
    before, after = rec.seen[0][0], rec.seen[1][0]
    new = ((before < 0) & (after >= 0)).nonzero().flatten().tolist()
    assert len(new) >= 2 and not any(b - a == 1 for a, b in zip(new, new[1:]))


def test_bounded_cache_keeps_the_most_recently_used():
    from constrained.bounded_cache import BoundedCache
    cache = BoundedCache(2)
    cache["a"], cache["b"] = 1, 2
    assert cache.get("a") == 1                 # "a" is now the most recent
    cache["c"] = 3
    assert list(cache) == ["a", "c"] and cache.get("b") is None


@pytest.mark.parametrize("enabled", [True, False])
def test_compiling_leaves_the_garbage_collector_as_it_found_it(backend, enabled):
    """The collector is paused while a schema compiles, and restored after, also where
    the schema is refused (and left off where the caller had turned it off)."""
    import gc
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        constrained.compile({"type": "array", "items": {"type": "integer"}, "maxItems": 3}, backend.vocab)
        assert gc.isenabled() is enabled
        with pytest.raises(constrained.errors.ConstrainedError):
            constrained.compile({"type": "string", "minLength": 10**6}, backend.vocab)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
