// The tokenizer.json pipeline (see hf_tokenizer.h). Each step names the tokenizers 0.21 source it
// reproduces; where the order of operations looks arbitrary, it is theirs.
#include "hf_tokenizer.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <array>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "editlab/model/pretokenizer.h"  // bytes_to_unicode
#include "editlab/model/tokenizer.h"     // replace_invalid_utf8
#include "editlab/util/error.h"
#include "editlab/util/json_file.h"
#include "editlab/util/text.h"
#include "piece_cache.h"
#include "unicode_text.h"

namespace editlab::detail {
namespace {

using Json = nlohmann::json;


// Where a JSON value sits in the file, for messages: "tokenizer.json: /pre_tokenizer/pretokenizers/1".
struct Where {
  const std::string& source;
  std::string path;
  Where at(std::string_view key) const { return {source, path + "/" + std::string(key)}; }
  Where at(size_t index) const { return {source, path + "/" + std::to_string(index)}; }
  std::string str() const { return source + ": " + (path.empty() ? "/" : path); }
};

[[noreturn]] void unsupported(const Where& w, std::string_view what, std::string_view type, std::string_view supported) {
  fail("{}: {} type \"{}\" is not supported by editlab (supported: {}); it would tokenize differently, so the "
       "tokenizer is refused",
       w.str(), what, type, supported);
}

const Json& member(const Json& j, std::string_view key, const Where& w) {
  if (!j.is_object()) fail("{}: expected a JSON object", w.str());
  const auto it = j.find(key);
  if (it == j.end()) fail("{}: missing \"{}\"", w.str(), key);
  return *it;
}
std::string get_string(const Json& j, std::string_view key, const Where& w) {
  const Json& v = member(j, key, w);
  if (!v.is_string()) fail("{}: \"{}\" must be a string", w.at(key).str(), key);
  return v.get<std::string>();
}
bool get_bool(const Json& j, std::string_view key, const Where& w, bool fallback) {
  if (!j.is_object()) fail("{}: expected a JSON object", w.str());
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail("{}: must be true or false", w.at(key).str());
  return it->get<bool>();
}
int64_t get_int(const Json& j, std::string_view key, const Where& w) {
  const Json& v = member(j, key, w);
  if (!v.is_number_integer()) fail("{}: must be an integer", w.at(key).str());
  return v.get<int64_t>();
}
// One character (tokenizers' char fields: Metaspace's replacement, Strip's content).
char32_t get_char(const Json& j, std::string_view key, const Where& w) {
  const std::string s = get_string(j, key, w);
  size_t i = 0;
  if (s.empty()) fail("{}: must be one character, found an empty string", w.at(key).str());
  const char32_t c = next_code_point(s, i);
  if (i != s.size()) fail("{}: must be one character, found \"{}\"", w.at(key).str(), s);
  return c;
}


// A pattern of Split, Replace (normalizer and decoder): {"String": s} or {"Regex": r}.
struct Pattern {
  std::string literal;
  std::optional<Regex> regex;

  static Pattern parse(const Json& j, const Where& w) {
    if (!j.is_object() || j.size() != 1) fail("{}: expected {{\"String\": ...}} or {{\"Regex\": ...}}", w.str());
    Pattern p;
    if (j.contains("String")) {
      p.literal = get_string(j, "String", w);
    } else if (j.contains("Regex")) {
      p.regex.emplace(get_string(j, "Regex", w), w.at("Regex").str());
    } else {
      fail("{}: expected {{\"String\": ...}} or {{\"Regex\": ...}}, found key \"{}\"", w.str(), j.begin().key());
    }
    return p;
  }
  // Matches as [start, end) byte offsets, left to right.
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const {
    if (regex) return regex->find_all(text, out);
    out.clear();
    if (literal.empty()) return;
    for (size_t hit = 0; (hit = text.find(literal, hit)) != std::string_view::npos; hit += literal.size()) {
      out.emplace_back(hit, hit + literal.size());
    }
  }
  std::string replace(std::string_view text, std::string_view content) const {
    std::vector<std::pair<size_t, size_t>> matches;
    find_all(text, matches);
    std::string out;
    size_t last = 0;
    for (const auto& [s, e] : matches) {
      out.append(text.substr(last, s - last));
      out.append(content);
      last = e;
    }
    out.append(text.substr(last));
    return out;
  }
};

// The start of the character that ends at `end` (s[..end) is valid UTF-8, end > 0).
size_t previous_char_start(std::string_view s, size_t end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  return start;
}
// Where the run of White_Space at the end of s begins (s.size() if none): Rust regex's \s*$.
size_t start_of_trailing_space(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t i = previous_char_start(s, end);
    const size_t start = i;
    if (!is_white_space(next_code_point(s, i))) break;
    end = start;
  }
  return end;
}
// Where the run of White_Space at the start of s ends (0 if none): Rust regex's ^\s*.
size_t end_of_leading_space(std::string_view s) {
  size_t end = 0;
  while (end < s.size()) {
    size_t i = end;
    if (!is_white_space(next_code_point(s, i))) break;
    end = i;
  }
  return end;
}

// ---- normalizers (tokenizers/src/normalizers) ----

struct Normalizer {
  enum class Kind { kUnicode, kPrepend, kReplace, kStrip } kind;
  NormalForm form = NormalForm::kNfc;
  std::string text;  // Prepend's prepend, Replace's content
  std::shared_ptr<Pattern> pattern;
  bool left = false, right = false;
  std::string type;  // as written in the file

  void apply(std::string& s) const {
    switch (kind) {
      case Kind::kUnicode: s = normalize_unicode(s, form); return;
      case Kind::kPrepend:
        if (!s.empty()) s.insert(0, text);
        return;
      case Kind::kReplace: s = pattern->replace(s, text); return;
      case Kind::kStrip: {
        const size_t begin = left ? end_of_leading_space(s) : 0;
        const size_t end = right ? std::max(begin, start_of_trailing_space(s)) : s.size();
        s = s.substr(begin, end - begin);
        return;
      }
    }
  }
};

constexpr std::string_view kNormalizers = "NFC, NFD, NFKC, NFKD, Prepend, Replace, Strip, Sequence";

void parse_normalizer(const Json& j, const Where& w, std::vector<Normalizer>& out) {
  if (j.is_null()) return;
  const std::string type = get_string(j, "type", w);
  Normalizer n{};
  n.type = type;
  if (type == "Sequence") {
    const Json& list = member(j, "normalizers", w);
    if (!list.is_array()) fail("{}: must be an array", w.at("normalizers").str());
    for (size_t i = 0; i < list.size(); ++i) parse_normalizer(list[i], w.at("normalizers").at(i), out);
    return;
  }
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    n.kind = Normalizer::Kind::kUnicode;
    n.form = type == "NFC" ? NormalForm::kNfc : type == "NFD" ? NormalForm::kNfd : type == "NFKC" ? NormalForm::kNfkc
                                                                                                   : NormalForm::kNfkd;
  } else if (type == "Prepend") {
    n.kind = Normalizer::Kind::kPrepend;
    n.text = get_string(j, "prepend", w);
  } else if (type == "Replace") {
    n.kind = Normalizer::Kind::kReplace;
    n.pattern = std::make_shared<Pattern>(Pattern::parse(member(j, "pattern", w), w.at("pattern")));
    n.text = get_string(j, "content", w);
  } else if (type == "Strip") {
    n.kind = Normalizer::Kind::kStrip;
    n.left = get_bool(j, "strip_left", w, true);
    n.right = get_bool(j, "strip_right", w, true);
  } else {
    unsupported(w, "normalizer", type, kNormalizers);
  }
  out.push_back(std::move(n));
}

