// The hostile user, continued: every --json outcome is one document (errors
// included), replays whose operations fail are not a pass, a trace with no
// engine events is not judged, analysis memory has a limit a generated
// history cannot push past, replay JSON counts are not trusted, and loadgen
// and demo lock their directories as replay does.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"
#include "trace_test_util.h"

namespace ordo {
namespace {

namespace fs = std::filesystem;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif
using nlohmann::json;
using K = trace::EngineEventKind;

const std::string kSyscallsOnly = std::string(ORDO_SOURCE_DIR) + "/traces/fio-writer-reader.ordo";

class Outcomes : public Cli {
 protected:
  // stdout must be exactly one JSON document.
  static json One(const CmdResult& r) {
    json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << "not one JSON document:\n" << r.out << r.err;
    return j;
  }
  // One thread reading `length` bytes at `offset` of a 1 MiB file.
  std::string ReadTrace(const std::string& name, uint64_t offset, uint64_t length) {
    trace::FileRecord f;
    f.file = 1;
    f.size = 1 << 20;
    f.path = "/data/f";
    trace::IoRecord io;
    io.op = trace::IoOp::kPread;
    io.pid = io.tid = 7;
    io.file = 1;
    io.offset = offset;
    io.length = length;
    io.result = static_cast<int64_t>(length);
    io.start_ns = 1000;
    io.end_ns = 2000;
    return WriteFile(name,
                     ordo::testing::WriteTrace({trace::Record::File(f), trace::Record::Io(io)}));
  }
  // A history whose vector clocks are dense: every thread joins all others
  // through block 0, then releases blocks / threads blocks of its own.
  std::string DenseHistory(const std::string& name, uint32_t threads, uint32_t blocks) {
    std::vector<trace::Record> rs;
    uint64_t seq = 0;
    auto add = [&](uint32_t tid, K k, uint64_t block) {
      trace::EngineRecord e;
      e.tid = tid;
      e.kind = static_cast<uint16_t>(k);
      e.block = block;
      e.arg = 1;
      e.seq = seq++;
      rs.push_back(trace::Record::Engine(e));
    };
    for (uint32_t t = 0; t < threads; ++t) {
      add(1000 + t, K::kBlockLock, 0);
      add(1000 + t, K::kBlockUnlock, 0);
    }
    uint32_t next = 1;
    for (uint32_t t = 0; t < threads; ++t) {
      add(1000 + t, K::kBlockLock, 0);
      add(1000 + t, K::kBlockUnlock, 0);
      for (uint32_t k = 0; k < blocks / threads; ++k, ++next) {
        add(1000 + t, K::kBlockLock, next);
        add(1000 + t, K::kBlockUnlock, next);
      }
    }
    return WriteFile(name, ordo::testing::WriteTrace(rs));
  }
  // `ordo ARGS` with its address space limited to `mib` MiB (ulimit -v).
  // Runs ordo under an address-space limit of MIB. An AddressSanitizer
  // build reserves terabytes of shadow memory at start-up, so there the
  // limit is left off and only ordo's own caps are exercised.
  CmdResult Limited(int mib, const std::string& args) {
    std::string limit = kAddressSanitizer ? "" : "ulimit -v " + std::to_string(mib << 10) + " && ";
    std::string sh = "sh -c '" + limit + "exec " + ORDO_BIN + " " + args + "' >" + dir_ +
                     "/out 2>" + dir_ + "/err";
    int st = system(sh.c_str());
    CmdResult r;
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.out = Slurp(dir_ + "/out");
    r.err = Slurp(dir_ + "/err");
    return r;
  }
  // Holds flock on DIR/.ordo-lock from another process, as a running ordo does.
  pid_t HoldLock(const std::string& dir) {
    fs::create_directories(dir);
    std::ofstream(dir + "/.ordo-target");  // ordo's directory, as a first run leaves it
    int fd = open((dir + "/.ordo-lock").c_str(), O_RDWR | O_CREAT, 0644);
    EXPECT_GE(fd, 0);
    pid_t holder = fork();
    if (holder == 0) {
      flock(fd, LOCK_EX);
      std::string pid = std::to_string(getpid()) + "\n";
      (void)!pwrite(fd, pid.data(), pid.size(), 0);
      pause();
      _exit(0);
    }
    close(fd);
    for (int i = 0; i < 1000 && Slurp(dir + "/.ordo-lock") != std::to_string(holder) + "\n"; ++i)
      usleep(10000);
    return holder;
  }
  static void Release(pid_t holder) {
    kill(holder, SIGKILL);
    waitpid(holder, nullptr, 0);
  }
};

TEST_F(Outcomes, EveryJsonCommandPrintsOneErrorDocumentOnBadInput) {
  const std::string missing = dir_ + "/missing.ordo";
  const std::string junk = WriteFile("junk.ordo", "this is not a trace at all, not even close");
  for (const std::string& cmd :
       {"trace info --json " + missing, "trace stat --json " + missing,
        "trace cat --json " + missing, "analyze --json " + missing,
        "replay --json " + missing + " --target " + dir_ + "/t", "trace info --json " + junk,
        "trace stat --json " + junk, "trace cat --json " + junk, "analyze --json " + junk,
        "replay --json " + junk + " --target " + dir_ + "/t",
        "replay --json " + kSyscallsOnly + " --target " + dir_ + "/t --timing sideways",
        "trace stat --json --block-size 0 " + kSyscallsOnly,
        "analyze --json --max-memory lots " + kSyscallsOnly,
        "analyze --json --no-such-flag " + kSyscallsOnly, std::string("replay --json")}) {
    CmdResult r = Ordo(cmd);
    EXPECT_EQ(r.code, 2) << cmd << "\n" << r.err;
    json j = One(r);
    ASSERT_TRUE(j.is_object()) << cmd;
    EXPECT_EQ(j["exit_code"], 2) << cmd;
    ASSERT_TRUE(j["error"].is_object()) << cmd << "\n" << r.out;
    EXPECT_FALSE(j["error"]["message"].get<std::string>().empty()) << cmd;
    EXPECT_TRUE(j["error"].contains("file") && j["error"].contains("offset")) << cmd;
  }
  // Structured location: the file and the byte offset of the damage.
  json j = One(Ordo("trace info --json " + junk));
  EXPECT_EQ(j["error"]["file"], junk);
  EXPECT_EQ(j["error"]["offset"], 0);
  j = One(Ordo("analyze --json " + missing));
  EXPECT_EQ(j["error"]["file"], missing);
  EXPECT_TRUE(j["error"]["offset"].is_null());
}

TEST_F(Outcomes, DamageFoundWhileStreamingKeepsStdoutOneDocument) {
  trace::WriterOptions small_chunks;
  small_chunks.max_chunk_records = 500;
  std::string bytes =
      ordo::testing::WriteTrace(ordo::testing::RandomRecords(5, 3000), small_chunks);
  std::string cut = WriteFile("cut.ordo", bytes.substr(0, bytes.size() * 2 / 3));
  for (const std::string& sub : {"info", "stat", "cat"}) {
    CmdResult r = Ordo("trace " + sub + " --json " + cut);
    EXPECT_EQ(r.code, 2) << sub << r.err;
    json j = One(r);
    json err = sub == "cat" ? j.back() : j;  // cat: the array's last element
    EXPECT_EQ(err["exit_code"], 2) << sub << "\n" << r.out.substr(r.out.size() - 300);
    EXPECT_EQ(err["error"]["file"], cut) << sub;
    EXPECT_TRUE(err["error"]["offset"].is_number()) << sub;
  }
}

TEST_F(Outcomes, ReplayWhoseOperationsFailIsAnErrorNotAPass) {
  // O_DIRECT refuses a read that is not block-aligned: every run's one
  // operation fails with EINVAL, which is neither FPRE004 nor a pass.
  std::string t = ReadTrace("unaligned.ordo", 1, 100);
  CmdResult r =
      Ordo("replay --json --runs 1 --backend file --direct " + t + " --target " + dir_ + "/tg");
  EXPECT_EQ(r.code, 2) << r.err;
  json j = One(r);
  EXPECT_EQ(j["outcome"], "error") << r.out;
  EXPECT_EQ(j["errors"], 1);
  EXPECT_NE(j["first_error"].get<std::string>().find("pread"), std::string::npos) << r.out;
  r = Ordo("replay --backend file --direct " + t + " --target " + dir_ + "/tg");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("outcome: error"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("outcome: pass"), std::string::npos) << r.out;
  // The same trace, aligned, is replayed: plain files cannot show FPRE004,
  // so the outcome says what was done, not "pass".
  r = Ordo("replay --json --backend file --direct " + ReadTrace("aligned.ordo", 4096, 4096) +
           " --target " + dir_ + "/tg");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(One(r)["outcome"], "replayed");
  EXPECT_EQ(One(r)["fpre004_judged"], false);
}

const std::string kEngineSample = std::string(ORDO_SOURCE_DIR) + "/traces/loadgen-b.ordo";

TEST_F(Outcomes, FileBackendMakesOneUncontrolledRunByDefault) {
  CmdResult r = Ordo("replay --json " + kSyscallsOnly + " --backend file --target " + dir_ + "/tg");
  EXPECT_EQ(r.code, 0) << r.err;
  json j = One(r);
  EXPECT_EQ(j["runs"], 1) << r.out;
  EXPECT_EQ(j["strategy"], "none");
  EXPECT_EQ(j["outcome"], "replayed");
  r = Ordo("replay " + kSyscallsOnly + " --backend file --target " + dir_ + "/tg");
  EXPECT_NE(r.out.find("runs 1, "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("FPRE004 in"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("outcome: replayed"), std::string::npos) << r.out;
  // --runs still makes more; the engine backend still judges FPRE004.
  r = Ordo("replay --json --runs 3 " + kSyscallsOnly + " --backend file --target " + dir_ + "/tg");
  EXPECT_EQ(One(r)["runs"], 3) << r.out;
  r = Ordo("replay --json --runs 1 --engine fixed " + kEngineSample + " --target " + dir_ + "/te");
  EXPECT_EQ(One(r)["outcome"], "pass") << r.out;
  EXPECT_EQ(One(r)["fpre004_judged"], true);
}

TEST_F(Outcomes, FileBackendRefusesAStrategyItCannotApply) {
  for (const char* flags : {"--explore pos", "--explore auto",
                            "--explore targeted --focus "
                            "FPRE004-A:0:1:1"}) {
    CmdResult r =
        Ordo("replay " + kSyscallsOnly + " --backend file " + flags + " --target " + dir_ + "/tg");
    EXPECT_EQ(r.code, 2) << flags;
    EXPECT_NE(r.err.find("file backend"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(dir_ + "/tg"));
  EXPECT_EQ(
      Ordo("replay " + kSyscallsOnly + " --backend file --explore none --target " + dir_ + "/tg")
          .code,
      0);
}

TEST_F(Outcomes, AShardWithNoRunsSaysSo) {
  CmdResult r = Ordo("replay --json --backend file --runs 2 --shard 3/4 " + kSyscallsOnly +
                     " --target " + dir_ + "/tg");
  EXPECT_EQ(r.code, 0) << r.err;
  json j = One(r);
  EXPECT_EQ(j["runs"], 0);
  EXPECT_EQ(j["outcome"], "no runs");
  r = Ordo("replay --backend file --runs 2 --shard 3/4 " + kSyscallsOnly + " --target " + dir_ +
           "/tg");
  EXPECT_NE(r.out.find("outcome: no runs (shard 3/4 has none of the 2 runs)"), std::string::npos)
      << r.out;
}

TEST_F(Outcomes, ATraceWithoutEngineEventsIsNotJudged) {
  CmdResult r = Ordo("analyze --json " + kSyscallsOnly);
  EXPECT_EQ(r.code, 2) << r.err;
  json j = One(r);
  EXPECT_EQ(j["verdict"], "no engine history");
  EXPECT_EQ(j["events"], 0);
  EXPECT_EQ(j["exit_code"], 2);
  r = Ordo("analyze " + kSyscallsOnly);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out.find("no ordering found"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("no engine history"), std::string::npos) << r.err;
  for (const std::string& ext : {"md", "html"}) {
    std::string out = dir_ + "/r." + ext;
    r = Ordo("report " + kSyscallsOnly + " -o " + out);
    EXPECT_EQ(r.code, 0) << r.err;
    std::string page = Slurp(out);
    EXPECT_NE(page.find("no engine history"), std::string::npos) << page;
    EXPECT_EQ(page.find("| pass |"), std::string::npos) << page;
    EXPECT_EQ(page.find(">pass<"), std::string::npos) << page;
    EXPECT_EQ(page.find("No ordering found"), std::string::npos) << page;
  }
}

TEST_F(Outcomes, AHostileHistoryIsRefusedWithinItsMemoryLimit) {
  // ~80,000 events: 10,000 threads, 20,000 blocks; without limits the
  // analysis held ~1 GB of vector clocks. Under a 1 GiB address space it
  // must end cleanly: refused at the thread limit, or at the memory limit.
  std::string h = DenseHistory("hostile.ordo", 10000, 20000);
  CmdResult r = Limited(1024, "analyze --json " + h);
  EXPECT_EQ(r.code, 2) << r.err;
  json j = One(r);
  EXPECT_NE(j["error"]["message"].get<std::string>().find("4096 distinct threads"),
            std::string::npos)
      << r.out;
  r = Limited(1024, "analyze --max-threads 20000 --max-memory 128M " + h);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("limit of 128 MiB"), std::string::npos) << r.err;
  // A history within the limits is analyzed under the same address space.
  r = Limited(1024, "analyze --json " + DenseHistory("small.ordo", 64, 2000));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(One(r)["verdict"], "no ordering found");
}

TEST_F(Outcomes, ReportRefusesImpossibleCountsInReplayJson) {
  json base = {{"trace", "t.ordo"}, {"engine", "legacy"}, {"strategy", "pct"},
               {"depth", 10},       {"seed", 1},          {"runs", 2},
               {"runs_planned", 4}, {"shard", "1/2"},     {"failing_runs", json::array()}};
  std::string ok = WriteFile("ok.json", base.dump());
  // The other shard, so that the merge is complete (a missing shard is exit 2 too).
  json other = base;
  other["shard"] = "2/2";
  const std::string shard2 = " " + WriteFile("shard2.json", other.dump());
  CmdResult r = Ordo("report " + ok + shard2 + " -o " + dir_ + "/ok.md");
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::pair<std::string, json>> bad = {
      {"shard", "1/2000000000"},
      {"runs", -1},
      {"runs", 3},
      {"runs_planned", 0},
      {"runs_planned", -5},
      {"runs_planned", 4000000000ll},
      {"depth", 0},
      {"seed", -1},
      {"shard", "3/2"},
      {"failing_runs", json::array({{{"run", 9}, {"seed", 10}}})},
      {"failing_runs",
       json::array(
           {{{"run", 0}, {"seed", 1}}, {{"run", 2}, {"seed", 3}}, {{"run", 0}, {"seed", 1}}})}};
  for (const auto& [key, value] : bad) {
    json doc = base;
    doc[key] = value;
    std::string p = WriteFile("bad.json", doc.dump());
    r = Ordo("report " + p + shard2 + " -o " + dir_ + "/bad.md");
    EXPECT_EQ(r.code, 2) << key << "=" << value.dump() << "\n" << r.err;
    EXPECT_FALSE(fs::exists(dir_ + "/bad.md")) << key;
  }
}

TEST_F(Outcomes, LoadgenAndDemoLockTheirDirectoriesAsReplayDoes) {
  std::string t = dir_ + "/host";
  pid_t holder = HoldLock(t);
  CmdResult r = Ordo("loadgen --target " + t + " --duration 100ms");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("in use by another ordo (pid " + std::to_string(holder) + ")"),
            std::string::npos)
      << r.err;
  Release(holder);
  std::string w = dir_ + "/demo";
  fs::create_directories(w);
  WriteFile("demo/.ordo-demo", "made by ordo demo\n");
  holder = HoldLock(w);
  r = Ordo("demo --workdir " + w);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("in use by another ordo (pid " + std::to_string(holder) + ")"),
            std::string::npos)
      << r.err;
  Release(holder);
  // Not ordo's directory, or a symlink: refused before anything is written.
  fs::create_directories(dir_ + "/theirs");
  WriteFile("theirs/precious", "x");
  r = Ordo("loadgen --target " + dir_ + "/theirs --duration 100ms");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ + "/theirs"), {}), 1);
  ASSERT_EQ(symlink(t.c_str(), (dir_ + "/link").c_str()), 0);
  EXPECT_EQ(Ordo("loadgen --target " + dir_ + "/link/ --duration 100ms").code, 2);
}

}  // namespace
}  // namespace ordo
