#!/usr/bin/env bash
# The database servers the addon tests talk to (called by services.sh). Idempotent: starts a service only if its port is closed,
# and `stop` stops only what this script started (recorded by pid in $STATE).
#   db-services.sh start — PostgreSQL :5432, MariaDB :3306, Redis :6379 (the machine's own, per
#                          /work/shared/ENVIRONMENT.md), MongoDB-wire nx-27017 :27017 (mongo-server.sh)
#   db-services.sh stop
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
STATE="${STASH_IT_STATE:-/tmp/stash-it}"
mkdir -p "$STATE"
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 100); do port_open "$1" && return 0; sleep 0.2; done; echo "services: port $1 did not open" >&2; return 1; }

case "${1:-start}" in
start)
  if ! port_open 5432; then
    v=$(ls /etc/postgresql | sort -V | tail -1)
    pg_ctlcluster --skip-systemctl-redirect "$v" main start
    echo "$v" >"$STATE/postgres.started"; wait_port 5432
  fi
  if ! port_open 3306; then
    start-stop-daemon --start --oknodo --background --make-pidfile --pidfile "$STATE/mariadb.pid" --exec /usr/sbin/mariadbd
    wait_port 3306
  fi
  if ! port_open 6379; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --pidfile "$STATE/redis.pid"
    wait_port 6379
  fi
  bash "$HERE/mongo-server.sh" start
  ;;
stop)
  bash "$HERE/mongo-server.sh" stop
  if [ -f "$STATE/redis.pid" ]; then kill "$(cat "$STATE/redis.pid")" 2>/dev/null || true; rm -f "$STATE/redis.pid"; fi
  if [ -f "$STATE/mariadb.pid" ]; then start-stop-daemon --stop --oknodo --pidfile "$STATE/mariadb.pid" --retry 10 || true; rm -f "$STATE/mariadb.pid"; fi
  if [ -f "$STATE/postgres.started" ]; then pg_ctlcluster --skip-systemctl-redirect "$(cat "$STATE/postgres.started")" main stop || true; rm -f "$STATE/postgres.started"; fi
  ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
