// Edit requests: CounterFact's `requested_rewrite` (or the same fields in a minimal object).
// A file holds one request, a JSON array of them, or JSON Lines. Validation errors name the file,
// the record (index and case_id) and the field.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace editlab {

struct EditRequest {
  std::string case_id;  // CounterFact's case_id (as text), or "#<index>" when absent
  std::string prompt;   // with exactly one "{}" where the subject goes
  std::string subject;
  std::string target_new;   // as given (no leading space added here)
  std::string target_true;  // may be empty for a minimal spec
  std::string relation_id;  // may be empty

  std::string sentence() const;  // the prompt with the subject filled in
};

// A record's case_id as text: a string as it is, a number (CounterFact's) as JSON writes it.
std::string case_id_text(const nlohmann::json& case_id);

// Accepted shapes: a CounterFact record {"case_id", "requested_rewrite": {"prompt", "subject",
// "target_new": {"str"}, "target_true": {"str"}, "relation_id"}, ...}, or the flat
// {"prompt", "subject", "target_new", "target_true"} (targets as strings or {"str": ...}).
// `where` names the record in errors, e.g. "edits.json: record 3 (case_id 17)". A record whose
// requested_rewrite is a list (MQuAKE) is an error here: it holds several requests.
EditRequest parse_edit_request(const nlohmann::json& record, const std::string& where);

// The requests of one record: one, or every element of a `requested_rewrite` list (MQuAKE's
// cases hold 1-4 edits that are applied together), each with the record's case_id.
std::vector<EditRequest> parse_edit_requests(const nlohmann::json& record, const std::string& where);

// The records of a file holding one JSON object, a JSON array, or JSON Lines (not parsed further,
// so that a bad record can fail alone). `what` names the file in errors ("dataset").
std::vector<nlohmann::json> load_json_records(const std::filesystem::path& path, const char* what);
// The same for a file's bytes already in memory; `source` names the file in errors. Both check
// util/json_file.h's limits (nesting, string size) first.
std::vector<nlohmann::json> parse_json_records(std::string_view text, const std::string& source, const char* what);

// Reads a file of requests (a single object, a JSON array, or JSON Lines); a record with a list of
// rewrites gives all of them, in order.
std::vector<EditRequest> load_edit_requests(const std::filesystem::path& path);

// Checks a request: one "{}" in the prompt, non-empty subject and target_new, target_new !=
// target_true, and (ROME's requirement) a non-empty text before "{}" that ends with a space.
void validate_edit_request(const EditRequest& request, const std::string& where);

}  // namespace editlab
