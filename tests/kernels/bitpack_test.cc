// 4-bit and 2-bit pack/unpack: hand-computed bytes, every registered variant against the
// reference over all tail lengths, round trips, guard bytes after every output, and the
// loader's range check.
#include "kernels/bitpack/bitpack.h"

#include <cstring>
#include <vector>

#include "test_util.h"

namespace qf::kernels {
namespace {

// memcmp of n bytes, which must not see the null data() of an empty vector even for n = 0.
bool SameBytes(const void* a, const void* b, size_t n) {
  return n == 0 || std::memcmp(a, b, n) == 0;
}

using test::Guarded;

constexpr uint8_t kPackedSentinel = 0xA5;
constexpr int8_t kCodeSentinel = 0x5A;

// The reference of a stored width.
BitPackFn RefPack(int width) { return width == 4 ? qf_bitpack_pack4__ref : qf_bitpack_pack2__ref; }
BitUnpackFn RefUnpack(int width) {
  return width == 4 ? qf_bitpack_unpack4__ref : qf_bitpack_unpack2__ref;
}

std::vector<size_t> Lengths() {
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 70; n++) lengths.push_back(n);
  for (size_t n : {127, 128, 129, 1000, 4096, 4097}) lengths.push_back(n);
  return lengths;
}

enum class Fill { kRandom, kExtremes, kMin, kMax, kMinusOne };

std::vector<int8_t> MakeCodes(std::mt19937_64& rng, size_t n, int width, Fill fill) {
  const int lo = -(1 << (width - 1)), hi = (1 << (width - 1)) - 1;
  std::vector<int8_t> codes = test::RandomInts<int8_t>(rng, n, lo, hi);
  for (auto& c : codes) {
    switch (fill) {
      case Fill::kRandom:
        break;
      case Fill::kExtremes:
        c = int8_t((rng() & 1) ? hi : lo);
        break;
      case Fill::kMin:
        c = int8_t(lo);
        break;
      case Fill::kMax:
        c = int8_t(hi);
        break;
      case Fill::kMinusOne:
        c = -1;
        break;
    }
  }
  return codes;
}

struct Example {
  int width;
  std::vector<int8_t> codes;
  std::vector<uint8_t> bytes;
};

TEST_CASE("bitpack variants produce hand-computed bytes", "[kernels][bitpack]") {
  const Example examples[] = {
      {4, {-8, 7}, {0x78}},               // 0x8 low, 0x7 high
      {4, {1, -2, 5, -7}, {0xE1, 0x95}},  // -2 = 0xE, -7 = 0x9
      {4, {-1, 0, 3}, {0x0F, 0x03}},      // odd count: high field of the last byte 0
      {2, {1, -2, -1, 0}, {0x39}},        // 01 | 10 << 2 | 11 << 4 | 00 << 6 = 0b00111001
      {2, {-2, -2, -2, -2, 1}, {0xAA, 0x01}},
      {2, {-1, -1, -1}, {0x3F}},  // fourth field zero
  };
  for (const Example& ex : examples) {
    const size_t n = ex.codes.size(), bytes = ex.bytes.size();
    INFO("width " << ex.width << " n " << n);
    REQUIRE(PackedBytes(n, ex.width) == bytes);
    for (const BitPackKernel& kernel : BitPackKernels()) {
      if (kernel.bits != ex.width) continue;
      INFO(kernel.name);
      Guarded<uint8_t> packed(1, bytes, bytes + 8, kPackedSentinel);
      kernel.fn(n, ex.codes.data(), packed.data());
      CHECK(SameBytes(packed.data(), ex.bytes.data(), bytes));
      CHECK(packed.Untouched());
    }
    for (const BitUnpackKernel& kernel : BitUnpackKernels()) {
      if (kernel.bits != ex.width) continue;
      INFO(kernel.name);
      Guarded<int8_t> codes(1, n, n + 8, kCodeSentinel);
      kernel.fn(n, ex.bytes.data(), codes.data());
      CHECK(SameBytes(codes.data(), ex.codes.data(), n));
      CHECK(codes.Untouched());
    }
  }
}

TEST_CASE("bitpack reference leaves trailing fields zero and sign-extends", "[kernels][bitpack]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  for (int width : {4, 2}) {
    const size_t per_byte = size_t(8 / width);
    for (size_t n = 1; n <= 9; n++) {
      INFO("width " << width << " n " << n);
      const std::vector<int8_t> codes = MakeCodes(rng, n, width, Fill::kMinusOne);  // all ones
      std::vector<uint8_t> packed(PackedBytes(n, width));
      RefPack(width)(n, codes.data(), packed.data());
      const size_t used_bits = (n - 1) % per_byte * width + width;  // in the last byte
      CHECK(int(packed.back()) == (1 << used_bits) - 1);
      // Every byte value unpacks to its fields, sign-extended.
      for (int byte = 0; byte < 256; byte++) {
        const uint8_t b = uint8_t(byte);
        int8_t out[4];
        RefUnpack(width)(per_byte, &b, out);
        for (size_t j = 0; j < per_byte; j++) {
          const int field = (byte >> (j * width)) & ((1 << width) - 1);
          const int want = field >= (1 << (width - 1)) ? field - (1 << width) : field;
          REQUIRE(int(out[j]) == want);
        }
      }
    }
  }
}

