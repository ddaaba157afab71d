// JSON value and deterministic writer (ours), and the parser: RapidJSON's SAX reader
// (Debian's rapidjson-dev 1.1.0, header-only) feeding a builder that adds what the reader
// does not check (depth, duplicate keys, unpaired low surrogates, exact numbers) and turns
// its error codes into line/column messages. No pretty-printing, no streaming.
#include "core/json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

// RapidJSON's internal assertions stay on in release builds, like every QF_CHECK: a broken
// invariant in the library stops the program rather than reading past a buffer.
#define RAPIDJSON_ASSERT(x) QF_CHECK(x)
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

namespace qf {

// Lets the parser append members whose keys it has already checked for uniqueness,
// without Set()'s linear search per key.
struct JsonAccess {
  static Json::Object& Members(Json& j) { return j.object_; }
};

namespace {

constexpr double kMaxExactInt = 9007199254740992.0;  // 2^53
// The two-character escapes: \ followed by kEscapeLetters[i] stands for kEscapeBytes[i].
constexpr char kEscapeLetters[] = "\"\\/bfnrt";
constexpr char kEscapeBytes[] = "\"\\/\b\f\n\r\t";

// Length of the valid UTF-8 sequence at s[i..n), or 0 when it is not one (overlong forms,
// surrogates and code points past U+10FFFF are invalid). s[i] must be >= 0x80.
size_t Utf8SequenceLength(const unsigned char* s, size_t i, size_t n) {
  const unsigned char c = s[i];
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no UTF-16 surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // no overlong forms
    if (c == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
  } else {
    return 0;
  }
  if (n - i < len) return 0;
  if (s[i + 1] < lo || s[i + 1] > hi) return 0;
  for (size_t k = 2; k < len; k++) {
    if (s[i + k] < 0x80 || s[i + k] > 0xBF) return 0;
  }
  return len;
}

void DumpString(const std::string& s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  out->push_back('"');
  for (size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c >= 0x80) {
      const size_t len = Utf8SequenceLength(p, i, n);
      if (len == 0) {
        out->append("\xEF\xBF\xBD");  // U+FFFD for a byte that starts no valid sequence
        i++;
      } else {
        out->append(s, i, len);
        i += len;
      }
      continue;
    }
    i++;
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(char(c));
    } else if (c >= 0x20) {
      out->push_back(char(c));
    } else if (const char* e = c == 0 ? nullptr : std::strchr(kEscapeBytes, char(c))) {
      out->push_back('\\');  // \b \f \n \r \t
      out->push_back(kEscapeLetters[e - kEscapeBytes]);
    } else {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    }
  }
  out->push_back('"');
}

void DumpNumber(double v, std::string* out) {
  char buf[40];
  if (v == std::trunc(v) && std::fabs(v) <= kMaxExactInt) {
    if (v == 0 && std::signbit(v)) {
      out->append("-0");
      return;
    }
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  } else {
    for (int digits = 15; digits <= 17; digits++) {
      std::snprintf(buf, sizeof buf, "%.*g", digits, v);
      if (std::strtod(buf, nullptr) == v) break;
    }
  }
  out->append(buf);
}

// "string \"abc\"", "number 1.5", "array", ...: what a typed accessor found instead.
std::string Describe(const Json& v) {
  std::string s = JsonTypeName(v.type());
  if (v.is_array() || v.is_object() || v.is_null()) return s;
  std::string text = v.Dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return s + " " + text;
}

std::string Where(std::string_view where) {
  return where.empty() ? std::string("(root)") : std::string(where);
}

// ---- parsing ------------------------------------------------------------------------------

// "line L column C: " for byte offset `at` (1-based; the column counts bytes).
std::string Position(std::string_view text, size_t at) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < at && i < text.size(); i++) {
    if (text[i] == '\n') {
      line++;
      column = 1;
    } else {
      column++;
    }
  }
  return "line " + std::to_string(line) + " column " + std::to_string(column) + ": ";
}

