// Status and Result<T>: how every ordo library reports failure.
//
// Libraries never throw across their public boundary; an operation that can
// fail returns a Status (or a Result<T> carrying a value or a Status). The
// message says what failed and where (file, byte offset, record index) so
// the CLI can print it as-is.
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace ordo {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // the caller or the user asked for something malformed
  kNotFound,          // a named file or entity does not exist
  kCorruption,        // input bytes fail a check (CRC, magic, structure)
  kTruncated,         // input ends before a structure it declares is complete
  kUnsupported,       // a newer format version or a feature this build lacks
  kIoError,           // the operating system refused a read or write
  kPermissionDenied,  // the environment refused (no privilege, no kernel feature)
  kVerifyFailed,      // the engine's read-verify failed: FPRE004
  kLimitExceeded,     // the input needs more than a documented limit allows (bad input)
};

// A success, or a failure code with a human-readable message.
class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  // A status of `code` (code and message carried across a process boundary).
  static Status FromCode(StatusCode code, std::string msg) { return {code, std::move(msg)}; }
  static Status InvalidArgument(std::string msg) {
    return {StatusCode::kInvalidArgument, std::move(msg)};
  }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status Truncated(std::string msg) { return {StatusCode::kTruncated, std::move(msg)}; }
  static Status Unsupported(std::string msg) { return {StatusCode::kUnsupported, std::move(msg)}; }
  static Status IoError(std::string msg) { return {StatusCode::kIoError, std::move(msg)}; }
  static Status PermissionDenied(std::string msg) {
    return {StatusCode::kPermissionDenied, std::move(msg)};
  }
  static Status VerifyFailed(std::string msg) {
    return {StatusCode::kVerifyFailed, std::move(msg)};
  }
  static Status LimitExceeded(std::string msg) {
    return {StatusCode::kLimitExceeded, std::move(msg)};
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "corruption: trace.ordo: byte 1234: ..." style text for logs.
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `. The location
  // (file, offset) is kept.
  Status WithContext(const std::string& context) const;

  // Where the failure is, as structured fields for machine-readable output
  // (the message says it too, for people). `file` is empty when the failure
  // is not about one file; `has_offset()` is false when no byte offset applies.
  Status WithFile(std::string file) const;
  Status WithLocation(std::string file, uint64_t offset) const;
  const std::string& file() const { return file_; }
  bool has_offset() const { return has_offset_; }
  uint64_t offset() const { return offset_; }

 private:
  Status(StatusCode code, std::string msg) : code_(code), message_(std::move(msg)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string file_;
  bool has_offset_ = false;
  uint64_t offset_ = 0;
};

// A value of type T, or the Status explaining why there is none.
// (std::expected is C++23; this is the small subset ordo needs.)
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  // The failure; Status::Ok() when a value is present.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

// Returns early from the enclosing function when `expr` is a failed Status.
#define ORDO_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::ordo::Status ordo_status_ = (expr);        \
    if (!ordo_status_.ok()) return ordo_status_; \
  } while (0)

}  // namespace ordo