TEST_CASE("bitpack variants match the reference over all tails", "[kernels][bitpack]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  for (size_t n : Lengths()) {
    for (int width : {4, 2}) {
      const size_t bytes = PackedBytes(n, width);
      // Inputs start 3 elements into their buffer: no variant may assume alignment.
      constexpr size_t kOffset = 3;
      for (Fill fill : {Fill::kRandom, Fill::kExtremes, Fill::kMin, Fill::kMax}) {
        INFO("width " << width << " n " << n << " fill " << int(fill));
        std::vector<int8_t> codes(kOffset);
        const std::vector<int8_t> fresh = MakeCodes(rng, n, width, fill);
        codes.insert(codes.end(), fresh.begin(), fresh.end());
        std::vector<uint8_t> want(bytes);
        RefPack(width)(n, codes.data() + kOffset, want.data());
        for (const BitPackKernel& kernel : BitPackKernels()) {
          if (kernel.bits != width) continue;
          INFO(kernel.name);
          Guarded<uint8_t> got(1, bytes, bytes + 8, kPackedSentinel);
          kernel.fn(n, codes.data() + kOffset, got.data());
          REQUIRE(SameBytes(got.data(), want.data(), bytes));
          REQUIRE(got.Untouched());
        }
      }
      // Unpack of arbitrary bytes, nonzero trailing fields included.
      INFO("width " << width << " n " << n << " random bytes");
      std::vector<uint8_t> packed = test::RandomInts<uint8_t>(rng, kOffset + bytes, 0, 255);
      std::vector<int8_t> want(n);
      RefUnpack(width)(n, packed.data() + kOffset, want.data());
      for (const BitUnpackKernel& kernel : BitUnpackKernels()) {
        if (kernel.bits != width) continue;
        INFO(kernel.name);
        Guarded<int8_t> got(1, n, n + 8, kCodeSentinel);
        kernel.fn(n, packed.data() + kOffset, got.data());
        REQUIRE(SameBytes(got.data(), want.data(), n));
        REQUIRE(got.Untouched());
      }
    }
  }
}

TEST_CASE("bitpack round trips restore the codes", "[kernels][bitpack]") {
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  for (size_t n : Lengths()) {
    for (int width : {4, 2}) {
      for (Fill fill : {Fill::kRandom, Fill::kExtremes}) {
        const std::vector<int8_t> codes = MakeCodes(rng, n, width, fill);
        const size_t bytes = PackedBytes(n, width);
        // Every pack variant with every unpack variant: they share one format.
        for (const BitPackKernel& pack : BitPackKernels()) {
          if (pack.bits != width) continue;
          std::vector<uint8_t> packed(bytes);
          pack.fn(n, codes.data(), packed.data());
          for (const BitUnpackKernel& unpack : BitUnpackKernels()) {
            if (unpack.bits != width) continue;
            INFO(pack.name << " -> " << unpack.name << " n " << n << " fill " << int(fill));
            Guarded<int8_t> got(1, n, n + 8, kCodeSentinel);
            unpack.fn(n, packed.data(), got.data());
            REQUIRE(SameBytes(got.data(), codes.data(), n));
            REQUIRE(got.Untouched());
          }
        }
      }
    }
  }
}

