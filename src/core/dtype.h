// The element types data arrives in from JS: inputs as uint8 (pixels) or float32 (any real
// features), labels as uint8, uint16 or int32 (kept as Label). Named as the typed arrays
// are, without "Array": "uint8", "uint16", "int32", "float32".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/status.h"

namespace qf {

enum class DType : uint8_t { kUint8, kUint16, kInt32, kFloat32 };

// A class index; a model has at most kMaxClasses classes.
using Label = uint16_t;
inline constexpr size_t kMaxClasses = 65535;

inline size_t SizeOf(DType type) {
  switch (type) {
    case DType::kUint8: return 1;
    case DType::kUint16: return 2;
    case DType::kInt32:
    case DType::kFloat32: return 4;
  }
  return 0;
}

inline const char* DTypeName(DType type) {
  switch (type) {
    case DType::kUint8: return "uint8";
    case DType::kUint16: return "uint16";
    case DType::kInt32: return "int32";
    case DType::kFloat32: return "float32";
  }
  return "?";
}

// The type called `name`; InvalidArgument naming `what` otherwise.
inline StatusOr<DType> ParseDType(std::string_view name, std::string_view what) {
  for (DType t : {DType::kUint8, DType::kUint16, DType::kInt32, DType::kFloat32}) {
    if (name == DTypeName(t)) return t;
  }
  return InvalidArgument(std::string(what) + " must be 'uint8', 'uint16', 'int32' or 'float32', got '" +
                         std::string(name) + "'");
}

}  // namespace qf
