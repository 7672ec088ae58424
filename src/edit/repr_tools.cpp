#include "editlab/edit/repr_tools.h"

#include <algorithm>

#include "editlab/util/error.h"

namespace editlab {
LocatedSubject locate_subject(const Tokenizer& tokenizer, const std::string& templ, const std::string& subject,
                              const std::string& fact_token) {
  LocatedSubject located;
  const std::string sentence = fill_braces(templ, subject);
  located.ids = tokenizer.encode_prompt(sentence);
  if (static_cast<int64_t>(located.ids.size()) <= tokenizer.prompt_prefix_size()) {
    fail("the sentence \"{}\" has no tokens", sentence);
  }
  if (fact_token == "last") {
    located.index = static_cast<int64_t>(located.ids.size()) - 1;
    return located;
  }
  const auto pos = templ.find("{}");
  std::string prefix = templ.substr(0, pos);
  // The text that ends with the subject, and the one before it (without the space that binds to
  // the subject's first word), each tokenized as the start of a sentence.
  const auto through_subject = tokenizer.encode_prompt(prefix + subject);
  if (!prefix.empty() && prefix.back() == ' ') prefix.pop_back();
  const auto before_subject = tokenizer.encode_prompt(prefix);
  const auto starts = [&](const std::vector<int64_t>& head) {
    return head.size() <= located.ids.size() && std::equal(head.begin(), head.end(), located.ids.begin());
  };
  if (through_subject.size() <= before_subject.size() || !starts(through_subject) || !starts(before_subject)) {
    fail(
        "subject \"{}\" in \"{}\": the sentence's tokens do not begin with those of the text up to the "
        "subject's start and end, so its last token is ambiguous (a token crosses the subject's boundary)",
        subject, templ);
  }
  located.index = static_cast<int64_t>(through_subject.size()) - 1;
  located.subject_begin = static_cast<int64_t>(before_subject.size());
  return located;
}

std::pair<torch::Tensor, torch::Tensor> pad_right(const std::vector<std::vector<int64_t>>& rows, int64_t pad_id,
                                                  torch::Device device) {
  size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.size());
  const int64_t B = rows.size(), W = width;
  auto ids = torch::full({B, W}, pad_id, torch::kLong);
  auto mask = torch::zeros({B, W}, torch::kLong);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = rows[b].size();
    ids[b].slice(0, 0, n).copy_(torch::tensor(rows[b], torch::kLong));
    mask[b].slice(0, 0, n).fill_(1);
  }
  return {ids.to(device), mask.to(device)};
}

MlpReadout read_mlp_at(LanguageModel& model, const std::vector<std::vector<int64_t>>& rows,
                       const std::vector<int64_t>& index, int64_t layer, int64_t pad_id) {
  torch::NoGradGuard no_grad;
  auto [ids, mask] = pad_right(rows, pad_id, model.device());
  ForwardRequest request;
  request.input_ids = ids;
  request.attention_mask = mask;
  request.last_layer = layer;
  MlpIntervention read;
  read.layer = layer;
  read.batch = torch::arange(static_cast<int64_t>(rows.size()), torch::kLong).to(model.device());
  read.position = torch::tensor(index, torch::kLong).to(model.device());
  read.capture_key = true;
  read.capture_value = true;
  request.interventions.push_back(read);
  auto result = model.forward(request);
  return {result.captures[0].key, result.captures[0].value};
}

}  // namespace editlab
