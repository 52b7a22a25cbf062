#!/usr/bin/env bash
# The one prepared script for the lent GPU machine (docs/GPU.md, "Running on a lent GPU machine").
# On the device:   bash scripts/gpu/device-check.sh            (carry the last chunk + dist/gpu)
# Rehearsal here:  bash scripts/gpu/device-check.sh --small --cpu
# Steps: environment -> unpack Node/ORT/CUDA provider -> provider choice -> embedded model generation
# -> engine training step -> export SD 1.5-architecture UNet (fp32, fp16, fused-attention fp16)
# -> PyTorch on the same weights and inputs (fp32, fp16) -> ORT-in-Node (same) -> the same for SD 1.5's
# VAE decoder -> table (printed last).
# Rerun some steps only (models already exported in this lease): --only "ort_fp16 ort_fp16_mha".
# Full logs and results.jsonl go to $OUT (default .cache/gpu/out). Each step has its own time limit,
# so one hung step cannot eat the device budget; a failed step is logged and the rest still run.
set -uo pipefail
cd "$(dirname "$0")/../.."

CONFIG=sd15 EP=cuda TORCH_DEVICE=cuda ITERS=20 WARMUP=3 ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --small) CONFIG=small ;;
    --cpu) EP=cpu TORCH_DEVICE=cpu ;;
    --iters) ITERS=$2; shift ;;
    --only) ONLY=$2; shift ;; # e.g. --only "ort_fp16 ort_fp16_mha": a rerun reusing the exported models
    *) echo "device-check.sh: unknown argument '$1' (use --small, --cpu, --iters N, --only 'STEP ...')" >&2; exit 2 ;;
  esac
  shift
done
[ "$EP" = cpu ] && { ITERS=${ITERS_CPU:-3}; WARMUP=1; }
OUT=${OUT:-.cache/gpu/out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RESULTS=$OUT/results.jsonl
[ -z "$ONLY" ] && : > "$RESULTS" # a rerun with --only adds to the first run's results
WORK=${DS_GPU_WORK:-/tmp/ds-unet-$CONFIG}
T0=$(date +%s)
say() { echo "[device-check +$(( $(date +%s) - T0 ))s] $*" | tee -a "$OUT/device-check.log" >&2; }
# step NAME LIMIT_S CMD...: runs CMD with a time limit, full output to $OUT/NAME.log, JSON lines
# (stdout lines starting with '{') appended to results.jsonl tagged with the step name.
step() {
  local name=$1 limit=$2; shift 2
  if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then return 0; fi
  sed -i "/^{\"step\":\"$name\",/d" "$RESULTS" # the latest run of a step replaces an earlier one
  say "step $name (limit ${limit}s): $*"
  local t=$(date +%s)
  timeout "$limit" "$@" > "$OUT/$name.out" 2> "$OUT/$name.log"
  local rc=$?
  cat "$OUT/$name.out" >> "$OUT/$name.log"
  grep '^{' "$OUT/$name.out" | sed "s/^{/{\"step\":\"$name\",/" >> "$RESULTS"
  say "  $name: rc=$rc in $(( $(date +%s) - t ))s$( [ $rc -ne 0 ] && echo "; last lines: $(tail -3 "$OUT/$name.log" | tr '\n' ' ')")"
  return $rc
}
skip_step() { # skip_step NAME REASON: records a step that does not apply here
  if [ -n "$ONLY" ] && [[ " $ONLY " != *" $1 "* ]]; then return 0; fi
  sed -i "/^{\"step\":\"$1\",/d" "$RESULTS"
  echo "{\"step\":\"$1\",\"skipped\":\"$2\"}" >> "$RESULTS"
  say "skip $1: $2"
}

# ---- 1. environment ------------------------------------------------------------------------------
{
  echo "date: $(date -u)"; uname -a
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 || echo "nvidia-smi: not available"
  echo "system node: $(command -v node || echo none) $(node --version 2>/dev/null)"
} > "$OUT/env.log" 2>&1
PY=python3
if ! "$PY" -c 'import torch' 2>/dev/null; then PY=/usr/bin/python3; fi
"$PY" -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), "cudnn", torch.backends.cudnn.version())' >> "$OUT/env.log" 2>&1
cat "$OUT/env.log" >&2

# ---- 2. Node + onnxruntime-node 1.29.0 + CUDA provider (from the chunks), environment --------------
if ! bash scripts/gpu/unpack.sh 2> "$OUT/unpack.log"; then
  cat "$OUT/unpack.log" >&2
  say "the packed runtime is not complete yet (see docs/GPU.md: carry every chunk first)"; exit 3
