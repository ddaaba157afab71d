#!/usr/bin/env bash
# Regenerates the committed seed corpora in fuzz/corpus/: a few small valid inputs per
# target, and the regression files fuzz/make_corpus.cc can make. The other regression
# inputs (fuzz/corpus/*/regression-*: crashes found by fuzzing, specs written by hand) and
# the files older releases wrote (model_file/version1-*, version2-*) are kept as they are;
# tests/io/fuzz_corpus_test.cc and tests/nn/model_limits_test.cc read them.
# Model files and ONNX graph records come from fuzz/make_corpus.cc (built by scripts/fuzz.sh --build), IDX files
# are written here byte by byte and compressed with gzip -n (no name, no time: the same
# bytes every run), specs are plain JSON.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/fuzz.sh --build >/dev/null
out=fuzz/corpus
mkdir -p "$out/model_file" "$out/idx" "$out/model_spec" "$out/onnx_record"

# ---- model files ----------------------------------------------------------------------
build/fuzz/fuzz_make_corpus "$out/model_file" "$out/onnx_record"

# ---- IDX ------------------------------------------------------------------------------
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
idx="$out/idx"
# 5 labels: magic 00 00 08 01, dim 5, data.
printf '\x00\x00\x08\x01\x00\x00\x00\x05\x00\x01\x02\x09\x04' >"$idx/labels.idx1"
# 2 images of 3x4: magic 00 00 08 03, dims 2 3 4, 24 pixels.
{
  printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04'
  for i in $(seq 0 23); do printf "\\x$(printf %02x $((i * 11 % 256)))"; done
} >"$idx/images.idx3"
gzip -n -9 -c "$idx/images.idx3" >"$idx/images.idx3.gz"
gzip -n -1 -c "$idx/labels.idx1" >"$idx/labels.idx1.gz"
# 8 repetitive images of 6x6 (deflate back-references), then two members concatenated.
{
  printf '\x00\x00\x08\x03\x00\x00\x00\x08\x00\x00\x00\x06\x00\x00\x00\x06'
  for i in $(seq 0 287); do printf "\\x$(printf %02x $((i % 7 * 30)))"; done
} >"$tmp/rep.idx3"
gzip -n -9 -c "$tmp/rep.idx3" >"$idx/repetitive.idx3.gz"
head -c 100 "$tmp/rep.idx3" | gzip -n -c >"$tmp/a.gz"
tail -c +101 "$tmp/rep.idx3" | gzip -n -c >"$tmp/b.gz"
cat "$tmp/a.gz" "$tmp/b.gz" >"$idx/two_members.idx3.gz"
# A stored (uncompressed) deflate block: gzip -n of data that does not compress.
{
  printf '\x00\x00\x08\x01\x00\x00\x00\x40'
  for i in $(seq 0 63); do printf "\\x$(printf %02x $(((i * 97 + 13) * 31 % 256)))"; done
} >"$tmp/noise.idx1"
gzip -n -9 -c "$tmp/noise.idx1" >"$idx/noise.idx1.gz"

# ---- model specs ----------------------------------------------------------------------
spec="$out/model_spec"
echo '{"arch":"mlp","inputShape":[28,28,1],"numClasses":10,"weightBits":4}' >"$spec/mlp.json"
echo '{"arch":"lenet","inputShape":[28,28,1],"numClasses":10,"weightBits":2,"edgeBits":8,"seed":3}' \
  >"$spec/lenet.json"
echo '{"arch":"resnet8","inputShape":[8,8,3],"numClasses":5,"weightBits":3,"perChannel":false}' \
  >"$spec/resnet8.json"
echo '{"arch":"mobilenetv2","inputShape":[8,8,1],"numClasses":4,"weightBits":32}' \
  >"$spec/mobilenetv2.json"
cat >"$spec/custom_conv.json" <<'JSON'
{"arch": "custom", "inputShape": [8, 8, 2], "numClasses": 3, "weightBits": 4, "seed": 9,
 "layers": [
  {"type": "conv2d", "filters": 4, "kernel": [3, 2], "stride": [1, 2], "padding": "same"},
  {"type": "batch_norm", "momentum": 0.2, "eps": 1e-3},
  {"type": "relu", "cap": 4},
  {"type": "max_pool2d", "pool": 2, "stride": 1, "padding": [1, 0, 0, 1]},
  {"type": "depthwise_conv2d", "kernel": 3, "padding": "valid", "bits": 8},
  {"type": "avg_pool2d", "pool": [2, 1]},
  {"type": "global_avg_pool"},
  {"type": "dense", "units": 3, "bits": 32, "perChannel": false}]}
JSON
cat >"$spec/custom_residual.json" <<'JSON'
{"arch":"custom","inputShape":[4,4,2],"numClasses":2,"weightBits":2,"layers":[
 {"type":"residual","body":[{"type":"conv2d","filters":2,"kernel":3,"padding":"same"},
   {"type":"relu6"}]},
 {"type":"residual","body":[{"type":"conv2d","filters":3,"kernel":1,"stride":2}],
  "shortcut":[{"type":"sequential","layers":[{"type":"avg_pool2d"},
   {"type":"conv2d","filters":3,"kernel":1}]}]},
 {"type":"flatten"},{"type":"dense","units":2}]}
JSON
echo '{"arch":"custom","inputShape":[3],"numClasses":2,"weightBits":8,"layers":[{"type":"dense","units":2}]}' \
  >"$spec/custom_dense.json"
ls -l "$out"/*
