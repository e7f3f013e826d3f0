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
# Without an option (.ci/run): every test but the `bench` smoke runs, as two pytest processes at once (`--stream`,
# tests/conftest.py): the trainings that use neither PostgreSQL nor Redis beside all the rest. One process alone kept
# about one of CI's two cores busy: it mostly waits on the workers and training children it starts.
# A stream that runs past FITSTUDIO_TEST_STREAM_LIMIT_S (default 50 minutes; the suite takes 20 to 27) is stopped by
# watch_stream: SIGUSR1 first (tests/conftest.py has faulthandler write every thread's stack to the stream's
# FITSTUDIO_TEST_STACKS_FILE, as it does for a test still running 60 s past pytest-timeout's limit), then SIGINT
# (pytest prints where it was and its summary), then SIGKILL. So a hang ends as a failure that says where it hung,
# within CI's limit, and never as a silent CI timeout.
limit=${FITSTUDIO_TEST_STREAM_LIMIT_S:-3000}
runs=$(mktemp -d)
status=0
watch_stream() {  # PID NAME: stop stream NAME's pytest PID once it has run for $limit seconds
  local waited=0
  while kill -0 "$1" 2>/dev/null; do
    if [ "$waited" -ge "$limit" ]; then
      printf '\n*** stream %s ran past %ss: its stacks, then stopped ***\n' "$2" "$limit" >>"$runs/$2.log"
      touch "$runs/$2.stopped"
      kill -USR1 "$1" 2>/dev/null; sleep 5
      kill -INT "$1" 2>/dev/null; sleep 90
      if kill -0 "$1" 2>/dev/null; then kill -KILL "$1"; fi
      return 0
    fi
    sleep 5
    waited=$((waited + 5))
  done
}
FITSTUDIO_TEST_STACKS_FILE="$runs/services.stacks" \
  "${PYTEST[@]}" -m "not bench" --stream services --basetemp "$runs/services-tmp" "$@" >"$runs/services.log" 2>&1 &
services=$!
watch_stream "$services" services >/dev/null 2>&1 &
watchers=$!
FITSTUDIO_TEST_STACKS_FILE="$runs/trainings.stacks" \
  FITSTUDIO_TEST_REDIS_URL="${FITSTUDIO_TEST_REDIS_URL_TRAININGS:-redis://127.0.0.1:6379/14}" \
  "${PYTEST[@]}" -m "not bench" --stream trainings --basetemp "$runs/trainings-tmp" "$@" >"$runs/trainings.log" 2>&1 &
trainings=$!
watch_stream "$trainings" trainings >/dev/null 2>&1 &
watchers="$watchers $!"
ran=0
for pid in "$services" "$trainings"; do
  code=0
  wait "$pid" || code=$?
  if [ "$code" = 5 ]; then continue; fi  # pytest's "no tests collected": the paths given hold none of that stream
  ran=1
  if [ "$code" != 0 ]; then status=$code; fi
done
if [ "$ran" = 0 ]; then status=5; fi
kill $watchers 2>/dev/null || true
for stream in services trainings; do
  printf '\n==================== stream: %s ====================\n' "$stream"
  cat "$runs/$stream.log"
  if [ -s "$runs/$stream.stacks" ]; then
    printf '\n--- stream %s: the stacks of a test that hung ---\n' "$stream"
    cat "$runs/$stream.stacks"
  fi
  if [ -e "$runs/$stream.stopped" ]; then
    status=1
    # What the stream's workers and trainings last wrote (their logs lie in its --basetemp).
    find "$runs/$stream-tmp" -name '*.log' -mmin -20 2>/dev/null | head -20 | while read -r log; do
      printf '\n--- %s (last 40 lines) ---\n' "$log"
      tail -n 40 "$log"
    done
  fi
done
rm -rf "$runs"
exit "$status"
