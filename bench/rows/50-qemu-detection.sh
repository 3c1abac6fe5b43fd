#!/usr/bin/env bash
# Rows: how fast each case catches the race on the race kernels under QEMU (TCG on these hosts):
# corrupt repeats per repeat, wall seconds per repeat, time to first detection (boot included) and
# detection per second of wall time, for validate's seed-quick case against the seed case and
# generic/240's own pattern (2 in flight); then where a seed-quick repeat's time goes (median of
# each phase) and boot to agent start. Every figure comes from the iteration records of the runs
# made here (cells/*/iteration-*.json: outcome, seconds, phases).
set -euo pipefail
N_QUICK=20; N_SEED=3; N_240=10; [ "$BENCH_QUICK" = 1 ] && { N_QUICK=3; N_SEED=1; N_240=2; }
W=$BENCH_WORK/detect; mkdir -p "$W"

run() { # kernel fs case repeats -> folder of the run
  local out=$W/$1-$3
  rm -rf "$out"
  "$HARNESS" run --machine qemu --kernel "$1" --fs "$2" --case "$3" --repeats "$4" --agent "$AGENT" --results "$out" >/dev/null 2>"$out.log" || true
  ls -d "$out"/*/ | head -1
}
# One line per run: detect-rate, median s/repeat (iterations after the first, which carries the boot),
# s to first failing repeat (from the cell's start), corrupted share of the IOs' blocks (after-fsync findings / IOs).
stats() {
  jq -rs '
    def median: sort | if length == 0 then 0 elif length % 2 == 1 then .[(length - 1) / 2] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    sort_by(.iteration) as $it
    | ($it | map(select(.outcome == "fail" or .outcome == "crash")) | length) as $fails
    | ($it | length) as $n
    | ([$it[1:][] | .seconds] | if length == 0 then [$it[0].seconds] else . end | median) as $per
    | ([$it | to_entries[] | select(.value.outcome == "fail" or .value.outcome == "crash") | .key] | first) as $k
    | (if $k == null then null else ([$it[0:($k + 1)][] | .seconds] | add) end) as $first
    | ([$it[] | ((.passes // []) | map(select(.pass == "after-fsync")) | first | .findingCount // 0) / (if .ioCount > 0 then .ioCount else 1 end)] | median) as $share
    | "\($fails / $n) \($per) \($first // "-") \($share) \($n)"' "$1"/cells/*/iteration-*.json
}
row() { # metric unit harness refname refvalue target note
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@"
}
for pair in "linux-6.1-ocfs2-race ocfs2" "linux-6.1-ext4-race ext4"; do
  set -- $pair; kernel=$1; fs=$2
  q=$(stats "$(run "$kernel" "$fs" seed-quick "$N_QUICK")"); read -r qd qs qf qshare qn <<<"$q"
  s=$(stats "$(run "$kernel" "$fs" seed "$N_SEED")"); read -r sd ss sf sshare sn <<<"$s"
  g=$(stats "$(run "$kernel" "$fs" generic-240 "$N_240")"); read -r gd gs gf gshare gn <<<"$g"
  dps() { awk -v d="$1" -v s="$2" 'BEGIN { printf "%.4f", (s > 0 ? d / s : 0) }'; }
  row "corrupt repeats per repeat, $fs race: seed-quick vs seed" "share" "$qd" "seed" "$sd" ">=1.0" "$qn and $sn repeats; blocks corrupted per IO: seed-quick $qshare, seed $sshare"
  row "wall seconds per repeat, $fs race: seed-quick vs seed" "s" "$qs" "seed" "$ss" "<=0.25" "median over repeats after the first (it carries the boot)"
  row "time to first detection, $fs race: seed-quick vs seed" "s" "$qf" "seed" "$sf" "<=1.0" "from the cell's start, boot included"
  row "detection per second, $fs race: seed-quick vs seed" "1/s" "$(dps "$qd" "$qs")" "seed" "$(dps "$sd" "$ss")" ">=1.0" "corrupt repeats per repeat / seconds per repeat"
  row "detection per second, $fs race: seed-quick vs generic-240" "1/s" "$(dps "$qd" "$qs")" "generic-240 (2 in flight)" "$(dps "$gd" "$gs")" ">=1.0" "generic-240: $gd of its $gn repeats corrupt, $gs s each; blocks corrupted per IO $gshare"
done
# Where a seed-quick repeat's time goes (ocfs2 race run above): median of each phase over its repeats after the first.
folder=$(ls -d "$W"/linux-6.1-ocfs2-race-seed-quick/*/ | head -1)
jq -rs '
  def median: sort | if length == 0 then 0 elif length % 2 == 1 then .[(length - 1) / 2] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  (sort_by(.iteration)) as $it
  | ($it[0].phases | map(select(.name == "boot")) | first | .seconds) as $boot
  | ($it[0].phases | map(select(.name == "mount" or .name == "agent-write start")) | map(.seconds) | add) as $start
  | "boot to agent start, built 6.1 under TCG\ts\t\(($boot // 0) + ($start // 0))\t-\t-\t<=10\tboot \($boot // 0 | . * 100 | round / 100) s (QEMU start to the guest'"'"'s marker) + mount and first agent start",
    ( [$it[1:][] | .phases[]] | group_by(.name)[] | "phase \(.[0].name), seed-quick repeat, ocfs2 race\ts\t\(map(.seconds) | median)\t-\t-\t-\tmedian over \(length) repeats" ),
    "seed-quick repeat, ocfs2 race, wall\ts\t\([$it[1:-1][] | .seconds] | median)\t-\t-\t<=2\tmedian iteration seconds, first (boot) and last (fsck) left out; the phases of each iteration add up to its seconds"
' "$folder"/cells/*/iteration-*.json
