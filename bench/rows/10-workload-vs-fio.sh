#!/usr/bin/env bash
# Rows: the harness's workload generator against fio 3.33 running the very same job file
# (cases/seed.fio) on the host's xfs loop, fio at its defaults and tuned (batched submit and
# reap), interleaved rounds (fio, fio tuned, harness, ...) so machine noise hits all three; medians.
# Harness IOPS: the cell record's median (first submit to last reap, as fio counts its runtime).
set -euo pipefail
ROUNDS=7; [ "$BENCH_QUICK" = 1 ] && ROUNDS=2
JOB=$PWD/cases/seed.fio
W=$BENCH_WORK/fio; IMG=$W/xfs.img; MNT=$W/mnt
mkdir -p "$MNT"
cleanup() { umount "$MNT" 2>/dev/null || true; rm -f "$IMG"; }
trap cleanup EXIT; trap "exit 143" INT TERM  # so a stopped bench still unmounts
truncate -s 1G "$IMG"; mkfs.xfs -f -q -b size=4096 "$IMG"; mount -o loop "$IMG" "$MNT"
# Tuned: the same job plus fio's batching options (they change how fio calls io_submit and
# io_getevents, not what it writes; the harness reads the tuned file as the same case).
sed -e 's/^\[global\]$/[global]\niodepth_batch_submit=32\niodepth_batch_complete_max=32/' "$JOB" > "$W/seed-tuned.fio"
"$HARNESS" cases show "$JOB" > "$W/a.yaml"; "$HARNESS" cases show "$W/seed-tuned.fio" | sed 's/seed-tuned.fio/seed.fio/' > "$W/b.yaml"
cmp -s "$W/a.yaml" "$W/b.yaml" || { echo "tuned job maps to another case" >&2; diff "$W/a.yaml" "$W/b.yaml" >&2; exit 1; }

fio_round() { # job file -> write IOPS; fresh file each round, as the harness makes one per iteration
  rm -f "$MNT/seed-fio.target"
  (cd "$MNT" && fio --output-format=json "$1") | jq '.jobs[0].write.iops'
}
harness_round() {
  local out=$W/h-$RANDOM
  "$HARNESS" run --machine local --dir "$MNT" --fs xfs --case "$JOB" --repeats 1 --agent "$AGENT" --results "$out" >/dev/null 2>"$W/h.err" \
    || { echo "harness run failed:" >&2; tail -3 "$W/h.err" >&2; exit 1; }
  jq '.medianIops' "$out"/*/cells/*/cell.json
  rm -rf "$out"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
F=(); T=(); H=()
for r in $(seq 1 "$ROUNDS"); do
  F+=("$(fio_round "$JOB")"); T+=("$(fio_round "$W/seed-tuned.fio")"); H+=("$(harness_round)")
  echo "round $r: fio ${F[-1]} fio-tuned ${T[-1]} harness ${H[-1]}" >&2
done
f=$(printf '%s\n' "${F[@]}" | median); t=$(printf '%s\n' "${T[@]}" | median); h=$(printf '%s\n' "${H[@]}" | median)
printf 'write IOPS vs fio defaults, seed.fio, xfs loop\tIOPS\t%s\tfio %s defaults\t%s\t>=1.0\tmedian of %s interleaved rounds; host %s; load average %s (per-round figures in logs/)\n' "$h" "$(fio --version | sed 's/fio-//')" "$f" "$ROUNDS" "$(uname -r)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'write IOPS vs fio tuned, seed.fio, xfs loop\tIOPS\t%s\tfio tuned (batch 32)\t%s\t>=1.0\tsame rounds; fio with iodepth_batch_submit=32, iodepth_batch_complete_max=32\n' "$h" "$t"
