#!/usr/bin/env bash
# The test command: installs what the tests need, starts the storage servers (only those whose
# port is closed; stops again only those it started), then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash integration/scripts/install-tools.sh
bash integration/scripts/services.sh start
trap 'bash integration/scripts/services.sh stop' EXIT
cargo test --workspace --no-fail-fast "$@"
