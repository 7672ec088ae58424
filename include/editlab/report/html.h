// `editlab report --format html`: one self-contained HTML file (inline CSS, SVG charts drawn here,
// a little plain JavaScript; nothing fetched) from one or more reports: the summary table with
// confidence intervals, charts of each method side by side (efficacy and paraphrase, NS vs NS+,
// NM vs NM+, loud facts, implication success per kind, and for sequential runs each metric against
// the number of edits), and every record in a table that sorts and filters (report, status, text,
// and the ready filters "NS held but NS+ failed" and "made the fact loud"), each record expanding
// to its metrics per prompt and its details. The filters can be set from the URL's fragment
// (#filter=ns-plus-failed, #filter=loud, #report=NAME, #q=TEXT), so a link shows a subset.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "editlab/report/compare.h"

namespace editlab::report {

std::string html_report(const std::vector<nlohmann::ordered_json>& reports, const std::vector<std::string>& names);

// `editlab compare --format html`: the same page for a baseline and a candidate, opening with the
// verdict and every metric's comparison, those outside their tolerance (or missing) first.
std::string html_comparison(const nlohmann::ordered_json& baseline, const nlohmann::ordered_json& candidate,
                            const Comparison& comparison);

// A record's flags for the ready filters: NS held (mean NS >= 0.5) but NS+ failed (mean NS+ < 0.5);
// the fact made loud (loud/rate above loud/rate_before, or loud/rate > 0 without a "before").
bool ns_held_ns_plus_failed(const nlohmann::ordered_json& record);
bool made_loud(const nlohmann::ordered_json& record);

}  // namespace editlab::report
