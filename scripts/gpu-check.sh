#!/usr/bin/env bash
# The GPU check: on a Linux box with an NVIDIA GPU and its driver, with no internet and maybe no Node, measures ours
# (fused WebGPU kernels through Dawn) against stock tfjs-webgpu and PyTorch CUDA on the same model and batches, and
# the default recipe to 99% test accuracy against its PyTorch port. Runs from its bundle folder alone, which
# `node scripts/gpu-bundle/make-bundle.mjs` makes here (.gpu-bundle/, at most 64 MiB: Node, the bundled trainer
# and bench, dawn.node, MNIST, the Vulkan loader; see its MANIFEST.txt). This file is the bundle's entry too.
#
#   bash .gpu-bundle/gpu-check.sh            # on the box, from the bundle (or a copy of it anywhere)
#   bash scripts/gpu-check.sh                # here: runs the bundle in .gpu-bundle/
#   GPU_CHECK_TINY=1 VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json bash .gpu-bundle/gpu-check.sh
#                                            # no GPU: proves it end to end on SwiftShader in a few minutes
#
# It unpacks to a temporary folder, prints nvidia-smi and `lenet doctor`, then runs apps/bench/dist/gpu-check.js
# (its --help lists every step and option; arguments given here are passed on, and win). It writes gpu-check.json
# and gpu-check.log to $OUT when set (the device tool brings $OUT back), else to a new temporary folder it names.
# The whole check is capped at about 7 minutes on an H200 (--budget 400 s for the measurements, each step capped).
# Env: GPU_CHECK_TINY=1 (tiny sizes, for SwiftShader), GPU_ADAPTER (part of an adapter's name, see `lenet doctor`),
# GPU_CHECK_PYTHON (the interpreter with torch, default python3), GPU_CHECK_KEEP=1 (keep the unpacked folder).
# Vulkan: where the box has no libvulkan.so.1 (or no glvnd libGLdispatch.so.0, which NVIDIA's driver loads), the
# carried .debs are unpacked into the temporary folder (never into /) and put on LD_LIBRARY_PATH; with
# VK_ICD_FILENAMES and VK_DRIVER_FILES unset, NVIDIA's driver file is looked for where containers and distros put it.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -f "$here/app.tar.xz" ]; then
  bundle=$here
elif [ -f "$here/../.gpu-bundle/app.tar.xz" ]; then
  bundle=$(cd "$here/../.gpu-bundle" && pwd)
else
  echo "gpu-check: no bundle beside this script or in $here/../.gpu-bundle; make it with: node scripts/gpu-bundle/make-bundle.mjs" >&2
  exit 2
fi

