// JSON value, parser (recursive descent, depth-limited) and writer. The parser reports the
// first error only and does not recover; no pretty-printing, no streaming.
//
// Why not a library (issue 21). Commit ddb23b5 put RapidJSON's SAX reader behind this
// same interface; all tests passed (native, asan, fuzz, both wasm builds, the JS tests),
// and its bench/json_parser/compare.sh measures both parsers in one process. Not adopted:
// - Debian's rapidjson-dev 1.1.0+dfsg2-7.1 is upstream's 2016 release with build fixes
//   only. CVE-2024-38517 is unpatched: "128.74836467836484838364836483643636483648e-336"
//   crashes its full-precision conversion (segfault, g++ -O2). That conversion also reads
//   1.8e308 as NaN and -0 as 0. It accepts duplicate keys, an unpaired \uDC00..\uDFFF
//   (stored as invalid UTF-8) and a NUL byte as the end of the text; it refuses the
//   valid 0e400.
// - Keeping this file's guarantees meant numbers as text through strtod, a builder with
//   depth, duplicate, surrogate and NUL checks, and its error codes mapped back to these
//   messages: 345 lines where this parser has 325 (json.cc 773 -> 797 lines).
// - clang's UBSan stops its first parse (null-pointer arithmetic, internal/stack.h), so
//   json.cc lost -fsanitize=pointer-overflow in the asan and fuzz builds.
// - web/dist/qforget-simd.wasm: 717005 -> 739935 bytes (+3.2%); gzip -9: 259097 -> 267175.
// - Parse time 1.4-1.55x this parser's on 2-2.5 KB model headers and a fit() options
//   object (medians of 9 interleaved rounds, g++ -O2).
// - Over 1.5 M inputs (differential.cc there) values and messages agree, except 0e400 and
//   which of two errors in one string comes first.
// simdjson (libsimdjson-dev 3.0.1) ships a shared library only: no wasm without vendoring.
// Worth another look when Debian ships a RapidJSON release with the CVE fixed.
#include "core/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

namespace qf {

// Lets the parser install members whose keys it has already checked for uniqueness,
// without Set()'s linear search per key.
struct JsonAccess {
  static Json Object(Json::Object members) {
    Json j = Json::MakeObject();
    j.object_ = std::move(members);
    return j;
  }
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

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(char(cp));
  } else if (cp < 0x800) {
    out->push_back(char(0xC0 | (cp >> 6)));
    out->push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(char(0xE0 | (cp >> 12)));
    out->push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(char(0xF0 | (cp >> 18)));
    out->push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(char(0x80 | (cp & 0x3F)));
  }
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

class Parser {
 public:
  Parser(std::string_view text, const JsonLimits& limits) : text_(text), limits_(limits) {}

  StatusOr<Json> Document() {
    if (text_.size() > limits_.max_bytes) {
      return InvalidArgument("JSON text of " + std::to_string(text_.size()) +
                             " bytes exceeds the limit of " + std::to_string(limits_.max_bytes));
    }
    Json value;
    SkipSpace();
    QF_RETURN_IF_ERROR(Value(&value, 0));
    SkipSpace();
    if (pos_ != text_.size()) return Expected(pos_, "end of input after the JSON value");
    return value;
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }

