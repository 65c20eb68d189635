#!/usr/bin/env bash
# GPU check for a Linux box with an NVIDIA GPU and its driver, no internet needed once the workspace is installed
# and built (carry node_modules and the dist folders over). Runs `lenet doctor`, then a short training run on
# --backend webgpu (Vulkan through Dawn), then on --backend cuda when tfjs-node-gpu is installed, and prints
# images/s and test accuracy of each run.
#
#   scripts/gpu-check.sh                 # 1 epoch on 10,000 images per backend
#   LIMIT=60000 EPOCHS=2 scripts/gpu-check.sh
#   LIMIT=128 TEST_LIMIT=100 BATCH=32 VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json scripts/gpu-check.sh
#                                        # no GPU: prove it runs on SwiftShader (slow; keep it tiny)
# Env: LIMIT, TEST_LIMIT, EPOCHS, BATCH, GPU_ADAPTER (part of an adapter name, see `lenet doctor`), OUT.
set -uo pipefail
cd "$(dirname "$0")/.."

LIMIT=${LIMIT:-10000}
TEST_LIMIT=${TEST_LIMIT:-10000}
EPOCHS=${EPOCHS:-1}
BATCH=${BATCH:-64}
OUT=${OUT:-$(mktemp -d -t lenet-gpu-check-XXXXXX)}
CLI=apps/trainer/dist/cli.js

if [ ! -f "$CLI" ]; then
  echo "gpu-check: $CLI is missing; build first with 'pnpm build' (or carry the built workspace here)" >&2
  exit 2
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

echo "== lenet doctor"
node "$CLI" doctor ${GPU_ADAPTER:+--gpu-adapter "$GPU_ADAPTER"}
echo

status=0
# Trains one short run and prints its last epoch's throughput and test accuracy from metrics.json.
train_on() {
  local backend=$1
  echo "== train on $backend: $LIMIT images x $EPOCHS epoch(s), batch $BATCH, $TEST_LIMIT test images"
  if ! node "$CLI" train --backend "$backend" ${GPU_ADAPTER:+--gpu-adapter "$GPU_ADAPTER"} \
    --limit "$LIMIT" --test-limit "$TEST_LIMIT" --epochs "$EPOCHS" --batch-size "$BATCH" --out "$OUT/$backend"; then
    echo "gpu-check: training on $backend failed" >&2
    status=1
    return
  fi
  node -e '
    const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const last = m.epochs[m.epochs.length - 1];
    console.log(`RESULT ${m.backend}: ${Math.round(last.imagesPerSecond)} images/s training, ` +
      `test accuracy ${(100 * last.testAccuracy).toFixed(2)}% after ${last.epoch} epoch(s)`);
  ' "$OUT/$backend/metrics.json"
  echo
}

train_on webgpu
# cuda only where tfjs-node-gpu is installed; doctor above already said why not otherwise.
if node "$CLI" doctor --backend cuda >/dev/null 2>&1; then
  train_on cuda
else
  echo "== cuda: skipped (lenet doctor --backend cuda says it cannot run here; see above)"
fi
echo "runs under $OUT"
exit $status
