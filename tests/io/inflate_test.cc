// Gunzip and Crc32: round trips through stored, fixed and dynamic blocks (our own test
// writer, a blob from the system gzip, and the system gzip itself when it can be run; under
// CI=true it must),
// every error class, and corruption/truncation sweeps that must never crash.
#include "io/inflate.h"

#include <random>

#include "io/io_test_util.h"
#include "test_util.h"

namespace qf::io {
namespace {

using test::BitWriter;
using test::GzipWrap;

constexpr size_t kNoLimit = size_t(1) << 30;

// 40 lines of text, and what `gzip -9 -n` made of it (a single dynamic-Huffman block).
std::vector<uint8_t> BlobText() {
  std::string s;
  for (int i = 0; i < 40; i++) {
    s += "layer " + std::to_string(i) + ": conv2d 3x3, filters " + std::to_string(16 << (i % 3)) +
         ", stride " + std::to_string(1 + i % 2) + "\n";
  }
  return test::Bytes(s);
}
const std::vector<uint8_t> kBlobGz = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x95, 0x94, 0xc1, 0x0a, 0x82, 0x50,
    0x14, 0x44, 0xf7, 0x7d, 0xc5, 0xfd, 0x00, 0x17, 0xde, 0x3b, 0xcf, 0xa7, 0xf6, 0x37, 0x91, 0x06,
    0x82, 0x14, 0xa8, 0x44, 0xfd, 0x7d, 0x10, 0xd9, 0x26, 0xc1, 0xd3, 0x7e, 0x98, 0xcb, 0x9c, 0xf7,
    0x38, 0xe3, 0xe9, 0xd9, 0x4f, 0x56, 0x1e, 0xed, 0x7c, 0xbb, 0xde, 0xa3, 0x33, 0x3d, 0x54, 0xd8,
    0x65, 0x18, 0x97, 0x7e, 0x9a, 0xcd, 0x73, 0x61, 0xf3, 0x32, 0x0d, 0x5d, 0x6f, 0x7e, 0x18, 0xdf,
    0x49, 0xdf, 0x4e, 0x2a, 0xbe, 0xc9, 0xf8, 0x24, 0x63, 0x3b, 0x99, 0xd3, 0x4f, 0xa7, 0x76, 0xaf,
    0xaf, 0x9d, 0x69, 0xf7, 0xfa, 0xda, 0x59, 0xed, 0x5e, 0x5f, 0x3b, 0x33, 0xde, 0x5e, 0xe3, 0xed,
    0x0d, 0xde, 0xde, 0xe2, 0xed, 0x5e, 0xe2, 0xf1, 0xee, 0x78, 0xbd, 0x07, 0x7f, 0x7a, 0xe1, 0xfd,
    0x9e, 0x30, 0x00, 0xaf, 0x38, 0x81, 0xcc, 0x09, 0xd4, 0x9c, 0x40, 0xc3, 0x09, 0xb4, 0xfc, 0xf7,
    0x97, 0x98, 0x40, 0x38, 0x26, 0x10, 0x81, 0x09, 0x84, 0x30, 0x81, 0x48, 0x98, 0x40, 0x54, 0x9c,
    0x40, 0xe6, 0x04, 0x6a, 0x4e, 0xa0, 0xe1, 0x04, 0x5a, 0x4c, 0x40, 0x5c, 0x80, 0xe2, 0x06, 0xd4,
    0x1f, 0x0a, 0xe4, 0x0e, 0x14, 0x97, 0xa0, 0xb8, 0x05, 0xc5, 0x35, 0x28, 0xee, 0x41, 0x71, 0x11,
    0x8a, 0x98, 0xf0, 0x05, 0x26, 0xc1, 0x1c, 0x12, 0xae, 0x06, 0x00, 0x00};

StatusOr<std::vector<uint8_t>> Gunzip(const std::vector<uint8_t>& gz,
                                      size_t max_output = kNoLimit) {
  return io::Gunzip(gz.data(), gz.size(), max_output);
}

// A token stream: literals (len == 0) and back-references, with the bytes they decode to.
struct Token {
  int literal;
  int len, dist;
};
std::vector<Token> RandomTokens(std::mt19937_64& rng, size_t count, std::vector<uint8_t>* out) {
  std::vector<Token> tokens;
  for (size_t t = 0; t < count; t++) {
    const int kind = int(rng() % 4);
    if (out->empty() || kind == 0) {
      const int lit = int(rng() % 256);
      tokens.push_back({lit, 0, 0});
      out->push_back(uint8_t(lit));
      continue;
    }
    const int max_dist = int(std::min<size_t>(out->size(), 32768));
    int len, dist;
    switch (kind) {
      case 1:  // short and near: overlapping copies
        len = 3 + int(rng() % 10);
        dist = 1 + int(rng() % std::min(max_dist, 4));
        break;
      case 2:  // anywhere
        len = 3 + int(rng() % 256);
        dist = 1 + int(rng() % max_dist);
        break;
      default:  // the extremes
        len = (rng() % 2) ? 258 : 3;
        dist = max_dist;
    }
    tokens.push_back({-1, len, dist});
    const size_t from = out->size() - size_t(dist);
    for (int k = 0; k < len; k++) out->push_back((*out)[from + size_t(k)]);
  }
  return tokens;
}

// Writes tokens with the codes given by lit/dist lengths, then end-of-block.
void EmitTokens(BitWriter& w, const std::vector<Token>& tokens, const std::vector<uint8_t>& lit,
                const std::vector<uint8_t>& dist) {
  const std::vector<uint32_t> lc = test::CanonicalCodes(lit), dc = test::CanonicalCodes(dist);
  for (const Token& t : tokens) {
    if (t.len == 0) {
      w.Code(lc[t.literal], lit[t.literal]);
      continue;
    }
    int sym, extra, bits;
    test::LengthSymbol(t.len, &sym, &extra, &bits);
    w.Code(lc[sym], lit[sym]);
    w.Bits(extra, bits);
    test::DistanceSymbol(t.dist, &sym, &extra, &bits);
    w.Code(dc[sym], dist[sym]);
    w.Bits(extra, bits);
  }
  w.Code(lc[256], lit[256]);
}

std::vector<uint8_t> FixedLitLengths() {
  std::vector<uint8_t> l(288);
  for (int s = 0; s < 288; s++) l[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
  return l;
}

TEST_CASE("crc32 matches the standard check value", "[io][inflate]") {
  const std::vector<uint8_t> digits = test::Bytes("123456789");
  CHECK(Crc32(digits.data(), digits.size()) == 0xCBF43926u);
  CHECK(Crc32(nullptr, 0) == 0u);
  const uint32_t part = Crc32(digits.data(), 4);
  CHECK(Crc32(digits.data() + 4, 5, part) == 0xCBF43926u);
}

TEST_CASE("gunzip decodes stored blocks", "[io][inflate]") {
  std::mt19937_64 rng(test::TestSeed());
  for (size_t n : {0, 1, 100, 65535, 65536, 200000}) {
    INFO("n " << n);
    const std::vector<uint8_t> data = test::RandomInts<uint8_t>(rng, n, 0, 255);
    auto got = Gunzip(GzipWrap(test::DeflateStored(data), data));
    REQUIRE(got.ok());
    CHECK(got.value() == data);
    auto small_blocks = Gunzip(GzipWrap(test::DeflateStored(data, 777), data));
    REQUIRE(small_blocks.ok());
    CHECK(small_blocks.value() == data);
  }
}

TEST_CASE("gunzip decodes fixed-Huffman blocks", "[io][inflate]") {
  std::mt19937_64 rng(test::TestSeed());
  std::vector<std::vector<uint8_t>> inputs = {
      {}, test::Bytes("a"), BlobText(), std::vector<uint8_t>(100000, 0)};
  std::vector<uint8_t> all_bytes;
  for (int i = 0; i < 3 * 256; i++) all_bytes.push_back(uint8_t(i));
  inputs.push_back(all_bytes);
  inputs.push_back(test::RandomInts<uint8_t>(rng, 5000, 'a', 'd'));
  for (const auto& data : inputs) {
    INFO("size " << data.size());
    auto got = Gunzip(GzipWrap(test::DeflateFixed(data), data));
    REQUIRE(got.ok());
    CHECK(got.value() == data);
    auto blocks = Gunzip(GzipWrap(test::DeflateFixed(data, 1000), data));
    REQUIRE(blocks.ok());
    CHECK(blocks.value() == data);
  }
}

TEST_CASE("gunzip decodes every length and distance code", "[io][inflate]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> want;
  const std::vector<Token> tokens = RandomTokens(rng, 6000, &want);
  const std::vector<uint8_t> fixed_dist(32, 5);
  // The same tokens three ways: fixed code; a complete dynamic code (226 codes of 8 bits
  // and 60 of 9; 2 distance codes of 4 bits and 28 of 5); mixed with a stored block.
  std::vector<uint8_t> lit(286, 9), dist(30, 5);
  for (int s = 0; s < 226; s++) lit[s] = 8;
  dist[0] = dist[1] = 4;
  for (int variant = 0; variant < 3; variant++) {
    INFO("variant " << variant);
    BitWriter w;
    if (variant == 0) {
      w.Bits(1, 1);
      w.Bits(1, 2);
      EmitTokens(w, tokens, FixedLitLengths(), fixed_dist);
    } else if (variant == 1) {
      test::DynamicHeaderPlain(w, true, lit, dist);
      EmitTokens(w, tokens, lit, dist);
    } else {
      test::DynamicHeaderPlain(w, false, lit, dist);
      EmitTokens(w, tokens, lit, dist);
      const uint8_t tail[] = {1, 2, 3};
      test::StoredBlock(w, tail, 3, true);
    }
    std::vector<uint8_t> expect = want;
    if (variant == 2) expect.insert(expect.end(), {1, 2, 3});
    auto got = Gunzip(GzipWrap(w.Finish(), expect));
    REQUIRE(got.ok());
    CHECK(got.value() == expect);
  }
}

TEST_CASE("gunzip decodes codes longer than the lookup table", "[io][inflate]") {
  // Literals 'a'..'n' get lengths 1..14; end-of-block and length 3 (symbol 257) get 15.
  // The only distance code (length 1: an incomplete code RFC 1951 allows) means 1.
  std::vector<uint8_t> lit(258, 0), dist = {1};
  for (int i = 0; i < 14; i++) lit['a' + i] = uint8_t(i + 1);
  lit[256] = lit[257] = 15;
  std::mt19937_64 rng(test::TestSeed());
  std::vector<Token> tokens;
  std::vector<uint8_t> want;
  for (int t = 0; t < 3000; t++) {
    if (!want.empty() && rng() % 5 == 0) {
      tokens.push_back({-1, 3, 1});
      for (int k = 0; k < 3; k++) want.push_back(want.back());
    } else {
      const int c = 'a' + int(rng() % 14);
      tokens.push_back({c, 0, 0});
      want.push_back(uint8_t(c));
    }
  }
  BitWriter w;
  test::DynamicHeaderPlain(w, true, lit, dist);
  EmitTokens(w, tokens, lit, dist);
  auto got = Gunzip(GzipWrap(w.Finish(), want));
  REQUIRE(got.ok());
  CHECK(got.value() == want);
}

TEST_CASE("gunzip decodes what the system gzip wrote", "[io][inflate]") {
  auto got = Gunzip(kBlobGz);
  REQUIRE(got.ok());
  CHECK(got.value() == BlobText());

  // Concatenated members decode to the concatenation.
  std::vector<uint8_t> two = kBlobGz;
  const std::vector<uint8_t> hello = test::Bytes("hello");
  const std::vector<uint8_t> second = GzipWrap(test::DeflateFixed(hello), hello);
  two.insert(two.end(), second.begin(), second.end());
  auto both = Gunzip(two);
  REQUIRE(both.ok());
  std::vector<uint8_t> want = BlobText();
  want.insert(want.end(), hello.begin(), hello.end());
  CHECK(both.value() == want);
}

TEST_CASE("gunzip matches the system gzip at several levels", "[io][inflate]") {
  test::TempDir dir;
  REQUIRE(dir.ok());
  if (!test::PresentOrSkip(test::RunShell("gzip --version > /dev/null 2>&1"),
                           "a runnable `gzip` (Debian: gzip), for the system gzip round trips")) {
    return;
  }
  std::mt19937_64 rng(test::TestSeed());
  std::vector<std::vector<uint8_t>> inputs = {{},
                                              test::Bytes("hello, gzip"),
                                              test::RandomInts<uint8_t>(rng, 100000, 0, 255),
                                              std::vector<uint8_t>(1 << 20, 7)};
  std::vector<uint8_t> text;
  while (text.size() < 300000) {
    const std::vector<uint8_t> line = BlobText();
    text.insert(text.end(), line.begin(), line.begin() + long(rng() % line.size()));
    text.push_back(uint8_t(rng() % 256));
  }
  inputs.push_back(text);
  for (size_t i = 0; i < inputs.size(); i++) {
    const std::string in = dir.Write("in" + std::to_string(i), inputs[i]);
    for (int level : {1, 6, 9}) {
      INFO("input " << i << " (" << inputs[i].size() << " bytes), gzip -" << level);
      const std::string out = dir.File("in" + std::to_string(i) + "_" + std::to_string(level));
      REQUIRE(test::RunShell("gzip -" + std::to_string(level) + " -c " + in + " > " + out));
      const std::vector<uint8_t> gz = test::ReadAll(out);
      REQUIRE(gz.size() >= 18);
      auto got = Gunzip(gz);
      REQUIRE(got.ok());
      CHECK(got.value() == inputs[i]);
    }
  }
}

TEST_CASE("gunzip reads optional header fields", "[io][inflate]") {
  const std::vector<uint8_t> data = test::Bytes("payload");
  const std::vector<uint8_t> deflated = test::DeflateFixed(data);
  test::GzipOptions opt;
  opt.name = "file.idx";
  opt.comment = "a comment";
  opt.extra = std::string("\x01\x02\x00\x04", 4);
  opt.header_crc = true;
  std::vector<uint8_t> gz = GzipWrap(deflated, data, opt);
  auto got = Gunzip(gz);
  REQUIRE(got.ok());
  CHECK(got.value() == data);

  // A wrong header CRC, and each field cut short.
  const size_t hcrc_at = 10 + 2 + 4 + 9 + 10;
  gz[hcrc_at] ^= 1;
  QF_REQUIRE_ERROR(Gunzip(gz), StatusCode::kDataLoss, "header CRC mismatch");
  gz[hcrc_at] ^= 1;
  for (size_t cut = 0; cut < hcrc_at + 2; cut++) {
    INFO("cut at " << cut);
    REQUIRE_FALSE(Gunzip(std::vector<uint8_t>(gz.begin(), gz.begin() + long(cut))).ok());
  }
}

TEST_CASE("gunzip rejects foreign and malformed headers", "[io][inflate]") {
  QF_REQUIRE_ERROR(Gunzip({}), StatusCode::kDataLoss, "empty input");
  QF_REQUIRE_ERROR(Gunzip(test::Bytes("plain text, not gzip")), StatusCode::kDataLoss, "bad magic");
  std::vector<uint8_t> gz = kBlobGz;
  gz[2] = 7;
  QF_REQUIRE_ERROR(Gunzip(gz), StatusCode::kDataLoss, "compression method 7");
  gz = kBlobGz;
  gz[3] = 0x20;
  QF_REQUIRE_ERROR(Gunzip(gz), StatusCode::kDataLoss, "reserved gzip header flags");
  QF_REQUIRE_ERROR(Gunzip({0x1f, 0x8b, 8, 0, 0}), StatusCode::kDataLoss,
                   "truncated gzip header: 10 bytes needed, found 5");
  gz = kBlobGz;
  gz[3] = 0x08;  // FNAME, but no terminating zero anywhere after the header
  gz.resize(12);
  gz[10] = 'a';
  gz[11] = 'b';
  QF_REQUIRE_ERROR(Gunzip(gz), StatusCode::kDataLoss, "unterminated file name");
}

TEST_CASE("gunzip rejects malformed deflate blocks", "[io][inflate]") {
  auto wrap = [](BitWriter& w) { return GzipWrap(w.Finish(), {}); };
  {
    BitWriter w;
    w.Bits(1, 1);
    w.Bits(3, 2);
    QF_REQUIRE_ERROR(Gunzip(wrap(w)), StatusCode::kDataLoss, "invalid deflate block type 3");
  }
  {
    BitWriter w;
    w.Bits(1, 1);
    w.Bits(0, 2);
    for (uint8_t b : {5, 0, 0, 0}) w.Byte(b);
    QF_REQUIRE_ERROR(Gunzip(wrap(w)), StatusCode::kDataLoss, "does not match its complement");
  }
  {
    BitWriter w;
    w.Bits(1, 1);
    w.Bits(0, 2);
    for (uint8_t b : {100, 0, 155, 255}) w.Byte(b);
    for (int i = 0; i < 10; i++) w.Byte(0);
    QF_REQUIRE_ERROR(Gunzip(wrap(w)), StatusCode::kDataLoss,
                     "truncated stored block: 100 bytes needed, found 18");
  }
  {
    BitWriter w;  // 'a', then a copy from 2 bytes back
    w.Bits(1, 1);
    w.Bits(1, 2);
    test::FixedLiteral(w, 'a');
    test::FixedMatch(w, 3, 2);
    test::FixedLiteral(w, 256);
    QF_REQUIRE_ERROR(Gunzip(wrap(w)), StatusCode::kDataLoss,
                     "distance 2 reaches before the start of the data (1 bytes decoded)");
  }
  {
    BitWriter w;
    w.Bits(1, 1);
    w.Bits(1, 2);
    test::FixedLiteral(w, 286);
    QF_REQUIRE_ERROR(Gunzip(wrap(w)), StatusCode::kDataLoss, "invalid length symbol 286");
  }
  {
    BitWriter w;
    w.Bits(1, 1);
    w.Bits(1, 2);
    test::FixedLiteral(w, 'a');
    test::FixedLiteral(w, 257);
    w.Code(30, 5);
    QF_REQUIRE_ERROR(Gunzip(wrap(w)), StatusCode::kDataLoss, "invalid distance symbol 30");
  }
  {
    BitWriter w;
    w.Bits(1, 1);
    w.Bits(2, 2);
    w.Bits(30, 5);  // 287 literal/length codes
    w.Bits(0, 5);
    w.Bits(0, 4);
    QF_REQUIRE_ERROR(Gunzip(wrap(w)), StatusCode::kDataLoss, "declares 287 literal/length");
  }
}

// A dynamic block header whose code-length code is given by (symbol, length) pairs.
void ClHeader(BitWriter& w, int nlit, int ndist, std::vector<std::pair<int, int>> cl) {
  static const int order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
  int lengths[19] = {};
  for (auto [sym, len] : cl) lengths[sym] = len;
  w.Bits(1, 1);
  w.Bits(2, 2);
  w.Bits(uint32_t(nlit - 257), 5);
  w.Bits(uint32_t(ndist - 1), 5);
  w.Bits(19 - 4, 4);
  for (int i = 0; i < 19; i++) w.Bits(uint32_t(lengths[order[i]]), 3);
}

TEST_CASE("gunzip rejects malformed Huffman codes", "[io][inflate]") {
  auto wrap = [](BitWriter& w) { return GzipWrap(w.Finish(), {}); };
  {
    BitWriter w;  // three code-length codes of length 1
    ClHeader(w, 257, 1, {{0, 1}, {1, 1}, {2, 1}});
    QF_REQUIRE_ERROR(Gunzip(wrap(w)), StatusCode::kDataLoss,
                     "over-subscribed Huffman code lengths (code-length code)");
  }
  {
    BitWriter w;  // a single code-length code: incomplete, not allowed there
    ClHeader(w, 257, 1, {{0, 1}});
    QF_REQUIRE_ERROR(Gunzip(wrap(w)), StatusCode::kDataLoss,
                     "incomplete Huffman code lengths (code-length code)");
  }
  {
    BitWriter w;  // codes: 0 -> length 0, 1 -> symbol 16 (repeat previous)
    ClHeader(w, 257, 1, {{0, 1}, {16, 1}});
    w.Code(1, 1);
    w.Bits(0, 2);
    QF_REQUIRE_ERROR(Gunzip(wrap(w)), StatusCode::kDataLoss,
                     "length repeat with no previous length");
  }
  {
    BitWriter w;  // two runs of 138 zeros for 258 lengths
    ClHeader(w, 257, 1, {{0, 1}, {18, 1}});
    for (int k = 0; k < 2; k++) {
      w.Code(1, 1);
      w.Bits(127, 7);
    }
    QF_REQUIRE_ERROR(Gunzip(wrap(w)), StatusCode::kDataLoss,
                     "repeat runs past the declared code count");
  }
  std::vector<uint8_t> lit(257, 0), dist = {1};
  {
    BitWriter w;
    lit[0] = lit[1] = 1;
    test::DynamicHeaderPlain(w, true, lit, dist);
    QF_REQUIRE_ERROR(Gunzip(wrap(w)), StatusCode::kDataLoss, "no end-of-block code");
  }
  {
    BitWriter w;
    lit.assign(257, 0);
    lit[0] = lit[256] = 2;
    test::DynamicHeaderPlain(w, true, lit, dist);
    QF_REQUIRE_ERROR(Gunzip(wrap(w)), StatusCode::kDataLoss,
                     "incomplete Huffman code lengths (literal/length code)");
  }
  {
    BitWriter w;
    lit.assign(257, 0);
    lit[0] = lit[1] = lit[256] = 1;
    test::DynamicHeaderPlain(w, true, lit, dist);
    QF_REQUIRE_ERROR(Gunzip(wrap(w)), StatusCode::kDataLoss,
                     "over-subscribed Huffman code lengths (literal/length code)");
  }
  {
    BitWriter w;  // distance code with two codes of length 2: incomplete
    lit.assign(257, 0);
    lit[0] = lit[256] = 1;
    test::DynamicHeaderPlain(w, true, lit, {2, 2});
    QF_REQUIRE_ERROR(Gunzip(wrap(w)), StatusCode::kDataLoss,
                     "incomplete Huffman code lengths (distance code)");
  }
  // A single literal/length code (end-of-block) is accepted; the unused bit pattern is not.
  lit.assign(257, 0);
  lit[256] = 1;
  for (int bit : {0, 1}) {
    BitWriter w;
    test::DynamicHeaderPlain(w, true, lit, {0});
    w.Bits(bit, 1);
    if (bit == 0) {
      auto got = Gunzip(wrap(w));
      REQUIRE(got.ok());
      CHECK(got.value().empty());
    } else {
      QF_REQUIRE_ERROR(Gunzip(wrap(w)), StatusCode::kDataLoss, "invalid literal/length code");
    }
  }
  {
    BitWriter w;  // a length symbol with no distance codes at all
    lit.assign(258, 0);
    lit[256] = lit[257] = 1;
    test::DynamicHeaderPlain(w, true, lit, {0});
    w.Code(1, 1);  // symbol 257: length 3, no extra bits; then a distance
    QF_REQUIRE_ERROR(Gunzip(wrap(w)), StatusCode::kDataLoss, "invalid distance code");
  }
}

TEST_CASE("gunzip checks the trailer and what follows it", "[io][inflate]") {
  std::vector<uint8_t> gz = kBlobGz;
  gz[gz.size() - 8] ^= 0x40;
  QF_REQUIRE_ERROR(Gunzip(gz), StatusCode::kDataLoss, "CRC-32 mismatch");
  gz = kBlobGz;
  gz[gz.size() - 4] ^= 1;
  QF_REQUIRE_ERROR(Gunzip(gz), StatusCode::kDataLoss,
                   "length mismatch: 1710 bytes decoded, trailer says 1711");
  gz = kBlobGz;
  gz.insert(gz.end(), {'x', 'y', 'z'});
  QF_REQUIRE_ERROR(Gunzip(gz), StatusCode::kDataLoss,
                   "3 bytes after the end of the gzip data are not another gzip member");
  gz = kBlobGz;
  gz.insert(gz.end(), 4, 0);
  QF_REQUIRE_ERROR(Gunzip(gz), StatusCode::kDataLoss, "not another gzip member");

  // A second member may not reach back into the first one's output.
  BitWriter w;
  w.Bits(1, 1);
  w.Bits(1, 2);
  test::FixedMatch(w, 3, 1);
  test::FixedLiteral(w, 256);
  gz = kBlobGz;
  const std::vector<uint8_t> second = GzipWrap(w.Finish(), {0, 0, 0});
  gz.insert(gz.end(), second.begin(), second.end());
  QF_REQUIRE_ERROR(Gunzip(gz), StatusCode::kDataLoss, "reaches before the start");
}

TEST_CASE("gunzip stops at the output limit", "[io][inflate]") {
  const std::vector<uint8_t> zeros(1 << 20, 0);
  const std::vector<uint8_t> fixed = GzipWrap(test::DeflateFixed(zeros), zeros);
  CHECK(fixed.size() < 10000);  // a small input that expands 100-fold
  QF_REQUIRE_ERROR(Gunzip(fixed, 50000), StatusCode::kResourceExhausted,
                   "exceeds the limit of 50000 bytes");
  auto exact = Gunzip(fixed, zeros.size());
  REQUIRE(exact.ok());
  CHECK(exact.value() == zeros);
  const std::vector<uint8_t> text = BlobText();
  QF_REQUIRE_ERROR(Gunzip(GzipWrap(test::DeflateStored(text), text), text.size() - 1),
                   StatusCode::kResourceExhausted, "limit");
  QF_REQUIRE_ERROR(Gunzip(kBlobGz, 100), StatusCode::kResourceExhausted, "limit");
  // A trailer that lies about the size does not make the decoder reserve it.
  std::vector<uint8_t> lie = GzipWrap(test::DeflateStored({1}), {1});
  for (int k = 1; k <= 4; k++) lie[lie.size() - k] = 0xff;
  QF_REQUIRE_ERROR(Gunzip(lie), StatusCode::kDataLoss, "length mismatch");
}

TEST_CASE("gunzip fails cleanly on every truncation", "[io][inflate]") {
  const std::vector<uint8_t> data = BlobText();
  for (const std::vector<uint8_t>& gz : {kBlobGz, GzipWrap(test::DeflateFixed(data), data),
                                         GzipWrap(test::DeflateStored(data, 500), data)}) {
    for (size_t n = 0; n < gz.size(); n++) {
      INFO("prefix of " << n << " of " << gz.size() << " bytes");
      auto got = Gunzip(std::vector<uint8_t>(gz.begin(), gz.begin() + long(n)));
      REQUIRE_FALSE(got.ok());
      CHECK(got.status().code() == StatusCode::kDataLoss);
    }
  }
}

TEST_CASE("gunzip never crashes on corrupted bytes", "[io][inflate]") {
  const std::vector<uint8_t> want = BlobText();
  for (const std::vector<uint8_t>& original : {kBlobGz, GzipWrap(test::DeflateFixed(want), want)}) {
    size_t errors = 0, flips = 0;
    for (size_t i = 0; i < original.size(); i++) {
      for (int bit = 0; bit < 8; bit++) {
        std::vector<uint8_t> gz = original;
        gz[i] ^= uint8_t(1 << bit);
        auto got = Gunzip(gz, 1 << 20);
        flips++;
        if (!got.ok()) {
          errors++;
        } else {
          // Only bits nothing checks may flip unnoticed: MTIME, XFL, OS, the padding
          // after the last block.
          INFO("byte " << i << " bit " << bit);
          CHECK(got.value() == want);
        }
      }
    }
    // Most flips must be caught (some may only pick another, equal, earlier copy).
    INFO(errors << " of " << flips << " flips detected");
    CHECK(errors * 10 >= flips * 9);
  }

  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 3000; trial++) {
    std::vector<uint8_t> gz = test::RandomInts<uint8_t>(rng, 10 + rng() % 200, 0, 255);
    gz[0] = 0x1f;
    gz[1] = 0x8b;
    gz[2] = 8;
    gz[3] = 0;
    auto got = Gunzip(gz, 1 << 16);
    if (got.ok()) CHECK(got.value().size() <= (1u << 16));
  }
}

}  // namespace
}  // namespace qf::io
