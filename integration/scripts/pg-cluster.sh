#!/usr/bin/env bash
# Throwaway PostgreSQL clusters for the addon tests (restore targets must be fresh clusters).
#   pg-cluster.sh start DIR PORT  — initdb DIR (trust auth, owner postgres) if empty, start it on
#                                   127.0.0.1:PORT unless it already runs; fails if PORT is taken
#                                   by another server
#   pg-cluster.sh stop DIR        — stop the cluster in DIR (only clusters this script created)
# PG_PASSWORD=… gives the cluster scram-sha-256 auth with that password for postgres.
# PG_TLS_DIR=DIR (from tls-certs.sh) turns on TLS with DIR's server certificate, and pg_hba
#   then accepts TCP only as `hostssl … clientcert=verify-full` (a client certificate signed
#   by DIR's CA whose CN is the user); plaintext TCP is rejected. The socket in the cluster
#   folder stays open to the same auth method (the tests' judge reads through it).
# As root, the server runs as the `postgres` user (initdb refuses root).
set -euo pipefail
PGBIN="${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cmd="${1:-}"; DIR="${2:-}"
[ -n "$DIR" ] || { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }
case "$cmd" in
start)
  PORT="${3:?port}"
  if [ -f "$DIR/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
    echo "pg-cluster: $DIR already running"; exit 0
  fi
  if port_open "$PORT"; then echo "pg-cluster: port $PORT is taken by another server" >&2; exit 1; fi
  if [ ! -f "$DIR/PG_VERSION" ]; then
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres: "$DIR"
    chmod 700 "$DIR"
    auth=(-A trust)
    if [ -n "${PG_PASSWORD:-}" ]; then
      printf '%s\n' "$PG_PASSWORD" >"$DIR.pw"; chmod 600 "$DIR.pw"; [ "$(id -u)" = 0 ] && chown postgres: "$DIR.pw"
      auth=(-A scram-sha-256 --pwfile="$DIR.pw")
    fi
    as_pg "$PGBIN/initdb" -D "$DIR" "${auth[@]}" -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >"$DIR.initdb.log" 2>&1 \
      || { cat "$DIR.initdb.log" >&2; exit 1; }
    rm -f "$DIR.pw"
    touch "$DIR/.stash-it"
    if [ -n "${PG_TLS_DIR:-}" ]; then
      for f in ca.crt server.crt server.key; do install -m 600 "$PG_TLS_DIR/$f" "$DIR/$f"; done
      [ "$(id -u)" = 0 ] && chown postgres: "$DIR"/*.crt "$DIR/server.key"
      printf "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'ca.crt'\n" >>"$DIR/postgresql.conf"
      method=trust; [ -n "${PG_PASSWORD:-}" ] && method=scram-sha-256
      printf 'local all all %s\nhostssl all all 127.0.0.1/32 %s clientcert=verify-full\nhostnossl all all 0.0.0.0/0 reject\n' \
        "$method" "$method" >"$DIR/pg_hba.conf"
    fi
  fi
  as_pg "$PGBIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 60 \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
  echo "pg-cluster: $DIR running on $PORT"
  ;;
stop)
  [ -f "$DIR/.stash-it" ] || { echo "pg-cluster: $DIR was not created by this script; not stopping it" >&2; exit 1; }
  if [ -f "$DIR/postmaster.pid" ]; then as_pg "$PGBIN/pg_ctl" -D "$DIR" -m immediate -w stop >/dev/null || true; fi
  ;;
*) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
