// What the probe suites run and how (probe/suites.h, probe/scoring.h), without torch's headers:
// the experiment config holds these, and it is parsed by code (and a fuzz target) that needs no
// model.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "editlab/probe/suite.h"

namespace editlab {

struct ScoringOptions {
  int64_t max_batch_tokens = 4096;  // padded tokens per forward call
};

struct SuiteOptions {
  std::vector<Suite> suites = default_suites();
  // Loud facts for records without mention_prompts: each template ("{} is cool.") with the
  // subject, then " " + each neighborhood prompt.
  std::vector<std::string> loud_templates = {"{} is cool."};
  // The implication generation check (seed notebooks: 5 beams, max length 20 with the prompt).
  int64_t beams = 5;
  int64_t max_length = 20;
  // Fluency: ROME's generate_fast (top-k 5, 100 tokens with the prompt; capped at n_positions).
  int64_t fluency_max_length = 100;
  int64_t fluency_top_k = 5;
  ScoringOptions scoring;
  // Keep every probe's p(target_new) and p(target_true) before and after in the record's
  // details ("probes"; experiment config "details": true, `editlab run --details`).
  bool details = false;

  bool has(Suite suite) const { return std::find(suites.begin(), suites.end(), suite) != suites.end(); }
};

}  // namespace editlab
