// editlab tokenize --model DIR (--text T | --file F) [--special] [--lines] [--summary] [--json]
#include <chrono>
#include <fstream>
#include <sstream>

#include "common.h"
#include "editlab/util/error.h"

namespace editlab::cli {
namespace {

struct TokenizeOptions {
  std::string model_dir, text, file;
  bool json = false, special = false, lines = false, summary = false;
};

// "tokenizer.json: NFC | Split, ByteLevel | BPE (3069 tokens, 2813 merges) | <|begin_of_text|> $A | ByteLevel"
std::string pipeline_line(const nlohmann::json& d) {
  if (d["kind"] != "tokenizer.json") return fmt::format("{} ({} tokens)", d["kind"].get<std::string>(), d["vocab_size"].get<int64_t>());
  const auto types = [](const nlohmann::json& c, const char* list) -> std::string {
    if (c.is_null()) return "-";
    if (c.value("type", "") != "Sequence") return c.value("type", "?");
    std::string out;
    for (const auto& item : c[list]) out += (out.empty() ? "" : ", ") + item.value("type", "?");
    return out;
  };
  const auto& m = d["model"];
  std::string flags;
  for (const char* f : {"byte_fallback", "fuse_unk", "ignore_merges"}) {
    if (m.value(f, false)) flags += std::string(", ") + f;
  }
  std::string templ;
  for (const auto& t : d["template"]["prefix"]) templ += t.get<std::string>() + " ";
  templ += "$A";
  for (const auto& t : d["template"]["suffix"]) templ += " " + t.get<std::string>();
  return fmt::format("tokenizer.json: normalizer {} | pre-tokenizer {} | BPE ({} tokens, {} merges{}) | with special tokens: {} "
                     "| decoder {} | {} added tokens",
                     types(d["normalizer"], "normalizers"), types(d["pre_tokenizer"], "pretokenizers"),
                     m["vocab_size"].get<int64_t>(), m["merges"].get<int64_t>(), flags, templ,
                     types(d["decoder"], "decoders"), d["added_tokens"].get<int64_t>());
}

void run_tokenize(const TokenizeOptions& opt) {
  // Only the tokenizer files are needed: no weights are mapped.
  const auto load_start = std::chrono::steady_clock::now();
  auto tokenizer = Tokenizer::from_dir(opt.model_dir);
  const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  std::string text = opt.text;
  if (!opt.file.empty()) {
    std::ifstream in(opt.file, std::ios::binary);
    if (!in) fail("{}: cannot open the file to tokenize", opt.file);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  }
  // --lines: every line is its own text (as HF's encode_batch over the lines), without its "\n".
  std::vector<std::string_view> texts;
  if (opt.lines) {
    for (size_t start = 0; start < text.size();) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      texts.emplace_back(text.data() + start, end - start);
      start = end + 1;
    }
  } else {
    texts.emplace_back(text);
  }
  std::vector<std::vector<int64_t>> ids(texts.size());
  const auto start = std::chrono::steady_clock::now();
  size_t count = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    ids[i] = tokenizer.encode(texts[i], opt.special);
    count += ids[i].size();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  size_t bytes = 0;  // the texts' bytes (with --lines, not the line breaks)
  for (const auto t : texts) bytes += t.size();
  const double mb_per_s = seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0.0;

  if (opt.summary) {
    if (opt.json) {
      print_json({{"texts", texts.size()}, {"bytes", bytes}, {"tokens", count}, {"load_seconds", load_seconds},
                  {"encode_seconds", seconds}, {"mb_per_s", mb_per_s}});
    } else {
      fmt::print("{} texts, {} bytes, {} tokens: loaded in {:.3f} s, encoded in {:.3f} s ({:.2f} MB/s, one thread)\n",
                 texts.size(), bytes, count, load_seconds, seconds, mb_per_s);
    }
    return;
  }
  if (opt.json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : ids) {
      nlohmann::json tokens = nlohmann::json::array();
      for (auto id : row) tokens.push_back(tokenizer.token_string(id));
      rows.push_back({{"ids", row}, {"tokens", tokens}, {"count", row.size()}});
    }
    nlohmann::json out = opt.lines ? nlohmann::json{{"lines", rows}} : rows[0];
    out["tokenizer"] = tokenizer.describe();
    print_json(out);
    return;
  }
  fmt::print("# {}\n", pipeline_line(tokenizer.describe()));
  for (size_t i = 0; i < ids.size(); ++i) {
    if (opt.lines) fmt::print("# line {}\n", i + 1);
    for (auto id : ids[i]) fmt::print("{}\t{}\n", id, nlohmann::json(tokenizer.token_string(id)).dump());
  }
  fmt::print("{} tokens\n", count);
}

}  // namespace

void setup_tokenize(CLI::App& app, const GlobalOptions&) {
  auto opt = std::make_shared<TokenizeOptions>();
  auto* sub = app.add_subcommand("tokenize", "show the tokens of a text, and the tokenizer's pipeline");
  sub->add_option("--model", opt->model_dir,
                  "model (or tokenizer) directory: tokenizer.json (+ tokenizer_config.json), else vocab.json + "
                  "merges.txt")
      ->required();
  auto* text = sub->add_option("--text", opt->text, "text to tokenize");
  auto* file = sub->add_option("--file", opt->file, "file whose bytes to tokenize");
  text->excludes(file);
  file->excludes(text);
  sub->add_flag("--special", opt->special,
                "add the special tokens of the tokenizer's template (BOS / EOS), as HF's add_special_tokens=True");
  sub->add_flag("--lines", opt->lines, "tokenize every line on its own (the line breaks are not tokens)");
  sub->add_flag("--summary", opt->summary,
                "print counts and timings only: load time, encode time and MB/s on one thread");
  sub->add_flag("--json", opt->json,
                "machine-readable output: {ids, tokens, count, tokenizer} ({lines: [...], tokenizer} with --lines); "
                "tokenizer lists the pipeline's components");
  sub->callback([opt, text, file] {
    if (text->count() == 0 && file->count() == 0) fail("tokenize: give --text or --file");
    run_tokenize(*opt);
  });
}

}  // namespace editlab::cli
