#include "editlab/edit/rome.h"

#include <chrono>

#include "editlab/edit/repr_tools.h"
#include "editlab/util/error.h"
#include "editlab/util/model_clock.h"
#include "editlab/util/steady_clock.h"
#include "editlab/model/device.h"

namespace editlab {
namespace {

// ROME's vectors, its solve and the v optimisation run in float32 on a bfloat16 / float16 model
// (the reference keeps delta, the statistics and the inverse in float32), else in the model's dtype.
torch::Tensor in_math_dtype(const torch::Tensor& t) {
  return is_half_precision(t.scalar_type()) ? t.to(torch::kFloat) : t;
}

torch::Tensor long_tensor(const std::vector<int64_t>& values, torch::Device device) {
  return torch::tensor(values, torch::kLong).to(device);
}

// The batch of the v optimisation: one rewriting prompt per context template
// (template.format(prompt) + decode(target_ids[:-1]), subject filled in), then the KL prompt
// "{} is a"; right-padded with eos. `lookup` is the subject's last token in every row; the
// loss reads row r's logits at `target_positions[r]` for the target tokens.
struct VBatch {
  std::vector<std::vector<int64_t>> rows;
  std::vector<int64_t> lookup;
  std::vector<int64_t> target_ids;
  std::vector<std::vector<int64_t>> target_positions;  // rewriting rows only
  int64_t retokenized_differently = 0;                 // rows whose last tokens are not target_ids[:-1]
};

VBatch build_v_batch(const Tokenizer& tok, const EditRequest& request, const RomeHparams& hp,
                     const std::vector<std::string>& templates) {
  VBatch b;
  b.target_ids = tok.encode_continuation(with_leading_space(request.target_new));
  const int64_t n_target = b.target_ids.size();
  const std::vector<int64_t> target_head(b.target_ids.begin(), b.target_ids.end() - 1);
  // The reference appends tok.decode(target_ids[:-1]) to each prompt's text and tokenizes the
  // whole. Where decoding does not give those tokens back (SentencePiece decoders drop the
  // leading space: "▁Par" decodes to "Par", and "in" + "Par" reads "inPar"), the tokens are
  // appended as ids instead, which is what the reference means.
  const std::string head_bytes = tok.decode(target_head);
  const bool as_text = tok.encode_continuation(head_bytes) == target_head;
  // Hugging Face's decode cleans up tokenization spaces by default; the reference relies on it.
  const std::string target_prefix = as_text ? clean_up_tokenization_spaces(replace_invalid_utf8(head_bytes)) : "";
  std::vector<std::string> prompts;
  for (const auto& t : templates) prompts.push_back(fill_braces(t, request.prompt) + target_prefix);
  prompts.push_back("{} is a");
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto located = locate_subject(tok, prompts[i], request.subject, hp.fact_token);
    if (i + 1 < prompts.size() && !as_text) {
      located.ids.insert(located.ids.end(), target_head.begin(), target_head.end());
      if (hp.fact_token == "last") located.index = static_cast<int64_t>(located.ids.size()) - 1;
    }
    b.lookup.push_back(located.index);
    if (i + 1 < prompts.size()) {
      // As the reference: the target's tokens are the row's last n_target - 1 tokens, and the
      // row's position len - n_target predicts the first of them.
      const int64_t len = located.ids.size();
      if (len < n_target) fail("rewriting prompt \"{}\" is shorter than its target", prompts[i]);
      std::vector<int64_t> positions;
      for (int64_t j = 0; j < n_target; ++j) positions.push_back(len - n_target + j);
      for (int64_t j = 0; j + 1 < n_target; ++j) {
        if (located.ids[len - n_target + 1 + j] != b.target_ids[j]) {
          ++b.retokenized_differently;
          break;
        }
      }
      b.target_positions.push_back(std::move(positions));
    }
    b.rows.push_back(std::move(located.ids));
  }
  return b;
}

}  // namespace

const char* v_pass_name(RomeResources::VPass pass) {
  switch (pass) {
    case RomeResources::VPass::suffix: return "suffix";
    case RomeResources::VPass::from_layer: return "from_layer";
    case RomeResources::VPass::full: return "full";
  }
  return "?";
}

std::string with_leading_space(const std::string& target) {
  return !target.empty() && target[0] == ' ' ? target : " " + target;
}