  void SkipSpace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' || Peek() == '\r')) {
      pos_++;
    }
  }

  // "line L column C: " for byte offset `at`.
  std::string Position(size_t at) const {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < at && i < text_.size(); i++) {
      if (text_[i] == '\n') {
        line++;
        column = 1;
      } else {
        column++;
      }
    }
    return "line " + std::to_string(line) + " column " + std::to_string(column) + ": ";
  }

  std::string Found(size_t at) const {
    if (at >= text_.size()) return "end of input";
    const unsigned char c = static_cast<unsigned char>(text_[at]);
    if (c >= 0x20 && c < 0x7F) return std::string("'") + char(c) + "'";
    char buf[16];
    std::snprintf(buf, sizeof buf, "byte 0x%02X", unsigned(c));
    return buf;
  }

  Status Fail(size_t at, const std::string& what) const {
    return InvalidArgument(Position(at) + what);
  }
  Status Expected(size_t at, const std::string& what) const {
    return Fail(at, "expected " + what + ", found " + Found(at));
  }

  Status Value(Json* out, int depth) {
    if (AtEnd()) return Expected(pos_, "a value");
    switch (Peek()) {
      case '{':
        return ObjectValue(out, depth + 1);
      case '[':
        return ArrayValue(out, depth + 1);
      case '"': {
        std::string s;
        QF_RETURN_IF_ERROR(StringValue(&s));
        *out = Json::String(std::move(s));
        return OkStatus();
      }
      case 't':
        return Literal("true", Json::Bool(true), out);
      case 'f':
        return Literal("false", Json::Bool(false), out);
      case 'n':
        return Literal("null", Json::Null(), out);
      default:
        if (Peek() == '-' || (Peek() >= '0' && Peek() <= '9')) return NumberValue(out);
        return Expected(pos_, "a value");
    }
  }

  Status Literal(std::string_view word, Json value, Json* out) {
    if (text_.substr(pos_, word.size()) != word) {
      return Expected(pos_, "'" + std::string(word) + "'");
    }
    pos_ += word.size();
    *out = std::move(value);
    return OkStatus();
  }

  Status Nested(int depth) const {
    if (depth > limits_.max_depth) {
      return Fail(pos_, "nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
    return OkStatus();
  }

  Status ArrayValue(Json* out, int depth) {
    QF_RETURN_IF_ERROR(Nested(depth));
    pos_++;  // '['
    *out = Json::MakeArray();
    SkipSpace();
    if (!AtEnd() && Peek() == ']') {
      pos_++;
      return OkStatus();
    }
    for (;;) {
      Json element;
      SkipSpace();
      QF_RETURN_IF_ERROR(Value(&element, depth));
      out->Push(std::move(element));
      SkipSpace();
      if (!AtEnd() && Peek() == ',') {
        pos_++;
        continue;
      }
      if (!AtEnd() && Peek() == ']') {
        pos_++;
        return OkStatus();
      }
      return Expected(pos_, "',' or ']' after an array element");
    }
  }

  Status ObjectValue(Json* out, int depth) {
    QF_RETURN_IF_ERROR(Nested(depth));
    pos_++;  // '{'
    Json::Object members;
    std::unordered_set<std::string> seen;  // filled once the object has many members
    SkipSpace();
    if (!AtEnd() && Peek() == '}') {
      pos_++;
      *out = Json::MakeObject();
      return OkStatus();
    }
    for (;;) {
      SkipSpace();
      if (AtEnd() || Peek() != '"') return Expected(pos_, "a string key");
      const size_t key_at = pos_;
      std::string key;
      QF_RETURN_IF_ERROR(StringValue(&key));
      bool duplicate;
      if (members.size() < 16) {
        duplicate = false;
        for (const auto& m : members) duplicate = duplicate || m.first == key;
      } else {
        if (seen.empty()) {
          for (const auto& m : members) seen.insert(m.first);
        }
        duplicate = !seen.insert(key).second;
      }
      if (duplicate) {
        std::string shown;
        DumpString(key, &shown);
        return Fail(key_at, "duplicate key " + shown);
      }
      SkipSpace();
      if (AtEnd() || Peek() != ':') return Expected(pos_, "':' after an object key");
      pos_++;
      SkipSpace();
      Json value;
      QF_RETURN_IF_ERROR(Value(&value, depth));
      members.emplace_back(std::move(key), std::move(value));
      SkipSpace();
      if (!AtEnd() && Peek() == ',') {
        pos_++;
        continue;
      }
      if (!AtEnd() && Peek() == '}') {
        pos_++;
        break;
      }
      return Expected(pos_, "',' or '}' after an object member");
    }
    *out = JsonAccess::Object(std::move(members));
    return OkStatus();
  }

  // Four hex digits at pos_ (after "\u").
  Status Hex4(uint32_t* out) {
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
      if (AtEnd()) return Expected(pos_, "4 hex digits after \\u");
      const char c = Peek();
      int d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        d = c - 'A' + 10;
      } else {
        return Expected(pos_, "4 hex digits after \\u");
      }
      v = v * 16 + uint32_t(d);
      pos_++;
    }
    *out = v;
    return OkStatus();
  }

  Status StringValue(std::string* out) {
    const auto* s = reinterpret_cast<const unsigned char*>(text_.data());
    const size_t n = text_.size();
    pos_++;  // opening quote
    for (;;) {
      if (pos_ >= n) return Expected(pos_, "'\"' to close the string");
      const unsigned char c = s[pos_];
      if (c == '"') {
        pos_++;
        return OkStatus();
      }
      if (c < 0x20) {
        return Fail(pos_, "control character " + Found(pos_) +
                              " in a string (write it as an escape such as \\n or \\u001f)");
      }
      if (c >= 0x80) {
        const size_t len = Utf8SequenceLength(s, pos_, n);
        if (len == 0) return Fail(pos_, "invalid UTF-8 in a string at " + Found(pos_));
        out->append(text_.substr(pos_, len));
        pos_ += len;
        continue;
      }
      if (c != '\\') {
        out->push_back(char(c));
        pos_++;
        continue;
      }
      const size_t escape_at = pos_;
      pos_++;
      if (pos_ >= n) return Expected(pos_, "an escape character after '\\'");
      const char e = char(s[pos_++]);
      if (e != 'u') {
        const char* hit = e == 0 ? nullptr : std::strchr(kEscapeLetters, e);
        if (hit == nullptr) {
          return Fail(escape_at, "invalid escape '\\" + std::string(1, e) +
                                     "' (allowed: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
        }
        out->push_back(kEscapeBytes[hit - kEscapeLetters]);
        continue;
      }
      // \uXXXX, and a surrogate pair as two of them.
      uint32_t cp = 0;
      QF_RETURN_IF_ERROR(Hex4(&cp));
      if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return Fail(escape_at,
                    "unpaired low surrogate \\u" + std::string(text_.substr(escape_at + 2, 4)));
      }
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (n - pos_ < 2 || s[pos_] != '\\' || s[pos_ + 1] != 'u') {
          return Fail(escape_at, "high surrogate \\u" +
                                     std::string(text_.substr(escape_at + 2, 4)) +
                                     " not followed by a \\u low surrogate");
        }
        const size_t low_at = pos_;
        pos_ += 2;
        uint32_t low = 0;
        QF_RETURN_IF_ERROR(Hex4(&low));
        if (low < 0xDC00 || low > 0xDFFF) {
          return Fail(low_at, "expected a low surrogate (\\uDC00..\\uDFFF) after \\u" +
                                  std::string(text_.substr(escape_at + 2, 4)));
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      }
      AppendUtf8(cp, out);
    }
  }

  bool Digit() const { return !AtEnd() && Peek() >= '0' && Peek() <= '9'; }

  Status NumberValue(Json* out) {
    const size_t start = pos_;
    if (Peek() == '-') pos_++;
    if (!Digit()) return Expected(pos_, "a digit");
    if (Peek() == '0') {
      pos_++;
      if (Digit()) return Fail(start, "leading zeros are not allowed in numbers");
    } else {
      while (Digit()) pos_++;
    }
    if (!AtEnd() && Peek() == '.') {
      pos_++;
      if (!Digit()) return Expected(pos_, "a digit after the decimal point");
      while (Digit()) pos_++;
    }
    if (!AtEnd() && (Peek() == 'e' || Peek() == 'E')) {
      pos_++;
      if (!AtEnd() && (Peek() == '+' || Peek() == '-')) pos_++;
      if (!Digit()) return Expected(pos_, "a digit in the exponent");
      while (Digit()) pos_++;
    }
    const std::string literal(text_.substr(start, pos_ - start));
    const double v = std::strtod(literal.c_str(), nullptr);
    if (!std::isfinite(v)) {
      return Fail(start, "number " + literal + " is out of the range of a double");
    }
    *out = Json::Number(v);
    return OkStatus();
  }

  std::string_view text_;
  const JsonLimits& limits_;
  size_t pos_ = 0;
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
  return Parser(text, limits).Document();
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
