#!/usr/bin/env bash
# Benchmark: back up a tree of many small files with restic, stash and (when installed, see
# benches/install-rustic.sh) rustic, in one run: a first
# backup, a second with nothing changed, a third after 1 % of the files changed (each takes the
# one before as its parent, as restic does on its own), a full restore, and the repository size.
# Prints times, peak memory and stash's ratios; checks that each restore equals the source by file
# hashes, modes, times, symlinks and hard links (gen-tree makes some of each, and a sparse file
# whose disk use is printed), and otherwise asserts nothing.
#
#   benches/bench-tree.sh [FILES]     (default 30000 files, about 700 MiB)
#   RUNS=5 benches/bench-tree.sh      (rounds, default 3; each tool once per round, interleaved)
#
# Times are the median of the rounds, peak memory the largest. Each tool backs up its own copy
# of the generated tree at the same path (`$WORK/src`), so parents are found by path as they
# would be on a volume. restic keeps its cache (its default), in a folder cleared per round.
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${1:-30000}
RUNS=${RUNS:-3}
WORK=${BENCH_DIR:-/tmp/stash-bench-tree}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release -q -p stash-controller
# The generator's speed is not measured: its debug build (optimised in the dev profile) does.
cargo build -q -p stash-integration --bin gen-tree
STASH=$TARGET/release/stash
GEN=$TARGET/debug/gen-tree
rm -rf "$WORK" && mkdir -p "$WORK"
export RESTIC_PASSWORD=bench-password RESTIC_CACHE_DIR=$WORK/restic-cache
export RUSTIC_PASSWORD=bench-password RUSTIC_CACHE_DIR=$WORK/restic-cache
source integration/scripts/cache-dir.sh
RUSTIC=$(command -v rustic || echo "$STASH_CACHE/rustic/bin/rustic")
echo "generating $FILES files"
"$GEN" "$WORK/base" "$FILES" 7
SRC_BYTES=$(du -sb "$WORK/base" | cut -f1)
sync

STEPS=(first unchanged changed restore)
declare -A TIMES PEAK SZ SPARSE
max() { echo $(( ${1:-0} > $2 ? ${1:-0} : $2 )); }
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
measure() { # tool step cmd... ; records seconds (all rounds) and peak RSS (KiB, largest)
  local tool=$1 step=$2; shift 2
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  /usr/bin/time -f "%e %M" -o "$WORK/t" bash -c "$*" >"$WORK/$tool-$step.out" 2>"$WORK/$tool-$step.err" \
    || { cat "$WORK/$tool-$step.err"; exit 1; }
  read -r secs kib < <(tail -n1 "$WORK/t")
  TIMES[$tool.$step]+=" $secs"
  PEAK[$tool.$step]=$(max "${PEAK[$tool.$step]:-}" "$kib")
}
# Every entry below a folder by relative path: type, mode, mtime (ns), symlink target, link
# count (so hard links must come back as links), and every file's content hash.
tree_state() {
  (cd "$1" && find . -printf '%p %y %m %T@ %l %n\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

# The command lines of each tool: backup SRC, restore the latest snapshot below OUT.
backup_cmd() { # tool bin repo src
  case $1 in
  rustic) echo "$2 -r $3 backup --host host-0 $4" ;;
  *) echo "$2 -r $3 backup --host host-0 $4" ;;
  esac
}
restore_cmd() { # tool bin repo out
  case $1 in
  rustic) echo "$2 -r $3 restore latest $4" ;;
  *) echo "$2 -r $3 restore latest --target $4" ;;
  esac
}

