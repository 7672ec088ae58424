// The model interface that edit and probe code program against. GPT-2 implements it
// (gpt2.h); GPT-J, GPT-NeoX and Llama/Mistral/Qwen2 implement it in src/model/decoder.h, without
// the edit or probe layers knowing the family.
//
// Legend: B batch, T tokens in this call, P past tokens (KV cache), C d_model, M d_mlp, V vocab.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace editlab {

// The architecture-independent facts the edit and probe code need.
struct ModelShape {
  int64_t n_layer = 0;
  int64_t d_model = 0;      // C
  int64_t d_mlp = 0;        // M: size of the ROME key (input of the MLP's output projection)
  int64_t vocab_size = 0;   // V
  int64_t n_positions = 0;  // longest sequence the model accepts
};

// A typed intervention on the MLP of one layer, at chosen (batch, position) pairs:
//   key   = input of the MLP's output projection (GPT-2: input of mlp.c_proj), [P, M]
//   value = output of the MLP (GPT-2: output of mlp.c_proj, bias included), [P, C]
// `batch` and `position` are int64 tensors of equal length; leave both undefined to
// address every (b, t) of the batch (captured tensors are then [B, T, M] / [B, T, C]).
struct MlpIntervention {
  int64_t layer = 0;
  torch::Tensor batch;
  torch::Tensor position;
  bool capture_key = false;
  bool capture_value = false;   // the value *before* add_value / replace_value
  torch::Tensor add_value;      // [P, C] or [C]: added to the value (autograd flows through)
  torch::Tensor replace_value;  // [P, C]: replaces the value
  // A low-rank update of the MLP's output projection per batch row, without writing the weight:
  // row b's value gains sum_r (key[b, t] . low_rank_u[b, r]) low_rank_v[b, r] at every position t,
  // as if the weight had gained sum_r u[b, r] v[b, r]^T for that row alone (ROME's edits of many
  // records probed in one batch). u [B, R, M], v [B, R, C] (a leading 1 broadcasts over the
  // batch); only with `batch` and `position` undefined. Applied after add_value / replace_value.
  torch::Tensor low_rank_u, low_rank_v;
};

// Rank-one edits of several records (ROME's W += u v^T), each applied only to its own rows while
// many records' prompts go through one batch, no weight written: request i is scored as if
// group[i]'s updates were in the model (-1: the unedited model).
struct RowEdits {
  struct Update {
    int64_t layer = 0;
    torch::Tensor u, v;  // [M], [C]
  };
  std::vector<std::vector<Update>> groups;  // per group (record), its updates
  std::vector<int64_t> group;               // per request / prefix: its group or -1

  // The MLP interventions of one forward batch whose rows are the requests `items`, in order.
  std::vector<MlpIntervention> interventions(std::span<const size_t> items, torch::Device device) const;
};

// Activation patching (causal tracing): the output of a block's attention (GPT-2: attn.c_proj,
// bias included), of its MLP (mlp.c_proj) or of the whole block (the residual stream after it).
enum class Site { kAttention, kMlp, kBlock };

// Replaces the output of `site` in `layer` at (batch[i], position[i]) by value[i], or with `add`
// adds value there (MEMIT's delta on the block output; autograd flows through). `batch` and
// `position` are int64 tensors of equal length P; value is [P, C] (or [C] with add).
struct SitePatch {
  Site site = Site::kBlock;
  int64_t layer = 0;
  torch::Tensor batch;
  torch::Tensor position;
  torch::Tensor value;
  bool add = false;
};

// Every site's output in every layer run, [B, T, C] each, indexed by layer (undefined for the
// layers not run). `block_in[l]` is the residual stream entering block l.
struct SiteStates {
  std::vector<torch::Tensor> attention, mlp, block, block_in;
};

struct MlpCapture {
  torch::Tensor key;    // [P, M] or [B, T, M]
  torch::Tensor value;  // [P, C] or [B, T, C]
};

// Key/value cache for incremental decoding. One entry per layer, [B, H, P, D] each; a forward
// from first_layer > 0 reads and appends the entries of the layers it runs (the others may be
// undefined).
struct KVCache {
  std::vector<torch::Tensor> keys;
  std::vector<torch::Tensor> values;
  // P: the length of the defined entries (all of them have it).
  int64_t length() const {
    for (const auto& k : keys) {
      if (k.defined()) return k.size(2);
    }
    return 0;
  }
  // Reorder the batch dimension (beam search).
  void select(const torch::Tensor& batch_index);
};

struct ForwardRequest {
  torch::Tensor input_ids;  // [B, T] int64
  // [B, P + T] int64/bool, 1 = real token, 0 = padding; undefined = all real. With a cache it
  // covers the past tokens too. Position ids are derived from it (cumsum - 1), so left- and
  // right-padded rows give the same logits at real tokens as unpadded runs.
  torch::Tensor attention_mask;
  KVCache* cache = nullptr;  // appended to when given

  // Run only layers [first_layer, last_layer]. With first_layer > 0, `residual` is the hidden
  // state entering block first_layer, [B, T, C] (input_ids then only give the shape).
  int64_t first_layer = 0;
  torch::Tensor residual;
  std::optional<int64_t> last_layer;  // stop after this block: no final norm, no logits
  // Record the hidden state entering this block ([B, T, C]) into ForwardResult::residual_in.
  std::optional<int64_t> capture_residual_before;

