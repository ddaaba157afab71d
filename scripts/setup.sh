#!/usr/bin/env bash
# Installs what qforget needs on a Debian 12 machine: Debian packages (with apt, when run
# as root) and the npm dependencies (when package-lock.json changed). Idempotent: a second
# run with everything in place takes well under a second.
#
#   bash scripts/setup.sh [torch]
#
# Optional groups, installed only when named (not by npm test): `torch`, PyTorch and the
# onnx package from Debian (python3-torch, python3-onnx, numpy with them), for
# /usr/bin/python3 to write the torch-exported ONNX fixtures and the benchmark's pretrained
# model (npm run bench:imported).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian package -> a file that proves it is installed.
declare -A probes=(
  [emscripten]=/usr/bin/em++
  [libeigen3-dev]=/usr/include/eigen3/Eigen/Core
  [catch2]=/usr/include/catch2/catch.hpp
  [dataset-fashion-mnist]=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
  [chromium]=/usr/bin/chromium
  [libsvm-tools]=/usr/bin/svm-train
  [cmake]=/usr/bin/cmake
  [ninja-build]=/usr/bin/ninja
  [g++]=/usr/bin/g++
  # The asan build and the fuzz targets: clang-14 and its sanitizer and libFuzzer
  # runtimes (only recommended by clang-14, so never pulled in by --no-install-recommends).
  [clang-14]=/usr/bin/clang++-14
  [libclang-rt-14-dev]=/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a
)
for group in "$@"; do
  case $group in
    torch)
      probes[python3-torch]=/usr/lib/python3/dist-packages/torch/__init__.py
      probes[python3-onnx]=/usr/lib/python3/dist-packages/onnx/__init__.py
      probes[python3-numpy]=/usr/lib/python3/dist-packages/numpy/__init__.py
      ;;
    *)
      echo "setup: unknown group '$group' (known: torch)" >&2
      exit 2
      ;;
  esac
done

missing=()
for pkg in "${!probes[@]}"; do
  [[ -e "${probes[$pkg]}" ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages. Run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# npm dependencies: reinstall only when the lock file changed since the last install.
stamp=node_modules/.qforget-lock-stamp
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$lock_hash" ]]; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" >"$stamp"
fi
