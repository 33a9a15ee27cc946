# Sourced by the scripts here: where installed tools and running services' state live.
# STASH_CACHE: /var/cache/stash-ci when writable (CI keeps it), else ~/.cache/stash.
if [ -z "${STASH_CACHE:-}" ]; then
  if mkdir -p /var/cache/stash-ci 2>/dev/null && [ -w /var/cache/stash-ci ]; then
    STASH_CACHE=/var/cache/stash-ci
  else
    STASH_CACHE="$HOME/.cache/stash"
  fi
fi
mkdir -p "$STASH_CACHE"
export STASH_CACHE
