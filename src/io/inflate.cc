// gzip / deflate decoder: a bit reader that never reads past the input, canonical Huffman
// tables with a 10-bit lookup and a slow path for longer codes, and the three block types
// of RFC 1951. Not a streaming decoder: input and output are whole buffers in memory.
#include "io/inflate.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>

namespace qf::io {
namespace {

// ---- CRC-32 -------------------------------------------------------------------------

struct CrcTable {
  uint32_t entry[256] = {};
  constexpr CrcTable() {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      entry[i] = c;
    }
  }
};
constexpr CrcTable kCrcTable;

// ---- deflate constants (RFC 1951 section 3.2.5) --------------------------------------

constexpr int kMaxBits = 15;     // longest Huffman code
constexpr int kFastBits = 10;    // codes up to this length decode with one table lookup
constexpr int kMaxLitLen = 288;  // literal/length alphabet (286, 287 never valid)
constexpr int kMaxDist = 32;     // distance alphabet (30, 31 never valid)
constexpr uint16_t kLenBase[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                   31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr uint8_t kLenExtra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                   2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr uint16_t kDistBase[30] = {1,    2,    3,    4,    5,    7,    9,    13,    17,    25,
                                    33,   49,   65,   97,   129,  193,  257,  385,   513,   769,
                                    1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
constexpr uint8_t kDistExtra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                    6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
// Order in which a dynamic block sends the code-length code's lengths.
constexpr uint8_t kClOrder[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

// ---- bit reader ---------------------------------------------------------------------

// LSB-first bit reader over [data, data + size). Past the end it feeds zero bytes and
// counts them, so decoding never reads out of range; Overran() tells whether any of those
// made-up bits were consumed (the stream is truncated).
class BitReader {
 public:
  BitReader(const uint8_t* data, size_t size, size_t pos) : data_(data), size_(size), pos_(pos) {}

  // Leaves at least 57 bits in the buffer.
  void Refill() {
    while (count_ <= 56) {
      uint64_t byte = 0;
      if (pos_ < size_) {
        byte = data_[pos_++];
      } else {
        overrun_++;
      }
      buf_ |= byte << count_;
      count_ += 8;
    }
  }
  // The next n <= 32 bits, without consuming them (call Refill first).
  uint32_t Peek(int n) const { return uint32_t(buf_ & ((uint64_t(1) << n) - 1)); }
  void Drop(int n) {
    buf_ >>= n;
    count_ -= n;
  }
  uint32_t Bits(int n) {
    Refill();
    const uint32_t v = Peek(n);
    Drop(n);
    return v;
  }
  bool Overran() const { return count_ < 8 * overrun_; }
  void AlignToByte() { Drop(count_ & 7); }
  // Offset of the next unread input byte; only meaningful byte-aligned and !Overran().
  size_t BytePos() const { return pos_ - (count_ / 8 - overrun_); }
  // Offset of the byte holding the next unread bit (for error messages).
  size_t ErrorPos() const {
    const size_t consumed_bits = (pos_ + overrun_) * 8 - count_;
    return consumed_bits / 8;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_;
  uint64_t buf_ = 0;
  size_t count_ = 0;    // valid bits in buf_, real and made-up
  size_t overrun_ = 0;  // made-up zero bytes appended past the end
};

// ---- canonical Huffman codes ---------------------------------------------------------

struct Huffman {
  uint16_t count[kMaxBits + 1];   // number of codes of each length
  uint16_t symbol[kMaxLitLen];    // symbols in canonical code order
  uint16_t fast[1 << kFastBits];  // (length << 9) | symbol by the next kFastBits bits; 0 = slow
};

uint32_t ReverseBits(uint32_t code, int len) {
  uint32_t r = 0;
  for (int i = 0; i < len; i++) {
    r = (r << 1) | (code & 1);
    code >>= 1;
  }
  return r;
}

// Builds the decoding tables for code lengths[0..n). Returns nullptr, or what is wrong.
// An over-subscribed set is always an error. An incomplete one is accepted only when
// `allow_single` and it is a single code of length 1 (RFC 1951 allows one distance code;
// zlib accepts the same for literal/length codes). A set with no codes at all builds,
// and any attempt to decode with it fails.
const char* BuildHuffman(Huffman* h, const uint8_t* lengths, int n, bool allow_single) {
  for (int len = 0; len <= kMaxBits; len++) h->count[len] = 0;
  for (int s = 0; s < n; s++) h->count[lengths[s]]++;
  const int codes = n - h->count[0];
  h->count[0] = 0;
  int left = 1;
  for (int len = 1; len <= kMaxBits; len++) {
    left = 2 * left - h->count[len];
    if (left < 0) return "over-subscribed Huffman code lengths";
  }
  if (left > 0 && codes > 0 && !(allow_single && codes == 1 && h->count[1] == 1)) {
    return "incomplete Huffman code lengths";
  }
  uint16_t offset[kMaxBits + 2];
  offset[1] = 0;
  for (int len = 1; len <= kMaxBits; len++) offset[len + 1] = offset[len] + h->count[len];
  for (int s = 0; s < n; s++) {
    if (lengths[s] != 0) h->symbol[offset[lengths[s]]++] = uint16_t(s);
  }
  for (auto& e : h->fast) e = 0;
  uint32_t code = 0;
  int index = 0;
  for (int len = 1; len <= kFastBits; len++) {
    for (int i = 0; i < h->count[len]; i++, index++, code++) {
      const uint16_t entry = uint16_t((len << 9) | h->symbol[index]);
      for (uint32_t r = ReverseBits(code, len); r < (1u << kFastBits); r += 1u << len) {
        h->fast[r] = entry;
      }
    }
    code <<= 1;
  }
  return nullptr;
}

// Next symbol, or -1 for a bit pattern that is no code.
int Decode(BitReader& br, const Huffman& h) {
  br.Refill();
  const uint16_t e = h.fast[br.Peek(kFastBits)];
  if (e != 0) {
    br.Drop(e >> 9);
    return e & 511;
  }
  // Canonical walk, one bit at a time (codes are sent most significant bit first).
  const uint32_t bits = br.Peek(kMaxBits);
  int code = 0, first = 0, index = 0;
  for (int len = 1; len <= kMaxBits; len++) {
    code |= int((bits >> (len - 1)) & 1);
    const int count = h.count[len];
    if (code - first < count) {
      br.Drop(len);
      return h.symbol[index + (code - first)];
    }
    index += count;
    first = (first + count) << 1;
    code <<= 1;
  }
  return -1;
}

// ---- the decoder ---------------------------------------------------------------------

class Inflater {
 public:
  Inflater(const uint8_t* data, size_t size, size_t max_output, std::vector<uint8_t>* out)
      : data_(data), size_(size), max_output_(max_output), out_(*out) {}

  // Decodes one gzip member starting at *pos and advances *pos past it.
  Status Member(size_t* pos) {
    const size_t start = *pos;
    size_t p = start;
    if (size_ - p < 10) return Error(p, "truncated gzip header: 10 bytes needed", size_ - p);
    if (data_[p] != 0x1f || data_[p + 1] != 0x8b) return Error(p, "not a gzip stream (bad magic)");
    if (data_[p + 2] != 8) {
      return Error(p + 2, "unknown compression method " + std::to_string(data_[p + 2]) +
                              " (gzip only defines 8, deflate)");
    }
    const uint8_t flags = data_[p + 3];
    if (flags & 0xe0) return Error(p + 3, "reserved gzip header flags set");
    p += 10;
    if (flags & 0x04) {  // FEXTRA
      if (size_ - p < 2) return Error(p, "truncated gzip extra field", size_ - p);
      const size_t xlen = data_[p] | size_t(data_[p + 1]) << 8;
      p += 2;
      if (size_ - p < xlen) return Error(p, "truncated gzip extra field", size_ - p);
      p += xlen;
    }
    for (uint8_t flag : {uint8_t(0x08), uint8_t(0x10)}) {  // FNAME, FCOMMENT: zero-terminated
      if (!(flags & flag)) continue;
      while (p < size_ && data_[p] != 0) p++;
      if (p == size_) return Error(p, "truncated gzip header (unterminated file name or comment)");
      p++;
    }
    if (flags & 0x02) {  // FHCRC: low 16 bits of the CRC-32 of the header so far
      if (size_ - p < 2) return Error(p, "truncated gzip header CRC", size_ - p);
      const uint32_t want = data_[p] | uint32_t(data_[p + 1]) << 8;
      if ((Crc32(data_ + start, p - start) & 0xffff) != want) {
        return Error(p, "gzip header CRC mismatch");
      }
      p += 2;
    }

    member_start_ = out_.size();
    BitReader br(data_, size_, p);
    QF_RETURN_IF_ERROR(Deflate(br));
    br.AlignToByte();
    if (br.Overran()) return Error(size_, "truncated deflate stream");
    p = br.BytePos();
    if (size_ - p < 8) return Error(p, "truncated gzip trailer: 8 bytes needed", size_ - p);
    const uint32_t want_crc = LoadLe32(data_ + p), want_size = LoadLe32(data_ + p + 4);
    const size_t n = out_.size() - member_start_;
    const uint32_t crc = Crc32(out_.data() + member_start_, n);
    if (crc != want_crc) {
      return Error(p,
                   "CRC-32 mismatch: data gives " + Hex(crc) + ", trailer says " + Hex(want_crc));
    }
    if (uint32_t(n) != want_size) {
      return Error(p + 4, "length mismatch: " + std::to_string(n) +
                              " bytes decoded, trailer says " + std::to_string(want_size) +
                              " (mod 2^32)");
    }
    *pos = p + 8;
    return OkStatus();
  }

 private:
  static uint32_t LoadLe32(const uint8_t* b) {
    return b[0] | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
  }
  static std::string Hex(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", unsigned(v));
    return buf;
  }
  static Status Error(size_t offset, const std::string& what) {
    return DataLoss("gzip: byte " + std::to_string(offset) + ": " + what);
  }
  static Status Error(size_t offset, const std::string& what, size_t found) {
    return Error(offset, what + ", found " + std::to_string(found));
  }
  Status TooBig() const {
    return ResourceExhausted("gzip: decompressed data exceeds the limit of " +
                             std::to_string(max_output_) + " bytes");
  }

  Status Deflate(BitReader& br) {
    bool last = false;
    while (!last) {
      last = br.Bits(1) != 0;
      const uint32_t type = br.Bits(2);
      if (br.Overran()) return Error(size_, "truncated deflate stream (in a block header)");
      switch (type) {
        case 0:
          QF_RETURN_IF_ERROR(Stored(br));
          break;
        case 1:
          QF_RETURN_IF_ERROR(Fixed(br));
          break;
        case 2:
          QF_RETURN_IF_ERROR(Dynamic(br));
          break;
        default:
          return Error(br.ErrorPos(), "invalid deflate block type 3");
      }
    }
    return OkStatus();
  }

  Status Stored(BitReader& br) {
    br.AlignToByte();
    const uint32_t len = br.Bits(16), nlen = br.Bits(16);
    if (br.Overran()) return Error(size_, "truncated stored block header");
    if (len != (~nlen & 0xffff)) {
      return Error(br.ErrorPos(),
                   "stored block length " + std::to_string(len) + " does not match its complement");
    }
    const size_t p = br.BytePos();
    if (size_ - p < len) {
      return Error(p, "truncated stored block: " + std::to_string(len) + " bytes needed",
                   size_ - p);
    }
    if (len > max_output_ - out_.size()) return TooBig();
    out_.insert(out_.end(), data_ + p, data_ + p + len);
    br = BitReader(data_, size_, p + len);
    return OkStatus();
  }

  Status Fixed(BitReader& br) {
    if (!fixed_built_) {
      uint8_t lengths[kMaxLitLen];
      for (int s = 0; s < kMaxLitLen; s++) lengths[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
      QF_CHECK(BuildHuffman(&fixed_lit_, lengths, kMaxLitLen, false) == nullptr);
      for (int s = 0; s < kMaxDist; s++) lengths[s] = 5;
      QF_CHECK(BuildHuffman(&fixed_dist_, lengths, kMaxDist, false) == nullptr);
      fixed_built_ = true;
    }
    return Codes(br, fixed_lit_, fixed_dist_);
  }

  Status Dynamic(BitReader& br) {
    const int nlit = int(br.Bits(5)) + 257, ndist = int(br.Bits(5)) + 1;
    const int ncl = int(br.Bits(4)) + 4;
    if (br.Overran()) return Error(size_, "truncated dynamic block header");
    if (nlit > 286 || ndist > 30) {
      return Error(br.ErrorPos(), "dynamic block declares " + std::to_string(nlit) +
                                      " literal/length and " + std::to_string(ndist) +
                                      " distance codes (at most 286 and 30)");
    }
    uint8_t lengths[286 + 30] = {};
    for (int i = 0; i < ncl; i++) lengths[kClOrder[i]] = uint8_t(br.Bits(3));
    if (br.Overran()) return Error(size_, "truncated dynamic block header");
    if (const char* err = BuildHuffman(&lit_, lengths, 19, false)) {
      return Error(br.ErrorPos(), std::string(err) + " (code-length code)");
    }
    int index = 0;
    while (index < nlit + ndist) {
      const int sym = Decode(br, lit_);
      if (br.Overran()) return Error(size_, "truncated dynamic block header");
      if (sym < 0) return Error(br.ErrorPos(), "invalid code in the code-length sequence");
      if (sym < 16) {
        lengths[index++] = uint8_t(sym);
        continue;
      }
      uint8_t value = 0;
      int repeat;
      if (sym == 16) {
        if (index == 0) return Error(br.ErrorPos(), "length repeat with no previous length");
        value = lengths[index - 1];
        repeat = 3 + int(br.Bits(2));
      } else if (sym == 17) {
        repeat = 3 + int(br.Bits(3));
      } else {
        repeat = 11 + int(br.Bits(7));
      }
      if (index + repeat > nlit + ndist) {
        return Error(br.ErrorPos(), "code-length repeat runs past the declared code count");
      }
      while (repeat-- > 0) lengths[index++] = value;
    }
    if (br.Overran()) return Error(size_, "truncated dynamic block header");
    if (lengths[256] == 0) return Error(br.ErrorPos(), "dynamic block has no end-of-block code");
    if (const char* err = BuildHuffman(&lit_, lengths, nlit, true)) {
      return Error(br.ErrorPos(), std::string(err) + " (literal/length code)");
    }
    if (const char* err = BuildHuffman(&dist_, lengths + nlit, ndist, true)) {
      return Error(br.ErrorPos(), std::string(err) + " (distance code)");
    }
    return Codes(br, lit_, dist_);
  }

  // Decodes literal/length and distance symbols up to the end-of-block code.
  Status Codes(BitReader& br, const Huffman& lit, const Huffman& dist) {
    for (;;) {
      int sym = Decode(br, lit);
      if (br.Overran()) return Error(size_, "truncated deflate stream (in compressed data)");
      if (sym < 0) return Error(br.ErrorPos(), "invalid literal/length code");
      if (sym < 256) {
        if (out_.size() >= max_output_) return TooBig();
        out_.push_back(uint8_t(sym));
        continue;
      }
      if (sym == 256) return OkStatus();
      sym -= 257;
      if (sym >= 29)
        return Error(br.ErrorPos(), "invalid length symbol " + std::to_string(sym + 257));
      const size_t len = kLenBase[sym] + br.Bits(kLenExtra[sym]);
      const int dsym = Decode(br, dist);
      if (dsym < 0) return Error(br.ErrorPos(), "invalid distance code");
      if (dsym >= 30)
        return Error(br.ErrorPos(), "invalid distance symbol " + std::to_string(dsym));
      const size_t distance = kDistBase[dsym] + br.Bits(kDistExtra[dsym]);
      if (br.Overran()) return Error(size_, "truncated deflate stream (in compressed data)");
      const size_t have = out_.size() - member_start_;
      if (distance > have) {
        return Error(br.ErrorPos(), "distance " + std::to_string(distance) +
                                        " reaches before the start of the data (" +
                                        std::to_string(have) + " bytes decoded)");
      }
      if (len > max_output_ - out_.size()) return TooBig();
      const size_t at = out_.size();
      out_.resize(at + len);
      uint8_t* o = out_.data();
      // Byte by byte: the source may overlap the bytes being written (distance < len).
      for (size_t i = 0; i < len; i++) o[at + i] = o[at - distance + i];
    }
  }

  const uint8_t* data_;
  size_t size_;
  size_t max_output_;
  std::vector<uint8_t>& out_;
  size_t member_start_ = 0;
  bool fixed_built_ = false;
  Huffman fixed_lit_, fixed_dist_, lit_, dist_;
};

}  // namespace

uint32_t Crc32(const uint8_t* data, size_t size, uint32_t crc) {
  crc = ~crc;
  for (size_t i = 0; i < size; i++) crc = kCrcTable.entry[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

bool LooksGzipped(const uint8_t* bytes, size_t size) {
  return size >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

StatusOr<std::vector<uint8_t>> Gunzip(const uint8_t* bytes, size_t size, size_t max_output) {
  if (size == 0) return DataLoss("gzip: empty input");
  std::vector<uint8_t> out;
  // The last member's trailer holds its size mod 2^32: a reservation hint, bounded by the
  // caller's limit and by deflate's best ratio (about 1032:1), so lies cannot waste memory.
  if (size >= 18) {
    const size_t isize = bytes[size - 4] | size_t(bytes[size - 3]) << 8 |
                         size_t(bytes[size - 2]) << 16 | size_t(bytes[size - 1]) << 24;
    const size_t ratio_cap = size > SIZE_MAX / 1032 ? SIZE_MAX : size * 1032;
    out.reserve(std::min(std::min(isize, max_output), ratio_cap));
  }
  Inflater inflater(bytes, size, max_output, &out);
  size_t pos = 0;
  QF_RETURN_IF_ERROR(inflater.Member(&pos));
  while (pos < size) {
    if (!LooksGzipped(bytes + pos, size - pos)) {
      return DataLoss("gzip: byte " + std::to_string(pos) + ": " + std::to_string(size - pos) +
                      " bytes after the end of the gzip data are not another gzip member");
    }
    QF_RETURN_IF_ERROR(inflater.Member(&pos));
  }
  return out;
}

}  // namespace qf::io