work=$(mktemp -d -t lenet-gpu-check-XXXXXX)
out=${OUT:-$(mktemp -d -t lenet-gpu-check-out-XXXXXX)}
mkdir -p "$out"
cleanup() { [ "${GPU_CHECK_KEEP:-0}" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT
# Everything printed also goes to $out/gpu-check.log.
exec > >(tee "$out/gpu-check.log") 2>&1

# xz where the box has it, else Python's lzma (a box with PyTorch has python3).
unxz_to_stdout() {
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$1"
  else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"
  fi
}
# dpkg -x where there is dpkg, else the same in Python (a .deb is an ar archive holding data.tar.*).
unpack_deb() {
  if command -v dpkg >/dev/null 2>&1; then
    dpkg -x "$1" "$2"
  else
    python3 - "$1" "$2" <<'PY'
import io, sys, tarfile
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"!<arch>\n", "not a .deb"
pos = 8
while pos < len(data):
    name, size = data[pos:pos + 16].decode().strip().rstrip("/"), int(data[pos + 48:pos + 58])
    if name.startswith("data.tar"):
        tarfile.open(fileobj=io.BytesIO(data[pos + 60:pos + 60 + size])).extractall(sys.argv[2])
    pos += 60 + size + (size & 1)
PY
  fi
}

echo "== gpu-check: unpacking $bundle into $work"
started=$(date +%s)
mkdir -p "$work/bin" "$work/mnist"
node_xz=$(ls "$bundle"/node-v*-linux-x64.xz | head -1)
unxz_to_stdout "$node_xz" >"$work/bin/node" && chmod +x "$work/bin/node" || { echo "gpu-check: cannot unpack $node_xz" >&2; exit 1; }
unxz_to_stdout "$bundle/app.tar.xz" | tar -x -C "$work" || { echo "gpu-check: cannot unpack app.tar.xz" >&2; exit 1; }
for f in "$bundle"/mnist/*.gz; do gzip -dc "$f" >"$work/mnist/$(basename "$f" .gz)"; done
# Our own Node first on PATH: the trainer and the bench start children with it (process.execPath) either way.
export PATH="$work/bin:$PATH"
node=$work/bin/node
echo "node $("$node" --version) ($node); unpacked in $(($(date +%s) - started)) s"

# Vulkan: the loader and glvnd's dispatch library, from the bundle where the box lacks them.
# Where a library (a file name) is: the linker cache, else LD_LIBRARY_PATH; empty when nowhere.
find_lib() {
  local dir found
  found=$(ldconfig -p 2>/dev/null | grep -m1 " $1 " | sed 's/.*=> //')
  if [ -z "$found" ] && [ -n "${LD_LIBRARY_PATH:-}" ]; then
    for dir in ${LD_LIBRARY_PATH//:/ }; do
      [ -e "$dir/$1" ] && found="$dir/$1" && break
    done
  fi
  echo "$found"
}
has_lib() { [ -n "$(find_lib "$1")" ]; }
if ! has_lib libvulkan.so.1 || ! has_lib libGLdispatch.so.0; then
  for deb in "$bundle"/vulkan/*.deb; do unpack_deb "$deb" "$work/vulkan"; done
  export LD_LIBRARY_PATH="$work/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "Vulkan: the box lacks libvulkan.so.1 or libGLdispatch.so.0: using the carried $(cd "$bundle/vulkan" && echo *.deb)"
else
  echo "Vulkan: the box's loader ($(find_lib libvulkan.so.1))"
fi
if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
    /usr/share/vulkan/icd.d/nvidia_icd.json /usr/local/share/vulkan/icd.d/nvidia_icd.json \
    /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
    if [ -f "$icd" ]; then
      export VK_ICD_FILENAMES=$icd
      break
    fi
  done
fi
echo "VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-(unset)} VK_DRIVER_FILES=${VK_DRIVER_FILES:-(unset)}"
# A driver whose library cannot load gives Dawn no adapter and says nothing: name what it misses.
for icd in ${VK_ICD_FILENAMES:+${VK_ICD_FILENAMES//:/ }} ${VK_DRIVER_FILES:+${VK_DRIVER_FILES//:/ }}; do
  lib=$(sed -n 's/.*"library_path" *: *"\([^"]*\)".*/\1/p' "$icd" 2>/dev/null)
  [ -n "$lib" ] || continue
  case $lib in
    /*) path=$lib ;;
    */*) path="$(dirname "$icd")/$lib" ;;
    *) path=$(find_lib "$lib") ;;
  esac
  if [ -z "$path" ] || [ ! -e "$path" ]; then
    echo "gpu-check: warning: the driver library $lib (named in $icd) is neither in the linker cache nor on LD_LIBRARY_PATH"
  elif command -v ldd >/dev/null 2>&1; then
    missing=$(ldd "$path" 2>/dev/null | grep 'not found' | tr -s ' \t\n' ' ')
    [ -z "$missing" ] || echo "gpu-check: warning: $path (the driver in $icd) misses:$missing"
  fi
done

echo
echo "== nvidia-smi"
nvidia-smi || echo "(nvidia-smi: not found or failed)"
echo
echo "== lenet doctor"
doctor_args=(doctor ${GPU_ADAPTER:+--gpu-adapter "$GPU_ADAPTER"})
if command -v timeout >/dev/null 2>&1; then
  timeout 180 "$node" "$work/apps/trainer/dist/cli.js" "${doctor_args[@]}" || echo "(lenet doctor exited with $?)"
else
  "$node" "$work/apps/trainer/dist/cli.js" "${doctor_args[@]}" || echo "(lenet doctor exited with $?)"
fi
echo

args=(--data "$work/mnist" --json "$out/gpu-check.json" --python "${GPU_CHECK_PYTHON:-python3}" --budget 400)
[ -z "${GPU_ADAPTER:-}" ] || args+=(--gpu-adapter "$GPU_ADAPTER")
if [ "${GPU_CHECK_TINY:-0}" = 1 ]; then
  # SwiftShader trains a few images/s on stock kernels: small batches, few images, one epoch on a slice of MNIST.
  args+=(--batches 8,16 --infer-batch 32 --runs 1 --steps 2 --tta-limit 512 --tta-test-limit 200 --tta-epochs 1
    --step-seconds 240 --tta-seconds 240 --budget 900)
fi
"$node" "$work/apps/bench/dist/gpu-check.js" "${args[@]}" "$@"
status=$?
echo "gpu-check: finished in $(($(date +%s) - started)) s with status $status; results in $out (gpu-check.json, gpu-check.log)"
exit $status