// What is at byte offset `at`: "'x'", "byte 0x09" or "end of input".
std::string Found(std::string_view text, size_t at) {
  if (at >= text.size()) return "end of input";
  const unsigned char c = static_cast<unsigned char>(text[at]);
  if (c >= 0x20 && c < 0x7F) return std::string("'") + char(c) + "'";
  char buf[16];
  std::snprintf(buf, sizeof buf, "byte 0x%02X", unsigned(c));
  return buf;
}

Status Fail(std::string_view text, size_t at, const std::string& what) {
  return InvalidArgument(Position(text, at) + what);
}

Status Expected(std::string_view text, size_t at, const std::string& what) {
  return Fail(text, at, "expected " + what + ", found " + Found(text, at));
}

Status ControlCharacter(std::string_view text, size_t at) {
  return Fail(text, at,
              "control character " + Found(text, at) +
                  " in a string (write it as an escape such as \\n or \\u001f)");
}

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The 4 hex digits at text[at..at+4) as a number, or -1 when they are not 4 hex digits.
long Hex4(std::string_view text, size_t at) {
  if (at > text.size() || text.size() - at < 4) return -1;
  long v = 0;
  for (size_t k = 0; k < 4; k++) {
    const char c = text[at + k];
    if (!IsHexDigit(c)) return -1;
    v = v * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return v;
}

// Offset of the opening quote of the string whose closing quote is at `close`: the nearest
// '"' before it that is not escaped (not preceded by an odd number of backslashes).
size_t OpeningQuote(std::string_view text, size_t close) {
  for (size_t p = close; p-- > 0;) {
    if (text[p] != '"') continue;
    size_t backslashes = 0;
    while (backslashes < p && text[p - 1 - backslashes] == '\\') backslashes++;
    if (backslashes % 2 == 0) return p;
  }
  return 0;
}

// RapidJSON 1.1.0 accepts a \uDC00..\uDFFF escape with no high surrogate before it and
// stores it as an encoded surrogate, which is not UTF-8: bytes ED A0..BF. (Raw ones are
// refused by the reader's UTF-8 validation; escaped pairs become 4-byte sequences.)
bool HasEncodedSurrogate(const char* s, size_t n) {
  for (size_t i = 0; i + 1 < n; i++) {
    if (static_cast<unsigned char>(s[i]) == 0xED && static_cast<unsigned char>(s[i + 1]) >= 0xA0) {
      return true;
    }
  }
  return false;
}

// The error for the first unpaired low surrogate escape in the string whose source is
// text[open..close] (the offsets of its quotes).
Status UnpairedLowSurrogate(std::string_view text, size_t open, size_t close) {
  for (size_t i = open + 1; i + 1 < close; i++) {
    if (text[i] != '\\') continue;
    if (text[i + 1] != 'u') {
      i++;  // a two-character escape: skip its letter, which may be a backslash
      continue;
    }
    const long cp = Hex4(text, i + 2);
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return Fail(text, i, "unpaired low surrogate \\u" + std::string(text.substr(i + 2, 4)));
    }
    i += cp >= 0xD800 && cp <= 0xDBFF ? 11 : 5;  // past the escape (and a high one's pair)
  }
  return Fail(text, open, "unpaired low surrogate in a string");
}

// The number at text[at..]: -?digits(.digits)?([eE][+-]?digits)?, as the reader took it.
std::string NumberText(std::string_view text, size_t at) {
  size_t end = at;
  auto digits = [&] {
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') end++;
  };
  if (end < text.size() && text[end] == '-') end++;
  digits();
  if (end < text.size() && text[end] == '.') {
    end++;
    digits();
  }
  if (end < text.size() && (text[end] == 'e' || text[end] == 'E')) {
    end++;
    if (end < text.size() && (text[end] == '+' || text[end] == '-')) end++;
    digits();
  }
  return std::string(text.substr(at, end - at));
}

