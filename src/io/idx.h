// IDX arrays (the file format of MNIST and Fashion-MNIST) read from memory or from plain or
// gzip-compressed files, and a Fashion-MNIST loader on top. Reads unsigned-byte arrays
// only, and writes nothing; the gzip decoder itself lives in io/inflate.h.
//
// IDX layout: bytes 0x00 0x00 <type code> <ndims>, then ndims big-endian uint32 sizes
// (outermost first), then the elements row-major. Type code 0x08 is unsigned byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "io/inflate.h"

namespace qf::io {

// An IDX array of unsigned bytes: `dims` outermost first, `data` row-major with
// data.size() == product of dims. Owns its memory.
struct IdxArray {
  std::vector<uint32_t> dims;
  std::vector<uint8_t> data;
};

// Default cap on both a file's size and its decompressed size, in bytes (the largest
// Fashion-MNIST file is 47 MB decompressed).
constexpr size_t kDefaultMaxIdxBytes = size_t(256) << 20;

// Parses an uncompressed IDX array held in `bytes` (only read, not kept; the result
// copies the data). Errors: DataLoss for truncated data (naming the bytes expected and
// found), bad magic, zero dimensions, dimensions whose product overflows or does not
// match the bytes present (trailing bytes are an error too); Unimplemented for a valid
// IDX element type other than 0x08 (0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
// 0x0E float64), naming it. An unknown type code is DataLoss.
StatusOr<IdxArray> ParseIdx(const uint8_t* bytes, size_t size);

// Reads an IDX file, plain or gzip-compressed (told apart by the gzip magic, not by the
// name). A file that cannot be opened or read gives InvalidArgument naming the path
// (status.h has no NotFound; a bad path is a bad argument). A file, or decompressed data,
// larger than `max_bytes` gives ResourceExhausted. Everything else as ParseIdx and
// Gunzip, with the path prefixed to the message.
StatusOr<IdxArray> ReadIdxFile(const std::string& path, size_t max_bytes = kDefaultMaxIdxBytes);

// Where Debian's dataset-fashion-mnist package puts the files.
constexpr const char* kDebianFashionMnistDir = "/usr/share/datasets/fashion-mnist";
constexpr int kFashionMnistClasses = 10;
constexpr uint32_t kFashionMnistSide = 28;

enum class Split { kTrain, kTest };

// Images and labels of one split. Owns its memory.
struct Dataset {
  size_t count = 0;             // number of samples n
  uint32_t rows = 0, cols = 0;  // image height and width in pixels (28 x 28)
  std::vector<uint8_t> images;  // n * rows * cols pixels, sample-major then row-major
  std::vector<uint8_t> labels;  // n class ids, each < kFashionMnistClasses
};

// Loads the train (60,000) or test (10,000) split of Fashion-MNIST from `dir`, which holds
// {train,t10k}-{images-idx3,labels-idx1}-ubyte, each either with ".gz" (preferred when
// both exist) or uncompressed. `limit` > 0 keeps only the first `limit` samples (all of
// them when the split is smaller); 0 keeps all. The whole files are still read and
// checked (about 0.4 s native, 0.65 s wasm for the train split). Errors: InvalidArgument when a
// file is missing (naming it); DataLoss when the images are not n x 28 x 28, the labels not a
// vector, the two files disagree on n, or a label is >= 10; plus those of ReadIdxFile.
StatusOr<Dataset> LoadFashionMnist(const std::string& dir, Split split, size_t limit);

}  // namespace qf::io
