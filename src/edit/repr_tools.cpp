#include "editlab/edit/repr_tools.h"

#include "editlab/util/error.h"

namespace editlab {
namespace {

std::string strip(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\n\r\f\v");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\n\r\f\v");
  return s.substr(first, last - first + 1);
}

}  // namespace

LocatedSubject locate_subject(const Tokenizer& tokenizer, const std::string& templ, const std::string& subject,
                              const std::string& fact_token) {
  LocatedSubject located;
  located.ids = tokenizer.encode(fill_braces(templ, subject));
  if (located.ids.empty()) fail("the sentence \"{}\" has no tokens", fill_braces(templ, subject));
  if (fact_token == "last") {
    located.index = static_cast<int64_t>(located.ids.size()) - 1;
    return located;
  }
  const auto pos = templ.find("{}");
  std::string prefix = templ.substr(0, pos);
  std::string word = subject;
  if (!prefix.empty()) {
    if (prefix.back() != ' ') {
      fail(
          "prompt \"{}\": the text before \"{{}}\" must end with a space (ROME locates the subject as "
          "\" \" + subject)",
          templ);
    }
    prefix.pop_back();
    word = " " + strip(subject);
  }
  const auto prefix_ids = tokenizer.encode(prefix);
  const auto word_ids = tokenizer.encode(word);
  if (word_ids.empty()) fail("subject \"{}\" has no tokens", subject);
  const size_t n = prefix_ids.size() + word_ids.size();
  bool agree = located.ids.size() >= n;
  for (size_t i = 0; agree && i < n; ++i) {
    agree = located.ids[i] == (i < prefix_ids.size() ? prefix_ids[i] : word_ids[i - prefix_ids.size()]);
  }
  if (!agree) {
    fail(
        "subject \"{}\" in \"{}\": tokenizing the sentence whole and in pieces (prefix, subject) "
        "disagree at the subject's boundary, so its last token is ambiguous",
        subject, templ);
  }
  located.index = static_cast<int64_t>(n) - 1;
  located.subject_begin = static_cast<int64_t>(prefix_ids.size());
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
