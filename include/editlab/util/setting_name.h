// How a library error names a setting. The library knows its options by their field names
// ("block_size", "stats_corpus"); its callers spell them differently (the CLI: "--block-size";
// an experiment config: "\"rome\": {\"stats_corpus\": ...}"). An options struct carries a
// SettingName from its caller, so an error speaks the user's language without the library
// knowing any front end.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace editlab {

using SettingName = std::function<std::string(std::string_view field)>;

// The name by `names`, or the field's own name when the caller gave none.
inline std::string setting_name(const SettingName& names, std::string_view field) {
  return names ? names(field) : std::string(field);
}

}  // namespace editlab
