// ROME's context templates: ["{}"] + [t + ". {}" for t in samples], where the samples are texts
// the model generates from <|endoftext|> with top-k sampling; length params [[5, 10], [10, 10]]
// mean 10 samples of 5 tokens (the <|endoftext|> included, as ROME's generate_fast counts) and
// 10 of 10, so 21 templates. Seeded; savable to and loadable from JSON (a list of strings) so that
// a run can be reproduced exactly or use the templates another implementation drew.
//
// As the reference: "\n\n" becomes " ", "<|endoftext|>" and braces are removed. Unlike it, the
// samples are not NFKD-normalised (load a template file to use normalised ones).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "editlab/model/language_model.h"
#include "editlab/model/tokenizer.h"

namespace editlab {

std::vector<std::string> generate_context_templates(LanguageModel& model, const Tokenizer& tokenizer,
                                                    const std::vector<std::pair<int64_t, int64_t>>& length_params,
                                                    uint64_t seed, int64_t top_k = 5);

// MEMIT's (and EMMET's, AlphaEdit's) context templates without the "{}" group: one sample of 10
// tokens (the prompt included, as generate_fast's max_out_len counts) from each of "The",
// "Therefore", "Because", "I", "You", each written "<sample>. {}" with braces replaced by spaces.
std::vector<std::string> generate_memit_context_templates(LanguageModel& model, const Tokenizer& tokenizer,
                                                          uint64_t seed, int64_t top_k = 5);

std::vector<std::string> load_context_templates(const std::filesystem::path& path);
void save_context_templates(const std::filesystem::path& path, const std::vector<std::string>& templates);

}  // namespace editlab