namespace {

// The MLP's key and output at the subject token of every context template filled with the
// request's prompt (u's k*, and r-ROME's key and output), in ROME's arithmetic dtype.
MlpReadout read_at_templates(LanguageModel& model, const Tokenizer& tok, const EditRequest& request,
                             const RomeHparams& hp, int64_t layer, const RomeResources& resources) {
  std::vector<std::vector<int64_t>> rows;
  std::vector<int64_t> index;
  for (const auto& t : resources.context_templates) {
    auto located = locate_subject(tok, fill_braces(t, request.prompt), request.subject, hp.fact_token);
    rows.push_back(std::move(located.ids));
    index.push_back(located.index);
  }
  auto readout = read_mlp_at(model, rows, index, layer, tok.eos_id());
  return {in_math_dtype(readout.keys), in_math_dtype(readout.values)};
}

}  // namespace

namespace {

// u from k* (the key averaged over the context templates), [M] or one per row [N, M]: C^-1 k* when
// mom2_adjustment (C is symmetric, so each row is k*^T C^-1), normalised to unit length.
torch::Tensor u_from_keys(const torch::Tensor& k_star, const RomeHparams& hp, int64_t layer,
                          const RomeResources& resources) {
  torch::Tensor u = k_star;
  if (hp.mom2_adjustment) {
    auto it = resources.inverse_moment.find(layer);
    if (it == resources.inverse_moment.end()) {
      fail(
          "ROME with mom2_adjustment needs second-moment statistics for layer {} "
          "(give a corpus or a statistics file)",
          layer);
    }
    u = torch::matmul(k_star, it->second.to(k_star.scalar_type()));
  }
  return u / u.norm(2, -1, true);
}

}  // namespace

torch::Tensor compute_u(LanguageModel& model, const Tokenizer& tok, const EditRequest& request, const RomeHparams& hp,
                        int64_t layer, const RomeResources& resources) {
  return u_from_keys(read_at_templates(model, tok, request, hp, layer, resources).keys.mean(0), hp, layer, resources);
}

namespace {

// The v optimisation's inputs split at each row's first position that a step must recompute:
// start[r] = min(lookup, first logit position). delta enters at the lookup, so under causal
// attention everything before start[r] is the same in every step. The prefixes are left-padded
// (their keys and values become a cache whose mask hides the padding), the suffixes right-padded;
// position ids come from the joined mask, so row r's suffix starts at position start[r].
struct SplitRows {
  torch::Tensor prefix_ids, prefix_mask;  // [B, P]
  torch::Tensor suffix_ids, mask;         // [B, S]; mask [B, P + S]
  std::vector<int64_t> start;
};

// rows, each row's lookup and the first position whose logits the loss reads (-1: none).
SplitRows split_rows(const std::vector<std::vector<int64_t>>& rows, const std::vector<int64_t>& lookup,
                     const std::vector<int64_t>& first_logit, int64_t pad_id, torch::Device device) {
  SplitRows s;
  const int64_t n_rows = rows.size();
  int64_t width_prefix = 0;
  std::vector<std::vector<int64_t>> suffixes;
  for (int64_t r = 0; r < n_rows; ++r) {
    int64_t start = lookup[r];
    if (first_logit[r] >= 0) start = std::min(start, first_logit[r]);
    s.start.push_back(start);
    width_prefix = std::max(width_prefix, start);
    suffixes.emplace_back(rows[r].begin() + start, rows[r].end());
  }
  s.prefix_ids = torch::full({n_rows, width_prefix}, pad_id, torch::kLong);
  s.prefix_mask = torch::zeros({n_rows, width_prefix}, torch::kLong);
  for (int64_t r = 0; r < n_rows; ++r) {
    const int64_t n = s.start[r];
    if (n == 0) continue;
    s.prefix_ids[r].slice(0, width_prefix - n).copy_(torch::tensor(std::vector<int64_t>(rows[r].begin(),
                                                                                         rows[r].begin() + n)));
    s.prefix_mask[r].slice(0, width_prefix - n).fill_(1);
  }
  s.prefix_ids = s.prefix_ids.to(device);
  s.prefix_mask = s.prefix_mask.to(device);
  auto [suffix_ids, suffix_mask] = pad_right(suffixes, pad_id, device);
  s.suffix_ids = suffix_ids;
  s.mask = torch::cat({s.prefix_mask, suffix_mask}, 1);
  return s;
}

}  // namespace

