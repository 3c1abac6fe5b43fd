#!/usr/bin/env bash
# `make bench`, load part: a matrix of N cells (default 200: the tiny case under N names and seeds)
# on the host kernel, --dir on one ext4 loop image, run once under /usr/bin/time -v. Prints one
# table row: cells, wall time, peak RSS of the harness process (its agents are separate processes),
# and whether every cell passed; then checks nothing was left mounted or attached.
# Usage: bench/load-bench.sh <harness> <agent> [cells]     (root: loop mount; needs package `time`)
set -euo pipefail
HARNESS=$1; AGENT=$2; CELLS=${3:-200}
CACHE=${HARNESS_CACHE:-$PWD/.cache}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/harness-load-bench.XXXXXX"); MNT=$WORK/mnt
cleanup() { umount "$MNT" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT; trap "exit 143" INT TERM
[ -x /usr/bin/time ] || { echo "load bench: /usr/bin/time missing (Debian package time; make deps installs it)" >&2; exit 2; }
mkdir -p "$WORK/cases" "$MNT"
names=()
for i in $(seq 1 "$CELLS"); do
  n=$(printf 'tiny-%03d' "$i"); names+=("$n")
  sed -e "s/^name: tiny\$/name: $n/" -e "s/^seed: 64\$/seed: $((1000 + i))/" cases/tiny.yaml > "$WORK/cases/$n.yaml"
done
truncate -s 256M "$WORK/ext4.img"; mkfs.ext4 -F -q "$WORK/ext4.img"
mount -o loop "$WORK/ext4.img" "$MNT"

rc=0
/usr/bin/time -v -o "$WORK/time.txt" env HARNESS_CACHE="$CACHE" "$HARNESS" run --machine local --dir "$MNT" \
    --cases-dir "$WORK/cases" --case "$(IFS=,; echo "${names[*]}")" --results "$WORK/results" --agent "$AGENT" \
    >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$WORK/time.txt")
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/time.txt")
passed=$(jq '[.cells[] | select(.outcome == "pass")] | length' "$WORK"/results/*/run.json)
printf '%-8s %-10s %-16s %-12s %s\n' cells wall "peak RSS (MiB)" passed "exit"
printf '%-8s %-10s %-16s %-12s %s\n' "$CELLS" "$wall" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')" "$passed/$CELLS" "$rc"
leftover=$(losetup -a | grep -F "$WORK" | grep -v "$WORK/ext4.img" || true; grep -F "$WORK" /proc/mounts | grep -v " $MNT " || true)
[ -z "$leftover" ] || { echo "load bench: left behind:"; echo "$leftover"; exit 1; }
[ "$rc" = 0 ] || { echo "load bench: harness exited $rc"; tail -5 "$WORK/err.txt"; exit 1; }
