#!/usr/bin/env bash
# Fetches the CUDA-enabled ONNX Runtime library for GPU machines, idempotently.
# The Maven Central artifact com.microsoft.onnxruntime:onnxruntime_gpu carries the Linux
# library with its CUDA and TensorRT provider plugins under ai/onnxruntime/native/linux-x64/;
# the npm library that scripts/setup.sh caches has no CUDA plugin.
# The jar is fetched with Maven (mvn dependency:copy), checked against a pinned sha256, and
# its linux-x64 libraries are extracted into $HISIR_CACHE/ort-gpu-<version>/.
# CUDA 12 and cuDNN 9 runtimes must be installed on the machine (or on LD_LIBRARY_PATH).
# Then run hisir with:  ONNXRUNTIME_SHARED_LIBRARY_PATH=$HISIR_CACHE/ort-gpu-<version>/libonnxruntime.so.1
# Usage: scripts/fetch-ort-gpu.sh      (called by scripts/setup.sh --gpu)
set -euo pipefail
source "$(dirname "$0")/env.sh"
log() { printf '\033[1mfetch-ort-gpu:\033[0m %s\n' "$*"; }

ORT_GPU_VERSION="1.24.3"   # same release as the CPU library: ORT API 24, as onnxruntime_go v1.27.0 expects
ORT_GPU_JAR_SHA256="db71b1f3863ed03b3b31bb1ae4a19422818bc11eedf60d261d2753a304a98b24"
ORT_GPU_DIR="$HISIR_CACHE/ort-gpu-$ORT_GPU_VERSION"
ARTIFACT="com.microsoft.onnxruntime:onnxruntime_gpu:$ORT_GPU_VERSION:jar"
JAR="onnxruntime_gpu-$ORT_GPU_VERSION.jar"

if [ -f "$ORT_GPU_DIR/.complete" ] && [ -f "$ORT_GPU_DIR/libonnxruntime.so.1" ]; then
  log "already there: $ORT_GPU_DIR"
  exit 0
fi
command -v mvn >/dev/null || { echo "fetch-ort-gpu: needs Maven (apt-get install maven)" >&2; exit 1; }
command -v unzip >/dev/null || { echo "fetch-ort-gpu: needs unzip (apt-get install unzip)" >&2; exit 1; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
log "fetching $ARTIFACT (about 370 MB)"
mvn -q -B dependency:copy -Dartifact="$ARTIFACT" -DoutputDirectory="$tmp" -Dmdep.overWriteReleases=true
echo "$ORT_GPU_JAR_SHA256  $tmp/$JAR" | sha256sum -c --status \
  || { echo "fetch-ort-gpu: $JAR checksum mismatch (want $ORT_GPU_JAR_SHA256)" >&2; exit 1; }

unzip -q -o "$tmp/$JAR" 'ai/onnxruntime/native/linux-x64/*' -d "$tmp/x"
rm -f "$tmp/x/ai/onnxruntime/native/linux-x64/libonnxruntime4j_jni.so"   # the Java binding, not needed
mkdir -p "$ORT_GPU_DIR"
rm -f "$ORT_GPU_DIR/.complete"
for f in "$tmp"/x/ai/onnxruntime/native/linux-x64/*.so; do
  install -m 0755 "$f" "$ORT_GPU_DIR/$(basename "$f")"
done
# The library's soname is libonnxruntime.so.1: give it that name too, as hisir looks for it.
ln -sf libonnxruntime.so "$ORT_GPU_DIR/libonnxruntime.so.1"
touch "$ORT_GPU_DIR/.complete"
log "ready: ONNXRUNTIME_SHARED_LIBRARY_PATH=$ORT_GPU_DIR/libonnxruntime.so.1 (plugins beside it)"
