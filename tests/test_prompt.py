"""The instruction prompt: fields, descriptions and allowed values, for any schema shape."""
from typing import Literal, Optional

from pydantic import BaseModel, Field

from constrained.prompt import describe, instruction


class Item(BaseModel):
    sku: str
    qty: int


class Order(BaseModel):
    id: str = Field(description="order number as printed")
    status: Literal["open", "shipped"]
    items: list[Item]
    note: Optional[str] = None


def test_fields_descriptions_and_allowed_values():
    text = describe(Order.model_json_schema())
    assert "- id (string, required): order number as printed" in text
    assert 'one of "open", "shipped"' in text
    assert "  - sku (string, required)" in text and "  - qty (integer, required)" in text
    assert "- note (string or null, optional)" in text


def test_document_follows_the_fields():
    prompt = instruction({"type": "object", "properties": {"a": {"type": "integer"}}}, "  the text  ")
    assert prompt.index("- a (integer, optional)") < prompt.index("Input:\nthe text")


def test_any_schema_shape_is_described():
    for schema in (True, False, {}, {"type": "array"}, {"anyOf": [True, {"type": "null"}]},
                   {"$ref": "#/$defs/b", "$defs": {"b": True}},
                   {"type": "object", "properties": {"x": True, "y": {"type": "array"}}}):
        assert describe(schema)


def test_huge_schemas_are_summarised_within_a_budget():
    from constrained.prompt import MAX_CHARS, MAX_LINE
    schema = {"type": "object", "properties": {
        f"field_{i}": {"type": "string", "description": "words " * 200} for i in range(2000)}}
    text = describe(schema)
    assert len(text) <= MAX_CHARS + 60
    assert all(len(line) <= MAX_LINE for line in text.splitlines())
    kept = text.count("- field_")
    assert text.endswith(f"- ... and {2000 - kept} more fields, not listed") and kept > 0
