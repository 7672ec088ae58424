// A CounterFact record as the probe suites read it: the requested rewrite and its prompts
// (paraphrase, neighborhood, attribute, generation), plus editlab's optional `implications`
// [{kind, prompt, target_new, target_old}] and `mention_prompts` (see DESIGN.md "Formats").
// Unknown fields are ignored, so the real counterfact.json (and CounterFact+'s) loads as it is.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "editlab/edit/request.h"

namespace editlab {

struct ImplicationProbe {
  std::string kind;        // "symmetric", "transitive", "inverse", "alias", ...
  std::string prompt;      // the subject filled in, e.g. "The Louvre is located in the country of"
  std::string target_new;  // the implied answer after the edit
  std::string target_old;  // the answer before it
};

struct ProbeRecord {
  EditRequest request;
  std::vector<std::string> paraphrase_prompts, neighborhood_prompts, attribute_prompts, generation_prompts,
      mention_prompts;
  std::vector<ImplicationProbe> implications;
};

// Parses and validates one record; errors name `where` and the field.
ProbeRecord parse_probe_record(const nlohmann::json& record, const std::string& where);

// The records of a dataset file (a JSON array, one object, or JSON Lines), unparsed so that one
// bad record fails alone. Errors name the file and, for JSON Lines, the line.
std::vector<nlohmann::json> load_dataset(const std::filesystem::path& path);

}  // namespace editlab
