#!/usr/bin/env bash
# Benchmark over S3: back up and restore the same generated SQL-like dump with restic and with
# stash, both to the same S3 server (moto on loopback, started by integration/scripts/services.sh
# if its port is closed), in one run; print times, throughput and stash's ratios.
# Not a test: it prints figures and asserts only that both restores give back the input.
#
#   benches/bench-s3.sh [SIZE_BYTES]     (default 1 GiB)
#
# Each backup reads the dump from stdin into a fresh prefix of bucket stash-test; each restore
# is `dump latest` into a file on local disk. The server is the same for both tools, so its
# own speed (moto is Python, in memory) bounds both alike.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1073741824}
WORK=${BENCH_DIR:-/tmp/stash-bench-s3}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
PORT=${STASH_S3_PORT:-9100}
# BENCH_PROFILE=dev reuses the test build (its profile optimises stash at opt-level 3 and the
# dependencies at 2) when a release build is too costly; the default is release.
PROFILE=${BENCH_PROFILE:-release}
if [ "$PROFILE" = release ]; then
  cargo build --release -q -p stash-controller -p stash-integration; BIN=$TARGET/release
else
  cargo build -q -p stash-controller -p stash-integration; BIN=$TARGET/debug
fi
STASH=$BIN/stash
bash integration/scripts/services.sh start >/dev/null
rm -rf "$WORK" && mkdir -p "$WORK"
export RESTIC_PASSWORD=bench-password AWS_ACCESS_KEY_ID=bench-key AWS_SECRET_ACCESS_KEY=bench-secret
RUN=$(date +%s)
echo "generating $SIZE bytes of SQL-like text"
"$BIN/gen-sql" "$SIZE" 7 > "$WORK/dump.sql"
sync

declare -A BT RT BM RM
measure() { # name phase cmd...
  local name=$1 phase=$2; shift 2
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  /usr/bin/time -f "%e %M" -o "$WORK/t" bash -c "$*" >/dev/null 2>"$WORK/$name-$phase.err" || { cat "$WORK/$name-$phase.err"; exit 1; }
  read -r secs kib < <(tail -n1 "$WORK/t")
  if [ "$phase" = backup ]; then BT[$name]=$secs; BM[$name]=$kib; else RT[$name]=$secs; RM[$name]=$kib; fi
}

for tool in restic stash; do
  bin=restic; [ $tool = stash ] && bin=$STASH
  repo="s3:http://127.0.0.1:$PORT/stash-test/bench-$RUN-$tool"
  $bin -r "$repo" init >/dev/null 2>&1
  measure $tool backup "$bin -r $repo backup --stdin --stdin-filename dumpfile.sql --host host-0 < $WORK/dump.sql"
  measure $tool restore "$bin -r $repo dump latest /dumpfile.sql > $WORK/$tool.out"
  cmp "$WORK/$tool.out" "$WORK/dump.sql" && rm -f "$WORK/$tool.out"
done

printf "\n%-8s %10s %10s %11s %11s %10s\n" tool backup_s restore_s back_MiB/s rest_MiB/s peak_MiB
for t in restic stash; do
  peak=$(( ${BM[$t]} > ${RM[$t]} ? ${BM[$t]} : ${RM[$t]} ))
  printf "%-8s %10s %10s %11.0f %11.0f %10s\n" "$t" "${BT[$t]}" "${RT[$t]}" \
    "$(awk -v s="$SIZE" -v t="${BT[$t]}" 'BEGIN{print s/1048576/t}')" \
    "$(awk -v s="$SIZE" -v t="${RT[$t]}" 'BEGIN{print s/1048576/t}')" "$(( peak / 1024 ))"
done
awk -v bt="${BT[restic]}" -v st="${BT[stash]}" -v rt="${RT[restic]}" -v sr="${RT[stash]}" \
  'BEGIN{printf "\nstash vs restic over S3: backup %.2fx faster, restore %.2fx faster\n", bt/st, rt/sr}'
rm -f "$WORK/dump.sql"
