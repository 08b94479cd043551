// The built-in engine's ordo_engine_ops: the engine ABI's entry points over
// engine::Engine, with the host given at open as the engine's host.
#include <fmt/core.h>

#include <charconv>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "ordo/engine/builtin.h"
#include "ordo/engine/engine.h"

namespace ordo::engine {

namespace {

void Fill(ordo_failure* f, const Status& s, uint32_t kind, uint64_t object) {
  if (f == nullptr || f->size < sizeof(ordo_failure)) return;
  f->kind = kind;
  f->object = object;
  f->offset = s.has_offset() ? s.offset() : 0;
  std::snprintf(f->file, sizeof f->file, "%s", s.file().c_str());
  std::snprintf(f->message, sizeof f->message, "%s", s.message().c_str());
}

int Outcome(Engine* e, const Status& s, ordo_failure* f) {
  if (s.ok()) return ORDO_OK;
  if (s.code() == StatusCode::kVerifyFailed) {
    Fill(f, s, ORDO_FAILURE_VERIFY, e != nullptr ? e->BlockAt(s.file(), s.offset()) : 0);
    return ORDO_FAILED;
  }
  Fill(f, s, 0, 0);
  return ORDO_ERROR;
}

bool Number(std::string_view v, uint64_t* out) {
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  return ec == std::errc() && p == v.data() + v.size();
}

Status ParseConfig(std::string_view config, EngineOptions* o) {
  while (!config.empty()) {
    size_t comma = config.find(',');
    std::string_view item = config.substr(0, comma);
    config = comma == std::string_view::npos ? std::string_view() : config.substr(comma + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    uint64_t n = 0;
    if (key == "mode") {
      if (!ParseEngineMode(value, &o->mode)) {
        return Status::InvalidArgument(
            fmt::format("mode must be legacy or fixed, not \"{}\"", value));
      }
      continue;
    }
    if (!Number(value, &n) || n > (1u << 30)) {
      return Status::InvalidArgument(fmt::format("\"{}\" is not a number for {}", value, key));
    }
    if (key == "compaction_every_writes") {
      o->compaction_every_writes = static_cast<uint32_t>(n);
    } else if (key == "prefetch_workers") {
      o->prefetch_workers = static_cast<int>(n);
    } else if (key == "prefetch_depth") {
      o->prefetch_depth = static_cast<uint32_t>(n);
    } else if (key == "cache_blocks") {
      o->cache_blocks = n;
    } else if (key == "compaction") {
      o->compaction = n != 0;
    } else {
      return Status::InvalidArgument(fmt::format(
          "unknown key \"{}\" (mode, compaction_every_writes, prefetch_workers, prefetch_depth, "
          "cache_blocks, compaction)",
          key));
    }
  }
  return Status::Ok();
}

int Open(const ordo_host* host, const char* dir, const char* config, void** engine,
         ordo_failure* failure) {
  EngineOptions o;
  o.host = host;
  o.compaction_every_writes = 32;
  o.compaction_interval_ms = 0;  // the host owns the threads: no timer of our own
  Status s = ParseConfig(config != nullptr ? config : "", &o);
  if (!s.ok()) return Outcome(nullptr, s.WithContext("built-in engine config"), failure);
  auto e = Engine::Open(dir, o);
  if (!e.ok()) return Outcome(nullptr, e.status(), failure);
  *engine = e.value().release();
  return ORDO_OK;
}

int Apply(void* engine, const ordo_request* r, ordo_failure* failure) {
  auto* e = static_cast<Engine*>(engine);
  std::string_view file = r->file != nullptr ? r->file : "";
  switch (r->op) {
    case ORDO_OP_READ: {
      thread_local std::string out;  // reused: a read allocates nothing
      Status s = e->Read(file, r->offset, r->length, &out);
      if (s.ok() && r->out != nullptr) {
        std::memcpy(r->out, out.data(), std::min<size_t>(out.size(), r->length));
        if (out.size() < r->length)
          std::memset(static_cast<char*>(r->out) + out.size(), 0, r->length - out.size());
      }
      return Outcome(e, s, failure);
    }
    case ORDO_OP_WRITE:
      return Outcome(
          e,
          e->Write(file, r->offset, std::string_view(static_cast<const char*>(r->data), r->length)),
          failure);
    case ORDO_OP_FSYNC:
      return Outcome(e, e->Fsync(file), failure);
    default:
      return Outcome(e, Status::Unsupported(fmt::format("request op {} is not supported", r->op)),
                     failure);
  }
}

int Check(void* engine, ordo_failure* failure) {
  auto* e = static_cast<Engine*>(engine);
  return Outcome(e, e->VerifyDisk(), failure);
}

int Close(void* engine, ordo_failure* failure) {
  std::unique_ptr<Engine> e(static_cast<Engine*>(engine));
  e->Quiesce();
  return Outcome(nullptr, e->Close(), failure);
}

const ordo_engine_ops kOps = {sizeof(ordo_engine_ops),
                              ORDO_ENGINE_ABI_MAJOR,
                              ORDO_ENGINE_ABI_MINOR,
                              "built-in",
                              &Open,
                              &Apply,
                              &Check,
                              &Close};

}  // namespace

const ordo_engine_ops* BuiltinEngineOps() { return &kOps; }

}  // namespace ordo::engine