// RapidJSON ends a number after a leading '0' and then stumbles on the next digit: when the
// error at `at` is such a digit, the start of that number ('-' included), else npos.
size_t LeadingZeroNumber(std::string_view text, size_t at) {
  if (at == 0 || at >= text.size() || text[at] < '0' || text[at] > '9' || text[at - 1] != '0') {
    return std::string_view::npos;
  }
  return at >= 2 && text[at - 2] == '-' ? at - 2 : at - 1;
}

// Turns a RapidJSON error code and offset into this file's messages. RapidJSON reports
// some errors at the start of an escape or after a partial literal; those are moved to the
// offending hex digit or low surrogate, or to the literal's first letter.
Status SyntaxError(std::string_view text, rapidjson::ParseErrorCode code, size_t at) {
  switch (code) {
    case rapidjson::kParseErrorDocumentEmpty:
      return Expected(text, at, "a value");
    case rapidjson::kParseErrorValueInvalid: {
      if (at > 0 && text[at - 1] == '-') return Expected(text, at, "a digit");
      size_t word = at;  // after "nul" or "tru": back to the literal's first letter
      while (word > 0 && text[word - 1] >= 'a' && text[word - 1] <= 'z') word--;
      if (word == at) return Expected(text, at, "a value");
      return Expected(text, word,
                      text[word] == 't'   ? "'true'"
                      : text[word] == 'f' ? "'false'"
                                          : "'null'");
    }
    case rapidjson::kParseErrorDocumentRootNotSingular:
    case rapidjson::kParseErrorArrayMissCommaOrSquareBracket:
    case rapidjson::kParseErrorObjectMissCommaOrCurlyBracket: {
      const size_t number = LeadingZeroNumber(text, at);
      if (number != std::string_view::npos) {
        return Fail(text, number, "leading zeros are not allowed in numbers");
      }
      if (code == rapidjson::kParseErrorDocumentRootNotSingular) {
        return Expected(text, at, "end of input after the JSON value");
      }
      if (code == rapidjson::kParseErrorArrayMissCommaOrSquareBracket) {
        return Expected(text, at, "',' or ']' after an array element");
      }
      return Expected(text, at, "',' or '}' after an object member");
    }
    case rapidjson::kParseErrorObjectMissName:
      return Expected(text, at, "a string key");
    case rapidjson::kParseErrorObjectMissColon:
      return Expected(text, at, "':' after an object key");
    case rapidjson::kParseErrorStringUnicodeEscapeInvalidHex: {
      // `at` is the \u escape; the bad digit may be in the low surrogate's \u after it.
      size_t digit = at + 2;
      if (Hex4(text, digit) >= 0 && text.substr(at + 6, 2) == "\\u") digit = at + 8;
      while (digit < text.size() && IsHexDigit(text[digit])) digit++;
      return Expected(text, digit, "4 hex digits after \\u");
    }
    case rapidjson::kParseErrorStringUnicodeSurrogateInvalid: {
      const std::string high(text.substr(at + 2, 4));
      if (text.substr(at + 6, 2) == "\\u") {
        return Fail(text, at + 6, "expected a low surrogate (\\uDC00..\\uDFFF) after \\u" + high);
      }
      return Fail(text, at, "high surrogate \\u" + high + " not followed by a \\u low surrogate");
    }
    case rapidjson::kParseErrorStringEscapeInvalid:
      if (text[at] != '\\') return ControlCharacter(text, at);
      if (at + 1 == text.size()) return Expected(text, at + 1, "an escape character after '\\'");
      return Fail(text, at,
                  "invalid escape '\\" + std::string(1, text[at + 1]) +
                      "' (allowed: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
    case rapidjson::kParseErrorStringMissQuotationMark:
      // Not the end of the input: a NUL byte, which the reader takes for one.
      if (at < text.size()) return ControlCharacter(text, at);
      return Expected(text, at, "'\"' to close the string");
    case rapidjson::kParseErrorStringInvalidEncoding:
      return Fail(text, at, "invalid UTF-8 in a string at " + Found(text, at));
    case rapidjson::kParseErrorNumberTooBig:  // `at` is the number's start
      return Fail(text, at, "number " + NumberText(text, at) + " is out of the range of a double");
    case rapidjson::kParseErrorNumberMissFraction:
      return Expected(text, at, "a digit after the decimal point");
    case rapidjson::kParseErrorNumberMissExponent:
      return Expected(text, at, "a digit in the exponent");
    default:  // comments and the handler's own stops are handled elsewhere
      return Fail(text, at, "invalid JSON (RapidJSON error " + std::to_string(int(code)) + ")");
  }
}

// RapidJSON's SAX handler: builds the Json value, with the checks RapidJSON does not make.
// Containers being filled wait on frames_; a finished value goes to its parent or root_.
// Returning false stops the reader; error_ then says why.
class Builder {
 public:
  Builder(std::string_view text, const rapidjson::MemoryStream& in, int max_depth)
      : text_(text), in_(in), max_depth_(max_depth) {}

  bool Null() { return Add(Json::Null()); }
  bool Bool(bool b) { return Add(Json::Bool(b)); }
  // kParseNumbersAsStringsFlag: every number arrives here as its text, already checked
  // against the grammar; strtod converts it exactly ("-0" stays negative) and RapidJSON's
  // own conversion (CVE-2024-38517, unpatched in 1.1.0) never runs.
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    char* end = nullptr;
    const double v = std::strtod(s, &end);
    QF_CHECK(end == s + n);
    if (!std::isfinite(v)) {
      return Stop(Fail(text_, in_.Tell() - n,
                       "number " + std::string(s, n) + " is out of the range of a double"));
    }
    return Add(Json::Number(v));
  }
  bool Int(int) { return NotRaw(); }
  bool Uint(unsigned) { return NotRaw(); }
  bool Int64(int64_t) { return NotRaw(); }
  bool Uint64(uint64_t) { return NotRaw(); }
  bool Double(double) { return NotRaw(); }

  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (!CheckSurrogates(s, n)) return false;
    return Add(Json::String(std::string(s, n)));
  }

  bool StartObject() { return Open(Json::MakeObject()); }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (!CheckSurrogates(s, n)) return false;
    Frame& f = frames_.back();
    f.key.assign(s, n);
    const Json::Object& members = JsonAccess::Members(f.value);
    bool duplicate = false;
    if (members.size() < 16) {
      for (const Json::Member& m : members) duplicate = duplicate || m.first == f.key;
    } else {
      if (f.seen.empty()) {
        for (const Json::Member& m : members) f.seen.insert(m.first);
      }
      duplicate = !f.seen.insert(f.key).second;
    }
    if (duplicate) {
      std::string shown;
      DumpString(f.key, &shown);
      return Stop(Fail(text_, OpeningQuote(text_, in_.Tell() - 1), "duplicate key " + shown));
    }
    return true;
  }
  bool EndObject(rapidjson::SizeType) { return Close(); }
  bool StartArray() { return Open(Json::MakeArray()); }
  bool EndArray(rapidjson::SizeType) { return Close(); }

  Json& root() { return root_; }
  const Status& error() const { return error_; }

 private:
  struct Frame {
    Json value;                            // the array or object being filled
    std::string key;                       // objects: the key of the value to come
    std::unordered_set<std::string> seen;  // objects: keys, once there are many members
  };

  bool Stop(Status error) {
    error_ = std::move(error);
    return false;
  }
  bool NotRaw() {
    QF_CHECK(false);  // numbers come through RawNumber
    return false;
  }

  // Called with the opening bracket still next in the input (the iterative reader takes
  // it after the call).
  bool Open(Json container) {
    if (int(frames_.size()) >= max_depth_) {
      return Stop(
          Fail(text_, in_.Tell(), "nesting deeper than " + std::to_string(max_depth_) + " levels"));
    }
    frames_.push_back(Frame{std::move(container), {}, {}});
    return true;
  }

  bool Close() {
    Json done = std::move(frames_.back().value);
    frames_.pop_back();
    return Add(std::move(done));
  }

  bool Add(Json value) {
    if (frames_.empty()) {
      root_ = std::move(value);
    } else if (Frame& f = frames_.back(); f.value.is_array()) {
      f.value.Push(std::move(value));
    } else {
      JsonAccess::Members(f.value).emplace_back(std::move(f.key), std::move(value));
    }
    return true;
  }

  // Called just after a string's closing quote was read.
  bool CheckSurrogates(const char* s, size_t n) {
    if (!HasEncodedSurrogate(s, n)) return true;
    const size_t close = in_.Tell() - 1;
    return Stop(UnpairedLowSurrogate(text_, OpeningQuote(text_, close), close));
  }

  std::string_view text_;
  const rapidjson::MemoryStream& in_;
  const int max_depth_;
  std::vector<Frame> frames_;
  Json root_;
  Status error_;
};

