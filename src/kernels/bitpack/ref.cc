// Reference pack/unpack: the numeric specification of bitpack.h, one code at a time.
// Also CodesInRange, the loader's check (one version serves every build).
#include "core/check.h"
#include "kernels/bitpack/bitpack.h"

namespace qf::kernels {
namespace {

// Code i sits in byte i / per_byte at bit (i % per_byte) * width.
template <int kWidth>
void Pack(size_t n, const int8_t* codes, uint8_t* packed) {
  constexpr size_t kPerByte = 8 / kWidth;
  constexpr unsigned kMask = (1u << kWidth) - 1;
  const size_t bytes = n / kPerByte + (n % kPerByte != 0 ? 1 : 0);
  for (size_t i = 0; i < bytes; i++) packed[i] = 0;
  for (size_t i = 0; i < n; i++) {
    QF_DCHECK(codes[i] >= -(1 << (kWidth - 1)) && codes[i] < (1 << (kWidth - 1)));
    const unsigned field = unsigned(codes[i]) & kMask;  // two's complement low bits
    packed[i / kPerByte] = uint8_t(packed[i / kPerByte] | field << (i % kPerByte * kWidth));
  }
}

template <int kWidth>
void Unpack(size_t n, const uint8_t* packed, int8_t* codes) {
  constexpr size_t kPerByte = 8 / kWidth;
  constexpr int kHalf = 1 << (kWidth - 1);
  for (size_t i = 0; i < n; i++) {
    const int field = (packed[i / kPerByte] >> (i % kPerByte * kWidth)) & (2 * kHalf - 1);
    codes[i] = int8_t(field >= kHalf ? field - 2 * kHalf : field);  // sign-extend
  }
}

}  // namespace

void qf_bitpack_pack4__ref(size_t n, const int8_t* codes, uint8_t* packed) {
  Pack<4>(n, codes, packed);
}
void qf_bitpack_unpack4__ref(size_t n, const uint8_t* packed, int8_t* codes) {
  Unpack<4>(n, packed, codes);
}
void qf_bitpack_pack2__ref(size_t n, const int8_t* codes, uint8_t* packed) {
  Pack<2>(n, codes, packed);
}
void qf_bitpack_unpack2__ref(size_t n, const uint8_t* packed, int8_t* codes) {
  Unpack<2>(n, packed, codes);
}

bool CodesInRange(const int8_t* codes, size_t n, int bits) {
  if (bits != 2 && bits != 3 && bits != 4 && bits != 8) return false;
  const int lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
  for (size_t i = 0; i < n; i++) {
    if (codes[i] < lo || codes[i] > hi) return false;
  }
  return true;
}

}  // namespace qf::kernels
