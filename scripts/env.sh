# Shared settings for the setup and test scripts; sourced, not run.
# Heavy caches live outside the clone, keyed by pinned versions, so a fresh clone reuses them.
HISIR_CACHE="${HISIR_CACHE:-$HOME/.cache/hisir}"
ORT_VERSION="1.24.3"                      # onnxruntime-node on npm; ORT API 24 as onnxruntime_go v1.27.0 expects
ORT_TGZ_SHA256="aa1bb5fa261ea68de05dd53efbba210cd7adf2d2850f4c3a201054c74cc78040"
ORT_LIB_SHA256="92ba8e44d31b80a34f5e805076a044122c3be1fffe0d88ed790de7267b0b2682"
ORT_DIR="$HISIR_CACHE/ort-$ORT_VERSION"
ORT_LIB="$ORT_DIR/libonnxruntime.so.1"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQ_HASH="$(sha256sum "$REPO_ROOT/train/requirements.txt" | cut -c1-12)"
VENV="$HISIR_CACHE/venv-$REQ_HASH"
export HISIR_CACHE ONNXRUNTIME_SHARED_LIBRARY_PATH="${ONNXRUNTIME_SHARED_LIBRARY_PATH:-$ORT_LIB}"
export LANG=en_US.UTF-8 LC_ALL=en_US.UTF-8
export HISIR_PYTHON="$VENV/bin/python"
