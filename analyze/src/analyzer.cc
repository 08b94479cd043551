#include "ordo/analyze/analyzer.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "ordo/trace/reader.h"

namespace ordo::analyze {

namespace {

using trace::EngineEventKind;
using VC = std::vector<uint32_t>;

// One step of one thread, as far as ordering is concerned: x happens before
// a later point of thread u iff clock_u[x.thread] >= x.stamp.
struct Step {
  uint32_t thread = 0;  // dense index
  uint32_t stamp = 0;   // the thread's own clock component at the step
  uint64_t seq = 0;     // history index
};

struct WriteRegion {
  Step lock;
  Step unlock;
  bool open = true;
};

struct Mark {
  Step fill;
  Step mark;
};

struct Compaction {
  Step pending;  // "last write pending" set, "cache ready" cleared
  Step ready;    // "cache ready" set, "pending" cleared
  bool open = true;
};

struct CheckPair {  // legacy verify order: "cache ready" read, then "pending"
  uint64_t block = 0;
  Step ready_read;
  VC clock_at_read;  // the reader's clock at its "cache ready" read
};

EngineEventKind Kind(uint16_t k) { return static_cast<EngineEventKind>(k); }

}  // namespace

struct Analyzer::Impl {
  AnalyzerOptions options;
  uint64_t events = 0;
  std::unordered_map<uint32_t, uint32_t> dense;  // recorded tid -> index
  std::vector<uint32_t> tids;                    // index -> recorded tid
  std::vector<VC> clock;                         // per thread
  std::unordered_map<uint64_t, VC> lock_release;  // block -> clock at its last unlock
  std::unordered_map<uint64_t, VC> issued;        // block -> clock at its last prefetch issue
  // Per block, the latest of each kind per thread: live state, not history.
  std::unordered_map<uint64_t, std::unordered_map<uint32_t, WriteRegion>> writes;
  std::unordered_map<uint64_t, std::unordered_map<uint32_t, Mark>> marks;
  std::unordered_map<uint32_t, Step> last_fill;  // per thread (its next mark pairs with it)
  std::unordered_map<uint64_t, std::unordered_map<uint32_t, Compaction>> compactions;
  std::unordered_map<uint32_t, CheckPair> checks;  // per thread, awaiting its "pending" read
  std::vector<Finding> findings;
  std::unordered_map<std::string, size_t> by_signature;
  // The latest instance of each rule on each block, so a read-verify failure
  // on that block can show the instance that manifested.
  std::unordered_map<std::string, Finding> latest;  // rule + block

  uint32_t Thread(uint32_t tid) {
    auto [it, fresh] = dense.try_emplace(tid, static_cast<uint32_t>(tids.size()));
    if (fresh) {
      tids.push_back(tid);
      clock.emplace_back();
    }
    return it->second;
  }
  static void Join(VC& into, const VC& from) {
    if (into.size() < from.size()) into.resize(from.size(), 0);
    for (size_t i = 0; i < from.size(); ++i) into[i] = std::max(into[i], from[i]);
  }
  uint32_t At(const VC& c, uint32_t t) const { return t < c.size() ? c[t] : 0; }
  // Does `x` happen before the current point of thread t?
  bool Before(const Step& x, uint32_t t) const { return At(clock[t], x.thread) >= x.stamp; }

  std::string Where(uint64_t block) const {
    return fmt::format("block {} of file {} (offset {})", block & 0xffffffffu, block >> 32,
                       (block & 0xffffffffu) * options.block_size);
  }

  static std::string Key(const std::string& rule, uint64_t block) { return rule + "@" + std::to_string(block); }

  void Report(Finding f) {
    f.file = static_cast<uint32_t>(f.block >> 32);
    f.offset = (f.block & 0xffffffffu) * options.block_size;
    latest[Key(f.rule, f.block)] = f;
    auto it = by_signature.find(f.signature);
    if (options.deduplicate && it != by_signature.end()) {
      ++findings[it->second].count;
      return;
    }
    by_signature[f.signature] = findings.size();
    findings.push_back(std::move(f));
  }

