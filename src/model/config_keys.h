// Reading one key of a model's config.json with its type checked, shared by GPT2Config
// (config.cpp) and ModelConfig (model_config.cpp). Private to src/model.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "editlab/util/error.h"

namespace editlab::detail {

// Sets `out` and returns true when `key` is present and not null; false (out untouched) when it
// is absent or null. The value's type is checked before get<T>: nlohmann converts any number to
// any number type, and a float out of int64's range (1e300) converted to int64 is undefined
// behaviour; 768.0, a whole number within int64's range, is read as 768.
template <typename T>
inline bool read_key(const nlohmann::json& j, const char* key, T& out, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return false;
  bool ok = false;
  if constexpr (std::is_same_v<T, bool>) {
    ok = it->is_boolean();
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (it->is_number_float()) {
      const double x = it->template get<double>();
      if (std::trunc(x) == x && x >= -0x1p63 && x < 0x1p63) {
        out = static_cast<int64_t>(x);
        return true;
      }
    }
    ok = it->is_number_integer() &&
         !(it->is_number_unsigned() && it->template get<uint64_t>() > static_cast<uint64_t>(INT64_MAX));
  } else if constexpr (std::is_same_v<T, double>) {
    ok = it->is_number();
  } else {
    static_assert(std::is_same_v<T, std::string>);
    ok = it->is_string();
  }
  if (!ok) fail("{}: key \"{}\" has the wrong type (found {})", source, key, it->dump());
  out = it->get<T>();
  return true;
}

}  // namespace editlab::detail
