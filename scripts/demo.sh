#!/usr/bin/env bash
# The main job, on the embedded default: a local filesystem repository.
# Builds stash, backs up a sample folder and a database-dump-like stream, restores both,
# and verifies the restored bytes. Everything lives under ./demo (override with DEMO_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO_DIR=${DEMO_DIR:-$PWD/demo}
cargo build --release -q -p stash-controller
STASH=${CARGO_TARGET_DIR:-$PWD/target}/release/stash
rm -rf "$DEMO_DIR" && mkdir -p "$DEMO_DIR/data/docs"
export RESTIC_REPOSITORY="$DEMO_DIR/repo" RESTIC_PASSWORD=${RESTIC_PASSWORD:-demo-password}

echo "== sample data"
head -c 20000000 /dev/urandom > "$DEMO_DIR/data/blob.bin"
for i in $(seq 1 50); do echo "document $i $(date)" > "$DEMO_DIR/data/docs/doc-$i.txt"; done
ln -s docs/doc-1.txt "$DEMO_DIR/data/latest"
seq 1 2000000 | sed 's/.*/INSERT INTO t VALUES (&, '"'"'row &'"'"');/' > "$DEMO_DIR/dump.sql"

echo "== init, backup (folder and stream)"
$STASH init
$STASH backup "$DEMO_DIR/data" --tag demo
$STASH backup --stdin --stdin-filename dumpfile.sql < "$DEMO_DIR/dump.sql"
$STASH backup --stdin --stdin-filename dumpfile.sql < "$DEMO_DIR/dump.sql"   # deduplicated: adds ~nothing
$STASH snapshots

echo "== restore and verify"
$STASH restore latest --path "$DEMO_DIR/data" --target "$DEMO_DIR/restored"
diff -r "$DEMO_DIR/data" "$DEMO_DIR/restored$DEMO_DIR/data"
$STASH dump latest /dumpfile.sql --path /dumpfile.sql | cmp - "$DEMO_DIR/dump.sql"
$STASH check --read-data
$STASH forget --keep-last 1 --prune
$STASH stats
echo "demo OK: backup and restore verified byte for byte"
