// editlab merge: the shards of one run give the unsharded report (records, summary, aggregates);
// every way shards can fail to be one run is a clear error naming the file.
#include "catch_torch.h"
#include <fmt/ranges.h>  // fmt::join (its home since fmt 11)

#include <fstream>

#include "editlab/report/merge.h"
#include "editlab/report/report.h"
#include "support.h"
#include "synthetic_report.h"

using namespace editlab;
using Catch::Contains;
using test::make_report;
using test::ojson;

namespace {

const auto records = test::four_records();

// Shard 1 covers indices 0 and 2, shard 2 covers 1 and 3.
ojson shard1() { return make_report(records, {0, 2}, std::pair(1, 2), "rome", 10.0); }
ojson shard2() { return make_report(records, {1, 3}, std::pair(2, 2), "rome", 20.0); }

ojson merge(std::vector<std::pair<std::string, ojson>> inputs) {
  std::vector<report::ShardReport> shards;
  for (auto& [name, r] : inputs) shards.push_back({name, std::move(r)});
  return report::merge_shards(shards);
}

void require_merge_error(std::vector<std::pair<std::string, ojson>> inputs, const std::string& needle) {
  REQUIRE_THROWS_WITH(merge(std::move(inputs)), Contains(needle));
}

}  // namespace

TEST_CASE("merged shards: records sorted, hand-computed means, aggregates of all records", "[merge]") {
  const ojson merged = merge({{"b.json", shard2()}, {"a.json", shard1()}});  // any order
  REQUIRE(merged["shard"].is_null());
  REQUIRE_FALSE(merged["config"].contains("shard"));
  REQUIRE(merged["complete"] == true);
  REQUIRE(merged["selection"]["total"] == 4);
  REQUIRE(merged["selection"]["indices"] == ojson({0, 1, 2, 3}));
  REQUIRE(merged["summary"] == ojson({{"records", 4}, {"ok", 3}, {"failed", 1}}));
  std::vector<int64_t> order;
  for (const auto& r : merged["records"]) order.push_back(r["index"].get<int64_t>());
  REQUIRE(order == std::vector<int64_t>{0, 1, 2, 3});

  const auto& a = merged["aggregates"];
  REQUIRE(a["efficacy/success"]["mean"].get<double>() == Approx(2.0 / 3));
  REQUIRE(a["efficacy/success"]["records"] == 3);
  REQUIRE(a["specificity/NS"]["mean"].get<double>() == Approx(0.75));
  REQUIRE(a["specificity/NS"]["values"] == 7);
  REQUIRE(a["specificity_plus/NS+"]["mean"].get<double>() == Approx(0.25));
  REQUIRE(a["specificity_plus/NS+"]["records"] == 2);

  // Exactly what report::aggregate gives over all records, and what an unsharded run reports.
  const std::vector<nlohmann::json> all(records.begin(), records.end());
  REQUIRE(a.dump() == report::aggregate(all, test::test_bootstrap()).dump());
  const ojson unsharded = make_report(records, {0, 1, 2, 3}, std::nullopt);
  for (const char* field : {"schema", "run_id", "config", "model", "hparams", "dataset", "selection", "shard",
                            "bootstrap", "summary", "aggregates", "records", "complete"}) {
    INFO(field);
    REQUIRE(merged[field].dump() == unsharded[field].dump());
  }
  // Key order as the shards have it.
  std::vector<std::string> keys_m, keys_u;
  for (const auto& [k, v] : merged.items()) keys_m.push_back(k);
  for (const auto& [k, v] : unsharded.items()) keys_u.push_back(k);
  REQUIRE(keys_m == keys_u);
}

TEST_CASE("merged timings: durations summed, wall the longest shard, wall_sum all", "[merge]") {
  const ojson t = merge({{"a.json", shard1()}, {"b.json", shard2()}})["timings"];
  REQUIRE(t["wall"].get<double>() == 20.0);
  REQUIRE(t["wall_sum"].get<double>() == 30.0);
  REQUIRE(t["edit"].get<double>() == 4.0);  // 1 s per record
  REQUIRE(t["probe"].get<double>() == 8.0);
  REQUIRE(t["other"].get<double>() == 1.0);  // 0.5 per shard
  REQUIRE(t["model"].get<double>() == 10.0);
  REQUIRE(t["model_share"].get<double>() == Approx(10.0 / 30));
  REQUIRE(t["records_per_second"].get<double>() == Approx(4.0 / 30));
}

TEST_CASE("merged timings with a run's loop time: rates per loop second", "[merge]") {
  ojson s1 = shard1(), s2 = shard2();
  s1["timings"]["loop"] = 8.0;
  s2["timings"]["loop"] = 16.0;
  s1["timings"]["records_processed"] = 2;
  s2["timings"]["records_processed"] = 1;  // one record was resumed from the journal
  const ojson t = merge({{"a.json", s1}, {"b.json", s2}})["timings"];
  REQUIRE(t["loop"].get<double>() == 24.0);
  REQUIRE(t["records_processed"] == 3);
  REQUIRE(t["records_processed"].is_number_integer());
  REQUIRE(t["model_share"].get<double>() == Approx(10.0 / 24));
  REQUIRE(t["records_per_second"].get<double>() == Approx(3.0 / 24));
}

