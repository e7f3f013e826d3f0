#!/usr/bin/env bash
# The whole suite as scripts/test.sh runs it once set up (tests/deploy/test_test_streams.py runs it on a test that hangs).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTEST=(.venv/bin/python -m pytest -p no:cacheprovider -q -ra --durations=25)
# Every test but the `bench` smoke runs (scripts/test.sh, .ci/run), as two pytest processes at once (`--stream`,
# tests/conftest.py): the trainings that use neither PostgreSQL nor Redis beside all the rest. One process alone kept
# about one of CI's two cores busy: it mostly waits on the workers and training children it starts.
# A stream that runs past FITSTUDIO_TEST_STREAM_LIMIT_S (default 50 minutes; the suite takes 20 to 27) is stopped by
# watch_stream: SIGUSR1 first (tests/conftest.py has faulthandler write every thread's stack to the stream's
# FITSTUDIO_TEST_STACKS_FILE, as it does for a test still running 60 s past pytest-timeout's limit), py-spy's stacks
# of the processes the tests started (workers, trainings) after it, then SIGINT
# (pytest prints where it was and its summary), then SIGKILL. So a hang ends as a failure that says where it hung,
# within CI's limit, and never as a silent CI timeout.
limit=${FITSTUDIO_TEST_STREAM_LIMIT_S:-3000}
grace=${FITSTUDIO_TEST_STREAM_GRACE_S:-90}  # from SIGINT to SIGKILL
runs=$(mktemp -d)
status=0
descendants() {  # PID: its processes' pids, children first
  local child
  for child in $(pgrep -P "$1"); do
    echo "$child"
    descendants "$child"
  done
}
dump_descendants() {  # PID: py-spy's stacks of the processes PID started (workers, trainings, `fitstudio up`)
  local child
  for child in $(descendants "$1"); do
    printf '\n--- process %s: %s ---\n' "$child" "$(tr '\0' ' ' <"/proc/$child/cmdline" | cut -c1-200)"
    timeout 20 .venv/bin/py-spy dump --pid "$child" 2>&1 | head -80
  done
}
watch_stream() {  # PID NAME: stop stream NAME's pytest PID once it has run for $limit seconds
  local waited=0
  while kill -0 "$1" 2>/dev/null; do
    if [ "$waited" -ge "$limit" ]; then
      printf '\n*** stream %s ran past %ss: its stacks, then stopped ***\n' "$2" "$limit" >>"$runs/$2.log"
      touch "$runs/$2.stopped"
      kill -USR1 "$1" 2>/dev/null; sleep 5
      dump_descendants "$1" >>"$runs/$2.children" 2>&1 || true
      kill -INT "$1" 2>/dev/null; sleep "$grace"
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
  if [ -s "$runs/$stream.children" ]; then
    printf '\n--- stream %s: the stacks of the processes its tests started ---\n' "$stream"
    cat "$runs/$stream.children"
  fi
  if [ -e "$runs/$stream.stopped" ]; then
    status=1
    # What the stream's workers and trainings last wrote (their logs lie in its --basetemp).
    find "$runs/$stream-tmp" -name '*.log' -mmin -20 2>/dev/null | head -20 | while read -r log; do
      printf '\n--- %s (last 40 lines) ---\n' "$log"
      tail -n 40 "$log"
    done || true  # no --basetemp when the stream stopped before its first test
  fi
done
# Last, where a reader of CI's output tail looks first: each stream's failures and its closing line.
printf '\n==================== summary ====================\n'
for stream in services trainings; do
  grep -E '^(FAILED|ERROR) ' "$runs/$stream.log" | cut -c1-300 | sed "s/^/$stream: /" || true
  # tests/exit_guard.py's lines: what the exit waited for, and whether it had to be cut short
  grep -E "^pytest's exit waits for" "$runs/$stream.log" | cut -c1-400 | sed "s/^/$stream: /" || true
  # and when the exit hung, the stacks of what it waited for
  awk "/^pytest's process hung at exit/{on=1} on" "$runs/$stream.log" | head -n 60 | cut -c1-300 | sed "s/^/$stream: /"
  if [ -e "$runs/$stream.stopped" ]; then
    echo "$stream: stopped after ${limit}s; where its main thread was (all stacks above):"
    awk '/^Current thread/{on=1} on&&/^$/{exit} on' "$runs/$stream.stacks" | head -n 40 | sed "s/^/$stream:   /"
  fi
  echo "$stream: $(grep -E '^=*.* (passed|failed|error|errors|deselected|no tests ran)( |,|$)' "$runs/$stream.log" | tail -n 1)"
done
rm -rf "$runs"
exit "$status"
