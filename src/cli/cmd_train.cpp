// editlab train --corpus FILE --tokenizer DIR --out DIR [shape and optimisation options] [--resume]
#include "common.h"
#include "editlab/train/trainer.h"

namespace editlab::cli {
namespace {

const char* const kTrainDetails = R"(The corpus is UTF-8 text; documents are separated by empty lines. Each document is
tokenized with --tokenizer (vocab.json + merges.txt, which must hold <|endoftext|>) and
followed by <|endoftext|>; the last --val-fraction of the token stream is held out for the
validation loss. Each step trains on --batch-size random windows of --block-size tokens
(AdamW, linear warmup, cosine decay to --min-lr, gradient clipping; no weight decay on
biases, layer norms and embeddings). Progress goes to stderr.

--out receives config.json, model.safetensors, vocab.json, merges.txt (load it with
--model), train-log.json (options, loss curve, final losses, tokens/s, time per phase) and
checkpoint/ (model, AdamW state and step). --resume continues that checkpoint and reaches
the same weights, bit for bit, as an uninterrupted run with the same --threads. With
--snapshot-every N, snapshots/step-N/ holds the model after every N steps, a directory every
command loads with --model (to measure what it knew along training).
--threads, --device and --dtype are the global options. On a machine shared with other
work, set OMP_WAIT_POLICY=PASSIVE in the environment (or use --threads 1): by default
libgomp's threads spin while they wait for a thread that another process pushed off its
core (measured on 2 busy cores: 4x faster training with PASSIVE).)";

struct TrainCliOptions {
  TrainOptions train;
  std::vector<double> betas{0.9, 0.99};
};

void run_train(TrainCliOptions& opt, const GlobalOptions& global) {
  TrainOptions& train = opt.train;
  train.beta1 = opt.betas.at(0);
  train.beta2 = opt.betas.at(1);
  train.device = parse_device(global.device, "--device");
  train.dtype = parse_compute_dtype(global.dtype, "--dtype");
  train.setting_names = flag_names({{"out_dir", "--out"},
                                    {"tokenizer_dir", "--tokenizer"},
                                    {"n_layer", "--layers"},
                                    {"n_embd", "--d-model"},
                                    {"n_head", "--heads"},
                                    {"warmup_steps", "--warmup"}});
  train.on_progress = [](const TrainProgress& p) { fmt::print(stderr, "{}\n", format_progress(p)); };
  const TrainResult result = train_gpt2(train);
  const std::string val = result.final_val_loss ? fmt::format(", val {:.4f}", *result.final_val_loss) : std::string();
  fmt::print("{} {}: step {}/{}, loss {:.4f} -> {:.4f}{}, {} tokens in {:.1f} s ({:.0f} tokens/s)\n",
             result.finished ? "trained" : "checkpointed", train.out_dir.string(), result.step, train.steps,
             result.initial_loss, result.final_train_loss, val, result.tokens_seen, result.wall_seconds,
             result.tokens_seen / std::max(1e-9, result.wall_seconds));
}

void add_options(CLI::App* sub, TrainCliOptions& opt) {
  TrainOptions& t = opt.train;
  sub->add_option("--corpus", t.corpus, "UTF-8 text file; documents separated by empty lines")->required();
  sub->add_option("--tokenizer", t.tokenizer_dir, "directory with vocab.json and merges.txt")->required();
  sub->add_option("--out", t.out_dir, "output directory (model, train-log.json, checkpoint/, snapshots/)")->required();
  sub->add_option("--layers", t.n_layer, "transformer blocks (n_layer)")->capture_default_str();
  sub->add_option("--d-model", t.n_embd, "hidden size (n_embd), divisible by --heads")->capture_default_str();
  sub->add_option("--heads", t.n_head, "attention heads (n_head)")->capture_default_str();
  sub->add_option("--n-positions", t.n_positions, "longest sequence the model accepts")->capture_default_str();
  sub->add_option("--steps", t.steps, "optimisation steps")->capture_default_str();
  sub->add_option("--batch-size", t.batch_size, "windows per step")->capture_default_str();
  sub->add_option("--block-size", t.block_size, "tokens per window (<= --n-positions)")->capture_default_str();
  sub->add_option("--lr", t.lr, "peak learning rate (after warmup)")->capture_default_str();
  sub->add_option("--warmup", t.warmup_steps, "steps of linear warmup")->capture_default_str();
  sub->add_option("--min-lr", t.min_lr, "learning rate at the last step (cosine decay)")->capture_default_str();
  sub->add_option("--weight-decay", t.weight_decay, "AdamW decoupled weight decay on matmul weights")
      ->capture_default_str();
  sub->add_option("--betas", opt.betas, "AdamW beta1 beta2")->expected(2)->capture_default_str();
  sub->add_option("--grad-clip", t.grad_clip, "max gradient L2 norm (0 = off)")->capture_default_str();
  sub->add_option("--seed", t.seed, "seed of the initial weights and the batches")->capture_default_str();
  sub->add_option("--checkpoint-every", t.checkpoint_every, "steps between checkpoints (0 = end only)")
      ->capture_default_str();
  sub->add_option("--eval-every", t.eval_every, "steps between loss-curve points / val losses (0 = end only)")
      ->capture_default_str();
  sub->add_option("--eval-batches", t.eval_batches, "batches of held-out windows per val loss")->capture_default_str();
  sub->add_option("--val-fraction", t.val_fraction, "tail of the token stream held out (0 = none)")
      ->capture_default_str();
  sub->add_option("--log-every", t.log_every, "steps between progress lines (0 = with evals only)")
      ->capture_default_str();
  sub->add_option("--snapshot-every", t.snapshot_every,
                  "steps between snapshots of the model, each a Hugging Face directory OUT/snapshots/step-N "
                  "(0 = none; the final model is OUT itself)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--stop-at", t.stop_at, "checkpoint and stop after this step (0 = train to --steps)")
      ->capture_default_str();
  sub->add_flag("--resume", t.resume, "continue from OUT/checkpoint (same shape, corpus and options)");
}

}  // namespace

void setup_train(CLI::App& app, const GlobalOptions& global) {
  auto opt = std::make_shared<TrainCliOptions>();
  auto* sub =
      app.add_subcommand("train", "train a GPT-2 from scratch on a text file; writes a Hugging Face GPT-2 directory");
  sub->footer(kTrainDetails);
  add_options(sub, *opt);
  sub->callback([opt, &global] { run_train(*opt, global); });
}

}  // namespace editlab::cli
