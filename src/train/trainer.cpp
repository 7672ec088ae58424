// The GPT-2 trainer (see trainer.h for the corpus, batch and checkpoint rules).
// Legend: B batch_size, T block_size, V vocab_size.
#include "editlab/util/compute_threads.h"
#include <fmt/ranges.h>  // fmt::join (its home since fmt 11)
#include "editlab/train/trainer.h"

#include <xxhash.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <numbers>
#include <sstream>

#include "editlab/model/config.h"
#include "editlab/model/gpt2.h"
#include "editlab/model/model_dir.h"
#include "editlab/util/atomic_file.h"
#include "editlab/util/corpus.h"
#include "editlab/util/error.h"
#include "editlab/util/progress.h"
#include "editlab/util/steady_clock.h"

namespace editlab {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

// The generator seed of step `step`: splitmix64 over (seed, step), so that each step's batch
// depends on nothing but the two (exact resume) and neighbouring steps are uncorrelated.
uint64_t batch_seed(uint64_t seed, int64_t step) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (static_cast<uint64_t>(step) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::string read_file(const fs::path& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in || fs::is_directory(path)) {
    fail("{}: cannot read the {} (no such file?)", path.string(), what);
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_json(const fs::path& path, const json& j) { write_file_atomically(path, j.dump(2) + "\n"); }

std::string dtype_name(torch::ScalarType dtype) {
  return dtype == torch::kFloat64 ? "float64" : "float32";  // validate() allows no other
}

// The options that change the trajectory of the weights. (How often to log, evaluate or
// checkpoint, and stop_at, do not: a resumed run may change them.)
json trajectory_options(const TrainOptions& o) {
  return {{"n_layer", o.n_layer},
          {"n_embd", o.n_embd},
          {"n_head", o.n_head},
          {"n_positions", o.n_positions},
          {"steps", o.steps},
          {"batch_size", o.batch_size},
          {"block_size", o.block_size},
          {"lr", o.lr},
          {"warmup_steps", o.warmup_steps},
          {"min_lr", o.min_lr},
          {"weight_decay", o.weight_decay},
          {"beta1", o.beta1},
          {"beta2", o.beta2},
          {"grad_clip", o.grad_clip},
          {"seed", o.seed},
          {"val_fraction", o.val_fraction},
          {"dtype", dtype_name(o.dtype)}};
}

// What a checkpoint must share with the run that resumes it: those options and the corpus.
json run_identity(const TrainOptions& o, int64_t vocab_size, const CorpusTokens& corpus) {
  json j = trajectory_options(o);
  j["vocab_size"] = vocab_size;
  j["corpus_tokens"] = corpus.tokens.size();
  const auto hash = XXH3_64bits(corpus.tokens.data(), corpus.tokens.size() * sizeof(int64_t));
  j["corpus_xxh3"] = fmt::format("{:016x}", hash);
  return j;
}

json options_json(const TrainOptions& o) {
  json j = trajectory_options(o);
  j.update({{"corpus", o.corpus.string()},
            {"tokenizer", o.tokenizer_dir.string()},
            {"out", o.out_dir.string()},
            {"checkpoint_every", o.checkpoint_every},
            {"eval_every", o.eval_every},
            {"eval_batches", o.eval_batches},
            {"log_every", o.log_every},
            {"snapshot_every", o.snapshot_every},
            {"resume", o.resume},
            {"stop_at", o.stop_at},
            {"device", o.device.str()}});
  return j;
}


// Training state that is not a tensor: saved in checkpoint/state.json so that a resumed run's
// log continues where the interrupted one stopped.
struct History {
  double initial_loss = 0;  // the first batch's loss (set when ema_count becomes 1)
  double ema = 0;           // biased EMA of the batch loss; divide by 1 - 0.9^ema_count
  int64_t ema_count = 0;
  double interval_sum = 0;  // batch losses since the last loss-curve point
  int64_t interval_count = 0;
  json curve = json::array();             // [{step, train_loss, val_loss, lr}]
  double wall_seconds = 0;                // training time of earlier runs of this out_dir
  std::map<std::string, double> seconds;  // per phase, all runs
  std::vector<int64_t> resumed_at;

  double smoothed() const { return ema / (1 - std::pow(0.9, static_cast<double>(ema_count))); }
  void add(double loss) {
    if (ema_count == 0) initial_loss = loss;
    ema = 0.9 * ema + 0.1 * loss;
    ++ema_count;
    interval_sum += loss;
    ++interval_count;
  }
  NLOHMANN_DEFINE_TYPE_INTRUSIVE(History, initial_loss, ema, ema_count, interval_sum, interval_count, curve,
                                 wall_seconds, seconds, resumed_at)
};

// Options are checked before the tokenizer loads, so a bad flag is reported first.
Tokenizer validated_tokenizer(const TrainOptions& options) {
  validate(options);
  return Tokenizer::from_dir(options.tokenizer_dir);
}

class Trainer {
 public:
  explicit Trainer(const TrainOptions& options);
  TrainResult run();

 private:
  void load_corpus();
  void build_model();
  void resume_from_checkpoint();
  double train_step(int64_t step);
  torch::Tensor windows(const torch::Tensor& stream, const torch::Tensor& starts) const;
  double evaluate();
  void after_step(int64_t done, double loss, double lr);
  void report(int64_t done, double lr, std::optional<double> val_loss);
  void save_checkpoint(int64_t done);
  json train_log(int64_t done) const;
  double wall_seconds() const { return history_.wall_seconds + seconds_since(loop_start_); }

  Clock::time_point created_ = Clock::now();  // first member: setup time includes the tokenizer
  const TrainOptions& o_;
  Tokenizer tokenizer_;
  GPT2Config config_;
  std::shared_ptr<GPT2> model_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  torch::Tensor train_tokens_, val_tokens_;  // 1-D int64 on the CPU; val undefined if none
  int64_t documents_ = 0;
  json identity_;

  int64_t start_step_ = 0;  // steps done before this process
  int64_t final_step_ = 0;  // where this process stops
  History history_;
  Clock::time_point loop_start_ = Clock::now();
  Clock::time_point last_report_time_ = Clock::now();
  int64_t last_report_step_ = 0;
};

Trainer::Trainer(const TrainOptions& options) : o_(options), tokenizer_(validated_tokenizer(options)) {
  prepare_output_dir(o_.out_dir, o_.name("out_dir"));  // before minutes of tokenizing and training
  const bool has_checkpoint = fs::exists(o_.out_dir / "checkpoint") || fs::exists(o_.out_dir / "checkpoint.old");
  if (!o_.resume && has_checkpoint) {
    fail(
        "{} {}: holds a checkpoint of an earlier run; resume it ({}), or choose another output directory (or "
        "delete its checkpoint/)",
        o_.name("out_dir"), o_.out_dir.string(), o_.name("resume"));
  }
  load_corpus();
  build_model();
  if (o_.resume) resume_from_checkpoint();
  final_step_ = o_.stop_at > 0 ? o_.stop_at : o_.steps;
}

void Trainer::load_corpus() {
  CorpusTokens corpus = tokenize_corpus(o_.corpus, tokenizer_);
  const auto n = static_cast<int64_t>(corpus.tokens.size());
  const std::string file = o_.corpus.string();
  const std::string corpus_setting = o_.name("corpus");
  const std::string val = o_.name("val_fraction"), block = o_.name("block_size");
  if (n == 0) fail("{} {}: no text (the file is empty or holds only empty lines)", corpus_setting, file);
  const auto n_val = static_cast<int64_t>(std::floor(static_cast<double>(n) * o_.val_fraction));
  const int64_t n_train = n - n_val, window = o_.block_size + 1;
  if (n_train < window) {
    fail(
        "{} {}: {} tokens ({} for training after holding out {} {}), but one training window needs {} + 1 = {}; "
        "use a longer corpus or a smaller {}",
        corpus_setting, file, n, n_train, val, o_.val_fraction, block, window, block);
  }
  if (o_.val_fraction > 0 && n_val < window) {
    fail(
        "{} {}: the held-out part ({} {}) has {} tokens, fewer than {} + 1 = {}; raise {}, lower {}, or set {} "
        "to 0 to train without validation",
        corpus_setting, file, val, o_.val_fraction, n_val, block, window, val, block, val);
  }
  identity_ = run_identity(o_, tokenizer_.vocab_size(), corpus);
  documents_ = corpus.documents;
  auto stream = torch::tensor(corpus.tokens, torch::kLong);  // [n]
  train_tokens_ = stream.slice(0, 0, n_train);
  if (n_val > 0) val_tokens_ = stream.slice(0, n_train);
}

void Trainer::build_model() {
  config_.vocab_size = tokenizer_.vocab_size();
  config_.n_positions = o_.n_positions;
  config_.n_embd = o_.n_embd;
  config_.n_layer = o_.n_layer;
  config_.n_head = o_.n_head;
  config_.bos_token_id = config_.eos_token_id = tokenizer_.eos_id();
  model_ = std::make_shared<GPT2>(config_);
  model_->init_random(o_.seed);
  model_->to(o_.device, o_.dtype);

  // GPT2 registers its parameters frozen (inference and edits need no autograd graph).
  std::vector<torch::Tensor> decay, no_decay;
  for (auto& [name, p] : model_->parameters_by_name()) {
    p.set_requires_grad(true);
    params_.push_back(p);
    const bool embedding = name.rfind("wte.", 0) == 0 || name.rfind("wpe.", 0) == 0;
    (p.dim() >= 2 && !embedding ? decay : no_decay).push_back(p);  // see trainer.h on decay
  }
  auto options = torch::optim::AdamWOptions(o_.lr).betas({o_.beta1, o_.beta2}).weight_decay(o_.weight_decay);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(options));
  groups.emplace_back(
      no_decay, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(options).weight_decay(0)));
  optimizer_ = std::make_unique<torch::optim::AdamW>(std::move(groups), options);
}

void Trainer::resume_from_checkpoint() {
  fs::path dir = o_.out_dir / "checkpoint";
  // A crash between the two renames of save_checkpoint leaves only checkpoint.old/.
  if (!fs::exists(dir / "state.json") && fs::exists(o_.out_dir / "checkpoint.old" / "state.json")) {
    dir = o_.out_dir / "checkpoint.old";
  }
  if (!fs::exists(dir / "state.json")) {
    fail("{}: no checkpoint in {} (start training without resuming)", o_.name("resume"), dir.string());
  }
  json state;
  try {
    state = json::parse(read_file(dir / "state.json", "checkpoint state"));
    start_step_ = state.at("step").get<int64_t>();
    history_ = state.at("history").get<History>();
  } catch (const json::exception& e) {
    fail("{}: malformed checkpoint state ({})", (dir / "state.json").string(), e.what());
  }
  std::vector<std::string> differences;
  const json saved_identity = state.value("identity", json::object());
  for (const auto& [key, value] : identity_.items()) {
    const json saved = saved_identity.is_object() ? saved_identity.value(key, json()) : json();
    if (saved != value) {
      differences.push_back(fmt::format("{} {} (this run: {})", key, saved.dump(), value.dump()));
    }
  }
  if (!differences.empty()) {
    fail(
        "{}: the checkpoint in {} was made with {}; resuming needs the same model shape, corpus, tokenizer and "
        "training options",
        o_.name("resume"), dir.string(), fmt::join(differences, ", "));
  }
  try {
    torch::serialize::InputArchive model_archive, optimizer_archive;
    model_archive.load_from((dir / "model.pt").string(), o_.device);
    model_->load(model_archive);  // copies into the existing tensors: the optimizer keeps its keys
    optimizer_archive.load_from((dir / "optimizer.pt").string(), o_.device);
    optimizer_->load(optimizer_archive);
  } catch (const c10::Error& e) {
    fail("{}: cannot read the checkpoint in {} ({})", o_.name("resume"), dir.string(), e.what_without_backtrace());
  }
  history_.resumed_at.push_back(start_step_);
  if (o_.stop_at > 0 && o_.stop_at < start_step_) {
    fail("{} {}: the checkpoint is already at step {}", o_.name("stop_at"), o_.stop_at, start_step_);
  }
}

// Rows of block_size + 1 tokens starting at `starts`: [N] -> [N, T+1] on the training device.
torch::Tensor Trainer::windows(const torch::Tensor& stream, const torch::Tensor& starts) const {
  auto index = starts.unsqueeze(1) + torch::arange(o_.block_size + 1, torch::kLong);  // [N, T+1]
  return stream.index_select(0, index.flatten()).view(index.sizes()).to(o_.device);
}

double Trainer::train_step(int64_t step) {
  auto& seconds = history_.seconds;
  auto t = Clock::now();
  auto generator = at::make_generator<at::CPUGeneratorImpl>(batch_seed(o_.seed, step));
  auto starts = torch::randint(train_tokens_.size(0) - o_.block_size, {o_.batch_size}, generator,
                               torch::kLong);   // [B]
  auto batch = windows(train_tokens_, starts);  // [B, T+1]
  const double lr = learning_rate(o_, step);
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
  seconds["data"] += seconds_since(t);

  t = Clock::now();
  ForwardRequest request;
  request.input_ids = batch.slice(1, 0, o_.block_size);  // [B, T]
  auto logits = model_->forward(request).logits;         // [B, T, V]
  auto loss =
      torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), batch.slice(1, 1).reshape({-1}));
  seconds["forward"] += seconds_since(t);

  t = Clock::now();
  optimizer_->zero_grad();
  loss.backward();
  seconds["backward"] += seconds_since(t);

  t = Clock::now();
  if (o_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(params_, o_.grad_clip);
  optimizer_->step();
  seconds["optimizer"] += seconds_since(t);
  return loss.item<double>();
}