  // A read-verify failure on `block`: the rule's latest instance there
  // manifested; it becomes the example shown for its signature.
  void Manifested(const std::string& rule, uint64_t block) {
    auto inst = latest.find(Key(rule, block));
    if (inst == latest.end()) return;
    Finding f = inst->second;
    f.manifested = true;
    auto it = by_signature.find(f.signature);
    if (it == by_signature.end()) {
      by_signature[f.signature] = findings.size();
      findings.push_back(std::move(f));
      return;
    }
    Finding& shown = findings[it->second];
    if (!options.deduplicate) {
      shown.manifested = true;
      return;
    }
    if (!shown.manifested) {
      f.count = shown.count;
      shown = std::move(f);
    }
  }

  void StaleClean(uint64_t block, uint32_t w, const WriteRegion& r, const Mark& m, bool observed) {
    Finding f;
    f.rule = "FPRE004-A";
    f.signature = "FPRE004-A:block_lock(write)|prefetch_fill|prefetch_mark_clean|block_unlock(write)";
    f.block = block;
    f.threads = {tids[w], tids[m.mark.thread]};
    f.events = {r.lock.seq, m.fill.seq, m.mark.seq};
    if (!r.open) f.events.push_back(r.unlock.seq);
    std::sort(f.events.begin(), f.events.end());
    std::string unlock = r.open ? "its unlock comes later" : fmt::format("its unlock at #{}", r.unlock.seq);
    f.explanation = fmt::format(
        "T{} took the write lock on {} at #{}; T{} filled a buffer for it at #{} and marked it clean at #{}, {} "
        "T{}'s unlock ({}); nothing (no lock, no prefetch hand-off) orders the mark after the write, so the "
        "buffer can hold the bytes from before the write while the checksum is the new one: FPRE004-A",
        tids[w], Where(block), r.lock.seq, tids[m.mark.thread], m.fill.seq, m.mark.seq,
        observed ? "while the lock was held, not ordered after" : "not ordered after", tids[w], unlock);
    Report(std::move(f));
  }

  void VerifyOrder(uint64_t block, uint32_t r, const CheckPair& c, const Step& pending_read, uint32_t ct,
                   const Compaction& comp) {
    Finding f;
    f.rule = "FPRE004-B";
    f.signature = "FPRE004-B:verify_check_cache_ready>verify_check_pending|compact_last_write_pending|compact_cache_ready";
    f.block = block;
    f.threads = {tids[ct], tids[r]};
    f.events = {comp.pending.seq, c.ready_read.seq, pending_read.seq};
    if (!comp.open) f.events.push_back(comp.ready.seq);
    std::sort(f.events.begin(), f.events.end());
    f.explanation = fmt::format(
        "T{} set \"last write pending\" and cleared \"cache ready\" on {} at #{} and {}; T{} read \"cache ready\" "
        "at #{} and then \"last write pending\" at #{} (the legacy order); nothing orders T{}'s two reads with "
        "T{}'s steps, so it can read \"not ready\" before compaction ends and \"not pending\" after it, a pair "
        "that never existed: FPRE004-B",
        tids[ct], Where(block), comp.pending.seq,
        comp.open ? "had not yet set \"cache ready\" again" : fmt::format("set \"cache ready\" again at #{}", comp.ready.seq),
        tids[r], c.ready_read.seq, pending_read.seq, tids[r], tids[ct]);
    Report(std::move(f));
  }

