#include "ordo/units.h"

#include <gtest/gtest.h>

namespace ordo {
namespace {

TEST(Units, SizesReadAsPeopleWriteThem) {
  EXPECT_EQ(ParseSize("4096").value(), 4096u);
  EXPECT_EQ(ParseSize("64K").value(), 64u << 10);
  EXPECT_EQ(ParseSize("64M").value(), 64u << 20);
  EXPECT_EQ(ParseSize("1G").value(), 1ull << 30);
  EXPECT_EQ(ParseSize("1GiB").value(), 1ull << 30);
  EXPECT_EQ(ParseSize("1.5k").value(), 1536u);
  EXPECT_FALSE(ParseSize("").ok());
  EXPECT_FALSE(ParseSize("-1M").ok());
  EXPECT_FALSE(ParseSize("12Q").ok());
  EXPECT_FALSE(ParseSize("99999999999T").ok());
}

TEST(Units, DurationsReadAsPeopleWriteThem) {
  EXPECT_EQ(ParseDuration("30s").value(), 30'000'000'000ull);
  EXPECT_EQ(ParseDuration("30").value(), 30'000'000'000ull);
  EXPECT_EQ(ParseDuration("500ms").value(), 500'000'000ull);
  EXPECT_EQ(ParseDuration("250us").value(), 250'000ull);
  EXPECT_EQ(ParseDuration("2m").value(), 120'000'000'000ull);
  EXPECT_EQ(ParseDuration("1h").value(), 3'600'000'000'000ull);
  EXPECT_FALSE(ParseDuration("soon").ok());
  EXPECT_FALSE(ParseDuration("5 parsecs").ok());
}

TEST(Units, FormatsAreShortAndExact) {
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatDuration(1'500'000), "1.50 ms");
}

}  // namespace
}  // namespace ordo
