#!/usr/bin/env bash
# The main job, in local mode on the embedded default: Stash's controller runs the manifests of
# examples/postgres on this machine. It backs up the local PostgreSQL database stash_demo through
# its AppBinding into a local-folder repository, restores the snapshot into a fresh database
# (stash_demo_restored) through a RestoreSession, and compares the two with pg_dump.
# State (objects, status, events, step logs) goes to ./demo/state (override with DEMO_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO_DIR=${DEMO_DIR:-$PWD/demo}
EXAMPLE=examples/postgres
REPO=/tmp/stash-examples/postgres/repo    # the Repository's hostPath in $EXAMPLE/repository.yaml
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres)

cargo build --release -q -p stash-controller
STASH=${CARGO_TARGET_DIR:-$PWD/target}/release/stash
rm -rf "$DEMO_DIR" "$REPO" && mkdir -p "$DEMO_DIR"
export STASH_STATE="$DEMO_DIR/state"

echo "== a sample database: stash_demo (and an empty stash_demo_restored to restore into)"
for db in stash_demo stash_demo_restored; do
  "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
done
"${PSQL[@]}" -d stash_demo <<'SQL'
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text, joined date);
INSERT INTO customers (name, email, joined)
  SELECT 'customer ' || g, 'c' || g || '@example.com', DATE '2020-01-01' + g % 1500
  FROM generate_series(1, 200000) g;
CREATE TABLE orders (id bigserial PRIMARY KEY, customer int REFERENCES customers, total numeric(12,2));
INSERT INTO orders (customer, total) SELECT 1 + g % 200000, (g % 997) * 1.25 FROM generate_series(1, 500000) g;
CREATE INDEX orders_customer ON orders (customer);
SQL

echo "== stash run --manifests $EXAMPLE --once"
"$STASH" run --manifests "$EXAMPLE" --once

echo "== what the controller recorded"
"$STASH" get backupconfiguration -n demo
"$STASH" get backupsession -n demo
"$STASH" get restoresession -n demo
"$STASH" get repository -n demo
RESTIC_PASSWORD=change-me-repository-password "$STASH" -r "$REPO" snapshots

echo "== compare the source and the restored database"
strip() { grep -v -e '^\\restrict ' -e '^\\unrestrict '; }
pg_dump -h 127.0.0.1 -U postgres stash_demo | strip > "$DEMO_DIR/source.sql"
pg_dump -h 127.0.0.1 -U postgres stash_demo_restored | strip > "$DEMO_DIR/restored.sql"
cmp "$DEMO_DIR/source.sql" "$DEMO_DIR/restored.sql"
echo "demo OK: PostgreSQL backed up and restored through Stash's objects in local mode; pg_dump of both is identical"