StatusOr<const Json*> Member(const Json& obj, std::string_view key, std::string_view where) {
  if (!obj.is_object()) {
    return InvalidArgument(Where(where) + ": expected an object, found " + Describe(obj));
  }
  const Json* v = obj.Find(key);
  if (!v) return InvalidArgument(JsonPath(where, key) + ": required key is missing");
  return v;
}

}  // namespace

// ---- Json --------------------------------------------------------------------------------

Json Json::Bool(bool b) {
  Json j;
  j.type_ = Type::kBool;
  j.bool_ = b;
  return j;
}

Json Json::Number(double v) {
  QF_CHECK(std::isfinite(v));
  Json j;
  j.type_ = Type::kNumber;
  j.number_ = v;
  return j;
}

StatusOr<Json> Json::FiniteNumber(double v, std::string_view what) {
  if (!std::isfinite(v)) {
    return InvalidArgument(std::string(what) + ": " + (std::isnan(v) ? "NaN" : "an infinity") +
                           " cannot be stored in JSON");
  }
  return Number(v);
}

Json Json::String(std::string s) {
  Json j;
  j.type_ = Type::kString;
  j.string_ = std::move(s);
  return j;
}

Json Json::MakeArray(Array items) {
  Json j;
  j.type_ = Type::kArray;
  j.array_ = std::move(items);
  return j;
}