TEST_CASE("a NaN value (null in JSON) merges as the run aggregated it in memory", "[merge]") {
  auto with_nan = test::four_records();
  with_nan[1]["metrics"]["specificity/NS"] = {0.5, std::nan("")};
  ojson s1 = make_report(with_nan, {0, 2}, std::pair(1, 2));
  ojson s2 = make_report(with_nan, {1, 3}, std::pair(2, 2));
  const ojson unsharded = make_report(with_nan, {0, 1, 2, 3}, std::nullopt);  // in memory: NaN
  const ojson merged = merge({{"a.json", ojson::parse(s1.dump())}, {"b.json", ojson::parse(s2.dump())}});
  REQUIRE(merged["aggregates"].dump() == unsharded["aggregates"].dump());
  REQUIRE(std::isnan(merged["aggregates"]["specificity/NS"]["mean"].get<double>()));  // null once written
  REQUIRE(merged["aggregates"]["efficacy/success"]["mean"].get<double>() == Approx(2.0 / 3));
}

TEST_CASE("merged complete only when every shard is", "[merge]") {
  ojson s2 = shard2();
  s2["complete"] = false;
  REQUIRE(merge({{"a.json", shard1()}, {"b.json", s2}})["complete"] == false);
}

TEST_CASE("shards that are not one run's are errors naming the files", "[merge]") {
  SECTION("a missing shard") { require_merge_error({{"a.json", shard1()}}, "shard 2 of 2 missing"); }
  SECTION("no shards") { REQUIRE_THROWS_WITH(report::merge_shards({}), Contains("no shard reports")); }
  SECTION("a shard given twice") {
    require_merge_error({{"a.json", shard1()}, {"b.json", shard2()}, {"c.json", shard1()}},
                        "a.json and c.json: both are shard 1 of 2");
  }
  SECTION("different shard counts") {
    ojson s2 = make_report(records, {1, 3}, std::pair(2, 3));
    s2["run_id"] = shard1()["run_id"];
    require_merge_error({{"a.json", shard1()}, {"b.json", s2}}, "shard count differs");
  }
  SECTION("different runs") {
    ojson s2 = shard2();
    s2["run_id"] = "another";
    require_merge_error({{"a.json", shard1()}, {"b.json", s2}}, "a.json and b.json: not shards of one run: run_id");
  }
  SECTION("different datasets") {
    ojson s2 = shard2();
    s2["dataset"]["hash"] = "xxh3-128:000";
    require_merge_error({{"a.json", shard1()}, {"b.json", s2}}, "dataset hash differs");
  }
  SECTION("different models") {
    ojson s2 = shard2();
    s2["model"]["fingerprint"] = "xxh3-128:000";
    require_merge_error({{"a.json", shard1()}, {"b.json", s2}}, "model fingerprint differs");
  }
  SECTION("different bootstrap settings") {
    ojson s2 = shard2();
    s2["bootstrap"]["resamples"] = 10;
    require_merge_error({{"a.json", shard1()}, {"b.json", s2}}, "bootstrap settings differs");
  }
  SECTION("different schema") {
    ojson s2 = shard2();
    s2["schema"] = "editlab.report/0";
    require_merge_error({{"a.json", shard1()}, {"b.json", s2}}, "b.json: report schema");
  }
  SECTION("an unsharded report") {
    require_merge_error({{"a.json", make_report(records, {0, 1, 2, 3}, std::nullopt)}}, "a.json: not a shard report");
  }
  SECTION("a shard index outside 1..N") {
    ojson s = shard1();
    s["shard"]["index"] = 3;
    require_merge_error({{"a.json", s}, {"b.json", shard2()}}, "a.json: \"shard\" index 3 is not within 1..2");
  }
  SECTION("an incomplete shard") {
    ojson s2 = shard2();
    s2["records"].erase(1);  // index 3's result
    require_merge_error({{"a.json", shard1()}, {"b.json", s2}},
                        "b.json: incomplete shard: 1 of its 2 selected records have no result (first: 3)");
  }
  SECTION("a record outside the shard's selection") {
    ojson s2 = shard2();
    s2["records"].push_back(test::ok_record(5, {{"efficacy/success", {1}}}));
    require_merge_error({{"a.json", shard1()}, {"b.json", s2}}, "b.json: record 5 is not in the shard's selection");
  }
  SECTION("a record twice in one shard") {
    ojson s2 = shard2();
    s2["records"].push_back(s2["records"][0]);
    require_merge_error({{"a.json", shard1()}, {"b.json", s2}}, "b.json: record 1 appears twice");
  }
  SECTION("overlapping shards") {
    ojson s2 = make_report(records, {0, 1, 3}, std::pair(2, 2));
    s2["selection"]["total"] = 4;
    require_merge_error({{"a.json", shard1()}, {"b.json", s2}},
                        "a.json and b.json: overlapping shards: both cover dataset index 0");
  }
  SECTION("shards that do not cover the run's selection") {
    ojson s1 = make_report(records, {0}, std::pair(1, 2));
    require_merge_error({{"a.json", s1}, {"b.json", shard2()}}, "the shards cover 3 records but the run selects 4");
  }
}

