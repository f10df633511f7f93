// kiln — Status and Result<T>: every fallible call in the public API returns one of these.
// Nothing throws across the API. A Status carries a code, a message and a context chain
// ("layer conv1 (Conv)", "input 'x'", "plan section 'weights'") so that an error names the thing
// that is wrong. Thread-safety: values, no shared state.
#pragma once

#include <cassert>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace kiln {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,     // the caller passed something wrong (shape outside profile, null address)
  kNotFound,            // a named tensor / layer / weight does not exist
  kOutOfRange,          // index or value outside its allowed range
  kUnsupported,         // valid request that kiln does not implement (op, dtype, attribute)
  kCorruptData,         // a plan, cache or model file failed validation
  kVersionMismatch,     // a plan or cache from another kiln version / device
  kFailedPrecondition,  // call order wrong (enqueue before shapes are set)
  kResourceExhausted,   // out of memory, workspace too small
  kIoError,             // file could not be read or written
  kDeviceError,         // a CUDA / library call failed
  kInternal,            // a bug in kiln
};

std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message);

  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  // The innermost message, without context.
  const std::string& message() const { return message_; }
  // Outer-to-inner context entries joined with ": ", then the message; "OK" for success.
  std::string to_string() const;

  // Returns a copy with `context` prepended ("layer conv1 (Conv)" → "layer conv1 (Conv): <msg>").
  Status with_context(std::string_view context) const&;
  Status with_context(std::string_view context) &&;

  // Marks an error as intentionally ignored.
  void ignore() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string context_;  // "a: b: c" — outermost first
};

// Helpers that build an error Status.
Status invalid_argument(std::string message);
Status not_found(std::string message);
Status out_of_range(std::string message);
Status unsupported(std::string message);
Status corrupt_data(std::string message);
Status version_mismatch(std::string message);
Status failed_precondition(std::string message);
Status resource_exhausted(std::string message);
Status io_error(std::string message);
Status device_error(std::string message);
Status internal_error(std::string message);

// Result<T>: a T or an error Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT(implicit)
  Result(Status status) : data_(std::move(status)) {  // NOLINT(implicit)
    assert(!std::get<Status>(data_).is_ok() && "Result constructed from an OK status");
  }

  bool is_ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return is_ok(); }

  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(data_);
  }
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace kiln

// Propagation macros for kiln's own code and for users who like them.
#define KILN_CONCAT_INNER(a, b) a##b
#define KILN_CONCAT(a, b) KILN_CONCAT_INNER(a, b)

#define KILN_RETURN_IF_ERROR(expr)                   \
  do {                                               \
    ::kiln::Status kiln_status_ = (expr);            \
    if (!kiln_status_.is_ok()) return kiln_status_;  \
  } while (0)

#define KILN_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.is_ok()) return tmp.status();           \
  lhs = std::move(tmp).value()

#define KILN_ASSIGN_OR_RETURN(lhs, expr) \
  KILN_ASSIGN_OR_RETURN_IMPL(KILN_CONCAT(kiln_result_, __LINE__), lhs, expr)
