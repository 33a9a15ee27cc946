#!/usr/bin/env bash
# PostgreSQL addon benchmark, one run: Stash's pipeline with restic against ours, both modes.
#
#   benches/bench-postgres.sh [SIZE_MIB]    (database size to generate, default 1100 MiB)
#   DATA=pgbench benches/bench-postgres.sh [SCALE]   (pgbench tables instead, default scale 70)
#
# A throwaway cluster (integration/scripts/pg-cluster.sh) gets the data: by default TABLES
# (default 12) similar tables (different rows) of mixed column types, each with a primary key and two secondary
# indexes, about SIZE_MIB in all (parallelism can only show on a database with several tables of
# a size: pgbench's single big table leaves every pipeline waiting on one COPY). Then
#   restic:       pg_dumpall | restic backup --stdin   and   restic dump | psql
#   stash:        the addon in Stash mode (pg_dumpall/psql through the library, no shell pipe)
#   stash-native: the addon's parallel mode (COPY in JOBS sessions from one exported snapshot)
# Each restore goes into a brand-new cluster (created untimed), and is checked by comparing
# every table's row count and content hash, and the list of indexes, with the source. Prints times and sizes; asserts
# only that the restores are right. Needs ~6 GiB free in $BENCH_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-tables}
TABLES=${TABLES:-12}
if [ "$DATA" = pgbench ]; then SCALE=${1:-70}; else SIZE_MIB=${1:-1100}; fi
JOBS=${JOBS:-4}
WORK=${BENCH_DIR:-/tmp/stash-pg-bench}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
CLUSTER=integration/scripts/pg-cluster.sh
cargo build -q -p stash-integration --bin addon-bench
BENCH=$TARGET/debug/addon-bench   # dev profile: every package we run is built with opt-level ≥ 2

