#!/usr/bin/env bash
# Rows: the flagship (`make demo`'s two validations, kernels already built) wall time, and what the
# default residual bound (5 %: 59 clean patched runs) costs against a loose one (30 %: 9 runs), same
# pair, same run. BENCH_QUICK skips it (minutes).
set -euo pipefail
[ "$BENCH_QUICK" = 1 ] && { printf 'flagship warm wall time (make demo)\ts\t-\t-\t-\t<=300\tnot run with BENCH_QUICK=1\n'; exit 0; }
W=$BENCH_WORK/flagship; mkdir -p "$W"
ocfs2() { "$HARNESS" validate --kernel linux-6.1-ocfs2-race --patch kernels/patches/direct-io-serialise-sub-block-zeroing.patch \
    --control linux-6.1 --fs ocfs2 --batch 30 --max-repeats 200 --agent "$AGENT" --results "$W/r" "$@" >>"$W/log" 2>&1 || true; }
ext4() { "$HARNESS" validate --kernel linux-6.1-ext4-race --with-kernel linux-6.1 --fs ext4 --batch 30 --max-repeats 200 --agent "$AGENT" --results "$W/r" >>"$W/log" 2>&1 || true; }
t0=$(date +%s.%N); ocfs2; t1=$(date +%s.%N); ext4; t2=$(date +%s.%N)
ocfs2 --max-residual 0.3; t3=$(date +%s.%N)
verdicts=$(jq -r '.pairs[] | "\(.filesystem)/\(.case) \(.verdict)"' "$W"/r/*/validation.json | tr '\n' ',' | sed 's/,$//')
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v v="$verdicts" 'BEGIN {
  printf "flagship warm wall time (make demo)\ts\t%.0f\t-\t-\t<=300\tocfs2 pair %.0f s + ext4 pair %.0f s; verdicts %s\n", c - a, b - a, c - b, v
  printf "ocfs2 pair at the default 5 %% bound vs a 30 %% bound\ts\t%.0f\t--max-residual 0.3\t%.0f\t-\tthe cost of 59 clean patched runs instead of 9\n", b - a, d - c }'
