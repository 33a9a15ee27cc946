#!/usr/bin/env bash
# Install rustic (a Rust implementation of restic's format) for the benchmarks, which compare
# against it when it is there. It is a benchmark's opponent, not something the tests need, so
# the test command does not install it: about 12 minutes of build on 2 cores, cached after.
#
#   benches/install-rustic.sh        → $STASH_CACHE/rustic/bin/rustic
set -euo pipefail
cd "$(dirname "$0")/.."
source integration/scripts/cache-dir.sh
VERSION=0.11.4
BIN=$STASH_CACHE/rustic/bin/rustic
if [ -x "$BIN" ] && "$BIN" --version | grep -q "$VERSION"; then
  echo "rustic $VERSION is installed: $BIN"; exit 0
fi
# Its own target folder, so its dependencies never mix with the project's build.
CARGO_TARGET_DIR=$STASH_CACHE/rustic/target nice -n 10 \
  cargo install rustic-rs --version "$VERSION" --locked --no-default-features \
  --root "$STASH_CACHE/rustic"
rm -rf "$STASH_CACHE/rustic/target"
"$BIN" --version
