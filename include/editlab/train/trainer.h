// Training a GPT-2 from scratch on any UTF-8 text file with libtorch autograd: next-token
// cross-entropy, AdamW, linear warmup then cosine decay, gradient clipping, seeded batches,
// checkpoints that resume bit for bit, and a Hugging Face GPT-2 directory at the end.
//
// The corpus becomes one token stream:
//   - the documents are read as util/corpus.h reads every corpus: separated by blank lines (empty
//     or whitespace only; runs of them count as one separator), CRLF read as LF, and a .jsonl
//     file's "text" fields;
//   - each document is its lines joined by "\n", tokenized with the tokenizer, and followed by
//     the tokenizer's eos id (<|endoftext|>), as GPT-2's training data was;
//   - the documents are concatenated in file order. The last `val_fraction` of the stream is
//     held out for the validation loss; training batches come from the rest only.
//
// Batches: `batch_size` windows of block_size + 1 tokens at random offsets of the training
// stream (inputs = the first block_size tokens, targets = the last block_size). The offsets
// of step s come from a generator seeded by (seed, s) alone, so a resumed run draws exactly the
// batches an uninterrupted run would. The model has no dropout, so with the same thread count a
// run is a deterministic function of its options and corpus.
//
// Weight decay (AdamW's decoupled decay) applies to the matmul weights only (attn.c_attn,
// attn.c_proj, mlp.c_fc, mlp.c_proj). Biases and layer norms are offsets and scales that decay
// would pull towards 0 for no benefit; the embeddings are lookup tables, and wte is also the
// tied LM head: decay would shrink the rows of tokens that rarely occur (they get almost no
// gradient), biasing the model against rare tokens. This is minGPT's choice.
//
// Output directory (`out_dir`):
//   config.json, model.safetensors, vocab.json, merges.txt  a Hugging Face GPT-2 (save_model)
//   train-log.json   options, corpus figures, loss curve, final losses, tokens, timings
//   checkpoint/      model.pt, optimizer.pt (torch archives), state.json (step, options, log)
// A checkpoint is written to checkpoint.tmp/ and renamed into place; the previous one is
// moved to checkpoint.old/ for the instant of the swap and used by --resume if a crash left
// no checkpoint/. Error messages name the command-line flags of `editlab train`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "editlab/util/setting_name.h"
#include "editlab/model/gpt2.h"
#include "editlab/model/tokenizer.h"

namespace editlab {

// One progress report: every `log_every` steps, after each validation, and at the end.
struct TrainProgress {
  int64_t step = 0;  // steps done
  int64_t total_steps = 0;
  double loss = 0;                 // training loss, exponential moving average (0.9), debiased
  std::optional<double> val_loss;  // set when the validation loss was computed at this step
  double lr = 0;                   // learning rate of the step just done
  double tokens_per_second = 0;    // since the previous report
  double eta_seconds = 0;          // remaining steps at this process's average step time
};

// "step 120/2000  loss 3.412  val 3.498  lr 9.98e-04  5.1k tok/s  ETA 6m12s"
std::string format_progress(const TrainProgress& progress);

struct TrainOptions {
  std::filesystem::path corpus;         // UTF-8 text, see the top of this file
  std::filesystem::path tokenizer_dir;  // vocab.json + merges.txt (vocab must hold <|endoftext|>)
  std::filesystem::path out_dir;

  // Model shape; vocab_size is the tokenizer's. The defaults (4.2M parameters with a 3.8k-token
  // vocab) train at ~2.6k tokens/s on two shared CPU cores: 2000 steps of 2048 tokens take
  // about 26 minutes there.
  int64_t n_layer = 4;
  int64_t n_embd = 256;  // d_model; divisible by n_head
  int64_t n_head = 8;
  int64_t n_positions = 128;

  int64_t steps = 2000;
  int64_t batch_size = 16;
  int64_t block_size = 128;    // tokens per training window, <= n_positions
  double lr = 1e-3;            // peak learning rate, reached at the end of warmup
  int64_t warmup_steps = 100;  // linear from lr / warmup_steps to lr
  double min_lr = 1e-4;        // the cosine decay ends here at the last step
  double weight_decay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.99;     // 0.99 rather than 0.999: few tokens per step, noisy gradients
  double grad_clip = 1.0;  // max global L2 norm of the gradient; 0 = no clipping
  uint64_t seed = 1234;    // initial weights and batch offsets

  int64_t checkpoint_every = 500;  // steps; 0 = only at the end (or at stop_at)
  int64_t eval_every = 100;        // steps between loss-curve points and val losses; 0 = end only
  int64_t eval_batches = 8;        // the val loss covers up to eval_batches * batch_size windows
  double val_fraction = 0.05;      // tail of the token stream held out; 0 = no validation
  int64_t log_every = 10;          // progress reports; 0 = only with evaluations
  // Every this many steps (before the last) the model as it is then, as a Hugging Face directory
  // in out_dir/snapshots/step-N/, to measure what it knows along training; 0 = none.
  int64_t snapshot_every = 0;

  bool resume = false;  // continue out_dir/checkpoint (same shape, corpus and options)
  int64_t stop_at = 0;  // stop after this many steps with a checkpoint; 0 = train to `steps`

  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;              // training dtype; the saved model is float32
  std::function<void(const TrainProgress&)> on_progress;  // none = silent
  // How errors name a setting given its field name above (util/setting_name.h).
  SettingName setting_names;
  std::string name(std::string_view field) const { return setting_name(setting_names, field); }
};

struct TrainResult {
  int64_t step = 0;             // steps done (== steps unless stopped at stop_at)
  bool finished = false;        // true when step == steps and the model directory was written
  double initial_loss = 0;      // loss of the first batch (about ln(vocab_size) for a new model)
  double final_train_loss = 0;  // mean batch loss over the last loss-curve interval
  std::optional<double> final_val_loss;
  int64_t tokens_seen = 0;  // step * batch_size * block_size
  double wall_seconds = 0;  // training-loop time over all runs of this out_dir (resumes
                            // included); setup (tokenizing, loading) is in log.seconds.setup
  nlohmann::json log;       // what train-log.json holds
  // The trained model, frozen again (requires_grad off) like a loaded one, on options.device.
  std::shared_ptr<GPT2> model;
};

// Checks the options that need no files; throws Error naming the setting (name()).
void validate(const TrainOptions& options);

// The learning rate of step `step` (0-based): warmup, then cosine from lr to min_lr.
double learning_rate(const TrainOptions& options, int64_t step);

struct CorpusTokens {
  std::vector<int64_t> tokens;  // every document's tokens followed by eos
  int64_t documents = 0;
};
// The token stream of a corpus file, as described at the top of this file. Throws Error naming
// the file (and the document's first line, for invalid UTF-8).
CorpusTokens tokenize_corpus(const std::filesystem::path& corpus, const Tokenizer& tokenizer);

// Trains (or resumes) and writes out_dir. Throws Error on bad options, an empty or too short
// corpus, an unwritable out_dir, a missing or incompatible checkpoint with `resume`, or an
// existing checkpoint without `resume`.
TrainResult train_gpt2(const TrainOptions& options);

}  // namespace editlab
