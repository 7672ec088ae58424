// GPT-2 byte-level BPE (see tokenizer.h for the algorithm and guarantees).
//
// Where this departs in form, but not in output, from OpenAI's encoder.py:
// - Symbols are vocab ids, not strings, and merges are looked up by (left id, right id). This is
//   possible because every merge result is itself a vocab entry (checked at load).
// - The merge loop uses a heap instead of rescanning the word after every merge, so a piece of
//   n bytes costs O(n log n), not O(n^2) (a megabyte of letters with no space is one piece).
//   It reproduces encoder.py's order exactly; see bpe_merge().
#include "editlab/model/tokenizer.h"

#include <nlohmann/json.hpp>

#include <array>
#include <fstream>
#include <queue>
#include <sstream>
#include <unordered_map>

#include "editlab/model/pretokenizer.h"
#include "editlab/util/error.h"
#include "editlab/util/json_file.h"
#include "editlab/util/text.h"
#include "hf_tokenizer.h"
#include "piece_cache.h"
#include "unicode_text.h"

namespace editlab {
namespace {

// Pieces longer than this are not cached (encoder.py's cache never shrinks; PieceCache bounds it).
constexpr size_t kMaxCachedPieceBytes = 64;

// ---- small helpers ----

// Code points of a string that nlohmann::json already checked to be valid UTF-8.
std::vector<char32_t> utf8_code_points(std::string_view s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) out.push_back(detail::next_code_point(s, i));
  return out;
}

// Splits on ASCII whitespace. Byte-level BPE tokens never contain whitespace (bytes_to_unicode
// maps every whitespace byte to a printable code point), so this equals str.split() on them.
void split_ascii_whitespace(std::string_view line, std::vector<std::string>& parts) {
  parts.clear();
  size_t i = 0;
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; };
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    size_t j = i;
    while (j < line.size() && !is_space(line[j])) ++j;
    if (j > i) parts.emplace_back(line.substr(i, j - i));
    i = j;
  }
}

// Collects the {"token": id} pairs of vocab.json; anything else is an error.
struct VocabReader : nlohmann::json_sax<nlohmann::json> {
  std::vector<std::pair<std::string, int64_t>> entries;
  std::string current, error;
  int depth = 0;

  bool reject(const std::string& what) {
    if (error.empty()) error = what;
    return false;
  }
  bool not_an_integer(std::string_view found) {
    return reject(fmt::format("token \"{}\" has {} as its id; expected an integer", current, found));
  }
  bool value(int64_t id) {
    if (depth != 1) return reject("expected one JSON object {\"token\": id, ...}");
    entries.emplace_back(std::move(current), id);
    return true;
  }
  bool null() override { return not_an_integer("null"); }
  bool boolean(bool) override { return not_an_integer("a boolean"); }
  bool number_integer(number_integer_t v) override { return value(v); }
  bool number_unsigned(number_unsigned_t v) override {
    if (v > static_cast<number_unsigned_t>(INT64_MAX)) return not_an_integer("a huge number");
    return value(static_cast<int64_t>(v));
  }
  bool number_float(number_float_t, const string_t& text) override { return not_an_integer(text); }
  bool string(string_t&) override { return not_an_integer("a string"); }
  bool binary(binary_t&) override { return not_an_integer("binary data"); }
  bool start_object(std::size_t) override { return ++depth == 1 || not_an_integer("an object"); }
  bool key(string_t& k) override {
    current = std::move(k);
    return true;
  }
  bool end_object() override {
    --depth;
    return true;
  }
  bool start_array(std::size_t) override {
    return depth == 0 ? reject("expected a JSON object {\"token\": id, ...}, found an array")
                      : not_an_integer("an array");
  }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    return reject(fmt::format("not valid JSON: {}", e.what()));
  }
};

std::string read_file(const std::filesystem::path& path, std::string_view what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    fail(
        "cannot read '{}': no such file (expected {}; the repository ships GPT-2's in "
        "data/gpt2-tokenizer/)",
        path.string(), what);
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (!in.good() && !in.eof()) fail("cannot read '{}': I/O error", path.string());
  return std::move(buffer).str();
}

using detail::StringHash;
template <typename Value>
using StringMap = detail::StringMap<Value>;

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

struct Merge {
  int32_t rank;    // line order in merges.txt: lower merges first
  int32_t result;  // vocab id of left + right
};

}  // namespace

// ---- Impl ----

