// Portable pack/unpack, one packed byte per step: whole bytes first, then the partial
// last byte. No intrinsics; what native and no-SIMD wasm builds run.
#include "kernels/bitpack/bitpack.h"

namespace qf::kernels {

void qf_bitpack_pack4__scalar(size_t n, const int8_t* codes, uint8_t* packed) {
  const size_t full = n / 2;
  for (size_t i = 0; i < full; i++) {
    packed[i] = uint8_t((codes[2 * i] & 0xF) | (codes[2 * i + 1] & 0xF) << 4);
  }
  if (n % 2) packed[full] = uint8_t(codes[2 * full] & 0xF);  // high field zero
}

void qf_bitpack_unpack4__scalar(size_t n, const uint8_t* packed, int8_t* codes) {
  // A field moved to the top of an int8 and shifted back arithmetically is sign-extended.
  const size_t full = n / 2;
  for (size_t i = 0; i < full; i++) {
    const uint8_t byte = packed[i];
    codes[2 * i] = int8_t(int8_t(byte << 4) >> 4);
    codes[2 * i + 1] = int8_t(int8_t(byte) >> 4);
  }
  if (n % 2) codes[2 * full] = int8_t(int8_t(packed[full] << 4) >> 4);
}

void qf_bitpack_pack2__scalar(size_t n, const int8_t* codes, uint8_t* packed) {
  const size_t full = n / 4;
  for (size_t i = 0; i < full; i++) {
    const int8_t* c = codes + 4 * i;
    packed[i] = uint8_t((c[0] & 3) | (c[1] & 3) << 2 | (c[2] & 3) << 4 | (c[3] & 3) << 6);
  }
  const size_t rest = n % 4;
  if (rest) {
    unsigned byte = 0;  // fields past code n-1 stay zero
    for (size_t j = 0; j < rest; j++) byte |= unsigned(codes[4 * full + j] & 3) << (2 * j);
    packed[full] = uint8_t(byte);
  }
}

void qf_bitpack_unpack2__scalar(size_t n, const uint8_t* packed, int8_t* codes) {
  const size_t full = n / 4;
  for (size_t i = 0; i < full; i++) {
    const uint8_t byte = packed[i];
    int8_t* c = codes + 4 * i;
    c[0] = int8_t(int8_t(byte << 6) >> 6);
    c[1] = int8_t(int8_t(byte << 4) >> 6);
    c[2] = int8_t(int8_t(byte << 2) >> 6);
    c[3] = int8_t(int8_t(byte) >> 6);
  }
  for (size_t j = 0; j < n % 4; j++) {
    codes[4 * full + j] = int8_t(int8_t(packed[full] << (6 - 2 * j)) >> 6);
  }
}

}  // namespace qf::kernels
