// editlab: the thin executable. Wires the subcommands (one file each) and the global options,
// and is the one place that catches errors: one line on stderr, exit code 2.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <csignal>
#include <iostream>
#include <optional>
#include <thread>

#include "common.h"
#include "editlab/util/compute_threads.h"
#include "editlab/util/error.h"

namespace {

// The command path of an app ("editlab toy-world") and its subcommands' names.
std::string command_path(const CLI::App& app) {
  return app.get_parent() ? command_path(*app.get_parent()) + " " + app.get_name() : app.get_name();
}
std::string subcommand_names(const CLI::App& app) {
  std::string out;
  for (const auto* sub : app.get_subcommands({})) out += (out.empty() ? "" : ", ") + sub->get_name();
  return out;
}

// CLI11 says only "A subcommand is required" for `editlab frobnicate` and `editlab toy-world`:
// find, the way the parser walks argv, the app that wanted a subcommand and the word it got.
struct MissingSubcommand {
  const CLI::App* app;
  std::optional<std::string> word;  // the unknown word, when there was one
};
MissingSubcommand find_missing_subcommand(const CLI::App& root, int argc, char** argv) {
  const CLI::App* current = &root;
  for (int i = 1; i < argc; ++i) {
    const std::string token = argv[i];
    if (token == "--") break;
    if (token.size() > 1 && token[0] == '-') {
      if (token.find('=') != std::string::npos) continue;
      const CLI::Option* opt = nullptr;
      for (const CLI::App* a = current; a != nullptr && opt == nullptr; a = a->get_parent())
        opt = a->get_option_no_throw(token);
      if (opt != nullptr && opt->get_type_size_max() > 0) ++i;  // skip its value
      continue;
    }
    const CLI::App* next = nullptr;
    for (const auto* sub : current->get_subcommands({}))
      if (sub->check_name(token)) next = sub;
    if (next != nullptr) {
      current = next;
    } else if (current->get_require_subcommand_min() > 0) {
      return {current, token};
    }
  }
  return {current, std::nullopt};
}

}  // namespace

// Model weights are memory-mapped: if the file is cut short while editlab runs (another process
// rewrites the model directory), touching a page past its new end raises SIGBUS. Say so in one
// line and exit 2, as for any other error, instead of dying by the signal.
extern "C" void on_sigbus(int) {
  static const char message[] =
      "editlab: error: a memory-mapped file (the model's weights) was cut short or became unreadable while in use; "
      "do not rewrite a model directory that a run is reading\n";
  [[maybe_unused]] const auto written = write(STDERR_FILENO, message, sizeof message - 1);
  _exit(2);
}

int main(int argc, char** argv) {
  std::signal(SIGBUS, on_sigbus);
  using namespace editlab::cli;
  CLI::App app{"editlab: model-editing experiments (ROME, r-ROME, MEMIT, EMMET, AlphaEdit, FT, FT-L, IKE, inference-time patching) on GPT-2, GPT-J, GPT-NeoX, Llama, Mistral and Qwen2 models", "editlab"};
  app.set_version_flag("--version", std::string("editlab ") + EDITLAB_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand

  GlobalOptions global;
  app.add_option("--threads", global.threads,
                 "cores to compute on (default: all): with OpenBLAS, its threads run the matrix products and "
                 "libtorch's element-wise kernels run on one")
      ->check(kNonNegative)
      ->envname("EDITLAB_THREADS");
  app.add_option("--device", global.device, "cpu, cuda or cuda:N (cuda needs a CUDA libtorch)")->capture_default_str();
  app.add_option("--dtype", global.dtype, "compute dtype: float32, float64, bfloat16 (weights and matrix products in bfloat16; norms, softmaxes, logits, ROME's solve and v loss in float32) or float16 (CUDA only)")
      ->check(CLI::IsMember({"float32", "float64", "bfloat16", "float16"}))
      ->capture_default_str();
  app.parse_complete_callback([&] {
    global.device_given = app.count("--device") > 0;
    global.dtype_given = app.count("--dtype") > 0;
    // Debian's libtorch may start with one intra-op thread: always set it deliberately.
    editlab::set_compute_threads(global.threads > 0 ? global.threads
                                           : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  });

  setup_info(app, global);
  setup_tokenize(app, global);
  setup_score(app, global);
  setup_generate(app, global);
  setup_bench(app, global);
  setup_devices(app, global);
  setup_stats(app, global);
  setup_edit(app, global);
  setup_toy_world(app, global);
  setup_train(app, global);
  setup_run(app, global);
  setup_merge(app, global);
  setup_compare(app, global);
  setup_report(app, global);
  setup_trace(app, global);
  setup_import(app, global);

  try {
    app.parse(argc, argv);
  } catch (const ExitStatus& e) {
    return e.code;
  } catch (const CLI::RequiredError& e) {
    const auto missing = find_missing_subcommand(app, argc, argv);
    if (missing.app->get_require_subcommand_min() > 0 && missing.app->get_subcommands().empty()) {
      const std::string path = command_path(*missing.app);  // "editlab toy-world"
      const std::string where = missing.app->get_parent() ? path.substr(path.find(' ') + 1) + ": " : "";
      std::cerr << "editlab: error: " << where
                << (missing.word ? "unknown command \"" + *missing.word + "\"; the commands are: "
                                 : std::string("a command is required: "))
                << subcommand_names(*missing.app) << " (see " << path << " --help)" << std::endl;
      return 2;
    }
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const editlab::Error& e) {
    std::cerr << "editlab: error: " << e.what() << std::endl;
    return 2;
  } catch (const c10::Error& e) {
    std::cerr << "editlab: error: libtorch: " << e.what_without_backtrace() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "editlab: error: " << e.what() << std::endl;
    return 2;
  }
  return 0;
}
