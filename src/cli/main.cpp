// editlab: the thin executable. Wires the subcommands (one file each) and the global options,
// and is the one place that catches errors: one line on stderr, exit code 2.
#include <CLI/CLI.hpp>

#include <iostream>
#include <thread>

#include "common.h"
#include "editlab/util/error.h"

int main(int argc, char** argv) {
  using namespace editlab::cli;
  CLI::App app{"editlab: model-editing experiments (ROME, FT, FT-L) on GPT-2 models", "editlab"};
  app.set_version_flag("--version", std::string("editlab ") + EDITLAB_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand

  GlobalOptions global;
  app.add_option("--threads", global.threads, "intra-op threads for libtorch (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--device", global.device, "cpu, cuda or cuda:N (cuda needs a CUDA libtorch)")->capture_default_str();
  app.add_option("--dtype", global.dtype, "compute dtype: float32 or float64")
      ->check(CLI::IsMember({"float32", "float64"}))
      ->capture_default_str();
  app.parse_complete_callback([&] {
    // Debian's libtorch may start with one intra-op thread: always set it deliberately.
    int threads =
        global.threads > 0 ? global.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    torch::set_num_threads(threads);
  });

  setup_info(app, global);
  setup_tokenize(app, global);
  setup_score(app, global);
  setup_generate(app, global);
  setup_bench(app, global);
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
