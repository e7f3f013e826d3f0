#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine with Python 3.11, then run the whole suite.
# PostgreSQL and Redis tests need FITSTUDIO_TEST_PG_URL / FITSTUDIO_TEST_REDIS_URL (defaults: 127.0.0.1);
# with CI=true they fail instead of skipping when a service is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -p no:cacheprovider -q -ra "$@"