export RESTIC_PASSWORD=bench-password PGUSER=postgres PGHOST=127.0.0.1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
started=()
cleanup() { for d in "${started[@]}"; do bash $CLUSTER stop "$d" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT
rm -rf "$WORK" && mkdir -p "$WORK" && chmod 755 "$WORK"

new_cluster() { # name → sets PORT_<name>
  local d=$WORK/pg-$1 p; p=$(free_port)
  bash $CLUSTER start "$d" "$p" >/dev/null
  started+=("$d"); eval "PORT_$1=$p"
}
stop_cluster() { bash $CLUSTER stop "$WORK/pg-$1" >/dev/null; rm -rf "$WORK/pg-$1"; }

new_cluster src
createdb -p "$PORT_src" bench
if [ "$DATA" = pgbench ]; then
  echo "loading pgbench scale $SCALE into a throwaway cluster on port $PORT_src"
  pgbench -i -q -s "$SCALE" -p "$PORT_src" bench >/dev/null 2>&1
  # Some activity so balances and history are not trivial.
  pgbench -n -t 2000 -c 2 -p "$PORT_src" bench >/dev/null 2>&1
else
  # About 150 bytes of table per row (heap and tuple overhead included).
  ROWS=$(( SIZE_MIB * 1048576 / 150 / TABLES ))
  echo "generating $TABLES tables of $ROWS rows into a throwaway cluster on port $PORT_src"
  for i in $(seq 1 "$TABLES"); do
    cat <<SQL
CREATE TABLE orders_$i (id bigint PRIMARY KEY, customer int NOT NULL, created timestamptz NOT NULL,
  amount numeric(12,2), status text NOT NULL, note text, flags smallint);
INSERT INTO orders_$i SELECT g, (s * 7919) % 100003, timestamptz '2020-01-01' + s * interval '17 seconds',
  ((s * 37) % 1000003) / 100.0, (ARRAY['new','paid','shipped','void'])[s % 4 + 1],
  CASE WHEN s % 11 = 0 THEN NULL ELSE md5(s::text) || ' ' || repeat(chr((97 + s % 26)::int), (s % 37)::int) END, (s % 7)::smallint
FROM generate_series(1::bigint, $ROWS) g, LATERAL (SELECT g + $i * 10000019 AS s) seed;
CREATE INDEX orders_${i}_customer ON orders_$i (customer);
CREATE INDEX orders_${i}_created ON orders_$i (created, status);
SQL
  done | psql -X -q -v ON_ERROR_STOP=1 -p "$PORT_src" -d bench
  psql -X -q -p "$PORT_src" -d bench -c "VACUUM ANALYZE"
fi
DBSIZE=$(psql -X -At -p "$PORT_src" -d bench -c "SELECT pg_database_size('bench')")
# Every table's rows and content hash, and every index: the same in each restored database.
CHECK_SQL=$(psql -X -At -p "$PORT_src" -d bench -c "SELECT string_agg(format('SELECT %L, count(*), sum(hashtext(t::text)::bigint) FROM %I.%I t', c.relname, n.nspname, c.relname), ' UNION ALL ' ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public'")
CHECK="SELECT string_agg(x::text, ';') FROM ($CHECK_SQL ORDER BY 1) x UNION ALL SELECT string_agg(indexdef, ';' ORDER BY indexdef) FROM pg_indexes WHERE schemaname = 'public'"
WANT=$(psql -X -At -p "$PORT_src" -d bench -c "$CHECK" | md5sum)
echo "database size: $(( DBSIZE / 1048576 )) MiB; content check $WANT"

declare -A BT RT SZ ST
timed() { # var cmd... → seconds into $var
  local var=$1; shift
  sync
  local t0 t1; t0=$(date +%s.%N)
  bash -c "set -o pipefail; $*" >"$WORK/out.log" 2>"$WORK/err.log" || { echo "FAILED: $*"; tail -20 "$WORK/err.log"; exit 1; }
  t1=$(date +%s.%N)
  printf -v "$var" '%.1f' "$(echo "$t1 - $t0" | bc)"
}
verify() { # port db
  local got; got=$(psql -X -At -p "$1" -d "$2" -c "$CHECK" | md5sum)
  [ "$got" = "$WANT" ] || { echo "restore mismatch: $got vs $WANT"; exit 1; }
}

# restic: Stash's own pipeline.
restic -r "$WORK/repo-restic" init --repository-version 2 >/dev/null
timed t "pg_dumpall -p $PORT_src | restic -r $WORK/repo-restic backup --stdin --stdin-filename dumpfile.sql --host host-0 --quiet"; BT[restic]=$t
new_cluster dst
timed t "restic -r $WORK/repo-restic dump latest dumpfile.sql --host host-0 | sed '/ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD/d' | psql -X -q -p $PORT_dst -d postgres"; RT[restic]=$t
verify "$PORT_dst" bench; stop_cluster dst
SZ[restic]=$(du -sb "$WORK/repo-restic" | cut -f1)
ST[restic]=$(restic -r "$WORK/repo-restic" stats latest --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_size"])')

# stash, Stash mode.
restic -r "$WORK/repo-stash" init --repository-version 2 >/dev/null
timed t "$BENCH backup $WORK/repo-stash stash $PORT_src bench"; BT[stash]=$t
ST[stash]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stream_bytes"])' "$WORK/out.log")
new_cluster dst
timed t "$BENCH restore $WORK/repo-stash stash $PORT_dst postgres"; RT[stash]=$t
verify "$PORT_dst" bench; stop_cluster dst
SZ[stash]=$(du -sb "$WORK/repo-stash" | cut -f1)
restic -r "$WORK/repo-stash" check --read-data >/dev/null

# stash, native parallel mode.
restic -r "$WORK/repo-native" init --repository-version 2 >/dev/null
timed t "$BENCH backup $WORK/repo-native native $PORT_src bench $JOBS"; BT[native]=$t
ST[native]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stream_bytes"])' "$WORK/out.log")
new_cluster dst
createdb -p "$PORT_dst" bench
timed t "$BENCH restore $WORK/repo-native native $PORT_dst bench $JOBS"; RT[native]=$t
verify "$PORT_dst" bench; stop_cluster dst
SZ[native]=$(du -sb "$WORK/repo-native" | cut -f1)

printf "\ndata %s, database %s MiB, %s cores, native jobs %s\n" "$DATA" "$(( DBSIZE / 1048576 ))" "$(nproc)" "$JOBS"
printf "%-14s %10s %10s %12s %12s\n" pipeline backup_s restore_s stream_MiB repo_MiB
for k in restic stash native; do
  name=$k; [ "$k" = native ] && name=stash-native
  printf "%-14s %10s %10s %12s %12s\n" "$name" "${BT[$k]}" "${RT[$k]}" "$(( ${ST[$k]} / 1048576 ))" "$(( ${SZ[$k]} / 1048576 ))"
done
echo
for k in stash native; do
  awk -v n="$k" -v rb="${BT[restic]}" -v rr="${RT[restic]}" -v b="${BT[$k]}" -v r="${RT[$k]}" \
    'BEGIN{printf "%-12s vs pg_dumpall|restic: backup %.2fx faster, restore %.2fx faster\n", n, rb/b, rr/r}'
done
