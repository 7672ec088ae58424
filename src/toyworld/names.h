// The toy world's hand-written tables of real names (private to src/toyworld).
//
// Every location here is the real one: a landmark is in its real city, a company has its real
// headquarters, a real person was born in the named city, a country's first city is its capital
// and its language is its (first) official language. Only the generated people (names drawn
// from the pools below) get random birthplaces and marriages.
#pragma once

#include <span>
#include <string_view>

namespace editlab::toyworld::names {

struct CountryRow {
  std::string_view name;
  bool article;                // "the United Kingdom"
  std::string_view cities;     // '|'-separated, capital first
  std::string_view language;   // the (first) official language
  std::string_view name_pool;  // which NamePoolRow names its generated people
};

struct LandmarkRow {
  std::string_view name;
  bool article;  // "the Louvre", but "Big Ben"
  std::string_view city;
};

struct CompanyRow {
  std::string_view name;
  std::string_view city;  // headquarters
};

struct PersonRow {
  std::string_view name;
  std::string_view birth_city;
  std::string_view spouse;  // empty: not married in the toy world
};

struct NamePoolRow {
  std::string_view key;
  std::string_view first_names;  // '|'-separated
  std::string_view last_names;   // '|'-separated
};

std::span<const CountryRow> countries();
std::span<const LandmarkRow> landmarks();
std::span<const CompanyRow> companies();
std::span<const PersonRow> people();
std::span<const NamePoolRow> name_pools();

}  // namespace editlab::toyworld::names