// Mean next-token loss over fixed, consecutive windows at the start of the held-out stream
// (the same windows every time, so the values along the curve are comparable).
double Trainer::evaluate() {
  torch::NoGradGuard no_grad;
  const int64_t T = o_.block_size;
  const int64_t count = std::min((val_tokens_.size(0) - 1) / T, o_.eval_batches * o_.batch_size);
  double sum = 0;
  for (int64_t first = 0; first < count; first += o_.batch_size) {
    const int64_t n = std::min(o_.batch_size, count - first);
    auto starts = torch::arange(first, first + n, torch::kLong) * T;  // [n]
    auto batch = windows(val_tokens_, starts);                        // [n, T+1]
    ForwardRequest request;
    request.input_ids = batch.slice(1, 0, T);
    auto logits = model_->forward(request).logits;  // [n, T, V]
    sum += torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), batch.slice(1, 1).reshape({-1}),
                                                torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
               .item<double>();
  }
  return sum / static_cast<double>(count * T);
}

void Trainer::after_step(int64_t done, double loss, double lr) {
  history_.add(loss);
  std::optional<double> val_loss;
  if (done == o_.steps || (o_.eval_every > 0 && done % o_.eval_every == 0)) {
    if (val_tokens_.defined()) {
      auto t = Clock::now();
      val_loss = evaluate();
      history_.seconds["eval"] += seconds_since(t);
    }
    history_.curve.push_back({{"step", done},
                              {"train_loss", history_.interval_sum / static_cast<double>(history_.interval_count)},
                              {"val_loss", val_loss ? json(*val_loss) : json()},
                              {"lr", lr}});
    history_.interval_sum = 0;
    history_.interval_count = 0;
  }
  if (val_loss || done == final_step_ || (o_.log_every > 0 && done % o_.log_every == 0)) {
    report(done, lr, val_loss);
  }
  if (o_.snapshot_every > 0 && done % o_.snapshot_every == 0 && done < o_.steps) {
    // Written in full, then renamed: a snapshot directory is always complete. Before the
    // checkpoint, so that a run killed between the two writes this snapshot again when resumed.
    auto t = Clock::now();
    const fs::path dir = o_.out_dir / "snapshots" / fmt::format("step-{}", done);
    const fs::path tmp = dir.string() + ".tmp";
    fs::remove_all(tmp);
    save_model(*model_, config_, o_.tokenizer_dir, tmp);
    fs::remove_all(dir);
    fs::rename(tmp, dir);
    history_.seconds["snapshot"] += seconds_since(t);
  }
  if (done == final_step_ || (o_.checkpoint_every > 0 && done % o_.checkpoint_every == 0)) {
    save_checkpoint(done);
  }
}

