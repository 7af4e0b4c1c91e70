"""Extract a typed invoice from a document: the output is a valid `Invoice`, by construction.

Runs offline on a CPU. Until trained default weights ship, the default model is the
built-in random demo model, so the values are meaningless but always valid.
"""
from datetime import date
from enum import Enum
from typing import Optional

import torch
from pydantic import BaseModel, Field

import constrained


class Currency(str, Enum):
    EUR = "EUR"
    USD = "USD"


class LineItem(BaseModel):
    description: str = Field(max_length=24)
    quantity: int = Field(ge=1, le=1000)


class Invoice(BaseModel):
    number: str = Field(max_length=16)
    issued: date
    vendor: str
    total: float = Field(ge=0)
    currency: Currency
    paid: bool
    items: list[LineItem] = Field(max_length=2)
    note: Optional[str] = None


DOCUMENT = """Invoice INV-2041 from Acme Tools Ltd, dated 3 March 2024.
2 x cordless drill, 1 x drill bits set. Total EUR 1,250.00, paid by card."""

if __name__ == "__main__":
    torch.set_num_threads(1)
    generator = constrained.Generator(Invoice, steps=8)
    invoice = generator(DOCUMENT)
    assert isinstance(invoice, Invoice)
    print(invoice.model_dump_json(indent=2))
    s = generator.last_stats
    print(f"canvas {generator.template.length} tokens ({generator.template.n_pinned} pinned), "
          f"{s.forwards} forwards, {s.tokens_per_forward:.1f} tokens/forward")
