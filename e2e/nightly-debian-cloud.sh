#!/usr/bin/env bash
# make e2e-nightly: the shipped nightly plan (Debian's newest 6.1 and 6.12 cloud kernels on ext4,
# xfs and btrfs, seed-quick) run for real under QEMU, twice, into a fresh results folder: the first
# nightly has no baseline, the second must find it and call every cell SAME (Debian's kernels pass).
# Not CI: 12 guest boots and 84 seed-quick repeats a night under TCG.
# Usage: e2e/nightly-debian-cloud.sh HARNESS AGENT [RESULTS]
set -uo pipefail
harness=$1 agent=$2 results=${3:-$(mktemp -d /tmp/harness-nightly-e2e.XXXXXX)}
plan=cases/nightly/debian-cloud.yaml
status=0
for night in 1 2; do
  start=$(date +%s)
  out=$("$harness" nightly --plan "$plan" --results "$results" --agent "$agent" | tee -a /dev/stderr)
  rc=$?
  record=$(sed -n 's/^results: //p' <<<"$out")
  echo "== night $night: exit $rc in $(( $(date +%s) - start )) s ($record)"
  [ "$rc" = 0 ] && [ -n "$record" ] || { echo "FAIL: night $night exit $rc"; status=1; continue; }
  jq -r '.kernels[] | "   \(.name): \(.identity)"' "$record"
  if [ "$night" = 1 ]; then
    [ "$(jq -r '[.comparisons[].word] | unique | join(",")' "$record")" = new ] || { echo "FAIL: the first night compared with something"; status=1; }
  else
    words=$(jq -r '[.comparisons[].word] | unique | join(",")' "$record")
    [ "$words" = same ] && [ "$(jq -r '.baseline.nightlyId != null' "$record")" = true ] \
      && echo "   every cell SAME against $(jq -r .baseline.nightlyId "$record")" \
      || { echo "FAIL: second night's words: $words"; status=1; }
  fi
done
exit $status
