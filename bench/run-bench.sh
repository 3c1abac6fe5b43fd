#!/usr/bin/env bash
# `make bench`: the harness's seed-case workload against fio running the same job on the
# same filesystem, interleaved (fio, harness, fio, harness, ...) so machine noise hits both.
# Prints a table of write IOPS per round, the medians, and the harness/fio ratio.
# Usage: bench/run-bench.sh <harness> <agent> [fs] [rounds]     (root: loop mount)
set -euo pipefail
HARNESS=$1; AGENT=$2; FS=${3:-xfs}; ROUNDS=${4:-5}
CACHE=${HARNESS_CACHE:-$PWD/.cache}
WORK=$CACHE/bench; IMG=$WORK/$FS.img; MNT=$WORK/mnt
mkdir -p "$WORK" "$MNT"
cleanup() { umount "$MNT" 2>/dev/null || true; rm -f "$IMG"; }
trap cleanup EXIT
truncate -s 0 "$IMG"; truncate -s 1G "$IMG"
case $FS in
  xfs) mkfs.xfs -f -q -b size=4096 "$IMG" ;;
  ext4) mkfs.ext4 -F -q -b 4096 "$IMG" ;;
  btrfs) mkfs.btrfs -f -q -s 4096 "$IMG" ;;
  *) echo "bench: unknown fs $FS" >&2; exit 2 ;;
esac
mount -o loop -t "$FS" "$IMG" "$MNT"

# The seed case (cases/seed.yaml): 8191 x 4 KiB writes, stride 4 KiB, from offset 512,
# queue depth 32, libaio, O_DIRECT, into a fresh sparse 32 MiB file.
fio_round() {
  rm -f "$MNT/fio-target"
  truncate -s 32M "$MNT/fio-target"
  fio --name=seed --filename="$MNT/fio-target" --ioengine=libaio --direct=1 --rw=write \
      --bs=4096 --offset=512 --size=$((8191 * 4096)) --iodepth=32 --fallocate=none \
      --output-format=json | jq '.jobs[0].write.iops'
}
harness_round() {
  local out; out=$(mktemp -d)
  HARNESS_AGENT=$AGENT "$HARNESS" run --machine local --dir "$MNT" --fs "$FS" --case seed --repeats 1 \
      --results "$out" --cases-dir cases >/dev/null 2>&1 || true
  jq '.medianIops' "$out"/*/cells/*/cell.json
  rm -rf "$out"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

printf '%-6s %14s %14s\n' round "fio IOPS" "harness IOPS"
F=(); H=()
for r in $(seq 1 "$ROUNDS"); do
  f=$(fio_round); h=$(harness_round)
  F+=("$f"); H+=("$h")
  printf '%-6s %14.0f %14.0f\n' "$r" "$f" "$h"
done
fm=$(printf '%s\n' "${F[@]}" | median); hm=$(printf '%s\n' "${H[@]}" | median)
printf '%-6s %14.0f %14.0f\n' median "$fm" "$hm"
awk -v h="$hm" -v f="$fm" 'BEGIN { printf "harness/fio write IOPS ratio on %s: %.2f\n", "'"$FS"'", h / f }'
uname -r | sed 's/^/host kernel: /'; fio --version