TargetResult optimize_target(LanguageModel& model, const Tokenizer& tok, const EditRequest& request,
                             const RomeHparams& hp, int64_t layer, Site site, const std::vector<std::string>& templates,
                             RomeResources::VPass v_pass) {
  return std::move(optimize_targets(model, tok, std::span(&request, 1), hp, layer, site, templates, v_pass).front());
}

// Long (about 200 lines) on purpose: the optimisation's setup (rows, the pass without delta) and
// its steps share the per-request bookkeeping; split, they would pass most of this scope around.
std::vector<TargetResult> optimize_targets(LanguageModel& model, const Tokenizer& tok,
                                           std::span<const EditRequest> requests, const RomeHparams& hp,
                                           int64_t layer, Site site, const std::vector<std::string>& templates,
                                           RomeResources::VPass v_pass) {
  if (site != Site::kMlp && site != Site::kBlock) fail("optimize_target: the site must be the MLP or the block output");
  if (requests.empty()) return {};
  const bool at_block = site == Site::kBlock;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  double forward_seconds = 0, backward_seconds = 0;
  const auto device = model.device();
  const int64_t n_req = requests.size();
  // Every request's rows, one after another: its rewriting rows, then its KL row.
  std::vector<VBatch> batches;
  std::vector<std::vector<int64_t>> rows;
  std::vector<int64_t> row_lookup, row_first_logit, row_request, first_row, kl_row;
  for (int64_t i = 0; i < n_req; ++i) {
    batches.push_back(build_v_batch(tok, requests[i], hp, templates));
    const VBatch& b = batches.back();
    first_row.push_back(rows.size());
    for (size_t r = 0; r < b.rows.size(); ++r) {
      rows.push_back(b.rows[r]);
      row_lookup.push_back(b.lookup[r]);
      row_first_logit.push_back(r < b.target_positions.size() ? b.target_positions[r].front() : -1);
      row_request.push_back(i);
    }
    kl_row.push_back(static_cast<int64_t>(rows.size()) - 1);
  }
  const int64_t n_rows = rows.size();
  const bool suffix = v_pass == RomeResources::VPass::suffix;
  // With the suffix pass every position below is relative to the row's start.
  std::vector<int64_t> offset(n_rows, 0);
  ForwardRequest base;
  KVCache prefix_cache;
  if (suffix) {
    auto split = split_rows(rows, row_lookup, row_first_logit, tok.eos_id(), device);
    offset = split.start;
    if (split.prefix_ids.size(1) > 0) {
      torch::NoGradGuard no_grad;
      ForwardRequest prefix;
      prefix.input_ids = split.prefix_ids;
      prefix.attention_mask = split.prefix_mask;
      prefix.cache = &prefix_cache;
      prefix.last_layer = model.shape().n_layer - 1;  // keys and values only: no logits
      model.forward(prefix);
    }
    base.input_ids = split.suffix_ids;
    base.attention_mask = split.mask;
  } else {
    std::tie(base.input_ids, base.attention_mask) = pad_right(rows, tok.eos_id(), device);
  }
  std::vector<int64_t> lookup;
  for (int64_t r = 0; r < n_rows; ++r) lookup.push_back(row_lookup[r] - offset[r]);

  // Logits wanted: every target position of every request's rewriting rows (request by
  // request), then each request's KL row at its subject.
  std::vector<int64_t> logit_row, logit_pos, wanted, rewrite_begin, n_rewrite, n_target;
  for (int64_t i = 0; i < n_req; ++i) {
    const VBatch& b = batches[i];
    rewrite_begin.push_back(logit_row.size());
    n_rewrite.push_back(b.target_positions.size());
    n_target.push_back(b.target_ids.size());
    for (int64_t r = 0; r < n_rewrite[i]; ++r) {
      const int64_t row = first_row[i] + r;
      for (int64_t j = 0; j < n_target[i]; ++j) {
        logit_row.push_back(row);
        logit_pos.push_back(b.target_positions[r][j] - offset[row]);
        wanted.push_back(b.target_ids[j]);
      }
    }
  }
  const int64_t n_rewrite_logits = logit_row.size();
  for (int64_t i = 0; i < n_req; ++i) {
    logit_row.push_back(kl_row[i]);
    logit_pos.push_back(lookup[kl_row[i]]);
  }
  const auto wanted_t = long_tensor(wanted, device);

  // One pass without delta: the residual stream entering `layer` (it does not depend on delta),
  // target_init (the site's output at the subject token of each request's first prompt) and the
  // initial KL distributions, which the reference records at step 0 where delta is still zero.
  base.logit_batch = long_tensor(logit_row, device);
  base.logit_position = long_tensor(logit_pos, device);
  base.capture_residual_before = layer;
  const auto rows_t = torch::arange(n_rows, torch::kLong).to(device);
  const auto lookup_t = long_tensor(lookup, device);
  const auto row_request_t = long_tensor(row_request, device);
  if (at_block) {
    base.capture_sites = true;  // the block's output at the first lookups: target_init
  } else {
    base.interventions.push_back({layer, rows_t, lookup_t, false, true, {}, {}});
  }
  torch::Tensor residual, target_init, kl_init;  // [N, C], [N, V]
  {
    torch::NoGradGuard no_grad;
    KVCache cache = prefix_cache;  // each pass appends its own suffix to a copy
    if (suffix) base.cache = &cache;
    auto result = model.forward(base);
    base.cache = nullptr;
    residual = result.residual_in;
    std::vector<torch::Tensor> inits;
    for (int64_t i = 0; i < n_req; ++i) {
      const int64_t row = first_row[i];
      inits.push_back(at_block ? result.sites.block[layer][row][lookup[row]] : result.captures[0].value[row]);
    }
    target_init = in_math_dtype(torch::stack(inits)).clone();
    kl_init = torch::log_softmax(result.logits.slice(0, n_rewrite_logits), -1);
  }
  base.capture_sites = false;
  // The steps start at `layer`: the cache of the layers below is not read again.
  for (int64_t l = 0; l < layer && l < static_cast<int64_t>(prefix_cache.keys.size()); ++l) {
    prefix_cache.keys[l] = torch::Tensor();
    prefix_cache.values[l] = torch::Tensor();
  }

  // One delta per request; Adam, the clamp and the weight decay act on each row alone, so each
  // request's delta follows the steps it would follow alone. A request that stops early keeps the
  // delta it had then (its row is restored after each later step).
  auto delta = torch::zeros({n_req, model.shape().d_model}, target_init.options()).requires_grad_(true);
  torch::optim::Adam optimizer({delta}, torch::optim::AdamOptions(hp.v_lr));
  ForwardRequest step = base;
  step.capture_residual_before.reset();
  if (v_pass != RomeResources::VPass::full) {
    step.first_layer = layer;
    step.residual = residual;
  }
  if (at_block) {
    step.patches.push_back({Site::kBlock, layer, rows_t, lookup_t, {}, /*add=*/true});
  } else {
    step.interventions[0].capture_value = false;
  }
  const double prepare_seconds = seconds_since(start);
  // The share of the full computation (every layer, every real token) that a step runs.
  const int64_t n_layer = model.shape().n_layer;
  const int64_t step_layers = v_pass == RomeResources::VPass::full ? n_layer : n_layer - layer;
  std::vector<double> tokens(n_req, 0), touched(n_req, 0);
  for (int64_t r = 0; r < n_rows; ++r) {
    const auto len = static_cast<int64_t>(rows[r].size());
    tokens[row_request[r]] += static_cast<double>(len * n_layer);
    touched[row_request[r]] += static_cast<double>((len - offset[r]) * step_layers);
  }
  std::vector<double> max_norm(n_req), init_norm_sq(n_req);
  for (int64_t i = 0; i < n_req; ++i) {
    const double norm = target_init[i].norm().item<double>();
    max_norm[i] = hp.clamp_norm_factor * norm;
    init_norm_sq[i] = norm * norm;
  }
  std::vector<nlohmann::json> losses(n_req, nlohmann::json::array());
  std::vector<bool> early_stop(n_req, false), done(n_req, false);
  int64_t active = n_req;
  for (int64_t it = 0; it < hp.v_num_grad_steps && active > 0; ++it) {
    optimizer.zero_grad();
    const auto row_delta = delta.index_select(0, row_request_t);  // [rows, C]
    if (at_block) {
      step.patches[0].value = row_delta;
    } else {
      step.interventions[0].add_value = row_delta;
    }
    KVCache cache = prefix_cache;
    if (suffix) step.cache = &cache;
    auto t = Clock::now();
    auto logits = model.forward(step).logits;  // [rewrite logits + n_req, V]
    forward_seconds += seconds_since(t);
    auto log_probs = torch::log_softmax(logits, -1);
    auto picked = log_probs.slice(0, 0, n_rewrite_logits).gather(1, wanted_t.unsqueeze(1)).squeeze(1);
    auto kl_log = log_probs.slice(0, n_rewrite_logits);  // [N, V]
    // Every active request's loss and its parts, read back to the host in one copy (an .item()
    // each would wait for the device five times per request and step).
    std::vector<int64_t> stepped;
    std::vector<torch::Tensor> step_losses, step_figures;
    for (int64_t i = 0; i < n_req; ++i) {
      if (done[i]) continue;
      const int64_t n = n_rewrite[i] * n_target[i];
      auto nll_each = -picked.slice(0, rewrite_begin[i], rewrite_begin[i] + n).view({n_rewrite[i], n_target[i]}).sum(1) /
                      static_cast<double>(n_target[i]);
      auto nll = nll_each.mean();
      // torch's kl_div(p0_log, p_log, log_target=True, reduction="batchmean"): sum p (log p - log p0).
      auto kl = hp.kl_factor * (kl_log[i].exp() * (kl_log[i] - kl_init[i])).sum() / 1.0;
      auto wd = hp.v_weight_decay * delta[i].norm() / init_norm_sq[i];
      auto loss = nll + kl + wd;
      stepped.push_back(i);
      step_losses.push_back(loss);
      for (const auto& part : {loss, nll, kl, wd, torch::exp(-nll_each).mean()}) {
        step_figures.push_back(part.detach().to(torch::kDouble));  // exact, as item<double>() is
      }
    }
    const auto figures = torch::stack(step_figures).to(torch::kCPU).contiguous();
    const double* figure = figures.data_ptr<double>();
    torch::Tensor total;
    for (size_t k = 0; k < stepped.size(); ++k, figure += 5) {
      const int64_t i = stepped[k];
      const auto& loss = step_losses[k];
      const double loss_value = figure[0];
      losses[i].push_back({{"loss", loss_value},
                           {"nll", figure[1]},
                           {"kl", figure[2]},
                           {"weight_decay", figure[3]},
                           {"target_prob", figure[4]}});
      if (loss_value < 5e-2) {
        early_stop[i] = true;
        done[i] = true;
      } else if (it == hp.v_num_grad_steps - 1) {
        done[i] = true;  // the last iteration only evaluates
      } else {
        total = total.defined() ? total + loss : loss;
      }
    }
    active = std::count(done.begin(), done.end(), false);
    if (active == 0) break;
    const auto kept = delta.detach().clone();
    {
      ModelClock::Scope clock;
      t = Clock::now();
      total.backward();
      backward_seconds += seconds_since(t);
    }
    optimizer.step();
    torch::NoGradGuard no_grad;
    // Each active row's norm (row by row), read back to the host in one copy.
    std::vector<int64_t> clamped;
    std::vector<torch::Tensor> row_norms;
    for (int64_t i = 0; i < n_req; ++i) {
      if (done[i]) {
        delta[i].copy_(kept[i]);
        continue;
      }
      clamped.push_back(i);
      row_norms.push_back(delta[i].norm().to(torch::kDouble));
    }
    const auto norms = torch::stack(row_norms).to(torch::kCPU).contiguous();
    const double* norm_of = norms.data_ptr<double>();
    for (size_t k = 0; k < clamped.size(); ++k) {
      const int64_t i = clamped[k];
      const double norm = norm_of[k];
      if (norm > max_norm[i]) delta[i].mul_(max_norm[i] / norm);  // project into the L2 ball
    }
  }

  std::vector<TargetResult> out;
  const double total_seconds = seconds_since(start);
  const double share = 1.0 / static_cast<double>(n_req);
  for (int64_t i = 0; i < n_req; ++i) {
    TargetResult r;
    r.target = (target_init[i] + delta[i]).detach();
    r.target_init = target_init[i].detach();
    r.diagnostics = {{"losses", losses[i]},
                     {"steps", losses[i].size()},
                     {"early_stop", early_stop[i]},
                     {"delta_norm", delta[i].norm().item<double>()},
                     {"target_init_norm", target_init[i].norm().item<double>()},
                     {"rewriting_prompts", n_rewrite[i]},
                     {"target_tokens", n_target[i]},
                     {"prompts_retokenized_differently", batches[i].retokenized_differently},
                     {"v_pass", v_pass_name(v_pass)},
                     {"step_work_fraction", touched[i] / tokens[i]},
                     // Where the optimisation's time went: the pass without delta, then the
                     // steps' forward and backward (this request's share when several ran together).
                     {"seconds",
                      {{"prepare", prepare_seconds * share},
                       {"forward", forward_seconds * share},
                       {"backward", backward_seconds * share},
                       {"total", total_seconds * share}}}};
    if (n_req > 1) r.diagnostics["optimised_with"] = n_req;
    out.push_back(std::move(r));
  }
  return out;
}

