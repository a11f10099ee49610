#!/usr/bin/env bash
# stylegram on an NVIDIA GPU, in one go: ms per evaluation of the full
# objective (forward + backward) with Deno's WebGPU on the GPU at 512² and
# 1024², next to the same run's CPU figure (onnxruntime-node, all threads),
# and PyTorch on CUDA when a Python with a CUDA build of torch is found.
#
#   bash bench/gpu.sh                       # from anywhere inside the repository
#   SIZES=512,1024 NETWORKS=random,inception EVALUATIONS=5 ROUNDS=2 bash bench/gpu.sh
#   PROFILE=inception:512 bash bench/gpu.sh # then where WebGPU time goes, per op and
#                                           # layout (bench/webgpu_profile.ts)
#
# What it sets up (nothing is changed system-wide unless it runs as root):
# - Deno 2.9.6: `deno` on PATH, ~/.deno/bin/deno, else `npx -y deno@2.9.6`.
# - The Vulkan loader (libvulkan.so.1) that Deno's WebGPU (wgpu) needs: as
#   root, `apt-get install libvulkan1`; otherwise (or if that fails) the .deb
#   is fetched with `apt-get download` and unpacked into the cache folder.
# - The NVIDIA Vulkan driver: VK_DRIVER_FILES (and the older
#   VK_ICD_FILENAMES) point at the NVIDIA ICD json from /usr/share/vulkan/icd.d,
#   /etc/vulkan/icd.d or /usr/local/nvidia/…; when the driver library
#   (libGLX_nvidia.so.0) is present but no json is, one is written. In a
#   container, the graphics part of the driver is only there with
#   NVIDIA_DRIVER_CAPABILITIES including "graphics" (or "all").
# - npm packages are cached first (network needed once). On a machine with no
#   network, bring Deno and a DENO_DIR filled elsewhere by
#   `DENO_DIR=… deno cache bench/gpu_bench.ts bench/objective_speed.ts`, and set
#   DENO_DIR (that is how the figures in docs/design_notes.md were taken).
# Results: a table on stdout and bench/results/gpu_<date>.json.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
CACHE="$ROOT/bench/results/cache/gpu"
mkdir -p "$CACHE"
SIZES="${SIZES:-512,1024}"
NETWORKS="${NETWORKS:-random,inception}"
EVALUATIONS="${EVALUATIONS:-5}"
ROUNDS="${ROUNDS:-2}"

say() { printf '%s\n' "gpu.sh: $*" >&2; }

# --- Deno -------------------------------------------------------------------
if command -v deno >/dev/null 2>&1; then
  DENO=(deno)
elif [ -x "$HOME/.deno/bin/deno" ]; then
  DENO=("$HOME/.deno/bin/deno")
elif command -v npx >/dev/null 2>&1; then
  DENO=(npx -y deno@2.9.6)
else
  say "no deno and no npx: install Deno 2.9.6 (https://deno.com) or Node.js first"
  exit 1
fi
say "deno: $("${DENO[@]}" --version | head -1)"

# --- the GPU ----------------------------------------------------------------
if command -v nvidia-smi >/dev/null 2>&1; then
  say "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)"
else
  say "nvidia-smi not found: is this a machine with an NVIDIA GPU and driver?"
fi

# --- the Vulkan loader ------------------------------------------------------
# No `grep -q` or `awk … exit` after ldconfig: exiting early kills ldconfig
# with SIGPIPE, which pipefail turns into failure when its output is long
# (a CUDA machine's is): the loader was reported missing when it was there.
have_vulkan() { ldconfig -p 2>/dev/null | grep 'libvulkan\.so\.1' >/dev/null ||
  [ -e "$CACHE/vulkan/usr/lib/x86_64-linux-gnu/libvulkan.so.1" ]; }
