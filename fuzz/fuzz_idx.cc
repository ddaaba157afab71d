// libFuzzer target: IDX arrays, gzip-compressed or plain, through api::ParseIdxBytes (what
// the JS readIdx calls) and through io::ReadIdxFile (the native file reader, with a small
// cap); where both succeed they must agree. Not the gzip format tests (tests/io/).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "api/model_api.h"
#include "fuzz_util.h"
#include "io/idx.h"
#include "io/inflate.h"

namespace {

// The input as a file ReadIdxFile can open: an in-memory file (memfd), rewritten for each
// input, named through /proc (a file on disk would make each run wait for the disk).
const std::string& InputAsFile(const uint8_t* data, size_t size) {
  static const int fd = memfd_create("qf_fuzz_idx", 0);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  QF_FUZZ_REQUIRE(fd >= 0);
  QF_FUZZ_REQUIRE(ftruncate(fd, 0) == 0);
  QF_FUZZ_REQUIRE(size == 0 || pwrite(fd, data, size, 0) == ssize_t(size));
  return path;
}

void CheckArray(const qf::io::IdxArray& a) {
  QF_FUZZ_REQUIRE(!a.dims.empty());
  size_t count = 1;
  for (uint32_t d : a.dims) count *= d;
  QF_FUZZ_REQUIRE(count == a.data.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const qf::StatusOr<qf::io::IdxArray> parsed = qf::api::ParseIdxBytes(data, size);
  if (parsed.ok()) CheckArray(parsed.value());

  // The decoder alone, with a cap small enough that bombs hit it.
  constexpr size_t kCap = size_t(1) << 20;
  const qf::StatusOr<std::vector<uint8_t>> plain = qf::io::Gunzip(data, size, kCap);
  if (plain.ok()) QF_FUZZ_REQUIRE(plain.value().size() <= kCap);

  const qf::StatusOr<qf::io::IdxArray> read = qf::io::ReadIdxFile(InputAsFile(data, size), kCap);
  if (read.ok()) {
    CheckArray(read.value());
    QF_FUZZ_REQUIRE(parsed.ok());
    QF_FUZZ_REQUIRE(read.value().dims == parsed.value().dims);
    QF_FUZZ_REQUIRE(read.value().data == parsed.value().data);
  } else if (read.status().code() != qf::StatusCode::kResourceExhausted) {
    // Within the cap, both paths see the same bytes and must fail alike.
    QF_FUZZ_REQUIRE(!parsed.ok());
    QF_FUZZ_REQUIRE(read.status().code() == parsed.status().code());
  }
  return 0;
}