Json Json::MakeObject() {
  Json j;
  j.type_ = Type::kObject;
  return j;
}

bool Json::AsBool() const {
  QF_CHECK(is_bool());
  return bool_;
}
double Json::AsNumber() const {
  QF_CHECK(is_number());
  return number_;
}
const std::string& Json::AsString() const {
  QF_CHECK(is_string());
  return string_;
}
const Json::Array& Json::AsArray() const {
  QF_CHECK(is_array());
  return array_;
}
const Json::Object& Json::AsObject() const {
  QF_CHECK(is_object());
  return object_;
}

size_t Json::size() const {
  if (is_array()) return array_.size();
  if (is_object()) return object_.size();
  return 0;
}

const Json* Json::Find(std::string_view key) const {
  QF_CHECK(is_object());
  for (const Member& m : object_) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

Json& Json::Set(std::string key, Json value) {
  QF_CHECK(is_object());
  for (Member& m : object_) {
    if (m.first == key) {
      m.second = std::move(value);
      return m.second;
    }
  }
  object_.emplace_back(std::move(key), std::move(value));
  return object_.back().second;
}

Json& Json::Push(Json value) {
  QF_CHECK(is_array());
  array_.push_back(std::move(value));
  return array_.back();
}

std::string Json::Dump() const {
  std::string out;
  DumpTo(&out);
  return out;
}

void Json::DumpTo(std::string* out) const {
  switch (type_) {
    case Type::kNull:
      out->append("null");
      return;
    case Type::kBool:
      out->append(bool_ ? "true" : "false");
      return;
    case Type::kNumber:
      DumpNumber(number_, out);
      return;
    case Type::kString:
      DumpString(string_, out);
      return;
    case Type::kArray:
      out->push_back('[');
      for (size_t i = 0; i < array_.size(); i++) {
        if (i) out->push_back(',');
        array_[i].DumpTo(out);
      }
      out->push_back(']');
      return;
    case Type::kObject:
      out->push_back('{');
      for (size_t i = 0; i < object_.size(); i++) {
        if (i) out->push_back(',');
        DumpString(object_[i].first, out);
        out->push_back(':');
        object_[i].second.DumpTo(out);
      }
      out->push_back('}');
      return;
  }
}

bool operator==(const Json& a, const Json& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case Json::Type::kNull:
      return true;
    case Json::Type::kBool:
      return a.bool_ == b.bool_;
    case Json::Type::kNumber:
      return a.number_ == b.number_;
    case Json::Type::kString:
      return a.string_ == b.string_;
    case Json::Type::kArray:
      return a.array_ == b.array_;
    case Json::Type::kObject:
      return a.object_ == b.object_;
  }
  return false;
}

