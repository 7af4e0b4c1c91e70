"""Span drafts: a wholly open value is grown as a stretch of the prompt, word run by word
run, only while the model's own distributions favour it, and every token is checked."""
import json

import jsonschema
import numpy as np
import pytest
import torch

import constrained
from constrained.backends.adapted_causal import AdaptedCausalBackend
from constrained.backends.tiny import build_tokenizer, random_causal_lm
from constrained.canvas import CanvasState
from constrained.sampler import SamplingConfig, _open_rows, _take_spans
from constrained.spans import SpanDrafter

SCHEMA = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 40}}, "required": ["city"]}
PROMPT = "city: Long Road East, far away"


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer("byte_level")


@pytest.fixture(scope="module")
def vocab(tok):
    return constrained.TokenVocabulary.from_tokenizer(tok)


def _spell(tok, text: str) -> list[int]:
    return tok(text, add_special_tokens=False).input_ids


def _favouring(tok, state, region, text: str, boost: float = 8.0) -> torch.Tensor:
    """Logits for the open positions that favour ``text`` spelled from the region's start, then spaces."""
    opens = state.open_positions()
    logits = torch.zeros(len(opens), state.template.vocab.size)
    ids = _spell(tok, text)
    space = _spell(tok, " ")[0]
    for j, p in enumerate(opens.tolist()):
        k = p - region.start
        if 0 <= k < region.length:
            logits[j, ids[k] if k < len(ids) else space] = boost
    return logits


def _spelled(vocab, ids) -> str:
    return vocab.decode([int(t) for t in ids]).decode()


def test_best_is_the_stretch_the_distributions_favour(tok, vocab):
    drafter = SpanDrafter.for_prompt(tok, PROMPT)
    state = CanvasState(constrained.compile(SCHEMA, vocab))
    region = state.template.regions[0]
    written = state.tokens[region.start: region.start + region.length]
    free = np.nonzero(written < 0)[0]
    logits = _favouring(tok, state, region, '"Road East"')[: len(free)]
    ids, gap, cut = drafter.best(torch.log_softmax(logits, -1), free, written, vocab.tokenize_exact(" ")[0],
                                 vocab.byte_matrix[0][:, 0])
    assert _spelled(vocab, ids).rstrip() == '"Road East"' and not cut
    assert gap == pytest.approx(0.0, abs=1e-5)       # every position holds the favourite


def test_written_tokens_narrow_the_stretches(tok, vocab):
    """With '"Long' written, only stretches that start so are scored, whatever the logits say."""
    drafter = SpanDrafter.for_prompt(tok, PROMPT)
    written = np.full(12, -1)
    start = _spell(tok, '"Long')
    written[: len(start)] = start
    free = np.nonzero(written < 0)[0]
    logits = torch.zeros(len(free), vocab.size)
    ids, _, _ = drafter.best(torch.log_softmax(logits, -1), free, written, vocab.tokenize_exact(" ")[0],
                             vocab.byte_matrix[0][:, 0])
    assert _spelled(vocab, ids).startswith('"Long')


def test_a_stretch_longer_than_the_room_is_cut(tok, vocab):
    drafter = SpanDrafter([_spell(tok, '"Long Road East"')])
    room = 5
    ids, _, cut = drafter.best(torch.zeros(room, vocab.size), np.arange(room), np.full(room, -1),
                               vocab.tokenize_exact(" ")[0], vocab.byte_matrix[0][:, 0])
    assert cut and len(ids) == room


def test_a_cut_stretch_competes_though_the_slot_must_close(tok, vocab):
    """The slot's last position allows only a closing token, never the cut stretch's own: that
    position counts as the best allowed closing token, so the long favoured stretch still
    wins (to be regrown) over a short one that fits."""
    long, short = _spell(tok, '"Long Road East"'), _spell(tok, '"Lo"')
    drafter = SpanDrafter([long, short])
    room, space = 6, vocab.tokenize_exact(" ")[0]
    logprobs = torch.full((room, vocab.size), -20.0)
    for k in range(room - 1):
        logprobs[k, long[k]] = 0.0
        logprobs[k, space] = -3.0                    # padding is not unlikely anywhere
    logprobs[room - 1] = -torch.inf
    logprobs[room - 1, _spell(tok, '"')[0]] = -1.0   # the last position can only close the string
    ids, gap, cut = drafter.best(logprobs, np.arange(room), np.full(room, -1), space, vocab.byte_matrix[0][:, 0])
    assert cut and ids.tolist() == long[:room] and np.isfinite(gap)


