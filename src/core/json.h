// A small JSON value type, a strict RFC 8259 parser and a deterministic compact writer, for
// model descriptions (layer lists) and model-file headers. Not a general-purpose or
// streaming library: documents are small, held whole in memory, and numbers are doubles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace qf {

// Limits that keep hostile input from exhausting memory or the stack.
struct JsonLimits {
  size_t max_bytes = size_t(16) << 20;  // longest accepted text, in bytes
  int max_depth = 64;                   // deepest nesting of arrays and objects ([[]] is 2)
};

// A JSON value: null, bool, number (a finite double), string (UTF-8 bytes), array, or
// object whose members keep their insertion order and have unique keys. A value owns
// all of its children; copies are deep.
//
// NaN and infinities are not representable in JSON, so a Json never holds one:
// Json::Number() stops the program on them (a caller bug, like an out-of-range index),
// and Json::FiniteNumber() is the checked form for doubles that may be non-finite
// (trained parameters, user input). Hence Dump() always produces valid JSON.
class Json {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  using Array = std::vector<Json>;
  using Member = std::pair<std::string, Json>;
  using Object = std::vector<Member>;

  Json() = default;  // null
  static Json Null() { return Json(); }
  static Json Bool(bool b);
  static Json Number(double v);  // QF_CHECK(std::isfinite(v))
  // InvalidArgument naming `what` when v is NaN or infinite.
  static StatusOr<Json> FiniteNumber(double v, std::string_view what);
  static Json String(std::string s);
  static Json MakeArray(Array items = {});
  static Json MakeObject();

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  // Direct access; calling one on a value of another type is a bug (QF_CHECK). For
  // untrusted documents use the Status-returning accessors below.
  bool AsBool() const;
  double AsNumber() const;
  const std::string& AsString() const;
  const Array& AsArray() const;
  const Object& AsObject() const;

  // Arrays: elements; objects: members; 0 for every other type.
  size_t size() const;
  // Objects only: the member's value, or nullptr when absent. The pointer is valid until
  // this object is modified or destroyed.
  const Json* Find(std::string_view key) const;
  // Objects only: replaces the value of `key` in place, or appends a new member.
  Json& Set(std::string key, Json value);
  // Arrays only: appends an element.
  Json& Push(Json value);

  // Compact text, no whitespace; members in insertion order; same value, same bytes.
  // Integers of magnitude <= 2^53 print without a decimal point or exponent (-0 as "-0"),
  // other numbers with the fewest of 15, 16 or 17 significant digits that parse back
  // to the same double. Strings are written as UTF-8 with only '"', '\\' and control
  // characters escaped; byte sequences that are not valid UTF-8 are written as U+FFFD,
  // so the output always parses. Recursion is as deep as the value's nesting. Numbers
  // are formatted with snprintf, which assumes the "C" LC_NUMERIC locale (the default).
  std::string Dump() const;

  // Deep equality; objects compare member by member in order; numbers with == (0 == -0).
  friend bool operator==(const Json& a, const Json& b);
  friend bool operator!=(const Json& a, const Json& b) { return !(a == b); }

 private:
  friend struct JsonAccess;  // the parser moves checked members in directly
  void DumpTo(std::string* out) const;

  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  Array array_;
  Object object_;
};

// "null", "bool", "number", "string", "array" or "object".
const char* JsonTypeName(Json::Type type);

// Parses one JSON text (RFC 8259, strictly: no comments, no trailing commas, no leading
// zeros, no raw control characters in strings, no lone surrogates, valid UTF-8 only,
// no duplicate keys, whitespace only around the value). Numbers must be finite doubles
// ("1e400" is rejected). Errors are InvalidArgument "line L column C: what was expected,
// found what" (line and column 1-based; the column counts bytes); texts longer than
// limits.max_bytes or nested deeper than limits.max_depth are InvalidArgument too. A
// caller reading a file maps these to DataLoss as it sees fit. Numbers are converted with
// strtod, which assumes the "C" LC_NUMERIC locale (the default).
StatusOr<Json> ParseJson(std::string_view text, const JsonLimits& limits = {});

// ---- typed access for untrusted documents --------------------------------------------
// Every error is InvalidArgument and names the key path: `where` is the path of the
// object being read (e.g. "layers[2]", empty for the root), and the message starts with
// JsonPath(where, key), e.g. "layers[2].kernel: expected an integer, found string \"3\"".
// Reading a key of a value that is not an object is an error naming `where`.

std::string JsonPath(std::string_view where, std::string_view key);  // "where.key"
std::string JsonPath(std::string_view where, size_t index);          // "where[index]"

// Conversions of a value found at `path`. An integer must be a number with no fractional
// part and magnitude <= 2^53 (every such double is exact): 1.5 and 1e300 are rejected.
StatusOr<int64_t> ToInt(const Json& value, std::string_view path);
StatusOr<double> ToNumber(const Json& value, std::string_view path);
StatusOr<bool> ToBool(const Json& value, std::string_view path);
StatusOr<std::string> ToString(const Json& value, std::string_view path);

// Required members: a missing key is an error.
StatusOr<int64_t> GetInt(const Json& obj, std::string_view key, std::string_view where = {});
// As GetInt, and the value must lie in [lo, hi].
StatusOr<int64_t> GetIntInRange(const Json& obj, std::string_view key, int64_t lo, int64_t hi,
                                std::string_view where = {});
StatusOr<double> GetNumber(const Json& obj, std::string_view key, std::string_view where = {});
StatusOr<bool> GetBool(const Json& obj, std::string_view key, std::string_view where = {});
StatusOr<std::string> GetString(const Json& obj, std::string_view key, std::string_view where = {});
// Pointers into `obj`, valid while it lives unmodified.
StatusOr<const Json::Array*> GetArray(const Json& obj, std::string_view key,
                                      std::string_view where = {});
StatusOr<const Json*> GetObject(const Json& obj, std::string_view key, std::string_view where = {});

// Optional members: a missing key gives `fallback`; a present key of the wrong type (null
// included) is still an error.
StatusOr<int64_t> GetIntOr(const Json& obj, std::string_view key, int64_t fallback,
                           std::string_view where = {});
StatusOr<double> GetNumberOr(const Json& obj, std::string_view key, double fallback,
                             std::string_view where = {});
StatusOr<bool> GetBoolOr(const Json& obj, std::string_view key, bool fallback,
                         std::string_view where = {});
StatusOr<std::string> GetStringOr(const Json& obj, std::string_view key, std::string fallback,
                                  std::string_view where = {});

}  // namespace qf
