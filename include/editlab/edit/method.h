// The edit methods, one list for the edit layer, the experiment config, the reports and the CLI.
// A method's name is what configs, reports and `--method` spell ("rome", "r-rome", "memit", "emmet",
// "alphaedit", "rome-patch", "ike", "ft", "ft-l").
#pragma once

#include <array>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace editlab {

enum class EditMethod {
  rome,    // ROME's rank-one update of one MLP output weight (docs/algorithms.md "ROME")
  r_rome,  // r-ROME: ROME with v's key and output averaged over the context templates
  memit,      // MEMIT: a batch of edits spread over several layers' MLP output weights (docs/algorithms.md)
  emmet,      // EMMET: MEMIT's targets and keys, the equality-constrained batch update
  alphaedit,  // AlphaEdit: MEMIT's targets and keys, the update projected on C's null space
  rome_patch,  // ROME's delta added at inference at the subject's tokens, no weight change (inference_edit.h)
  ike,         // in-context knowledge editing: demonstrations and the new fact before every prompt
  ft,    // fine-tuning of the MLP output weights of hparams.layers, unconstrained
  ft_l,  // the same, each weight clamped into an L-infinity ball around its original value
};

inline constexpr std::array<EditMethod, 9> kEditMethods = {
    EditMethod::rome,       EditMethod::r_rome, EditMethod::memit, EditMethod::emmet, EditMethod::alphaedit,
    EditMethod::rome_patch, EditMethod::ike,    EditMethod::ft,    EditMethod::ft_l};

constexpr std::string_view method_name(EditMethod m) {
  switch (m) {
    case EditMethod::rome:
      return "rome";
    case EditMethod::r_rome:
      return "r-rome";
    case EditMethod::memit:
      return "memit";
    case EditMethod::emmet:
      return "emmet";
    case EditMethod::alphaedit:
      return "alphaedit";
    case EditMethod::rome_patch:
      return "rome-patch";
    case EditMethod::ike:
      return "ike";
    case EditMethod::ft:
      return "ft";
    case EditMethod::ft_l:
      return "ft-l";
  }
  return "?";
}

constexpr std::optional<EditMethod> parse_edit_method(std::string_view name) {
  for (const auto m : kEditMethods) {
    if (method_name(m) == name) return m;
  }
  return std::nullopt;
}

// The methods that edit a batch of requests at once (one solve over all of their keys).
constexpr bool is_batch_method(EditMethod m) {
  return m == EditMethod::memit || m == EditMethod::emmet || m == EditMethod::alphaedit;
}

inline std::ostream& operator<<(std::ostream& out, EditMethod m) { return out << method_name(m); }

// {"rome", "r-rome", "memit", "emmet", "alphaedit", "rome-patch", "ike", "ft", "ft-l"}: for CLI choices and error messages.
inline std::vector<std::string> edit_method_names() {
  std::vector<std::string> out;
  for (const auto m : kEditMethods) out.emplace_back(method_name(m));
  return out;
}

}  // namespace editlab
