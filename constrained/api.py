"""Public API: ``compile``, ``Generator``, ``generate`` and ``load``."""
from __future__ import annotations

import json
import warnings
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter

from .backends.base import Backend
from .bounded_cache import BoundedCache
from .collector import collector_paused
from .compile.json_schema import SchemaCompiler
from .errors import (EmptyPromptError, ModelLoadError, NarrowedSchemaWarning, OutputValidationError,
                     SchemaTooComplexError, UnsatisfiableSchemaError)
from .prompt import instruction
from .sampler import DenoiseStats, SamplingConfig, fill
from .template import TOKENS_PER_CHAR, CanvasTemplate
from .vocabulary import TokenVocabulary

T = TypeVar("T")

_TEMPLATES: BoundedCache = BoundedCache(32)          # (schema, vocabulary, sizes) -> template


def _schema_of(spec) -> tuple[dict, TypeAdapter | None]:
    """JSON Schema for a spec, plus the adapter that turns output into the user's type."""
    if isinstance(spec, (dict, bool)):
        return spec, None
    adapter = TypeAdapter(spec)
    return adapter.json_schema(), adapter


def compile(spec, vocab: TokenVocabulary, max_tokens: int = 2048,  # noqa: A001
            tokens_per_char: float = TOKENS_PER_CHAR) -> CanvasTemplate:
    """Compile a Pydantic model / Python type / JSON Schema dict into a canvas template.

    ``tokens_per_char`` sizes value slots (a backend's preference, see ``Backend``).
    Cached per (schema, vocabulary, max_tokens, tokens_per_char).
    """
    schema, _ = _schema_of(spec)
    key = (json.dumps(schema, sort_keys=True), vocab.content_hash, max_tokens, tokens_per_char)
    template = _TEMPLATES.get(key)
    if template is None:
        try:
            with collector_paused():   # see .collector
                template = _build(schema, vocab, max_tokens, tokens_per_char)
        except RecursionError:
            raise SchemaTooComplexError("the schema nests too deeply to compile") from None
        except MemoryError:
            raise SchemaTooComplexError("the schema's automata do not fit in this machine's memory") from None
        _TEMPLATES[key] = template
    return template


def _build(schema, vocab: TokenVocabulary, max_tokens: int, tokens_per_char: float) -> CanvasTemplate:
    """The template; a slot whose automaton is too large is laid out narrower until it fits
    (valid outputs still, see ``compile.narrowing``), with a warning naming it."""
    compiler = SchemaCompiler(schema)
    refused: dict = {}
    while True:
        try:
            template = CanvasTemplate.build(compiler.layout(), vocab, max_tokens, tokens_per_char, refused)
            break
        except SchemaTooComplexError as exc:
            if not compiler.narrow(exc.pointer, exc.message):
                raise
        except UnsatisfiableSchemaError as exc:        # narrowed until no value is left: still too large
            if exc.pointer not in compiler.narrowed:
                raise
            raise SchemaTooComplexError(f"{compiler.narrowed[exc.pointer][1]} (narrower layouts leave no value)",
                                        exc.pointer) from None
    for pointer, (narrowing, reason) in compiler.narrowed.items():
        warnings.warn(NarrowedSchemaWarning(f"{pointer}: {reason}; laid out narrower: {narrowing.describe()}"),
                      stacklevel=3)
    return template


def load(name_or_path: str, *, trust_remote_code: bool = False, device=None, **kwargs) -> Backend:
    """Build a backend from a local path or hub name (``transformers`` resolves it).

    DiffusionGemma checkpoints get the block-diffusion backend; anything else loads as a
    masked LM (``AutoModelForMaskedLM``; LLaDA/Dream with ``trust_remote_code=True``).
    ``"default"`` is the embedded default model (SmolLM2-135M adapted to diffusion, offline);
    ``"random-tiny"`` the built-in random demo model (offline, meaningless content).
    """
    from .backends.masked import MaskedDiffusionBackend
    if name_or_path == "default":
        from .embedded_model import load_default
        return load_default(device=device)
    if name_or_path == "random-tiny":
        from .backends.tiny import random_backend
        return random_backend()
    from transformers import AutoConfig, AutoModelForMaskedLM, AutoTokenizer
    try:
        config = AutoConfig.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
        if config.model_type == "diffusion_gemma":
            from transformers import DiffusionGemmaForBlockDiffusion

            from .backends.diffusion_gemma import DiffusionGemmaBackend
            model = DiffusionGemmaForBlockDiffusion.from_pretrained(name_or_path, **kwargs)
            return DiffusionGemmaBackend(model, tokenizer, device=device)
        model = AutoModelForMaskedLM.from_pretrained(name_or_path, trust_remote_code=trust_remote_code, **kwargs)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load {name_or_path!r}: {exc}") from exc
    return MaskedDiffusionBackend(model, tokenizer, device=device)


_DEFAULT: Backend | None = None


def default_model() -> Backend:
    """The model used when none is given: the embedded default model, loaded once."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load("default")
    return _DEFAULT


class Generator(Generic[T]):
    """Compile once, generate many: ``Generator(Invoice, model)(document) -> Invoice``."""

    def __init__(self, output_type: type[T] | dict, model: Backend | str | None = None,
                 max_tokens: int = 2048, **sampling: Any) -> None:
        self.backend = default_model() if model is None else load(model) if isinstance(model, str) else model
        self.schema, self._adapter = _schema_of(output_type)
        self.template = compile(self.schema, self.backend.vocab, max_tokens, self.backend.tokens_per_char)
        self.config = SamplingConfig(**{**self.backend.sampling_defaults, **sampling})
        self.last_stats: DenoiseStats | None = None
        self.batch_stats: list[DenoiseStats] = []

    def __call__(self, prompt: str, **sampling: Any) -> T:
        return self.batch([prompt], **sampling)[0]

    def batch(self, prompts: list[str], **sampling: Any) -> list[T]:
        """One output per document; they share every forward pass (ragged lengths are fine).

        Each model sees :func:`constrained.prompt.instruction`: the fields to fill, then the
        document (the wording the default model was trained on).
        """
        for prompt in prompts:
            if not isinstance(prompt, str) or not prompt.strip():
                raise EmptyPromptError("the prompt is empty: pass the document or instruction to extract from")
        config = SamplingConfig(**{**self.config.__dict__, **sampling}) if sampling else self.config
        results = fill(self.template, self.backend, [instruction(self.schema, p) for p in prompts], config, prompts)
        self.last_stats = results[-1][1] if results else None
        self.batch_stats = [stats for _, stats in results]
        return [self._parse(state.text()) for state, _ in results]

    def _parse(self, text: str) -> T:
        try:
            value = json.loads(text)
            return self._adapter.validate_python(value) if self._adapter is not None else value
        except Exception as exc:     # a bug in the compiler, never the user's fault
            raise OutputValidationError(f"generated text failed validation: {text!r}: {exc}") from exc


def generate(output_type: type[T] | dict, prompt: str, model: Backend | str | None = None, **sampling: Any) -> T:
    """Generate one instance of ``output_type`` (Pydantic model, Python type or JSON Schema dict)."""
    return Generator(output_type, model, **sampling)(prompt)
