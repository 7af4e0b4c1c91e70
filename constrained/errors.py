"""Typed errors: each names what is wrong and where, so users never read a deep traceback."""
from __future__ import annotations


class ConstrainedError(Exception):
    """Base class of every error this package raises on purpose."""


class SchemaError(ConstrainedError, ValueError):
    """A problem with a spec, located by a JSON pointer into it."""

    def __init__(self, message: str, pointer: str = "", keyword: str | None = None) -> None:
        self.message = message
        self.pointer = pointer or "#"
        self.keyword = keyword
        where = f" at {self.pointer}" if keyword is None else f" (keyword '{keyword}' at {self.pointer})"
        super().__init__(message + where)


class UnsupportedSchemaError(SchemaError):
    """The schema uses a keyword or form this compiler does not handle (yet)."""


class UnsatisfiableSchemaError(SchemaError):
    """No JSON value satisfies the schema (e.g. minLength > maxLength, an empty enum)."""


class InvalidPatternError(SchemaError):
    """A ``pattern`` is not a regular expression we can compile."""


class SchemaTooComplexError(ConstrainedError, ValueError):
    """The automaton for a spec grew past the size limit (at ``pointer``, where known)."""

    def __init__(self, message: str, pointer: str | None = None) -> None:
        self.message = message
        self.pointer = pointer
        super().__init__(message + ("" if pointer is None else f" at {pointer}"))


class CanvasTooSmallError(ConstrainedError, ValueError):
    """The canvas cannot hold the shortest valid output (e.g. a large minItems or minLength)."""


class ContextTooLongError(ConstrainedError, ValueError):
    """The prompt plus the canvas do not fit in the model's positions."""


class EmptyPromptError(ConstrainedError, ValueError):
    """generate() was called with an empty prompt."""


class ModelLoadError(ConstrainedError, OSError):
    """A model could not be loaded (path missing, no mask token, unsupported architecture)."""


class OutputValidationError(ConstrainedError):
    """The decoded output failed validation; this is a bug in constrained, please report it."""


class NarrowedSchemaWarning(UserWarning):
    """A value was too large for one automaton and was laid out narrower: outputs still
    validate, but some valid values (long strings, many items, deep optional members)
    cannot be produced there."""


class SlotFullWarning(UserWarning):
    """A value used its whole slot even after growing: it may have been cut short."""
