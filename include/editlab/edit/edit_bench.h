// Edit speed figures for `editlab bench`, measured on a GPT-2-small-shaped model with random
// weights (GPT-2's tokenizer): seconds per ROME edit (20 v steps, layer 5) and per FT edit
// (25 steps), the v-optimisation speedup from re-running only layers L..N instead of the full
// depth, and the statistics throughput (tokens/s) with the forward pass stopped after layer L
// against a full pass.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace editlab {

nlohmann::json run_edit_bench(const std::filesystem::path& tokenizer_dir, int repeats,
                              const std::function<void(const std::string&)>& progress);

}  // namespace editlab