def test_numbers_are_also_offered_bare(tok):
    drafter = SpanDrafter.for_prompt(tok, "total 12.50 paid, EUR 1,250.00 and $12,000.")
    spellings = {tok.decode(row[row >= 0].tolist()) for row in drafter.ids}
    assert {'"12.50"', "12.50", '"total 12.50"', "1250.00", "12000", '"1,250.00"'} <= spellings
    assert "total" not in spellings and "1,250.00" not in spellings


def test_values_grow_by_words_then_close(tok, vocab):
    """First step: the words of the favoured stretch, not its end. Next step, with nothing
    longer favoured: the end and the padding, so the value is complete and valid."""
    drafter = SpanDrafter.for_prompt(tok, PROMPT)
    state = CanvasState(constrained.compile(SCHEMA, vocab))
    region = state.template.regions[0]
    logits = _favouring(tok, state, region, '"Road East"')
    held: set[int] = set()
    assert _take_spans(state, drafter, _open_rows(state.open_positions()), logits, 0.5, set(), held) > 0
    written = state.tokens[region.start: region.start + region.length]
    assert _spelled(vocab, written[written >= 0]) == '"Road East'
    still_open = {p for p in range(region.start, region.start + region.length) if state.tokens[p] < 0}
    assert still_open and still_open <= held          # the end waits for the next step
    logits = _favouring(tok, state, region, '"Road East"')
    _take_spans(state, drafter, _open_rows(state.open_positions()), logits, 0.5, set(), set())
    assert state.is_complete()
    assert json.loads(state.text()) == {"city": "Road East"}


def test_a_value_unlike_any_stretch_is_left_to_the_model(tok, vocab):
    drafter = SpanDrafter.for_prompt(tok, PROMPT)
    state = CanvasState(constrained.compile(SCHEMA, vocab))
    region = state.template.regions[0]
    logits = _favouring(tok, state, region, '"Quux Zed"')
    held: set[int] = set()
    assert _take_spans(state, drafter, _open_rows(state.open_positions()), logits, 0.5, set(), held) == 0
    assert not held and len(state.open_positions()) == region.length


@pytest.mark.parametrize("seed", range(3))
def test_generation_with_spans_stays_valid(tok, seed):
    backend = AdaptedCausalBackend(random_causal_lm(tok, seed=1), tok, tok.mask_token_id, bf16=False)
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12},
                                               "n": {"type": "integer"}, "tag": {"enum": ["a", "b"]}},
              "required": ["city", "n", "tag"]}
    g = constrained.Generator(schema, backend, steps=4, copy=0.2, spans=0.01)
    for value in g.batch(["city: Long Road East, n: 12", "another document 7"], seed=seed, temperature=1.0):
        jsonschema.validate(value, schema)


def test_span_share_is_checked():
    with pytest.raises(ValueError, match="spans"):
        SamplingConfig(spans=1.5)


@pytest.mark.parametrize("go_on", [True, False])
def test_the_position_after_the_words_decides_the_end(tok, vocab, go_on):
    """Read over all positions, the padding favours the shorter value; the position right
    after the written words, which sees them, decides whether the value ends there."""
    drafter = SpanDrafter([_spell(tok, '"Road"'), _spell(tok, '"Road East"')])
    pad = vocab.tokenize_exact(" ")[0]
    written = np.full(14, -1)
    written[:5] = _spell(tok, '"Road')
    free = np.nonzero(written < 0)[0]
    logits = torch.zeros(len(free), vocab.size)
    logits[1:, pad] = 6.0                                   # padding everywhere after
    logits[0, _spell(tok, '"Road East"')[5]] = 9.0 if go_on else -9.0
    ids, _, _ = drafter.best(torch.log_softmax(logits, -1), free, written, pad, vocab.byte_matrix[0][:, 0])
    assert _spelled(vocab, ids).rstrip() == ('"Road East"' if go_on else '"Road"')
