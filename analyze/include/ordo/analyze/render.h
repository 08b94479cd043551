// Findings as each output writes them: one model (Finding, analyzer.h) and
// one renderer per format, as bpftrace's Output has text and JSON
// implementations. Text and JSON are what `ordo analyze` prints; HTML and
// Markdown are what reports hold. Every format says the same facts of a
// finding: its rule, block, file and offset, whether it manifested, how often
// it was seen, its threads and events, and its explanation.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "ordo/analyze/analyzer.h"

namespace ordo::analyze {

// What a renderer may say of a finding beyond the Finding itself: what the
// history around it knows.
struct RenderContext {
  // The history's thread table (tid -> role): explanations and thread lists
  // name such a thread "role (T<tid>)". Empty: threads are named by tid.
  std::map<uint32_t, std::string> thread_names;
  // The command that repeats the run the history is of, given with a finding
  // that manifested there (HTML, Markdown); empty when unknown.
  std::string reproduce;
};

class FindingRenderer {
 public:
  virtual ~FindingRenderer() = default;
  // One finding.
  virtual std::string Render(const Finding& finding) const = 0;
  // The findings of one judged history (one with engine events), in order:
  // the format's list of them, or, when there are none, what the format says
  // of a history in which no ordering was found.
  virtual std::string RenderList(const std::vector<Finding>& findings) const = 0;
};

// What `ordo analyze` prints: a head line ("FPRE004-A on block 3 of file 1
// (offset 12288), threads 7, 2, events #5, #9: MANIFESTED (read-verify
// failed), seen 4 times") and the explanation below it, indented by two.
class TextRenderer final : public FindingRenderer {
 public:
  // Every line starts with `indent` (a block inside other output).
  explicit TextRenderer(RenderContext context = {}, std::string indent = "");
  std::string Render(const Finding& finding) const override;
  // Each finding after a blank line; "no ordering found" when none.
  std::string RenderList(const std::vector<Finding>& findings) const override;

 private:
  RenderContext context_;
  std::string indent_;
};

// `ordo analyze --json`'s findings: one object per finding, keys rule, block
// (index in its file), file, offset, threads, events, manifested, count,
// signature, explanation. Threads are tids: no context applies.
class JsonRenderer final : public FindingRenderer {
 public:
  nlohmann::ordered_json Value(const Finding& finding) const;
  nlohmann::ordered_json Value(const std::vector<Finding>& findings) const;  // an array
  // Value(...) as text, indented by two.
  std::string Render(const Finding& finding) const override;
  std::string RenderList(const std::vector<Finding>& findings) const override;
};

// A report's findings: an <li class="finding"> each in an <ol
// class="findings">; a finding that manifested is "confirmed" with the
// context's command to repeat it. All text is escaped.
class HtmlRenderer final : public FindingRenderer {
 public:
  explicit HtmlRenderer(RenderContext context = {});
  std::string Render(const Finding& finding) const override;
  // <p class="pass">No ordering found.</p> when none.
  std::string RenderList(const std::vector<Finding>& findings) const override;

 private:
  RenderContext context_;
};

// A ticket's findings: a list item each, with its threads and events (and
// the command that repeats a confirmed one) as sub-items.
class MarkdownRenderer final : public FindingRenderer {
 public:
  explicit MarkdownRenderer(RenderContext context = {});
  std::string Render(const Finding& finding) const override;
  // "No ordering found." when none.
  std::string RenderList(const std::vector<Finding>& findings) const override;

 private:
  RenderContext context_;
};

// How often each finding's signature occurred, for a table cell:
// "FPRE004-A x3 (manifested), FPRE004-B x2"; "none" when there is none.
std::string Tally(const std::vector<Finding>& findings);

// A thread in prose, as every renderer names it: "prefetch-0 (T3)" when the
// context names it, else "T3".
std::string ThreadName(const RenderContext& context, uint32_t tid);

// `text` with &, <, > and " as HTML entities.
std::string HtmlEscape(const std::string& text);

}  // namespace ordo::analyze
