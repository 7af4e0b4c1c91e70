"""One training or evaluation example, whatever task it comes from."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Example:
    """Extract ``answer`` (a JSON value valid for ``schema``) from ``document``."""
    schema: dict
    document: str
    answer: Any
    source: str = ""      # e.g. "sroie/002" or "synthetic/invoice/prose"
