#!/usr/bin/env bash
# Runs every test: the Catch2 suite natively and as wasm under node (SIMD and no-SIMD
# builds), then the JS package tests. Expects scripts/build.sh to have run.
set -euo pipefail
cd "$(dirname "$0")/.."

for target in native wasm-simd wasm-nosimd; do
  echo "== C++ tests: $target"
  ctest --test-dir "build/$target" --output-on-failure
done

echo "== demo data (for the browser tests)"
node demo/prepare.mjs

echo "== JS tests"
node --test tests/js/
