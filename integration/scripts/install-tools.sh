#!/usr/bin/env bash
# Install what the tests need and the machine may lack. Idempotent: installs only what is missing.
#   restic               — the outside judge of our repository format (Debian's package, 0.14)
#   kubernetes-validate  — judges the generated CRDs (PyPI, in a venv)
set -euo pipefail

need_apt=()
command -v restic >/dev/null 2>&1 || need_apt+=(restic)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
restic version
bash "$(dirname "$0")/install-kubernetes-validate.sh"