// ---- pre-tokenizers (tokenizers/src/pre_tokenizers) ----

// A piece of the text on its way to the model. at_origin: it starts at offset 0 of the original
// text (Metaspace's prepend_scheme "first" prepends only there). continues: it starts at offset 0
// of a text that continues another one (Tokenizer::encode_continuation), so no prefix space or
// metaspace is added to it whatever the scheme.
struct Piece {
  std::string text;
  bool at_origin = false;
  bool continues = false;
};

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// NormalizedString::split: the matches (is_match = true) and the gaps between them tile the text;
// the behaviour decides what becomes a piece. Empty pieces are dropped.
void split_by(const Piece& piece, const std::vector<std::pair<size_t, size_t>>& matches, Behavior behavior,
              bool invert, std::vector<Piece>& out) {
  const std::string& s = piece.text;
  struct Part {
    size_t start, end;
    bool is_match;
  };
  std::vector<Part> parts;
  size_t prev = 0;
  for (const auto& [start, end] : matches) {
    if (prev != start) parts.push_back({prev, start, false});
    parts.push_back({start, end, true});
    prev = end;
  }
  if (prev != s.size()) parts.push_back({prev, s.size(), false});
  if (s.empty()) parts.push_back({0, 0, false});
  if (invert) {
    for (auto& p : parts) p.is_match = !p.is_match;
  }
  std::vector<std::pair<Part, bool>> result;  // (part, remove)
  switch (behavior) {
    case Behavior::kIsolated:
      for (const auto& p : parts) result.push_back({p, false});
      break;
    case Behavior::kRemoved:
      for (const auto& p : parts) result.push_back({p, p.is_match});
      break;
    case Behavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const auto& p : parts) {
        if (p.is_match && !previous_match && !result.empty()) {
          result.back().first.end = p.end;
        } else {
          result.push_back({p, false});
        }
        previous_match = p.is_match;
      }
      break;
    }
    case Behavior::kMergedWithNext: {
      bool previous_match = false;
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->is_match && !previous_match && !result.empty()) {
          result.back().first.start = it->start;
        } else {
          result.push_back({*it, false});
        }
        previous_match = it->is_match;
      }
      std::reverse(result.begin(), result.end());
      break;
    }
    case Behavior::kContiguous: {
      bool previous_match = false;
      for (const auto& p : parts) {
        if (p.is_match == previous_match && !result.empty()) {
          result.back().first.end = p.end;
        } else {
          result.push_back({p, false});
        }
        previous_match = p.is_match;
      }
      break;
    }
  }
  for (const auto& [p, remove] : result) {
    if (remove || p.start == p.end) continue;
    out.push_back({s.substr(p.start, p.end - p.start), piece.at_origin && p.start == 0, piece.continues && p.start == 0});
  }
}

// Matches of a character predicate, one match per character.
template <typename Predicate>
void char_matches(std::string_view s, Predicate&& predicate, std::vector<std::pair<size_t, size_t>>& out) {
  out.clear();
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    if (predicate(next_code_point(s, i))) out.emplace_back(start, i);
  }
}

// GPT-2's byte-to-unicode alphabet as UTF-8 strings, and back.
struct ByteAlphabet {
  std::array<std::string, 256> to_char;
  std::unordered_map<char32_t, unsigned char> to_byte;
  ByteAlphabet() {
    const auto table = bytes_to_unicode();
    for (int b = 0; b < 256; ++b) {
      append_code_point(to_char[b], table[b]);
      to_byte[table[b]] = static_cast<unsigned char>(b);
    }
  }
};
const ByteAlphabet& byte_alphabet() {
  static const ByteAlphabet alphabet;
  return alphabet;
}

// GPT-2's pattern, as tokenizers' ByteLevel compiles it (with Oniguruma's \s).
const Regex& byte_level_regex() {
  static const Regex regex(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)",
                           "ByteLevel's built-in regex");
  return regex;
}

struct PreTokenizerStep {
  enum class Kind { kByteLevel, kSplit, kMetaspace, kDigits } kind;
  bool add_prefix_space = false, use_regex = true;  // ByteLevel
  std::shared_ptr<Pattern> pattern;                 // Split
  Behavior behavior = Behavior::kIsolated;
  bool invert = false;
  std::string replacement;  // Metaspace, as UTF-8
  enum class Prepend { kAlways, kFirst, kNever } prepend = Prepend::kAlways;
  bool split = true;               // Metaspace
  bool individual_digits = false;  // Digits

  void apply(std::vector<Piece>& pieces) const {
    std::vector<Piece> out;
    out.reserve(pieces.size());
    std::vector<std::pair<size_t, size_t>> matches;
    for (auto& piece : pieces) {
      switch (kind) {
        case Kind::kByteLevel: {
          if (add_prefix_space && !piece.continues && !piece.text.starts_with(' ')) piece.text.insert(0, " ");
          const size_t first = out.size();
          if (use_regex) {
            byte_level_regex().find_all(piece.text, matches);
            split_by(piece, matches, Behavior::kIsolated, false, out);
          } else if (!piece.text.empty()) {
            out.push_back(std::move(piece));
          }
          const auto& alphabet = byte_alphabet();
          for (size_t k = first; k < out.size(); ++k) {
            std::string mapped;
            mapped.reserve(out[k].text.size() * 2);
            for (const char c : out[k].text) mapped += alphabet.to_char[static_cast<unsigned char>(c)];
            out[k].text = std::move(mapped);
          }
          break;
        }
        case Kind::kSplit:
          pattern->find_all(piece.text, matches);
          split_by(piece, matches, behavior, invert, out);
          break;
        case Kind::kMetaspace: {
          piece.text = replace_all(piece.text, " ", replacement);
          const bool prepend_here = !piece.continues && (prepend == Prepend::kAlways ||
                                                         (prepend == Prepend::kFirst && piece.at_origin));
          if (prepend_here && !piece.text.starts_with(replacement)) piece.text.insert(0, replacement);
          if (split) {
            matches.clear();
            for (size_t hit = 0; (hit = piece.text.find(replacement, hit)) != std::string::npos;
                 hit += replacement.size()) {
              matches.emplace_back(hit, hit + replacement.size());
            }
            split_by(piece, matches, Behavior::kMergedWithNext, false, out);
          } else if (!piece.text.empty()) {
            out.push_back(std::move(piece));
          }
          break;
        }
        case Kind::kDigits:
          char_matches(piece.text, is_numeric, matches);
          split_by(piece, matches, individual_digits ? Behavior::kIsolated : Behavior::kContiguous, false, out);
          break;
      }
    }
    pieces = std::move(out);
  }
};

constexpr std::string_view kPreTokenizers = "ByteLevel, Split, Metaspace, Digits, Sequence";