const char* JsonTypeName(Json::Type type) {
  static const char* const kNames[] = {"null", "bool", "number", "string", "array", "object"};
  return kNames[static_cast<int>(type)];
}

StatusOr<Json> ParseJson(std::string_view text, const JsonLimits& limits) {
  // RapidJSON keeps string lengths in 32 bits; 1 GiB also keeps its exponent sums in range.
  const size_t max_bytes = std::min(limits.max_bytes, size_t(1) << 30);
  if (text.size() > max_bytes) {
    return InvalidArgument("JSON text of " + std::to_string(text.size()) +
                           " bytes exceeds the limit of " + std::to_string(max_bytes));
  }
  rapidjson::MemoryStream in(text.data(), text.size());
  Builder builder(text, in, limits.max_depth);
  // Iterative: nesting uses the reader's heap stack, not the call stack. Strict RFC 8259
  // otherwise: no comments, trailing commas, NaN or Infinity (flags not given).
  constexpr unsigned kFlags = rapidjson::kParseIterativeFlag |
                              rapidjson::kParseValidateEncodingFlag |
                              rapidjson::kParseNumbersAsStringsFlag;
  rapidjson::Reader reader;
  const rapidjson::ParseResult result = reader.Parse<kFlags>(in, builder);
  if (result.Code() == rapidjson::kParseErrorTermination) return builder.error();
  if (result.IsError()) return SyntaxError(text, result.Code(), result.Offset());
  // The reader takes a NUL byte for the end of the input.
  if (in.Tell() != text.size()) {
    return Expected(text, in.Tell(), "end of input after the JSON value");
  }
  return std::move(builder.root());
}

// ---- typed access ------------------------------------------------------------------------

std::string JsonPath(std::string_view where, std::string_view key) {
  if (where.empty()) return std::string(key);
  return std::string(where) + "." + std::string(key);
}

std::string JsonPath(std::string_view where, size_t index) {
  return std::string(where) + "[" + std::to_string(index) + "]";
}

StatusOr<int64_t> ToInt(const Json& value, std::string_view path) {
  if (!value.is_number()) {
    return InvalidArgument(Where(path) + ": expected an integer, found " + Describe(value));
  }
  const double v = value.AsNumber();
  if (v != std::trunc(v)) {
    return InvalidArgument(Where(path) + ": expected an integer, found " + Describe(value));
  }
  if (std::fabs(v) > kMaxExactInt) {
    return InvalidArgument(Where(path) + ": integer " + value.Dump() +
                           " is outside the exactly representable range -2^53..2^53");
  }
  return static_cast<int64_t>(v);
}

StatusOr<double> ToNumber(const Json& value, std::string_view path) {
  if (!value.is_number()) {
    return InvalidArgument(Where(path) + ": expected a number, found " + Describe(value));
  }
  return value.AsNumber();
}

StatusOr<bool> ToBool(const Json& value, std::string_view path) {
  if (!value.is_bool()) {
    return InvalidArgument(Where(path) + ": expected true or false, found " + Describe(value));
  }
  return value.AsBool();
}

StatusOr<std::string> ToString(const Json& value, std::string_view path) {
  if (!value.is_string()) {
    return InvalidArgument(Where(path) + ": expected a string, found " + Describe(value));
  }
  return value.AsString();
}

