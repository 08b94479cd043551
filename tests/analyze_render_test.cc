// One finding, four renderers: each says the same facts in its own format.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "ordo/analyze/render.h"

namespace ordo::analyze {
namespace {

Finding Example(bool manifested) {
  Finding f;
  f.rule = "FPRE004-A";
  f.signature = "FPRE004-A:acquire|write|fill|mark_clean|release";
  f.block = (uint64_t{1} << 32) | 3;
  f.file = 1;
  f.offset = 3 * 4096;
  f.threads = {7, 2};
  f.events = {5, 9, 12};
  f.manifested = manifested;
  f.count = 4;
  f.explanation = "T7 acquired <it> & T2 marked it";
  return f;
}

TEST(Render, TextIsWhatAnalyzePrints) {
  EXPECT_EQ(TextRenderer().Render(Example(true)),
            "FPRE004-A on block 3 of file 1 (offset 12288), threads 7, 2, events #5, #9, #12: "
            "MANIFESTED (read-verify failed), seen 4 times\n  T7 acquired <it> & T2 marked it\n");
  EXPECT_EQ(TextRenderer().RenderList({}), "no ordering found\n");
  const std::string indented = TextRenderer({}, "   ").RenderList({Example(false)});
  EXPECT_EQ(indented.rfind("\n   FPRE004-A on block 3", 0), 0u) << indented;
  EXPECT_NE(indented.find("predicted (did not fail in this run)"), std::string::npos);
  EXPECT_NE(indented.find("\n     T7 acquired"), std::string::npos) << indented;
}

TEST(Render, JsonCarriesEveryField) {
  const auto j = nlohmann::json::parse(JsonRenderer().RenderList({Example(true)}));
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["rule"], "FPRE004-A");
  EXPECT_EQ(j[0]["block"], 3);  // the index in its file
  EXPECT_EQ(j[0]["file"], 1);
  EXPECT_EQ(j[0]["offset"], 12288);
  EXPECT_EQ(j[0]["threads"], nlohmann::json({7, 2}));
  EXPECT_EQ(j[0]["events"], nlohmann::json({5, 9, 12}));
  EXPECT_EQ(j[0]["manifested"], true);
  EXPECT_EQ(j[0]["count"], 4);
  EXPECT_EQ(j[0]["signature"], Example(true).signature);
  EXPECT_EQ(j[0]["explanation"], Example(true).explanation);
  EXPECT_EQ(JsonRenderer().RenderList({}), "[]");
}

TEST(Render, HtmlEscapesAndNamesThreadsByRole) {
  const HtmlRenderer html({{{7, "writer"}}, "ordo replay t.ordo --seed 3 --runs 1"});
  const std::string li = html.Render(Example(true));
  EXPECT_NE(li.find("<span class=\"status fail\">confirmed</span>"), std::string::npos) << li;
  EXPECT_NE(li.find("<code class=\"reproduce\">ordo replay t.ordo --seed 3 --runs 1</code>"),
            std::string::npos)
      << li;
  EXPECT_NE(li.find("writer (T7) acquired &lt;it&gt; &amp; T2 marked it"), std::string::npos) << li;
  EXPECT_NE(li.find("threads writer (T7), T2; events #5, #9, #12"), std::string::npos) << li;
  EXPECT_NE(li.find(", seen 4 times"), std::string::npos) << li;
  EXPECT_NE(HtmlRenderer().Render(Example(false)).find("predicted (not confirmed in this run)"),
            std::string::npos);
  EXPECT_EQ(HtmlRenderer().RenderList({}), "<p class=\"pass\">No ordering found.</p>\n");
}

TEST(Render, MarkdownGivesTheCommandOfAConfirmedFinding) {
  const MarkdownRenderer md({{{2, "prefetch-0"}}, "ordo replay t.ordo --seed 3 --runs 1"});
  EXPECT_EQ(md.Render(Example(true)),
            "- **FPRE004-A** on block 3 of file 1 (offset 12288), **confirmed** (manifested in "
            "this run), seen 4 times: T7 acquired <it> & prefetch-0 (T2) marked it\n"
            "  - threads T7, prefetch-0 (T2); events #5, #9, #12\n"
            "  - confirmed: `ordo replay t.ordo --seed 3 --runs 1`\n");
  EXPECT_EQ(md.Render(Example(false)).find("confirmed: `"), std::string::npos);
  EXPECT_EQ(MarkdownRenderer().RenderList({}), "No ordering found.\n");
}

TEST(Render, TallyCountsEachSignature) {
  Finding b = Example(false);
  b.rule = "FPRE004-B";
  b.count = 1;
  EXPECT_EQ(Tally({Example(true), b}), "FPRE004-A x4 (manifested), FPRE004-B x1");
  EXPECT_EQ(Tally({}), "none");
}

}  // namespace
}  // namespace ordo::analyze