Behavior parse_behavior(const Json& j, const Where& w) {
  const std::string b = get_string(j, "behavior", w);
  if (b == "Removed") return Behavior::kRemoved;
  if (b == "Isolated") return Behavior::kIsolated;
  if (b == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return Behavior::kMergedWithNext;
  if (b == "Contiguous") return Behavior::kContiguous;
  fail("{}: unknown behavior \"{}\" (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)",
       w.at("behavior").str(), b);
}

PreTokenizerStep::Prepend parse_prepend_scheme(const Json& j, const Where& w) {
  // Files written before tokenizers 0.19 carry add_prefix_space instead of prepend_scheme.
  if (!j.contains("prepend_scheme")) {
    return get_bool(j, "add_prefix_space", w, true) ? PreTokenizerStep::Prepend::kAlways
                                                     : PreTokenizerStep::Prepend::kNever;
  }
  const std::string s = get_string(j, "prepend_scheme", w);
  if (s == "always") return PreTokenizerStep::Prepend::kAlways;
  if (s == "first") return PreTokenizerStep::Prepend::kFirst;
  if (s == "never") return PreTokenizerStep::Prepend::kNever;
  fail("{}: unknown prepend_scheme \"{}\" (expected always, first or never)", w.at("prepend_scheme").str(), s);
}

void parse_pre_tokenizer(const Json& j, const Where& w, std::vector<PreTokenizerStep>& out) {
  if (j.is_null()) return;
  const std::string type = get_string(j, "type", w);
  PreTokenizerStep step{};
  if (type == "Sequence") {
    const Json& list = member(j, "pretokenizers", w);
    if (!list.is_array()) fail("{}: must be an array", w.at("pretokenizers").str());
    for (size_t i = 0; i < list.size(); ++i) parse_pre_tokenizer(list[i], w.at("pretokenizers").at(i), out);
    return;
  }
  if (type == "ByteLevel") {
    step.kind = PreTokenizerStep::Kind::kByteLevel;
    step.add_prefix_space = get_bool(j, "add_prefix_space", w, true);
    step.use_regex = get_bool(j, "use_regex", w, true);
  } else if (type == "Split") {
    step.kind = PreTokenizerStep::Kind::kSplit;
    step.pattern = std::make_shared<Pattern>(Pattern::parse(member(j, "pattern", w), w.at("pattern")));
    step.behavior = parse_behavior(j, w);
    step.invert = get_bool(j, "invert", w, false);
  } else if (type == "Metaspace") {
    step.kind = PreTokenizerStep::Kind::kMetaspace;
    append_code_point(step.replacement, get_char(j, "replacement", w));
    step.prepend = parse_prepend_scheme(j, w);
    step.split = get_bool(j, "split", w, true);
  } else if (type == "Digits") {
    step.kind = PreTokenizerStep::Kind::kDigits;
    step.individual_digits = get_bool(j, "individual_digits", w, false);
  } else {
    unsupported(w, "pre-tokenizer", type, kPreTokenizers);
  }
  out.push_back(std::move(step));
}

// ---- decoders (tokenizers/src/decoders) ----

struct DecoderStep {
  enum class Kind { kByteLevel, kMetaspace, kReplace, kByteFallback, kFuse, kStrip } kind;
  std::string replacement;  // Metaspace
  bool metaspace_strips_first = true;
  std::shared_ptr<Pattern> pattern;  // Replace
  std::string content;               // Replace
  char32_t strip_char = ' ';         // Strip
  size_t start = 0, stop = 0;
};

constexpr std::string_view kDecoders = "ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence";

void parse_decoder(const Json& j, const Where& w, std::vector<DecoderStep>& out) {
  if (j.is_null()) return;
  const std::string type = get_string(j, "type", w);
  DecoderStep step{};
  if (type == "Sequence") {
    const Json& list = member(j, "decoders", w);
    if (!list.is_array()) fail("{}: must be an array", w.at("decoders").str());
    for (size_t i = 0; i < list.size(); ++i) parse_decoder(list[i], w.at("decoders").at(i), out);
    return;
  }
  if (type == "ByteLevel") {
    step.kind = DecoderStep::Kind::kByteLevel;
  } else if (type == "Metaspace") {
    step.kind = DecoderStep::Kind::kMetaspace;
    append_code_point(step.replacement, get_char(j, "replacement", w));
    step.metaspace_strips_first = parse_prepend_scheme(j, w) != PreTokenizerStep::Prepend::kNever;
  } else if (type == "Replace") {
    step.kind = DecoderStep::Kind::kReplace;
    step.pattern = std::make_shared<Pattern>(Pattern::parse(member(j, "pattern", w), w.at("pattern")));
    step.content = get_string(j, "content", w);
  } else if (type == "ByteFallback") {
    step.kind = DecoderStep::Kind::kByteFallback;
  } else if (type == "Fuse") {
    step.kind = DecoderStep::Kind::kFuse;
  } else if (type == "Strip") {
    step.kind = DecoderStep::Kind::kStrip;
    step.strip_char = get_char(j, "content", w);
    const int64_t start = get_int(j, "start", w), stop = get_int(j, "stop", w);
    if (start < 0 || stop < 0) fail("{}: start and stop must be >= 0", w.str());
    step.start = static_cast<size_t>(start);
    step.stop = static_cast<size_t>(stop);
  } else {
    unsupported(w, "decoder", type, kDecoders);
  }
  out.push_back(std::move(step));
}

// "<0x41>" -> 0x41, as ByteFallback reads it.
std::optional<unsigned char> byte_token(std::string_view token) {
  if (token.size() != 6 || !token.starts_with("<0x") || token[5] != '>') return std::nullopt;
  unsigned value = 0;
  const auto [end, error] = std::from_chars(token.data() + 3, token.data() + 5, value, 16);
  if (error != std::errc() || end != token.data() + 5) return std::nullopt;
  return static_cast<unsigned char>(value);
}

// ---- the BPE model (tokenizers/src/models/bpe) ----

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

constexpr size_t kMaxCachedPieceBytes = 255;  // tokenizers caches pieces shorter than its MAX_LENGTH, 256

struct Bpe {
  StringMap<int32_t> vocab;
  struct Merge {
    uint32_t rank;
    int32_t result;
  };
  std::unordered_map<uint64_t, Merge> merges;
  std::optional<std::string> unk_token;
  int32_t unk_id = -1;  // its id, or -1 without one
  std::string prefix, suffix;  // continuing_subword_prefix, end_of_word_suffix
  bool fuse_unk = false, byte_fallback = false, ignore_merges = false;
  std::array<int32_t, 256> byte_ids{};  // "<0xXX>" ids for byte_fallback, -1 if absent

  PieceCache<int32_t> cache{kMaxCachedPieceBytes};

  void tokenize(std::string_view piece, std::vector<int64_t>& out) const {
    if (piece.empty()) return;
    if (ignore_merges) {
      if (const auto it = vocab.find(piece); it != vocab.end()) {
        out.push_back(it->second);
        return;
      }
    }
    const bool cacheable = cache.cacheable(piece);
    if (cacheable && cache.find(piece, out)) return;
    std::vector<int32_t> ids = merge_word(piece);
    out.insert(out.end(), ids.begin(), ids.end());
    if (cacheable) cache.insert(piece, std::move(ids));
  }

  // BPE::merge_word then Word::merge_all.
  std::vector<int32_t> merge_word(std::string_view w) const {
    std::vector<int32_t> symbols;
    int32_t pending_unk = -1;  // an unk symbol not added yet (fuse_unk extends it), or -1
    std::string s;
    for (size_t i = 0; i < w.size();) {
      const size_t start = i;
      next_code_point(w, i);
      s.assign(w.substr(start, i - start));
      if (start > 0 && !prefix.empty()) s.insert(0, prefix);
      if (i == w.size() && !suffix.empty()) s += suffix;
      if (const auto it = vocab.find(s); it != vocab.end()) {
        if (pending_unk >= 0) symbols.push_back(pending_unk), pending_unk = -1;
        symbols.push_back(it->second);
        continue;
      }
      if (byte_fallback) {
        bool all = true;
        for (const char c : s) all = all && byte_ids[static_cast<unsigned char>(c)] >= 0;
        if (all) {
          for (const char c : s) symbols.push_back(byte_ids[static_cast<unsigned char>(c)]);
          continue;  // as tokenizers: a pending unk is not flushed here
        }
      }
      if (unk_token) {
        if (pending_unk >= 0 && !fuse_unk) symbols.push_back(pending_unk);
        pending_unk = unk_id;
      }
    }
    if (pending_unk >= 0) symbols.push_back(pending_unk);
    merge_all(symbols);
    return symbols;
  }

  // Word::merge_all: a heap of (rank, position), lowest first; a popped pair is applied if its two
  // symbols are still there, and the pairs it creates are pushed at once.
  void merge_all(std::vector<int32_t>& ids) const {
    const auto n = static_cast<int32_t>(ids.size());
    if (n < 2) return;
    struct Symbol {
      int32_t id, prev, next;
      bool removed;
    };
    struct Candidate {
      uint32_t rank;
      int32_t pos, result;
      bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::vector<Symbol> sym(n);
    for (int32_t i = 0; i < n; ++i) sym[i] = {ids[i], i - 1, i + 1 < n ? i + 1 : -1, false};
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
    for (int32_t i = 0; i + 1 < n; ++i) {
      if (const auto it = merges.find(pair_key(sym[i].id, sym[i + 1].id)); it != merges.end()) {
        heap.push({it->second.rank, i, it->second.result});
      }
    }
    while (!heap.empty()) {
      const Candidate top = heap.top();
      heap.pop();
      Symbol& cur = sym[top.pos];
      if (cur.removed || cur.next < 0) continue;
      const int32_t next_pos = cur.next;
      const auto it = merges.find(pair_key(cur.id, sym[next_pos].id));
      if (it == merges.end() || it->second.result != top.result) continue;
      cur.id = top.result;
      sym[next_pos].removed = true;
      cur.next = sym[next_pos].next;
      if (cur.next >= 0) sym[cur.next].prev = top.pos;
      if (cur.prev >= 0) {
        if (const auto m = merges.find(pair_key(sym[cur.prev].id, cur.id)); m != merges.end()) {
          heap.push({m->second.rank, cur.prev, m->second.result});
        }
      }
      if (cur.next >= 0) {
        if (const auto m = merges.find(pair_key(cur.id, sym[cur.next].id)); m != merges.end()) {
          heap.push({m->second.rank, top.pos, m->second.result});
        }
      }
    }
    ids.clear();
    for (int32_t i = 0; i >= 0; i = sym[i].next) ids.push_back(sym[i].id);
  }
};

// ---- added tokens (tokenizers/src/tokenizer/added_vocabulary.rs) ----

struct AddedToken {
  int64_t id;
  std::string content;
  bool single_word, lstrip, rstrip, normalized, special;
};

// A byte trie of patterns, matched leftmost-longest as aho-corasick's MatchKind::LeftmostLongest.
class Trie {
 public:
  void add(std::string_view pattern, int32_t value) {
    if (pattern.empty()) return;  // aho-corasick never reports an empty pattern's match here
    int32_t node = 0;
    for (const char c : pattern) {
      auto& children = nodes_[node].children;
      const auto key = static_cast<unsigned char>(c);
      auto it = std::find_if(children.begin(), children.end(), [&](const auto& e) { return e.first == key; });
      if (it == children.end()) {
        children.emplace_back(key, static_cast<int32_t>(nodes_.size()));
        nodes_.push_back({});
        node = static_cast<int32_t>(nodes_.size()) - 1;
      } else {
        node = it->second;
      }
    }
    if (nodes_[node].value < 0) nodes_[node].value = value;  // the first of equal patterns wins
    first_byte_[static_cast<unsigned char>(pattern[0])] = true;
  }
  bool empty() const { return nodes_.size() == 1; }
  // The longest pattern starting at `at`: (length, value), or length 0.
  std::pair<size_t, int32_t> longest_at(std::string_view s, size_t at) const {
    if (!first_byte_[static_cast<unsigned char>(s[at])]) return {0, -1};
    std::pair<size_t, int32_t> best{0, -1};
    int32_t node = 0;
    for (size_t i = at; i < s.size(); ++i) {
      const auto key = static_cast<unsigned char>(s[i]);
      const auto& children = nodes_[node].children;
      auto it = std::find_if(children.begin(), children.end(), [&](const auto& e) { return e.first == key; });
      if (it == children.end()) break;
      node = it->second;
      if (nodes_[node].value >= 0) best = {i + 1 - at, nodes_[node].value};
    }
    return best;
  }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;
    int32_t value = -1;
  };
  std::vector<Node> nodes_{Node{}};
  std::array<bool, 256> first_byte_{};
};

// ---- reading the file ----

// tokenizer.json as a DOM, except /model/vocab and /model/merges (Llama 3: 128k entries and 280k
// merges, most of the file), which stream straight into vectors: nlohmann's DOM would keep the
// vocabulary as a std::map and take several times longer to build than the tokenizer itself.
struct TokenizerJsonReader {
  using number_integer_t = Json::number_integer_t;
  using number_unsigned_t = Json::number_unsigned_t;
  using number_float_t = Json::number_float_t;
  using string_t = Json::string_t;
  using binary_t = Json::binary_t;

  Json root;
  nlohmann::detail::json_sax_dom_parser<Json> dom{root, false};
  std::vector<std::pair<std::string, int64_t>> vocab;
  struct MergeEntry {
    std::string left, right;  // [left, right], or the whole "left right" line in `left`
    bool line;
  };
  std::vector<MergeEntry> merges;
  bool vocab_seen = false, merges_seen = false;
  std::string error;

  enum class Mode { kDom, kVocab, kMerges, kMergePair } mode = Mode::kDom;
  int depth = 0;          // containers open
  bool in_model = false;  // inside the root's "model" object
  std::string last_key;   // the key of the value that comes next, at any depth
  std::string vocab_key;  // in the vocabulary: the token whose id comes next
  std::vector<std::string> pair;

  bool reject(std::string message) {
    if (error.empty()) error = std::move(message);
    return false;
  }
  bool table_value(std::string_view found) {
    if (mode == Mode::kVocab) return reject(fmt::format("/model/vocab/{}: expected an integer id, found {}", vocab_key, found));
    return reject(fmt::format("/model/merges/{}: expected \"left right\" or [\"left\", \"right\"], found {}",
                              merges.size(), found));
  }

  bool null() { return mode == Mode::kDom ? dom.null() : table_value("null"); }
  bool boolean(bool v) { return mode == Mode::kDom ? dom.boolean(v) : table_value("a boolean"); }
  bool number_integer(number_integer_t v) {
    if (mode == Mode::kVocab) {
      vocab.emplace_back(std::move(vocab_key), v);
      return true;
    }
    return mode == Mode::kDom ? dom.number_integer(v) : table_value("a number");
  }
  bool number_unsigned(number_unsigned_t v) {
    if (mode == Mode::kVocab) {
      if (v > static_cast<number_unsigned_t>(INT64_MAX)) return table_value("a huge number");
      vocab.emplace_back(std::move(vocab_key), static_cast<int64_t>(v));
      return true;
    }
    return mode == Mode::kDom ? dom.number_unsigned(v) : table_value("a number");
  }
  bool number_float(number_float_t v, const string_t& text) {
    return mode == Mode::kDom ? dom.number_float(v, text) : table_value(text);
  }
  bool string(string_t& v) {
    switch (mode) {
      case Mode::kDom: return dom.string(v);
      case Mode::kMerges: merges.push_back({std::move(v), {}, true}); return true;
      case Mode::kMergePair:
        if (pair.size() == 2) return table_value("a third string");
        pair.push_back(std::move(v));
        return true;
      case Mode::kVocab: return table_value("a string");
    }
    return true;
  }
  bool binary(binary_t&) { return reject("binary data"); }
  bool start_object(std::size_t n) {
    ++depth;
    if (mode != Mode::kDom) return table_value("an object");
    if (depth == 2 && last_key == "model") in_model = true;
    if (depth == 3 && in_model && last_key == "vocab") {
      mode = Mode::kVocab;
      vocab_seen = true;
      return true;
    }
    return dom.start_object(n);
  }
  bool key(string_t& k) {
    if (mode == Mode::kVocab) {
      vocab_key = std::move(k);
      return true;
    }
    if (mode != Mode::kDom) return table_value("a key");
    last_key = k;
    return dom.key(k);
  }
  bool end_object() {
    --depth;
    if (mode == Mode::kVocab) {
      mode = Mode::kDom;
      return dom.null();  // the DOM holds null where the vocabulary was
    }
    if (depth == 1) in_model = false;
    return dom.end_object();
  }
  bool start_array(std::size_t n) {
    ++depth;
    if (mode == Mode::kMerges) {
      mode = Mode::kMergePair;
      pair.clear();
      return true;
    }
    if (mode != Mode::kDom) return table_value("an array");
    if (depth == 3 && in_model && last_key == "merges") {
      mode = Mode::kMerges;
      merges_seen = true;
      return true;
    }
    return dom.start_array(n);
  }
  bool end_array() {
    --depth;
    if (mode == Mode::kMergePair) {
      if (pair.size() != 2) return table_value(fmt::format("an array of {} strings", pair.size()));
      merges.push_back({std::move(pair[0]), std::move(pair[1]), false});
      mode = Mode::kMerges;
      return true;
    }
    if (mode == Mode::kMerges) {
      mode = Mode::kDom;
      return dom.null();
    }
    return dom.end_array();
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    return reject(fmt::format("not valid JSON: {}", e.what()));
  }
};

}  // namespace

