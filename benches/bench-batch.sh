#!/usr/bin/env bash
# BackupBatch benchmark, one run: the same application — a PostgreSQL and a MariaDB database,
# Redis keys and a folder of files — backed up by one BackupBatch session, Parallel and then
# Sequential, each into a fresh repository, through `stash run --once` in local mode. (The
# MongoDB member of examples/batch is left out: the test's MongoDB-wire server is a stand-in
# whose speed says nothing about a real mongod.)
#
#   benches/bench-batch.sh [SCALE]    (default 1: about 150 MiB of PostgreSQL rows, 60 MiB of
#                                       MariaDB rows, 40,000 Redis keys, 4,000 files / 100 MiB;
#                                       SCALE multiplies every size)
#
# Prints, per order: the session's wall time (`stash run --once` from start to exit), the sum
# of its members' host durations as the session records them, and their ratio (> 1: members
# overlapped); then Parallel's wall time against Sequential's. Asserts only that every session
# succeeded. `--max-parallel-members` is left at its default.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-1}
WORK=${BENCH_DIR:-/tmp/stash-batch-bench}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
cargo build -q -p stash-controller --bin stash
STASH=$TARGET/debug/stash   # dev profile: every package we run is built with opt-level ≥ 2
export PGHOST=127.0.0.1 PGUSER=postgres
DB=stash_batch_bench

rm -rf "$WORK" && mkdir -p "$WORK/files"
echo "generating the application's data (scale $SCALE)"
psql -q -X -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
psql -q -X -d $DB -c "CREATE TABLE events AS SELECT g AS id, now() - g * interval '1 second' AS at,
  md5(g::text) || repeat('x', (g % 50)::int) AS body FROM generate_series(1, $((1200000 * SCALE))) g"
mariadb -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB"
mariadb -h 127.0.0.1 -u root $DB -e "CREATE TABLE orders (id BIGINT PRIMARY KEY, body VARCHAR(200)) ENGINE=InnoDB;
  INSERT INTO orders SELECT seq, CONCAT(MD5(seq), REPEAT('y', seq % 80)) FROM seq_1_to_$((500000 * SCALE));"
redis-cli -n 9 FLUSHDB >/dev/null
seq 1 $((40000 * SCALE)) | awk '{printf "SET bench:%d value-%d-%s\n", $1, $1, "0123456789abcdef0123456789abcdef"}' | redis-cli -n 9 --pipe >/dev/null
python3 - "$WORK/files" "$SCALE" <<'PY'
import os, random, sys
root, scale = sys.argv[1], int(sys.argv[2])
random.seed(7)
for i in range(4000 * scale):
    d = os.path.join(root, f"d{i % 40}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i}.bin"), "wb") as f:
        f.write(random.randbytes(random.randint(1000, 50000)))
PY

manifests() { # order → a manifests folder for it
  local m=$WORK/$1/manifests
  mkdir -p "$m"
  cat > "$m/app.yaml" <<EOF
apiVersion: stash.appscode.com/v1alpha1
kind: Repository
metadata: {name: repo, namespace: bench}
spec:
  backend:
    storageSecretName: repo-secret
    local: {mountPath: $WORK/$1/repo, hostPath: {path: $WORK/$1/repo}}
---
apiVersion: v1
kind: Secret
metadata: {name: repo-secret, namespace: bench}
stringData: {RESTIC_PASSWORD: bench-password}
---
apiVersion: v1
kind: Secret
metadata: {name: pg-auth, namespace: bench}
stringData: {username: postgres, password: ""}
---
apiVersion: v1
kind: Secret
metadata: {name: maria-auth, namespace: bench}
stringData: {username: root, password: ""}
---
apiVersion: appcatalog.appscode.com/v1alpha1
kind: AppBinding
metadata: {name: pg, namespace: bench}
spec: {type: kubedb.com/postgres, version: "14.0", clientConfig: {url: "postgresql://127.0.0.1:5432/$DB?sslmode=disable"}, secret: {name: pg-auth}}
---
apiVersion: appcatalog.appscode.com/v1alpha1
kind: AppBinding
metadata: {name: maria, namespace: bench}
spec: {type: kubedb.com/mariadb, version: "10.6.23", clientConfig: {url: "mysql://127.0.0.1:3306/$DB"}, secret: {name: maria-auth}}
---
apiVersion: appcatalog.appscode.com/v1alpha1
kind: AppBinding
metadata: {name: redis, namespace: bench}
spec: {type: kubedb.com/redis, version: "7.0.5", clientConfig: {url: "redis://127.0.0.1:6379"}}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-files}
spec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], hostPath: {path: $WORK/files}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: files, namespace: bench}
spec: {volumeName: pv-files, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupBatch
metadata: {name: app, namespace: bench}
spec:
  schedule: "0 3 * * *"
  executionOrder: $1
  repository: {name: repo}
  retentionPolicy: {name: keep, keepLast: 5, prune: true}
  members:
  - task: {name: postgres-backup-14.0, params: [{name: backupCMD, value: pg_dump}]}
    target: {alias: postgres, ref: {apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: pg}}
  - task: {name: mariadb-backup-10.6.23, params: [{name: args, value: $DB}]}
    target: {alias: mariadb, ref: {apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: maria}}
  - task: {name: redis-backup-7.0.5, params: [{name: args, value: -db 9}]}
    target: {alias: redis, ref: {apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: redis}}
  - task: {name: pvc-backup}
    target: {alias: files, ref: {apiVersion: v1, kind: PersistentVolumeClaim, name: files}}
EOF
  echo "$m"
}

# The sum of every host's duration (Go durations: 1m2.5s) in `stash get -o json`'s sessions.
cat > "$WORK/host_seconds.py" <<'PY'
import json, re, sys
doc = json.load(sys.stdin)
units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
def secs(d):
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9.]+)(ms|us|µs|ns|h|m|s)", d or ""))
hosts = [h for s in doc.get("items", [doc]) for t in s["status"]["targets"] for h in t.get("stats", [])]
print(f"{sum(secs(h.get('duration')) for h in hosts):.1f}")
PY

declare -A WALL SUM
for order in Parallel Sequential; do
  m=$(manifests $order)
  start=$(date +%s.%N)
  "$STASH" run --once --manifests "$m" --state "$WORK/$order/state" >"$WORK/$order/run.log" 2>&1 \
    || { cat "$WORK/$order/run.log"; echo "the $order session failed" >&2; exit 1; }
  end=$(date +%s.%N)
  WALL[$order]=$(python3 -c "print(f'{$end - $start:.1f}')")
  SUM[$order]=$(STASH_STATE=$WORK/$order/state "$STASH" get backupsession -n bench -o json \
    | python3 "$WORK/host_seconds.py")
done

printf '\n%-11s %10s %16s %8s\n' order "wall (s)" "members sum (s)" "sum/wall"
for order in Parallel Sequential; do
  printf '%-11s %10s %16s %8s\n' $order "${WALL[$order]}" "${SUM[$order]}" \
    "$(python3 -c "print(f'{${SUM[$order]} / ${WALL[$order]}:.2f}')")"
done
echo "Parallel's wall time is $(python3 -c "print(f'{${WALL[Sequential]} / ${WALL[Parallel]}:.2f}')")× shorter than Sequential's"
psql -q -X -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
mariadb -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS $DB"
redis-cli -n 9 FLUSHDB >/dev/null
