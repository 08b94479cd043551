// `--shard K/N | auto`: the index and count each cluster scheduler gives a task.
#include "shard_spec.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace ordo::cli {
namespace {

struct FakeEnv {
  std::map<std::string, std::string> vars;
  GetEnv Get() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

Result<ShardSpec> Auto(std::map<std::string, std::string> vars) {
  FakeEnv env{std::move(vars)};
  return ParseShard("auto", env.Get());
}

TEST(ShardSpec, ExplicitKOfN) {
  FakeEnv env;
  auto s = ParseShard("3/16", env.Get());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->index, 2);
  EXPECT_EQ(s->count, 16);
  for (const char* bad : {"0/4", "5/4", "1", "1/0", "1/4x", "", "auto1"})
    EXPECT_FALSE(ParseShard(bad, env.Get()).ok()) << bad;
}

TEST(ShardSpec, SlurmArrayStartingAtOneOrZero) {
  auto s = Auto({{"SLURM_ARRAY_TASK_ID", "1"},
                 {"SLURM_ARRAY_TASK_MIN", "1"},
                 {"SLURM_ARRAY_TASK_MAX", "4"},
                 {"SLURM_ARRAY_TASK_COUNT", "4"}});
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->index, 0);
  EXPECT_EQ(s->count, 4);
  s = Auto({{"SLURM_ARRAY_TASK_ID", "3"},
            {"SLURM_ARRAY_TASK_MIN", "0"},
            {"SLURM_ARRAY_TASK_MAX", "3"},
            {"SLURM_ARRAY_TASK_COUNT", "4"}});
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->index, 3);
  EXPECT_EQ(s->count, 4);
}

TEST(ShardSpec, SlurmArrayWithAStep) {
  // --array=10-22:4 is tasks 10, 14, 18, 22.
  auto s = Auto({{"SLURM_ARRAY_TASK_ID", "18"},
                 {"SLURM_ARRAY_TASK_MIN", "10"},
                 {"SLURM_ARRAY_TASK_MAX", "22"},
                 {"SLURM_ARRAY_TASK_STEP", "4"},
                 {"SLURM_ARRAY_TASK_COUNT", "4"}});
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->index, 2);
  EXPECT_EQ(s->count, 4);
}

TEST(ShardSpec, SlurmListOrInconsistentVariablesAreRefused) {
  // --array=1,3,7: three tasks whose ids do not name shards 1..3.
  auto s = Auto({{"SLURM_ARRAY_TASK_ID", "3"},
                 {"SLURM_ARRAY_TASK_MIN", "1"},
                 {"SLURM_ARRAY_TASK_MAX", "7"},
                 {"SLURM_ARRAY_TASK_COUNT", "3"}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("not a range of 3 tasks"), std::string::npos)
      << s.status().message();
  EXPECT_FALSE(Auto({{"SLURM_ARRAY_TASK_ID", "9"},
                     {"SLURM_ARRAY_TASK_MIN", "1"},
                     {"SLURM_ARRAY_TASK_COUNT", "4"}})
                   .ok());
  EXPECT_FALSE(Auto({{"SLURM_ARRAY_TASK_ID", "0"},
                     {"SLURM_ARRAY_TASK_MIN", "1"},
                     {"SLURM_ARRAY_TASK_COUNT", "4"}})
                   .ok());
  auto no_count = Auto({{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_MIN", "1"}});
  ASSERT_FALSE(no_count.ok());
  EXPECT_NE(no_count.status().message().find("SLURM_ARRAY_TASK_COUNT is not set"),
            std::string::npos);
  auto junk = Auto({{"SLURM_ARRAY_TASK_ID", "2x"},
                    {"SLURM_ARRAY_TASK_MIN", "1"},
                    {"SLURM_ARRAY_TASK_COUNT", "4"}});
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.status().message().find("SLURM_ARRAY_TASK_ID='2x' is not a whole number"),
            std::string::npos);
}

TEST(ShardSpec, KubernetesIndexedJob) {
  auto s = Auto({{"JOB_COMPLETION_INDEX", "0"}, {"ORDO_SHARD_COUNT", "32"}});
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->index, 0);
  EXPECT_EQ(s->count, 32);
  auto over = Auto({{"JOB_COMPLETION_INDEX", "32"}, {"ORDO_SHARD_COUNT", "32"}});
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find("not below ORDO_SHARD_COUNT=32"), std::string::npos);
  auto no_count = Auto({{"JOB_COMPLETION_INDEX", "3"}});
  ASSERT_FALSE(no_count.ok());
  EXPECT_NE(no_count.status().message().find("ORDO_SHARD_COUNT is not set"), std::string::npos);
}

TEST(ShardSpec, SlurmWinsOverKubernetesAndNeitherIsAnError) {
  auto s = Auto({{"SLURM_ARRAY_TASK_ID", "2"},
                 {"SLURM_ARRAY_TASK_MIN", "1"},
                 {"SLURM_ARRAY_TASK_COUNT", "2"},
                 {"JOB_COMPLETION_INDEX", "0"},
                 {"ORDO_SHARD_COUNT", "5"}});
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->index, 1);
  EXPECT_EQ(s->count, 2);
  auto none = Auto({});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(none.status().message().find("none of them is set"), std::string::npos);
}

}  // namespace
}  // namespace ordo::cli
