#!/usr/bin/env bash
# Fuzz the engine's parsers of repository bytes, each target for a bounded time:
#   scripts/fuzz.sh [SECONDS-PER-TARGET] [TARGET...]      (default 60 s, every target)
#
# Targets are fuzz/fuzz_targets/*.rs (cargo-fuzz, libFuzzer); what each does with its input
# is stash::engine::fuzz. Seeds: the committed src/engine/testdata/fuzz/<target>/, plus fresh
# ones from new real repositories (restic 0.14 and ours, by the integration crate's
# `fuzz-seeds`) in the cache, where the growing corpus stays too. An input that crashes, hangs or runs out of memory is
# copied to src/engine/testdata/fuzz/<target>/crash-<name>: fix the engine, and the normal
# test suite replays it from then on (engine::fuzz's tests). Exit status 1 when any was found.
#
# cargo-fuzz needs nightly flags (-Z); only a stable toolchain is here, so RUSTC_BOOTSTRAP=1
# lets it accept them. No sanitizer: the engine is safe Rust, and debug assertions (overflow
# checks included) stay on, which is what turns bad arithmetic into a finding.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
here="$(pwd)"
# shellcheck source=../integration/scripts/cache-dir.sh
. integration/scripts/cache-dir.sh

root="$STASH_CACHE/cargo-fuzz"
export PATH="$root/bin:$PATH"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "installing cargo-fuzz into $root"
  CARGO_TARGET_DIR="$root/build" cargo install cargo-fuzz --locked --root "$root"
fi
work="${FUZZ_WORK_DIR:-$STASH_CACHE/fuzz}"
fuzz_target_dir="${FUZZ_TARGET_DIR:-$work/target}"
seeds="$here/src/engine/testdata/fuzz"

# Fresh seeds from real repositories (restic must be installed: integration/scripts/install-tools.sh).
if [ "${FUZZ_SKIP_SEEDS:-0}" != 1 ]; then
  seeds_target="${SEEDS_TARGET_DIR:-${STASH_TARGET_DIR:-$here/target}}"
  CARGO_TARGET_DIR="$seeds_target" cargo build --workspace --bin fuzz-seeds
  rm -rf "$work/seeds"
  "$seeds_target/debug/fuzz-seeds" "$work/seeds"
fi

# Only the fuzz build gets the nightly switch: it changes every fingerprint, so the seeds'
# build above must not see it.
export RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$fuzz_target_dir"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cd fuzz && cargo fuzz list)
fi
(cd fuzz && cargo fuzz build --sanitizer none)

found=0
summary=()
for t in "${targets[@]}"; do
  corpus="$work/corpus/$t"
  artifacts="$work/artifacts/$t"
  mkdir -p "$corpus" "$artifacts" "$seeds/$t" "$work/seeds/$t"
  rm -f "$artifacts"/*
  log="$work/$t.log"
  echo "== $t: ${secs}s"
  # -timeout: one input taking longer is a hang; -rss_limit_mb: more memory is an OOM.
  (cd fuzz && cargo fuzz run --sanitizer none "$t" "$corpus" "$seeds/$t" "$work/seeds/$t" -- \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -artifact_prefix="$artifacts/" -print_final_stats=1) >"$log" 2>&1 || true
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
  n=0
  for a in "$artifacts"/*; do
    [ -e "$a" ] || continue
    cp "$a" "$seeds/$t/crash-$(basename "$a")"
    n=$((n + 1))
  done
  summary+=("$t: $execs executions, $n findings")
  if [ "$n" -gt 0 ]; then
    found=1
    echo "   findings copied to $seeds/$t/ (log: $log)"
    grep -m3 -E 'panicked|ERROR: libFuzzer' "$log" || true
  fi
done
printf '%s\n' "${summary[@]}"
exit "$found"
