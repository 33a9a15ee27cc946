#!/usr/bin/env bash
# Throwaway MariaDB servers for the addon tests (the machine's own on :3306 is left alone).
#   mariadb-server.sh start DIR PORT — mariadb-install-db into DIR/data if empty, start mariadbd
#                                     on 127.0.0.1:PORT (socket DIR/mysqld.sock) unless it runs;
#                                     fails if PORT is taken by another server
#   mariadb-server.sh stop DIR      — stop the server in DIR (only servers this script created)
# MARIADB_USER / MARIADB_PASSWORD: a user for TCP clients ('USER'@'127.0.0.1', all privileges);
#   root stays socket-only (unix_socket auth), which is how the tests' judge reads the server.
# TLS_DIR=DIR (from tls-certs.sh): TLS with DIR's server certificate and CA,
#   require_secure_transport=ON (plaintext TCP is refused) and the user needs a client
#   certificate signed by the CA (REQUIRE X509).
set -euo pipefail
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
sql() { mariadb --no-defaults --socket="$DIR/mysqld.sock" -u root --batch -e "$1"; }

cmd="${1:-}"; DIR="${2:-}"
[ -n "$DIR" ] || { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }
case "$cmd" in
start)
  PORT="${3:?port}"
  if [ -S "$DIR/mysqld.sock" ] && sql "SELECT 1" >/dev/null 2>&1; then echo "mariadb-server: $DIR already running"; exit 0; fi
  if port_open "$PORT"; then echo "mariadb-server: port $PORT is taken by another server" >&2; exit 1; fi
  mkdir -p "$DIR"
  DIR="$(cd "$DIR" && pwd)"
  touch "$DIR/.stash-it"
  owner=()
  # mariadbd refuses to run as root; as root, run it as the packaged `mysql` user.
  if [ "$(id -u)" = 0 ]; then owner=(--user=mysql); fi
  if [ ! -d "$DIR/data/mysql" ]; then
    mkdir -p "$DIR/data"
    [ "$(id -u)" = 0 ] && chown mysql: "$DIR/data"
    mariadb-install-db --no-defaults "${owner[@]}" --datadir="$DIR/data" --auth-root-authentication-method=socket \
      --skip-test-db >"$DIR/install.log" 2>&1 || { cat "$DIR/install.log" >&2; exit 1; }
  fi
  tls=()
  if [ -n "${TLS_DIR:-}" ]; then
    for f in ca.crt server.crt server.key; do install -m 600 "$TLS_DIR/$f" "$DIR/$f"; done
    [ "$(id -u)" = 0 ] && chown mysql: "$DIR"/*.crt "$DIR/server.key"
    tls=(--ssl-ca="$DIR/ca.crt" --ssl-cert="$DIR/server.crt" --ssl-key="$DIR/server.key" --require-secure-transport=ON)
  fi
  [ "$(id -u)" = 0 ] && chown mysql: "$DIR"
  # Small and fast: a test server holds a few MiB and need not survive a crash.
  nohup mariadbd --no-defaults "${owner[@]}" --datadir="$DIR/data" --socket="$DIR/mysqld.sock" --pid-file="$DIR/mysqld.pid" \
    --port="$PORT" --bind-address=127.0.0.1 --skip-name-resolve --log-error="$DIR/error.log" \
    --innodb-buffer-pool-size=64M --innodb-log-file-size=16M --innodb-flush-log-at-trx-commit=0 --skip-log-bin \
    --performance-schema=OFF "${tls[@]}" >/dev/null 2>&1 &
  for _ in $(seq 1 150); do
    if sql "SELECT 1" >/dev/null 2>&1; then break; fi
    sleep 0.2
  done
  sql "SELECT 1" >/dev/null || { echo "mariadb-server: did not start; its log:" >&2; tail -20 "$DIR/error.log" >&2; exit 1; }
  if [ -n "${MARIADB_USER:-}" ]; then
    req=""; [ -n "${TLS_DIR:-}" ] && req=" REQUIRE X509"
    pw=${MARIADB_PASSWORD:-}
    sql "CREATE USER IF NOT EXISTS '$MARIADB_USER'@'127.0.0.1' IDENTIFIED BY '${pw//\'/\'\'}'$req;
         GRANT ALL ON *.* TO '$MARIADB_USER'@'127.0.0.1' WITH GRANT OPTION"
  fi
  echo "mariadb-server: $DIR running on $PORT"
  ;;
stop)
  [ -f "$DIR/.stash-it" ] || { echo "mariadb-server: $DIR was not created by this script; not stopping it" >&2; exit 1; }
  if [ -f "$DIR/mysqld.pid" ]; then
    pid=$(cat "$DIR/mysqld.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  ;;
*) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