# Restores go to a fresh ext4 filesystem (with a journal, as a new volume has) made for each
# restore, when this runs as root and can loop-mount one: a filesystem without a journal (as
# some VMs' root is) checks every new inode against recently deleted ones, a cost that grows
# with the files the previous round removed and that measures the round order, not the tool.
# RESTORE_FS=work restores into $WORK instead.
FRESH=$WORK/fresh
LOOP=
cleanup() { umount "$FRESH" 2>/dev/null || true; [ -z "$LOOP" ] || losetup -d "$LOOP" 2>/dev/null || true; }
trap cleanup EXIT
fresh_fs() { # sets OUT, the folder to restore below
  if [ "${RESTORE_FS:-fresh}" = fresh ] && [ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null; then
    cleanup
    rm -f "$WORK/fresh.img" && truncate -s 4G "$WORK/fresh.img"
    mkdir -p "$FRESH"
    # Direct I/O: the final sync's writes reach the disk, not the image file's page cache.
    if mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$WORK/fresh.img" \
      && LOOP=$(losetup -f --show --direct-io=on "$WORK/fresh.img" 2>/dev/null) \
      && mount "$LOOP" "$FRESH" 2>/dev/null; then
      OUT=$FRESH/restored; return
    fi
  fi
  OUT=$WORK/restored
}

run_tool() { # tool binary
  local tool=$1 bin=$2 repo=$WORK/$1-repo src=$WORK/src out
  rm -rf "$repo" "$src" "$RESTIC_CACHE_DIR"
  cp -a "$WORK/base" "$src"
  $bin -r "$repo" init >/dev/null 2>&1
  measure "$tool" first "$(backup_cmd "$tool" "$bin" "$repo" "$src")"
  measure "$tool" unchanged "$(backup_cmd "$tool" "$bin" "$repo" "$src")"
  "$GEN" --change "$src" 1 "$round" >/dev/null
  measure "$tool" changed "$(backup_cmd "$tool" "$bin" "$repo" "$src")"
  fresh_fs; out=$OUT
  measure "$tool" restore "$(restore_cmd "$tool" "$bin" "$repo" "$out")"
  # restic and stash restore below the full source path; rustic below the snapshot's root.
  local restored=$out$src
  [ -d "$restored" ] || restored=$out
  tree_state "$src" >"$WORK/want"; tree_state "$restored" >"$WORK/got"
  # rustic 0.11.4 does not give the folder it restores below (the snapshot's path) its
  # mtime back; everything inside it is still compared.
  if [ "$tool" = rustic ]; then sed -i '/^\. d /d' "$WORK/want" "$WORK/got"; fi
  diff -q "$WORK/want" "$WORK/got" >/dev/null || {
    echo "$tool: the restored tree differs from the source:" >&2
    diff "$WORK/want" "$WORK/got" | head -20 >&2; exit 1; }
  SPARSE[$tool]=$(du -k "$restored/links/sparse.bin" | cut -f1)
  SZ[$tool]=$(du -sb "$repo" | cut -f1)
  rm -rf "$out"
  RESTORED_ON=$(df --output=source,fstype "$(dirname "$out")" | tail -n1)
}

tools=(restic stash)
[ -x "$RUSTIC" ] && tools+=(rustic)
for round in $(seq 1 "$RUNS"); do
  echo "round $round of $RUNS"
  for t in "${tools[@]}"; do
    case $t in
    restic) run_tool restic restic ;;
    stash) run_tool stash "$STASH" ;;
    rustic) run_tool rustic "$RUSTIC" ;;
    esac
  done
done

mib() { awk -v b="$1" 'BEGIN{printf "%.0f", b/1048576}'; }
echo
echo "$FILES files, $(mib "$SRC_BYTES") MiB; times are medians of $RUNS rounds; restored on $RESTORED_ON"
for t in "${tools[@]}"; do
  for s in "${STEPS[@]}"; do echo "$t $s s:${TIMES[$t.$s]}"; done
done
printf "\n%-8s %10s %10s %10s %10s %10s %10s\n" tool first_s unchanged_s changed_s restore_s repo_MiB peak_MiB
declare -A MED
for t in "${tools[@]}"; do
  peak=0
  for s in "${STEPS[@]}"; do
    MED[$t.$s]=$(echo "${TIMES[$t.$s]}" | median)
    peak=$(max "$peak" "${PEAK[$t.$s]}")
  done
  printf "%-8s %10s %10s %10s %10s %10s %10s\n" "$t" "${MED[$t.first]}" "${MED[$t.unchanged]}" \
    "${MED[$t.changed]}" "${MED[$t.restore]}" "$(mib "${SZ[$t]}")" "$(( peak / 1024 ))"
done
echo
for other in "${tools[@]}"; do
  [ "$other" = stash ] && continue
  for s in "${STEPS[@]}"; do
    awk -v s="$s" -v n="$other" -v r="${MED[$other.$s]}" -v o="${MED[stash.$s]}" -v rm="${PEAK[$other.$s]}" -v om="${PEAK[stash.$s]}" \
      'BEGIN{printf "%-10s stash %.2fx as fast as %s, peak memory %.2fx of %s'"'"'s\n", s, r/o, n, om/rm, n}'
  done
done
awk -v r="${SZ[restic]}" -v o="${SZ[stash]}" 'BEGIN{printf "repository stash %+.1f%% against restic\n", (o/r-1)*100}'
for t in "${tools[@]}"; do
  echo "$t restored the 64 MiB sparse file (2 MiB of data) into ${SPARSE[$t]} KiB of disk"
done