VResult compute_v(LanguageModel& model, const Tokenizer& tok, const EditRequest& request, const RomeHparams& hp,
                  int64_t layer, const torch::Tensor& u, const RomeResources& resources) {
  auto optimised = optimize_target(model, tok, request, hp, layer, Site::kMlp, resources.context_templates,
                                   resources.v_pass);
  VResult out;
  out.target = optimised.target;
  if (hp.random_prefix_keys) {
    // r-ROME: the key and MLP output averaged over the context templates (as u's key k* is)
    auto readout = read_at_templates(model, tok, request, hp, layer, resources);
    out.k0 = readout.keys.mean(0);
    out.o0 = readout.values.mean(0);
  } else {
    auto bare = locate_subject(tok, request.prompt, request.subject, hp.fact_token);
    auto readout = read_mlp_at(model, {bare.ids}, {bare.index}, layer, tok.eos_id());
    out.k0 = in_math_dtype(readout.keys[0]);
    out.o0 = in_math_dtype(readout.values[0]);
  }
  const auto divisor = torch::dot(out.k0, u.to(out.k0.scalar_type()));
  out.v = (out.target - out.o0) / divisor;
  out.diagnostics = std::move(optimised.diagnostics);
  out.diagnostics["k0_dot_u"] = divisor.item<double>();
  out.diagnostics["v_norm"] = out.v.norm().item<double>();
  return out;
}

