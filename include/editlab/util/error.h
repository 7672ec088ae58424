// editlab's one exception type. The library throws it for every input or runtime error with a
// message that names the file / field, what was expected and what was found; `main` catches it
// once, prints one line on stderr and exits non-zero (see src/cli/main.cpp).
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace editlab {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace editlab