struct Tokenizer::Impl {
  std::vector<std::string> id_to_token;  // vocab entry, e.g. "Ġthe"
  std::vector<std::string> id_to_bytes;  // the bytes it stands for, e.g. " the"
  StringMap<int64_t> token_to_id;
  std::array<int32_t, 256> byte_to_id{};       // the single-byte symbols a piece starts from
  std::unordered_map<uint64_t, Merge> merges;  // pair_key(left, right) -> merge
  PreTokenizer pretokenizer;                   // GPT-2's regex (pretokenizer.h)

  // Pieces already merged (encoder.py's cache), shared by threads.
  detail::PieceCache<int64_t> cache{kMaxCachedPieceBytes};

  void load_vocab(const std::filesystem::path& path);
  void load_merges(const std::filesystem::path& path);

  void encode_piece(std::string_view piece, std::vector<int64_t>& out) const;
  std::vector<int64_t> bpe_merge(std::string_view piece) const;
  void check_id(int64_t id, std::string_view caller) const;
};

void Tokenizer::Impl::load_vocab(const std::filesystem::path& path) {
  const std::string text = read_file(path, "the vocabulary, a JSON object {\"token\": id}");
  // SAX, not a DOM: 50,257 entries would otherwise become a std::map first.
  VocabReader reader;
  const bool parsed = nlohmann::json::sax_parse(text, &reader);
  if (!parsed || !reader.error.empty()) {
    fail("'{}': {}", path.string(), reader.error.empty() ? "not valid JSON" : reader.error);
  }
  if (reader.entries.empty()) fail("'{}': expected a non-empty JSON object {{\"token\": id, ...}}", path.string());
  const auto n = static_cast<int64_t>(reader.entries.size());
  id_to_token.assign(n, {});
  std::vector<bool> seen(n, false);
  token_to_id.reserve(n);
  for (auto& [token, id] : reader.entries) {
    if (id < 0 || id >= n) {
      fail("'{}': token \"{}\" has id {}; expected an integer in 0..{} (ids must be dense)", path.string(), token, id,
           n - 1);
    }
    if (seen[id]) fail("'{}': id {} is given to two tokens (one is \"{}\")", path.string(), id, token);
    if (!token_to_id.emplace(token, id).second) {
      fail("'{}': token \"{}\" appears twice", path.string(), token);
    }
    seen[id] = true;
    id_to_token[id] = std::move(token);
  }

  const auto byte_to_unicode = bytes_to_unicode();
  std::unordered_map<char32_t, char> unicode_to_byte;
  for (int b = 0; b < 256; ++b) unicode_to_byte[byte_to_unicode[b]] = static_cast<char>(b);
  id_to_bytes.assign(n, {});
  for (int64_t id = 0; id < n; ++id) {
    for (const char32_t cp : utf8_code_points(id_to_token[id])) {
      const auto it = unicode_to_byte.find(cp);
      if (it == unicode_to_byte.end()) {
        fail(
            "'{}': token \"{}\" (id {}) holds U+{:04X}, which is not in GPT-2's byte-to-unicode "
            "alphabet; this is not a byte-level BPE vocabulary",
            path.string(), id_to_token[id], id, static_cast<uint32_t>(cp));
      }
      id_to_bytes[id] += it->second;
    }
  }
  for (int b = 0; b < 256; ++b) {
    const std::string symbol = bytes_to_vocab_string(std::string(1, static_cast<char>(b)));
    const auto it = token_to_id.find(symbol);
    if (it == token_to_id.end()) {
      fail("'{}': no token for byte 0x{:02X} (\"{}\"); a byte-level vocabulary has all 256", path.string(), b, symbol);
    }
    byte_to_id[b] = static_cast<int32_t>(it->second);
  }
}

void Tokenizer::Impl::load_merges(const std::filesystem::path& path) {
  const std::string text = read_file(path, "the BPE merges, one \"left right\" pair per line");
  int32_t rank = 0;
  std::vector<std::string> parts;
  std::string merged;
  size_t line_start = 0;
  for (int64_t line_number = 1; line_start < text.size(); ++line_number) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string::npos) line_end = text.size();
    const std::string_view line(text.data() + line_start, line_end - line_start);
    line_start = line_end + 1;
    if (line_number == 1 && line.starts_with("#version")) continue;
    split_ascii_whitespace(line, parts);  // as Python's str.split() does for these tokens
    if (parts.empty()) continue;
    if (parts.size() != 2) {
      fail("{}:{}: expected two tokens separated by a space, found {}: \"{}\"", path.string(), line_number,
           parts.size(), line);
    }
    int32_t ids[3];
    merged = parts[0];
    merged += parts[1];
    for (int k = 0; k < 3; ++k) {
      const std::string& token = k < 2 ? parts[k] : merged;
      const auto it = token_to_id.find(token);
      if (it == token_to_id.end()) {
        fail(
            "{}:{}: \"{}\" is not in the vocabulary; merges.txt and vocab.json must come from "
            "the same tokenizer",
            path.string(), line_number, token);
      }
      ids[k] = static_cast<int32_t>(it->second);
    }
    // A repeated pair takes its later rank, as dict(zip(merges, range(...))) does in encoder.py.
    merges.insert_or_assign(pair_key(ids[0], ids[1]), Merge{rank++, ids[2]});
  }
}

