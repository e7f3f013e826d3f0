#!/usr/bin/env bash
# Set up fitstudio on a fresh Debian/Ubuntu machine with Python 3.11: the system packages it needs (bubblewrap,
# the training sandbox; libseccomp, its syscall filter), then .venv with fitstudio installed (EXTRAS: e.g. '[test]').
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! command -v bwrap >/dev/null 2>&1 || ! ldconfig -p 2>/dev/null | grep -q libseccomp.so.2; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends bubblewrap libseccomp2 >/dev/null
  else
    echo "fitstudio needs bubblewrap (bwrap) and libseccomp 2: install them with your package manager" >&2
    exit 1
  fi
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${EXTRAS:-}"
