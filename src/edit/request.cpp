#include "editlab/edit/request.h"

#include <fstream>
#include <sstream>

#include "editlab/util/error.h"
#include "editlab/util/json_file.h"
#include "editlab/util/text.h"

namespace editlab {
namespace {

std::string field_string(const nlohmann::json& object, const char* key, const std::string& where, bool required) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) fail("{}: missing field \"{}\"", where, key);
    return {};
  }
  if (it->is_string()) return it->get<std::string>();
  // CounterFact's targets are {"str": ..., "id": ...}.
  if (it->is_object() && it->contains("str") && (*it)["str"].is_string()) return (*it)["str"].get<std::string>();
  fail("{}: field \"{}\" must be a string{}, found {}", where, key,
       std::string(key).rfind("target", 0) == 0 ? " or {\"str\": ...}" : "", it->dump());
}

}  // namespace

std::string EditRequest::sentence() const {
  return prompt.find("{}") == std::string::npos ? prompt : fill_braces(prompt, subject);
}

void validate_edit_request(const EditRequest& r, const std::string& where) {
  const size_t braces = count_braces(r.prompt);
  if (braces == 0 && !r.subject.empty() && r.prompt.find(r.subject) != std::string::npos) {
    fail(
        "{}: field \"prompt\" must mark the subject with \"{{}}\" (found the subject itself in \"{}\"; "
        "write {{}} in its place)",
        where, r.prompt);
  }
  if (braces != 1) {
    fail("{}: field \"prompt\" must contain \"{{}}\" exactly once (where the subject goes), found {} in \"{}\"", where,
         braces, r.prompt);
  }
  if (r.subject.empty()) fail("{}: field \"subject\" is empty", where);
  if (r.target_new.empty()) fail("{}: field \"target_new\" is empty", where);
  if (!r.target_true.empty() && r.target_new == r.target_true) {
    fail("{}: target_new equals target_true (\"{}\"): nothing to edit", where, r.target_new);
  }
  const std::string prefix = r.prompt.substr(0, r.prompt.find("{}"));
  if (!prefix.empty() && prefix.back() != ' ') {
    fail(
        "{}: the text before \"{{}}\" in the prompt must end with a space (ROME locates the subject "
        "as \" \" + subject), found \"{}\"",
        where, prefix);
  }
}

std::string case_id_text(const nlohmann::json& case_id) {
  return case_id.is_string() ? case_id.get<std::string>() : case_id.dump();
}

std::vector<EditRequest> parse_edit_requests(const nlohmann::json& record, const std::string& where_in) {
  if (!record.is_object()) fail("{}: expected a JSON object, found {}", where_in, record.type_name());
  std::string where = where_in;
  std::string case_id;
  if (record.contains("case_id") && !record["case_id"].is_null()) {
    case_id = case_id_text(record["case_id"]);
    where += fmt::format(" (case_id {})", case_id);
  }
  auto parse_one = [&](const nlohmann::json& source, const std::string& at) {
    EditRequest r;
    r.case_id = case_id;
    r.prompt = field_string(source, "prompt", at, true);
    r.subject = field_string(source, "subject", at, true);
    r.target_new = field_string(source, "target_new", at, true);
    r.target_true = field_string(source, "target_true", at, false);
    r.relation_id = field_string(source, "relation_id", at, false);
    validate_edit_request(r, at);
    return r;
  };
  const auto it = record.find("requested_rewrite");
  if (it == record.end()) return {parse_one(record, where)};
  if (it->is_object()) return {parse_one(*it, where)};
  if (!it->is_array() || it->empty()) {
    fail("{}: field \"requested_rewrite\" must be an object or a non-empty list of them", where);
  }
  std::vector<EditRequest> out;
  for (size_t k = 0; k < it->size(); ++k) {
    const std::string at = fmt::format("{}: requested_rewrite[{}]", where, k);
    if (!(*it)[k].is_object()) fail("{} must be an object, found {}", at, (*it)[k].type_name());
    out.push_back(parse_one((*it)[k], at));
  }
  return out;
}

EditRequest parse_edit_request(const nlohmann::json& record, const std::string& where) {
  auto requests = parse_edit_requests(record, where);
  if (requests.size() != 1) {
    fail("{}: the record requests {} rewrites together (a list in \"requested_rewrite\"); this command edits one",
         where, requests.size());
  }
  return std::move(requests.front());
}

std::vector<nlohmann::json> load_json_records(const std::filesystem::path& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open the {}", path.string(), what);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_json_records(buffer.str(), path.string(), what);
}

std::vector<nlohmann::json> parse_json_records(std::string_view text, const std::string& source, const char* what) {
  check_json_limits(text, source);  // nesting and string size, for the document and its lines alike
  std::vector<nlohmann::json> records;
  try {
    auto j = nlohmann::json::parse(text);
    if (j.is_array()) {
      records.assign(std::make_move_iterator(j.begin()), std::make_move_iterator(j.end()));
    } else {
      records.push_back(std::move(j));
    }
  } catch (const nlohmann::json::exception&) {  // parse_error, or out_of_range (a number such as 1e400)
    // Not one JSON document: JSON Lines, one record per non-empty line.
    std::istringstream lines{std::string(text)};
    std::string line;
    for (int line_number = 1; std::getline(lines, line); ++line_number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      try {
        records.push_back(nlohmann::json::parse(line));
      } catch (const nlohmann::json::exception& e) {
        fail("{}: line {}: not valid JSON (nor a JSON document, nor JSON Lines): {}", source, line_number, e.what());
      }
    }
  }
  if (records.empty()) fail("{}: the {} has no records", source, what);
  return records;
}

std::vector<EditRequest> load_edit_requests(const std::filesystem::path& path) {
  const auto records = load_json_records(path, "edit file");
  std::vector<EditRequest> requests;
  for (size_t i = 0; i < records.size(); ++i) {
    for (auto& r : parse_edit_requests(records[i], fmt::format("{}: record {}", path.string(), i))) {
      if (r.case_id.empty()) r.case_id = fmt::format("#{}", i);
      requests.push_back(std::move(r));
    }
  }
  return requests;
}

}  // namespace editlab