TEST_CASE("merge_shard_files writes the merged report atomically and reads back", "[merge]") {
  test::TempDir tmp;
  std::ofstream(tmp / "s1.json") << shard1().dump(2);
  std::ofstream(tmp / "s2.json") << shard2().dump(2);
  const auto merged = report::merge_shard_files({tmp / "s1.json", tmp / "s2.json"}, tmp / "out" / "report.json");
  const auto loaded = report::load_report(tmp / "out" / "report.json");
  REQUIRE(loaded == merged);
  REQUIRE_FALSE(loaded["config"].contains("out"));  // the synthetic config has none
  ojson with_out = shard1();
  with_out["config"]["out"] = "run/shard-1";
  std::ofstream(tmp / "s1.json") << with_out.dump();
  const auto merged_out = report::merge_shard_files({tmp / "s1.json", tmp / "s2.json"}, tmp / "run" / "report.json");
  REQUIRE(merged_out["config"]["out"] == (tmp / "run").string());
  REQUIRE_THROWS_WITH(report::merge_shard_files({tmp / "s1.json", tmp / "nope.json"}, tmp / "x.json"),
                      Contains("nope.json"));
  REQUIRE_FALSE(std::filesystem::exists(tmp / "x.json"));
}

TEST_CASE("load_report: every field report, compare and merge read is checked, named in the error", "[merge]") {
  // Found by the report fuzz target: without these checks a report lacking "summary" overflowed
  // a buffer in markdown_table, bootstrap.level outside (0, 1) read outside the bootstrap draws,
  // and values of the wrong type escaped as JSON library exceptions.
  test::TempDir tmp;
  auto load = [&](const ojson& r) {
    std::ofstream(tmp / "r.json") << r.dump();
    return report::load_report(tmp / "r.json");
  };
  const ojson good = shard1();
  REQUIRE(load(good) == good);
  struct Case {
    std::vector<std::string> path;  // the field to replace (object keys; "records"/"0" indexes)
    ojson value;
    const char* needle;
  };
  const std::vector<Case> cases = {
      {{"summary"}, nullptr, "\"summary\" must be an object"},
      {{"summary", "ok"}, 1.8e20, "summary.ok must be a non-negative integer"},
      {{"summary", "failed"}, -1, "summary.failed"},
      {{"bootstrap", "level"}, 1.5, "bootstrap.level must be a number in (0, 1)"},
      {{"bootstrap", "level"}, -0.5, "bootstrap.level"},
      {{"bootstrap", "resamples"}, 0, "bootstrap.resamples must be an integer in 1..1000000"},
      {{"bootstrap", "resamples"}, 1000000000000, "bootstrap.resamples"},
      {{"bootstrap", "seed"}, "x", "bootstrap.seed"},
      {{"aggregates", "efficacy/success", "ci"}, ojson::array({0.5}), "aggregates[\"efficacy/success\"].ci"},
      {{"aggregates", "efficacy/success", "mean"}, "x", "aggregates[\"efficacy/success\"].mean"},
      {{"aggregates"}, ojson::array(), "\"aggregates\" must be an object"},
      {{"complete"}, 1, "\"complete\" must be true or false"},
      {{"timings", "edit"}, 1.8e20, "timings.edit must be a number in [0, 1e15]"},
      {{"timings", "probe"}, "2", "timings.probe"},
      {{"records", "0", "status"}, 1, "record 0.status must be \"ok\" or \"failed\""},
      {{"records", "0", "metrics", "efficacy/success"}, ojson::array({"x"}), "record 0.metrics[\"efficacy/success\"]"},
      {{"records", "0", "index"}, -3, "a record must be an object with a non-negative integer \"index\""},
      {{"shard"}, ojson{{"index", 3}, {"count", 2}}, "\"shard\" index 3 is not within 1..2"},
  };
  for (const auto& c : cases) {
    ojson bad = good;
    ojson* at = &bad;
    for (const auto& key : c.path) at = at->is_array() ? &(*at)[std::stoul(key)] : &(*at)[key];
    *at = c.value;
    INFO(fmt::format("{} = {}", fmt::join(c.path, "."), c.value.dump()));
    REQUIRE_THROWS_WITH(load(bad), Contains("r.json") && Contains(c.needle));
  }
  ojson no_summary = good;
  no_summary.erase("summary");
  REQUIRE_THROWS_WITH(load(no_summary), Contains("report has no \"summary\" field"));
}
