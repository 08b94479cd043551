// AnalyzeTrace: a trace streamed through the analyzer, decoding on its own
// thread a few batches ahead of the analysis.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "analysis.h"
#include "ordo/trace/reader.h"

namespace ordo::analyze {

namespace {

// Engine events handed from the decoding thread to the analyzing one, in
// batches; at most kBatches of them exist, so memory stays bounded.
class EventPipe {
 public:
  static constexpr size_t kBatch = 4096;
  static constexpr size_t kBatches = 4;
  // An engine event, or a site table entry (site: block = id, arg =
  // access), in history order: a site judges only the events after it.
  struct Item {
    trace::EngineRecord event;
    bool site = false;
  };
  using Batch = std::vector<Item>;

  EventPipe() {
    for (size_t i = 0; i < kBatches; ++i) empty_.emplace_back().reserve(kBatch);
  }
  // Producer: an empty batch to fill (waits while all are in use).
  Batch TakeEmpty() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !empty_.empty(); });
    Batch b = std::move(empty_.back());
    empty_.pop_back();
    b.clear();
    return b;
  }
  void PutFull(Batch b, bool last) {
    std::lock_guard<std::mutex> lock(mu_);
    full_.push_back(std::move(b));
    done_ = last;
    cv_.notify_all();
  }
  // Consumer: the next filled batch; false once the producer is done and all are taken.
  bool TakeFull(Batch* b) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !full_.empty() || done_; });
    if (full_.empty()) return false;
    *b = std::move(full_.front());
    full_.pop_front();
    return true;
  }
  void GiveBack(Batch b) {
    std::lock_guard<std::mutex> lock(mu_);
    empty_.push_back(std::move(b));
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Batch> empty_;
  std::deque<Batch> full_;
  bool done_ = false;
};

}  // namespace

Result<AnalyzeResult> AnalyzeTrace(const std::string& path, const AnalyzerOptions& options) {
  auto reader = trace::TraceReader::Open(path);
  if (!reader.ok()) return reader.status();
  auto t0 = std::chrono::steady_clock::now();
  Analyzer a(options);
  if (!a.status().ok()) return a.status();  // no rule selected
  AnalyzeResult res;
  res.header = (*reader)->header();
  // Decoding runs on its own thread, a few batches ahead of the analysis.
  EventPipe pipe;
  // Site names travel beside the pipe (sites are few; events stay small).
  std::mutex names_mu;
  absl::flat_hash_map<uint32_t, std::string> names;
  std::thread decoder([&] {
    EventPipe::Batch b = pipe.TakeEmpty();
    trace::Record r;
    while ((*reader)->Next(&r)) {
      ++res.records;
      if (r.kind == trace::RecordKind::kSite) {
        EventPipe::Item site;
        site.site = true;
        site.event.block = r.site.site;
        site.event.arg = r.site.access;
        {
          std::lock_guard<std::mutex> lock(names_mu);
          names[r.site.site] = r.site.name;
        }
        b.push_back(site);
      } else if (r.kind == trace::RecordKind::kEngine) {
        b.push_back(EventPipe::Item{r.engine, false});
      } else {
        continue;
      }
      if (b.size() == EventPipe::kBatch) {
        pipe.PutFull(std::move(b), false);
        b = pipe.TakeEmpty();
      }
    }
    pipe.PutFull(std::move(b), true);
  });
  // Within a batch, the block state each event will touch is prefetched
  // kAhead events before it, in two stages: its hash slot at kAhead, the
  // state itself at kAhead / 2.
  constexpr size_t kAhead = 16;
  EventPipe::Batch b;
  while (pipe.TakeFull(&b)) {
    for (size_t i = 0; i < b.size(); ++i) {
      if (i + kAhead < b.size()) a.Prefetch(b[i + kAhead].event.block, false);
      if (i + kAhead / 2 < b.size()) a.Prefetch(b[i + kAhead / 2].event.block, true);
      if (b[i].site) {
        const auto id = static_cast<uint32_t>(b[i].event.block);
        std::string name;
        {
          std::lock_guard<std::mutex> lock(names_mu);
          name = names[id];
        }
        a.AddSite(trace::SiteRecord{id, static_cast<uint8_t>(b[i].event.arg), std::move(name)});
      } else {
        a.Add(b[i].event);
      }
    }
    pipe.GiveBack(std::move(b));
  }
  decoder.join();
  if (!(*reader)->status().ok()) return (*reader)->status();
  if (!a.status().ok()) return a.status().WithContext(path).WithFile(path);
  res.findings = a.Findings();
  if (options.candidates_per_signature > 0) res.candidates = a.Candidates();
  res.events = a.events();
  res.unknown_site_events = a.unknown_site_events();
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace ordo::analyze
