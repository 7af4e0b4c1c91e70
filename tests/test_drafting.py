"""Copy drafts: proposals from the prompt, taken only where the model agrees and the canvas stays valid."""
import jsonschema
import numpy as np
import pytest
import torch

import constrained
from constrained.backends.adapted_causal import AdaptedCausalBackend
from constrained.backends.tiny import build_tokenizer, random_causal_lm
from constrained.canvas import CanvasState
from constrained.drafting import CopyDrafter
from constrained.sampler import SamplingConfig, _open_rows, _take_drafts

SCHEMA = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 40}}, "required": ["city"]}


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer("byte_level")


def test_proposes_the_continuation_of_the_longest_tail():
    d = CopyDrafter([5, 6, 7, 8, 9, 6, 7, 1, 2], ngram=3, length=3)
    assert d.propose(np.array([6, 7])).tolist() == [8, 9, 6]       # first occurrence of the pair
    assert d.propose(np.array([9, 6, 7])).tolist() == [1, 2]       # the longer tail decides
    assert d.propose(np.array([4, 2])).tolist() == []              # end of the source: nothing left
    assert d.propose(np.array([42])).tolist() == []


def test_whitespace_runs_read_as_one_space(tok):
    d = CopyDrafter.for_prompt(tok, "street:\n  12 Long\nRoad   East")
    assert tok.decode(d.source.tolist()) == "street: 12 Long Road East"


def _canvas_with_first_token(tok, text):
    vocab = constrained.TokenVocabulary.from_tokenizer(tok)
    template = constrained.compile(SCHEMA, vocab)
    state = CanvasState(template)
    region = template.regions[0]
    ids = tok('"' + text, add_special_tokens=False).input_ids
    for i in range(3):                    # '"', 'L', 'o': the tail 'o' is found in "Long"
        assert state.commit(region.start + i, ids[i])
    return state, region, ids


def test_drafts_copy_where_the_model_is_indifferent(tok):
    """Flat logits give every allowed token the best probability: the whole draft is taken."""
    state, region, ids = _canvas_with_first_token(tok, "Long Road East")
    drafter = CopyDrafter.for_prompt(tok, "city: Long Road East, far away")
    opens = state.open_positions()
    taken = _take_drafts(state, drafter, _open_rows(opens), torch.zeros(len(opens), state.template.vocab.size), 0.5, set(), set())
    value = state.template.vocab.decode(state.tokens[region.start: region.start + 3 + taken]).decode()
    assert taken >= 3 and value.startswith('"Long Road East')


def test_drafts_leave_values_that_span_drafts_hold_alone(tok):
    """A value span drafts are growing ends where they decide: copy drafts add nothing to it."""
    state, region, ids = _canvas_with_first_token(tok, "Long Road East")
    drafter = CopyDrafter.for_prompt(tok, "city: Long Road East, far away")
    opens = state.open_positions()
    held = set(range(region.start, region.start + region.length))
    assert _take_drafts(state, drafter, _open_rows(opens), torch.zeros(len(opens), state.template.vocab.size), 0.5, set(), held) == 0
    assert len(state.open_positions()) == len(opens)


def test_drafts_stop_where_the_model_disagrees(tok):
    state, region, ids = _canvas_with_first_token(tok, "Long Road East")
    drafter = CopyDrafter.for_prompt(tok, "city: Long Road East")
    opens = state.open_positions()
    logits = torch.zeros(len(opens), state.template.vocab.size)
    proposal = drafter.propose(state.tokens[region.start: region.start + 3])
    logits[0, int(proposal[0])] = -5.0        # the first drafted position: far below the favourite
    assert _take_drafts(state, drafter, _open_rows(opens), logits, 0.5, set(), set()) == 0
    assert state.tokens[region.start + 3] < 0


@pytest.mark.parametrize("seed", range(3))
def test_generation_with_drafts_stays_valid(tok, seed):
    backend = AdaptedCausalBackend(random_causal_lm(tok, seed=1), tok, tok.mask_token_id, bf16=False)
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12},
                                               "n": {"type": "integer"}}, "required": ["city", "n"]}
    g = constrained.Generator(schema, backend, steps=4, copy=0.2)
    for value in g.batch(["city: Long Road East, n: 12", "another document"], seed=seed, temperature=1.0):
        jsonschema.validate(value, schema)


def test_copy_share_is_checked():
    with pytest.raises(ValueError, match="copy"):
        SamplingConfig(copy=0.0)


def test_drafts_stay_inside_the_canvas_block(tok):
    """Block-diffusion backends score one block at a time: a draft stops at its end."""
    state, region, ids = _canvas_with_first_token(tok, "Long Road East")
    drafter = CopyDrafter.for_prompt(tok, "city: Long Road East")
    block = state.open_positions()[:2]
    assert _take_drafts(state, drafter, _open_rows(block), torch.zeros(2, state.template.vocab.size), 0.5, set(), set()) == 2
    assert state.tokens[block[-1] + 1] < 0
