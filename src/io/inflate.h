// gzip decompression (RFC 1952 container around RFC 1951 deflate) and CRC-32, written for
// qforget so that the native and both wasm builds read .gz files identically without zlib.
// A decoder only: there is no compressor here, and no zlib-format (RFC 1950) streams.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/status.h"

namespace qf::io {

// CRC-32 (ISO-HDLC: the polynomial of gzip, zip and PNG) of `size` bytes, continued from
// `crc` (0 to start). Crc32("123456789") == 0xCBF43926.
uint32_t Crc32(const uint8_t* data, size_t size, uint32_t crc = 0);

// Decompresses a whole gzip file held in memory: one member or several concatenated ones
// (their outputs are concatenated, as `gzip -d` does). `bytes` is only read, never kept;
// the result is a new buffer the caller owns. Sizes are in bytes.
//
// Every input is bounds-checked: corrupted, truncated or foreign bytes give DataLoss with
// what was wrong and where (byte offset in the input), never a crash or an out-of-range
// access. Each member's CRC-32 and length (ISIZE) trailer and the optional header CRC are
// verified. Bytes after the last member that are not another member are an error.
// More than `max_output` decompressed bytes give ResourceExhausted (a decompression bomb
// cannot exhaust memory).
StatusOr<std::vector<uint8_t>> Gunzip(const uint8_t* bytes, size_t size, size_t max_output);

// True when `bytes` start with the gzip magic 0x1f 0x8b.
bool LooksGzipped(const uint8_t* bytes, size_t size);

}  // namespace qf::io
