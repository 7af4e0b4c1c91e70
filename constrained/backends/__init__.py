"""Model backends: one small interface, one module per kind of diffusion model."""
from .base import Backend
from .masked import MaskedDiffusionBackend

__all__ = ["Backend", "MaskedDiffusionBackend"]
