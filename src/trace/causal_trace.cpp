#include "editlab/trace/causal_trace.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "editlab/edit/repr_tools.h"
#include "editlab/util/error.h"

namespace editlab {

std::string_view trace_kind_name(TraceKind kind) {
  switch (kind) {
    case TraceKind::kHidden:
      return "hidden";
    case TraceKind::kMlp:
      return "mlp";
    case TraceKind::kAttn:
      return "attn";
  }
  return "?";
}

TraceKind parse_trace_kind(std::string_view name) {
  for (auto kind : {TraceKind::kHidden, TraceKind::kMlp, TraceKind::kAttn}) {
    if (name == trace_kind_name(kind)) return kind;
  }
  fail("unknown trace kind \"{}\" (kinds: hidden, mlp, attn)", name);
}

int64_t default_trace_window(int64_t n_layer) {
  return std::max<int64_t>(1, std::lround(10.0 * static_cast<double>(n_layer) / 48.0));
}

double subject_embedding_std(LanguageModel& model, const Tokenizer& tokenizer,
                             const std::vector<std::string>& subjects) {
  std::vector<int64_t> ids;
  for (const auto& s : subjects) {
    const auto t = tokenizer.encode(s);
    ids.insert(ids.end(), t.begin(), t.end());
  }
  if (ids.size() < 2) fail("the embedding std needs subjects with at least 2 tokens in all");
  torch::NoGradGuard no_grad;
  auto e = model.embed_tokens(torch::tensor(ids, torch::kLong).to(model.device()));
  return e.to(torch::kDouble).std().item<double>();
}

namespace {

Site site_of(TraceKind kind) {
  switch (kind) {
    case TraceKind::kMlp:
      return Site::kMlp;
    case TraceKind::kAttn:
      return Site::kAttention;
    case TraceKind::kHidden:
      break;
  }
  return Site::kBlock;
}

const std::vector<torch::Tensor>& states_of(const SiteStates& s, TraceKind kind) {
  switch (kind) {
    case TraceKind::kMlp:
      return s.mlp;
    case TraceKind::kAttn:
      return s.attention;
    case TraceKind::kHidden:
      break;
  }
  return s.block;
}

// p(answer) at the logits' rows, [N, V] -> [N] float64.
torch::Tensor answer_prob(const torch::Tensor& logits, int64_t answer_id) {
  return torch::softmax(logits.to(torch::kDouble), -1).select(-1, answer_id);
}

}  // namespace

struct CausalTracer::Prepared {
  std::vector<int64_t> ids;
  int64_t begin = 0, end = 0, answer_id = 0, predicted_id = 0;
  torch::Tensor input_ids;  // [1, T]
  torch::Tensor noise;      // [S, T, C] in the model's dtype, zero outside the subject
  ForwardResult clean;      // sites captured, logits at the last position
  double p_clean = 0;
};

CausalTracer::CausalTracer(LanguageModel& model, const Tokenizer& tokenizer, TraceOptions options)
    : model_(model), tokenizer_(tokenizer), options_(std::move(options)) {
  const int64_t L = model_.shape().n_layer;
  window_ = options_.window > 0 ? options_.window : default_trace_window(L);
  if (window_ > L) fail("trace window {} is larger than the model's {} layers", window_, L);
  if (options_.samples < 1) fail("trace samples must be at least 1, not {}", options_.samples);
  if (!(options_.noise_level >= 0) || !std::isfinite(options_.noise_level)) {
    fail("trace noise level must be a finite number >= 0, not {}", options_.noise_level);
  }
  if (!(options_.embedding_std >= 0) || !std::isfinite(options_.embedding_std)) {
    fail("embedding std must be a finite number >= 0, not {}", options_.embedding_std);
  }
  if (options_.kinds.empty()) fail("trace needs at least one kind (hidden, mlp, attn)");
}

int64_t CausalTracer::forwards_per_prompt() const {
  return static_cast<int64_t>(options_.kinds.size()) * model_.shape().n_layer;
}

std::pair<int64_t, int64_t> CausalTracer::window_layers(TraceKind kind, int64_t layer) const {
  if (kind == TraceKind::kHidden) return {layer, layer + 1};
  const int64_t L = model_.shape().n_layer;
  // The reference: range(max(0, layer - window // 2), min(num_layers, layer - (-window // 2))).
  return {std::max<int64_t>(0, layer - window_ / 2), std::min<int64_t>(L, layer + (window_ + 1) / 2)};
}

CausalTracer::Prepared CausalTracer::prepare(const TraceInput& input, uint64_t seed) const {
  Prepared p;
  const auto pos = input.prompt.find(input.subject);
  if (input.subject.empty() || pos == std::string::npos) {
    fail("subject \"{}\" is not in the prompt \"{}\"", input.subject, input.prompt);
  }
  std::string templ = input.prompt;
  templ.replace(pos, input.subject.size(), "{}");
  const auto located = locate_subject(tokenizer_, templ, input.subject, "subject_last");
  p.ids = located.ids;
  p.begin = located.subject_begin;
  p.end = located.index + 1;
  if (p.begin < 0 || p.begin >= p.end) fail("subject \"{}\" has no tokens in \"{}\"", input.subject, input.prompt);
  if (!input.answer.empty()) {
    const auto answer_ids = tokenizer_.encode_continuation(" " + input.answer);
    if (answer_ids.empty()) fail("prompt \"{}\": the answer \"{}\" has no tokens", input.prompt, input.answer);
    p.answer_id = answer_ids[0];
  }

  const int64_t T = p.ids.size(), S = options_.samples, C = model_.shape().d_model;
  const auto device = model_.device();
  p.input_ids = torch::tensor(p.ids, torch::kLong).view({1, T}).to(device);

  // The draws: float64 on the CPU from a seeded generator, so CPU and CUDA runs see the same noise.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto noise = torch::zeros({S, T, C}, torch::kDouble);
  noise.slice(1, p.begin, p.end)
      .copy_(at::randn({S, p.end - p.begin, C}, generator, torch::kDouble) *
             (options_.noise_level * options_.embedding_std));
  p.noise = noise.to(device, model_.dtype());

  ForwardRequest clean;
  clean.input_ids = p.input_ids;
  clean.capture_sites = true;
  clean.logit_batch = torch::zeros({1}, torch::kLong).to(device);
  clean.logit_position = torch::full({1}, T - 1, torch::kLong).to(device);
  p.clean = model_.forward(clean);
  p.predicted_id = p.clean.logits[0].argmax().item<int64_t>();
  if (input.answer.empty()) p.answer_id = p.predicted_id;  // no answer given: the model's own
  p.p_clean = answer_prob(p.clean.logits, p.answer_id)[0].item<double>();
  return p;
}

PromptTrace CausalTracer::trace(const TraceInput& input, uint64_t seed, const std::function<void()>& on_forward) const {
  torch::NoGradGuard no_grad;
  const auto p = prepare(input, seed);
  const int64_t T = p.ids.size(), S = options_.samples, L = model_.shape().n_layer;
  const auto device = model_.device();
  const auto to_device = [&](torch::Tensor t) { return t.to(device); };

  // The corrupted run: every site and every layer's keys and values, for all draws.
  ForwardRequest corrupt;
  corrupt.input_ids = p.input_ids.expand({S, T});
  corrupt.token_embedding_add = p.noise;
  corrupt.capture_sites = true;
  KVCache corrupt_cache;
  corrupt.cache = &corrupt_cache;
  corrupt.logit_batch = to_device(torch::arange(S, torch::kLong));
  corrupt.logit_position = to_device(torch::full({S}, T - 1, torch::kLong));
  const auto corrupted = model_.forward(corrupt);
  const double p_corrupt = answer_prob(corrupted.logits, p.answer_id).mean().item<double>();

  PromptTrace out;
  out.input = input;
  out.ids = p.ids;
  out.subject_begin = p.begin;
  out.subject_end = p.end;
  out.answer_id = p.answer_id;
  out.predicted_id = p.predicted_id;
  out.p_clean = p.p_clean;
  out.p_corrupt = p_corrupt;
  out.kinds = options_.kinds;

  // Rows: one per (token t >= begin, draw s), r = (t - begin) * S + s. Tokens before the subject
  // are the same in the clean and corrupted runs: they are the shared prefix (keys and values
  // from the corrupted run) and their cells are p_corrupt.
  const int64_t b = p.begin, n = T - b, R = n * S;
  const auto rows = to_device(torch::arange(R, torch::kLong));
  const auto row_token = to_device(torch::arange(R, torch::kLong).floor_divide(S));  // t - begin
  KVCache prefix_cache;
  if (b > 0) {
    for (int64_t l = 0; l < L; ++l) {
      prefix_cache.keys.push_back(corrupt_cache.keys[l].slice(2, 0, b).repeat({n, 1, 1, 1}));
      prefix_cache.values.push_back(corrupt_cache.values[l].slice(2, 0, b).repeat({n, 1, 1, 1}));
    }
  }
  // What every (kind, layer) forward shares: the rows' tokens (ids give the shape; from layer 0
  // they are read, with the draws' noise), the mask over prefix + rows, logits at the last token.
  ForwardRequest shared;
  shared.input_ids = p.input_ids.slice(1, b).expand({R, n});
  shared.attention_mask = torch::ones({R, T}, torch::kLong).to(device);
  shared.logit_batch = rows;
  shared.logit_position = to_device(torch::full({R}, n - 1, torch::kLong));
  const auto noise_rows = p.noise.slice(1, b).repeat({n, 1, 1});
  for (auto kind : options_.kinds) {
    auto grid = torch::full({T, L}, p_corrupt, torch::kDouble);
    // The clean value each row restores, per layer: its token's state in the clean run, [R, C].
    std::vector<torch::Tensor> clean_rows;
    for (const auto& state : states_of(p.clean.sites, kind)) {
      clean_rows.push_back(state[0].slice(0, b).index_select(0, row_token));
    }
    for (int64_t layer = 0; layer < L; ++layer) {
      const auto [lo, hi] = window_layers(kind, layer);
      ForwardRequest req = shared;
      KVCache prefix = prefix_cache;  // the forward replaces its entries
      if (b > 0) req.cache = &prefix;
      if (lo == 0) {
        req.token_embedding_add = noise_rows;
      } else {
        req.first_layer = lo;
        req.residual = corrupted.sites.block_in[lo].slice(1, b).repeat({n, 1, 1});
      }
      for (int64_t l = lo; l < hi; ++l)
        req.patches.push_back(SitePatch{site_of(kind), l, rows, row_token, clean_rows[l]});
      const auto probs = answer_prob(model_.forward(req).logits, p.answer_id).view({n, S}).mean(1).cpu();
      grid.select(1, layer).slice(0, b).copy_(probs);
      if (on_forward) on_forward();
    }
    out.restored.push_back(grid);
  }
  return out;
}

double CausalTracer::restored_cell(const TraceInput& input, uint64_t seed, TraceKind kind, int64_t token,
                                   int64_t layer) const {
  torch::NoGradGuard no_grad;
  const auto p = prepare(input, seed);
  const int64_t T = p.ids.size(), S = options_.samples;
  if (token < 0 || token >= T || layer < 0 || layer >= model_.shape().n_layer) fail("no cell ({}, {})", token, layer);
  const auto device = model_.device();
  ForwardRequest req;
  req.input_ids = p.input_ids.expand({S, T});
  req.token_embedding_add = p.noise;
  const auto draws = torch::arange(S, torch::kLong).to(device);
  const auto at_token = torch::full({S}, token, torch::kLong).to(device);
  const auto [lo, hi] = window_layers(kind, layer);
  for (int64_t l = lo; l < hi; ++l) {
    const auto clean = states_of(p.clean.sites, kind)[l][0][token];
    req.patches.push_back(SitePatch{site_of(kind), l, draws, at_token, clean.expand({S, clean.size(0)})});
  }
  req.logit_batch = draws;
  req.logit_position = torch::full({S}, T - 1, torch::kLong).to(device);
  return answer_prob(model_.forward(req).logits, p.answer_id).mean().item<double>();
}

}  // namespace editlab
