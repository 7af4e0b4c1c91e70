"""The adapted-causal backend (the default model's) and its training loop, on tiny random Llamas."""
import json

import jsonschema
import pytest
import torch

import constrained
from constrained.backends.adapted_causal import AdaptedCausalBackend, canvas_hidden, encode_prompts, prompt_ids
from constrained.backends.tiny import build_tokenizer, random_causal_lm
from constrained.training import synthetic
from constrained.training.train import add_adapter, make_batch, train

SCHEMAS = [
    {"type": "object", "properties": {"name": {"type": "string", "maxLength": 12}, "n": {"type": "integer"}},
     "required": ["name", "n"]},
    {"type": "object", "properties": {"tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 3},
                                      "ok": {"type": "boolean"}, "note": {"type": ["string", "null"]}},
     "required": ["tags"]},
    {"type": "array", "items": {"type": "number", "minimum": -5, "maximum": 5}, "minItems": 1, "maxItems": 4},
]


@pytest.fixture(scope="module")
def tiny():
    tok = build_tokenizer("byte_level")
    return random_causal_lm(tok, seed=1), tok, tok.mask_token_id


def test_cached_canvas_step_equals_one_full_forward(tiny):
    """Prompt causal in the cache + bidirectional canvas == one forward with the same 4D mask."""
    model, tok, mask_id = tiny
    prompts = ["short prompt", "a somewhat longer prompt with more tokens in it"]
    state = encode_prompts(model, prompt_ids(tok, prompts), tok.pad_token_id, torch.device("cpu"))
    canvas = torch.randint(10, 300, (2, 7))
    with torch.no_grad():
        got = canvas_hidden(model, state, canvas)
        for b, p in enumerate(prompts):
            ids = torch.tensor(tok(p).input_ids)
            full = torch.cat([ids, canvas[b, :-1]])[None]
            n, c = len(ids), canvas.shape[1]
            mask = torch.zeros(1, 1, n + c - 1, n + c - 1, dtype=torch.bool)
            mask[0, 0, :n - 1, :n - 1] = torch.tril(torch.ones(n - 1, n - 1, dtype=torch.bool))
            mask[0, 0, n - 1:, :] = True
            want = model.model(input_ids=full, attention_mask=mask).last_hidden_state[0, n - 1:]
            torch.testing.assert_close(got[b], want, atol=1e-4, rtol=1e-4)
    assert state.cache.get_seq_length() == state.valid.shape[1], "the step must leave the prompt cache as it was"


@pytest.mark.parametrize("schema", SCHEMAS)
def test_generates_valid_output(tiny, schema):
    model, tok, mask_id = tiny
    backend = AdaptedCausalBackend(model, tok, mask_id, bf16=False)
    g = constrained.Generator(schema, backend, steps=4)
    for seed in range(3):
        out = g.batch(["first document", "the second, longer document"], seed=seed, temperature=1.0)
        for value in out:
            jsonschema.validate(value, schema)


def test_prompt_state_is_reused_and_left_unchanged_by_steps(tiny):
    """Regrowth re-asks for the prompt's state: it comes from the last call, and the canvas
    steps taken on it in between must not have changed what it computes."""
    model, tok, mask_id = tiny
    backend = AdaptedCausalBackend(model, tok, mask_id, bf16=False)
    canvas, opened = torch.full((1, 10), -1, dtype=torch.long), [torch.arange(10)]
    state = backend.encode(["a prompt"])
    first = backend.logits(state, canvas, opened)
    assert backend.encode(["a prompt"]) is state
    assert torch.equal(backend.logits(state, canvas, opened), first)
    fresh = backend.encode(["another prompt", "a prompt"])
    assert fresh is not state and backend.encode(["a prompt"]) is not state
    assert torch.allclose(backend.logits(backend.encode(["a prompt"]), canvas, opened), first, atol=1e-5)


def test_training_targets_follow_the_template():
    tok = build_tokenizer("byte_level")
    vocab = constrained.TokenVocabulary.from_tokenizer(tok)
    examples = synthetic.examples(12, seed=3)
    import numpy as np
    batch = make_batch(examples, vocab, tok, views=2, mask_id=tok.mask_token_id, pad_id=tok.pad_token_id,
                       rng=np.random.default_rng(0))
    assert batch is not None
    prompts, canvas, target, weight, valid = batch
    assert canvas.shape[0] == 2 * len(prompts) and len(prompts) >= 10
    masked = canvas == tok.mask_token_id
    assert torch.equal(masked, target >= 0) and (weight[masked] > 0).all() and (weight[~masked] == 0).all()


