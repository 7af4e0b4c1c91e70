#!/usr/bin/env bash
# Install if needed, then run the test suite (1 torch thread, Triton in interpreter mode).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMP_NUM_THREADS=1 TRITON_INTERPRET=1
exec .venv/bin/python -m pytest "$@"
