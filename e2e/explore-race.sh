#!/usr/bin/env bash
# make e2e: `harness explore` finds the sub-block zeroing race on each race kernel by itself and
# shrinks it to a minimal case; that case FAILs again under `harness run` on the race kernel and
# PASSes on stock linux-6.1. A race is not fixed by a seed, so this is not a CI test.
# Usage: e2e/explore-race.sh HARNESS AGENT [BUDGET]   (per kernel; default 20m)
set -uo pipefail
harness=$1 agent=$2 budget=${3:-20m}
status=0
for pair in "linux-6.1-ext4-race ext4" "linux-6.1-ocfs2-race ocfs2"; do
  read -r kernel fs <<<"$pair"
  echo "== explore $kernel / $fs (budget $budget)"
  start=$(date +%s)
  out=$("$harness" explore --machine qemu --kernel "$kernel" --fs "$fs" --budget "$budget" --max-shrinks 1 --agent "$agent" | tee -a /dev/stderr)  # -a: a file on stderr is appended to, not truncated
  rc=$?
  folder=$(sed -n 's/^results: //p' <<<"$out")
  if [ "$rc" != 1 ] || [ -z "$folder" ]; then echo "FAIL: explore found nothing on $kernel (exit $rc)"; status=1; continue; fi
  repro=$(ls "$folder"/explore/reproducers/*.yaml 2>/dev/null | head -1)
  if [ -z "$repro" ] || grep -q "NOT REPRODUCED" "$repro"; then echo "FAIL: no shrunk reproducer in $folder"; status=1; continue; fi
  first=$(jq -r '[.workloads[] | select(.signature != null)][0].index' "$folder/explore/explore.json")
  ios=$(sed -n 's/^  count: //p' "$repro")
  echo "   first failing workload: #$first; reproducer $repro: $ios IO(s); explore took $(( $(date +%s) - start )) s"
  sed -n '1,9p' "$repro"
  "$harness" run --machine qemu --kernel "$kernel" --fs "$fs" --case "$repro" --repeats 10 --agent "$agent" >/dev/null; rc=$?
  [ "$rc" = 1 ] && echo "   reproducer on $kernel: FAIL (as it must)" || { echo "FAIL: reproducer exit $rc on $kernel, expected 1"; status=1; }
  "$harness" run --machine qemu --kernel linux-6.1 --fs "$fs" --case "$repro" --repeats 10 --agent "$agent" >/dev/null; rc=$?
  [ "$rc" = 0 ] && echo "   reproducer on linux-6.1: PASS (as it must)" || { echo "FAIL: reproducer exit $rc on linux-6.1, expected 0"; status=1; }
done
exit $status
