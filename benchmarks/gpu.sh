#!/usr/bin/env bash
# The GPU figures in one run, from the repository root (benchmarks/gpu.py --help for the
# options; arguments pass through). Uses .venv/bin/python where there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
exec "$PY" benchmarks/gpu.py "$@"
