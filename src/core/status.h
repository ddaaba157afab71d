// Status and StatusOr: how every public C++ entry point reports failure. The engine is
// built without exceptions; the JS layer turns a failed Status into a QforgetError
// whose `code` is StatusCodeName(code()).
#pragma once

#include <string>
#include <utility>

#include "core/check.h"

namespace qf {

enum class StatusCode {
  kOk,
  kInvalidArgument,     // a caller's argument is wrong (shape, type, range, NaN, ...)
  kFailedPrecondition,  // the object is not in a state that allows the call
  kOutOfRange,          // an index or id outside what exists
  kDataLoss,            // corrupted, truncated or foreign bytes
  kUnimplemented,       // a valid request this build does not support
  kResourceExhausted,   // a memory limit would be exceeded
  kAborted,             // cancelled by the caller
  kInternal,            // a bug in qforget
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status ResourceExhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}

// Either a value or a failed Status. Accessing the value of a failed StatusOr is a bug
// and stops the program (QF_CHECK).
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : status_(std::move(status)) { QF_CHECK(!status_.ok()); }
  StatusOr(T value) : has_value_(true), value_(std::move(value)) {}

  bool ok() const { return has_value_; }
  const Status& status() const { return status_; }
  T& value() & {
    QF_CHECK(has_value_);
    return value_;
  }
  const T& value() const& {
    QF_CHECK(has_value_);
    return value_;
  }
  T&& value() && {
    QF_CHECK(has_value_);
    return std::move(value_);
  }

 private:
  Status status_;
  bool has_value_ = false;
  T value_{};
};

}  // namespace qf

// Returns early from the enclosing function when `expr` yields a failed Status.
#define QF_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::qf::Status qf_status_ = (expr);        \
    if (!qf_status_.ok()) return qf_status_; \
  } while (0)

#define QF_STATUS_CONCAT_INNER_(a, b) a##b
#define QF_STATUS_CONCAT_(a, b) QF_STATUS_CONCAT_INNER_(a, b)

// `lhs = value of expr` when expr (a StatusOr) holds one; otherwise returns its Status.
// lhs may declare a variable: QF_ASSIGN_OR_RETURN(const int n, ParseCount(text));
#define QF_ASSIGN_OR_RETURN(lhs, expr) \
  QF_ASSIGN_OR_RETURN_IMPL_(QF_STATUS_CONCAT_(qf_statusor_, __LINE__), lhs, expr)
#define QF_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
