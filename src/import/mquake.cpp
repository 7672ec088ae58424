// MQuAKE -> editlab dataset (see editlab/import/benchmarks.h). A case's rewrites are CounterFact
// rewrites already; they become one record's requested_rewrite list (applied together). Its
// three multi-hop questions become the record's implications (new_answer against answer) and one
// benchmark test that passes when any question is answered with new_answer or an alias, as the
// MQuAKE paper scores a case. The question prompt is the few-shot text + the question template.
#include <fstream>
#include <sstream>

#include "editlab/import/benchmarks.h"
#include "editlab/util/error.h"
#include "editlab/util/text.h"

namespace editlab::import {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

using detail::array_field;
using detail::field;
using detail::reject;
using detail::string_field;

// A target as MQuAKE writes it, {"str": ..., "id": ...}; a plain string is accepted too.
std::string target_str(const json& rewrite, const std::string& key, const std::string& path) {
  const json& v = field(rewrite, key, path);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object()) return string_field(v, "str", detail::join_path(path, key));
  reject("ill-typed field",
         fmt::format("field \"{}\" must be {{\"str\": ...}}, found {}", detail::join_path(path, key), v.type_name()));
}

std::vector<std::string> string_list(const json& record, const std::string& key, bool required) {
  std::vector<std::string> out;
  if (!required && (!record.contains(key) || record[key].is_null())) return out;
  const json& list = array_field(record, key, "");
  for (size_t k = 0; k < list.size(); ++k) {
    if (!list[k].is_string()) {
      reject("ill-typed field",
             fmt::format("field \"{}[{}]\" must be a string, found {}", key, k, list[k].type_name()));
    }
    out.push_back(list[k].get<std::string>());
  }
  return out;
}

ojson convert_mquake_record(const json& record, size_t index, const MquakeOptions& options) {
  if (!record.is_object()) {
    reject("ill-typed field", fmt::format("the record must be an object, found {}", record.type_name()));
  }
  const json& case_id = field(record, "case_id", "");
  if (!case_id.is_number_integer() && !case_id.is_string()) {
    reject("ill-typed field",
           fmt::format("field \"case_id\" must be an integer or a string, found {}", case_id.type_name()));
  }
  const json& rewrites = array_field(record, "requested_rewrite", "");
  if (rewrites.empty()) reject("ill-typed field", "field \"requested_rewrite\" must be a non-empty list, found []");
  ojson requested = ojson::array();
  for (size_t k = 0; k < rewrites.size(); ++k) {
    const std::string path = fmt::format("requested_rewrite[{}]", k);
    const json& r = rewrites[k];
    if (!r.is_object()) {
      reject("ill-typed field", fmt::format("field \"{}\" must be an object, found {}", path, r.type_name()));
    }
    const std::string prompt = string_field(r, "prompt", path);
    const std::string subject = string_field(r, "subject", path);
    const std::string target_new = target_str(r, "target_new", path);
    const std::string target_true = target_str(r, "target_true", path);
    const std::string relation_id = string_field(r, "relation_id", path);
    if (const size_t braces = count_braces(prompt); braces != 1) {
      reject("bad rewrite prompt", fmt::format("field \"{}.prompt\" must contain \"{{}}\" exactly once, found {} in {}",
                                               path, braces, json(prompt).dump()));
    }
    ojson out;
    out["prompt"] = prompt;
    out["subject"] = subject;
    out["target_new"] = {{"str", target_new}};
    out["target_true"] = {{"str", target_true}};
    out["relation_id"] = relation_id;
    requested.push_back(std::move(out));
  }
  const std::vector<std::string> questions = string_list(record, "questions", true);
  const std::string answer = string_field(record, "answer", "");
  const std::string new_answer = string_field(record, "new_answer", "");
  const std::vector<std::string> new_aliases = string_list(record, "new_answer_alias", false);
  if (questions.empty()) reject("no questions", "field \"questions\" is empty");
  if (new_answer.empty()) reject("empty new_answer", "field \"new_answer\" is empty");

  ojson implications = ojson::array();
  ojson test_queries = ojson::array();
  for (const auto& q : questions) {
    const std::string prompt = options.few_shot + fill_braces(options.question_template, q);
    ojson p = {{"kind", "multi_hop"}, {"prompt", prompt}, {"target_new", new_answer}};
    if (!answer.empty()) p["target_old"] = answer;  // an empty answer: the benchmark does not know it
    implications.push_back(std::move(p));
    test_queries.push_back(
        {{"prompt", prompt}, {"answers", ojson::array({{{"value", new_answer}, {"aliases", new_aliases}}})}});
  }
  ojson test;
  test["benchmark"] = "mquake";
  test["family"] = "multi_hop";
  test["test_condition"] = "OR";
  test["condition_queries"] = ojson::array();
  test["test_queries"] = std::move(test_queries);

  ojson out;
  out["case_id"] = case_id;
  out["requested_rewrite"] = std::move(requested);
  out["implications"] = std::move(implications);
  out["benchmark_tests"] = ojson::array({std::move(test)});
  out["source"] = {{"benchmark", "mquake"}, {"index", index}};
  return out;
}

}  // namespace

void validate_question_template(const std::string& question_template) {
  const size_t braces = count_braces(question_template);
  if (braces != 1) {
    fail("the question template must contain \"{{}}\" exactly once (where the question goes), found {} in \"{}\"", braces,
         question_template);
  }
}

std::string load_few_shot(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open the few-shot prompt file", path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  if (!text.empty() && text.back() != '\n') text += '\n';
  return text;
}

ImportResult import_mquake(const std::vector<json>& records, const MquakeOptions& options) {
  validate_question_template(options.question_template);
  return detail::import_each(records, [&](const json& record, size_t index, ImportResult&) {
    return convert_mquake_record(record, index, options);
  });
}

}  // namespace editlab::import