def test_long_strings_are_cut_to_their_first_slot_or_grown():
    """A cut target fills the value's slot to its last position with the value's start (so the
    canvas reads as full, as inference must see it to regrow); otherwise the slot grows."""
    from constrained.canvas import CanvasState
    from constrained.training.targets import target_canvas
    tok = build_tokenizer("byte_level")
    vocab = constrained.TokenVocabulary.from_tokenizer(tok)
    schema = {"type": "object", "properties": {"address": {"type": "string"}, "n": {"type": "integer"}},
              "required": ["address", "n"]}
    template = constrained.compile(schema, vocab)
    answer = {"address": "12 Long Street, Some Quarter, A Rather Long Town Name, 99999 " * 4, "n": 7}
    grown, tokens = target_canvas(template, answer, tok)
    assert grown.length > template.length and json.loads(vocab.decode(tokens.tolist())) == answer
    same, tokens = target_canvas(template, answer, tok, cut=True)
    assert same.length == template.length
    value = json.loads(vocab.decode(tokens.tolist()))
    assert value["n"] == 7 and len(value["address"]) > 0 and answer["address"].startswith(value["address"])
    state = CanvasState(same)
    assert all(state.commit(int(p), int(tokens[p])) for p in state.open_positions())
    assert state.full_regions() == [0]
    # Regrown, the value keeps its start (not the closing token at the old slot's end) and goes on.
    region, moved = same.regions[0], state.moved_to(same.grown([0]), [0])
    bigger = moved.template.regions[0]
    kept = moved.tokens[bigger.start: bigger.start + region.length - 1]
    assert kept.tolist() == tokens[region.start: region.start + region.length - 1].tolist()
    assert (moved.tokens[bigger.start + region.length - 1: bigger.start + bigger.length] < 0).all()
    short = {"address": "12 Elm St", "n": 7}
    assert target_canvas(template, short, tok, cut=True)[0].length == template.length
    assert json.loads(vocab.decode(target_canvas(template, short, tok, cut=True)[1].tolist())) == short


def test_training_smoke_and_resume(tmp_path, tiny):
    _, tok, mask_id = tiny
    base = (random_causal_lm(tok, seed=2), tok, mask_id)
    adapter = train(tmp_path, steps=2, batch_size=2, rank=2, save_every=1, base=base, tasks=[], progress=False,
                    bf16=False)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == [1, 2] and all(e["loss"] > 0 for e in log)
    assert (adapter / "adapter_model.safetensors").exists()
    base = (random_causal_lm(tok, seed=2), tok, mask_id)
    train(tmp_path, steps=3, batch_size=2, rank=2, save_every=1, base=base, tasks=[], progress=False, bf16=False)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == [1, 2, 3], "a resumed run continues where the checkpoint left off"


def test_merged_serving_copies_match_the_adapter(tiny):
    """The backend's merged canvas copy and adapter-free prompt copy compute what the peft
    model does with the adapter switched off for the prompt and on for the canvas. On a CPU
    the canvas copy runs eager attention: the padded batch checks its additive mask."""
    model, tok, mask_id = tiny
    peft = add_adapter(random_causal_lm(tok, seed=4), rank=2)
    with torch.no_grad():
        for p in peft.parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn_like(p))      # a trained adapter is not the identity
    peft.eval()
    backend = AdaptedCausalBackend(peft, tok, mask_id, bf16=False)
    assert not hasattr(backend.canvas_model, "peft_config") and not hasattr(backend.prompt_model, "peft_config")
    assert backend.canvas_model.config._attn_implementation == "eager"
    prompts, canvas = ["a prompt", "another, longer prompt"], torch.randint(10, 300, (2, 6))
    opens = [torch.arange(6), torch.tensor([0, 3])]
    got = backend.logits(backend.encode(prompts), canvas, opens)
    with torch.no_grad():
        hidden = canvas_hidden(peft, encode_prompts(peft, prompt_ids(tok, prompts), tok.pad_token_id,
                                                    torch.device("cpu")), canvas)
        want = peft.get_base_model().lm_head(torch.cat([hidden[b, o] for b, o in enumerate(opens)]))
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


def test_backend_sampling_defaults_unless_given(tiny):
    model, tok, mask_id = tiny
    backend = AdaptedCausalBackend(model, tok, mask_id, bf16=False)
    schema = {"type": "object", "properties": {"s": {"type": "string", "minLength": 30, "maxLength": 30}},
              "required": ["s"]}
    g = constrained.Generator(schema, backend, grow_rounds=0)
    g("a document")
    assert g.config.steps == backend.sampling_defaults["steps"] == 16 and g.last_stats.forwards >= 16
    assert g.config.copy == backend.sampling_defaults["copy"]
    given = constrained.Generator(schema, backend, steps=3, copy=None).config
    assert given.steps == 3 and given.copy is None
