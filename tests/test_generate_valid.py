"""Validity by construction: random tiny models, many schemas and seeds, zero invalid outputs."""
import json
import uuid
from datetime import date, datetime, time
from enum import Enum, IntEnum
from typing import Annotated, Literal, Optional, Union

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

import constrained

FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER
SEEDS = (0, 1, 2)

names = st.sampled_from(["id", "name", "total", "tags", "when", "kind", "ok", "note", "é", 'q"uote'])
string_schemas = st.one_of(
    st.builds(lambda lo, hi: {"type": "string", **({"minLength": lo} if lo else {}),
                              **({"maxLength": lo + hi} if hi is not None else {})},
              st.integers(0, 3), st.one_of(st.none(), st.integers(0, 8))),
    st.sampled_from([{"format": "date"}, {"format": "date-time"}, {"format": "time"}, {"format": "email"},
                     {"format": "uuid"}, {"pattern": "^[A-Z]{2}-\\d+$"}, {"pattern": "ab|cd", "maxLength": 6},
                     {"format": "email", "maxLength": 12}, {"format": "uri"}, {"format": "hostname"},
                     {"format": "ipv6"}, {"format": "duration"}]).map(lambda extra: {"type": "string", **extra}))


def _bounded(type_name):
    def build(lo, width, ex_lo, ex_hi):
        s = {"type": type_name}
        if lo is not None:
            s["exclusiveMinimum" if ex_lo else "minimum"] = lo
        if width is not None:
            s["exclusiveMaximum" if ex_hi else "maximum"] = (lo or 0) + width
        return s
    bound = st.integers(-1000, 1000) if type_name == "integer" else st.one_of(st.integers(-50, 50), st.floats(-50, 50).map(lambda x: round(x, 2)))
    return st.builds(build, st.one_of(st.none(), bound), st.one_of(st.none(), st.integers(2, 500)), st.booleans(), st.booleans())


scalars = st.one_of(
    string_schemas, _bounded("integer"), _bounded("number"),
    st.just({"type": "boolean"}), st.just({"type": "null"}),
    st.lists(st.one_of(st.text(max_size=5), st.integers(-9, 99), st.booleans(), st.none()), min_size=1, max_size=4,
             unique_by=json.dumps).map(lambda v: {"enum": v}),
    st.sampled_from([{"const": "fixed"}, {"const": 7}, {}, {"type": ["string", "null"], "maxLength": 4}]),
)


def _objects(children):
    def build(props, req_mask, closed):
        required = [k for k, m in zip(props, req_mask) if m]
        s = {"type": "object", "properties": props}
        if required:
            s["required"] = required
        if closed:
            s["additionalProperties"] = False
        return s
    return st.builds(build, st.dictionaries(names, children, min_size=1, max_size=4),
                     st.lists(st.booleans(), min_size=4, max_size=4), st.booleans())


def _arrays(children):
    return st.builds(lambda items, lo, extra: {"type": "array", "items": items, "minItems": lo, "maxItems": lo + extra},
                     children, st.integers(0, 2), st.integers(0, 2))


def _unions(children):
    return st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda b: {"anyOf": b}),
        st.just({"oneOf": [{"type": "integer", "maximum": 3}, {"type": "string", "maxLength": 3}, {"type": "null"}]}),
    )


schemas = st.recursive(scalars, lambda c: st.one_of(_objects(c), _arrays(c), _unions(c)), max_leaves=6)


def _check(value, schema):
    jsonschema.validate(value, schema, format_checker=FORMAT_CHECKER)


@settings(max_examples=55, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(schema=schemas)
def test_random_schemas_always_validate(backend, schema):
    generator = constrained.Generator(schema, backend, steps=4)
    for seed in SEEDS:
        value = generator("Extract the record.", seed=seed, temperature=1.0)
        _check(value, schema)


# --- hand-written Pydantic models -------------------------------------------------------
class Color(str, Enum):
    RED = "red"
    GREEN = "green"
    BLUE = "light blue"


class Priority(IntEnum):
    LOW = 1
    HIGH = 2


class Address(BaseModel):
    street: str = Field(max_length=20)
    city: str
    postcode: Annotated[str, Field(pattern=r"^\d{5}$")]
    country: Literal["FR", "DE", "NL"] = "FR"


class Cat(BaseModel):
    pet_type: Literal["cat"]
    lives: int = Field(ge=0, le=9)


class Dog(BaseModel):
    pet_type: Literal["dog"]
    good_boy: bool


class Person(BaseModel):
    id: uuid.UUID
    name: str = Field(min_length=1, max_length=12)
    email: str = Field(json_schema_extra={"format": "email"})
    born: date
    last_seen: Optional[datetime] = None
    wake_up: time
    age: int = Field(ge=0, le=130)
    height_m: float = Field(gt=0.3, lt=2.8)
    favourite: Color
    priority: Priority
    address: Address
    previous: list[Address] = Field(default_factory=list, max_length=1)
    pet: Union[Cat, Dog] = Field(discriminator="pet_type")
    nickname: Optional[str] = None
    tags: list[str] = Field(min_length=1, max_length=3)
    scores: tuple[int, float]


class Tree(BaseModel):
    label: str = Field(max_length=6)
    children: list["Tree"] = Field(default_factory=list, max_length=2)


class Receipt(BaseModel):
    company: str
    date: date
    address: str
    total: float = Field(ge=0)


@pytest.mark.parametrize("model", [Person, Tree, Receipt, Address, Cat], ids=lambda m: m.__name__)
def test_pydantic_models_parse_and_validate(backend, model):
    generator = constrained.Generator(model, backend, steps=6)
    schema = model.model_json_schema()
    for seed in range(12):
        out = generator("Some document text.", seed=seed, temperature=1.0)
        assert isinstance(out, model)
        _check(json.loads(out.model_dump_json()), schema)


def test_python_types_and_greedy_decoding(backend):
    for spec in (list[int], Optional[Color], dict[str, int], Literal["yes", "no"], tuple[bool, str]):
        out = constrained.generate(spec, "Answer:", model=backend, steps=3)
        from pydantic import TypeAdapter
        assert TypeAdapter(spec).validate_python(out) == out
