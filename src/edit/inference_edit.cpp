#include "editlab/edit/inference_edit.h"

#include <algorithm>

#include "editlab/util/error.h"
#include "editlab/util/rng.h"

namespace editlab {

PatchedModel::PatchedModel(std::shared_ptr<LanguageModel> base) : base_(std::move(base)) {
  if (!base_) fail("PatchedModel: no model to wrap");
}

std::pair<std::vector<int64_t>, std::vector<int64_t>> find_occurrences(
    const torch::Tensor& ids, const torch::Tensor& mask, const std::vector<std::vector<int64_t>>& sequences) {
  std::pair<std::vector<int64_t>, std::vector<int64_t>> out;
  auto cpu_ids = ids.to(torch::kCPU, torch::kLong).contiguous();
  torch::Tensor cpu_mask;
  if (mask.defined()) cpu_mask = mask.to(torch::kCPU, torch::kLong).contiguous();
  const int64_t B = cpu_ids.size(0), T = cpu_ids.size(1);
  const auto* id = cpu_ids.data_ptr<int64_t>();
  const int64_t* real = cpu_mask.defined() ? cpu_mask.data_ptr<int64_t>() : nullptr;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      for (const auto& seq : sequences) {
        const auto n = static_cast<int64_t>(seq.size());
        if (n == 0 || t + 1 < n) continue;
        bool match = true;
        for (int64_t j = 0; j < n && match; ++j) {
          const int64_t at = b * T + t - n + 1 + j;
          match = id[at] == seq[j] && (real == nullptr || real[at] != 0);
        }
        if (match) {
          out.first.push_back(b);
          out.second.push_back(t);
          break;  // one patch per position, whichever variant matched
        }
      }
    }
  }
  return out;
}

ForwardResult PatchedModel::forward(const ForwardRequest& request) {
  if (patches_.empty()) return base_->forward(request);
  ForwardRequest r = request;
  const int64_t T = request.input_ids.size(1);
  // The mask's columns for this call's tokens (with a cache it covers the past too).
  torch::Tensor mask;
  if (request.attention_mask.defined()) mask = request.attention_mask.slice(1, request.attention_mask.size(1) - T);
  const int64_t last = request.last_layer.value_or(shape().n_layer - 1);
  for (const auto& p : patches_) {
    if (p.layer < request.first_layer || p.layer > last) continue;
    auto [batch, position] = find_occurrences(request.input_ids, mask, p.subject_ids);
    if (batch.empty()) continue;
    const auto device = request.input_ids.device();
    MlpIntervention add;
    add.layer = p.layer;
    add.batch = torch::tensor(batch, torch::kLong).to(device);
    add.position = torch::tensor(position, torch::kLong).to(device);
    add.add_value = p.delta;
    r.interventions.push_back(std::move(add));
  }
  auto result = base_->forward(r);
  result.captures.resize(request.interventions.size());  // the caller's captures only
  return result;
}

std::vector<IkeFact> ike_facts(const std::vector<nlohmann::json>& records) {
  std::vector<IkeFact> out;
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    try {
      const auto requests = parse_edit_requests(r, "record " + std::to_string(i));
      const auto& q = requests.at(0);
      if (q.target_true.empty()) continue;  // a retain demonstration needs the true object
      IkeFact f;
      f.case_id = q.case_id;
      f.sentence = q.sentence();
      f.target_new = q.target_new;
      f.target_true = q.target_true;
      auto strings = [&](const char* key) {
        std::vector<std::string> v;
        if (auto it = r.find(key); it != r.end() && it->is_array()) {
          for (const auto& s : *it) {
            if (s.is_string()) v.push_back(s.get<std::string>());
          }
        }
        return v;
      };
      f.paraphrases = strings("paraphrase_prompts");
      f.neighbourhood = strings("neighborhood_prompts");
      out.push_back(std::move(f));
    } catch (const Error&) {
      // a record that does not parse gives no demonstration (the run reports it on its own)
    }
  }
  return out;
}

std::string ike_context(const EditRequest& request, const std::vector<IkeFact>& facts, const IkeHparams& hp) {
  const std::string sentence = request.sentence();
  std::vector<size_t> others;
  for (size_t i = 0; i < facts.size(); ++i) {
    if (facts[i].case_id != request.case_id && facts[i].sentence != sentence) others.push_back(i);
  }
  Rng rng(hp.seed, "ike:" + request.case_id + ":" + sentence);
  rng.shuffle(others);
  auto fact_line = [](const std::string& s, const std::string& t) { return "New Fact: " + s + " " + t + "\n"; };
  std::vector<std::string> demos;
  size_t next = 0;
  auto take = [&](int64_t count, const auto& make) {
    for (int64_t k = 0; k < count && next < others.size(); ++next) {
      std::string d = make(facts[others[next]]);
      if (d.empty()) continue;  // this fact has no prompt of the kind: the next one
      demos.push_back(std::move(d));
      ++k;
    }
  };
  take(hp.copy, [&](const IkeFact& f) { return fact_line(f.sentence, f.target_new) + "Prompt: " + f.sentence + " " + f.target_new + "\n\n"; });
  take(hp.update, [&](const IkeFact& f) {
    if (f.paraphrases.empty()) return std::string();
    const auto& p = f.paraphrases[rng.below(f.paraphrases.size())];
    return fact_line(f.sentence, f.target_new) + "Prompt: " + p + " " + f.target_new + "\n\n";
  });
  take(hp.retain, [&](const IkeFact& f) {
    if (f.neighbourhood.empty()) return std::string();
    const auto& p = f.neighbourhood[rng.below(f.neighbourhood.size())];
    return fact_line(f.sentence, f.target_new) + "Prompt: " + p + " " + f.target_true + "\n\n";
  });
  rng.shuffle(demos);
  std::string out;
  for (const auto& d : demos) out += d;
  out += fact_line(sentence, request.target_new) + "Prompt: " + sentence + " " + request.target_new + "\n\n";
  out += fact_line(sentence, request.target_new) + "Prompt: ";
  return out;
}

std::shared_ptr<InferenceEditing> prepare_inference_editing(EditMethod method, LoadedModel& loaded) {
  if (!is_inference_method(method)) return nullptr;
  auto state = std::make_shared<InferenceEditing>();
  if (method == EditMethod::rome_patch) {
    state->model = std::make_shared<PatchedModel>(loaded.model);
    loaded.model = state->model;  // loaded.gpt2 stays the unpatched model (save, trace, train)
  } else {
    state->prompt = std::make_shared<PromptContext>();
    loaded.tokenizer = std::make_shared<const Tokenizer>(loaded.tokenizer->with_prompt_context(state->prompt));
  }
  return state;
}

}  // namespace editlab
