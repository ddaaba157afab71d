#!/usr/bin/env bash
# Builds qforget: native (tests), wasm SIMD, wasm no-SIMD and wasm threads (module + tests;
# then the ONNX schema bundle web/dist/onnx_proto.js), and on request asan (the native
# tests built with clang-14, AddressSanitizer and UBSan). The wasm targets also write the
# decoders bundle web/dist/decoders.js (what `qforget poc` reads images and arrays with).
# Usage: scripts/build.sh [native|wasm-simd|wasm-nosimd|wasm-threads|asan ...]
#        (default: the first four)
# Incremental: configures a build folder once, then lets ninja rebuild what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's emscripten runs its JS optimizer with the machine's node, which does not
# search /usr/share/nodejs for acorn (TOOLCHAIN.md pitfall 1).
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}

targets=("$@")
((${#targets[@]})) || targets=(native wasm-simd wasm-nosimd wasm-threads)
jobs=$(nproc)
mkdir -p build

for target in "${targets[@]}"; do
  dir=build/$target
  case $target in
    native) configure=(cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release) ;;
    wasm-simd) configure=(emcmake cmake -S . -B "$dir" -G Ninja -DQF_WASM_SIMD=ON) ;;
    wasm-nosimd) configure=(emcmake cmake -S . -B "$dir" -G Ninja -DQF_WASM_SIMD=OFF) ;;
    wasm-threads) configure=(emcmake cmake -S . -B "$dir" -G Ninja -DQF_WASM_SIMD=ON -DQF_WASM_THREADS=ON) ;;
    # -O2 with debug info: sanitizer reports with lines, tests not much slower than -O3.
    asan) configure=(env CC=clang-14 CXX=clang++-14 cmake -S . -B "$dir" -G Ninja
                     -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQF_SANITIZE=address,undefined) ;;
    *) echo "build: unknown target '$target' (native, wasm-simd, wasm-nosimd, wasm-threads, asan)" >&2; exit 2 ;;
  esac
  if [[ ! -f $dir/build.ninja ]]; then
    echo "build: configuring $target"
    "${configure[@]}" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log" >&2; exit 1; }
  fi
  echo "build: $target"
  cmake --build "$dir" -j "$jobs"
done

# The wasm builds fill web/dist/; the bundles of npm packages go next to them (they need
# the npm devDependencies, which scripts/setup.sh installs): the ONNX protobuf schema and
# the poc command's image and array decoders.
if [[ " ${targets[*]} " == *" wasm-"* ]]; then
  echo "build: web/dist/onnx_proto.js, web/dist/decoders.js"
  node scripts/bundle_onnx_proto.mjs
  node scripts/bundle_decoders.mjs
fi
