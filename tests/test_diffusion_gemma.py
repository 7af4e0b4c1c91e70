"""DiffusionGemma backend (tiny random config built here): outputs validate, block by block."""

import jsonschema
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from transformers import LogitsProcessorList

import constrained
from constrained.logits_processor import CanvasLogitsProcessor

from .test_generate_valid import FORMAT_CHECKER, Person, Receipt, Tree, schemas


@pytest.fixture(scope="module")
def dg():
    from constrained.backends.tiny import random_diffusion_gemma_backend
    return random_diffusion_gemma_backend(canvas_length=16)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(schema=schemas)
def test_schema_suite_validates(dg, schema):
    g = constrained.Generator(schema, dg, steps=3)
    for seed in (0, 1):
        jsonschema.validate(g("Extract.", seed=seed, temperature=1.0), schema, format_checker=FORMAT_CHECKER)


@pytest.mark.parametrize("model", [Person, Receipt, Tree], ids=lambda m: m.__name__)
def test_models_over_many_blocks_with_entropy_bound(dg, model):
    g = constrained.Generator(model, dg, entropy_bound=0.1)
    assert g.template.length > dg.block_length               # several canvases, constraint carried across
    for seed in range(3):
        assert isinstance(g("Extract.", seed=seed, temperature=0.8), model)


def test_skeleton_is_never_renoised(dg):
    g = constrained.Generator(Receipt, dg, steps=4, grow_rounds=0)
    pinned = g.template.tokens >= 0
    seen = []
    original = dg.logits

    def spy(state, canvases, open_positions, noise=None, allowed=None):
        seen.append(canvases[0].clone())
        assert noise is not None and [len(n) for n in noise] == [len(o) for o in open_positions]
        return original(state, canvases, open_positions, noise, allowed)
    dg.logits = spy
    try:
        g("Extract.", seed=0)
    finally:
        del dg.logits
    for canvas in seen:
        assert torch.equal(canvas[torch.from_numpy(pinned)], torch.from_numpy(g.template.tokens[pinned]))


def test_noise_is_drawn_from_allowed_tokens(dg):
    from constrained.canvas import CanvasState
    from constrained.sampler import _noise
    g = constrained.Generator(Receipt, dg)
    state = CanvasState(g.template)
    open_pos = state.open_positions()
    rows = torch.from_numpy(state.mask_rows(open_pos))
    noise = _noise(g.template, rows, torch.Generator().manual_seed(0))
    for row, tok in zip(rows.tolist(), noise.tolist()):
        assert tok in set(g.template.masks.allowed_ids(row).tolist())


def test_logits_processor_in_stock_generate(dg):
    template = constrained.compile(Receipt, dg.vocab)
    ids = dg.tokenizer("Extract this receipt.", return_tensors="pt").input_ids
    eos, pad = dg.tokenizer.sep_token_id, dg.tokenizer.pad_token_id
    for seed in range(3):
        torch.manual_seed(seed)
        proc = CanvasLogitsProcessor(template, ids.shape[1], eos)
        out = dg.model.generate(ids, max_new_tokens=template.length + 4, max_denoising_steps=6,
                                logits_processor=LogitsProcessorList([proc]), eos_token_id=eos, pad_token_id=pad)
        new = out.sequences[0, ids.shape[1]:]
        Receipt.model_validate_json(dg.vocab.decode(new[: template.length]).decode())
        assert int(new[template.length]) == eos


def test_ragged_batch_shares_forwards(dg):
    g = constrained.Generator(Receipt, dg, steps=3, grow_rounds=0)
    prompts = ["short", "a much longer prompt " * 6, "mid-sized prompt here"]
    outs = g.batch(prompts, seed=0, temperature=1.0)
    assert len(outs) == 3 and all(isinstance(o, Receipt) for o in outs)
    single = [constrained.Generator(Receipt, dg, steps=3, grow_rounds=0) for _ in prompts]
    for gen, p in zip(single, prompts):
        gen(p, seed=0, temperature=1.0)
    assert max(s.forwards for s in g.batch_stats) <= max(gen.last_stats.forwards for gen in single) + 2


def _first_step(dg, prompts, allowed=None):
    """Logits of a fresh 8-position block (all open, fixed noise) for each prompt."""
    canvas = torch.full((len(prompts), 8), -1, dtype=torch.long)
    state = dg.encode(prompts)
    dg.start_block(state, canvas, 0)
    return dg.logits(state, canvas, [torch.arange(8)] * len(prompts), [torch.arange(10, 18)] * len(prompts), allowed)


def test_left_padding_does_not_change_the_logits(dg):
    """A prompt's logits are the same alone and beside a longer prompt in the batch."""
    alone = _first_step(dg, ["hello there"])
    both = _first_step(dg, ["hello there", "a considerably longer prompt than the first one"])
    assert torch.allclose(alone, both[:8], atol=1e-4)


def test_small_masks_compute_only_allowed_logits(dg):
    full = _first_step(dg, ["hello there"])
    ids = torch.tensor([3, 40, 41, 200])
    sparse = _first_step(dg, ["hello there"], {2: ids, 5: ids[:1]})
    assert torch.allclose(sparse[2, ids], full[2, ids], atol=1e-5) and torch.allclose(sparse[5, 3], full[5, 3])
    assert torch.isinf(sparse[2]).sum() == dg.vocab.size - 4
    assert torch.equal(sparse[[0, 1, 3, 4, 6, 7]], full[[0, 1, 3, 4, 6, 7]])


def test_load_a_local_diffusion_gemma(tmp_path, dg):
    from constrained.backends.diffusion_gemma import DiffusionGemmaBackend
    dg.model.save_pretrained(tmp_path)
    dg.tokenizer.save_pretrained(tmp_path)
    backend = constrained.load(str(tmp_path))
    assert isinstance(backend, DiffusionGemmaBackend) and backend.block_length == dg.block_length
    assert isinstance(constrained.generate(Receipt, "Extract.", model=backend, steps=2), Receipt)


def test_self_conditioning_matches_the_models_own(dg):
    """Our direct soft embeddings equal the decoder's softmax(logits) @ embeddings path."""
    state = dg.encode(["hello there"])
    canvas = torch.full((1, 16), -1, dtype=torch.long)
    canvas[0, :3] = torch.tensor([20, 21, 22])
    open_pos = [torch.arange(3, 16)]
    noise = [torch.arange(30, 43)]
    dg.start_block(state, canvas, 0)
    first = dg.logits(state, canvas, open_pos, noise)
    first[:, ::2] = float("-inf")                       # as if masked in place by the sampler
    second = dg.logits(state, canvas, open_pos, noise)
    # reference: the model's own path with full self-conditioning logits
    block = canvas[0].clone()
    block[3:] = noise[0]
    sc = torch.full((1, 16, dg.vocab.size), float("-inf"))
    sc[0, torch.arange(16), block] = 0.0
    sc[0, 3:] = first
    hidden = dg.model.model.decoder(decoder_input_ids=block[None], past_key_values=state.cache,
                                    self_conditioning_logits=sc,
                                    decoder_position_ids=state.lengths[:, None] + torch.arange(16)[None]).last_hidden_state
    ref = torch.tanh(dg.model.lm_head(hidden[0, 3:]).float() / dg.softcap) * dg.softcap
    assert torch.allclose(second, ref, atol=1e-4)