// ---- the tokenizer ----

struct HfTokenizer::Impl {
  std::string source;
  std::vector<AddedToken> added;  // in the file's order
  Trie raw_trie, normalized_trie;  // values index `added`
  std::vector<Normalizer> normalizers;
  std::vector<PreTokenizerStep> pre_tokenizers;
  Bpe model;
  std::vector<DecoderStep> decoders;
  bool has_decoder = false;
  std::vector<int64_t> prefix, suffix;  // the post-processor's template around $A
  Json description;

  std::vector<std::string> id_to_token;
  std::vector<bool> has_token;
  StringMap<int64_t> added_ids;  // token_id(): these first, then the model's vocabulary

  std::optional<int64_t> find_id(std::string_view token) const {
    if (const auto it = added_ids.find(token); it != added_ids.end()) return it->second;
    if (const auto it = model.vocab.find(token); it != model.vocab.end()) return it->second;
    return std::nullopt;
  }
  std::unordered_set<std::string> special_tokens;
  std::optional<int64_t> bos, eos;

  // find_matches: the text cut into (piece, added-token index or -1), pieces in order.
  template <typename OnPiece>
  void split_added(std::string_view s, const Trie& trie, OnPiece&& on_piece) const {
    if (trie.empty()) {
      if (!s.empty()) on_piece(s, -1, size_t{0});
      return;
    }
    size_t start_offset = 0;
    size_t i = 0;
    while (i < s.size()) {
      const auto [length, index] = trie.longest_at(s, i);
      if (length == 0) {
        ++i;
        continue;
      }
      size_t start = i, stop = i + length;
      const AddedToken& token = added[index];
      if (token.single_word) {
        const bool start_space = start == 0 || !ends_with_word(s.substr(0, start));
        const bool stop_space = stop == s.size() || !starts_with_word(s.substr(stop));
        if (!start_space || !stop_space) {
          // aho-corasick resumes after the discarded match
          i = stop;
          continue;
        }
      }
      if (token.lstrip) start = std::max(start_of_trailing_space(s.substr(0, start)), start_offset);
      if (token.rstrip) stop += end_of_leading_space(s.substr(stop));
      if (start_offset < start) on_piece(s.substr(start_offset, start - start_offset), -1, start_offset);
      on_piece(s.substr(start, stop - start), index, start);
      start_offset = stop;
      i = stop;
    }
    if (start_offset < s.size()) on_piece(s.substr(start_offset), -1, start_offset);
  }