void Trainer::report(int64_t done, double lr, std::optional<double> val_loss) {
  if (!o_.on_progress) return;
  TrainProgress p;
  p.step = done;
  p.total_steps = o_.steps;
  p.loss = history_.smoothed();
  p.val_loss = val_loss;
  p.lr = lr;
  const int64_t tokens = (done - last_report_step_) * o_.batch_size * o_.block_size;
  p.tokens_per_second = static_cast<double>(tokens) / std::max(1e-9, seconds_since(last_report_time_));
  p.eta_seconds =
      seconds_since(loop_start_) / static_cast<double>(done - start_step_) * static_cast<double>(o_.steps - done);
  o_.on_progress(p);
  last_report_step_ = done;
  last_report_time_ = Clock::now();
}

// checkpoint.tmp/ is written in full, then swapped in: there is always one complete checkpoint.
void Trainer::save_checkpoint(int64_t done) {
  auto t = Clock::now();
  const fs::path dir = o_.out_dir / "checkpoint", tmp = o_.out_dir / "checkpoint.tmp",
                 old = o_.out_dir / "checkpoint.old";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  torch::serialize::OutputArchive model_archive, optimizer_archive;
  model_->save(model_archive);
  write_file_atomically(tmp / "model.pt", [&](std::ostream& out) { model_archive.save_to(out); });
  optimizer_->save(optimizer_archive);
  write_file_atomically(tmp / "optimizer.pt", [&](std::ostream& out) { optimizer_archive.save_to(out); });
  History history = history_;
  history.wall_seconds = wall_seconds();
  write_json(tmp / "state.json", {{"step", done}, {"identity", identity_}, {"history", history}});
  if (fs::exists(dir)) {
    fs::remove_all(old);
    fs::rename(dir, old);
  }
  fs::rename(tmp, dir);
  sync_directory(o_.out_dir);  // the swap survives a crash
  fs::remove_all(old);
  history_.seconds["checkpoint"] += seconds_since(t);
}

