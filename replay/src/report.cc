// A replay's report as text.
#include "ordo/replay/report.h"

#include <fmt/core.h>

#include "ordo/engine_abi.h"

namespace ordo::replay {

std::string ReproduceCommand(const ReplayReport& report, const RunOutcome& run) {
  return report.run_spec.OneRun(run.strategy, run.seed, run.focus).ToCommand();
}

std::string_view FailureKind(const RunOutcome& r) {
  if (r.hung) return "hang";
  if (r.deadlocked) return "deadlock";
  if (r.crashed) return "crash";
  if (r.failure_kind != ORDO_FAILURE_VERIFY) return "corruption";
  return "FPRE004";
}

FailureTally TallyFailures(const ReplaySummary& s) {
  FailureTally t;
  for (const auto& r : s.outcomes) {
    if (!r.failed) continue;
    t.crashes += r.crashed ? 1 : 0;
    t.corruptions += FailureKind(r) == "corruption" ? 1 : 0;
  }
  t.fpre004 = s.failures - t.crashes - t.corruptions;
  return t;
}

bool JudgesFpre004(const ReplayRequest& request) {
  return request.backend != BackendName(Backend::kFile);
}

std::string_view OutcomeOf(const ReplayRequest& q, const ReplaySummary& s) {
  if (!JudgesFpre004(q)) return s.errors > 0 ? "error" : s.runs == 0 ? "no runs" : "replayed";
  const FailureTally t = TallyFailures(s);
  return t.fpre004 > 0       ? "FPRE004"
         : t.corruptions > 0 ? "corruption"
         : s.failures > 0    ? "crash"
         : s.errors > 0      ? "error"
         : s.runs == 0       ? "no runs"
                             : "pass";
}

namespace {

double OpsPerSecond(const ReplaySummary& s) {
  return s.seconds > 0 ? static_cast<double>(s.ops) / s.seconds : 0;
}

// What was replayed, the runs made, and the latency of each kind of operation.
std::string Figures(const ReplayReport& report) {
  const ReplayRequest& q = report.request;
  const ReplaySummary& s = report.summary;
  const FailureTally t = TallyFailures(s);
  std::string out =
      fmt::format("replayed {} ({} threads, {} files, {} level) on the {} backend{}\n", q.trace,
                  s.threads, s.files, s.api_level ? "engine API" : "syscall", q.backend,
                  q.backend == BackendName(Backend::kEngine)
                      ? fmt::format(" ({} engine, explore {})", q.engine, q.strategy)
                      : "");
  if (q.shard_count > 1) {
    out += fmt::format("shard {}/{}: runs {}, {}, ... of 0..{} (seed {} + run)\n",
                       q.shard_index + 1, q.shard_count, q.shard_index,
                       q.shard_index + q.shard_count, q.runs_planned - 1, q.seed);
  }
  if (!JudgesFpre004(q)) {
    out += fmt::format("runs {}, {} ops in {:.2f} s ({:.0f} ops/s), {} failed I/O\n", s.runs, s.ops,
                       s.seconds, OpsPerSecond(s), s.errors);
  } else {
    out += fmt::format(
        "runs {}, FPRE004 in {}{}{}, {} ops in {:.2f} s ({:.0f} ops/s), {} other errors\n", s.runs,
        t.fpre004, t.corruptions ? fmt::format(", other corruption in {}", t.corruptions) : "",
        t.crashes ? fmt::format(", the engine crashed in {}", t.crashes) : "", s.ops, s.seconds,
        OpsPerSecond(s), s.errors);
  }
  out += fmt::format("{:<6} {:>10} {:>10} {:>10} {:>10}\n", "op", "count", "p50 us", "p99 us",
                     "p99.9 us");
  const char* names[] = {"read", "write", "sync"};
  for (int k = 0; k < 3; ++k) {
    const auto& h = s.latency[k];
    if (h.count() == 0) continue;
    out +=
        fmt::format("{:<6} {:>10} {:>10.1f} {:>10.1f} {:>10.1f}\n", names[k], h.count(),
                    h.Percentile(0.5) / 1e3, h.Percentile(0.99) / 1e3, h.Percentile(0.999) / 1e3);
  }
  if (q.timing != "fast" && s.issue_error.count()) {
    out += fmt::format("issue-time error vs the trace: p50 {:.1f} us, p99 {:.1f} us\n",
                       s.issue_error.Percentile(0.5) / 1e3, s.issue_error.Percentile(0.99) / 1e3);
  }
  return out;
}

// The first failure and the command that repeats it.
std::string FirstFailure(const ReplayReport& report) {
  const RunOutcome& f = *report.summary.first_failure;
  std::string out;
  if (f.crashed) {
    out = fmt::format("\nthe engine {} in run {} (seed {}): a {} finding\n  {}\n",
                      f.hung         ? "hung"
                      : f.deadlocked ? "deadlocked"
                                     : "crashed",
                      f.run, f.seed, FailureKind(f), f.message);
  } else if (FailureKind(f) == "corruption") {
    out = fmt::format(
        "\nthe engine detected corruption in run {} (seed {}): thread {}, its operation #{}\n"
        "  {}\n",
        f.run, f.seed, f.thread, f.op_index, f.message);
  } else {
    out = fmt::format(
        "\nFPRE004 reproduced in run {} (seed {}): thread {}, its operation #{}, history event "
        "#{}\n  {}\n",
        f.run, f.seed, f.thread, f.op_index, f.history_seq, f.message);
  }
  return out + fmt::format("reproduce with:\n  {}\n", ReproduceCommand(report, f));
}

std::string Signatures(const std::vector<SignatureStatus>& signatures) {
  std::string out;
  for (const auto& sig : signatures) {
    if (sig.confirmed) {
      out += fmt::format("{} confirmed in run {} ({} targeted run{}): {}\n", sig.rule,
                         sig.confirmed_by_run, sig.targeted_runs, sig.targeted_runs == 1 ? "" : "s",
                         sig.reproduce);
    } else {
      out +=
          fmt::format("{} predicted in run {}, not confirmed in {} targeted run{}\n", sig.rule,
                      sig.predicted_in_run, sig.targeted_runs, sig.targeted_runs == 1 ? "" : "s");
    }
  }
  return out;
}

// Operations that failed otherwise, the outcome when nothing failed, and the
// history kept.
std::string Ending(const ReplayReport& report) {
  const ReplayRequest& q = report.request;
  const ReplaySummary& s = report.summary;
  const char* interrupted =
      report.interrupted ? "; interrupted, the summary covers the runs made" : "";
  std::string out;
  const bool judged = JudgesFpre004(q);
  if (s.errors > 0) {
    out +=
        fmt::format("\n{} operation{} failed{}; the first: {}\n", s.errors,
                    s.errors == 1 ? "" : "s", judged ? " other than FPRE004" : "", s.first_error);
  }
  if (s.failures == 0 && s.errors > 0) {
    out += fmt::format("outcome: error (the replay did not execute the trace as captured){}\n",
                       interrupted);
  } else if (s.runs == 0) {
    out += fmt::format("\noutcome: no runs ({}){}\n",
                       q.shard_count > 1
                           ? fmt::format("shard {}/{} has none of the {} runs", q.shard_index + 1,
                                         q.shard_count, q.runs_planned)
                           : std::string("none was made"),
                       interrupted);
  } else if (!judged) {
    out += fmt::format(
        "\noutcome: replayed (every I/O as traced, in {} run{}; plain files cannot show FPRE004: "
        "replay on --backend engine to look for it){}\n",
        s.runs, s.runs == 1 ? "" : "s", interrupted);
  } else if (!s.first_failure) {
    out += fmt::format("\noutcome: pass (no FPRE004 in {} runs){}\n", s.runs, interrupted);
  }
  if (s.history_written) {
    out +=
        fmt::format("history of the {} run: {}\n",
                    s.first_failure && !s.first_failure->crashed ? "failing" : "last", q.history);
  } else if (!q.history.empty()) {
    out += "no history written: no run completed (a crashed run keeps none)\n";
  }
  return out;
}

}  // namespace

std::string RenderText(const ReplayReport& report) {
  std::string out = Figures(report);
  if (report.summary.first_failure) out += FirstFailure(report);
  return out + Signatures(report.signatures) + Ending(report);
}

}  // namespace ordo::replay
