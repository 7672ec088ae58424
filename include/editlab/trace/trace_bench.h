// `editlab bench`'s causal-tracing figures: seconds to trace one prompt with all three kinds
// (10 draws) on the shipped toy-world model and on a GPT-2-small-shaped random model.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace editlab {

// `toy_model_dir` may be empty or missing: that figure is then skipped (null).
nlohmann::json run_trace_bench(const std::filesystem::path& toy_model_dir, const std::filesystem::path& tokenizer_dir,
                               const std::function<void(const std::string&)>& progress);

}  // namespace editlab
