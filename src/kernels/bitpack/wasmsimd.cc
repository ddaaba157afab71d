// WebAssembly SIMD128 pack/unpack, 16 packed bytes per step (32 4-bit or 64 2-bit
// codes); the remaining codes, whole bytes and the partial last one, go through the
// scalar variant, which writes the same bytes.
//
// Unpack: each field is moved to the top of its int8 lane (i8x16.shl) and shifted back
// arithmetically (i8x16.shr_s), which sign-extends it; shuffles then interleave the
// per-field vectors into code order. Pack: fields are masked to their width, merged
// inside wider lanes by shifts (each lane's low byte ends up holding one packed byte),
// and those low bytes are gathered with a shuffle. Unaligned loads and stores throughout.
#include <wasm_simd128.h>

#include "kernels/bitpack/bitpack.h"

namespace qf::kernels {

void qf_bitpack_pack4__wasmsimd(size_t n, const int8_t* codes, uint8_t* packed) {
  const v128_t mask = wasm_i8x16_splat(0x0F);
  size_t i = 0;  // codes done; packed bytes done = i / 2
  for (; i + 32 <= n; i += 32) {
    // Per u16 lane: low byte code 2j, high byte code 2j+1, both masked to 4 bits; or-ing
    // in the lane shifted right by 4 puts code 2j+1 into bits 4..7 of the low byte.
    const v128_t lo = wasm_v128_and(wasm_v128_load(codes + i), mask);
    const v128_t hi = wasm_v128_and(wasm_v128_load(codes + i + 16), mask);
    const v128_t lo_merged = wasm_v128_or(lo, wasm_u16x8_shr(lo, 4));
    const v128_t hi_merged = wasm_v128_or(hi, wasm_u16x8_shr(hi, 4));
    wasm_v128_store(packed + i / 2, wasm_i8x16_shuffle(lo_merged, hi_merged, 0, 2, 4, 6, 8, 10, 12,
                                                       14, 16, 18, 20, 22, 24, 26, 28, 30));
  }
  qf_bitpack_pack4__scalar(n - i, codes + i, packed + i / 2);
}

void qf_bitpack_unpack4__wasmsimd(size_t n, const uint8_t* packed, int8_t* codes) {
  size_t i = 0;  // codes done
  for (; i + 32 <= n; i += 32) {
    const v128_t bytes = wasm_v128_load(packed + i / 2);
    const v128_t even = wasm_i8x16_shr(wasm_i8x16_shl(bytes, 4), 4);  // codes 2j
    const v128_t odd = wasm_i8x16_shr(bytes, 4);                      // codes 2j+1
    wasm_v128_store(codes + i, wasm_i8x16_shuffle(even, odd, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5,
                                                  21, 6, 22, 7, 23));
    wasm_v128_store(codes + i + 16, wasm_i8x16_shuffle(even, odd, 8, 24, 9, 25, 10, 26, 11, 27, 12,
                                                       28, 13, 29, 14, 30, 15, 31));
  }
  qf_bitpack_unpack4__scalar(n - i, packed + i / 2, codes + i);
}

void qf_bitpack_pack2__wasmsimd(size_t n, const int8_t* codes, uint8_t* packed) {
  const v128_t mask = wasm_i8x16_splat(0x03);
  // Per u32 lane holding codes 4j..4j+3 in bytes 0..3, masked to 2 bits: x | x >> 6 puts
  // code 4j+1 next to 4j in bits 0..3 and 4j+3 next to 4j+2 in bits 16..19; y | y >> 12
  // then brings the latter to bits 4..7. Every other bit of the low byte is zero.
  auto merge = [&](const int8_t* p) {
    const v128_t x = wasm_v128_and(wasm_v128_load(p), mask);
    const v128_t y = wasm_v128_or(x, wasm_u32x4_shr(x, 6));
    return wasm_v128_or(y, wasm_u32x4_shr(y, 12));
  };
  size_t i = 0;  // codes done; packed bytes done = i / 4
  for (; i + 64 <= n; i += 64) {
    const v128_t q01 = wasm_i8x16_shuffle(merge(codes + i), merge(codes + i + 16), 0, 4, 8, 12, 16,
                                          20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0);
    const v128_t q23 = wasm_i8x16_shuffle(merge(codes + i + 32), merge(codes + i + 48), 0, 4, 8, 12,
                                          16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0);
    wasm_v128_store(packed + i / 4, wasm_i64x2_shuffle(q01, q23, 0, 2));
  }
  qf_bitpack_pack2__scalar(n - i, codes + i, packed + i / 4);
}

void qf_bitpack_unpack2__wasmsimd(size_t n, const uint8_t* packed, int8_t* codes) {
  size_t i = 0;  // codes done
  for (; i + 64 <= n; i += 64) {
    const v128_t bytes = wasm_v128_load(packed + i / 4);
    const v128_t f0 = wasm_i8x16_shr(wasm_i8x16_shl(bytes, 6), 6);  // codes 4j
    const v128_t f1 = wasm_i8x16_shr(wasm_i8x16_shl(bytes, 4), 6);  // codes 4j+1
    const v128_t f2 = wasm_i8x16_shr(wasm_i8x16_shl(bytes, 2), 6);  // codes 4j+2
    const v128_t f3 = wasm_i8x16_shr(bytes, 6);                     // codes 4j+3
    // Pairs (4j, 4j+1) and (4j+2, 4j+3) as int16 lanes, then the pairs interleaved.
    const v128_t p01_lo =
        wasm_i8x16_shuffle(f0, f1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const v128_t p01_hi =
        wasm_i8x16_shuffle(f0, f1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const v128_t p23_lo =
        wasm_i8x16_shuffle(f2, f3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const v128_t p23_hi =
        wasm_i8x16_shuffle(f2, f3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    wasm_v128_store(codes + i, wasm_i16x8_shuffle(p01_lo, p23_lo, 0, 8, 1, 9, 2, 10, 3, 11));
    wasm_v128_store(codes + i + 16, wasm_i16x8_shuffle(p01_lo, p23_lo, 4, 12, 5, 13, 6, 14, 7, 15));
    wasm_v128_store(codes + i + 32, wasm_i16x8_shuffle(p01_hi, p23_hi, 0, 8, 1, 9, 2, 10, 3, 11));
    wasm_v128_store(codes + i + 48, wasm_i16x8_shuffle(p01_hi, p23_hi, 4, 12, 5, 13, 6, 14, 7, 15));
  }
  qf_bitpack_unpack2__scalar(n - i, packed + i / 4, codes + i);
}

}  // namespace qf::kernels
