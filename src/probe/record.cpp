#include "editlab/probe/record.h"

#include <fstream>
#include <sstream>

#include "editlab/util/error.h"

namespace editlab {
namespace {

std::vector<std::string> string_list(const nlohmann::json& record, const char* key, const std::string& where) {
  std::vector<std::string> out;
  const auto it = record.find(key);
  if (it == record.end() || it->is_null()) return out;
  if (!it->is_array()) fail("{}: field \"{}\" must be a list of strings, found {}", where, key, it->type_name());
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& v = (*it)[i];
    if (!v.is_string()) fail("{}: field \"{}\"[{}] must be a string, found {}", where, key, i, v.type_name());
    if (v.get<std::string>().empty()) fail("{}: field \"{}\"[{}] is empty", where, key, i);
    out.push_back(v.get<std::string>());
  }
  return out;
}

std::string target_string(const nlohmann::json& v, const std::string& where, const std::string& field) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("str") && v["str"].is_string()) return v["str"].get<std::string>();
  fail("{}: field \"{}\" must be a string or {{\"str\": ...}}", where, field);
}

}  // namespace

ProbeRecord parse_probe_record(const nlohmann::json& record, const std::string& where_in) {
  ProbeRecord r;
  r.request = parse_edit_request(record, where_in);
  const std::string where = record.contains("case_id") && !record["case_id"].is_null()
                                ? fmt::format("{} (case_id {})", where_in, r.request.case_id)
                                : where_in;
  r.paraphrase_prompts = string_list(record, "paraphrase_prompts", where);
  r.neighborhood_prompts = string_list(record, "neighborhood_prompts", where);
  r.attribute_prompts = string_list(record, "attribute_prompts", where);
  r.generation_prompts = string_list(record, "generation_prompts", where);
  r.mention_prompts = string_list(record, "mention_prompts", where);
  if (const auto it = record.find("implications"); it != record.end() && !it->is_null()) {
    if (!it->is_array()) fail("{}: field \"implications\" must be a list", where);
    for (size_t i = 0; i < it->size(); ++i) {
      const auto& v = (*it)[i];
      const std::string field = fmt::format("implications[{}]", i);
      if (!v.is_object()) fail("{}: field \"{}\" must be an object", where, field);
      ImplicationProbe p;
      for (const char* key : {"kind", "prompt", "target_new", "target_old"}) {
        if (!v.contains(key)) fail("{}: field \"{}.{}\" is missing", where, field, key);
      }
      if (!v["kind"].is_string() || !v["prompt"].is_string()) {
        fail("{}: fields \"{}.kind\" and \"{}.prompt\" must be strings", where, field, field);
      }
      p.kind = v["kind"].get<std::string>();
      p.prompt = v["prompt"].get<std::string>();
      p.target_new = target_string(v["target_new"], where, field + ".target_new");
      p.target_old = target_string(v["target_old"], where, field + ".target_old");
      if (p.kind.empty() || p.kind.find('/') != std::string::npos) {
        fail("{}: field \"{}.kind\" must be a non-empty name without '/'", where, field);
      }
      if (p.prompt.empty() || p.target_new.empty() || p.target_old.empty()) {
        fail("{}: field \"{}\" has an empty prompt or target", where, field);
      }
      r.implications.push_back(std::move(p));
    }
  }
  return r;
}

std::vector<nlohmann::json> load_dataset(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open the dataset", path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) fail("{}: the dataset is empty", path.string());
  std::vector<nlohmann::json> records;
  if (text[first] == '[') {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      fail("{}: not valid JSON: {}", path.string(), e.what());
    }
    for (auto& r : j) records.push_back(std::move(r));
  } else {
    // One object, or JSON Lines: try the whole text first.
    try {
      records.push_back(nlohmann::json::parse(text));
      return records;
    } catch (const nlohmann::json::parse_error&) {
    }
    std::istringstream lines(text);
    std::string line;
    for (int64_t n = 1; std::getline(lines, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      try {
        records.push_back(nlohmann::json::parse(line));
      } catch (const nlohmann::json::parse_error& e) {
        fail("{}: line {}: not valid JSON: {}", path.string(), n, e.what());
      }
    }
  }
  if (records.empty()) fail("{}: the dataset has no records", path.string());
  return records;
}

}  // namespace editlab
