#include "editlab/probe/record.h"

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
  return load_json_records(path, "dataset");
}

}  // namespace editlab
