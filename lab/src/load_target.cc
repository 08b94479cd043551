#include "load_target.h"

#include <filesystem>

namespace ordo::lab {

Result<std::unique_ptr<LoadTarget>> LoadTarget::Open(const LoadgenOptions& c) {
  std::unique_ptr<LoadTarget> t(new LoadTarget);
  if (plugin::IsEngineSpec(c.engine)) {
    plugin::EngineSpec spec = plugin::ParseEngineSpec(c.engine);
    ORDO_RETURN_IF_ERROR(plugin::EngineLibrary::Probe(spec.path));
    auto lib = plugin::EngineLibrary::Load(spec.path);
    if (!lib.ok()) return lib.status();
    // The engine's own directory, without the target's claim files.
    const std::string dir = c.target + "/engine";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IoError(dir + ": " + ec.message());
    auto e = plugin::HostedEngine::Open(std::move(lib).value(), dir, spec.config, &t->free_running_,
                                        nullptr, c.seed);
    if (!e.ok()) return e.status();
    t->hosted_ = std::move(e).value();
    return t;
  }
  engine::EngineOptions o;
  if (!engine::ParseEngineMode(c.engine, &o.mode)) {
    return Status::InvalidArgument("engine \"" + c.engine +
                                   "\": not legacy, fixed or PATH.so[:key=value,...]");
  }
  o.cache_blocks = 512;
  o.segment_blocks = 64;
  o.compaction_interval_ms = 5;
  auto e = engine::Engine::Open(c.target, o);
  if (!e.ok()) return e.status();
  t->builtin_ = std::move(e).value();
  return t;
}

Status LoadTarget::Read(const char* file, uint64_t offset, uint64_t length, std::string* out) {
  if (builtin_) return builtin_->Read(file, offset, length, out);
  out->assign(length, '\0');  // the ABI hands the engine a zeroed buffer
  ordo_request r = Request(ORDO_OP_READ, file, offset, length);
  r.out = out->data();
  return hosted_->Apply(r);
}

Status LoadTarget::Write(const char* file, uint64_t offset, std::string_view data) {
  if (builtin_) return builtin_->Write(file, offset, data);
  ordo_request r = Request(ORDO_OP_WRITE, file, offset, data.size());
  r.data = data.data();
  return hosted_->Apply(r);
}

Status LoadTarget::Fsync(const char* file) {
  if (builtin_) return builtin_->Fsync(file);
  return hosted_->Apply(Request(ORDO_OP_FSYNC, file, 0, 0));
}

void LoadTarget::Background(LoadgenResult* result) const {
  if (!builtin_) return;
  engine::EngineStats st = builtin_->stats();
  result->builtin = true;
  result->prefetched = st.prefetch_filled;
  result->relocated = st.blocks_relocated;
}

Status LoadTarget::Close() { return builtin_ ? builtin_->Close() : hosted_->Close(); }

bool LoadTarget::IsReadVerifyFailure(const Status& s) const {
  if (s.code() != StatusCode::kVerifyFailed) return false;
  return builtin_ || hosted_->failure().kind == ORDO_FAILURE_VERIFY;
}

ordo_request LoadTarget::Request(ordo_op op, const char* file, uint64_t offset, uint64_t length) {
  ordo_request r{};
  r.size = sizeof(ordo_request);
  r.op = op;
  r.file = file;
  r.offset = offset;
  r.length = length;
  return r;
}

}  // namespace ordo::lab