  void Add(const trace::EngineRecord& e) {
    ++events;
    uint32_t t = Thread(e.tid);
    VC& vc = clock[t];
    if (vc.size() <= t) vc.resize(t + 1, 0);
    ++vc[t];
    Step here{t, vc[t], e.seq};
    const uint64_t b = e.block;
    // A legacy check pair is two adjacent steps of one verify.
    if (Kind(e.kind) != EngineEventKind::kVerifyCheckPending) {
      auto pending = checks.find(t);
      if (pending != checks.end() && Kind(e.kind) != EngineEventKind::kVerifyCheckCacheReady) checks.erase(pending);
    }
    switch (Kind(e.kind)) {
      case EngineEventKind::kBlockLock: {
        if (auto it = lock_release.find(b); it != lock_release.end()) Join(vc, it->second);
        if (e.arg != 0) break;  // prefetch (1) or compaction (2): not a write
        WriteRegion r;
        r.lock = here;
        // Marks not ordered before this write could fall inside it.
        for (auto& [mt, m] : marks[b]) {
          if (mt != t && !Before(m.mark, t)) StaleClean(b, t, r, m, false);
        }
        writes[b][t] = r;
        break;
      }
      case EngineEventKind::kBlockUnlock: {
        lock_release[b] = vc;
        if (e.arg == 0) {
          auto it = writes[b].find(t);
          if (it != writes[b].end()) {
            it->second.open = false;
            it->second.unlock = here;
          }
        }
        break;
      }
      case EngineEventKind::kPrefetchIssue:
        issued[b] = vc;
        break;
      case EngineEventKind::kPrefetchFill:
        if (auto it = issued.find(b); it != issued.end()) Join(vc, it->second);
        last_fill[t] = here;
        break;
      case EngineEventKind::kPrefetchMarkClean: {
        Mark m{last_fill.count(t) ? last_fill[t] : here, here};
        for (auto& [wt, r] : writes[b]) {
          if (wt == t) continue;
          if (r.open) {
            StaleClean(b, wt, r, m, true);
          } else if (!Before(r.unlock, t)) {
            StaleClean(b, wt, r, m, false);
          }
        }
        marks[b][t] = m;
        break;
      }
      case EngineEventKind::kCompactLastWritePending: {
        Compaction c;
        c.pending = here;
        compactions[b][t] = c;
        break;
      }
      case EngineEventKind::kCompactCacheReady: {
        auto it = compactions[b].find(t);
        if (it != compactions[b].end()) {
          it->second.open = false;
          it->second.ready = here;
        }
        break;
      }
      case EngineEventKind::kVerifyCheckCacheReady:
        checks[t] = CheckPair{b, here, vc};
        break;
      case EngineEventKind::kVerifyCheckPending: {
        auto it = checks.find(t);
        if (it != checks.end() && it->second.block == b) {
          // Legacy order. Any compaction of the block not ordered with the
          // two reads can interleave between them.
          for (auto& [ct, c] : compactions[b]) {
            if (ct == t) continue;
            // Ordered (no finding) only if the compaction's end happens
            // before the first read: then both reads see its final state.
            bool ended_before = !c.open && At(it->second.clock_at_read, c.ready.thread) >= c.ready.stamp;
            if (!ended_before) VerifyOrder(b, t, it->second, here, ct, c);
          }
        }
        checks.erase(t);
        break;
      }
      case EngineEventKind::kVerifyFail: {
        // arg 1: checksum mismatch (A); arg 2: inconsistent flags (B).
        Manifested(e.arg == 2 ? "FPRE004-B" : "FPRE004-A", b);
        break;
      }
      default:
        break;
    }
  }
};

Analyzer::Analyzer(const AnalyzerOptions& options) : impl_(std::make_unique<Impl>()) { impl_->options = options; }
Analyzer::~Analyzer() = default;
void Analyzer::Add(const trace::EngineRecord& event) { impl_->Add(event); }
std::vector<Finding> Analyzer::Findings() const { return impl_->findings; }
uint64_t Analyzer::events() const { return impl_->events; }

Result<AnalyzeResult> AnalyzeTrace(const std::string& path, const AnalyzerOptions& options) {
  auto reader = trace::TraceReader::Open(path);
  if (!reader.ok()) return reader.status();
  auto t0 = std::chrono::steady_clock::now();
  Analyzer a(options);
  AnalyzeResult res;
  trace::Record r;
  while ((*reader)->Next(&r)) {
    ++res.records;
    if (r.kind == trace::RecordKind::kEngine) a.Add(r.engine);
  }
  if (!(*reader)->status().ok()) return (*reader)->status();
  res.findings = a.Findings();
  res.events = a.events();
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace ordo::analyze