  static bool ends_with_word(std::string_view s) {
    if (s.empty()) return false;
    size_t start = previous_char_start(s, s.size());
    return is_word_char(next_code_point(s, start));
  }
  static bool starts_with_word(std::string_view s) {
    size_t i = 0;
    return !s.empty() && is_word_char(next_code_point(s, i));
  }
  // continues: the text continues another one, so Prepend (which tokenizers applies to every
  // normalized segment) is skipped for this, its first segment.
  void normalize(std::string& s, bool continues = false) const {
    for (const auto& n : normalizers) {
      if (!(continues && n.kind == Normalizer::Kind::kPrepend)) n.apply(s);
    }
  }

  // continues: see Piece::continues; only the text's first segment is affected.
  void encode_plain(std::string_view text, std::vector<int64_t>& out, bool continues = false) const {
    std::vector<Piece> pieces;
    split_added(text, raw_trie, [&](std::string_view segment, int32_t token, size_t segment_start) {
      if (token >= 0) {
        out.push_back(added[token].id);
        return;
      }
      std::string normalized(segment);
      normalize(normalized, continues && segment_start == 0);
      split_added(normalized, normalized_trie, [&](std::string_view sub, int32_t token2, size_t sub_start) {
        if (token2 >= 0) {
          out.push_back(added[token2].id);
          return;
        }
        pieces.clear();
        const bool first = segment_start == 0 && sub_start == 0;
        pieces.push_back({std::string(sub), first && !continues, first && continues});
        for (const auto& step : pre_tokenizers) step.apply(pieces);
        for (const auto& piece : pieces) model.tokenize(piece.text, out);
      });
    });
  }

  // The decoder chain over token strings. raw: no replacement of invalid UTF-8 (ByteLevel keeps
  // the bytes, ByteFallback the bytes of an invalid run). single: one token shown on its own, as
  // if it were not first in a text, without whole-text steps (Strip after Fuse).
  std::string run_decoders(std::vector<std::string> tokens, bool raw, bool single) const {
    if (!has_decoder) {
      std::string joined;
      for (size_t i = 0; i < tokens.size(); ++i) joined += (i ? " " : "") + tokens[i];
      return joined;
    }
    const auto& alphabet = byte_alphabet();
    bool fused = false;
    for (const auto& d : decoders) {
      switch (d.kind) {
        case DecoderStep::Kind::kByteLevel: {
          std::string bytes;
          for (const auto& t : tokens) {
            std::string mapped;
            bool ok = true;
            for (size_t i = 0; i < t.size() && ok;) {
              const auto it = alphabet.to_byte.find(next_code_point(t, i));
              if (it == alphabet.to_byte.end()) {
                ok = false;
              } else {
                mapped += static_cast<char>(it->second);
              }
            }
            bytes += ok ? mapped : t;
          }
          tokens.assign(1, raw ? bytes : replace_invalid_utf8(bytes));
          fused = true;
          break;
        }
        case DecoderStep::Kind::kMetaspace:
          for (size_t i = 0; i < tokens.size(); ++i) {
            const bool first = i == 0 && !single;
            tokens[i] = replace_all(tokens[i], d.replacement, first && d.metaspace_strips_first ? "" : " ");
          }
          break;
        case DecoderStep::Kind::kReplace:
          for (auto& t : tokens) t = d.pattern->replace(t, d.content);
          break;
        case DecoderStep::Kind::kByteFallback: {
          std::vector<std::string> out;
          std::string run;  // the bytes of consecutive byte tokens
          const auto flush = [&] {
            if (run.empty()) return;
            if (raw || !invalid_utf8_offset(run)) {
              out.push_back(run);
            } else {
              for (size_t k = 0; k < run.size(); ++k) out.emplace_back("\xEF\xBF\xBD");  // one per byte
            }
            run.clear();
          };
          for (auto& t : tokens) {
            if (const auto b = byte_token(t)) {
              run += static_cast<char>(*b);
            } else {
              flush();
              out.push_back(std::move(t));
            }
          }
          flush();
          tokens = std::move(out);
          break;
        }
        case DecoderStep::Kind::kFuse: {
          std::string joined;
          for (const auto& t : tokens) joined += t;
          tokens.assign(1, std::move(joined));
          fused = true;
          break;
        }
        case DecoderStep::Kind::kStrip: {
          if (single && fused) break;
          for (auto& t : tokens) {
            std::vector<std::pair<size_t, char32_t>> chars;  // (byte offset, char)
            for (size_t i = 0; i < t.size();) {
              const size_t at = i;
              chars.emplace_back(at, next_code_point(t, i));
            }
            size_t start_cut = 0;
            for (size_t i = 0; i < std::min(d.start, chars.size()); ++i) {
              if (chars[i].second != d.strip_char) break;
              start_cut = i + 1;
            }
            size_t stop_cut = chars.size();
            for (size_t i = 0; i < d.stop && i < chars.size(); ++i) {
              const size_t index = chars.size() - i - 1;
              if (chars[index].second != d.strip_char) break;
              stop_cut = index;
            }
            if (stop_cut < start_cut) stop_cut = start_cut;
            const size_t begin = start_cut < chars.size() ? chars[start_cut].first : t.size();
            const size_t end = stop_cut < chars.size() ? chars[stop_cut].first : t.size();
            t = t.substr(begin, end - begin);
          }
          break;
        }
      }
    }
    std::string joined;
    for (const auto& t : tokens) joined += t;
    return joined;
  }
};

