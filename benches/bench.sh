#!/usr/bin/env bash
# Benchmark: back up and restore the same generated SQL-like dump with restic, stash, and
# (when installed) rustic and borg, in one run; print times, repository sizes, peak memory
# and stash's ratios against each. Not a test: it prints figures and asserts nothing.
#
#   benches/bench.sh [SIZE_BYTES]     (default 1 GiB)
#   RUNS=5 benches/bench.sh           (rounds, default 3; each tool once per round, interleaved)
#
# Times are the median of the rounds and peak memory the largest: on a VM the first touch of
# memory the host took back can cost seconds of system time, so one round can be an outlier.
# Each backup reads the dump file from stdin into a fresh repository; each restore writes the
# stream to a file on the same disk (restic dump / stash dump / borg extract --stdout).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1073741824}
RUNS=${RUNS:-3}
WORK=${BENCH_DIR:-/tmp/stash-bench}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release -q -p stash-controller -p stash-integration
STASH=$TARGET/release/stash
rm -rf "$WORK" && mkdir -p "$WORK"
source integration/scripts/cache-dir.sh
RUSTIC=$(command -v rustic || echo "$STASH_CACHE/rustic/bin/rustic")
export RUSTIC_PASSWORD=bench-password RUSTIC_NO_CACHE=true
export RESTIC_PASSWORD=bench-password BORG_PASSPHRASE=bench-password BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
echo "generating $SIZE bytes of SQL-like text"
"$TARGET/release/gen-sql" "$SIZE" 7 > "$WORK/dump.sql"
sync

declare -A BT BM RT RM SZ BTS RTS
max() { echo $(( ${1:-0} > $2 ? ${1:-0} : $2 )); }
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
measure() { # name phase cmd... ; records seconds (all rounds) and peak RSS (KiB, largest)
  local name=$1 phase=$2; shift 2
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  /usr/bin/time -f "%e %M" -o "$WORK/t" bash -c "$*" >/dev/null 2>"$WORK/$name-$phase.err" || { cat "$WORK/$name-$phase.err"; exit 1; }
  read -r secs kib < <(tail -n1 "$WORK/t")
  if [ "$phase" = backup ]; then BTS[$name]+=" $secs"; BM[$name]=$(max "${BM[$name]:-}" "$kib")
  else RTS[$name]+=" $secs"; RM[$name]=$(max "${RM[$name]:-}" "$kib"); fi
}

run_restic_like() { # name binary
  local name=$1 bin=$2 repo=$WORK/$1-repo
  rm -rf "$repo"
  $bin -r "$repo" init >/dev/null 2>&1
  measure "$name" backup "$bin -r $repo backup --stdin --stdin-filename dumpfile.sql --host host-0 < $WORK/dump.sql"
  measure "$name" restore "$bin -r $repo dump latest /dumpfile.sql > $WORK/$name.out"
  cmp "$WORK/$name.out" "$WORK/dump.sql" || { echo "$name: restored bytes differ" >&2; exit 1; }
  rm -f "$WORK/$name.out"
  SZ[$name]=$(du -sb "$repo" | cut -f1)
}

tools=(restic stash)
[ -x "$RUSTIC" ] && tools+=(rustic)
command -v borg >/dev/null && tools+=(borg)
for round in $(seq 1 "$RUNS"); do
  echo "round $round of $RUNS"
  for t in "${tools[@]}"; do
    case $t in
    restic) run_restic_like restic restic ;;
    stash) run_restic_like stash "$STASH" ;;
    rustic) # its own spelling of stdin and of a path in a snapshot
      rm -rf "$WORK/rustic-repo"
      "$RUSTIC" -r "$WORK/rustic-repo" init >/dev/null 2>&1
      measure rustic backup "$RUSTIC -r $WORK/rustic-repo backup --stdin-filename dumpfile.sql --host host-0 - < $WORK/dump.sql"
      measure rustic restore "$RUSTIC -r $WORK/rustic-repo dump latest:/dumpfile.sql > $WORK/rustic.out"
      cmp "$WORK/rustic.out" "$WORK/dump.sql" || { echo "rustic: restored bytes differ" >&2; exit 1; }
      rm -f "$WORK/rustic.out"
      SZ[rustic]=$(du -sb "$WORK/rustic-repo" | cut -f1) ;;
    borg)
      rm -rf "$WORK/borg-repo"
      borg init -e repokey "$WORK/borg-repo" >/dev/null 2>&1
      measure borg backup "borg create --compression zstd,1 $WORK/borg-repo::a - < $WORK/dump.sql"
      measure borg restore "borg extract --stdout $WORK/borg-repo::a > $WORK/borg.out"
      cmp "$WORK/borg.out" "$WORK/dump.sql" || { echo "borg: restored bytes differ" >&2; exit 1; }
      rm -f "$WORK/borg.out"
      SZ[borg]=$(du -sb "$WORK/borg-repo" | cut -f1) ;;
    esac
  done
done
for t in "${tools[@]}"; do
  BT[$t]=$(echo "${BTS[$t]}" | median); RT[$t]=$(echo "${RTS[$t]}" | median)
  echo "$t: backup s${BTS[$t]}; restore s${RTS[$t]}"
done

mib() { awk -v b="$1" 'BEGIN{printf "%.0f", b/1048576}'; }
printf "\n%-8s %10s %10s %10s %10s %12s %10s\n" tool backup_s restore_s back_MiB/s rest_MiB/s repo_MiB peak_MiB
for t in "${tools[@]}"; do
  peak=$(( ${BM[$t]} > ${RM[$t]} ? ${BM[$t]} : ${RM[$t]} ))
  printf "%-8s %10s %10s %10.0f %10.0f %12s %10s\n" "$t" "${BT[$t]}" "${RT[$t]}" \
    "$(awk -v s="$SIZE" -v t="${BT[$t]}" 'BEGIN{print s/1048576/t}')" \
    "$(awk -v s="$SIZE" -v t="${RT[$t]}" 'BEGIN{print s/1048576/t}')" \
    "$(mib "${SZ[$t]}")" "$(( peak / 1024 ))"
done
echo
for t in "${tools[@]}"; do
  [ "$t" = stash ] && continue
  awk -v n="$t" -v bt="${BT[$t]}" -v st="${BT[stash]}" -v rt="${RT[$t]}" -v sr="${RT[stash]}" \
      -v sz="${SZ[$t]}" -v ss="${SZ[stash]}" -v bm="${BM[$t]}" -v sbm="${BM[stash]}" -v rm="${RM[$t]}" -v srm="${RM[stash]}" \
    'BEGIN{printf "stash vs %-7s backup %.2fx faster, restore %.2fx faster, repository %+.1f%%, peak memory backup %.2fx restore %.2fx of theirs\n",
       n, bt/st, rt/sr, (ss/sz-1)*100, sbm/bm, srm/rm}'
done
