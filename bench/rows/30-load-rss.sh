#!/usr/bin/env bash
# Row: peak RSS of the harness process on a 200-cell host matrix (bench/load-bench.sh), and
# its wall time. No reference: the target is on the figure (issue 8: stay well under 1 GiB).
set -euo pipefail
CELLS=${LOAD_CELLS:-200}; [ "$BENCH_QUICK" = 1 ] && CELLS=20
out=$(bench/load-bench.sh "$HARNESS" "$AGENT" "$CELLS")
echo "$out" >&2
read -r cells wall rss passed rc <<< "$(echo "$out" | sed -n 2p)"
printf 'peak RSS, %s-cell host matrix\tMiB\t%s\t\t-\t<=512\twall %s, %s passed, exit %s\n' "$cells" "$rss" "$wall" "$passed" "$rc"
