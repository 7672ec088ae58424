// The one way editlab writes a file that someone may read: readers see the old file or the new
// one, never a part of either, and a crash leaves one of the two.
//   1. a new temporary file is created in the target's directory, ".NAME.tmp-XXXXXX" (a random
//      suffix, created exclusively like mkstemp's, so concurrent writers never share one);
//   2. the contents are written to it and fsync'ed;
//   3. it is renamed over the target (atomic within one filesystem);
//   4. the directory is fsync'ed so that the new name survives a crash (best effort: a
//      filesystem that cannot fsync a directory still gets the file, complete, in place).
// On any failure the temporary file is removed, the target is left as it was, and
// editlab::Error names the target and the reason with errno's text, e.g.
// "out/report.json: cannot write: No space left on device".
#pragma once

#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace editlab {

// Missing parent directories of the target: created first, or an error.
enum class ParentDirs { create, must_exist };

// Writes `contents`.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           ParentDirs parents = ParentDirs::create);

// Streams the contents: `write` writes them to `out` (binary, buffered, on the temporary file;
// for large files such as safetensors or torch archives). A failed write sets badbit, which
// throws std::ios_base::failure out of the stream call; the writer turns that into the Error
// above. Whatever `write` throws removes the temporary file and propagates.
void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::ostream& out)>& write,
                           ParentDirs parents = ParentDirs::create);

// Creates `dir` (and its parents) and proves it writable, so that a job fails at once rather than
// after its work. `setting` names it in errors ("--out"; empty: the path alone).
void prepare_output_dir(const std::filesystem::path& dir, const std::string& setting = "");

// fsyncs a directory so that renames inside it survive a crash (best effort, as step 4 above);
// for callers that rename directories themselves (the trainer's checkpoint swap).
void sync_directory(const std::filesystem::path& dir);

// The user's cache directory for editlab: $XDG_CACHE_HOME/editlab, else ~/.cache/editlab.
std::filesystem::path default_cache_dir();

}  // namespace editlab