void Tokenizer::Impl::encode_piece(std::string_view piece, std::vector<int64_t>& out) const {
  if (piece.size() == 1) {
    out.push_back(byte_to_id[static_cast<unsigned char>(piece[0])]);
    return;
  }
  const bool cacheable = cache.cacheable(piece);
  if (cacheable && cache.find(piece, out)) return;
  std::vector<int64_t> ids = bpe_merge(piece);
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) cache.insert(piece, std::move(ids));
}

// encoder.py's bpe(): repeatedly take the adjacent pair with the lowest rank and merge all of
// its occurrences in one left-to-right pass (so "a a a" with the merge (a, a) gives "aa a"),
// until no pair has a rank.
//
// Here the symbols form a linked list over byte positions and candidate pairs wait in a heap
// ordered by (rank, position). One round pops every candidate of the lowest rank, which is one
// bigram since ranks are unique per pair, and applies them left to right. A popped candidate
// is applied only if its two symbols are still what they were when it was pushed; otherwise an
// earlier merge consumed one of them (an overlap, as in "a a a", or a stale entry). The pairs
// that a round creates are pushed after the round, so that even a merge file whose ranks are
// not in training order gives encoder.py's result: each round merges one bigram everywhere.
std::vector<int64_t> Tokenizer::Impl::bpe_merge(std::string_view piece) const {
  struct Symbol {
    int32_t id;    // vocab id, -1 once merged into its left neighbour
    int32_t prev;  // position of the previous live symbol, -1 at the start
    int32_t next;  // position of the next live symbol, -1 at the end
  };
  struct Candidate {
    int32_t rank, left, left_id, right_id, result;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  const auto n = static_cast<int32_t>(piece.size());
  std::vector<Symbol> symbols(n);
  for (int32_t i = 0; i < n; ++i) {
    symbols[i] = {byte_to_id[static_cast<unsigned char>(piece[i])], i - 1, i + 1 < n ? i + 1 : -1};
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  std::vector<Candidate> created;
  auto propose = [&](int32_t left, std::vector<Candidate>& into) {
    if (left < 0 || symbols[left].next < 0) return;
    const int32_t left_id = symbols[left].id, right_id = symbols[symbols[left].next].id;
    if (const auto it = merges.find(pair_key(left_id, right_id)); it != merges.end()) {
      into.push_back({it->second.rank, left, left_id, right_id, it->second.result});
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) propose(i, created);
  for (const Candidate& c : created) heap.push(c);

  while (!heap.empty()) {
    const int32_t round_rank = heap.top().rank;
    created.clear();
    while (!heap.empty() && heap.top().rank == round_rank) {
      const Candidate c = heap.top();
      heap.pop();
      Symbol& left = symbols[c.left];
      if (left.id != c.left_id || left.next < 0 || symbols[left.next].id != c.right_id) continue;
      Symbol& right = symbols[left.next];
      left.id = c.result;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next].prev = c.left;
      right.id = -1;
      propose(left.prev, created);
      propose(c.left, created);
    }
    for (const Candidate& c : created) heap.push(c);
  }

  std::vector<int64_t> ids;
  for (int32_t i = 0; i >= 0; i = symbols[i].next) ids.push_back(symbols[i].id);
  return ids;
}

void Tokenizer::Impl::check_id(int64_t id, std::string_view caller) const {
  if (id < 0 || id >= static_cast<int64_t>(id_to_token.size())) {
    fail("{}: token id {} is outside the vocabulary (valid ids are 0..{})", caller, id, id_to_token.size() - 1);
  }
}

// ---- Tokenizer ----

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(std::shared_ptr<const detail::HfTokenizer> hf) : hf_(std::move(hf)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(const Tokenizer&) = default;
Tokenizer& Tokenizer::operator=(const Tokenizer&) = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Tokenizer Tokenizer::from_files(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt) {
  auto impl = std::make_shared<Impl>();
  impl->load_vocab(vocab_json);
  impl->load_merges(merges_txt);
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_tokenizer_json(const std::filesystem::path& tokenizer_json,
                                         const std::optional<std::filesystem::path>& config_json,
                                         const std::string& tokenizer_class) {
  nlohmann::json config = nlohmann::json::object();
  std::string config_source = "tokenizer_config.json";
  if (config_json) {
    config = read_json_file(*config_json, "tokenizer_config.json");
    if (!config.is_object()) fail("{}: expected a JSON object", config_json->string());
    config_source = config_json->string();
  }
  if (!tokenizer_class.empty() && !config.contains("tokenizer_class")) config["tokenizer_class"] = tokenizer_class;
  return Tokenizer(detail::HfTokenizer::load(tokenizer_json, config, config_source));
}

namespace {
// transformers' AutoTokenizer picks the class from config.json's model_type when
// tokenizer_config.json names none (TOKENIZER_MAPPING_NAMES, fast classes).
std::string class_from_model_type(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(dir / "config.json", ec)) return "";
  const auto config = read_json_file(dir / "config.json", "model config");
  if (!config.is_object() || !config.contains("model_type") || !config["model_type"].is_string()) return "";
  const auto type = config["model_type"].get<std::string>();
  if (type == "llama" || type == "mistral") return "LlamaTokenizerFast";
  if (type == "gpt_neox") return "GPTNeoXTokenizerFast";
  if (type == "gemma" || type == "gemma2") return "GemmaTokenizerFast";
  return "";
}
}  // namespace

Tokenizer Tokenizer::from_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(dir / "tokenizer.json", ec)) {
    std::optional<std::filesystem::path> config;
    if (std::filesystem::is_regular_file(dir / "tokenizer_config.json", ec)) config = dir / "tokenizer_config.json";
    return from_tokenizer_json(dir / "tokenizer.json", config, class_from_model_type(dir));
  }
  if (!std::filesystem::exists(dir / "vocab.json", ec) && !std::filesystem::exists(dir / "merges.txt", ec)) {
    fail("{}: no tokenizer: expected tokenizer.json (a Hugging Face tokenizer, with tokenizer_config.json) or "
         "vocab.json + merges.txt (GPT-2's files)",
         dir.string());
  }
  return from_files(dir / "vocab.json", dir / "merges.txt");
}

std::vector<int64_t> Tokenizer::encode_as(std::string_view utf8, int mode) const {
  std::vector<int64_t> ids;
  ids.reserve(utf8.size() / 4);  // English averages about 4 bytes per token
  if (hf_) {
    hf_->encode(utf8, static_cast<detail::HfTokenizer::EncodeMode>(mode), ids);
    return ids;
  }
  // GPT-2's files: no special tokens, and nothing is ever added to a text's start.
  impl_->pretokenizer.for_each_piece(utf8, [&](std::string_view piece) { impl_->encode_piece(piece, ids); });
  return ids;
}

std::vector<int64_t> Tokenizer::encode(std::string_view utf8, bool add_special_tokens) const {
  using Mode = detail::HfTokenizer::EncodeMode;
  return encode_as(utf8, static_cast<int>(add_special_tokens ? Mode::kSpecial : Mode::kPlain));
}

std::vector<int64_t> Tokenizer::encode_prompt(std::string_view utf8) const {
  const auto mode = static_cast<int>(detail::HfTokenizer::EncodeMode::kPrompt);
  if (context_ && !context_->text.empty()) return encode_as(context_->text + std::string(utf8), mode);
  return encode_as(utf8, mode);
}

int64_t Tokenizer::prompt_context_tokens(std::string_view utf8) const {
  if (!context_ || context_->text.empty()) return 0;
  const auto mode = static_cast<int>(detail::HfTokenizer::EncodeMode::kPrompt);
  return static_cast<int64_t>(encode_prompt(utf8).size()) - static_cast<int64_t>(encode_as(utf8, mode).size());
}

Tokenizer Tokenizer::with_prompt_context(std::shared_ptr<const PromptContext> context) const {
  Tokenizer copy(*this);
  copy.context_ = std::move(context);
  return copy;
}

std::vector<int64_t> Tokenizer::encode_continuation(std::string_view utf8) const {
  return encode_as(utf8, static_cast<int>(detail::HfTokenizer::EncodeMode::kContinuation));
}

int64_t Tokenizer::prompt_prefix_size() const {
  return static_cast<int64_t>(encode_as("", static_cast<int>(detail::HfTokenizer::EncodeMode::kPrompt)).size());
}

std::string Tokenizer::decode_continuation(std::span<const int64_t> context, std::span<const int64_t> ids) const {
  if (!hf_ || context.empty()) return decode(ids);
  std::vector<int64_t> joined(context.begin(), context.end());
  joined.insert(joined.end(), ids.begin(), ids.end());
  const std::string whole = decode(joined), head = decode(context);
  // A decoder that rewrote the context's end once more tokens followed (none of the supported
  // ones does) falls back to the tokens on their own.
  return whole.starts_with(head) ? whole.substr(head.size()) : decode(ids);
}

std::string Tokenizer::decode(std::span<const int64_t> ids) const {
  if (hf_) {
    return hf_->decode(ids, false, false);
  }
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab_size()) {
      fail("decode: token id {} at position {} is outside the vocabulary (valid ids are 0..{})", ids[i], i,
           vocab_size() - 1);
    }
    out += impl_->id_to_bytes[ids[i]];
  }
  return out;
}