TEST_CASE("bitpack variants store the low bits of out-of-range codes", "[kernels][bitpack]") {
  // A caller bug, documented rather than checked: the fast variants agree with the
  // reference applied to the codes wrapped into range (the reference itself QF_DCHECKs).
  const uint64_t seed = test::TestSeed();
  INFO("seed " << seed << " (replay with QF_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  for (size_t n : {1, 31, 32, 33, 63, 64, 65, 1000}) {
    for (int width : {4, 2}) {
      INFO("width " << width << " n " << n);
      const std::vector<int8_t> raw = test::RandomInts<int8_t>(rng, n, -128, 127);
      std::vector<int8_t> wrapped(n);
      const int shift = 8 - width;
      // Shift as unsigned: a left shift of a negative value is undefined before C++20.
      for (size_t i = 0; i < n; i++) {
        wrapped[i] = int8_t(int8_t(uint8_t(uint8_t(raw[i]) << shift)) >> shift);
      }
      std::vector<uint8_t> want(PackedBytes(n, width));
      RefPack(width)(n, wrapped.data(), want.data());
      for (const BitPackKernel& kernel : BitPackKernels()) {
        if (kernel.bits != width || kernel.isa == Isa::kRef) continue;
        INFO(kernel.name);
        std::vector<uint8_t> got(want.size());
        kernel.fn(n, raw.data(), got.data());
        REQUIRE(got == want);
      }
    }
  }
}

TEST_CASE("bitpack sizes, range check and dispatch", "[kernels][bitpack]") {
  CHECK(StorageBits(2) == 2);
  CHECK(StorageBits(3) == 4);
  CHECK(StorageBits(4) == 4);
  CHECK(StorageBits(8) == 8);
  CHECK(StorageBits(5) == 0);
  CHECK(PackedBytes(0, 4) == 0);
  CHECK(PackedBytes(1, 4) == 1);
  CHECK(PackedBytes(7, 3) == 4);
  CHECK(PackedBytes(8, 4) == 4);
  CHECK(PackedBytes(1, 2) == 1);
  CHECK(PackedBytes(4, 2) == 1);
  CHECK(PackedBytes(5, 2) == 2);
  CHECK(PackedBytes(5, 8) == 5);
  CHECK(PackedBytes(5, 1) == 0);

  for (int bits : {2, 3, 4, 8}) {
    INFO("bits " << bits);
    const int lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
    std::vector<int8_t> codes;
    for (int c = lo; c <= hi; c++) codes.push_back(int8_t(c));
    CHECK(CodesInRange(codes.data(), codes.size(), bits));
    CHECK(CodesInRange(codes.data(), 0, bits));
    if (bits < 8) {
      for (int bad : {lo - 1, hi + 1, -128, 127}) {
        INFO("bad code " << bad);
        std::vector<int8_t> with_bad = codes;
        with_bad.insert(with_bad.begin() + 1, int8_t(bad));
        CHECK_FALSE(CodesInRange(with_bad.data(), with_bad.size(), bits));
        with_bad.erase(with_bad.begin() + 1);
        with_bad.push_back(int8_t(bad));  // last position
        CHECK_FALSE(CodesInRange(with_bad.data(), with_bad.size(), bits));
      }
    }
  }
  const int8_t zero = 0;
  for (int bits : {-1, 0, 1, 5, 7, 9, 16}) CHECK_FALSE(CodesInRange(&zero, 1, bits));

  CHECK(BitPackFor(Isa::kRef, 4) == qf_bitpack_pack4__ref);
  CHECK(BitUnpackFor(Isa::kRef, 2) == qf_bitpack_unpack2__ref);
  CHECK(BitPackFor(Isa::kScalar, 3) == qf_bitpack_pack4__scalar);
  CHECK(BitUnpackFor(Isa::kScalar, 3) == qf_bitpack_unpack4__scalar);
#if defined(QF_HAVE_WASMSIMD)
  CHECK(BitPackFor(Isa::kWasmSimd, 2) == qf_bitpack_pack2__wasmsimd);
  CHECK(BitUnpackFor(Isa::kWasmSimd, 4) == qf_bitpack_unpack4__wasmsimd);
#else
  CHECK(BitPackFor(Isa::kWasmSimd, 2) == qf_bitpack_pack2__scalar);
  CHECK(BitUnpackFor(Isa::kWasmSimd, 4) == qf_bitpack_unpack4__scalar);
#endif
  for (int bits : {1, 5, 8}) {
    CHECK(BitPackFor(BestIsa(), bits) == nullptr);
    CHECK(BitUnpackFor(BestIsa(), bits) == nullptr);
  }
}

}  // namespace
}  // namespace qf::kernels