namespace {

// tokenizers' AddedToken in the file: {"id", "content", "single_word", "lstrip", "rstrip",
// "normalized", "special"}.
AddedToken parse_added_token(const Json& j, const Where& w) {
  AddedToken t{};
  t.id = get_int(j, "id", w);
  if (t.id < 0 || t.id > INT32_MAX) fail("{}: id {} is out of range", w.at("id").str(), t.id);
  t.content = get_string(j, "content", w);
  if (t.content.empty()) fail("{}: an added token with empty content", w.at("content").str());
  t.special = get_bool(j, "special", w, false);
  t.single_word = get_bool(j, "single_word", w, false);
  t.lstrip = get_bool(j, "lstrip", w, false);
  t.rstrip = get_bool(j, "rstrip", w, false);
  t.normalized = get_bool(j, "normalized", w, !t.special);
  return t;
}

// The post-processor's ids around $A for a single sequence.
void parse_post_processor(const Json& j, const Where& w, HfTokenizer::Impl& impl) {
  if (j.is_null()) return;
  const std::string type = get_string(j, "type", w);
  auto token_pair = [&](std::string_view key) {
    const Json& v = member(j, key, w);
    if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_number_integer()) {
      fail("{}: expected [\"token\", id]", w.at(key).str());
    }
    return v[1].get<int64_t>();
  };
  if (type == "Sequence") {
    const Json& list = member(j, "processors", w);
    if (!list.is_array()) fail("{}: must be an array", w.at("processors").str());
    for (size_t i = 0; i < list.size(); ++i) parse_post_processor(list[i], w.at("processors").at(i), impl);
  } else if (type == "ByteLevel") {
    // offsets only
  } else if (type == "TemplateProcessing") {
    const Json& single = member(j, "single", w);
    const Json& specials = member(j, "special_tokens", w);
    if (!single.is_array()) fail("{}: must be an array", w.at("single").str());
    std::vector<int64_t> prefix, suffix;
    bool seen_a = false;
    for (size_t i = 0; i < single.size(); ++i) {
      const Where item = w.at("single").at(i);
      const Json& piece = single[i];
      if (piece.is_object() && piece.contains("Sequence")) {
        const std::string id = get_string(piece["Sequence"], "id", item.at("Sequence"));
        if (id != "A" || seen_a) fail("{}: a single-sequence template must hold $A once, found ${}", item.str(), id);
        seen_a = true;
      } else if (piece.is_object() && piece.contains("SpecialToken")) {
        const std::string name = get_string(piece["SpecialToken"], "id", item.at("SpecialToken"));
        const Where sw = w.at("special_tokens").at(name);
        const Json& entry = member(specials, name, w.at("special_tokens"));
        const Json& ids = member(entry, "ids", sw);
        if (!ids.is_array()) fail("{}: must be an array of ids", sw.at("ids").str());
        for (const auto& id : ids) {
          if (!id.is_number_integer()) fail("{}: must be an array of ids", sw.at("ids").str());
          (seen_a ? suffix : prefix).push_back(id.get<int64_t>());
        }
      } else {
        fail("{}: expected {{\"Sequence\": ...}} or {{\"SpecialToken\": ...}}", item.str());
      }
    }
    if (!seen_a) fail("{}: the template has no $A", w.at("single").str());
    impl.prefix.insert(impl.prefix.end(), prefix.begin(), prefix.end());
    impl.suffix.insert(impl.suffix.begin(), suffix.begin(), suffix.end());
  } else if (type == "RobertaProcessing" || type == "BertProcessing") {
    impl.prefix.push_back(token_pair("cls"));
    impl.suffix.insert(impl.suffix.begin(), token_pair("sep"));
  } else {
    unsupported(w, "post-processor", type, "TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence");
  }
}

std::optional<std::string> token_content(const Json& config, std::string_view key) {
  if (!config.is_object()) return std::nullopt;
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
  return std::nullopt;
}

