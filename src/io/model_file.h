// The model file (SPEC §6): a whole nn::Model (architecture, integer weights packed at their
// bit width, LSQ steps, biases, BatchNorm state, optional float shadow weights) as one
// checksummed byte string, and back. Not a streaming or memory-mapped format: files are
// built and read whole in memory. It lives in io/ with the other file formats and reads
// the model through nn/ (Model::Describe, Model::CollectState).
//
// Layout, versions 2 to 4. Integers are little-endian; offsets and lengths are in bytes.
//
//   offset      size  field
//   0           8     magic "QFMODEL\0"
//   8           4     format version, uint32 (4, 3 or 2, see below; 1 is read too)
//   12          4     header length H, uint32
//   16          H     header: JSON text (core/json.h), below
//   16 + H      pad   zero bytes up to P = the next multiple of 8
//   P           L     payload: one section per tensor, each starting at a multiple of 8
//                     from P, in header order, zero bytes between sections
//   P + L       4     CRC-32 (io::Crc32) of bytes [0, P + L)
//
// The file is exactly P + L + 4 bytes. The header is one object:
//   {"writer": "qforget <version>",           informational
//    "model": Model::Describe(),              architecture (nn/model_json.h reads it back)
//    "shadow": true | false,                  whether float shadow weights are included
//    "flags": {"<layer>.input_initialized": true | false, ...},
//    "tensors": [{"name", "role", "shape", "bits" (codes only), "offset", "length"}, ...],
//    "payloadBytes": L}
// with one tensors entry per state tensor (nn::Layer::CollectState), in model order:
//   role "codes": "<layer>.weight_codes", the integer weights of a quantized layer,
//     shape [rows, channels] (channel innermost), row-major, packed at `bits`
//     (kernels/bitpack/bitpack.h): 8 -> one int8 per byte; 4 and 3 -> two codes per
//     byte; 2 -> four per byte; unused trailing fields of the last byte are zero.
//   role "float": float32 values, row-major: "<layer>.weight_step" (LSQ steps, [C] or
//     [1]), "<layer>.weight" (the float weights of a float layer, or a quantized layer's
//     shadow weights when "shadow" is true), "<layer>.bias", "<layer>.input_step",
//     "<layer>.gamma", "<layer>.beta", "<layer>.running_mean", "<layer>.running_var".
// Every length is exact (4 bytes per float; bitpack's PackedBytes for codes). Names are
// the model's parameter names ("3.body.0.weight").
//
// A loaded model without shadow weights gets weight = code * step: it predicts exactly as
// the saved one and can be trained further (its shadow weights start at the grid).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/status.h"
#include "nn/model.h"

namespace qf::io {

// Version 2 added the model's input type and preprocessing to header.model (a version 1
// file has neither: uint8 pixels scaled by 1/255). Version 3 added the input layout
// ("inputLayout": "nchw"), "inputNonNegative", and a learned input step for the first quantized layer of a
// model whose input is not plain pixels (nn::PlainPixels), where qforget 1.0 used the
// pixel grid (nn::ModelSpec::legacy_pixel_grid; a version-2 file of such a model loads
// with it). Files that qforget 1.0 reads the same way are still written as version 2:
// NHWC models of plain pixels, and those loaded from version 2. All three versions load.
//
// Version 4 added weight grids other than uniform (quant/weight_grid.h): the layer
// descriptions' "scheme" (or the spec's "weightScheme"), and the grids' float tensors
// "<layer>.weight_offset" (asymmetric) and "<layer>.weight_levels" (codebook, [groups,
// 2^bits], indexed by code - qn), with "<layer>.weight_step" absent for codebooks; and
// 4-bit activations ("activationBits" of the spec or a layer). Only models with either
// are written as version 4.
inline constexpr uint32_t kModelFileVersion = 4;
inline constexpr uint32_t kModelFileVersion3 = 3;
inline constexpr uint32_t kModelFileVersion2 = 2;

// The version a file of a model with `spec` is written as (above); `v4`: whether a layer
// has a grid other than uniform or inputs of fewer than 8 bits.
inline uint32_t FileVersion(const nn::ModelSpec& spec, bool v4) {
  if (v4) return kModelFileVersion;
  const bool v2 = spec.input_layout == nn::InputLayout::kNHWC && !spec.input_non_negative &&
                  (nn::PlainPixels(spec) || spec.legacy_pixel_grid);
  return v2 ? kModelFileVersion2 : kModelFileVersion3;
}
inline constexpr char kModelFileMagic[8] = {'Q', 'F', 'M', 'O', 'D', 'E', 'L', '\0'};

struct SaveOptions {
  // Include the float shadow weights of quantized layers (needed to train or forget later
  // without starting from the integer grid; about 4-16x the size of the codes).
  bool include_shadow = true;
};

// Serializes `model` (not modified; non-const only because state is visited through
// mutable pointers). The result is a new buffer the caller owns. FailedPrecondition
// (naming the tensor) when a value is NaN or infinite or a step size is not positive:
// such a model would not load back.
StatusOr<std::vector<uint8_t>> SaveModel(nn::Model& model, const SaveOptions& options = {});

// Rebuilds a model from `size` bytes of a model file (only read, never kept). The model
// predicts (Mode::kEval) bit for bit as the saved one did. Errors, each with what was
// wrong and, for the header, the key path ("header.tensors[3].shape: ..."):
//   DataLoss: truncated, foreign (wrong magic), corrupted (checksum), malformed or
//     inconsistent header, sections outside the payload or overlapping, non-zero padding,
//     codes out of range, NaN or infinite floats, non-positive steps, codes that disagree
//     with the shadow weights, an architecture with more parameters than the payload
//     holds or beyond the per-sample limits of nn/model.h (the message names the limit);
//   Unimplemented: a newer format version (the message says which version this build
//     reads).
// Never returns a partly loaded model; memory use is bounded by a multiple of `size`.
StatusOr<std::unique_ptr<nn::Model>> LoadModel(const uint8_t* bytes, size_t size);

}  // namespace qf::io