std::string Tokenizer::decode_text(std::span<const int64_t> ids, bool skip_special_tokens) const {
  if (hf_) {
    return hf_->decode(ids, skip_special_tokens, true);
  }
  if (!skip_special_tokens) return replace_invalid_utf8(decode(ids));
  std::vector<int64_t> kept;
  for (const auto id : ids) {
    if (!is_special(id)) kept.push_back(id);
  }
  return replace_invalid_utf8(decode(kept));
}

std::string Tokenizer::token_string(int64_t id) const {
  if (hf_) {
    const std::string* t = hf_->token(id);
    if (t == nullptr) fail("token_string: token id {} has no token (the tokenizer's ids are 0..{})", id, vocab_size() - 1);
    return *t;
  }
  impl_->check_id(id, "token_string");
  return impl_->id_to_token[id];
}

std::string Tokenizer::token_bytes(int64_t id) const {
  if (hf_) {
    if (hf_->token(id) == nullptr) fail("token_bytes: token id {} has no token (the tokenizer's ids are 0..{})", id, vocab_size() - 1);
    return hf_->token_bytes(id);
  }
  impl_->check_id(id, "token_bytes");
  return impl_->id_to_bytes[id];
}

std::optional<int64_t> Tokenizer::token_id(std::string_view vocab_string) const {
  if (hf_) return hf_->token_id(vocab_string);
  const auto it = impl_->token_to_id.find(vocab_string);
  if (it == impl_->token_to_id.end()) return std::nullopt;
  return it->second;
}