StatusOr<int64_t> GetInt(const Json& obj, std::string_view key, std::string_view where) {
  StatusOr<const Json*> v = Member(obj, key, where);
  if (!v.ok()) return v.status();
  return ToInt(*v.value(), JsonPath(where, key));
}

StatusOr<int64_t> GetIntInRange(const Json& obj, std::string_view key, int64_t lo, int64_t hi,
                                std::string_view where) {
  StatusOr<int64_t> v = GetInt(obj, key, where);
  if (v.ok() && (v.value() < lo || v.value() > hi)) {
    return InvalidArgument(JsonPath(where, key) + ": " + std::to_string(v.value()) +
                           " is outside the allowed range " + std::to_string(lo) + ".." +
                           std::to_string(hi));
  }
  return v;
}

StatusOr<double> GetNumber(const Json& obj, std::string_view key, std::string_view where) {
  StatusOr<const Json*> v = Member(obj, key, where);
  if (!v.ok()) return v.status();
  return ToNumber(*v.value(), JsonPath(where, key));
}

StatusOr<bool> GetBool(const Json& obj, std::string_view key, std::string_view where) {
  StatusOr<const Json*> v = Member(obj, key, where);
  if (!v.ok()) return v.status();
  return ToBool(*v.value(), JsonPath(where, key));
}

StatusOr<std::string> GetString(const Json& obj, std::string_view key, std::string_view where) {
  StatusOr<const Json*> v = Member(obj, key, where);
  if (!v.ok()) return v.status();
  return ToString(*v.value(), JsonPath(where, key));
}

StatusOr<const Json::Array*> GetArray(const Json& obj, std::string_view key,
                                      std::string_view where) {
  StatusOr<const Json*> v = Member(obj, key, where);
  if (!v.ok()) return v.status();
  if (!v.value()->is_array()) {
    return InvalidArgument(JsonPath(where, key) + ": expected an array, found " +
                           Describe(*v.value()));
  }
  return &v.value()->AsArray();
}

StatusOr<const Json*> GetObject(const Json& obj, std::string_view key, std::string_view where) {
  StatusOr<const Json*> v = Member(obj, key, where);
  if (!v.ok()) return v.status();
  if (!v.value()->is_object()) {
    return InvalidArgument(JsonPath(where, key) + ": expected an object, found " +
                           Describe(*v.value()));
  }
  return v;
}

namespace {

// The member's value, nullptr when absent, or an error when obj is not an object.
StatusOr<const Json*> OptionalMember(const Json& obj, std::string_view key,
                                     std::string_view where) {
  if (!obj.is_object()) {
    return InvalidArgument(Where(where) + ": expected an object, found " + Describe(obj));
  }
  return obj.Find(key);
}

}  // namespace

StatusOr<int64_t> GetIntOr(const Json& obj, std::string_view key, int64_t fallback,
                           std::string_view where) {
  StatusOr<const Json*> v = OptionalMember(obj, key, where);
  if (!v.ok()) return v.status();
  if (!v.value()) return fallback;
  return ToInt(*v.value(), JsonPath(where, key));
}

StatusOr<double> GetNumberOr(const Json& obj, std::string_view key, double fallback,
                             std::string_view where) {
  StatusOr<const Json*> v = OptionalMember(obj, key, where);
  if (!v.ok()) return v.status();
  if (!v.value()) return fallback;
  return ToNumber(*v.value(), JsonPath(where, key));
}

StatusOr<bool> GetBoolOr(const Json& obj, std::string_view key, bool fallback,
                         std::string_view where) {
  StatusOr<const Json*> v = OptionalMember(obj, key, where);
  if (!v.ok()) return v.status();
  if (!v.value()) return fallback;
  return ToBool(*v.value(), JsonPath(where, key));
}

StatusOr<std::string> GetStringOr(const Json& obj, std::string_view key, std::string fallback,
                                  std::string_view where) {
  StatusOr<const Json*> v = OptionalMember(obj, key, where);
  if (!v.ok()) return v.status();
  if (!v.value()) return fallback;
  return ToString(*v.value(), JsonPath(where, key));
}

}  // namespace qf
