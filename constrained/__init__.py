"""constrained: structured output from diffusion language models, valid by construction."""
from .api import Generator, compile, default_model, generate, load
from .errors import (CanvasTooSmallError, ConstrainedError, ContextTooLongError, EmptyPromptError,
                     InvalidPatternError, ModelLoadError, NarrowedSchemaWarning, OutputValidationError, SchemaError,
                     SchemaTooComplexError, SlotFullWarning, UnsatisfiableSchemaError, UnsupportedSchemaError)
from .sampler import SamplingConfig
from .vocabulary import TokenVocabulary

__all__ = [
    "generate", "Generator", "compile", "load", "default_model", "SamplingConfig", "TokenVocabulary",
    "ConstrainedError", "SchemaError", "UnsupportedSchemaError", "UnsatisfiableSchemaError",
    "InvalidPatternError", "SchemaTooComplexError", "CanvasTooSmallError", "ContextTooLongError",
    "EmptyPromptError", "ModelLoadError", "OutputValidationError", "SlotFullWarning",
    "NarrowedSchemaWarning",
]
