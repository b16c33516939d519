#!/usr/bin/env bash
# Installs everything HiSIR Desk needs on a Debian 12 machine, idempotently:
# Debian packages for Fyne/cgo/Xvfb, the ONNX Runtime library (checksum-verified, cached),
# the Python venv for train/ (cached, keyed by train/requirements.txt), Go modules.
# Usage: scripts/setup.sh [--gpu]   (--gpu also fetches the CUDA-enabled ORT library from Maven Central)
set -euo pipefail
source "$(dirname "$0")/env.sh"
log() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

# 1. Debian packages.
PKGS=(gcc libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev
      libxxf86vm-dev xvfb xdotool imagemagick locales)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if ! locale -a 2>/dev/null | grep -qi '^en_US.utf8$'; then
  log "generating the en_US.UTF-8 locale"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen
  $SUDO locale-gen >/dev/null
fi

# 2. ONNX Runtime C library from the npm package onnxruntime-node (install script never run).
if [ ! -f "$ORT_LIB" ] || ! echo "$ORT_LIB_SHA256  $ORT_LIB" | sha256sum -c --status; then
  log "fetching ONNX Runtime $ORT_VERSION (npm onnxruntime-node)"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack "onnxruntime-node@$ORT_VERSION" --ignore-scripts --silent >/dev/null)
  echo "$ORT_TGZ_SHA256  $tmp/onnxruntime-node-$ORT_VERSION.tgz" | sha256sum -c --status \
    || { echo "setup: onnxruntime-node tarball checksum mismatch" >&2; exit 1; }
  tar -xzf "$tmp/onnxruntime-node-$ORT_VERSION.tgz" -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
  mkdir -p "$ORT_DIR"
  install -m 0644 "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$ORT_LIB.tmp"
  echo "$ORT_LIB_SHA256  $ORT_LIB.tmp" | sha256sum -c --status \
    || { echo "setup: libonnxruntime checksum mismatch" >&2; exit 1; }
  mv "$ORT_LIB.tmp" "$ORT_LIB"
fi
if [[ " $* " == *" --gpu "* ]]; then
  bash "$REPO_ROOT/scripts/fetch-ort-gpu.sh"
fi

# 3. Python venv for train/ (torch from PyPI is large: installed once per requirements hash).
if [ ! -x "$VENV/bin/python" ] || [ ! -f "$VENV/.complete" ]; then
  log "creating the Python venv $VENV (first time only; torch is large)"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r "$REPO_ROOT/train/requirements.txt"
  touch "$VENV/.complete"
fi
# The train package itself is put on the path by a .pth file (no build step, nothing to fetch).
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$REPO_ROOT/train" > "$site/hisir_train_repo.pth"

# 4. Go modules.
(cd "$REPO_ROOT" && go mod download)
log "ready (ORT: $ORT_LIB, venv: $VENV)"
