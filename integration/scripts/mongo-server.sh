#!/usr/bin/env bash
# A MongoDB-wire server for the addon tests: nx-27017 (PyPI, SQLite underneath) in a venv.
#   mongo-server.sh start   — install if missing; start on 127.0.0.1:${STASH_IT_MONGO_PORT:-27017}
#                             only if that port is closed
#   mongo-server.sh stop    — stop it, only if this script started it (by its pid file)
# Idempotent. State lives in ${STASH_IT_STATE:-/tmp/stash-it}/mongo.
set -euo pipefail
PORT="${STASH_IT_MONGO_PORT:-27017}"
STATE="${STASH_IT_STATE:-/tmp/stash-it}/mongo"
VENV="${STASH_IT_VENV:-/tmp/stash-it/venv-nx}"
PID="$STATE/nx.pid"
mkdir -p "$STATE"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

case "${1:-start}" in
start)
  if [ ! -x "$VENV/bin/nx-27017" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q 'nx-27017==0.8.1'
  fi
  if port_open; then
    echo "mongo-server: 127.0.0.1:$PORT already answers; using it"
    exit 0
  fi
  mkdir -p "$STATE/data"
  "$VENV/bin/nx-27017" -d --host 127.0.0.1 -p "$PORT" --data-dir "$STATE/data" --pid-file "$PID"
  for _ in $(seq 1 50); do port_open && { echo "mongo-server: started on $PORT"; exit 0; }; sleep 0.2; done
  echo "mongo-server: nx-27017 did not open port $PORT" >&2; exit 1
  ;;
stop)
  if [ -f "$PID" ]; then
    "$VENV/bin/nx-27017" --stop --pid-file "$PID" || true
    rm -f "$PID"
  fi
  ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