json Trainer::train_log(int64_t done) const {
  int64_t parameters = 0;
  for (const auto& p : params_) parameters += p.numel();
  const int64_t tokens_seen = done * o_.batch_size * o_.block_size;
  const double wall = wall_seconds();
  // Stopped between two curve points (stop_at), the final train loss is that of the open interval.
  json final_point = history_.curve.empty() ? json::object() : history_.curve.back();
  if (history_.interval_count > 0) {
    const double open_interval = history_.interval_sum / static_cast<double>(history_.interval_count);
    final_point = {{"train_loss", open_interval}, {"val_loss", nullptr}};
  }
  return {{"schema", "editlab.train-log/1"},
          {"finished", done == o_.steps},
          {"options", options_json(o_)},
          {"config", config_.to_json()},
          {"parameters", parameters},
          {"corpus",
           {{"documents", documents_},
            {"tokens", identity_["corpus_tokens"]},
            {"train_tokens", train_tokens_.size(0)},
            {"val_tokens", val_tokens_.defined() ? val_tokens_.size(0) : 0}}},
          {"threads", compute_threads()},
          {"initial_loss", history_.initial_loss},
          {"curve", history_.curve},
          {"final",
           {{"step", done},
            {"train_loss", final_point.value("train_loss", json())},
            {"val_loss", final_point.value("val_loss", json())}}},
          {"tokens_seen", tokens_seen},
          {"wall_seconds", wall},
          {"tokens_per_second", static_cast<double>(tokens_seen) / std::max(1e-9, wall)},
          {"seconds", history_.seconds},
          {"resumed_at", history_.resumed_at}};
}