fi
cat "$OUT/unpack.log" >&2
# shellcheck disable=SC1091
source "${DS_GPU_HOME:-/tmp/ds-gpu}/env.sh"
{
  echo "node: $(command -v node) $(node --version)"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  echo "--- ldd libonnxruntime_providers_cuda.so (missing libraries are listed as 'not found')"
  ldd "$DS_GPU_ORT_LIB/libonnxruntime_providers_cuda.so" 2>&1
  for so in libcudnn.so libnvrtc.so libcufft.so; do
    l="${DS_GPU_HOME:-/tmp/ds-gpu}/lib-links/$so"
    echo "dlopen name $so -> $( [ -L "$l" ] && readlink "$l" || echo 'no versioned library found to link')"
  done
} > "$OUT/libs.log" 2>&1
missing=$(grep -c 'not found' "$OUT/libs.log" || true)
say "CUDA provider dependencies: ${missing} not found (details in libs.log)"
[ -f dist/gpu/unet-tool.cjs ] || { say "dist/gpu/unet-tool.cjs missing: run node scripts/gpu/build-bundle.mjs and carry dist/gpu"; exit 2; }
# Run the bundle from beside the unpacked node_modules: Node resolves packages from the script's folder
# upwards before NODE_PATH, so this is what makes the rehearsal here use onnxruntime-node 1.29.0 (not
# the checkout's 1.30) exactly as the device does.
mkdir -p "${DS_GPU_HOME:-/tmp/ds-gpu}/bin" && cp dist/gpu/unet-tool.cjs "${DS_GPU_HOME:-/tmp/ds-gpu}/bin/"
TOOL="node ${DS_GPU_HOME:-/tmp/ds-gpu}/bin/unet-tool.cjs"

# ---- 3. provider choice, embedded model, training step --------------------------------------------
step provider 120 $TOOL env
if [ -f models/emoji-base/model_index.json ]; then
  step generate 180 $TOOL generate --model models/emoji-base --ep "$EP" --out "$OUT/generate/" --iters 25
else
  # The embedded model is not in this checkout yet: note it, and run the same pipeline on the tiny
  # SD-layout test fixture so the generation path (tokenizer, UNet, scheduler, VAE, PNG) is still exercised.
  say "models/emoji-base is not in this checkout: generating with test/fixtures/tiny-sd instead (noted in the table)"
  step generate 180 $TOOL generate --model test/fixtures/tiny-sd --ep "$EP" --out "$OUT/generate/" --iters 25 --label "fixture tiny-sd (emoji-base absent)"
fi
step train 240 $TOOL train --ep "$EP" --iters 10 --warmup 3

# ---- 4. the UNet: export once, then PyTorch and ORT on the same weights and inputs ------------------
step export 420 node --max-old-space-size=16384 "${DS_GPU_HOME:-/tmp/ds-gpu}/bin/unet-tool.cjs" export --config "$CONFIG" --dir "$WORK" --precisions fp32,fp16 --also-mha
for p in fp32 fp16; do
  if [ "$p" = fp16 ] && [ "$TORCH_DEVICE" = cpu ]; then # PyTorch has no fp16 matmul on the CPU (1.13)
    skip_step torch_fp16 "PyTorch fp16 runs on CUDA only"; continue
  fi
  step "torch_$p" 300 "$PY" scripts/gpu/torch_unet.py bench --dir "$WORK" --device "$TORCH_DEVICE" --dtype "$p" --iters "$ITERS" --warmup "$WARMUP"
done
REF="$WORK/torch_fp32_$TORCH_DEVICE.safetensors"
step ort_fp32 300 $TOOL bench --dir "$WORK" --precision fp32 --ep "$EP" --iters "$ITERS" --warmup "$WARMUP" --ref "$REF" --label matmul
step ort_fp16 300 $TOOL bench --dir "$WORK" --precision fp16 --ep "$EP" --iters "$ITERS" --warmup "$WARMUP" --ref "$REF" --label matmul
step ort_fp16_mha 300 $TOOL bench --dir "$WORK" --model "$WORK/fp16-mha/model.onnx" --precision fp16 --ep "$EP" --iters "$ITERS" --warmup "$WARMUP" --ref "$REF" --label mha

# ---- 5. the VAE decoder (one image, 64x64 latent -> 512x512), to add the decode to the 50 steps ----
VAE="$WORK-vae"
step export_vae 180 $TOOL export --model vae --config "$CONFIG" --dir "$VAE"
for p in fp32 fp16; do
  if [ "$p" = fp16 ] && [ "$TORCH_DEVICE" = cpu ]; then skip_step torch_vae_fp16 "PyTorch fp16 runs on CUDA only"; continue; fi
  step "torch_vae_$p" 180 "$PY" scripts/gpu/torch_unet.py bench --dir "$VAE" --device "$TORCH_DEVICE" --dtype "$p" --iters "$ITERS" --warmup "$WARMUP"
done
for p in fp32 fp16; do
  step "ort_vae_$p" 180 $TOOL bench --dir "$VAE" --precision "$p" --ep "$EP" --iters "$ITERS" --warmup "$WARMUP" --ref "$VAE/torch_fp32_$TORCH_DEVICE.safetensors" --label vae
done

# ---- 6. the table, last ------------------------------------------------------------------------------
say "done in $(( $(date +%s) - T0 ))s; logs in $OUT"
$TOOL table --results "$RESULTS" | tee "$OUT/table.md"
