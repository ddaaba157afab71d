#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang-14 with ASan and UBSan, in build/fuzz) and runs
# each for a while from its committed seed corpus. Fails on any crash, leak, timeout, out-of-
# memory or sanitizer report, leaving the input in build/fuzz/findings/<target>/.
# Usage: scripts/fuzz.sh [seconds per target, default 60] [target ...]
#        scripts/fuzz.sh --build        (only build; fuzz/make_corpus.sh uses it)
# New inputs found go to build/fuzz/corpus/<target>/, never into the committed seeds.
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(fuzz_model_file fuzz_idx fuzz_model_spec fuzz_onnx_record)
dir=build/fuzz
mkdir -p build

build_only=0
seconds=60
if [[ ${1:-} == --build ]]; then
  build_only=1
  shift
elif [[ ${1:-} =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")

if [[ ! -f $dir/build.ninja ]]; then
  echo "fuzz: configuring build/fuzz"
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DQF_FUZZ=ON >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log" >&2; exit 1; }
fi
echo "fuzz: building ${all_targets[*]} fuzz_make_corpus"
# At most two jobs: the machine has two cores and other work may be running.
cmake --build "$dir" -j "$(($(nproc) < 2 ? 1 : 2))" --target "${all_targets[@]}" fuzz_make_corpus
((build_only)) && exit 0

# Detect leaks; stop at the first report of any sanitizer.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
failed=()
for target in "${targets[@]}"; do
  name=${target#fuzz_}
  seeds=fuzz/corpus/$name
  work=$dir/corpus/$name
  findings=$dir/findings/$name
  log=$dir/$target.log
  mkdir -p "$work" "$findings"
  dict=()
  [[ -f fuzz/$name.dict ]] && dict=(-dict="fuzz/$name.dict")
  # -rss_limit_mb: a model or a decoder asking for more is a finding, not a slow run;
  # -timeout: no single input may take this long; -max_len: the largest seed is ~8 KB.
  set +e
  "$dir/$target" "$work" "$seeds" "${dict[@]}" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
    -max_len=16384 -print_final_stats=1 -artifact_prefix="$findings/" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cover=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  if ((rc != 0)); then
    echo "fuzz: $target FAILED after ${runs:-?} executions (exit $rc); see $log:"
    grep -E 'ERROR|SUMMARY|fuzz property|check failed|Test unit written' "$log" | head -20
    failed+=("$target")
  else
    echo "fuzz: $target ok: ${runs:-?} executions in ${seconds} s, coverage ${cover:-?}"
  fi
done
if ((${#failed[@]})); then
  echo "fuzz: failures in ${failed[*]}" >&2
  exit 1
fi