TrainResult Trainer::run() {
  history_.seconds["setup"] += seconds_since(created_);  // tokenizing, building, loading
  loop_start_ = last_report_time_ = Clock::now();
  last_report_step_ = start_step_;
  model_->train();
  for (int64_t step = start_step_; step < final_step_; ++step) {
    const double lr = learning_rate(o_, step);
    after_step(step + 1, train_step(step), lr);
  }
  const int64_t done = std::max(start_step_, final_step_);
  TrainResult result;
  result.step = done;
  result.finished = done == o_.steps;
  if (result.finished) save_model(*model_, config_, o_.tokenizer_dir, o_.out_dir);
  result.log = train_log(done);
  write_json(o_.out_dir / "train-log.json", result.log);
  result.initial_loss = history_.initial_loss;
  const json& final_losses = result.log["final"];
  if (final_losses["train_loss"].is_number()) {
    result.final_train_loss = final_losses["train_loss"].get<double>();
  }
  if (final_losses["val_loss"].is_number()) {
    result.final_val_loss = final_losses["val_loss"].get<double>();
  }
  for (auto& p : params_) {
    p.mutable_grad() = torch::Tensor();
    p.set_requires_grad(false);
  }
  result.model = model_;
  result.tokens_seen = result.log["tokens_seen"];
  result.wall_seconds = result.log["wall_seconds"];
  return result;
}

}  // namespace

std::string format_progress(const TrainProgress& p) {
  std::string line = fmt::format("step {}/{}  loss {:.4f}", p.step, p.total_steps, p.loss);
  if (p.val_loss) line += fmt::format("  val {:.4f}", *p.val_loss);
  const double tps = p.tokens_per_second;
  line += fmt::format("  lr {:.2e}  {} tok/s  ETA {}", p.lr,
                      tps >= 1e3 ? fmt::format("{:.1f}k", tps / 1e3) : fmt::format("{:.0f}", tps),
                      format_duration(p.eta_seconds));
  return line;
}

