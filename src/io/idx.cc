// IDX parsing with every size checked before use, file reading with a size cap, and the
// Fashion-MNIST loader. No decompression here (io/inflate.cc) and no writing.
#include "io/idx.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace qf::io {
namespace {

std::string DimsText(const std::vector<uint32_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); i++) {
    if (i) s += 'x';
    s += std::to_string(dims[i]);
  }
  return s;
}

const char* IdxTypeName(uint8_t code) {
  switch (code) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
  }
  return nullptr;
}

std::string Hex2(uint8_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", unsigned(v));
  return buf;
}

Status Prefixed(const std::string& path, const Status& s) {
  return Status(s.code(), path + ": " + s.message());
}

// Reads a whole file, at most max_bytes of it.
StatusOr<std::vector<uint8_t>> ReadFileBytes(const std::string& path, size_t max_bytes) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return InvalidArgument("cannot open '" + path + "': " + std::strerror(errno));
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  for (;;) {
    const size_t got = std::fread(chunk, 1, sizeof chunk, f);
    if (got > max_bytes - bytes.size()) {
      std::fclose(f);
      return ResourceExhausted("'" + path + "' is larger than the limit of " +
                               std::to_string(max_bytes) + " bytes");
    }
    bytes.insert(bytes.end(), chunk, chunk + got);
    if (got < sizeof chunk) break;
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) return InvalidArgument("cannot read '" + path + "': " + std::strerror(err));
  return bytes;
}

bool FileExists(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  std::fclose(f);
  return true;
}

}  // namespace

StatusOr<IdxArray> ParseIdx(const uint8_t* bytes, size_t size) {
  if (size < 4) {
    return DataLoss("IDX: truncated header: expected at least 4 bytes, found " +
                    std::to_string(size));
  }
  if (bytes[0] != 0 || bytes[1] != 0) {
    std::string msg = "IDX: bad magic " + Hex2(bytes[0]) + " " + Hex2(bytes[1]) +
                      " (the first two bytes must be zero)";
    if (LooksGzipped(bytes, size)) msg += "; this is gzip data, decompress it first";
    return DataLoss(msg);
  }
  const uint8_t type = bytes[2];
  if (type != 0x08) {
    if (const char* name = IdxTypeName(type)) {
      return Unimplemented("IDX: element type " + Hex2(type) + " (" + name +
                           ") is not supported; only 0x08 (unsigned byte) is");
    }
    return DataLoss("IDX: bad magic: unknown element type code " + Hex2(type));
  }
  const size_t ndims = bytes[3];
  if (ndims == 0) return DataLoss("IDX: the header declares zero dimensions");
  const size_t header = 4 + 4 * ndims;
  if (size < header) {
    return DataLoss("IDX: truncated header: " + std::to_string(ndims) + " dimensions need " +
                    std::to_string(header) + " bytes, found " + std::to_string(size));
  }
  IdxArray out;
  out.dims.resize(ndims);
  uint64_t count = 1;
  bool overflow = false;
  for (size_t i = 0; i < ndims; i++) {
    const uint8_t* b = bytes + 4 + 4 * i;
    const uint32_t d = uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3];
    out.dims[i] = d;
    if (d != 0 && count > UINT64_MAX / d) overflow = true;
    count *= d;
  }
  const size_t available = size - header;
  if (overflow) {
    return DataLoss("IDX: dims " + DimsText(out.dims) + " overflow 64 bits; the file holds only " +
                    std::to_string(available) + " data bytes");
  }
  if (count > available) {
    return DataLoss("IDX: truncated data: dims " + DimsText(out.dims) + " need " +
                    std::to_string(count) + " bytes, found " + std::to_string(available));
  }
  if (count < available) {
    return DataLoss("IDX: " + std::to_string(available - count) +
                    " unexpected bytes after the data (dims " + DimsText(out.dims) + " need " +
                    std::to_string(count) + " bytes, found " + std::to_string(available) + ")");
  }
  out.data.assign(bytes + header, bytes + size);
  return out;
}

StatusOr<IdxArray> ReadIdxFile(const std::string& path, size_t max_bytes) {
  StatusOr<std::vector<uint8_t>> file = ReadFileBytes(path, max_bytes);
  if (!file.ok()) return file.status();
  const std::vector<uint8_t>& raw = file.value();
  if (!LooksGzipped(raw.data(), raw.size())) {
    StatusOr<IdxArray> idx = ParseIdx(raw.data(), raw.size());
    if (!idx.ok()) return Prefixed(path, idx.status());
    return idx;
  }
  StatusOr<std::vector<uint8_t>> plain = Gunzip(raw.data(), raw.size(), max_bytes);
  if (!plain.ok()) return Prefixed(path, plain.status());
  std::vector<uint8_t>().swap(file.value());  // free the compressed bytes early
  StatusOr<IdxArray> idx = ParseIdx(plain.value().data(), plain.value().size());
  if (!idx.ok()) return Prefixed(path, idx.status());
  return idx;
}

StatusOr<Dataset> LoadFashionMnist(const std::string& dir, Split split, size_t limit) {
  const std::string prefix = dir + "/" + (split == Split::kTrain ? "train" : "t10k");
  std::string paths[2] = {prefix + "-images-idx3-ubyte", prefix + "-labels-idx1-ubyte"};
  for (std::string& path : paths) {
    if (FileExists(path + ".gz")) {
      path += ".gz";
    } else if (!FileExists(path)) {
      return InvalidArgument("Fashion-MNIST file missing: neither '" + path + ".gz' nor '" + path +
                             "' can be opened");
    }
  }
  StatusOr<IdxArray> images = ReadIdxFile(paths[0]);
  if (!images.ok()) return images.status();
  StatusOr<IdxArray> labels = ReadIdxFile(paths[1]);
  if (!labels.ok()) return labels.status();
  IdxArray& im = images.value();
  IdxArray& lb = labels.value();
  if (im.dims.size() != 3 || im.dims[1] != kFashionMnistSide || im.dims[2] != kFashionMnistSide) {
    return DataLoss(paths[0] + ": expected images of n x 28 x 28, found dims " + DimsText(im.dims));
  }
  if (lb.dims.size() != 1) {
    return DataLoss(paths[1] + ": expected a vector of n labels, found dims " + DimsText(lb.dims));
  }
  if (im.dims[0] != lb.dims[0]) {
    return DataLoss("Fashion-MNIST image/label count mismatch: " + paths[0] + " holds " +
                    std::to_string(im.dims[0]) + " images, " + paths[1] + " holds " +
                    std::to_string(lb.dims[0]) + " labels");
  }
  for (size_t i = 0; i < lb.data.size(); i++) {
    if (lb.data[i] >= kFashionMnistClasses) {
      return DataLoss(paths[1] + ": label " + std::to_string(lb.data[i]) + " of sample " +
                      std::to_string(i) + " is not a class id (0..9)");
    }
  }
  Dataset ds;
  ds.count = limit == 0 ? size_t(im.dims[0]) : std::min(limit, size_t(im.dims[0]));
  ds.rows = kFashionMnistSide;
  ds.cols = kFashionMnistSide;
  const size_t pixels = size_t(ds.rows) * ds.cols;
  im.data.resize(ds.count * pixels);
  lb.data.resize(ds.count);
  if (ds.count < im.dims[0]) {
    im.data.shrink_to_fit();
    lb.data.shrink_to_fit();
  }
  ds.images = std::move(im.data);
  ds.labels = std::move(lb.data);
  return ds;
}

}  // namespace qf::io
