#!/usr/bin/env bash
# Rows: what QEMU offers for a disposable test disk, against the safe setting it replaced
# (aio=threads,cache=none, 2 vCPUs; the default is now aio=threads,cache=unsafe): seed-quick repeats on the ocfs2 race kernel, seconds per repeat (median after the first)
# and whether every repeat still caught the race. A setting is worth keeping only if it is faster
# AND still detects (the README says which the harness uses and why). Medians leave out a cell's
# first repeat (it carries the boot) and last (the fsck). More vCPUs than host cores is not tried:
# under TCG on a loaded 2-core host a 4-vCPU guest panicked at boot ("IO-APIC + timer doesn't work").
set -euo pipefail
N=${BENCH_BACKEND_REPEATS:-10}; [ "$BENCH_QUICK" = 1 ] && N=3
W=$BENCH_WORK/backends; mkdir -p "$W"
measure() { # name extra-args... -> "seconds detect-rate"
  local name=$1; shift
  local out=$W/$name; rm -rf "$out"
  "$HARNESS" run --machine qemu --kernel linux-6.1-ocfs2-race --fs ocfs2 --case seed-quick --repeats "$N" --agent "$AGENT" --results "$out" "$@" >/dev/null 2>"$out.log" || true
  jq -rs 'def median: sort | if length == 0 then 0 elif length % 2 == 1 then .[(length - 1) / 2] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    sort_by(.iteration) as $it | "\([$it[1:-1][] | .seconds] | median) \(($it | map(select(.outcome == "fail")) | length) / ($it | length))"' "$out"/*/cells/*/iteration-*.json
}
read -r base based <<<"$(measure cache-none --backend aio=threads,cache=none)"
for v in "cache-unsafe --backend aio=threads,cache=unsafe" "io_uring --backend aio=io_uring,cache=none" "writeback --backend aio=threads,cache=writeback" "1-vcpu --cpus 1 --backend aio=threads,cache=unsafe"; do
  set -- $v; name=$1; shift
  read -r s d <<<"$(measure "$name" "$@")"
  printf 'seconds per seed-quick repeat, %s vs cache=none\ts\t%s\taio=threads,cache=none, 2 vCPU\t%s\t<=1.0\tocfs2 race kernel, %s repeats; detected %s (cache=none %s)\n' "$*" "$s" "$base" "$N" "$d" "$based"
done
