#!/usr/bin/env bash
# Throwaway Redis servers for the addon tests (the machine's own on :6379 is left alone).
#   redis-server.sh start DIR PORT [TLS_PORT] — start redis-server on 127.0.0.1:PORT (no
#                                      persistence), files in DIR; fails if a port is taken
#   redis-server.sh stop DIR         — stop the server in DIR (only servers this script started)
# With TLS_PORT, TLS_DIR=DIR (from tls-certs.sh) must be set: TLS on TLS_PORT with DIR's server
# certificate, clients verified against DIR's CA (TLS_AUTH_CLIENTS: optional (default), yes
# or no). PORT then stays a plaintext port for the tests' judge and admin commands; PORT 0
# makes the server TLS-only.
set -euo pipefail
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cmd="${1:-}"; DIR="${2:-}"
[ -n "$DIR" ] || { echo "usage: $0 start DIR PORT [TLS_PORT] | stop DIR" >&2; exit 2; }
case "$cmd" in
start)
  PORT="${3:?port}"; TLS_PORT="${4:-}"
  check=${TLS_PORT:-$PORT}
  if [ -f "$DIR/redis.pid" ] && kill -0 "$(cat "$DIR/redis.pid")" 2>/dev/null; then echo "redis-server: $DIR already running"; exit 0; fi
  for p in $PORT $TLS_PORT; do
    if [ "$p" != 0 ] && port_open "$p"; then echo "redis-server: port $p is taken by another server" >&2; exit 1; fi
  done
  mkdir -p "$DIR"
  DIR="$(cd "$DIR" && pwd)"
  touch "$DIR/.stash-it"
  tls=()
  if [ -n "$TLS_PORT" ]; then
    : "${TLS_DIR:?TLS_DIR (from tls-certs.sh) is needed for a TLS port}"
    tls=(--tls-port "$TLS_PORT" --tls-cert-file "$TLS_DIR/server.crt" --tls-key-file "$TLS_DIR/server.key"
         --tls-ca-cert-file "$TLS_DIR/ca.crt" --tls-auth-clients "${TLS_AUTH_CLIENTS:-optional}")
  fi
  redis-server --daemonize yes --bind 127.0.0.1 --port "$PORT" --save "" --appendonly no --dir "$DIR" \
    --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" "${tls[@]}"
  for _ in $(seq 1 100); do port_open "$check" && break; sleep 0.1; done
  port_open "$check" || { echo "redis-server: did not start; its log:" >&2; tail -20 "$DIR/redis.log" >&2; exit 1; }
  echo "redis-server: $DIR running on $PORT${TLS_PORT:+ (TLS on $TLS_PORT)}"
  ;;
stop)
  [ -f "$DIR/.stash-it" ] || { echo "redis-server: $DIR was not created by this script; not stopping it" >&2; exit 1; }
  if [ -f "$DIR/redis.pid" ]; then kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true; fi
  ;;
*) echo "usage: $0 start DIR PORT [TLS_PORT] | stop DIR" >&2; exit 2 ;;
esac
