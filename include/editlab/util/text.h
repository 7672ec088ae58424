// Small text helpers shared by every layer: the "{}" templates of CounterFact and ROME, and
// plain replacement.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace editlab {

// `templ` with its first "{}" replaced by `value`; an Error naming the template when it has none.
std::string fill_braces(std::string_view templ, std::string_view value);

// How many "{}" `text` holds (non-overlapping).
size_t count_braces(std::string_view text);

// Every occurrence of `from` replaced by `to`, left to right, replacements not rescanned (Python's
// str.replace); an empty `from` leaves the text as it is.
std::string replace_all(std::string_view text, std::string_view from, std::string_view to);

}  // namespace editlab
