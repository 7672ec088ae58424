// editlab tokenize --model DIR (--text T | --file F): ids and token strings.
#include <fstream>
#include <sstream>

#include "common.h"
#include "editlab/util/error.h"

namespace editlab::cli {
namespace {

struct TokenizeOptions {
  std::string model_dir, text, file;
  bool json = false;
};

void run_tokenize(const TokenizeOptions& opt) {
  // Only the tokenizer files are needed: no weights are mapped.
  auto tokenizer = Tokenizer::from_dir(opt.model_dir);
  std::string text = opt.text;
  if (!opt.file.empty()) {
    std::ifstream in(opt.file, std::ios::binary);
    if (!in) fail("{}: cannot open the file to tokenize", opt.file);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  }
  auto ids = tokenizer.encode(text);
  if (opt.json) {
    nlohmann::json tokens = nlohmann::json::array();
    for (auto id : ids) tokens.push_back(tokenizer.token_string(id));
    print_json({{"ids", ids}, {"tokens", tokens}, {"count", ids.size()}});
    return;
  }
  for (auto id : ids) fmt::print("{}\t{}\n", id, nlohmann::json(tokenizer.token_string(id)).dump());
  fmt::print("{} tokens\n", ids.size());
}

}  // namespace

void setup_tokenize(CLI::App& app, const GlobalOptions&) {
  auto opt = std::make_shared<TokenizeOptions>();
  auto* sub = app.add_subcommand("tokenize", "show the GPT-2 BPE tokens of a text");
  sub->add_option("--model", opt->model_dir, "model (or tokenizer) directory with vocab.json and merges.txt")
      ->required();
  auto* text = sub->add_option("--text", opt->text, "text to tokenize");
  auto* file = sub->add_option("--file", opt->file, "file whose bytes to tokenize");
  text->excludes(file);
  file->excludes(text);
  sub->add_flag("--json", opt->json, "machine-readable output: {ids, tokens, count}");
  sub->callback([opt, text, file] {
    if (text->count() == 0 && file->count() == 0) fail("tokenize: give --text or --file");
    run_tokenize(*opt);
  });
}

}  // namespace editlab::cli
