#include "ordo/replay/trace_source.h"

#include <utility>

#include "ordo/trace/reader.h"

namespace ordo::replay {

namespace {

class FileStream : public RecordStream {
 public:
  explicit FileStream(std::unique_ptr<trace::TraceReader> reader) : reader_(std::move(reader)) {}
  bool Next(trace::Record* record) override { return reader_->Next(record); }
  Status status() const override { return reader_->status(); }

 private:
  std::unique_ptr<trace::TraceReader> reader_;
};

class FileSource : public TraceSource {
 public:
  explicit FileSource(std::string path) : path_(std::move(path)) {}
  const std::string& name() const override { return path_; }
  Result<std::unique_ptr<RecordStream>> Open() const override {
    auto reader = trace::TraceReader::Open(path_);
    if (!reader.ok()) return reader.status();
    return std::unique_ptr<RecordStream>(std::make_unique<FileStream>(std::move(reader).value()));
  }

 private:
  std::string path_;
};

class MemoryStream : public RecordStream {
 public:
  explicit MemoryStream(const std::vector<trace::Record>* records) : records_(records) {}
  bool Next(trace::Record* record) override {
    if (next_ == records_->size()) return false;
    *record = (*records_)[next_++];
    return true;
  }
  Status status() const override { return Status::Ok(); }

 private:
  const std::vector<trace::Record>* records_;
  size_t next_ = 0;
};

class MemorySource : public TraceSource {
 public:
  MemorySource(std::vector<trace::Record> records, std::string name)
      : records_(std::move(records)), name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  Result<std::unique_ptr<RecordStream>> Open() const override {
    return std::unique_ptr<RecordStream>(std::make_unique<MemoryStream>(&records_));
  }

 private:
  std::vector<trace::Record> records_;
  std::string name_;
};

}  // namespace

std::unique_ptr<TraceSource> FileTrace(std::string path) {
  return std::make_unique<FileSource>(std::move(path));
}

std::unique_ptr<TraceSource> MemoryTrace(std::vector<trace::Record> records, std::string name) {
  return std::make_unique<MemorySource>(std::move(records), std::move(name));
}

}  // namespace ordo::replay
