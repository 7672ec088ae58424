#include "editlab/trace/causal_trace.h"

#include "editlab/util/error.h"

namespace editlab {

TraceSummary summarize_traces(const std::vector<PromptTrace>& traces, bool include_unknown) {
  TraceSummary summary;
  summary.prompts = traces.size();
  summary.include_unknown = include_unknown;
  std::vector<const PromptTrace*> used;
  for (const auto& t : traces) {
    if (include_unknown || known(t)) used.push_back(&t);
  }
  if (used.empty()) {
    fail(
        "none of the {} traced prompts is a known fact (the model's top-1 token is not the answer); include "
        "the unknown ones to average them all",
        traces.size());
  }
  summary.averaged = used.size();
  for (const auto* t : used) {
    summary.p_clean_mean += t->p_clean / used.size();
    summary.p_corrupt_mean += t->p_corrupt / used.size();
  }
  const auto& kinds = used.front()->kinds;
  for (size_t k = 0; k < kinds.size(); ++k) {
    KindSummary ks;
    ks.kind = kinds[k];
    const int64_t L = used.front()->restored[k].size(1);
    std::array<torch::Tensor, kTraceGroups.size()> sums;
    for (auto& s : sums) s = torch::zeros({L}, torch::kDouble);
    for (const auto* t : used) {
      if (t->kinds != kinds) fail("traces of different kinds cannot be averaged together");
      const auto ie = t->restored[k] - t->p_corrupt;  // [T, L]
      const int64_t T = ie.size(0), b = t->subject_begin, e = t->subject_end;
      auto add = [&](size_t group, int64_t first, int64_t last) {  // token rows [first, last)
        for (int64_t i = first; i < last; ++i) {
          sums[group] += ie[i];
          ++ks.rows[group];
        }
      };
      add(0, b, b + 1);
      add(1, b + 1, e - 1);
      add(2, e - 1, e);
      if (e < T) add(3, e, e + 1);
      add(4, e + 1, T - 1);
      add(5, T - 1, T);
    }
    for (size_t g = 0; g < kTraceGroups.size(); ++g) {
      const auto mean = ks.rows[g] > 0 ? sums[g] / static_cast<double>(ks.rows[g]) : sums[g];
      ks.mean_ie[g].assign(mean.data_ptr<double>(), mean.data_ptr<double>() + L);
    }
    const auto& last_subject = ks.mean_ie[2];
    ks.peak_layer = std::max_element(last_subject.begin(), last_subject.end()) - last_subject.begin();
    ks.peak_ie = last_subject[ks.peak_layer];
    ks.last_token_ie_at_peak = ks.mean_ie[5][ks.peak_layer];
    summary.kinds.push_back(std::move(ks));
  }
  return summary;
}

nlohmann::json prompt_trace_json(const PromptTrace& t, const Tokenizer& tokenizer) {
  nlohmann::json tokens = nlohmann::json::array();
  for (auto id : t.ids) tokens.push_back(replace_invalid_utf8(tokenizer.token_bytes(id)));  // JSON needs UTF-8
  nlohmann::json j = {{"case_id", t.input.case_id},
                      {"prompt", t.input.prompt},
                      {"subject", t.input.subject},
                      {"answer", t.input.answer},
                      {"answer_id", t.answer_id},
                      {"answer_token", replace_invalid_utf8(tokenizer.token_bytes(t.answer_id))},
                      {"predicted_token", replace_invalid_utf8(tokenizer.token_bytes(t.predicted_id))},
                      {"known", known(t)},
                      {"ids", t.ids},
                      {"tokens", tokens},
                      {"subject_range", {t.subject_begin, t.subject_end}},
                      {"p_clean", t.p_clean},
                      {"p_corrupt", t.p_corrupt}};
  nlohmann::json restored = nlohmann::json::object();
  for (size_t k = 0; k < t.kinds.size(); ++k) {
    const auto& grid = t.restored[k];
    nlohmann::json rows = nlohmann::json::array();
    for (int64_t i = 0; i < grid.size(0); ++i) {
      const auto row = grid[i].contiguous();
      rows.push_back(std::vector<double>(row.data_ptr<double>(), row.data_ptr<double>() + row.size(0)));
    }
    restored[std::string(trace_kind_name(t.kinds[k]))] = rows;
  }
  j["restored"] = restored;
  return j;
}

nlohmann::json trace_summary_json(const TraceSummary& s) {
  nlohmann::json kinds = nlohmann::json::object();
  for (const auto& k : s.kinds) {
    nlohmann::json groups = nlohmann::json::object();
    for (size_t g = 0; g < kTraceGroups.size(); ++g) {
      groups[std::string(kTraceGroups[g])] = {{"rows", k.rows[g]}, {"mean_ie", k.mean_ie[g]}};
    }
    kinds[std::string(trace_kind_name(k.kind))] = {{"groups", groups},
                                                   {"last_subject_peak_layer", k.peak_layer},
                                                   {"last_subject_peak_ie", k.peak_ie},
                                                   {"last_token_ie_at_peak_layer", k.last_token_ie_at_peak}};
  }
  return {{"prompts", s.prompts},
          {"averaged", s.averaged},
          {"include_unknown", s.include_unknown},
          {"p_clean_mean", s.p_clean_mean},
          {"p_corrupt_mean", s.p_corrupt_mean},
          {"kinds", kinds}};
}

}  // namespace editlab
