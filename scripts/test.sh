#!/usr/bin/env bash
# Install what the tests need into .venv and run the whole suite: on SQLite, then on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'

status=0
echo "== tests on SQLite =="
TEXTDESK_TEST_DB=sqlite .venv/bin/pytest "$@" || status=$?
echo "== tests on PostgreSQL (${TEXTDESK_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}) =="
TEXTDESK_TEST_DB=postgresql .venv/bin/pytest -m "not once" "$@" || status=$?
exit $status
