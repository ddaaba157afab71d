// Helpers for the io tests: a deflate *writer* just capable enough to produce test streams
// (stored blocks, the fixed Huffman code with a greedy matcher, hand-specified dynamic
// headers), a gzip wrapper, temp folders, and running the system `gzip`. Not a compressor
// for anything but tests.
#pragma once

#include <algorithm>
#include <array>
#include <catch.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>

#if defined(__EMSCRIPTEN__)
#include <emscripten.h>
#endif
#include <sys/stat.h>
#include <unistd.h>

#include "io/inflate.h"

namespace qf::test {

// LSB-first bit packing, as deflate stores its fields.
class BitWriter {
 public:
  void Bits(uint32_t v, int n) {
    for (int i = 0; i < n; i++) Bit((v >> i) & 1);
  }
  // A Huffman code: most significant bit first.
  void Code(uint32_t code, int len) {
    for (int i = len - 1; i >= 0; i--) Bit((code >> i) & 1);
  }
  void Align() {
    if (nbits_) {
      bytes_.push_back(cur_);
      cur_ = 0;
      nbits_ = 0;
    }
  }
  void Byte(uint8_t b) {
    Align();
    bytes_.push_back(b);
  }
  std::vector<uint8_t> Finish() {
    Align();
    return bytes_;
  }

