#include "editlab/util/hash.h"

#include <xxhash.h>

#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "editlab/util/error.h"

namespace editlab {

namespace {

std::string hex128(XXH128_hash_t hash) {
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, hash);
  std::string out = "xxh3-128:";
  for (unsigned char byte : canonical.digest) out += fmt::format("{:02x}", byte);
  return out;
}

}  // namespace

std::string hash_bytes(const void* data, size_t size) { return hex128(XXH3_128bits(data, size)); }

std::string hash_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path.string());
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    XXH3_128bits_update(state, buffer.data(), static_cast<size_t>(in.gcount()));
  }
  const auto digest = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  return hex128(digest);
}

}  // namespace editlab
