#!/usr/bin/env bash
# Benchmark: memory and time on a tree of very many tiny files (default a million), where the
# cost is the count of files, not their bytes: what Stash's users hit out-of-memory on. Backs up
# with restic, stash and (when installed, see benches/install-rustic.sh) rustic in one run: a
# first backup, a second with nothing changed, and a full restore. Prints each step's time and
# peak memory and stash's ratios; checks each restore against the source by every entry's name,
# type, size and mode and one hash of all contents, and otherwise asserts nothing.
#
#   benches/bench-many.sh [FILES] [PER_DIR]     (default 1000000 files, 1000 to a folder)
#
# One round: a million files take minutes per step on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${1:-1000000}
PER_DIR=${2:-1000}
WORK=${BENCH_DIR:-/tmp/stash-bench-many}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release -q -p stash-controller
cargo build -q -p stash-integration --bin gen-tree
STASH=$TARGET/release/stash
GEN=$TARGET/debug/gen-tree
rm -rf "$WORK" && mkdir -p "$WORK"
export RESTIC_PASSWORD=bench-password RESTIC_CACHE_DIR=$WORK/restic-cache
export RUSTIC_PASSWORD=bench-password RUSTIC_CACHE_DIR=$WORK/restic-cache
source integration/scripts/cache-dir.sh
RUSTIC=$(command -v rustic || echo "$STASH_CACHE/rustic/bin/rustic")
SRC=$WORK/src
echo "generating $FILES files, $PER_DIR to a folder"
"$GEN" --tiny "$SRC" "$FILES" "$PER_DIR"
sync

STEPS=(first unchanged restore)
declare -A SECS PEAK
measure() { # tool step cmd...
  local tool=$1 step=$2; shift 2
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  /usr/bin/time -f "%e %M" -o "$WORK/t" bash -c "$*" >"$WORK/$tool-$step.out" 2>"$WORK/$tool-$step.err" \
    || { cat "$WORK/$tool-$step.err"; exit 1; }
  read -r SECS[$tool.$step] PEAK[$tool.$step] < <(tail -n1 "$WORK/t")
  echo "$tool $step: ${SECS[$tool.$step]} s, $(( PEAK[$tool.$step] / 1024 )) MiB"
}
# Every entry by relative path with type, size (of files: a folder's depends on its history)
# and mode, then one hash over all contents in path order.
tree_state() {
  (cd "$1" && find . \( -type f -printf '%p f %s %m\n' \) -o -printf '%p %y - %m\n' | sort \
    && find . -type f -print0 | sort -z | xargs -0 cat | sha256sum)
}
tree_state "$SRC" >"$WORK/want"

run_tool() { # tool binary
  local tool=$1 bin=$2 repo=$WORK/$1-repo out=$WORK/restored restored
  rm -rf "$repo" "$RESTIC_CACHE_DIR" "$out"
  $bin -r "$repo" init >/dev/null 2>&1
  measure "$tool" first "$bin -r $repo backup --host host-0 $SRC"
  measure "$tool" unchanged "$bin -r $repo backup --host host-0 $SRC"
  case $tool in
  rustic) measure "$tool" restore "$bin -r $repo restore latest $out" ;;
  *) measure "$tool" restore "$bin -r $repo restore latest --target $out" ;;
  esac
  # restic and stash restore below the full source path; rustic below the snapshot's root.
  restored=$out$SRC
  [ -d "$restored" ] || restored=$out
  tree_state "$restored" >"$WORK/got"
  diff -q "$WORK/want" "$WORK/got" >/dev/null || {
    echo "$tool: the restored tree differs from the source:" >&2
    diff "$WORK/want" "$WORK/got" | head -20 >&2; exit 1; }
  rm -rf "$out" "$repo"
}

tools=(restic stash)
[ -x "$RUSTIC" ] && tools+=(rustic)
for t in "${tools[@]}"; do
  case $t in
  restic) run_tool restic restic ;;
  stash) run_tool stash "$STASH" ;;
  rustic) run_tool rustic "$RUSTIC" ;;
  esac
done

echo
echo "$FILES files, $PER_DIR to a folder"
printf "%-8s %12s %12s %12s %12s %12s %12s\n" tool first_s first_MiB unchanged_s unchanged_MiB restore_s restore_MiB
for t in "${tools[@]}"; do
  printf "%-8s" "$t"
  for s in "${STEPS[@]}"; do printf " %12s %12s" "${SECS[$t.$s]}" "$(( PEAK[$t.$s] / 1024 ))"; done
  echo
done
echo
for other in "${tools[@]}"; do
  [ "$other" = stash ] && continue
  for s in "${STEPS[@]}"; do
    awk -v s="$s" -v n="$other" -v r="${SECS[$other.$s]}" -v o="${SECS[stash.$s]}" -v rm="${PEAK[$other.$s]}" -v om="${PEAK[stash.$s]}" \
      'BEGIN{printf "%-10s stash %.2fx as fast as %s, peak memory %.2fx of %s'"'"'s\n", s, r/o, n, om/rm, n}'
  done
done
