"""Bad input gets a typed error that names the problem and where it is."""
import pytest
from pydantic import BaseModel, Field

import constrained
from constrained import (CanvasTooSmallError, ContextTooLongError, EmptyPromptError, InvalidPatternError,
                         ModelLoadError, SchemaError, UnsatisfiableSchemaError, UnsupportedSchemaError)


@pytest.fixture(scope="module")
def model():
    from constrained.backends.tiny import random_backend
    return random_backend()


@pytest.mark.parametrize("schema, keyword, pointer", [
    ({"type": "object", "properties": {"a": {"type": "integer", "multipleOf": 3}}}, "multipleOf", "#/properties/a/multipleOf"),
    ({"type": "array", "items": {"type": "string"}, "uniqueItems": True, "minItems": 2}, "uniqueItems", "#/uniqueItems"),
    ({"not": {"type": "object", "minProperties": 1}}, "minProperties", "#/not/minProperties"),
    ({"type": "array", "contains": {"type": "integer"}}, "contains", "#/contains"),
    ({"properties": {"a": {"type": "object", "if": {"minProperties": 1}, "then": {"required": ["b"]}}}},
     "if", "#/properties/a/if"),
    ({"$ref": "https://example.com/schema.json"}, "$ref", "#"),
    ({"type": "string", "pattern": "^(?=a)b$"}, "pattern", "#/pattern"),
    ({"oneOf": [{"type": "object", "properties": {"k": {"const": 1}}, "required": ["k"]},
                {"type": "object", "properties": {"k": {"const": 1.0}}, "required": ["k"]}]}, "oneOf", "#"),
])
def test_unsupported_keywords_are_named_with_their_pointer(model, schema, keyword, pointer):
    with pytest.raises(UnsupportedSchemaError) as info:
        constrained.Generator(schema, model)
    assert info.value.keyword == keyword and info.value.pointer == pointer
    assert keyword in str(info.value) and pointer in str(info.value)


@pytest.mark.parametrize("schema, keyword", [
    ({"type": "string", "minLength": 5, "maxLength": 2}, "minLength"),
    ({"enum": []}, None),                                             # rejected by the metaschema
    ({"type": "integer", "enum": ["a", "b"]}, "enum"),
    ({"type": "integer", "minimum": 5, "maximum": 4}, "minimum"),
    ({"type": "array", "minItems": 3, "maxItems": 1}, "minItems"),
    ({"type": "object", "required": ["x"], "additionalProperties": False}, "required"),
    (False, None),
])
def test_unsatisfiable_schemas(model, schema, keyword):
    with pytest.raises(SchemaError) as info:
        constrained.Generator(schema, model)
    if keyword is not None:
        assert isinstance(info.value, UnsatisfiableSchemaError) and info.value.keyword == keyword


@pytest.mark.parametrize("schema, pointer", [
    ({"type": "string", "pattern": "([a-z"}, "#/pattern"),
    # draft 4's metaschema checks the format; 2020-12's does not, and our parser names it
    ({"$schema": "http://json-schema.org/draft-04/schema#", "properties": {"a": {"pattern": "("}}}, "#/properties/a/pattern"),
    ({"type": "object", "properties": {"a": {"type": "string", "pattern": "^\\p{L}$"}}}, "#/properties/a/pattern"),
])
def test_invalid_pattern_is_reported(model, schema, pointer):
    with pytest.raises(InvalidPatternError, match="pattern") as info:
        constrained.Generator(schema, model)
    assert info.value.pointer == pointer


def test_invalid_schema_document_is_reported(model):
    with pytest.raises(SchemaError, match="invalid JSON Schema"):
        constrained.Generator({"type": "strin"}, model)


def test_empty_prompt(model):
    generator = constrained.Generator({"type": "boolean"}, model)
    for prompt in ("", "   "):
        with pytest.raises(EmptyPromptError):
            generator(prompt)


@pytest.mark.parametrize("kind", ["masked", "block", "adapted"])
@pytest.mark.parametrize("words, schema", [(500, {"type": "boolean"}),      # the prompt alone, then with the canvas
                                           (350, {"type": "array", "items": {"type": "boolean"}, "minItems": 300})])
def test_prompt_past_the_models_positions_is_refused_by_name(kind, words, schema, model):
    from constrained.backends import tiny
    from constrained.backends.adapted_causal import AdaptedCausalBackend
    tok = model.tokenizer
    backend = {"masked": lambda: model,
               "block": lambda: tiny.random_diffusion_gemma_backend(),
               "adapted": lambda: AdaptedCausalBackend(tiny.random_causal_lm(tok), tok, tok.mask_token_id,
                                                       bf16=False)}[kind]()
    generator = constrained.Generator(schema, backend, max_tokens=4096)
    with pytest.raises(ContextTooLongError, match="4096 positions"):
        generator("many words " * words)


def test_canvas_too_small_for_min_length_and_min_items(model):
    with pytest.raises(CanvasTooSmallError, match="max_tokens"):
        constrained.Generator({"type": "string", "minLength": 3000}, model, max_tokens=64)

    class Batch(BaseModel):
        ids: list[int] = Field(min_length=200)
    with pytest.raises(CanvasTooSmallError, match="minItems|max_tokens"):
        constrained.Generator(Batch, model, max_tokens=64)


def test_bad_sampling_arguments(model):
    with pytest.raises(ValueError, match="steps"):
        constrained.Generator({"type": "boolean"}, model, steps=0)
    with pytest.raises(TypeError):
        constrained.Generator({"type": "boolean"}, model, stepz=3)


def test_missing_model_path():
    with pytest.raises(ModelLoadError, match="cannot load"):
        constrained.load("/nonexistent/model/dir")


def test_model_without_mask_token():
    from transformers import GPT2Config, GPT2LMHeadModel

    from constrained.backends.masked import MaskedDiffusionBackend
    from constrained.backends.tiny import build_tokenizer
    tok = build_tokenizer("byte_level")
    gpt = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_embd=16, n_layer=1, n_head=2))

    class NoMask:
        def __getattr__(self, name):
            return None if name == "mask_token_id" else getattr(tok, name)
    with pytest.raises(ModelLoadError, match="mask token"):
        MaskedDiffusionBackend(gpt, NoMask())


def test_unsatisfiable_combination_found_by_the_automaton(model):
    with pytest.raises(UnsatisfiableSchemaError, match="#"):
        constrained.Generator({"type": "string", "format": "date", "maxLength": 4}, model)
