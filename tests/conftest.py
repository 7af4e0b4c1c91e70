"""Test setup: Triton in interpreter mode (set before any @triton.jit runs) and one torch thread."""
import os

os.environ.setdefault("TRITON_INTERPRET", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["CONSTRAINED_CACHE"] = __import__("tempfile").mkdtemp(prefix="constrained-cache-")  # hermetic

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, skipping the test with a clear message when absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


@pytest.fixture(scope="session", params=["byte_level", "sentencepiece"])
def backend(request):
    from constrained.backends.tiny import random_backend
    return random_backend(request.param)
