#!/usr/bin/env bash
# Installs kubernetes-validate (a JSON-schema validator for Kubernetes manifests) into a venv,
# used to check the generated CRDs in charts/stash/crds/ (see src/api/crd.rs tests).
#
#   integration/scripts/install-kubernetes-validate.sh          # into ~/.cache/stash/venv-kv
#   KV_VENV=/some/dir integration/scripts/install-kubernetes-validate.sh
#
# Idempotent: does nothing when the wanted version is already installed.
set -euo pipefail

VERSION="1.37.0"
VENV="${KV_VENV:-$HOME/.cache/stash/venv-kv}"
BIN="$VENV/bin/kubernetes-validate"

if [[ -x "$BIN" ]] && "$VENV/bin/python" -m pip show kubernetes-validate 2>/dev/null | grep -qx "Version: $VERSION"; then
    echo "kubernetes-validate $VERSION already installed at $BIN"
    exit 0
fi

python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "kubernetes-validate==$VERSION"
echo "installed kubernetes-validate $VERSION at $BIN"