void validate(const TrainOptions& o) {
  auto positive = [&](int64_t value, const char* field) {
    if (value < 1) fail("{} {}: must be at least 1", o.name(field), value);
  };
  auto non_negative = [&](double value, const char* field) {
    if (!(value >= 0)) fail("{} {}: must be >= 0", o.name(field), value);
  };
  positive(o.n_layer, "n_layer");
  positive(o.n_embd, "n_embd");
  positive(o.n_head, "n_head");
  positive(o.n_positions, "n_positions");
  positive(o.steps, "steps");
  positive(o.batch_size, "batch_size");
  positive(o.block_size, "block_size");
  positive(o.eval_batches, "eval_batches");
  if (o.n_embd % o.n_head != 0) {
    fail("{} {} is not divisible by {} {} (each head gets d_model / heads dimensions)", o.name("n_embd"), o.n_embd,
         o.name("n_head"), o.n_head);
  }
  if (o.block_size > o.n_positions) {
    fail(
        "{} {} is larger than {} {}: the model has no position embedding beyond n_positions", o.name("block_size"),
        o.block_size, o.name("n_positions"), o.n_positions);
  }
  if (!(o.lr > 0)) fail("{} {}: must be > 0", o.name("lr"), o.lr);
  non_negative(o.min_lr, "min_lr");
  if (o.min_lr > o.lr) fail("{} {} is larger than {} {}", o.name("min_lr"), o.min_lr, o.name("lr"), o.lr);
  non_negative(static_cast<double>(o.warmup_steps), "warmup_steps");
  non_negative(o.weight_decay, "weight_decay");
  non_negative(o.grad_clip, "grad_clip");
  for (double beta : {o.beta1, o.beta2}) {
    if (!(beta >= 0 && beta < 1)) fail("{} {}: each beta must be in [0, 1)", o.name("betas"), beta);
  }
  if (!(o.val_fraction >= 0 && o.val_fraction < 1)) {
    fail("{} {}: must be in [0, 1)", o.name("val_fraction"), o.val_fraction);
  }
  non_negative(static_cast<double>(o.checkpoint_every), "checkpoint_every");
  non_negative(static_cast<double>(o.eval_every), "eval_every");
  non_negative(static_cast<double>(o.log_every), "log_every");
  non_negative(static_cast<double>(o.snapshot_every), "snapshot_every");
  if (o.stop_at < 0 || o.stop_at > o.steps) {
    fail("{} {}: must be between 0 (off) and {} {}", o.name("stop_at"), o.stop_at, o.name("steps"), o.steps);
  }
  if (o.dtype != torch::kFloat32 && o.dtype != torch::kFloat64) {
    fail("training dtype must be float32 or float64");
  }
}

double learning_rate(const TrainOptions& o, int64_t step) {
  if (step < o.warmup_steps) {
    return o.lr * static_cast<double>(step + 1) / static_cast<double>(o.warmup_steps);
  }
  const int64_t decay_steps = o.steps - o.warmup_steps;  // the last one ends at min_lr
  if (decay_steps <= 1) return o.lr;
  const double progress =
      std::min(1.0, static_cast<double>(step - o.warmup_steps) / static_cast<double>(decay_steps - 1));
  return o.min_lr + 0.5 * (1 + std::cos(std::numbers::pi * progress)) * (o.lr - o.min_lr);
}

CorpusTokens tokenize_corpus(const fs::path& corpus, const Tokenizer& tokenizer) {
  const int64_t eos = tokenizer.eos_id();
  CorpusTokens out;
  for_each_document(corpus, [&](CorpusDocument& document) {
    try {
      auto ids = tokenizer.encode(document.text);
      out.tokens.insert(out.tokens.end(), ids.begin(), ids.end());
    } catch (const Error& e) {
      fail("{}: the document starting at line {}: {}", corpus.string(), document.first_line, e.what());
    }
    out.tokens.push_back(eos);
    ++out.documents;
    return true;
  });
  return out;
}

TrainResult train_gpt2(const TrainOptions& options) {
  Trainer trainer(options);
  return trainer.run();
}

}  // namespace editlab
