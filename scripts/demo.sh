#!/usr/bin/env bash
# Install textdesk into .venv and run it with a demo practice and the built-in carrier simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e .
exec .venv/bin/textdesk serve --demo "$@"
