// Where the fact is looked up, and what the MLP reads and writes there (ROME's repr_tools).
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "editlab/model/language_model.h"
#include "editlab/model/tokenizer.h"
#include "editlab/util/text.h"  // fill_braces: Python's str.format for one "{}"

namespace editlab {

struct LocatedSubject {
  std::vector<int64_t> ids;   // tokens of template.format(subject), what the model reads
  int64_t index = 0;          // the lookup position in `ids`
  int64_t subject_begin = 0;  // with "subject_last": the subject's first token (it ends at index)
};

// The sentence template.format(subject) is tokenized as a prompt (Tokenizer::encode_prompt: with
// BOS where the tokenizer adds one, as HF-based editors tokenize it). fact_token "subject_last":
// as ROME's get_words_idxs_in_templates in the form EasyEdit runs on every family, the index is
// len(tok(prefix + subject)) - 1, where prefix is the template's text before "{}"; the subject
// starts at len(tok(prefix without its trailing space)). With GPT-2's tokenizer this is the
// original's len(tok(prefix.rstrip)) + len(tok(" " + subject)) - 1. Both must be the first
// tokens of the sentence; when a token crosses the subject's boundary the lookup is ambiguous
// and this is an Error rather than a silent shift. fact_token "last": the sentence's last token.
LocatedSubject locate_subject(const Tokenizer& tokenizer, const std::string& template_with_braces,
                              const std::string& subject, const std::string& fact_token);

// Right-padded batch (pad = eos) of token rows: ids and mask [N, T].
std::pair<torch::Tensor, torch::Tensor> pad_right(const std::vector<std::vector<int64_t>>& rows, int64_t pad_id,
                                                  torch::Device device);

struct MlpReadout {
  torch::Tensor keys;    // [N, M]: input of the MLP's output projection
  torch::Tensor values;  // [N, C]: output of the MLP
};

// Runs the rows up to `layer` only (no later layers, no logits) and reads key and value at
// rows[i][index[i]].
MlpReadout read_mlp_at(LanguageModel& model, const std::vector<std::vector<int64_t>>& rows,
                       const std::vector<int64_t>& index, int64_t layer, int64_t pad_id);

}  // namespace editlab
