#!/usr/bin/env bash
# Compares the hand-written JSON parser (src/core/json.cc at a commit, default 76c4aa6) with
# the tree's RapidJSON-based one: a differential run, then parse times. Needs rapidjson-dev
# and a configured build/native (for its third_party/rapidjson link).
# Usage: bench/json_parser/compare.sh [old-commit]
set -euo pipefail
cd "$(dirname "$0")/../.."
old=${1:-76c4aa6}
out=build/json_compare
rm -rf "$out"
mkdir -p "$out/old/core"
git show "$old:src/core/json.cc" >"$out/old/json_old.cc"
# The old header and status.h again, under namespace qfold (-Dqf=qfold), beside the new ones.
git show "$old:src/core/json.h" | sed 's#"core/status.h"#"status.h"#' >"$out/old/core/json.h"
git show "$old:src/core/status.h" >"$out/old/core/status.h"
cxx=(g++ -std=c++17 -O2)
"${cxx[@]}" -I "$out/old" -I src -Dqf=qfold -c "$out/old/json_old.cc" -o "$out/old_json.o"
"${cxx[@]}" -I "$out/old" -I src -Dqf=qfold -c src/core/status.cc -o "$out/old_status.o"
"${cxx[@]}" -I src -isystem build/native/third_party -c src/core/json.cc -o "$out/new_json.o"
"${cxx[@]}" -I src -c src/core/status.cc -o "$out/new_status.o"
for program in differential timing; do
  "${cxx[@]}" -I "$out" -I src "bench/json_parser/$program.cc" "$out"/*.o -o "$out/$program"
done
"$out/differential" fuzz/corpus/model_spec
"$out/timing" fuzz/corpus/model_file/lenet_2bit_noshadow.qfm fuzz/corpus/model_file/residual_float.qfm
