#!/usr/bin/env bash
# Runs every test: the Catch2 suite natively, then built with AddressSanitizer and UBSan
# (build/asan, built here), a short run of each fuzz target (scripts/fuzz.sh, built in
# build/fuzz), the suite as wasm under node (SIMD, no-SIMD and threaded builds), then the JS
# package tests. Expects scripts/build.sh to have run for native and the three wasm builds.
# QF_FUZZ_SECONDS sets the fuzz time per target (default 30; 0 skips the fuzz run).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== C++ tests: native"
ctest --test-dir build/native --output-on-failure

echo "== C++ tests: asan (clang-14, -fsanitize=address,undefined)"
bash scripts/build.sh asan
# Any sanitizer report or leak fails the test (built with -fno-sanitize-recover=all).
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure

# 30 s per target keeps npm test well under 30 minutes on a 2-core machine (scripts/fuzz.sh
# with no argument fuzzes 60 s per target).
fuzz_seconds=${QF_FUZZ_SECONDS:-30}
if ((fuzz_seconds > 0)); then
  echo "== fuzz: ${fuzz_seconds} s per target"
  bash scripts/fuzz.sh "$fuzz_seconds"
fi

for target in wasm-simd wasm-nosimd wasm-threads; do
  echo "== C++ tests: $target"
  ctest --test-dir "build/$target" --output-on-failure
done

echo "== demo data (for the browser tests)"
node demo/prepare.mjs

echo "== JS tests"
node --test tests/js/

