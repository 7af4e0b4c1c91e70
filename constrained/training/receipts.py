"""Real scanned receipts (SROIE 2019 transcripts) as extraction examples.

A fixed fifth of the receipts, chosen by a hash of their id, never enters training: it is
what ``benchmarks/accuracy.py`` reports on.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import BaseModel, Field

from .examples import Example

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sroie" / "receipts.jsonl"


class Receipt(BaseModel):
    """What the quickstart and the receipts benchmark extract."""
    company: str = Field(description="name of the shop or company that issued the receipt")
    date: str = Field(description="date of the receipt, as written")
    address: str = Field(description="full address of the shop")
    total: str = Field(description="total amount paid, digits only, as written")


def is_held_out(receipt_id: str) -> bool:
    return hashlib.sha256(f"sroie-heldout:{receipt_id}".encode()).digest()[0] < 256 // 5


def document(lines: list[dict]) -> str:
    return "\n".join(line["text"] for line in lines)


def load(path: Path = DATA, held_out: bool | None = None) -> list[Example]:
    """Receipts from ``path``: all, only the held-out fifth (True) or only the rest (False)."""
    if not path.exists():
        return []
    schema = Receipt.model_json_schema()
    out = []
    for line in path.read_text().splitlines():
        r = json.loads(line)
        if held_out is not None and is_held_out(r["id"]) != held_out:
            continue
        fields = {k: r["fields"].get(k, "") for k in Receipt.model_fields}
        out.append(Example(schema, document(r["lines"]), fields, f"sroie/{r['id']}"))
    return out
