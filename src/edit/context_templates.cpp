#include "editlab/edit/context_templates.h"

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "editlab/util/atomic_file.h"
#include "editlab/util/error.h"

#include "editlab/util/text.h"

namespace editlab {
namespace {

// `count` samples of `length` tokens (the prompt `start` included: GPT-2's <|endoftext|> or BOS for
// ROME, a word for MEMIT), top-k sampling.
std::vector<std::vector<int64_t>> sample(LanguageModel& model, const std::vector<int64_t>& start, int64_t length,
                                         int64_t count, int64_t top_k, at::Generator& gen) {
  torch::NoGradGuard no_grad;
  std::vector<std::vector<int64_t>> rows(count, start);
  KVCache cache;
  auto ids = torch::tensor(start, torch::kLong).view({1, -1}).expand({count, -1}).contiguous().to(model.device());
  for (int64_t step = static_cast<int64_t>(start.size()); step < length; ++step) {
    ForwardRequest request;
    request.input_ids = ids;
    request.cache = &cache;
    request.logit_batch = torch::arange(count, torch::kLong).to(model.device());
    request.logit_position = torch::full({count}, ids.size(1) - 1, torch::kLong).to(model.device());
    auto probs = torch::softmax(model.forward(request).logits.to(torch::kCPU, torch::kFloat), -1);
    auto [top_probs, top_ids] = probs.topk(top_k, -1);  // [count, k]
    top_probs = top_probs / top_probs.sum(1, true);
    auto choice = torch::multinomial(top_probs, 1, false, gen);  // [count, 1]
    auto next = top_ids.gather(1, choice);                       // [count, 1]
    for (int64_t i = 0; i < count; ++i) rows[i].push_back(next[i][0].item<int64_t>());
    ids = next.to(model.device());
  }
  return rows;
}

}  // namespace

std::vector<std::string> generate_context_templates(LanguageModel& model, const Tokenizer& tokenizer,
                                                    const std::vector<std::pair<int64_t, int64_t>>& length_params,
                                                    uint64_t seed, int64_t top_k) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<std::string> templates = {"{}"};
  // ROME samples from "<|endoftext|>", GPT-2's start of text; a tokenizer that begins its
  // prompts with BOS (Llama, Mistral) starts from BOS.
  const auto bos = tokenizer.bos_id();
  const int64_t start = tokenizer.prompt_prefix_size() > 0 && bos ? *bos : tokenizer.eos_id();
  const std::string eos_text = tokenizer.token_bytes(tokenizer.eos_id());
  for (auto [length, count] : length_params) {
    if (count == 0) continue;
    for (const auto& row : sample(model, {start}, length, count, std::min(top_k, model.shape().vocab_size), gen)) {
      std::string text = replace_invalid_utf8(tokenizer.decode(std::vector<int64_t>(row.begin() + 1, row.end())));
      text = replace_all(text, "\n\n", " ");
      text = replace_all(text, "<|endoftext|>", "");
      if (!eos_text.empty()) text = replace_all(text, eos_text, "");
      std::erase(text, '{');
      std::erase(text, '}');
      templates.push_back(text + ". {}");
    }
  }
  return templates;
}

std::vector<std::string> generate_memit_context_templates(LanguageModel& model, const Tokenizer& tokenizer,
                                                          uint64_t seed, int64_t top_k) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<std::string> templates;
  const std::string eos_text = tokenizer.token_bytes(tokenizer.eos_id());
  const auto skip = static_cast<size_t>(tokenizer.prompt_prefix_size());
  for (const char* word : {"The", "Therefore", "Because", "I", "You"}) {
    const auto prompt = tokenizer.encode_prompt(word);
    const int64_t length = std::max<int64_t>(10, static_cast<int64_t>(prompt.size()) + 1);
    for (const auto& row : sample(model, prompt, length, 1, std::min(top_k, model.shape().vocab_size), gen)) {
      // generate_fast decodes the prompt with the sample (skip_special_tokens: BOS dropped).
      std::string text = replace_invalid_utf8(tokenizer.decode(std::vector<int64_t>(row.begin() + skip, row.end())));
      text = replace_all(text, "\n\n", " ");
      text = replace_all(text, "<|endoftext|>", "");
      if (!eos_text.empty()) text = replace_all(text, eos_text, "");
      std::replace(text.begin(), text.end(), '{', ' ');
      std::replace(text.begin(), text.end(), '}', ' ');
      templates.push_back(text + ". {}");
    }
  }
  return templates;
}

std::vector<std::string> load_context_templates(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) fail("{}: cannot open the context-template file", path.string());
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number such as 1e400
    fail("{}: not valid JSON ({})", path.string(), e.what());
  }
  if (!j.is_array() || j.empty()) fail("{}: expected a non-empty JSON array of template strings", path.string());
  std::vector<std::string> templates;
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_string()) fail("{}: template {} is not a string", path.string(), i);
    auto t = j[i].get<std::string>();
    const auto pos = t.find("{}");
    if (pos == std::string::npos || t.find("{}", pos + 1) != std::string::npos) {
      fail("{}: template {} (\"{}\") must contain \"{{}}\" exactly once", path.string(), i, t);
    }
    templates.push_back(std::move(t));
  }
  return templates;
}

void save_context_templates(const std::filesystem::path& path, const std::vector<std::string>& templates) {
  write_file_atomically(path,
                        nlohmann::json(templates).dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

}  // namespace editlab
