#include "ordo/status.h"

namespace ordo {

namespace {
const char* CodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kInvalidArgument:
      return "invalid argument";
    case StatusCode::kNotFound:
      return "not found";
    case StatusCode::kCorruption:
      return "corruption";
    case StatusCode::kTruncated:
      return "truncated";
    case StatusCode::kUnsupported:
      return "unsupported";
    case StatusCode::kIoError:
      return "I/O error";
    case StatusCode::kPermissionDenied:
      return "permission denied";
    case StatusCode::kVerifyFailed:
      return "read-verify failed";
    case StatusCode::kLimitExceeded:
      return "limit exceeded";
  }
  return "unknown";
}
}  // namespace

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message_;
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  Status s = *this;
  s.message_ = context + ": " + message_;
  return s;
}

Status Status::WithFile(std::string file) const {
  if (ok()) return *this;
  Status s = *this;
  s.file_ = std::move(file);
  return s;
}

Status Status::WithLocation(std::string file, uint64_t offset) const {
  if (ok()) return *this;
  Status s = *this;
  s.file_ = std::move(file);
  s.has_offset_ = true;
  s.offset_ = offset;
  return s;
}

}  // namespace ordo