EditResult apply_rome(LanguageModel& model, const Tokenizer& tok, const EditRequest& request, const RomeHparams& hp,
                      const RomeResources& resources) {
  const auto start = std::chrono::steady_clock::now();
  validate_edit_request(request, "edit " + request.case_id);
  if (resources.context_templates.empty()) fail("ROME needs context templates (at least \"{{}}\")");
  EditResult edit;
  edit.method = hp.random_prefix_keys ? EditMethod::r_rome : EditMethod::rome;
  std::vector<int64_t> layers = hp.layers;
  std::sort(layers.begin(), layers.end());
  nlohmann::json per_layer = nlohmann::json::array();
  for (int64_t layer : layers) {
    auto weight = model.mlp_out_weight(layer);  // checks the range; [M, C]
    auto t = std::chrono::steady_clock::now();
    auto u = compute_u(model, tok, request, hp, layer, resources);
    const double u_seconds = seconds_since(t);
    auto v = compute_v(model, tok, request, hp, layer, u, resources);
    {
      torch::NoGradGuard no_grad;
      edit.changes.push_back({model.mlp_out_weight_name(layer), weight, weight.clone()});
      weight.add_(torch::outer(u.to(weight.scalar_type()), v.v.to(weight.scalar_type())));
    }
    edit.rome.push_back({layer, u.detach(), v.v.detach()});
    v.diagnostics["layer"] = layer;
    v.diagnostics["u_norm"] = u.norm().item<double>();
    v.diagnostics["seconds"]["compute_u"] = u_seconds;
    per_layer.push_back(v.diagnostics);
  }
  edit.diagnostics = {{"layers", per_layer}};
  edit.seconds = seconds_since(start);
  return edit;
}

