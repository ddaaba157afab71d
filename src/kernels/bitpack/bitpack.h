// Pack and unpack of signed low-bit weight codes (int8, one code per element) to and from
// the bytes of the model file: 4-bit (also holds 3-bit codes) and 2-bit. Knows nothing of
// step sizes or layers; 8-bit codes are stored as they are and need no kernel.
//
// Layout (every variant, bit-exact), two's complement fields, little end first:
//   4-bit: codes in [-8, 7]; byte i = (code[2i] & 0xF) | (code[2i+1] & 0xF) << 4
//   2-bit: codes in [-2, 1]; byte i = sum over j < 4 of (code[4i+j] & 0x3) << 2j
// n codes take PackedBytes(n, bits) = ceil(n / codes per byte) bytes; the fields past
// code n-1 in the last byte are written as zero. Unpack sign-extends each field to int8
// and ignores those trailing fields. Counts (n) are in codes; sizes in bytes.
//
// Pack trusts its caller: codes outside the range of the width are a bug (the reference
// QF_DCHECKs; every variant stores the code's low bits). The model loader checks codes
// with CodesInRange before anything is packed or after anything is unpacked.
// Output buffers must not overlap the input. Variants write exactly the bytes or codes
// above, nothing before or after; they read nothing past the n codes or their bytes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/isa.h"

namespace qf::kernels {

// Bits per stored field for weights of `bits` bits: 2 -> 2, 3 and 4 -> 4, 8 -> 8; 0 for
// a width the engine does not support.
inline int StorageBits(int bits) {
  switch (bits) {
    case 2:
      return 2;
    case 3:
    case 4:
      return 4;
    case 8:
      return 8;
    default:
      return 0;
  }
}

// Bytes that n codes of `bits` bits occupy packed (0 for an unsupported width).
inline size_t PackedBytes(size_t n, int bits) {
  const int storage = StorageBits(bits);
  if (storage == 0) return 0;
  const size_t per_byte = size_t(8 / storage);
  return n / per_byte + (n % per_byte != 0 ? 1 : 0);
}

// True when every codes[0..n) lies in [-2^(bits-1), 2^(bits-1) - 1] and bits is 2, 3, 4
// or 8; false otherwise (including for any other width). n == 0 is in range.
bool CodesInRange(const int8_t* codes, size_t n, int bits);

// codes: n int8 codes; packed: PackedBytes(n, width) bytes.
using BitPackFn = void (*)(size_t n, const int8_t* codes, uint8_t* packed);
using BitUnpackFn = void (*)(size_t n, const uint8_t* packed, int8_t* codes);

void qf_bitpack_pack4__ref(size_t n, const int8_t* codes, uint8_t* packed);
void qf_bitpack_unpack4__ref(size_t n, const uint8_t* packed, int8_t* codes);
void qf_bitpack_pack2__ref(size_t n, const int8_t* codes, uint8_t* packed);
void qf_bitpack_unpack2__ref(size_t n, const uint8_t* packed, int8_t* codes);

void qf_bitpack_pack4__scalar(size_t n, const int8_t* codes, uint8_t* packed);
void qf_bitpack_unpack4__scalar(size_t n, const uint8_t* packed, int8_t* codes);
void qf_bitpack_pack2__scalar(size_t n, const int8_t* codes, uint8_t* packed);
void qf_bitpack_unpack2__scalar(size_t n, const uint8_t* packed, int8_t* codes);

#if defined(QF_HAVE_WASMSIMD)
void qf_bitpack_pack4__wasmsimd(size_t n, const int8_t* codes, uint8_t* packed);
void qf_bitpack_unpack4__wasmsimd(size_t n, const uint8_t* packed, int8_t* codes);
void qf_bitpack_pack2__wasmsimd(size_t n, const int8_t* codes, uint8_t* packed);
void qf_bitpack_unpack2__wasmsimd(size_t n, const uint8_t* packed, int8_t* codes);
#endif

// `bits` is the stored field width (4 or 2), not the weight width.
struct BitPackKernel {
  const char* name;
  Isa isa;
  uint8_t bits;
  BitPackFn fn;
};
struct BitUnpackKernel {
  const char* name;
  Isa isa;
  uint8_t bits;
  BitUnpackFn fn;
};

// Every variant compiled into this build, for tests and benchmarks.
Span<BitPackKernel> BitPackKernels();
Span<BitUnpackKernel> BitUnpackKernels();

// The variant of `isa` for weights of `bits` bits (2, 3 or 4; 3 uses the 4-bit format),
// falling back to Isa::kScalar when the build lacks that ISA. Null for any other width.
BitPackFn BitPackFor(Isa isa, int bits);
BitUnpackFn BitUnpackFor(Isa isa, int bits);

}  // namespace qf::kernels
