#!/usr/bin/env bash
# End to end bisection with real builds and boots (`make e2e`; not part of `make test`).
#
# Makes a 12-commit history on top of Debian's linux-source-6.1 (the harness's own unpacked tree,
# cloned, never modified): 11 harmless commits that each append a comment to one leaf .c file
# compiled into the guest config, and one commit (number $CULPRIT) that applies
# kernels/patches/ext4-reintroduce-unaligned-aio-race.patch. Then `harness bisect` must name that
# commit on ext4 with the seed case. Prints the wall time, builds, boots and runs used.
#
# Cost on 2 cores: the first step's build of the clone is cold unless ccache is warm from earlier
# builds of linux-source-6.1 (same config: mostly hits); every later step rebuilds one or two files.
#
# usage: e2e/bisect-ext4-race.sh HARNESS CACHE [extra bisect options]
#   CULPRIT=N (1..12, default 7) puts the race commit elsewhere; E2E_WORK=DIR (default CACHE/e2e)
#   holds the history; E2E_HISTORY_ONLY=1 makes the history and stops (no build, no boot);
#   E2E_CASE (default seed-quick, validate's case: every repeat on a race kernel fails) picks the case.
set -euo pipefail
harness=$(realpath "$1"); cache=$(realpath -m "$2"); shift 2
repo=$(cd "$(dirname "$0")/.." && pwd)
culprit=${CULPRIT:-7}
commits=12
work=${E2E_WORK:-$cache/e2e}
history=$work/linux-6.1-bisect-history
export HARNESS_CACHE=$cache

cd "$repo"
# The pristine Debian tree, unpacked and recorded in git by the harness's first build of linux-6.1.
source_tree=$cache/src/linux-source-6.1
test -d "$source_tree/.git" || "$harness" kernels build linux-6.1 --cache "$cache"
test -d "$source_tree/.git" || { echo "e2e: no $source_tree/.git after kernels build" >&2; exit 3; }

# Leaf .c files the guest config compiles (tinyconfig + guest.config): no header, nothing includes them.
leaves=(lib/sort.c lib/bsearch.c lib/cmdline.c lib/kstrtox.c lib/ctype.c fs/ext4/hash.c fs/ext4/block_validity.c
        fs/ext4/migrate.c fs/ext4/move_extent.c fs/xfs/xfs_stats.c fs/btrfs/props.c lib/list_sort.c)

# Fixed dates and names make the same commit ids on every run: the harness's clone of this tree and
# its cached images stay valid when the history is made again.
export GIT_AUTHOR_DATE="2026-11-26T00:00:00+0000" GIT_COMMITTER_DATE="2026-11-26T00:00:00+0000"
git_c() { git -C "$history" -c user.name=harness-e2e -c user.email=e2e@localhost "$@"; }
rm -rf "$history"
mkdir -p "$work"
git clone -q --shared "$source_tree" "$history"
git_c tag bisect-good
for i in $(seq 1 $commits); do
  if [ "$i" -eq "$culprit" ]; then
    git_c apply "$repo/kernels/patches/ext4-reintroduce-unaligned-aio-race.patch"
    git_c commit -q -a -m "ext4: drop the unaligned AIO DIO wait (reintroduces the 2010 race)"
    git_c tag bisect-culprit
  else
    leaf=${leaves[$(( (i - 1) % ${#leaves[@]} ))]}
    test -f "$history/$leaf" || { echo "e2e: $leaf is not in the tree" >&2; exit 3; }
    printf '\n/* harness e2e bisect: harmless change %d */\n' "$i" >> "$history/$leaf"
    git_c commit -q -a -m "$(dirname "$leaf" | tr / -): harmless change $i in $(basename "$leaf")"
  fi
done
expected=$(git -C "$history" rev-parse bisect-culprit)
echo "e2e: history of $commits commits in $history; the culprit is commit $culprit, $expected"
if [ -n "${E2E_HISTORY_ONLY:-}" ]; then exit 0; fi

start=$(date +%s)
set +e
"$harness" bisect --tree "$history" --good bisect-good --bad HEAD --fs ext4 --case "${E2E_CASE:-seed-quick}" \
    --kernel-config linux-6.1 --cache "$cache" --results results "$@" | tee "$work/bisect.out"
code=${PIPESTATUS[0]}
set -e
wall=$(( $(date +%s) - start ))
record=$(sed -n 's/^results: //p' "$work/bisect.out" | tail -1)
test -f "$record" || { echo "e2e: no bisect.json (exit $code)" >&2; exit 3; }
named=$(jq -r '.culprit.sha // "none"' "$record")
echo "e2e: exit $code; wall ${wall} s; builds $(jq .builds "$record"), boots $(jq .boots "$record"), runs $(jq .runsUsed "$record"), steps $(jq '.steps | length' "$record")"
echo "e2e: named $named with probability $(jq .culprit.probability "$record"); expected $expected"
if [ "$code" -ne 0 ] || [ "$named" != "$expected" ]; then echo "e2e: FAILED" >&2; exit 1; fi
echo "e2e: PASSED"
