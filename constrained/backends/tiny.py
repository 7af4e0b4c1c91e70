"""Small tokenizers and randomly initialised masked LMs, built in-process with no downloads.

They drive the test suite and the offline demo: validity by construction does not depend
on the model, so a random model must already produce outputs that validate.
"""
from __future__ import annotations

from functools import lru_cache

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import ModernBertConfig, ModernBertForMaskedLM, PreTrainedTokenizerFast

from .masked import MaskedDiffusionBackend

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_CORPUS = [
    '{"name": "Ada Lovelace", "age": 36, "email": "ada@example.org", "tags": ["math", "code"]}',
    '{"id": "3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b", "total": 129.95, "paid": true, "note": null}',
    '{"date": "2024-03-15", "time": "09:30:00Z", "items": [{"sku": "A-1", "qty": 2}], "ok": false}',
    "Invoice INV-2041 from Acme Tools Ltd, dated 3 March 2024, total EUR 1,250.00. Ünïcödé ✓ 日本",
    'SELECT name, salary FROM employees WHERE salary > 50000 ORDER BY name;',
    '{"path": "C:\\\\tmp", "quote": "say \\"hi\\"",\n\t"tab": "a\\tb"}',
]


@lru_cache(maxsize=None)
def build_tokenizer(kind: str = "byte_level", vocab_size: int = 400) -> PreTrainedTokenizerFast:
    """A real BPE tokenizer trained on JSON-like text (merges such as ``":`` and ``",`` exist).

    kind: "byte_level" (GPT-2 style) or "sentencepiece" (Metaspace ``▁`` with byte fallback).
    """
    if kind == "byte_level":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
    elif kind == "sentencepiece":
        tok = Tokenizer(models.BPE(byte_fallback=True))
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse(), decoders.Metaspace()])
        alphabet = sorted(set("".join(_CORPUS).replace(" ", "\u2581")))
    else:
        raise ValueError(f"unknown tokenizer kind {kind!r}")
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, initial_alphabet=alphabet,
                                  show_progress=False)
    tok.train_from_iterator(_CORPUS * 20, trainer)
    if kind == "sentencepiece":
        tok.add_tokens([f"<0x{b:02X}>" for b in range(256)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


def random_model(tokenizer, seed: int = 0, hidden: int = 64, layers: int = 2) -> ModernBertForMaskedLM:
    config = ModernBertConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
        num_attention_heads=2, max_position_embeddings=4096, global_attn_every_n_layers=2, local_attention=64,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id, cls_token_id=tokenizer.cls_token_id,
        sep_token_id=tokenizer.sep_token_id, mask_token_id=tokenizer.mask_token_id)
    torch.manual_seed(seed)
    return ModernBertForMaskedLM(config).eval()


def random_backend(kind: str = "byte_level", seed: int = 0) -> MaskedDiffusionBackend:
    """A masked-diffusion backend over a random tiny model (valid output, meaningless content)."""
    tokenizer = build_tokenizer(kind)
    return MaskedDiffusionBackend(random_model(tokenizer, seed), tokenizer)


def random_diffusion_gemma(tokenizer, seed: int = 0, canvas_length: int = 32):
    """A text-only DiffusionGemma with a tiny random config (the real one is 26B parameters)."""
    from transformers import DiffusionGemmaConfig, DiffusionGemmaForBlockDiffusion
    V = len(tokenizer)
    config = DiffusionGemmaConfig(
        text_config=dict(vocab_size=V, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=32,
                         layer_types=["sliding_attention", "full_attention"], sliding_window=64,
                         per_layer_config={1: {"head_dim": 32, "num_key_value_heads": 1}},
                         num_experts=4, top_k_experts=2, moe_intermediate_size=32, max_position_embeddings=4096,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.sep_token_id,
                         bos_token_id=tokenizer.cls_token_id),
        vision_config=dict(model_type="gemma4_vision", hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                           num_attention_heads=2, num_key_value_heads=1, head_dim=8, patch_size=4,
                           position_embedding_size=8),
        image_token_id=V - 1, boi_token_id=V - 2, eoi_token_id=V - 3, canvas_length=canvas_length)
    torch.manual_seed(seed)
    return DiffusionGemmaForBlockDiffusion(config).eval()


def random_diffusion_gemma_backend(kind: str = "byte_level", seed: int = 0, canvas_length: int = 32):
    from .diffusion_gemma import DiffusionGemmaBackend
    tokenizer = build_tokenizer(kind)
    return DiffusionGemmaBackend(random_diffusion_gemma(tokenizer, seed, canvas_length), tokenizer)


def random_causal_lm(tokenizer, seed: int = 0, hidden: int = 32, layers: int = 2):
    """A tiny random Llama (the default model's architecture), for the adapted-causal backend."""
    from transformers import LlamaConfig, LlamaForCausalLM
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=4096, tie_word_embeddings=True,
                         pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    return LlamaForCausalLM(config).eval()