int64_t Tokenizer::eos_id() const {
  if (hf_) {
    if (const auto id = hf_->eos_id()) return *id;
  }
  const auto id = token_id("<|endoftext|>");
  if (!id) {
    fail("the tokenizer has no end-of-text token: tokenizer_config.json names no eos_token and there is no "
         "\"<|endoftext|>\"");
  }
  return *id;
}

std::optional<int64_t> Tokenizer::bos_id() const {
  if (hf_) return hf_->bos_id();
  return std::nullopt;
}

bool Tokenizer::is_special(int64_t id) const {
  if (hf_) return hf_->is_special(id);
  const auto eos = token_id("<|endoftext|>");
  return eos && *eos == id;
}

int64_t Tokenizer::vocab_size() const {
  if (hf_) return hf_->vocab_size();
  return static_cast<int64_t>(impl_->id_to_token.size());
}

nlohmann::json Tokenizer::describe() const {
  if (hf_) {
    auto j = hf_->describe();
    j["kind"] = "tokenizer.json";
    j["vocab_size"] = vocab_size();
    return j;
  }
  return {{"kind", "vocab.json + merges.txt"},
          {"pipeline", "GPT-2 byte-level BPE (encoder.py's regex with JavaScript's \\s, merges by rank)"},
          {"vocab_size", vocab_size()},
          {"merges", impl_->merges.size()}};
}

// ---- clean_up_tokenization_spaces ----

std::string clean_up_tokenization_spaces(std::string_view text) {
  static constexpr std::pair<std::string_view, std::string_view> kReplacements[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  std::string out(text);
  for (const auto& [from, to] : kReplacements) out = replace_all(out, from, to);
  return out;
}

}  // namespace editlab

namespace editlab {

std::string replace_invalid_utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size();) {
    const auto step = detail::utf8_step(in, i);
    if (step.valid) {
      out.append(in.substr(i, step.length));
    } else {
      out += "\xEF\xBF\xBD";  // one U+FFFD for the maximal invalid subpart
    }
    i += step.length;
  }
  return out;
}

}  // namespace editlab
