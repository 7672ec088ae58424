// Writing a file so that readers never see half of it: a temp file in the same directory,
// flushed, then renamed over the target.
#pragma once

#include <filesystem>
#include <string_view>

namespace editlab {

void write_file_atomically(const std::filesystem::path& path, std::string_view contents);

// The user's cache directory for editlab: $XDG_CACHE_HOME/editlab, else ~/.cache/editlab.
std::filesystem::path default_cache_dir();

}  // namespace editlab
