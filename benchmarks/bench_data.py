"""The shared benchmark data the scripts here read (``../shared/data``): JSONSchemaBench splits,
JSON-Schema-Test-Suite drafts and real tokenizers."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import constrained

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SPLITS = ["Glaiveai2K", "Github_trivial", "Github_easy", "Github_medium", "Github_hard", "Github_ultra",
          "Kubernetes", "Snowplow", "WashingtonPost", "JsonSchemaStore"]


def require(folder: str) -> Path:
    path = DATA / folder
    if not path.exists():
        raise SystemExit(f"{folder} not found under {DATA}")
    return path


def sample(split: str, n: int, seed: int = 0) -> list[dict]:
    """``n`` schemas of a JSONSchemaBench split, drawn by ``seed``, in file order."""
    rows = [json.loads(line) for line in (DATA / "jsonschemabench" / f"{split}.jsonl").open()]
    return [rows[i] for i in sorted(np.random.default_rng(seed).permutation(len(rows))[:n])]


def suite(draft: str) -> list[dict]:
    """Every required (non-optional) test group of a JSON-Schema-Test-Suite draft."""
    rows = [json.loads(line) for line in (DATA / "json-schema-test-suite" / f"{draft}.jsonl").open()]
    return [{"id": f"{r['file']}#{r['group_index']}", "schema": r["schema"]} for r in rows if not r["optional"]]


def load_tokenizer(name: str):
    """(tokenizer, vocabulary) of a real tokenizer, its end-of-sequence token marked special.

    A bare ``tokenizer.json`` leaves ``eos_token`` unset, and Qwen's file here has no specials at
    all: as in ``../shared/notes/peers-measured.md``, ``<|endoftext|>`` is then added (151643 for
    Qwen). Guessing a name from the plain vocabulary instead picks an ordinary piece (Qwen's
    ``</s>`` is text), and a walk that "ends" there inside a string is counted invalid.
    """
    from transformers import PreTrainedTokenizerFast
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(DATA / "tokenizers" / name / "tokenizer.json"))
    specials = {t.content for t in tokenizer.added_tokens_decoder.values() if t.special}
    eos = next((n for n in ("<|endoftext|>", "<eos>", "</s>", "<|im_end|>") if n in specials), "<|endoftext|>")
    tokenizer.add_special_tokens({"eos_token": eos})
    return tokenizer, constrained.TokenVocabulary.from_tokenizer(tokenizer)
