// Byte sources and sinks over files, pipes and memory. Readers and writers of
// traces work on these so the same code serves files, stdin/stdout and tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "ordo/status.h"
#include "ordo/util/atomic_output.h"

namespace ordo {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes into buf; returns fewer only at end of input.
  virtual Result<size_t> Read(void* buf, size_t n) = 0;
  // Total size when the source is seekable (a regular file, memory).
  virtual std::optional<uint64_t> Size() const = 0;
  // Reads exactly n bytes at `offset` without moving the stream position;
  // only for seekable sources.
  virtual Status ReadAt(uint64_t offset, void* buf, size_t n) = 0;
  // The name used in messages ("-" reads as "<stdin>").
  virtual const std::string& name() const = 0;
};

// Opens `path` for reading; "-" is standard input. A FIFO nobody has opened
// for writing yet is waited for, with a note on stderr after a second saying
// so (never a silent hang).
Result<std::unique_ptr<ByteSource>> OpenSource(const std::string& path);

// An input that may be read more than once. A regular file is used where it
// is; standard input ("-") and FIFOs are read once, as a stream, into a
// temporary file (removed with this object, and on SIGINT/SIGTERM).
class SpooledInput {
 public:
  static Result<std::unique_ptr<SpooledInput>> Open(const std::string& path);
  ~SpooledInput();
  // The path to open (again and again).
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<AtomicFile> temp_;
};
// A source over a copy of `data`, named `name`.
std::unique_ptr<ByteSource> MemorySource(std::string data, std::string name = "<memory>");

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Appends all n bytes or fails.
  virtual Status Write(const void* buf, size_t n) = 0;
  // Makes written bytes durable (fdatasync); a no-op for pipes and memory.
  virtual Status Sync() = 0;
  // The write is complete: a file sink renames its temporary over the final
  // name (see AtomicFile). A sink dropped without Commit() leaves the old
  // file as it was.
  virtual Status Commit() { return Sync(); }
  virtual const std::string& name() const = 0;
};

// A sink writing `path` through an AtomicFile (the file appears at Commit());
// "-" is standard output.
Result<std::unique_ptr<ByteSink>> CreateSink(const std::string& path, unsigned mode = 0644);
Result<std::unique_ptr<ByteSink>> CreateSink(const std::string& path, const OutputOptions& options);
// A sink appending to *out, which must outlive it.
std::unique_ptr<ByteSink> StringSink(std::string* out, std::string name = "<memory>");

}  // namespace ordo
