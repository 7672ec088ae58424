// Content hashes as text: "xxh3-128:<32 hex digits>" (the model fingerprint's format).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace editlab {

std::string hash_bytes(const void* data, size_t size);
inline std::string hash_bytes(std::string_view text) { return hash_bytes(text.data(), text.size()); }
// The hash of a file's contents, read in 1 MiB chunks.
std::string hash_file(const std::filesystem::path& path);

}  // namespace editlab
