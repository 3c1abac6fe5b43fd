#!/usr/bin/env bash
# Rows: kernel build times. Warm: `harness kernels build linux-6.1` when the cache has it (a
# cache hit), timed here. Cold and patched-incremental: read from the cache's build records
# (build.json buildSeconds; the slowest record is the tree's cold build, the fastest patched one
# an incremental rebuild in the same tree). BENCH_KERNEL_INCREMENTAL=1 also times a fresh
# incremental build of a throwaway one-line patch on fs/direct-io.c (a new cached variant).
# BENCH_KERNEL_CACHE: the cache whose kernels to time (default HARNESS_CACHE).
set -euo pipefail
export HARNESS_CACHE=${BENCH_KERNEL_CACHE:-$HARNESS_CACHE}
records=$(ls "$HARNESS_CACHE"/kernels/built/*/build.json 2>/dev/null || true)
start=$(date +%s.%N)
if "$HARNESS" kernels build linux-6.1 >"$BENCH_WORK/warm.out" 2>&1; then
  warm=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
  printf 'kernel build linux-6.1, warm (cache hit)\ts\t%s\t\t-\t<=5\ttimed here: harness kernels build linux-6.1\n' "$warm"
else
  printf 'kernel build linux-6.1, warm (cache hit)\ts\t-\t\t-\t<=5\tnot measured: the cache has no linux-6.1 build (%s)\n' "$(tail -1 "$BENCH_WORK/warm.out" | tr '\t' ' ')"
fi
if [ -n "$records" ]; then
  cold=$(jq -s 'map(.buildSeconds) | max' $records)
  inc=$(jq -s 'map(select(.origin | test("patches"))) | map(.buildSeconds) | min // "-"' $records)
  printf 'kernel build, cold (tree from scratch)\ts\t%s\t\t-\t\tslowest build record in the cache (%s records)\n' "$cold" "$(echo "$records" | wc -l)"
  printf 'kernel build, patched incremental\ts\t%s\t\t-\t<=60\tfastest patched build record in the cache (same tree)\n' "$inc"
else
  printf 'kernel build, cold (tree from scratch)\ts\t-\t\t-\t\tnot measured in this run: no build records; measure with an empty cache: time harness kernels build linux-6.1\n'
fi
if [ "${BENCH_KERNEL_INCREMENTAL:-0}" = 1 ]; then
  patch=$BENCH_WORK/bench-throwaway.patch
  # A comment line in fs/direct-io.c (the file the real fix patches): kbuild recompiles it and
  # relinks. The timestamp makes it a new variant each time (cache gc --unused-for removes them).
  printf -- '--- a/fs/direct-io.c\n+++ b/fs/direct-io.c\n@@ -1,3 +1,4 @@\n // SPDX-License-Identifier: GPL-2.0-only\n+/* bench: throwaway incremental rebuild %s */\n /*\n  * fs/direct-io.c\n' "$(date +%s)" > "$patch"
  start=$(date +%s.%N)
  "$HARNESS" kernels build linux-6.1 --patch "$patch" >&2
  printf 'kernel build, patched incremental (timed here)\ts\t%s\t\t-\t<=60\tone-line throwaway patch on fs/direct-io.c\n' "$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')"
fi
