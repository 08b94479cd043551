// The `ordo` binary run as a user runs it, for end-to-end tests: a fresh
// directory per test, the exit code, stdout and stderr of each command.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace ordo {

struct CmdResult {
  int code = -1;
  std::string out;
  std::string err;
};

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ordo-cli-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::string Slurp(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }

  CmdResult Ordo(const std::string& args, const std::string& stdin_file = "") {
    std::string cmd = std::string(ORDO_BIN) + " " + args + " >" + dir_ + "/out 2>" + dir_ + "/err";
    if (!stdin_file.empty()) cmd += " <" + stdin_file;
    int st = system(cmd.c_str());
    CmdResult r;
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    r.out = Slurp(dir_ + "/out");
    r.err = Slurp(dir_ + "/err");
    return r;
  }

  std::string WriteFile(const std::string& name, const std::string& bytes) {
    std::string p = dir_ + "/" + name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

  std::string dir_;
};

}  // namespace ordo
