#!/usr/bin/env bash
# `make bench`: runs every row script in bench/rows/ (in name order), collects the TSV rows they
# print, and renders the one table with `harness bench table` (it prints the table and writes
# results/bench-<id>/bench.md and bench.json). To add a row, add a script to bench/rows/ that
# prints lines of: metric<TAB>unit<TAB>harness<TAB>reference<TAB>reference value<TAB>target<TAB>note
# ('-' for a figure not measured, target >=x or <=x on the ratio harness/reference, or on the
# harness figure when there is no reference). A row script that fails becomes a row saying so.
# Usage: bench/run-bench.sh <harness> <agent> [results]     (root: loop mounts)
# BENCH_QUICK=1: fewer rounds and cells, for tests and a first look (about a minute).
# BENCH_ROWS="50 70": only the row scripts whose names start with one of these (rerun a row alone).
set -euo pipefail
HARNESS=$(realpath "$1"); AGENT=$(realpath "$2"); RESULTS=${3:-results}
export HARNESS AGENT BENCH_QUICK=${BENCH_QUICK:-0}
export HARNESS_CACHE=${HARNESS_CACHE:-$PWD/.cache}
export BENCH_WORK; BENCH_WORK=$(mktemp -d "${TMPDIR:-/tmp}/harness-bench.XXXXXX")
trap 'rm -rf "$BENCH_WORK"' EXIT; trap 'exit 143' INT TERM
rows=$BENCH_WORK/rows.tsv
: > "$rows"
for script in "$(dirname "$0")"/rows/*.sh; do
  name=$(basename "$script" .sh)
  if [ -n "${BENCH_ROWS:-}" ]; then
    wanted=0; for prefix in $BENCH_ROWS; do case $name in "$prefix"*) wanted=1 ;; esac; done
    [ $wanted = 1 ] || continue
  fi
  echo "bench: $name ..." >&2
  start=$(date +%s)
  if out=$("$script" 2> "$BENCH_WORK/$name.log"); then
    printf '%s\n' "$out" > "$BENCH_WORK/$name.tsv"
    # A row the renderer cannot read (a 'null' from jq, a missing column) becomes a row saying so,
    # instead of losing the whole table.
    if "$HARNESS" bench table --check --rows "$BENCH_WORK/$name.tsv" 2> "$BENCH_WORK/$name.check"; then
      cat "$BENCH_WORK/$name.tsv" >> "$rows"
    else
      printf '%s\t\t-\t\t-\t\t%s\n' "$name" "rows unreadable: $(head -1 "$BENCH_WORK/$name.check" | tr '\t' ' ')" >> "$rows"
      cat "$BENCH_WORK/$name.check" "$BENCH_WORK/$name.tsv" >> "$BENCH_WORK/$name.log"
    fi
  else
    rc=$?
    printf '%s\t\t-\t\t-\t\t%s\n' "$name" "row script failed (exit $rc): $(tail -1 "$BENCH_WORK/$name.log" | tr '\t' ' ')" >> "$rows"
    tail -5 "$BENCH_WORK/$name.log" >&2
  fi
  echo "bench: $name took $(( $(date +%s) - start )) s" >&2
done
"$HARNESS" bench table --rows "$rows" --results "$RESULTS" | tee "$BENCH_WORK/table.out"
# Each row script's log (rounds, per-iteration phases) beside the table, for a reader who doubts a figure.
folder=$(sed -n 's/^written: \(.*\)\/bench.md and bench.json$/\1/p' "$BENCH_WORK/table.out")
[ -d "$folder" ] && mkdir -p "$folder/logs" && cp "$BENCH_WORK"/*.log "$folder/logs/"
