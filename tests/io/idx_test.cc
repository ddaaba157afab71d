// IDX parsing and reading: arrays built in memory (plain and gzip-compressed), every error
// class, a synthetic Fashion-MNIST folder, and the real Debian test split when installed
// (skipped with a warning where it is not; under CI=true that fails).
#include "io/idx.h"

#include <random>

#include "io/io_test_util.h"
#include "test_util.h"

namespace qf::io {
namespace {

std::vector<uint8_t> MakeIdx(uint8_t type, const std::vector<uint32_t>& dims,
                             const std::vector<uint8_t>& data) {
  std::vector<uint8_t> b = {0, 0, type, uint8_t(dims.size())};
  for (uint32_t d : dims) {
    for (int shift : {24, 16, 8, 0}) b.push_back(uint8_t(d >> shift));
  }
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

StatusOr<IdxArray> Parse(const std::vector<uint8_t>& bytes) {
  return ParseIdx(bytes.data(), bytes.size());
}

std::vector<uint8_t> Iota(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i++) v[i] = uint8_t(i * 7 + 1);
  return v;
}

std::vector<uint8_t> Gz(const std::vector<uint8_t>& data) {
  return test::GzipWrap(test::DeflateFixed(data), data);
}

TEST_CASE("idx parses unsigned-byte arrays", "[io][idx]") {
  const std::vector<uint8_t> data = Iota(2 * 3 * 4);
  auto a = Parse(MakeIdx(0x08, {2, 3, 4}, data));
  REQUIRE(a.ok());
  CHECK(a.value().dims == std::vector<uint32_t>{2, 3, 4});
  CHECK(a.value().data == data);

  // Sizes above 255 check the big-endian order.
  auto v = Parse(MakeIdx(0x08, {300}, Iota(300)));
  REQUIRE(v.ok());
  CHECK(v.value().dims == std::vector<uint32_t>{300});
  CHECK(v.value().data == Iota(300));

  auto empty = Parse(MakeIdx(0x08, {0, 28, 28}, {}));
  REQUIRE(empty.ok());
  CHECK(empty.value().dims == std::vector<uint32_t>{0, 28, 28});
  CHECK(empty.value().data.empty());
}

TEST_CASE("idx rejects bad headers", "[io][idx]") {
  const std::vector<uint8_t> good = MakeIdx(0x08, {2, 3}, Iota(6));
  for (size_t n = 0; n < 4; n++) {
    INFO("size " << n);
    QF_REQUIRE_ERROR(ParseIdx(good.data(), n), StatusCode::kDataLoss,
                     "expected at least 4 bytes, found " + std::to_string(n));
  }
  std::vector<uint8_t> bad = good;
  bad[0] = 1;
  QF_REQUIRE_ERROR(Parse(bad), StatusCode::kDataLoss, "bad magic 0x01 0x00");
  bad = good;
  bad[1] = 0x42;
  QF_REQUIRE_ERROR(Parse(bad), StatusCode::kDataLoss, "bad magic");
  QF_REQUIRE_ERROR(Parse(Gz(good)), StatusCode::kDataLoss, "this is gzip data");

  for (auto [code, name] : {std::pair<uint8_t, const char*>{0x09, "0x09 (signed byte)"},
                            {0x0B, "0x0B (int16)"},
                            {0x0C, "0x0C (int32)"},
                            {0x0D, "0x0D (float32)"},
                            {0x0E, "0x0E (float64)"}}) {
    QF_REQUIRE_ERROR(Parse(MakeIdx(code, {2, 3}, Iota(6))), StatusCode::kUnimplemented, name);
  }
  QF_REQUIRE_ERROR(Parse(MakeIdx(0x42, {2, 3}, Iota(6))), StatusCode::kDataLoss,
                   "unknown element type code 0x42");
  QF_REQUIRE_ERROR(Parse(MakeIdx(0x08, {}, {})), StatusCode::kDataLoss, "zero dimensions");

  const std::vector<uint8_t> three = MakeIdx(0x08, {1, 1, 1}, {9});
  for (size_t n = 4; n < 16; n++) {
    INFO("size " << n);
    QF_REQUIRE_ERROR(ParseIdx(three.data(), n), StatusCode::kDataLoss,
                     "3 dimensions need 16 bytes, found " + std::to_string(n));
  }
}

TEST_CASE("idx rejects data that does not match the dims", "[io][idx]") {
  const std::vector<uint8_t> good = MakeIdx(0x08, {2, 3, 4}, Iota(24));
  QF_REQUIRE_ERROR(ParseIdx(good.data(), good.size() - 1), StatusCode::kDataLoss,
                   "truncated data: dims 2x3x4 need 24 bytes, found 23");
  QF_REQUIRE_ERROR(ParseIdx(good.data(), 16), StatusCode::kDataLoss, "need 24 bytes, found 0");
  std::vector<uint8_t> longer = good;
  longer.push_back(0);
  QF_REQUIRE_ERROR(Parse(longer), StatusCode::kDataLoss, "1 unexpected bytes after the data");
  // Dims whose product does not fit 64 bits, and dims far larger than the file.
  QF_REQUIRE_ERROR(Parse(MakeIdx(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, Iota(8))),
                   StatusCode::kDataLoss, "overflow 64 bits");
  QF_REQUIRE_ERROR(Parse(MakeIdx(0x08, {0xFFFFFFFF, 0xFFFFFFFF}, Iota(8))), StatusCode::kDataLoss,
                   "need 18446744065119617025 bytes, found 8");
  QF_REQUIRE_ERROR(Parse(MakeIdx(0x08, {60000, 28, 28}, Iota(100))), StatusCode::kDataLoss,
                   "dims 60000x28x28 need 47040000 bytes, found 100");
}

TEST_CASE("idx parsing survives random bytes", "[io][idx]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 5000; trial++) {
    std::vector<uint8_t> b = test::RandomInts<uint8_t>(rng, rng() % 40, 0, 255);
    if (b.size() >= 4 && trial % 2) {
      b[0] = b[1] = 0;
      b[2] = 8;
      b[3] = uint8_t(b[3] % 4);
    }
    auto got = Parse(b);
    if (got.ok()) {
      size_t n = 1;
      for (uint32_t d : got.value().dims) n *= d;
      CHECK(got.value().data.size() == n);
    }
  }
}

TEST_CASE("idx files are read plain or gzip-compressed", "[io][idx]") {
  test::TempDir dir;
  REQUIRE(dir.ok());
  const std::vector<uint8_t> data = Iota(5 * 28 * 28);
  const std::vector<uint8_t> idx = MakeIdx(0x08, {5, 28, 28}, data);
  const std::string plain = dir.Write("plain-idx3-ubyte", idx);
  // The name does not matter: the gzip magic does.
  const std::string gz = dir.Write("compressed-without-suffix", Gz(idx));
  const std::string stored = dir.Write("stored.gz", test::GzipWrap(test::DeflateStored(idx), idx));
  for (const std::string& path : {plain, gz, stored}) {
    INFO(path);
    auto a = ReadIdxFile(path);
    REQUIRE(a.ok());
    CHECK(a.value().dims == std::vector<uint32_t>{5, 28, 28});
    CHECK(a.value().data == data);
  }

  const std::string missing = dir.path() + "/no-such-file";
  QF_REQUIRE_ERROR(ReadIdxFile(missing), StatusCode::kInvalidArgument,
                   "cannot open '" + missing + "'");
  QF_REQUIRE_ERROR(ReadIdxFile(dir.path()), StatusCode::kInvalidArgument, dir.path());

  // Errors carry the path.
  const std::string truncated =
      dir.Write("truncated", std::vector<uint8_t>(idx.begin(), idx.end() - 10));
  QF_REQUIRE_ERROR(ReadIdxFile(truncated), StatusCode::kDataLoss,
                   truncated + ": IDX: truncated data: dims 5x28x28 need 3920 bytes, found 3910");
  std::vector<uint8_t> corrupt = Gz(idx);
  corrupt[corrupt.size() - 6] ^= 1;
  const std::string bad_gz = dir.Write("bad.gz", corrupt);
  QF_REQUIRE_ERROR(ReadIdxFile(bad_gz), StatusCode::kDataLoss, bad_gz + ": gzip: ");
  const std::vector<uint8_t> gz_bytes = Gz(idx);
  const std::string cut = dir.Write(
      "cut.gz", std::vector<uint8_t>(gz_bytes.begin(), gz_bytes.begin() + gz_bytes.size() / 2));
  QF_REQUIRE_ERROR(ReadIdxFile(cut), StatusCode::kDataLoss, "truncated");

  // Size caps: on the file itself and on what it decompresses to.
  QF_REQUIRE_ERROR(ReadIdxFile(plain, 1000), StatusCode::kResourceExhausted, "limit of 1000");
  QF_REQUIRE_ERROR(ReadIdxFile(gz, idx.size() - 1), StatusCode::kResourceExhausted, "limit");
  CHECK(ReadIdxFile(gz, idx.size()).ok());
}

// Writes a Fashion-MNIST-like split into `dir`.
void WriteSplit(test::TempDir& dir, const std::string& split, uint32_t n, bool gzip,
                std::vector<uint8_t>* images, std::vector<uint8_t>* labels) {
  *images = Iota(size_t(n) * 28 * 28);
  labels->resize(n);
  for (uint32_t i = 0; i < n; i++) (*labels)[i] = uint8_t((i * 3) % 10);
  const std::vector<uint8_t> im = MakeIdx(0x08, {n, 28, 28}, *images);
  const std::vector<uint8_t> lb = MakeIdx(0x08, {n}, *labels);
  const std::string suffix = gzip ? ".gz" : "";
  dir.Write(split + "-images-idx3-ubyte" + suffix, gzip ? Gz(im) : im);
  dir.Write(split + "-labels-idx1-ubyte" + suffix, gzip ? Gz(lb) : lb);
}

TEST_CASE("fashion-mnist loader on a synthetic folder", "[io][idx]") {
  test::TempDir dir;
  REQUIRE(dir.ok());
  std::vector<uint8_t> images, labels, test_images, test_labels;
  WriteSplit(dir, "train", 12, true, &images, &labels);
  WriteSplit(dir, "t10k", 7, false, &test_images, &test_labels);

  auto train = LoadFashionMnist(dir.path(), Split::kTrain, 0);
  REQUIRE(train.ok());
  CHECK(train.value().count == 12);
  CHECK(train.value().rows == 28);
  CHECK(train.value().cols == 28);
  CHECK(train.value().images == images);
  CHECK(train.value().labels == labels);

  auto first5 = LoadFashionMnist(dir.path(), Split::kTrain, 5);
  REQUIRE(first5.ok());
  CHECK(first5.value().count == 5);
  CHECK(first5.value().images == std::vector<uint8_t>(images.begin(), images.begin() + 5 * 784));
  CHECK(first5.value().labels == std::vector<uint8_t>(labels.begin(), labels.begin() + 5));

  auto t10k = LoadFashionMnist(dir.path(), Split::kTest, 100);  // more than there are
  REQUIRE(t10k.ok());
  CHECK(t10k.value().count == 7);
  CHECK(t10k.value().images == test_images);
  CHECK(t10k.value().labels == test_labels);
}

TEST_CASE("fashion-mnist loader rejects inconsistent files", "[io][idx]") {
  const std::vector<uint8_t> im3 = MakeIdx(0x08, {3, 28, 28}, Iota(3 * 784));
  const std::vector<uint8_t> lb3 = MakeIdx(0x08, {3}, {1, 2, 3});
  {
    test::TempDir dir;
    const std::string images = dir.Write("t10k-images-idx3-ubyte.gz", Gz(im3));
    QF_REQUIRE_ERROR(LoadFashionMnist(dir.path(), Split::kTest, 0), StatusCode::kInvalidArgument,
                     dir.path() + "/t10k-labels-idx1-ubyte.gz' nor '" + dir.path() +
                         "/t10k-labels-idx1-ubyte' can be opened");
    QF_REQUIRE_ERROR(LoadFashionMnist(dir.path() + "/nowhere", Split::kTrain, 0),
                     StatusCode::kInvalidArgument, "/nowhere/train-images-idx3-ubyte");
  }
  {
    test::TempDir dir;
    const std::string images = dir.Write("t10k-images-idx3-ubyte", im3);
    const std::string labels =
        dir.Write("t10k-labels-idx1-ubyte", MakeIdx(0x08, {4}, {1, 2, 3, 4}));
    QF_REQUIRE_ERROR(
        LoadFashionMnist(dir.path(), Split::kTest, 0), StatusCode::kDataLoss,
        "image/label count mismatch: " + images + " holds 3 images, " + labels + " holds 4 labels");
  }
  {
    test::TempDir dir;
    dir.Write("t10k-images-idx3-ubyte", im3);
    const std::string labels = dir.Write("t10k-labels-idx1-ubyte", MakeIdx(0x08, {3}, {1, 10, 3}));
    QF_REQUIRE_ERROR(LoadFashionMnist(dir.path(), Split::kTest, 0), StatusCode::kDataLoss,
                     labels + ": label 10 of sample 1 is not a class id");
  }
  {
    test::TempDir dir;
    const std::string images =
        dir.Write("t10k-images-idx3-ubyte", MakeIdx(0x08, {3, 28, 27}, Iota(3 * 28 * 27)));
    dir.Write("t10k-labels-idx1-ubyte", lb3);
    QF_REQUIRE_ERROR(LoadFashionMnist(dir.path(), Split::kTest, 0), StatusCode::kDataLoss,
                     images + ": expected images of n x 28 x 28, found dims 3x28x27");
  }
  {
    test::TempDir dir;
    dir.Write("t10k-images-idx3-ubyte", im3);
    const std::string labels =
        dir.Write("t10k-labels-idx1-ubyte", MakeIdx(0x08, {3, 1}, {1, 2, 3}));
    QF_REQUIRE_ERROR(LoadFashionMnist(dir.path(), Split::kTest, 0), StatusCode::kDataLoss,
                     labels + ": expected a vector of n labels, found dims 3x1");
  }
  {
    test::TempDir dir;
    const std::string images =
        dir.Write("t10k-images-idx3-ubyte", MakeIdx(0x0D, {3, 28, 28}, Iota(3 * 784 * 4)));
    dir.Write("t10k-labels-idx1-ubyte", lb3);
    QF_REQUIRE_ERROR(LoadFashionMnist(dir.path(), Split::kTest, 0), StatusCode::kUnimplemented,
                     images + ": IDX: element type 0x0D (float32)");
  }
}

TEST_CASE("fashion-mnist test split from the Debian package", "[io][data]") {
  const std::string dir = kDebianFashionMnistDir;
  if (!test::PresentOrSkip(!test::ReadAll(dir + "/t10k-labels-idx1-ubyte.gz").empty(),
                           dir + "/t10k-labels-idx1-ubyte.gz (Debian: dataset-fashion-mnist)")) {
    return;
  }
  auto ds = LoadFashionMnist(dir, Split::kTest, 0);
  INFO((ds.ok() ? std::string("ok") : ds.status().message()));
  REQUIRE(ds.ok());
  const Dataset& d = ds.value();
  CHECK(d.count == 10000);
  CHECK(d.rows == 28);
  CHECK(d.cols == 28);
  REQUIRE(d.images.size() == size_t(10000) * 28 * 28);
  REQUIRE(d.labels.size() == 10000);
  size_t histogram[10] = {};
  for (uint8_t label : d.labels) histogram[label]++;
  for (int c = 0; c < 10; c++) {
    INFO("class " << c);
    CHECK(histogram[c] == 1000);
  }
  // Read off the file with `zcat t10k-labels-idx1-ubyte.gz | od -t u1`: 9 2 1 1 6 1 4 6 5 7;
  // and the pixel sums of the first image and of all of them (zcat | tail -c +17 | od).
  const uint8_t first[] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
  CHECK(std::vector<uint8_t>(d.labels.begin(), d.labels.begin() + 10) ==
        std::vector<uint8_t>(first, first + 10));
  uint64_t first_sum = 0, total = 0;
  for (size_t i = 0; i < d.images.size(); i++) {
    total += d.images[i];
    if (i < 784) first_sum += d.images[i];
  }
  CHECK(first_sum == 33456);
  CHECK(total == 573469082);

  auto head = LoadFashionMnist(dir, Split::kTest, 10);
  REQUIRE(head.ok());
  CHECK(head.value().count == 10);
  CHECK(head.value().labels == std::vector<uint8_t>(first, first + 10));
}

}  // namespace
}  // namespace qf::io
