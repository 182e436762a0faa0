#!/usr/bin/env bash
# Set everything up and run the whole test suite: lint, types, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
.venv/bin/ruff check geosafe api tests benchmarks scripts
.venv/bin/ruff format --check geosafe api tests benchmarks scripts
.venv/bin/mypy
PYTHONFAULTHANDLER=1 .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