  std::vector<MlpIntervention> interventions;

  // Added to the token embeddings (the output of wte, before the position embeddings), [B, T, C];
  // causal tracing corrupts the subject's tokens through it. Only with first_layer == 0.
  torch::Tensor token_embedding_add;
  std::vector<SitePatch> patches;  // applied after the interventions of the same layer
  bool capture_sites = false;      // fill ForwardResult::sites (the values after patching)

  // Logits only at these (batch, position) pairs ([N, V]) instead of [B, T, V]: the LM head
  // is the largest matmul of a small model, and scoring needs a few positions only.
  torch::Tensor logit_batch;
  torch::Tensor logit_position;
};

struct ForwardResult {
  torch::Tensor logits;              // [B, T, V], or [N, V] with logit_batch/logit_position, or undefined
  torch::Tensor hidden;              // [B, T, C]: after the last block run (before ln_f when stopped early)
  torch::Tensor residual_in;         // see capture_residual_before
  std::vector<MlpCapture> captures;  // one per intervention, same order
  SiteStates sites;                  // with capture_sites
};

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;
  virtual const ModelShape& shape() const = 0;
  virtual ForwardResult forward(const ForwardRequest& request) = 0;
  // The weight that a rank-one edit changes at `layer`, as a [M, C] tensor that aliases the
  // model's parameter (so `w += u v^T` edits the model). GPT-2: mlp.c_proj.weight.
  virtual torch::Tensor mlp_out_weight(int64_t layer) = 0;
  // Its name in the model's checkpoint, for reports (GPT-2: "h.{layer}.mlp.c_proj.weight").
  virtual std::string mlp_out_weight_name(int64_t layer) const = 0;
  // The token embeddings of `ids` (GPT-2: rows of wte), [..., C], without position embeddings.
  virtual torch::Tensor embed_tokens(const torch::Tensor& ids) = 0;
  // Parameters by Hugging Face name (for fine-tuning and saving).
  virtual std::vector<std::pair<std::string, torch::Tensor>> parameters_by_name() = 0;
  // Whether the model has a module of this Hugging Face name (e.g. "transformer.h.5.mlp",
  // "model.norm"), as hparams files name them: some parameter lies under it (a leading
  // "transformer." that GPT-2's names drop is accepted). Families add modules without
  // parameters of their own (a tied LM head).
  virtual bool has_module(const std::string& name) {
    for (const auto& [param, _] : parameters_by_name()) {
      for (const std::string& full : {param, "transformer." + param}) {
        if (full.size() > name.size() && full.compare(0, name.size(), name) == 0 && full[name.size()] == '.') {
          return true;
        }
      }
    }
    return false;
  }
  virtual torch::Device device() const = 0;
  virtual torch::ScalarType dtype() const = 0;
};

// Position ids from an attention mask: cumsum - 1, clamped at 0 for padding. [B, P+T] -> same.
torch::Tensor positions_from_mask(const torch::Tensor& attention_mask);

// For implementations of LanguageModel, so that every family honours a request the same way:
// the request's patches of (site, layer) applied to that site's output x [B, T, C];
torch::Tensor apply_site_patches(Site site, int64_t layer, torch::Tensor x, const ForwardRequest& request);
// and its MLP interventions at `layer`: key [B, T, M] and value [B, T, C] are the input and output
// of the MLP's output projection; captures go to result.captures (sized to the interventions), and
// the value with every add / replace applied is returned.
torch::Tensor apply_mlp_interventions(int64_t layer, const torch::Tensor& key, torch::Tensor value,
                                      const ForwardRequest& request, ForwardResult& result);
// What every family's forward checks and prepares before its first layer: the request's layer
// range, interventions and patches within the model's n_layer layers, P + T within n_positions
// (`positions_key` names that setting in the error), the cache sized, the attention mask [B, P+T]
// (all ones when the request has none) and `allowed` [B, 1, T, P+T]: causal (and within the
// sliding window, counted on raw indices as HF's cache_position), masked keys hidden, every
// query seeing its own key (a left-padded row's first queries would otherwise attend to nothing
// and give NaN, which reaches later layers through the padding's keys and values; real tokens
// always see themselves, so they do not change; HF unmasks such rows for the same reason).
struct ForwardFrame {
  int64_t batch = 0, tokens = 0, past = 0;  // B, T, P (the cache's length)
  int64_t last_layer = 0;
  torch::Tensor mask, allowed;
};
ForwardFrame begin_forward(const ForwardRequest& request, int64_t n_layer, int64_t n_positions,
                           const char* positions_key, std::optional<int64_t> sliding_window = std::nullopt);
// The result a forward fills: one capture per intervention and, with capture_sites, a slot per
// layer in each list of sites.
ForwardResult empty_forward_result(const ForwardRequest& request, int64_t n_layer);
// Logits as every family returns them: float32 when the model computes in bfloat16 / float16 (as
// HF's causal-LM heads upcast them), so scores, softmaxes and losses never run in half precision.
torch::Tensor float_logits(const torch::Tensor& logits);
// With capture_sites: a block's input and its three outputs (after patching) at `layer`.
void record_sites(ForwardResult& result, int64_t layer, const torch::Tensor& block_in, const torch::Tensor& attention,
                  const torch::Tensor& mlp, const torch::Tensor& block);

}  // namespace editlab
