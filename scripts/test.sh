#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine with Python 3.11, then run the whole suite.
# PostgreSQL and Redis tests need FITSTUDIO_TEST_PG_URL / FITSTUDIO_TEST_REDIS_URL (defaults: 127.0.0.1);
# with CI=true they fail instead of skipping when a service is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS='[test]' bash scripts/setup.sh  # system packages (bubblewrap), .venv, fitstudio with its test extras
# tests/deploy runs `docker compose config` on docker-compose.yml: where no compose client runs (neither the
# `docker compose` plugin nor `docker-compose`), install Debian's docker-compose (root or passwordless sudo).
if ! docker compose version >/dev/null 2>&1 && ! docker-compose version >/dev/null 2>&1 \
  && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    docker-compose; } >/dev/null 2>&1 || echo "note: could not install docker-compose; its test will skip" >&2
fi
# The browser tests (tests/webui) drive Debian's Chromium through Playwright; no browser is downloaded.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium; } >/dev/null 2>&1 \
    || echo "note: could not install chromium; the browser test fails when CI=true, skips otherwise" >&2
fi
# The README's curl walkthrough (tests/e2e/test_readme_up.py runs it) needs curl and jq.
if ! { command -v curl && command -v jq; } >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    curl jq; } >/dev/null 2>&1 || echo "note: could not install curl and jq; the README walkthrough test fails" >&2
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports  # the layers: [tool.importlinter] in pyproject.toml, docs/architecture.md
PYTEST=(.venv/bin/python -m pytest -p no:cacheprovider -q -ra --durations=25)
# --fast: the inner loop, without the tests that train real models (marker `slow`) or start real worker processes
# (marker `e2e`, tests/conftest.py) and the benchmark scripts' own smoke runs (marker `bench`, minutes each;
# tests/bench/test_bench_smoke.py). --bench: only the `bench` smoke runs.
case "${1:-}" in
  --fast) shift; exec "${PYTEST[@]}" -m "not slow and not e2e and not bench" "$@" ;;
  --bench) shift; exec "${PYTEST[@]}" -m "bench" "$@" ;;
esac
# Without an option (.ci/run): every test but the `bench` smoke runs, as two concurrent streams (scripts/streams.sh).
exec bash scripts/streams.sh "$@"