void parse_model(const Json& j, TokenizerJsonReader& tables, const Where& w, Bpe& bpe, Json& description) {
  const std::string type = j.is_object() && j.contains("type") ? get_string(j, "type", w) : "BPE";
  if (type != "BPE") unsupported(w, "model", type, "BPE");
  if (const auto it = j.find("dropout"); it != j.end() && !it->is_null()) {
    if (!it->is_number() || it->get<double>() != 0.0) {
      fail("{}: BPE dropout {} makes tokenization random; editlab needs it null", w.at("dropout").str(), it->dump());
    }
  }
  if (!tables.vocab_seen) {
    member(j, "vocab", w);  // missing: the error names it
    fail("{}: must be an object {{\"token\": id}}", w.at("vocab").str());
  }
  bpe.vocab.reserve(tables.vocab.size());
  for (auto& [token, id] : tables.vocab) {
    if (id < 0 || id > INT32_MAX) {
      fail("{}: token \"{}\" has id {}; expected an integer in 0..{}", w.at("vocab").str(), token, id, INT32_MAX);
    }
    bpe.vocab.insert_or_assign(std::move(token), static_cast<int32_t>(id));  // a repeated key: the last wins
  }
  tables.vocab = {};
  if (const auto it = j.find("unk_token"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) fail("{}: must be a string or null", w.at("unk_token").str());
    bpe.unk_token = it->get<std::string>();
  }
  if (const auto it = j.find("continuing_subword_prefix"); it != j.end() && !it->is_null()) {
    bpe.prefix = get_string(j, "continuing_subword_prefix", w);
  }
  if (const auto it = j.find("end_of_word_suffix"); it != j.end() && !it->is_null()) {
    bpe.suffix = get_string(j, "end_of_word_suffix", w);
  }
  bpe.fuse_unk = get_bool(j, "fuse_unk", w, false);
  bpe.byte_fallback = get_bool(j, "byte_fallback", w, false);
  bpe.ignore_merges = get_bool(j, "ignore_merges", w, false);
  if (bpe.unk_token) {
    const auto it = bpe.vocab.find(*bpe.unk_token);
    if (it == bpe.vocab.end()) fail("{}: unk_token \"{}\" is not in the vocabulary", w.at("unk_token").str(), *bpe.unk_token);
    bpe.unk_id = it->second;
  }
  for (int b = 0; b < 256; ++b) {
    const auto it = bpe.vocab.find(fmt::format("<0x{:02X}>", b));
    bpe.byte_ids[b] = it == bpe.vocab.end() ? -1 : it->second;
  }
  if (!tables.merges_seen) {
    member(j, "merges", w);
    fail("{}: must be an array", w.at("merges").str());
  }
  auto& merges = tables.merges;
  bpe.merges.reserve(merges.size());
  std::string merged;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    auto& m = merges[rank];
    std::string_view left = m.left, right = m.right;
    if (m.line) {
      const size_t space = m.left.find(' ');
      if (space == std::string::npos || m.left.find(' ', space + 1) != std::string::npos) {
        fail("{}: expected \"left right\" (two tokens and one space), found \"{}\"", w.at("merges").at(rank).str(),
             m.left);
      }
      left = std::string_view(m.left).substr(0, space);
      right = std::string_view(m.left).substr(space + 1);
    }
    if (!right.starts_with(bpe.prefix)) {
      fail("{}: \"{}\" does not start with the continuing_subword_prefix", w.at("merges").at(rank).str(), right);
    }
    merged.assign(left);
    merged.append(right.substr(bpe.prefix.size()));
    int32_t ids[3];
    const std::string_view parts[3] = {left, right, merged};
    for (int k = 0; k < 3; ++k) {
      const auto it = bpe.vocab.find(parts[k]);
      if (it == bpe.vocab.end()) {
        fail("{}: \"{}\" is not in the vocabulary (a merge's halves and result must be tokens)",
             w.at("merges").at(rank).str(), parts[k]);
      }
      ids[k] = it->second;
    }
    // A repeated pair keeps the later rank, as tokenizers' HashMap collect does.
    bpe.merges.insert_or_assign(pair_key(ids[0], ids[1]), Bpe::Merge{static_cast<uint32_t>(rank), ids[2]});
  }
  description = {{"type", "BPE"},
                 {"vocab_size", bpe.vocab.size()},
                 {"merges", merges.size()},
                 {"unk_token", bpe.unk_token ? Json(*bpe.unk_token) : Json(nullptr)},
                 {"byte_fallback", bpe.byte_fallback},
                 {"fuse_unk", bpe.fuse_unk},
                 {"ignore_merges", bpe.ignore_merges},
                 {"continuing_subword_prefix", bpe.prefix},
                 {"end_of_word_suffix", bpe.suffix}};
  tables.merges = {};
}


// The Hugging Face classes whose constructor rebuilds the template from add_bos_token /
// add_eos_token (transformers 4.47: update_post_processor), with their defaults.
struct TemplateClass {
  std::string_view name;
  bool add_bos, add_eos;
};
constexpr TemplateClass kTemplateClasses[] = {
    {"LlamaTokenizer", true, false},    {"LlamaTokenizerFast", true, false},  {"CodeLlamaTokenizer", true, false},
    {"CodeLlamaTokenizerFast", true, false}, {"GemmaTokenizer", true, false}, {"GemmaTokenizerFast", true, false},
    {"GPTNeoXTokenizer", false, false}, {"GPTNeoXTokenizerFast", false, false}};

}  // namespace

HfTokenizer::HfTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HfTokenizer::~HfTokenizer() = default;

std::shared_ptr<const HfTokenizer> HfTokenizer::load(const std::filesystem::path& tokenizer_json, const Json& config,
                                                     const std::string& config_source) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(tokenizer_json, ec)) fail("{}: cannot open the tokenizer.json", tokenizer_json.string());
  std::ifstream in(tokenizer_json, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (!in.good() && !in.eof()) fail("{}: cannot read the tokenizer.json (I/O error)", tokenizer_json.string());
  return parse(buffer.str(), tokenizer_json.string(), config, config_source);
}