 private:
  void Bit(uint32_t b) {
    cur_ = uint8_t(cur_ | (b << nbits_));
    if (++nbits_ == 8) {
      bytes_.push_back(cur_);
      cur_ = 0;
      nbits_ = 0;
    }
  }
  std::vector<uint8_t> bytes_;
  uint8_t cur_ = 0;
  int nbits_ = 0;
};

// Canonical codes (RFC 1951 3.2.2) for the given lengths; 0 = unused symbol.
inline std::vector<uint32_t> CanonicalCodes(const std::vector<uint8_t>& lengths) {
  uint32_t count[16] = {}, next[16] = {};
  for (uint8_t l : lengths) count[l]++;
  count[0] = 0;
  uint32_t code = 0;
  for (int bits = 1; bits < 16; bits++) {
    code = (code + count[bits - 1]) << 1;
    next[bits] = code;
  }
  std::vector<uint32_t> codes(lengths.size());
  for (size_t s = 0; s < lengths.size(); s++) {
    if (lengths[s]) codes[s] = next[lengths[s]]++;
  }
  return codes;
}

// Deflate's length and distance alphabets, written out again here independently of the
// decoder's tables.
inline void LengthSymbol(int len, int* sym, int* extra, int* extra_bits) {
  static const int base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                               31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
  static const int bits[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                               2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
  int i = 28;
  while (base[i] > len) i--;
  *sym = 257 + i;
  *extra = len - base[i];
  *extra_bits = bits[i];
}
inline void DistanceSymbol(int dist, int* sym, int* extra, int* extra_bits) {
  int i = 0, base = 1;
  // Codes come in pairs sharing an extra-bit count: 0,0,0,0,1,1,2,2,...
  for (;; i++) {
    const int bits = i < 4 ? 0 : (i - 2) / 2;
    if (dist < base + (1 << bits)) {
      *sym = i;
      *extra = dist - base;
      *extra_bits = bits;
      return;
    }
    base += 1 << bits;
  }
}

// Writes symbols with the fixed Huffman code.
inline void FixedLiteral(BitWriter& w, int sym) {
  if (sym < 144) {
    w.Code(0x30 + sym, 8);
  } else if (sym < 256) {
    w.Code(0x190 + sym - 144, 9);
  } else if (sym < 280) {
    w.Code(sym - 256, 7);
  } else {
    w.Code(0xC0 + sym - 280, 8);
  }
}
inline void FixedMatch(BitWriter& w, int len, int dist) {
  int sym, extra, bits;
  LengthSymbol(len, &sym, &extra, &bits);
  FixedLiteral(w, sym);
  w.Bits(extra, bits);
  DistanceSymbol(dist, &sym, &extra, &bits);
  w.Code(sym, 5);
  w.Bits(extra, bits);
}

// One fixed-Huffman block of data[begin, end) with greedy matches (3-byte hash, most
// recent position only) that may reach back to data[0].
inline void FixedBlock(BitWriter& w, const std::vector<uint8_t>& data, size_t begin, size_t end,
                       bool final) {
  w.Bits(final, 1);
  w.Bits(1, 2);
  std::unordered_map<uint32_t, size_t> last;
  auto key = [&](size_t i) { return uint32_t(data[i]) | data[i + 1] << 8 | data[i + 2] << 16; };
  for (size_t i = 0; i + 2 < begin; i++) last[key(i)] = i;
  size_t i = begin;
  while (i < end) {
    if (i + 2 < end) {
      auto it = last.find(key(i));
      const bool seen = it != last.end();
      const size_t from = seen ? it->second : 0;
      last[key(i)] = i;  // may rehash: `it` is not used past here
      if (seen && i - from <= 32768) {
        size_t len = 0;
        while (len < 258 && i + len < end && data[from + len] == data[i + len]) len++;
        if (len >= 3) {
          FixedMatch(w, int(len), int(i - from));
          for (size_t k = 1; k < len; k++) {
            if (i + k + 2 < end) last[key(i + k)] = i + k;
          }
          i += len;
          continue;
        }
      }
    }
    FixedLiteral(w, data[i]);
    i++;
  }
  FixedLiteral(w, 256);
}

inline void StoredBlock(BitWriter& w, const uint8_t* data, size_t n, bool final) {
  w.Bits(final, 1);
  w.Bits(0, 2);
  w.Align();
  w.Byte(uint8_t(n));
  w.Byte(uint8_t(n >> 8));
  w.Byte(uint8_t(~n));
  w.Byte(uint8_t(~n >> 8));
  for (size_t i = 0; i < n; i++) w.Byte(data[i]);
}

// Raw deflate of `data` as stored blocks of at most `block` bytes (at least one block).
inline std::vector<uint8_t> DeflateStored(const std::vector<uint8_t>& data, size_t block = 65535) {
  BitWriter w;
  size_t at = 0;
  do {
    const size_t n = std::min(block, data.size() - at);
    StoredBlock(w, data.data() + at, n, at + n == data.size());
    at += n;
  } while (at < data.size());
  return w.Finish();
}

// Raw deflate of `data` as fixed-Huffman blocks of at most `block` bytes.
inline std::vector<uint8_t> DeflateFixed(const std::vector<uint8_t>& data, size_t block = size_t(1)
                                                                                          << 30) {
  BitWriter w;
  size_t at = 0;
  do {
    const size_t n = std::min(block, data.size() - at);
    FixedBlock(w, data, at, at + n, at + n == data.size());
    at += n;
  } while (at < data.size());
  return w.Finish();
}

// Header of a dynamic block whose code lengths are sent one by one with the code-length
// code that gives symbols 0..15 four bits each (complete), 16..18 none.
inline void DynamicHeaderPlain(BitWriter& w, bool final, const std::vector<uint8_t>& lit,
                               const std::vector<uint8_t>& dist) {
  w.Bits(final, 1);
  w.Bits(2, 2);
  w.Bits(uint32_t(lit.size() - 257), 5);
  w.Bits(uint32_t(dist.size() - 1), 5);
  w.Bits(19 - 4, 4);
  static const int order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
  for (int i = 0; i < 19; i++) w.Bits(order[i] < 16 ? 4 : 0, 3);
  for (uint8_t l : lit) w.Code(l, 4);
  for (uint8_t l : dist) w.Code(l, 4);
}

struct GzipOptions {
  std::string name, comment, extra;
  bool header_crc = false;
};

// A gzip member around a raw deflate stream of `original`.
inline std::vector<uint8_t> GzipWrap(const std::vector<uint8_t>& deflated,
                                     const std::vector<uint8_t>& original,
                                     const GzipOptions& opt = {}) {
  std::vector<uint8_t> g = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255};
  uint8_t flags = 0;
  if (!opt.extra.empty()) {
    flags |= 4;
    g.push_back(uint8_t(opt.extra.size()));
    g.push_back(uint8_t(opt.extra.size() >> 8));
    g.insert(g.end(), opt.extra.begin(), opt.extra.end());
  }
  if (!opt.name.empty()) {
    flags |= 8;
    g.insert(g.end(), opt.name.begin(), opt.name.end());
    g.push_back(0);
  }
  if (!opt.comment.empty()) {
    flags |= 16;
    g.insert(g.end(), opt.comment.begin(), opt.comment.end());
    g.push_back(0);
  }
  if (opt.header_crc) flags |= 2;
  g[3] = flags;
  if (opt.header_crc) {
    const uint32_t crc = io::Crc32(g.data(), g.size());
    g.push_back(uint8_t(crc));
    g.push_back(uint8_t(crc >> 8));
  }
  g.insert(g.end(), deflated.begin(), deflated.end());
  const uint32_t crc = io::Crc32(original.data(), original.size());
  const uint32_t n = uint32_t(original.size());
  for (uint32_t v : {crc, n}) {
    for (int k = 0; k < 4; k++) g.push_back(uint8_t(v >> (8 * k)));
  }
  return g;
}

inline std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

// Requires that a StatusOr failed with `code` and a message containing `needle`.
#define QF_REQUIRE_ERROR(expr, want_code, needle)                          \
  do {                                                                     \
    const auto& qf_result_ = (expr);                                       \
    REQUIRE_FALSE(qf_result_.ok());                                        \
    INFO("message: " << qf_result_.status().message());                    \
    CHECK(std::string(::qf::StatusCodeName(qf_result_.status().code())) == \
          ::qf::StatusCodeName(want_code));                                \
    CHECK_THAT(qf_result_.status().message(), Catch::Contains(needle));    \
  } while (0)

// ---- files -------------------------------------------------------------------------------

// A fresh folder under /tmp, removed with its files by the destructor.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/qf_io_test_XXXXXX";
    if (char* p = mkdtemp(tmpl)) path_ = p;
  }
  ~TempDir() {
    for (const std::string& f : files_) std::remove(f.c_str());
    if (!path_.empty()) rmdir(path_.c_str());
  }
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  // The path of `name` in the folder; the file is removed with the folder.
  std::string File(const std::string& name) {
    files_.push_back(path_ + "/" + name);
    return files_.back();
  }
  std::string Write(const std::string& name, const std::vector<uint8_t>& bytes) {
    const std::string p = File(name);
    std::FILE* f = std::fopen(p.c_str(), "wb");
    REQUIRE(f != nullptr);
    if (!bytes.empty()) REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
    std::fclose(f);
    return p;
  }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

inline std::vector<uint8_t> ReadAll(const std::string& path) {
  std::vector<uint8_t> out;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return out;
  uint8_t buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.insert(out.end(), buf, buf + n);
  std::fclose(f);
  return out;
}

// Runs a shell command; true when it exits with 0. Under wasm it goes through Node's
// child_process (the tests run in Node with NODERAWFS, so paths are the real ones).
inline bool RunShell(const std::string& command) {
#if defined(__EMSCRIPTEN__)
  return EM_ASM_INT(
             {
               try {
                 require('child_process').execSync(UTF8ToString($0), {stdio : 'ignore'});
                 return 0;
               } catch (e) {
                 return 1;
               }
             },
             command.c_str()) == 0;
#else
  return std::system(command.c_str()) == 0;
#endif
}

}  // namespace qf::test
