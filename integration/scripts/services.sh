#!/usr/bin/env bash
# Start (or stop) the servers the tests use, on loopback: the databases (db-services.sh:
# PostgreSQL, MariaDB, Redis, a MongoDB-wire server) and these object-storage servers:
#
#   S3     moto_server               127.0.0.1:${STASH_S3_PORT:-9100}     bucket stash-test
#   Azure  azurite-blob              127.0.0.1:${STASH_AZURE_PORT:-9101}  container stash-test (devstoreaccount1)
#   GCS    fake-gcs-server           127.0.0.1:${STASH_GCS_PORT:-9102}    bucket stash-test
#   REST   rclone serve restic       127.0.0.1:${STASH_REST_PORT:-9103}   user stash / password stash-rest-pw
#   Pushgateway prometheus-pushgateway 127.0.0.1:${STASH_PUSHGATEWAY_PORT:-9104}  in memory (no persistence file)
#
#   integration/scripts/services.sh start   # starts each server whose port is closed
#   integration/scripts/services.sh stop    # stops only the servers this script started
#
# A server already listening on its port is used as it is (and never stopped by us). Each one
# we start leaves a pid file under $STASH_CACHE/run; `stop` kills exactly those pids. Tools come
# from integration/scripts/install-tools.sh. The tests read the same ports from the same
# variables, and the file-backed S3 server they stop and restart themselves (s3s-fs) from
# $STASH_CACHE/cargo/bin.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=cache-dir.sh
. "$here/cache-dir.sh"

S3_PORT=${STASH_S3_PORT:-9100}
AZURE_PORT=${STASH_AZURE_PORT:-9101}
GCS_PORT=${STASH_GCS_PORT:-9102}
REST_PORT=${STASH_REST_PORT:-9103}
PUSHGATEWAY_PORT=${STASH_PUSHGATEWAY_PORT:-9104}
BUCKET=stash-test
AZ_ACCOUNT=devstoreaccount1
# Azurite's well-known development key (public, documented by Microsoft).
AZ_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
REST_USER=stash
REST_PASS=stash-rest-pw

run="$STASH_CACHE/run"
data="$STASH_CACHE/data"
mkdir -p "$run" "$data"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Up to 60 s: a Node or Python server can take over 10 s to start on a busy 2-core machine
# (azurite once did). A server whose process has exited fails at once.
wait_port() { # port name [pid]
  for _ in $(seq 1 600); do
    port_open "$1" && return 0
    if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "$2 did not start on port $1; its log: $run/$2.log" >&2
  tail -n 20 "$run/$2.log" >&2 || true
  return 1
}

start_one() { # name port command...
  local name=$1 port=$2; shift 2
  if port_open "$port"; then
    echo "$name: port $port already open, using it"
    return 0
  fi
  nohup "$@" >"$run/$name.log" 2>&1 &
  echo $! >"$run/$name.pid"
  wait_port "$port" "$name" $!
  echo "$name: started on 127.0.0.1:$port (pid $(cat "$run/$name.pid"))"
}

# Azure Shared Key signature for "create container" (Azurite requires a signed request).
azure_create_container() {
  local date version=2021-10-04 sts sig
  date=$(LC_ALL=C TZ=GMT date '+%a, %d %b %Y %H:%M:%S GMT')
  sts=$(printf 'PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:%s\nx-ms-version:%s\n/%s/%s/%s\nrestype:container' \
    "$date" "$version" "$AZ_ACCOUNT" "$AZ_ACCOUNT" "$BUCKET")
  sig=$(printf '%s' "$sts" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(printf '%s' "$AZ_KEY" | base64 -d | xxd -p -c 256)" -binary | base64 -w0)
  curl -sS -o /dev/null -w '%{http_code}' -X PUT -H "x-ms-date: $date" -H "x-ms-version: $version" -H 'Content-Length: 0' \
    -H "Authorization: SharedKey $AZ_ACCOUNT:$sig" \
    "http://127.0.0.1:$AZURE_PORT/$AZ_ACCOUNT/$BUCKET?restype=container" 2>/dev/null || true
}

start() {
  local venv="$STASH_CACHE/venv" npm="$STASH_CACHE/npm"
  start_one moto "$S3_PORT" "$venv/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT"
  curl -sS -o /dev/null -X PUT "http://127.0.0.1:$S3_PORT/$BUCKET" || true  # 409 when it exists

  mkdir -p "$data/azurite"
  start_one azurite "$AZURE_PORT" node "$npm/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$AZURE_PORT" \
    --location "$data/azurite" --skipApiVersionCheck --loose --silent
  code=$(azure_create_container)
  case "$code" in 201|409) ;; *) echo "azurite: creating container $BUCKET answered ${code:-nothing}" >&2; exit 1 ;; esac

  start_one fake-gcs "$GCS_PORT" "$venv/bin/fake-gcs-server" -scheme http -host 127.0.0.1 -port "$GCS_PORT" -backend memory \
    -public-host "127.0.0.1:$GCS_PORT" -log-level error
  curl -sS -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"name\":\"$BUCKET\"}" \
    "http://127.0.0.1:$GCS_PORT/storage/v1/b?project=stash" || true

  mkdir -p "$data/rest"
  start_one rclone-restic "$REST_PORT" rclone serve restic --addr "127.0.0.1:$REST_PORT" --user "$REST_USER" --pass "$REST_PASS" "$data/rest"

  # An empty --persistence.file keeps pushed metrics in memory only: a restart starts clean.
  start_one pushgateway "$PUSHGATEWAY_PORT" prometheus-pushgateway --web.listen-address="127.0.0.1:$PUSHGATEWAY_PORT" \
    --persistence.file="" --log.level=warn
  code=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PUSHGATEWAY_PORT/-/ready" 2>/dev/null || true)
  [ "$code" = 200 ] || { echo "pushgateway: /-/ready answered ${code:-nothing}" >&2; exit 1; }
}

stop() {
  for f in "$run"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" && echo "stopped $(basename "$f" .pid) (pid $pid)"
    fi
    rm -f "$f"
  done
}

case "${1:-start}" in
  start) start; bash "$here/db-services.sh" start ;;
  stop) stop; bash "$here/db-services.sh" stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