std::vector<EditResult> rome_updates_independent(LanguageModel& model, const Tokenizer& tok,
                                                 std::span<const EditRequest> requests, const RomeHparams& hp,
                                                 const RomeResources& resources) {
  const auto start = std::chrono::steady_clock::now();
  if (hp.layers.size() != 1) fail("ROME's independent updates in shared batches need one layer, found {}", hp.layers.size());
  if (resources.context_templates.empty()) fail("ROME needs context templates (at least \"{{}}\")");
  for (const auto& r : requests) validate_edit_request(r, "edit " + r.case_id);
  const int64_t layer = hp.layers.front();
  model.mlp_out_weight(layer);  // checks the range
  const int64_t n_req = requests.size();
  const int64_t n_templates = resources.context_templates.size();
  // u: k* (the key at the subject, averaged over the context templates), every request's
  // templates in one readout; r-ROME's k0 and o0 are the same readout's means.
  auto t = std::chrono::steady_clock::now();
  std::vector<std::vector<int64_t>> rows;
  std::vector<int64_t> index;
  for (const auto& r : requests) {
    for (const auto& templ : resources.context_templates) {
      auto located = locate_subject(tok, fill_braces(templ, r.prompt), r.subject, hp.fact_token);
      rows.push_back(std::move(located.ids));
      index.push_back(located.index);
    }
  }
  auto readout = read_mlp_at(model, rows, index, layer, tok.eos_id());
  const auto keys = in_math_dtype(readout.keys).view({n_req, n_templates, -1});
  const auto values = in_math_dtype(readout.values).view({n_req, n_templates, -1});
  const auto u = u_from_keys(keys.mean(1), hp, layer, resources);  // [N, M]
  const double u_seconds = seconds_since(t);
  // v: the targets optimised together, then k0 and o0 (the bare prompts' readout in one batch).
  // Each step runs every row from its subject on, right-padded to the longest: requests are
  // optimised together only with others whose rows are as long from the subject on (the prompt's
  // tokens after the subject plus the target's), so that no request pays for another's padding.
  std::vector<TargetResult> targets(n_req);
  {
    std::map<int64_t, std::vector<int64_t>> by_length;
    for (int64_t i = 0; i < n_req; ++i) {
      const auto bare = locate_subject(tok, requests[i].prompt, requests[i].subject, hp.fact_token);
      const auto target = tok.encode_continuation(with_leading_space(requests[i].target_new));
      by_length[static_cast<int64_t>(bare.ids.size()) - bare.index + static_cast<int64_t>(target.size())].push_back(i);
    }
    for (const auto& [length, members] : by_length) {
      std::vector<EditRequest> bucket;
      for (int64_t i : members) bucket.push_back(requests[i]);
      auto optimised = optimize_targets(model, tok, bucket, hp, layer, Site::kMlp, resources.context_templates,
                                        resources.v_pass);
      for (size_t k = 0; k < members.size(); ++k) targets[members[k]] = std::move(optimised[k]);
    }
  }
  torch::Tensor k0, o0;
  if (hp.random_prefix_keys) {
    k0 = keys.mean(1);
    o0 = values.mean(1);
  } else {
    std::vector<std::vector<int64_t>> bare_rows;
    std::vector<int64_t> bare_index;
    for (const auto& r : requests) {
      auto bare = locate_subject(tok, r.prompt, r.subject, hp.fact_token);
      bare_rows.push_back(std::move(bare.ids));
      bare_index.push_back(bare.index);
    }
    auto bare = read_mlp_at(model, bare_rows, bare_index, layer, tok.eos_id());
    k0 = in_math_dtype(bare.keys);
    o0 = in_math_dtype(bare.values);
  }
  std::vector<EditResult> out;
  const double seconds = seconds_since(start) / static_cast<double>(n_req);
  for (int64_t i = 0; i < n_req; ++i) {
    const auto divisor = torch::dot(k0[i], u[i].to(k0.scalar_type()));
    const auto v = (targets[i].target - o0[i]) / divisor;
    EditResult edit;
    edit.method = hp.random_prefix_keys ? EditMethod::r_rome : EditMethod::rome;
    edit.rome.push_back({layer, u[i].detach().clone(), v.detach()});
    auto diagnostics = std::move(targets[i].diagnostics);
    diagnostics["k0_dot_u"] = divisor.item<double>();
    diagnostics["v_norm"] = v.norm().item<double>();
    diagnostics["layer"] = layer;
    diagnostics["u_norm"] = u[i].norm().item<double>();
    diagnostics["seconds"]["compute_u"] = u_seconds / static_cast<double>(n_req);
    edit.diagnostics = {{"layers", nlohmann::json::array({std::move(diagnostics)})}};
    edit.seconds = seconds;
    out.push_back(std::move(edit));
  }
  return out;
}

}  // namespace editlab
