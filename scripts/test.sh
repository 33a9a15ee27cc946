#!/usr/bin/env bash
# The test command: installs what the tests need, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash integration/scripts/install-tools.sh
cargo test --workspace --no-fail-fast "$@"
