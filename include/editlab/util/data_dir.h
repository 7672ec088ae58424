// Where the data editlab ships with lives (data/ of the source tree it was built from:
// gpt2-tokenizer/, toy-world/). The path is compiled into one .cpp (not into any header), so a
// program linking editlab::core gets no editlab macros; an installed library still points there.
#pragma once

#include <filesystem>

namespace editlab {

std::filesystem::path data_dir();

}  // namespace editlab
