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

std::vector<BenchmarkQuery> benchmark_queries(const nlohmann::json& test, const char* key, const std::string& where,
                                              const std::string& field) {
  std::vector<BenchmarkQuery> out;
  const auto it = test.find(key);
  if (it == test.end() || it->is_null()) return out;
  if (!it->is_array()) fail("{}: field \"{}.{}\" must be a list", where, field, key);
  for (size_t q = 0; q < it->size(); ++q) {
    const auto& j = (*it)[q];
    const std::string at = fmt::format("{}.{}[{}]", field, key, q);
    if (!j.is_object() || !j.contains("prompt") || !j["prompt"].is_string() || j["prompt"].get<std::string>().empty())
      fail("{}: field \"{}\" must be an object with a non-empty \"prompt\"", where, at);
    BenchmarkQuery query{j["prompt"].get<std::string>(), {}};
    if (!j.contains("answers") || !j["answers"].is_array() || j["answers"].empty())
      fail("{}: field \"{}.answers\" must be a non-empty list", where, at);
    for (size_t a = 0; a < j["answers"].size(); ++a) {
      const auto& ans = j["answers"][a];
      const std::string aat = fmt::format("{}.answers[{}]", at, a);
      if (!ans.is_object() || !ans.contains("value") || !ans["value"].is_string())
        fail("{}: field \"{}\" must be {{\"value\": string, \"aliases\": [strings]}}", where, aat);
      BenchmarkAnswer answer{ans["value"].get<std::string>(), {}};
      if (const auto al = ans.find("aliases"); al != ans.end() && !al->is_null()) {
        if (!al->is_array()) fail("{}: field \"{}.aliases\" must be a list of strings", where, aat);
        for (const auto& x : *al) {
          if (!x.is_string()) fail("{}: field \"{}.aliases\" must be a list of strings", where, aat);
          answer.aliases.push_back(x.get<std::string>());
        }
      }
      query.answers.push_back(std::move(answer));
    }
    out.push_back(std::move(query));
  }
  return out;
}

}  // namespace

ProbeRecord parse_probe_record(const nlohmann::json& record, const std::string& where_in) {
  ProbeRecord r;
  r.requests = parse_edit_requests(record, where_in);
  r.request = r.requests.front();
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
      for (const char* key : {"kind", "prompt", "target_new"}) {
        if (!v.contains(key)) fail("{}: field \"{}.{}\" is missing", where, field, key);
      }
      if (!v["kind"].is_string() || !v["prompt"].is_string()) {
        fail("{}: fields \"{}.kind\" and \"{}.prompt\" must be strings", where, field, field);
      }
      p.kind = v["kind"].get<std::string>();
      p.prompt = v["prompt"].get<std::string>();
      p.target_new = target_string(v["target_new"], where, field + ".target_new");
      // A benchmark may not know the answer before the edit (RippleEdits): no target_old then.
      if (v.contains("target_old") && !v["target_old"].is_null())
        p.target_old = target_string(v["target_old"], where, field + ".target_old");
      if (p.kind.empty() || p.kind.find('/') != std::string::npos) {
        fail("{}: field \"{}.kind\" must be a non-empty name without '/'", where, field);
      }
      if (p.prompt.empty() || p.target_new.empty() || (v.contains("target_old") && p.target_old.empty())) {
        fail("{}: field \"{}\" has an empty prompt or target", where, field);
      }
      r.implications.push_back(std::move(p));
    }
  }
  if (const auto it = record.find("benchmark_tests"); it != record.end() && !it->is_null()) {
    if (!it->is_array()) fail("{}: field \"benchmark_tests\" must be a list", where);
    for (size_t i = 0; i < it->size(); ++i) {
      const auto& v = (*it)[i];
      const std::string field = fmt::format("benchmark_tests[{}]", i);
      if (!v.is_object()) fail("{}: field \"{}\" must be an object", where, field);
      BenchmarkTest t;
      for (const char* key : {"benchmark", "family"}) {
        if (!v.contains(key) || !v[key].is_string() || v[key].get<std::string>().empty())
          fail("{}: field \"{}.{}\" must be a non-empty string", where, field, key);
      }
      t.benchmark = v["benchmark"].get<std::string>();
      t.family = v["family"].get<std::string>();
      if (t.benchmark != "ripple_edits" && t.benchmark != "mquake")
        fail("{}: field \"{}.benchmark\" is \"{}\"; expected ripple_edits or mquake", where, field, t.benchmark);
      if (t.family.find('/') != std::string::npos) fail("{}: field \"{}.family\" must not contain '/'", where, field);
      const auto condition_it = v.find("test_condition");
      if (condition_it != v.end() && !condition_it->is_string())
        fail("{}: field \"{}.test_condition\" must be \"OR\" or \"AND\"", where, field);
      const std::string condition = condition_it == v.end() ? "OR" : condition_it->get<std::string>();
      if (condition != "OR" && condition != "AND")
        fail("{}: field \"{}.test_condition\" is \"{}\"; expected OR or AND", where, field, condition);
      t.all = condition == "AND";
      t.condition_queries = benchmark_queries(v, "condition_queries", where, field);
      t.test_queries = benchmark_queries(v, "test_queries", where, field);
      if (t.test_queries.empty()) fail("{}: field \"{}.test_queries\" is empty", where, field);
      r.benchmark_tests.push_back(std::move(t));
    }
  }
  return r;
}

std::vector<nlohmann::json> load_dataset(const std::filesystem::path& path) {
  return load_json_records(path, "dataset");
}

}  // namespace editlab
