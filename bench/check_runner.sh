#!/usr/bin/env bash
# ctest's checks of the benchmark runner: a smoke run writes a complete results folder,
# and bad input gets a usage message or a clear error, exit code 2, and leaves nothing
# behind.
#
#   check_runner.sh RUNNER WORKDIR smoke|bad-input
set -uo pipefail
runner=$1
work=$2
what=$3
fail() { echo "check_runner: FAILED: $*" >&2; exit 1; }

rm -rf "$work" && mkdir -p "$work" || fail "cannot create $work"

case "$what" in
smoke)
  "$runner" --smoke --out "$work/results" || fail "the smoke run exited with $?"
  for f in REPORT.md busy-threads.svg idle-threads.trace.json micro_bench.json future_size.json \
           sweep-cpu.svg; do
    [ -s "$work/results/$f" ] || fail "results/$f is missing or empty"
  done
  grep -q '^## 1. Busy vs idle' "$work/results/REPORT.md" || fail "REPORT.md lacks experiment 1"
  grep -q '^## 5. Micro-benchmarks' "$work/results/REPORT.md" || fail "REPORT.md lacks experiment 5"
  if command -v python3 >/dev/null; then
    python3 -m json.tool "$work/results/busy-threads.trace.json" >/dev/null || fail "trace is not JSON"
    python3 -m json.tool "$work/results/micro_bench.json" >/dev/null || fail "benchmark JSON broken"
  fi
  # A second run replaces the folder as a whole.
  "$runner" --smoke --only 1 --no-python --out "$work/results" || fail "the second run failed"
  [ ! -e "$work/results/micro_bench.json" ] || fail "the old results were not replaced"
  leftovers=$(find "$work" -maxdepth 1 -name '.results.*' | wc -l)
  [ "$leftovers" -eq 0 ] || fail "temporary folders were left behind"
  ;;
bad-input)
  expect2() {
    local out status
    out=$("$runner" "$@" 2>&1 >/dev/null)
    status=$?
    [ "$status" -eq 2 ] || fail "'$*' exited with $status, not 2"
    [ -n "$out" ] || fail "'$*' printed no message on stderr"
    echo "ok: $* -> $(echo "$out" | head -n 1)"
  }
  expect2 --bogus --out "$work/r"
  expect2 --workers 0 --out "$work/r"
  expect2 --workers -3 --out "$work/r"
  expect2 --workers two --out "$work/r"
  expect2 --workers
  expect2 --only 7 --out "$work/r"
  expect2 --only 1,x --out "$work/r"
  expect2 --smoke --out /proc/cf-results-cannot-be-here
  touch "$work/a-file"
  expect2 --smoke --out "$work/a-file"
  expect2 --smoke --out "$work/a-file/results"
  [ "$(ls -A "$work")" = "a-file" ] || fail "bad input left files behind: $(ls -A "$work")"
  "$runner" --help | grep -q '^usage: cf_experiments' || fail "--help prints no usage"
  ;;
*) fail "unknown check $what" ;;
esac
echo "check_runner: $what passed"