std::shared_ptr<const HfTokenizer> HfTokenizer::parse(std::string_view text, const std::string& source,
                                                      const Json& config, const std::string& config_source) {
  check_json_limits(text, source);
  TokenizerJsonReader reader;
  const bool parsed = Json::sax_parse(text, &reader);
  if (!parsed || !reader.error.empty()) {
    fail("{}: {}", source, reader.error.empty() ? "not valid JSON (the tokenizer.json)" : reader.error);
  }
  Json& j = reader.root;
  if (!j.is_object()) fail("{}: expected a JSON object (a Hugging Face tokenizer.json)", source);
  auto impl = std::make_unique<Impl>();
  impl->source = source;
  const Where root{impl->source, ""};

  if (const auto it = j.find("model"); it == j.end()) fail("{}: missing \"model\"", root.str());
  Json model_description;
  parse_model(j["model"], reader, root.at("model"), impl->model, model_description);
  parse_normalizer(j.value("normalizer", Json()), root.at("normalizer"), impl->normalizers);
  parse_pre_tokenizer(j.value("pre_tokenizer", Json()), root.at("pre_tokenizer"), impl->pre_tokenizers);
  const Json decoder = j.value("decoder", Json());
  parse_decoder(decoder, root.at("decoder"), impl->decoders);
  impl->has_decoder = !decoder.is_null();
  Json post = j.value("post_processor", Json());

  // Added tokens get their ids as tokenizers' AddedVocabulary::add_tokens gives them when it reads
  // the file (the "id" written there is only checked, with a warning, by tokenizers): a token the
  // model's vocabulary holds takes that id, a repeated content keeps its first id, and any other
  // takes the next id after the vocabulary and the added tokens so far.
  const Json added = j.value("added_tokens", Json::array());
  if (!added.is_array()) fail("{}: must be an array", root.at("added_tokens").str());
  const auto model_size = static_cast<int64_t>(impl->model.vocab.size());
  StringMap<int64_t> added_ids;
  std::unordered_map<int64_t, size_t> added_by_id;  // id -> index in impl->added
  std::optional<int64_t> max_added;
  std::vector<AddedToken> specials, others;  // the tries' order: special tokens first
  for (size_t i = 0; i < added.size(); ++i) {
    AddedToken t = parse_added_token(added[i], root.at("added_tokens").at(i));
    const bool duplicate = std::any_of(impl->added.begin(), impl->added.end(), [&](const AddedToken& o) {
      return o.content == t.content && o.special == t.special && o.single_word == t.single_word &&
             o.lstrip == t.lstrip && o.rstrip == t.rstrip && o.normalized == t.normalized;
    });
    if (duplicate) continue;
    if (const auto it = added_ids.find(t.content); it != added_ids.end()) {
      t.id = it->second;
    } else if (const auto v = impl->model.vocab.find(t.content); v != impl->model.vocab.end()) {
      t.id = v->second;
    } else {
      t.id = !max_added ? model_size : *max_added >= model_size ? *max_added + 1 : model_size;
    }
    added_ids[t.content] = t.id;
    max_added = std::max(max_added.value_or(t.id), t.id);
    if (t.special && std::none_of(specials.begin(), specials.end(), [&](const AddedToken& o) { return o.content == t.content; })) {
      specials.push_back(t);
    } else if (std::none_of(specials.begin(), specials.end(), [&](const AddedToken& o) { return o.content == t.content; })) {
      others.push_back(t);
    }
    added_by_id[t.id] = impl->added.size();
    impl->added.push_back(t);
  }
  int64_t size = 0;
  for (const auto& [token, id] : impl->model.vocab) size = std::max<int64_t>(size, id + 1);
  for (const auto& t : impl->added) size = std::max(size, t.id + 1);
  // Ids index a dense table here (and a model's embedding rows): a few unused ids are fine, a
  // vocabulary of 10 tokens with id 2,000,000,000 is not a tokenizer.
  const auto tokens = static_cast<int64_t>(impl->model.vocab.size() + impl->added.size());
  if (size > tokens + (int64_t{1} << 20)) {
    fail("{}: the largest id is {} for {} tokens; editlab needs ids that are nearly dense (at most 2^20 unused)",
         root.str(), size - 1, tokens);
  }
  impl->id_to_token.assign(size, {});
  impl->has_token.assign(size, false);
  for (const auto& [token, id] : impl->model.vocab) {
    impl->id_to_token[id] = token;
    impl->has_token[id] = true;
  }
  for (const auto& [id, index] : added_by_id) {
    impl->id_to_token[id] = impl->added[index].content;  // the added vocabulary's token wins
    impl->has_token[id] = true;
  }
  for (const auto& t : impl->added) {
    impl->added_ids.insert_or_assign(t.content, t.id);
    if (t.special) impl->special_tokens.insert(t.content);
  }
  impl->added.clear();
  for (auto* list : {&specials, &others}) {
    for (const auto& t : *list) {
      const auto index = static_cast<int32_t>(impl->added.size());
      impl->added.push_back(t);
      if (t.normalized) {
        std::string pattern = t.content;
        impl->normalize(pattern);
        impl->normalized_trie.add(pattern, index);
      } else {
        impl->raw_trie.add(t.content, index);
      }
    }
  }

  // tokenizer_config.json: BOS / EOS, and the template that some classes rebuild.
  const auto lookup = [&](std::string_view key) -> std::optional<int64_t> {
    const auto content = token_content(config, key);
    if (!content) return std::nullopt;
    const auto id = impl->find_id(*content);
    if (!id) {
      fail("{}: {} \"{}\" is not a token of {}", config_source, key, *content, source);
    }
    return id;
  };
  impl->bos = lookup("bos_token");
  impl->eos = lookup("eos_token");
  const std::string tokenizer_class =
      config.is_object() && config.contains("tokenizer_class") && config["tokenizer_class"].is_string()
          ? config["tokenizer_class"].get<std::string>()
          : "";
  std::string template_source = "post_processor";
  for (const auto& c : kTemplateClasses) {
    if (tokenizer_class != c.name) continue;
    const Where cw{config_source, ""};
    const bool add_bos = get_bool(config, "add_bos_token", cw, c.add_bos);
    const bool add_eos = get_bool(config, "add_eos_token", cw, c.add_eos);
    if (add_bos && !impl->bos) fail("{}: add_bos_token is true but there is no bos_token", config_source);
    if (add_eos && !impl->eos) fail("{}: add_eos_token is true but there is no eos_token", config_source);
    post = Json();
    if (add_bos) impl->prefix.push_back(*impl->bos);
    if (add_eos) impl->suffix.push_back(*impl->eos);
    template_source = fmt::format("{} (add_bos_token {}, add_eos_token {}), as transformers' {} rebuilds it",
                                  config_source, add_bos, add_eos, tokenizer_class);
  }
  parse_post_processor(post, root.at("post_processor"), *impl);
  for (const auto id : impl->prefix) {
    if (id < 0 || id >= size || !impl->has_token[id]) fail("{}: the template's id {} is not a token", source, id);
  }
  for (const auto id : impl->suffix) {
    if (id < 0 || id >= size || !impl->has_token[id]) fail("{}: the template's id {} is not a token", source, id);
  }

  Json added_description = Json::array();
  for (const auto& t : impl->added) {
    added_description.push_back({{"id", t.id}, {"content", t.content}, {"special", t.special},
                                 {"normalized", t.normalized}, {"single_word", t.single_word},
                                 {"lstrip", t.lstrip}, {"rstrip", t.rstrip}});
  }
  auto ids_to_tokens = [&](const std::vector<int64_t>& ids) {
    Json out = Json::array();
    for (const auto id : ids) out.push_back(impl->id_to_token[id]);
    return out;
  };
  impl->description = {{"file", source},
                       {"normalizer", j.value("normalizer", Json())},
                       {"pre_tokenizer", j.value("pre_tokenizer", Json())},
                       {"model", model_description},
                       {"post_processor", j.value("post_processor", Json())},
                       {"template", {{"prefix", ids_to_tokens(impl->prefix)},
                                     {"suffix", ids_to_tokens(impl->suffix)},
                                     {"from", template_source}}},
                       {"decoder", decoder},
                       {"added_tokens", added_description.size()},
                       {"special_tokens", impl->special_tokens.size()}};
  return std::shared_ptr<const HfTokenizer>(new HfTokenizer(std::move(impl)));
}

void HfTokenizer::encode(std::string_view utf8, EncodeMode mode, std::vector<int64_t>& out) const {
  if (const auto bad = invalid_utf8_offset(utf8)) {
    fail("cannot tokenize: the text is not valid UTF-8 at byte offset {}; decode or clean the input before encoding",
         *bad);
  }
  if (mode == EncodeMode::kSpecial || mode == EncodeMode::kPrompt) {
    out.insert(out.end(), impl_->prefix.begin(), impl_->prefix.end());
  }
  impl_->encode_plain(utf8, out, mode == EncodeMode::kContinuation);
  if (mode == EncodeMode::kSpecial) out.insert(out.end(), impl_->suffix.begin(), impl_->suffix.end());
}

std::string HfTokenizer::decode(std::span<const int64_t> ids, bool skip_special_tokens, bool text) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const int64_t id = ids[i];
    if (id < 0) fail("decode: token id {} at position {} is negative", id, i);
    // tokenizers' decode drops ids it has no token for (a model's vocabulary may be larger).
    const std::string* t = token(id);
    if (t == nullptr) continue;
    if (skip_special_tokens && impl_->special_tokens.contains(*t)) continue;
    tokens.push_back(*t);
  }
  return impl_->run_decoders(std::move(tokens), !text, false);
}

std::vector<std::string> HfTokenizer::pre_tokenize(const nlohmann::json& pre_tokenizer, std::string_view text) {
  static const std::string source = "pre_tokenizer";
  std::vector<PreTokenizerStep> steps;
  parse_pre_tokenizer(pre_tokenizer, Where{source, ""}, steps);
  std::vector<Piece> pieces;
  if (!text.empty()) pieces.push_back({std::string(text), true});
  for (const auto& step : steps) step.apply(pieces);
  std::vector<std::string> out;
  for (auto& p : pieces) out.push_back(std::move(p.text));
  return out;
}

int64_t HfTokenizer::vocab_size() const { return static_cast<int64_t>(impl_->id_to_token.size()); }

const std::string* HfTokenizer::token(int64_t id) const {
  if (id < 0 || id >= vocab_size() || !impl_->has_token[id]) return nullptr;
  return &impl_->id_to_token[id];
}

std::optional<int64_t> HfTokenizer::token_id(std::string_view t) const {
  return impl_->find_id(t);
}

std::string HfTokenizer::token_bytes(int64_t id) const {
  const std::string* t = token(id);
  if (t == nullptr) return {};
  return impl_->run_decoders({*t}, true, true);
}

bool HfTokenizer::is_special(int64_t id) const {
  const std::string* t = token(id);
  return t != nullptr && impl_->special_tokens.contains(*t);
}

std::optional<int64_t> HfTokenizer::bos_id() const { return impl_->bos; }
std::optional<int64_t> HfTokenizer::eos_id() const { return impl_->eos; }
nlohmann::json HfTokenizer::describe() const { return impl_->description; }

}  // namespace editlab::detail