if ! have_vulkan && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing libvulkan1 with apt-get"
  (apt-get install -y --no-install-recommends libvulkan1 >/dev/null 2>&1 ||
    (apt-get update >/dev/null 2>&1 &&
      apt-get install -y --no-install-recommends libvulkan1 >/dev/null 2>&1)) || true
fi
if ! have_vulkan && command -v apt-get >/dev/null 2>&1; then
  say "unpacking libvulkan1 into $CACHE/vulkan"
  tmp="$(mktemp -d)"
  (cd "$tmp" && apt-get download libvulkan1 >/dev/null 2>&1 &&
    dpkg -x libvulkan1_*.deb "$CACHE/vulkan") || say "could not fetch libvulkan1"
  rm -rf "$tmp"
fi
if [ -e "$CACHE/vulkan/usr/lib/x86_64-linux-gnu/libvulkan.so.1" ]; then
  export LD_LIBRARY_PATH="$CACHE/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
if ! have_vulkan; then
  say "no Vulkan loader (libvulkan.so.1); Deno's WebGPU cannot start"
  exit 1
fi

# --- the NVIDIA Vulkan driver (ICD) -------------------------------------------
icd=""
for f in /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json \
  /usr/local/nvidia/icd.d/nvidia_icd*.json /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd*.json \
  /usr/local/share/vulkan/icd.d/nvidia_icd*.json; do
  if [ -f "$f" ]; then icd="$f"; break; fi
done
if [ -z "$icd" ]; then
  lib="$(ldconfig -p 2>/dev/null | awk '/libGLX_nvidia\.so\.0/ && !f {f = $NF} END {print f}')"
  for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu; do
    if [ -z "$lib" ] && [ -e "$d/libGLX_nvidia.so.0" ]; then lib="$d/libGLX_nvidia.so.0"; fi
  done
  if [ -n "$lib" ]; then
    icd="$CACHE/nvidia_icd.json"
    printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "%s", "api_version": "1.3.0"}}\n' \
      "$lib" >"$icd"
    say "wrote $icd for $lib"
  fi
fi
if [ -n "$icd" ]; then
  export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
  say "Vulkan ICD: $icd"
else
  say "no NVIDIA Vulkan ICD json and no libGLX_nvidia.so.0 found; in a container, set"
  say "NVIDIA_DRIVER_CAPABILITIES=all (graphics). Trying whatever the loader finds."
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$CACHE/runtime}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

# --- npm packages, cached once --------------------------------------------------
"${DENO[@]}" cache bench/gpu_bench.ts bench/objective_speed.ts >/dev/null 2>&1 ||
  say "deno cache failed (offline?); trying with what is cached"
"${DENO[@]}" eval "await import('npm:onnxruntime-node@1.30.0')" >/dev/null 2>&1 ||
  say "onnxruntime-node did not load: the native CPU row will fail"

# --- PyTorch on CUDA, if some Python has it ---------------------------------------
torch_flag=()
for py in "${STYLEGRAM_REFERENCE_PYTHON:-}" python3 /usr/bin/python3; do
  if [ -n "$py" ] && "$py" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' \
    >/dev/null 2>&1; then
    export STYLEGRAM_REFERENCE_PYTHON="$(command -v "$py")"
    torch_flag=(--torch-cuda)
    say "PyTorch with CUDA: $STYLEGRAM_REFERENCE_PYTHON"
    break
  fi
done

# --- the benchmark ----------------------------------------------------------------
status=0
"${DENO[@]}" run -A bench/gpu_bench.ts --sizes "$SIZES" --networks "$NETWORKS" \
  --evaluations "$EVALUATIONS" --rounds "$ROUNDS" ${torch_flag[@]+"${torch_flag[@]}"} || status=$?

# --- where WebGPU time goes (optional) ----------------------------------------------
if [ -n "${PROFILE:-}" ]; then
  "${DENO[@]}" run -A bench/webgpu_profile.ts --network "${PROFILE%%:*}" \
    --size "${PROFILE##*:}" --layouts NCHW,NHWC || status=$?
fi
exit "$status"
