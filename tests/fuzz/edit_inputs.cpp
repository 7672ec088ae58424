// Fuzz target: the edit inputs a user downloads: edit specs and datasets (one JSON object, a JSON
// array, or JSON Lines; edit/request.h, probe/record.h) and ROME / FT hyperparameter files
// (edit/hparams.h).
//
// The same bytes go through every reader: parse_json_records (the in-memory twin of
// load_json_records / load_dataset, with util/json_file.h's limits), then each record through
// parse_edit_requests, parse_edit_request and parse_probe_record; and parse_json_text, then
// RomeHparams::from_json, MemitHparams::from_json (MEMIT, EMMET, AlphaEdit), IkeHparams::from_json
// and FtHparams::from_json (and their to_json read back); and the bytes as
// an EasyEdit .yaml hyperparameter file (read_hparams_file), whose JSON goes through the same. A reader
// either throws editlab::Error or returns values that hold what it promises: a request has
// exactly one "{}" in its prompt, a non-empty subject and target_new, and its sentence()
// contains the subject; a probe record's first request is its requests' first; hparams read
// back from to_json equal themselves.
#include <algorithm>
#include <string>

#include "editlab/edit/hparams.h"
#include "editlab/edit/request.h"
#include "editlab/probe/record.h"
#include "editlab/util/error.h"
#include "editlab/util/json_file.h"
#include "editlab/util/text.h"
#include "fuzz_support.h"

using namespace editlab;

namespace {

void check_request(const EditRequest& r) {
  FUZZ_CHECK(count_braces(r.prompt) == 1);
  FUZZ_CHECK(!r.subject.empty() && !r.target_new.empty());
  FUZZ_CHECK(r.sentence().find(r.subject) != std::string::npos);
}

void check_records(std::string_view text) {
  std::vector<nlohmann::json> records;
  try {
    records = parse_json_records(text, "data.json", "dataset");
  } catch (const Error&) {
    return;
  }
  FUZZ_CHECK(!records.empty());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const std::string where = "data.json: record " + std::to_string(i);
    try {
      for (const auto& r : parse_edit_requests(records[i], where)) check_request(r);
    } catch (const Error&) {
    }
    try {
      check_request(parse_edit_request(records[i], where));
    } catch (const Error&) {
    }
    try {
      const ProbeRecord p = parse_probe_record(records[i], where);
      FUZZ_CHECK(!p.requests.empty() && p.request.prompt == p.requests.front().prompt);
      for (const auto& implication : p.implications) FUZZ_CHECK(!implication.kind.empty());
      for (const auto& test : p.benchmark_tests) FUZZ_CHECK(!test.test_queries.empty());
    } catch (const Error&) {
    }
  }
}

void check_hparams_json(const nlohmann::json& j) {
  try {
    const RomeHparams h = RomeHparams::from_json(j, "hparams.json");
    FUZZ_CHECK(!h.layers.empty());
    FUZZ_CHECK(RomeHparams::from_json(h.to_json(), "to_json").to_json() == h.to_json());
  } catch (const Error&) {
  }
  for (const char* method : {"memit", "emmet", "alphaedit"}) {
    try {
      const MemitHparams h = MemitHparams::from_json(j, "hparams.json", method);
      FUZZ_CHECK(!h.layers.empty() && std::is_sorted(h.layers.begin(), h.layers.end()));
      FUZZ_CHECK(MemitHparams::from_json(h.to_json(method), "to_json", method).to_json(method) == h.to_json(method));
    } catch (const Error&) {
    }
  }
  try {
    const IkeHparams h = IkeHparams::from_json(j, "ike.json");
    FUZZ_CHECK(h.copy >= 0 && h.update >= 0 && h.retain >= 0);
    FUZZ_CHECK(IkeHparams::from_json(h.to_json(), "to_json").to_json() == h.to_json());
  } catch (const Error&) {
  }
  try {
    const FtHparams h = FtHparams::from_json(j, "hparams.json");
    FUZZ_CHECK(!h.layers.empty() && h.num_steps >= 1 && h.batch_size >= 1);
    FUZZ_CHECK(FtHparams::from_json(h.to_json(), "to_json").to_json() == h.to_json());
  } catch (const Error&) {
  }
}

// The same bytes as a JSON hparams file and as EasyEdit's YAML (read_hparams_file, yaml-cpp).
void check_hparams(std::string_view text) {
  try {
    check_hparams_json(parse_json_text(text, "hparams.json", "hyperparameter file"));
  } catch (const Error&) {
  }
  const auto path = fuzz::write_scratch("hparams.yaml", text);
  nlohmann::json j;
  try {
    j = read_hparams_file(path);
  } catch (const Error&) {
    return;
  }
  FUZZ_CHECK(j.is_object());
  check_hparams_json(j);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_records(text);
  check_hparams(text);
  return 0;
}
