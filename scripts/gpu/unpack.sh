#!/usr/bin/env bash
# On the GPU machine (or here, for the rehearsal): collects the chunks made by pack.sh that have
# arrived so far (one per device call, carried as .cache/gpu/carry/N), checks them, and once all have
# arrived reassembles and unpacks Node + onnxruntime-node 1.29.0 + the CUDA 13 provider libraries
# into $DS_GPU_HOME (default /tmp/ds-gpu). Then writes $DS_GPU_HOME/env.sh, which puts that Node
# first on PATH, onnxruntime-node on NODE_PATH, and the CUDA libraries of PyTorch's wheels
# (site-packages/nvidia/*/lib) on LD_LIBRARY_PATH. Safe to run in every call: it only adds.
# Exit status: 0 when unpacked (now or before), 3 while chunks are still missing, 1 on a bad chunk.
set -euo pipefail
cd "$(dirname "$0")/../.."

HOME_DIR=${DS_GPU_HOME:-/tmp/ds-gpu}
CHUNKS=${DS_GPU_CHUNKS:-/tmp/ds-gpu-chunks}
CARRY=${DS_GPU_CARRY:-.cache/gpu/carry}
mkdir -p "$CHUNKS"
say() { echo "[unpack] $*" >&2; }

sums=$(ls "$CARRY"/*/SHA256SUMS "$CHUNKS/SHA256SUMS" 2>/dev/null | head -1 || true)
if [ -z "$sums" ]; then say "no SHA256SUMS under $CARRY/*/ (carry .cache/gpu/carry/N): nothing to do"; exit 3; fi
cp -f "$sums" "$CHUNKS/SHA256SUMS.new" && mv "$CHUNKS/SHA256SUMS.new" "$CHUNKS/SHA256SUMS"
want=$(sed -n 's/^# chunks //p' "$CHUNKS/SHA256SUMS")
archive_sum=$(awk '$2 == "ds-gpu.tar" {print $1}' "$CHUNKS/SHA256SUMS")

if [ -f "$HOME_DIR/.unpacked" ] && [ "$(cat "$HOME_DIR/.unpacked")" = "$archive_sum" ]; then
  say "already unpacked in $HOME_DIR"
else
  # 1. Take every chunk that has arrived and passes its checksum.
  for part in "$CARRY"/*/ds-gpu.tar.part*; do
    [ -f "$part" ] || continue
    name=$(basename "$part")
    [ -f "$CHUNKS/$name" ] && continue
    expect=$(awk -v n="$name" '$2 == n {print $1}' "$CHUNKS/SHA256SUMS")
    got=$(sha256sum "$part" | cut -d' ' -f1)
    if [ "$got" != "$expect" ]; then say "chunk $name is damaged (sha256 $got, expected $expect)"; exit 1; fi
    cp "$part" "$CHUNKS/$name.tmp" && mv "$CHUNKS/$name.tmp" "$CHUNKS/$name"
  done
  have=$(ls "$CHUNKS"/ds-gpu.tar.part* 2>/dev/null | grep -vc '\.tmp$' || true)
  say "chunks: $have of $want"
  if [ "$have" -lt "$want" ]; then exit 3; fi
  # 2. Reassemble, check the whole, unpack.
  cat "$CHUNKS"/ds-gpu.tar.part[0-9][0-9] > "$CHUNKS/ds-gpu.tar"
  got=$(sha256sum "$CHUNKS/ds-gpu.tar" | cut -d' ' -f1)
  if [ "$got" != "$archive_sum" ]; then say "reassembled container is damaged (sha256 $got, expected $archive_sum)"; exit 1; fi
  rm -rf "$HOME_DIR" && mkdir -p "$(dirname "$HOME_DIR")"
  tmp=$(mktemp -d "$(dirname "$HOME_DIR")/ds-gpu-unpack.XXXX")
  tar -xf "$CHUNKS/ds-gpu.tar" -C "$tmp"
  for c in "$tmp"/*.tar.xz; do # each component unpacks into ds-gpu/
    if command -v xz >/dev/null; then
      xz -dc "$c" | tar -x -C "$tmp"
    else # no xz binary: Python's lzma module does the same
      python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' "$c" "$tmp"
    fi
    rm -f "$c"
  done
  cp "$tmp/VERSIONS" "$tmp/ds-gpu/VERSIONS"
  mv "$tmp/ds-gpu" "$HOME_DIR" && rm -rf "$tmp"
  echo "$archive_sum" > "$HOME_DIR/.unpacked"
  rm -f "$CHUNKS/ds-gpu.tar"
  say "unpacked into $HOME_DIR ($(du -sh "$HOME_DIR" | cut -f1))"
fi

# 3. The CUDA libraries come from PyTorch's wheels: site-packages/nvidia/<pkg>/lib (cu13 wheels put
#    cudart, cublas, curand, cufft, nvrtc in nvidia/cu13/lib and cuDNN in nvidia/cudnn/lib).
libdirs=""
py=$(command -v python3 || true)
if [ -n "$py" ]; then
  for base in $("$py" - <<'PY' 2>/dev/null || true
import importlib.util, os
for name in ("nvidia", "torch"):
    spec = importlib.util.find_spec(name)
    if spec and spec.submodule_search_locations:
        for p in spec.submodule_search_locations:
            print(p)
PY
); do
    while IFS= read -r d; do libdirs="$libdirs:$d"; done < <(find "$base" -maxdepth 3 -type d -name lib 2>/dev/null | sort)
  done
fi
# ONNX Runtime dlopens a few CUDA libraries by their unversioned names (libcudnn.so, libnvrtc.so,
# libcufft.so); the wheels ship only versioned files, so link the unversioned names.
links="$HOME_DIR/lib-links"
mkdir -p "$links"
for want_name in libcudnn.so:libcudnn.so.9 libnvrtc.so:libnvrtc.so.13 libcufft.so:libcufft.so.12; do
  plain=${want_name%%:*} versioned=${want_name#*:}
  IFS=: read -ra dirs <<< "${libdirs#:}"
  for d in "${dirs[@]}"; do
    if [ -e "$d/$versioned" ]; then ln -sfn "$d/$versioned" "$links/$plain"; break; fi
  done
done
ORT_LIB="$HOME_DIR/node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
cat > "$HOME_DIR/env.sh" <<ENV
# Written by scripts/gpu/unpack.sh: source it before running Node with the CUDA provider.
export PATH="$HOME_DIR/node/bin:\$PATH"
export NODE_PATH="$HOME_DIR/node_modules"
export LD_LIBRARY_PATH="$links$libdirs:$ORT_LIB\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export DS_GPU_ORT_LIB="$ORT_LIB"
ENV
say "wrote $HOME_DIR/env.sh (CUDA library folders:${libdirs:- none found})"
