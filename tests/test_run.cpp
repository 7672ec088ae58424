// The probe suites, the report's aggregates and `editlab run` (journal, resume after kill -9,
// interrupt, determinism, failed records) on the fixture model.
#include "catch_torch.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "editlab/model/model_dir.h"
#include "editlab/probe/suites.h"
#include "editlab/report/report.h"
#include "editlab/run/experiment.h"
#include "editlab/run/journal.h"
#include "support.h"

using namespace editlab;
using test::run_cli;
using test::shell_quote;
namespace fs = std::filesystem;
using Catch::Contains;

namespace {

nlohmann::json record(int id, const std::string& prompt, const std::string& subject, const std::string& target_new,
                      const std::string& target_true) {
  return {{"case_id", id},
          {"requested_rewrite",
           {{"prompt", prompt},
            {"subject", subject},
            {"target_new", {{"str", target_new}}},
            {"target_true", {{"str", target_true}}}}},
          {"paraphrase_prompts", {"In fact, " + subject + " is in"}},
          {"neighborhood_prompts", {"The Colosseum is located in", "The Vatican is located in"}},
          {"generation_prompts", {subject + " is known for"}},
          {"implications",
           {{{"kind", "transitive"},
             {"prompt", subject + " is in the country of"},
             {"target_new", "Germany"},
             {"target_old", "France"}}}},
          {"mention_prompts", {subject + " is cool. Barack Obama is from"}}};
}

// Twelve records for the fixture model (GPT-2's tokenizer); record 3 is broken (no "{}").
nlohmann::json dataset() {
  nlohmann::json d = nlohmann::json::array();
  const std::vector<std::string> subjects = {"The Eiffel Tower", "The Louvre",   "Notre Dame",    "The Pantheon",
                                             "Big Ben",          "The Alhambra", "The Acropolis", "Tower Bridge",
                                             "The Kremlin",      "The Prado",    "The Uffizi",    "The Hermitage"};
  for (int i = 0; i < static_cast<int>(subjects.size()); ++i) {
    d.push_back(record(i, "{} is located in", subjects[i], "Berlin", "Paris"));
  }
  d[3]["requested_rewrite"]["prompt"] = "It is located in";
  d[5].erase("mention_prompts");  // loud facts from the config's templates
  return d;
}

struct RunFixture {
  test::TempDir tmp;
  fs::path experiment;
  // record_batch 1: one record at a time (journaled one by one, shards alternate records).
  explicit RunFixture(const std::string& method = "ft", int limit = 6, int record_batch = 1) {
    std::ofstream(tmp / "data.json") << dataset().dump(1);
    std::ofstream(tmp / "ft.json") << nlohmann::json{{"layers", {1}},     {"num_steps", 5}, {"lr", 1e-2},
                                                     {"weight_decay", 0}, {"kl_factor", 0}, {"norm_constraint", false}}
                                          .dump();
    nlohmann::json e = {
        {"model", test::fixture_model_dir().string()},
        {"method", method},
        {"dataset", "data.json"},
        {"select", {{"limit", limit}}},
        {"suites", {"efficacy", "paraphrase", "specificity", "specificity_plus", "loud", "implication", "fluency"}},
        {"fluency", {{"max_length", 24}}},
        {"seed", 3},
        {"threads", 1},
        {"record_batch", record_batch},
        {"out", "out"}};
    if (method != "none") e["hparams"] = "ft.json";
    experiment = tmp / "experiment.json";
    std::ofstream(experiment) << e.dump(1);
  }
  std::string run(const std::string& extra = "") const {
    return "run " + shell_quote(experiment.string()) + " " + extra;
  }
};

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

// A report without what legitimately differs between runs: timings and the creation time.
nlohmann::json without_timings(nlohmann::json r) {
  r.erase("timings");
  r.erase("created");
  for (auto& rec : r["records"]) rec.erase("seconds");
  return r;
}

// The same, also without the edits' own timings (ROME's diagnostics hold "seconds" per layer).
nlohmann::json without_any_seconds(nlohmann::json j) {
  if (j.is_object()) {
    j.erase("seconds");
    j.erase("timings");
    j.erase("created");
    for (auto& [key, value] : j.items()) value = without_any_seconds(value);
  } else if (j.is_array()) {
    for (auto& value : j) value = without_any_seconds(value);
  }
  return j;
}

size_t count_lines(const fs::path& p) {
  std::ifstream in(p);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

// Starts `editlab run` of the fixture in the background; returns once `journal` has `lines` lines.
pid_t start_and_wait_for_lines(const RunFixture& f, const fs::path& journal, size_t lines) {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string cmd = "exec " + shell_quote(EDITLAB_EXECUTABLE) + " " + f.run() + " >/dev/null 2>&1 </dev/null";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline && (!fs::exists(journal) || count_lines(journal) < lines)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pid;
}

}  // namespace

TEST_CASE("n-gram entropy equals the hand computation", "[run]") {
  // words a b a b: bigrams ab ba ab (H2 = 0.918296 bits), trigrams aba bab (H3 = 1).
  const double h2 = -(2.0 / 3 * std::log2(2.0 / 3) + 1.0 / 3 * std::log2(1.0 / 3));
  CHECK(ngram_entropy("a b a b") == Approx((2.0 / 3 * h2 + 4.0 / 3 * 1.0) / 2).epsilon(1e-12));
  CHECK(ngram_entropy("a a a a") == 0.0);
  CHECK(ngram_entropy("") == 0.0);
  // Punctuation is a word of its own.
  CHECK(ngram_entropy("x, y") == ngram_entropy("x , y"));
}

TEST_CASE("aggregates: means over records of per-record means, hierarchical bootstrap", "[run]") {
  std::vector<nlohmann::json> records = {
      {{"index", 0}, {"status", "ok"}, {"metrics", {{"m/a", {1, 0}}, {"m/b", {0.5}}}}},
      {{"index", 1}, {"status", "ok"}, {"metrics", {{"m/a", {1}}}}},
      {{"index", 2}, {"status", "failed"}, {"error", "x"}},
      {{"index", 3}, {"status", "ok"}, {"metrics", {{"m/a", {0, 0, 0, 1}}, {"m/b", nlohmann::json::array()}}}},
  };
  report::BootstrapOptions b;
  b.seed = 7;
  const auto a = report::estimate(records, "m/a", b);
  CHECK(a.mean == Approx((0.5 + 1 + 0.25) / 3));
  CHECK(a.records == 3);
  CHECK(a.values == 7);
  CHECK(a.ci_low <= a.mean);
  CHECK(a.ci_high >= a.mean);
  CHECK(a.ci_low >= 0);
  CHECK(a.ci_high <= 1);
  CHECK(a.ci_high > a.ci_low);
  const auto again = report::estimate(records, "m/a", b);
  CHECK(again.ci_low == a.ci_low);
  CHECK(again.ci_high == a.ci_high);
  // One record with one value: no spread.
  const auto single = report::estimate(records, "m/b", b);
  CHECK(single.records == 1);
  CHECK(single.mean == 0.5);
  CHECK(single.ci_low == 0.5);
  CHECK(single.ci_high == 0.5);
  const auto agg = report::aggregate(records, b);
  CHECK(agg.size() == 2);
  CHECK(agg["m/a"]["mean"].get<double>() == Approx(a.mean));
}

TEST_CASE("suite metrics equal a direct computation of the published definitions", "[run]") {
  // float64: the suites and the direct computation below reach the same quantities through
  // different batch shapes, and in float32 their rounding differs by ~2.5e-6 relative depending
  // on the CPU's BLAS kernels and threads (issue 29). In float64 they agree to ~1e-12, so a
  // tolerance of 1e-9 passes on any CPU and still catches any real difference.
  auto m = load_model(test::fixture_model_dir(), {torch::kFloat64, torch::kCPU});
  auto& model = *m.model;
  const auto& tok = *m.tokenizer;
  const auto rec = parse_probe_record(record(0, "{} is located in", "The Louvre", "Berlin", "Paris"), "test");
  SuiteOptions options;
  for (const auto& s : kSuiteRegistry) options.suites.push_back(s.suite);
  options.fluency_max_length = 24;
  RecordProbes probes(rec, options);
  const auto before = probes.observe(model, tok, 1);
  // An "edit": scale one MLP output weight.
  auto w = model.mlp_out_weight(1);
  const auto saved = w.clone();
  {
    torch::NoGradGuard g;
    w.mul_(1.5);
  }
  const auto after = probes.observe(model, tok, 1);
  const auto j = probes.metrics(before, after)["metrics"];

  const std::string sentence = "The Louvre is located in";
  std::vector<ScoreRequest> direct = {{sentence, "Berlin"}, {sentence, "Paris"}};
  const std::string plus = sentence + " Berlin. The Colosseum is located in";
  direct.push_back({plus, "Berlin"});
  direct.push_back({plus, "Paris"});
  const auto s = score_targets(model, tok, direct);
  CHECK(j["efficacy/success"][0].get<double>() == (s[0].nll < s[1].nll ? 1.0 : 0.0));
  CHECK(j["efficacy/magnitude"][0].get<double>() == Approx(std::exp(-s[0].nll) - std::exp(-s[1].nll)).margin(1e-9));
  CHECK(j["specificity_plus/NS+"][0].get<double>() == (s[3].nll < s[2].nll ? 1.0 : 0.0));
  CHECK(j["specificity_plus/NM+"][0].get<double>() == Approx(std::exp(-s[3].nll) - std::exp(-s[2].nll)).margin(1e-9));
  // NKL: KL(P_edited || P_unedited) of the next token, with torch's kl_div as the reference.
  const std::vector<std::string> prompt = {"The Colosseum is located in"};
  const auto p_after = next_token_logprobs(model, tok, prompt);
  {
    torch::NoGradGuard g;
    w.copy_(saved);
  }
  const auto p_before = next_token_logprobs(model, tok, prompt);
  const double kl = torch::kl_div(p_before[0], p_after[0], at::Reduction::Sum, /*log_target=*/true).item<double>();
  CHECK(j["specificity/NKL"][0].get<double>() == Approx(kl).epsilon(1e-9));
  CHECK(j["specificity/NKL_scaled"][0].get<double>() == Approx(kl / 50257).epsilon(1e-9));
  CHECK(kl > 0);
  // Unchanged model: no divergence, loud-fact gain 0, "after" equals "before".
  const auto same = probes.metrics(before, before)["metrics"];
  CHECK(same["specificity/NKL"][0].get<double>() == 0.0);
  CHECK(same["loud/logprob_gain"][0].get<double>() == 0.0);
  CHECK(same["fluency/entropy_before"][0] == same["fluency/entropy_after"][0]);
  CHECK(j.contains("implication/transitive/generation"));
  CHECK(j["specificity/NS"].size() == 2);
}

TEST_CASE("experiment config: errors name the field", "[run]") {
  const auto parse = [](const nlohmann::ordered_json& j) { return ExperimentConfig::from_json(j, "exp.json", "."); };
  nlohmann::ordered_json ok = {{"model", "m"}, {"dataset", "d.json"}, {"method", "none"}};
  CHECK_NOTHROW(parse(ok));
  auto bad = ok;
  bad["metod"] = "rome";
  CHECK_THROWS_WITH(parse(bad), Contains("exp.json: unknown field \"metod\""));
  bad = ok;
  bad.erase("model");
  CHECK_THROWS_WITH(parse(bad), Contains("\"model\" is required"));
  bad = ok;
  bad["method"] = "rome";
  CHECK_THROWS_WITH(parse(bad), Contains("\"hparams\" is required"));
  bad = ok;
  bad["suites"] = {"efficacy", "loudness"};
  CHECK_THROWS_WITH(parse(bad), Contains("unknown suite \"loudness\""));
  bad = ok;
  bad["select"] = {{"range", {5, 2}}};
  CHECK_THROWS_WITH(parse(bad), Contains("select: field \"range\""));
  bad = ok;
  bad["select"] = {{"limit", 0}};
  CHECK_THROWS_WITH(parse(bad), Contains("select: field \"limit\" must be in"));
  bad = ok;
  bad["generation"] = {{"beams", "five"}};
  CHECK_THROWS_WITH(parse(bad), Contains("generation: field \"beams\" must be an integer"));
  bad = ok;
  bad["method"] = "mend";
  CHECK_THROWS_WITH(parse(bad), Contains("field \"method\" must be rome, r-rome, memit, emmet, alphaedit, rome-patch, ike, ft, ft-l or none, found \"mend\""));
  // dtype and device go through the CLI's parser: the CUDA check included.
  bad = ok;
  bad["dtype"] = "float8";
  CHECK_THROWS_WITH(parse(bad), Contains("field \"dtype\" float8: expected float32, float64, bfloat16 or float16"));
  bad = ok;
  bad["device"] = "gpu";
  CHECK_THROWS_WITH(parse(bad), Contains("field \"device\" gpu: expected cpu, cuda or cuda:N"));
  bad["device"] = "cuda:x";
  CHECK_THROWS_WITH(parse(bad), Contains("expected cpu, cuda or cuda:N"));
  if (!torch::cuda::is_available()) {
    bad["device"] = "cuda";
    // A CPU libtorch has no CUDA; a CUDA libtorch (scripts/setup-cuda.sh) on a machine without a GPU sees none.
    CHECK_THROWS_WITH(parse(bad), Contains("field \"device\" cuda: this libtorch has no usable CUDA") ||
                                      Contains("field \"device\" cuda: this editlab has CUDA, but no CUDA device"));
  }
  auto good = ok;
  good["dtype"] = "float64";
  good["suites"] = {"loud", "fluency"};
  const auto c = parse(good);
  CHECK(c.dtype == torch::kFloat64);
  CHECK(c.device == torch::Device(torch::kCPU));
  CHECK(c.suites.suites == std::vector<Suite>{Suite::loud, Suite::fluency});
  CHECK_FALSE(c.method.has_value());
  CHECK(c.method_label() == "none");
  // Paths are relative to the config file's directory.
  CHECK(ExperimentConfig::from_json(ok, "x", "/base").model == fs::path("/base/m"));
}

TEST_CASE("suite registry: names, defaults and the report's metric order", "[run]") {
  for (const auto& s : kSuiteRegistry) CHECK(parse_suite(s.name) == s.suite);
  CHECK_FALSE(parse_suite("loudness").has_value());
  const auto defaults = default_suites();
  CHECK(std::find(defaults.begin(), defaults.end(), Suite::fluency) == defaults.end());
  CHECK(defaults.size() == kSuiteRegistry.size() - 1);
  // Tables: registry order, then a suite this build does not know, then fluency.
  CHECK(report::metric_less("efficacy/success", "paraphrase/success"));
  CHECK(report::metric_less("benchmark/mquake/multi_hop/pass", "newsuite/x"));
  CHECK(report::metric_less("newsuite/x", "fluency/entropy_after"));
  for (const auto m : kEditMethods) CHECK(parse_edit_method(method_name(m)) == m);
  CHECK(edit_method_names() == std::vector<std::string>{"rome", "r-rome", "memit", "emmet", "alphaedit", "rome-patch", "ike", "ft", "ft-l"});
  CHECK_FALSE(parse_edit_method("none").has_value());
}

TEST_CASE("journal: complete lines only, damage named, header written whole", "[run]") {
  const std::string header = R"({"journal":"editlab.journal/1","run_id":"abc","shard":null})";
  const std::string r0 = R"({"index":0,"status":"ok"})", r1 = R"({"index":3,"status":"failed"})";
  auto parsed = parse_journal(header + "\n" + r0 + "\n" + r1 + "\n" + R"({"index":4,"sta)", "j.jsonl");
  CHECK(parsed.header["run_id"] == "abc");
  REQUIRE(parsed.records.size() == 2);
  CHECK(parsed.records[1]["index"] == 3);
  CHECK(parsed.complete_bytes == header.size() + r0.size() + r1.size() + 3);
  CHECK(parse_journal("", "j").header.is_null());
  CHECK(parse_journal(header, "j").header.is_null());  // no newline yet: nothing complete
  CHECK_THROWS_WITH(parse_journal("{\"a\": 1}\n", "j.jsonl"), Contains("j.jsonl: not an editlab journal"));
  CHECK_THROWS_WITH(parse_journal("garbage\n", "j.jsonl"), Contains("j.jsonl: not an editlab journal"));
  CHECK_THROWS_WITH(parse_journal(header + "\n" + r0 + "\n{oops\n", "j.jsonl"),
                    Contains("j.jsonl: line 3 is not valid JSON") && Contains("damaged"));
  CHECK_THROWS_WITH(parse_journal(header + "\n[1, 2]\n", "j.jsonl"), Contains("line 2 is not a record's result"));
  CHECK_THROWS_WITH(parse_journal("{\"journal\": 1}\n", "j.jsonl"), Contains("j.jsonl: not an editlab journal"));
  CHECK_THROWS_WITH(parse_journal(header + "\n" + std::string(100000, '[') + "\n", "j.jsonl"),
                    Contains("j.jsonl: line 2") && Contains("nest"));

  test::TempDir tmp;
  const auto path = tmp / "journal.jsonl";
  const auto h = nlohmann::ordered_json::parse(header);
  {
    Journal j(path, h, false);
    j.append(nlohmann::json::parse(r0));
  }
  {
    std::ofstream(path, std::ios::app) << R"({"index":5,"st)";  // cut short by a crash
  }
  CHECK_THROWS_WITH(Journal(path, h, false), Contains("already holds 1 finished records"));
  auto other = h;
  other["run_id"] = "def";
  CHECK_THROWS_WITH(Journal(path, other, true), Contains("belongs to a different run"));
  {
    Journal j(path, h, true);
    REQUIRE(j.records().size() == 1);
    j.append(nlohmann::json::parse(r1));
  }
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text == header + "\n" + r0 + "\n" + r1 + "\n");  // the partial line is gone
  // No temporary files left beside it.
  CHECK(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()) == 1);
}

TEST_CASE("editlab run: report, failed records, determinism", "[run_cli]") {
  RunFixture f("ft", 6);
  const auto r1 = run_cli(f.run());
  INFO(r1.err);
  REQUIRE(r1.exit_code == 0);
  CHECK_THAT(r1.out, Contains("| efficacy/success |"));
  CHECK_THAT(r1.err, Contains("failed: "));  // record 3
  const auto report = read_json(f.tmp / "out/report.json");
  CHECK(report["schema"] == report::kSchema);
  CHECK(report["complete"] == true);
  CHECK(report["summary"]["records"] == 6);
  CHECK(report["summary"]["failed"] == 1);
  CHECK(report["records"][3]["status"] == "failed");
  CHECK_THAT(report["records"][3]["error"].get<std::string>(), Contains("\"{}\""));
  CHECK(report["aggregates"]["efficacy/success"]["records"] == 5);
  CHECK(report["aggregates"].contains("loud/rate"));
  CHECK(report["records"][5]["metrics"]["loud/rate"].size() == 2);  // template x 2 neighborhood prompts
  CHECK(report["timings"]["model_share"].get<double>() > 0);
  CHECK(fs::exists(f.tmp / "out/summary.md"));
  // Same config, seed and threads: the same report apart from timings.
  const auto r2 = run_cli(f.run("--out " + shell_quote((f.tmp / "out2").string())));
  REQUIRE(r2.exit_code == 0);
  auto other = read_json(f.tmp / "out2/report.json");
  other["config"]["out"] = report["config"]["out"];
  CHECK(without_timings(other) == without_timings(report));
  // An out dir with a finished journal is not overwritten.
  const auto r3 = run_cli(f.run());
  CHECK(r3.exit_code == 2);
  CHECK_THAT(r3.err, Contains("--resume"));
}

TEST_CASE("editlab run: kill -9 then --resume equals an uninterrupted run", "[run_cli]") {
  RunFixture f("ft", 12, 2);  // groups of two records probed together: a kill loses at most one
  REQUIRE(run_cli(f.run("--out " + shell_quote((f.tmp / "whole").string()))).exit_code == 0);
  const auto journal = f.tmp / "out/journal.jsonl";
  // Kill it once a few records are in the journal (header + 3 lines).
  const pid_t pid = start_and_wait_for_lines(f, journal, 4);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  const size_t lines = count_lines(journal);
  CHECK(lines >= 4);
  CHECK(lines < 13);  // killed before the end
  // Simulate a line cut short by the kill.
  std::ofstream(journal, std::ios::app) << "{\"index\": 99, \"sta";
  const auto resumed = run_cli(f.run("--resume"));
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK_THAT(resumed.err, Contains("resuming"));
  auto a = read_json(f.tmp / "out/report.json");
  auto b = read_json(f.tmp / "whole/report.json");
  b["config"]["out"] = a["config"]["out"];
  CHECK(without_timings(a) == without_timings(b));
  CHECK(count_lines(journal) == 13);
}

TEST_CASE("editlab run: Ctrl-C writes a partial report and exits 130", "[run_cli]") {
  RunFixture f("ft", 12, 2);
  const auto journal = f.tmp / "out/journal.jsonl";
  const pid_t pid = start_and_wait_for_lines(f, journal, 3);
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  const auto report = read_json(f.tmp / "out/report.json");
  CHECK(report["complete"] == false);
  CHECK(report["summary"]["records"].get<int>() < 12);
  CHECK(report["summary"]["records"].get<size_t>() == count_lines(journal) - 1);
}

TEST_CASE("editlab run: bad input", "[run_cli]") {
  RunFixture f("ft", 2);
  auto r = run_cli("run " + shell_quote((f.tmp / "missing.json").string()));
  CHECK(r.exit_code == 2);
  std::ofstream(f.tmp / "bad.json") << R"({"model": "m", "dataset": "d", "methd": 1})";
  r = run_cli("run " + shell_quote((f.tmp / "bad.json").string()));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("unknown field \"methd\""));
  r = run_cli(f.run("--shard 3/2"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("--shard") && Contains("3/2") && Contains("1 <= K <= N"));
  // A plain message, not CLI11's range up to 1.8e308 written out in full.
  r = run_cli(f.run("--limit 0"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("--limit: must be greater than 0, got 0"));
  CHECK(r.err.size() < 200);
}

TEST_CASE("datasets: CounterFact's own records load as they are, as a JSON array or JSON Lines", "[run]") {
  // counterfact.json's first record (kmeng01/rome), fields and shapes as published.
  const auto real = nlohmann::json::parse(R"({"case_id": 0, "pararel_idx": 2796,
    "requested_rewrite": {"prompt": "The mother tongue of {} is", "relation_id": "P103",
      "target_new": {"str": "English", "id": "Q1860"}, "target_true": {"str": "French", "id": "Q150"},
      "subject": "Danielle Darrieux"},
    "paraphrase_prompts": ["Shayna does this and Yossel goes still and dies. Danielle Darrieux, a native",
      "An album was recorded for Capitol Nashville but never released. Danielle Darrieux spoke the language"],
    "neighborhood_prompts": ["The mother tongue of L\u00e9on Blum is", "The native language of Montesquieu is"],
    "attribute_prompts": ["J.\u00a0R.\u00a0R. Tolkien is a native speaker of"],
    "generation_prompts": ["Danielle Darrieux's mother tongue is", "Where Danielle Darrieux is from, people speak the language of"]})");
  const auto r = parse_probe_record(real, "counterfact.json: record 0");
  CHECK(r.request.case_id == "0");
  CHECK(r.request.target_new == "English");
  CHECK(r.request.relation_id == "P103");
  CHECK(r.paraphrase_prompts.size() == 2);
  CHECK(r.neighborhood_prompts.size() == 2);
  CHECK(r.generation_prompts.size() == 2);
  CHECK(r.implications.empty());
  test::TempDir tmp;
  std::ofstream(tmp / "a.json") << nlohmann::json::array({real, real}).dump();
  std::ofstream(tmp / "b.jsonl") << real.dump() << "\n\n" << real.dump() << "\n";
  CHECK(load_dataset(tmp / "a.json").size() == 2);
  CHECK(load_dataset(tmp / "b.jsonl").size() == 2);
  std::ofstream(tmp / "c.jsonl") << real.dump() << "\n{\"case_id\": 1,\n";
  CHECK_THROWS_WITH(load_dataset(tmp / "c.jsonl"), Contains("c.jsonl: line 2: not valid JSON"));
  auto bad = real;
  bad["implications"] = {{{"kind", "transitive"}, {"prompt", "x"}}};
  CHECK_THROWS_WITH(parse_probe_record(bad, "d.json: record 4"),
                    Contains("d.json: record 4 (case_id 0): field \"implications[0].target_new\" is missing"));
}

TEST_CASE("editlab run --shard K/N, then merge: the unsharded run's report", "[run_cli]") {
  RunFixture f("ft", 7);
  const auto dir = [&](const std::string& name) { return shell_quote((f.tmp / name).string()); };
  REQUIRE(run_cli(f.run("--out " + dir("whole"))).exit_code == 0);
  REQUIRE(run_cli(f.run("--shard 1/2 --out " + dir("s1"))).exit_code == 0);
  REQUIRE(run_cli(f.run("--shard 2/2 --out " + dir("s2"))).exit_code == 0);
  const auto s1 = read_json(f.tmp / "s1/report.json");
  CHECK(s1["selection"]["indices"] == nlohmann::json({0, 2, 4, 6}));
  CHECK(s1["selection"]["total"] == 7);
  // A shard's journal cannot be resumed as another shard.
  const auto wrong = run_cli(f.run("--shard 2/2 --resume --out " + dir("s1")));
  CHECK(wrong.exit_code == 2);
  CHECK_THAT(wrong.err, Contains("different run"));
  const auto merged =
      run_cli("merge " + dir("s2/report.json") + " " + dir("s1/report.json") + " --out " + dir("merged.json"));
  INFO(merged.err);
  REQUIRE(merged.exit_code == 0);
  auto a = read_json(f.tmp / "merged.json");
  auto b = read_json(f.tmp / "whole/report.json");
  CHECK(a["aggregates"] == b["aggregates"]);
  CHECK(without_timings(a)["records"] == without_timings(b)["records"]);
  CHECK(a["summary"] == b["summary"]);
  CHECK(a["selection"] == b["selection"]);
  CHECK(a["run_id"] == b["run_id"]);
}

TEST_CASE("experiment config: command-line paths are relative to the working directory, however many", "[run]") {
  nlohmann::ordered_json j = {
      {"model", "m"}, {"dataset", "d.json"}, {"method", "rome"}, {"hparams", "h.json"}, {"out", "o"}};
  const auto c = ExperimentConfig::from_json(j, "x", "/base");
  CHECK(c.out == fs::path("/base/o"));
  const auto d = c.with("out", "here").with("hparams", "mine.json").with("limit", 3);
  CHECK(d.out == fs::path("here"));
  CHECK(d.hparams == fs::path("mine.json"));
  CHECK(d.limit == 3);
  CHECK(d.model == fs::path("/base/m"));
}

TEST_CASE("implication success conditioned on knowledge: success_known over the probes the model knew", "[run]") {
  auto j = record(0, "{} is located in", "The Louvre", "Berlin", "Paris");
  j["implications"] = {{{"kind", "transitive"}, {"prompt", "The Louvre is in the country of"},
                        {"target_new", "Germany"}, {"target_old", "France"}},
                       {{"kind", "transitive"}, {"prompt", "The Louvre's country is"},
                        {"target_new", "Germany"}, {"target_old", "France"}},
                       {{"kind", "symmetric"}, {"prompt", "B is married to"}, {"target_new", "A"}}};
  const auto rec = parse_probe_record(j, "test");
  SuiteOptions options;
  options.suites = {Suite::implication};
  const RecordProbes probes(rec, options);
  // The plan: (new, old) for each transitive probe, then the symmetric probe's new only.
  auto score = [](double nll, bool greedy) {
    TargetScore s;
    s.nll = nll;
    s.greedy_correct = greedy;
    return s;
  };
  Observation before, after;
  // probe 0: known (greedy answer France before), carried after; probe 1: not known.
  before.scores = {score(3.0, false), score(0.5, true), score(3.0, false), score(2.0, false), score(4.0, false)};
  after.scores = {score(0.4, true), score(2.5, false), score(1.0, true), score(2.5, false), score(3.0, false)};
  before.generations = after.generations = {"", "", ""};
  const auto m = probes.metrics(before, after)["metrics"];
  CHECK(m["implication/transitive/success"] == nlohmann::json{1.0, 1.0});
  CHECK(m["implication/transitive/known"] == nlohmann::json{1.0, 0.0});
  CHECK(m["implication/transitive/success_known"] == nlohmann::json{1.0});  // probe 0 only
  CHECK_FALSE(m.contains("implication/symmetric/known"));  // no target_old: nothing to know
  CHECK_FALSE(m.contains("implication/symmetric/success_known"));
}

TEST_CASE("details: every probe's p(target_new), p(target_true) before and after, only when asked", "[run]") {
  auto j = record(0, "{} is located in", "The Louvre", "Berlin", "Paris");
  j["paraphrase_prompts"] = {"The Louvre can be found in"};
  j["neighborhood_prompts"] = {"The Colosseum is located in"};
  j["implications"] = {{{"kind", "transitive"}, {"prompt", "The Louvre is in the country of"},
                        {"target_new", "Germany"}, {"target_old", "France"}}};
  const auto rec = parse_probe_record(j, "test");
  SuiteOptions options;
  options.suites = {Suite::efficacy, Suite::paraphrase, Suite::implication};
  auto score = [](double nll) {
    TargetScore s;
    s.nll = nll;
    return s;
  };
  // The plan: efficacy (new, true), paraphrase (new, true), the implication's (new, old).
  Observation before, after;
  before.scores = {score(3.0), score(0.5), score(2.0), score(0.7), score(4.0), score(0.1)};
  after.scores = {score(0.2), score(2.5), score(0.3), score(1.5), score(1.0), score(2.0)};
  before.generations = {" France."};
  after.generations = {" Germany."};
  CHECK_FALSE(RecordProbes(rec, options).metrics(before, after)["details"].contains("probes"));
  options.details = true;
  const RecordProbes probes(rec, options);
  const auto out = probes.metrics(before, after);
  const auto& d = out["details"];
  REQUIRE(d["requests"].size() == 1);
  CHECK(d["requests"][0]["prompt"] == "The Louvre is located in");
  CHECK(d["requests"][0]["target_new"] == "Berlin");
  const auto& p = d["probes"];
  REQUIRE(p.size() == 3);
  CHECK(p[0]["suite"] == "efficacy");
  CHECK(p[0]["prompt"] == "The Louvre is located in");
  CHECK(p[0]["target_true"] == "Paris");
  CHECK(p[0]["p_new"][0].get<double>() == Approx(std::exp(-3.0)));
  CHECK(p[0]["p_new"][1].get<double>() == Approx(std::exp(-0.2)));
  CHECK(p[0]["p_true"][1].get<double>() == Approx(std::exp(-2.5)));
  // The magnitude the metrics report is p_new - p_true after.
  CHECK(out["metrics"]["efficacy/magnitude"][0].get<double>() ==
        Approx(p[0]["p_new"][1].get<double>() - p[0]["p_true"][1].get<double>()));
  CHECK(p[1]["suite"] == "paraphrase");
  CHECK(p[1]["prompt"] == "The Louvre can be found in");
  CHECK(p[2]["suite"] == "implication");
  CHECK(p[2]["kind"] == "transitive");
  CHECK(p[2]["target_true"] == "France");
  CHECK(p[2]["p_true"][0].get<double>() == Approx(std::exp(-0.1)));
  CHECK(p[2]["generation"] == nlohmann::json{" France.", " Germany."});
}

namespace {

// The journal `from` cut inside the second group of three: its header, records 0-2 and record 4,
// written into `dir` (created) as a killed run would have left it.
void cut_journal(const fs::path& from, const fs::path& dir) {
  fs::create_directories(dir);
  std::ifstream in(from);
  std::ofstream out(dir / "journal.jsonl");
  std::string line;
  for (int i = 0; std::getline(in, line); ++i) {
    if (i <= 3 || i == 5) out << line << '\n';
  }
}

// Seven records in groups of three (`flags`: --edit-batch 3 or --record-batch 3) run as two
// shards, which take whole groups in turn ({0,1,2}, {3,4,5}, {6}), then merged.
nlohmann::json merged_groups_of_three(const RunFixture& f, const std::string& flags) {
  const auto dir = [&](const std::string& name) { return shell_quote((f.tmp / name).string()); };
  REQUIRE(run_cli(f.run(flags + " --shard 1/2 --out " + dir("s1"))).exit_code == 0);
  REQUIRE(run_cli(f.run(flags + " --shard 2/2 --out " + dir("s2"))).exit_code == 0);
  CHECK(read_json(f.tmp / "s1/report.json")["selection"]["indices"] == nlohmann::json({0, 1, 2, 6}));
  CHECK(read_json(f.tmp / "s2/report.json")["selection"]["indices"] == nlohmann::json({3, 4, 5}));
  REQUIRE(run_cli("merge " + dir("s1/report.json") + " " + dir("s2/report.json") + " --out " + dir("merged.json"))
              .exit_code == 0);
  return read_json(f.tmp / "merged.json");
}

// Found by the 20,000-record run (experiments/toy-world/scale-20k.sh): a killed shard could not be
// resumed, its journal's header (keys written sorted) compared unequal, key order and all, to the
// run's ({"index", "count"}).
TEST_CASE("editlab run --shard K/N --resume continues the shard's own journal", "[run_cli]") {
  RunFixture f("ft", 7);
  const auto dir = [&](const std::string& name) { return shell_quote((f.tmp / name).string()); };
  REQUIRE(run_cli(f.run("--shard 1/2 --out " + dir("s1"))).exit_code == 0);
  cut_journal(f.tmp / "s1/journal.jsonl", f.tmp / "cut");  // records 0, 2 and 4 of 0, 2, 4, 6
  const auto resumed = run_cli(f.run("--shard 1/2 --resume --out " + dir("cut")));
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  auto a = read_json(f.tmp / "cut/report.json");
  auto b = read_json(f.tmp / "s1/report.json");
  CHECK(a["selection"] == b["selection"]);
  CHECK(without_timings(a)["records"] == without_timings(b)["records"]);
  // A finished shard resumed again is left as it is.
  const auto again = run_cli(f.run("--shard 1/2 --resume --out " + dir("s1")));
  INFO(again.err);
  CHECK(again.exit_code == 0);
}

}  // namespace

TEST_CASE("editlab run with edit_batch: shards take whole batches, resume re-edits a cut batch", "[run_cli]") {
  RunFixture f("ft", 7);
  const auto dir = [&](const std::string& name) { return shell_quote((f.tmp / name).string()); };
  REQUIRE(run_cli(f.run("--edit-batch 3 --out " + dir("whole"))).exit_code == 0);
  auto whole = read_json(f.tmp / "whole/report.json");
  CHECK(whole["config"]["edit_batch"] == 3);
  // FT applies a batch's records one after another, each record keeping its own edit's
  // diagnostics; every record of the batch is then scored on the model all three edits made.
  REQUIRE(run_cli(f.run("--out " + dir("single"))).exit_code == 0);
  auto single = read_json(f.tmp / "single/report.json");
  CHECK(whole["records"][0]["details"]["edit"].contains("losses"));
  for (int i : {0, 1, 2}) {
    CHECK(whole["records"][i]["metrics"]["fluency/entropy_before"] ==
          single["records"][i]["metrics"]["fluency/entropy_before"]);  // the same unedited model
    CHECK(whole["records"][i]["metrics"] != single["records"][i]["metrics"]);
  }
  CHECK(whole["run_id"] != single["run_id"]);
  // Shards: batches {0,1,2}, {3,4,5}, {6} in turn.
  auto merged = merged_groups_of_three(f, "--edit-batch 3");
  CHECK(without_timings(merged)["records"] == without_timings(whole)["records"]);
  // A journal cut inside the second batch (records 0-2 and 4 done): resume edits the batch whole
  // again and journals only 3 and 5; the report equals the uninterrupted run's.
  cut_journal(f.tmp / "whole/journal.jsonl", f.tmp / "cut");
  const auto resumed = run_cli(f.run("--edit-batch 3 --resume --out " + dir("cut")));
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  auto a = read_json(f.tmp / "cut/report.json");
  whole["config"]["out"] = a["config"]["out"];
  CHECK(without_timings(a) == without_timings(whole));
}

TEST_CASE("editlab run with record_batch: ROME records probed together equal one at a time; groups shard and resume",
          "[run_cli]") {
  RunFixture f("rome", 7);
  std::ofstream(f.tmp / "rome.json") << nlohmann::json{
      {"layers", {0}},           {"fact_token", "subject_last"}, {"v_num_grad_steps", 6}, {"v_lr", 0.5},
      {"v_loss_layer", 1},       {"v_weight_decay", 0.5},        {"clamp_norm_factor", 4}, {"kl_factor", 0.0625},
      {"mom2_adjustment", false}, {"mom2_dataset", "wikipedia"},  {"mom2_n_samples", 10},    {"mom2_dtype", "float32"}}
                                            .dump();
  auto config = read_json(f.experiment);
  config["hparams"] = "rome.json";
  config["dtype"] = "float64";
  std::ofstream(f.experiment) << config.dump(1);
  const auto dir = [&](const std::string& name) { return shell_quote((f.tmp / name).string()); };
  REQUIRE(run_cli(f.run("--record-batch 1 --out " + dir("one"))).exit_code == 0);
  const auto together = run_cli(f.run("--record-batch 3 --out " + dir("three")));
  INFO(together.err);
  REQUIRE(together.exit_code == 0);
  auto one = read_json(f.tmp / "one/report.json");
  auto three = read_json(f.tmp / "three/report.json");
  CHECK(three["config"]["record_batch"] == 3);
  // ROME at layer 0: at the fixture's last layer (1) delta would reach the predicted position
  // through no attention at all, its gradient would be rounding noise, and Adam (which normalises
  // the step) would follow that noise, differently where the BLAS sums a batch in another order
  // (MKL: 7e-5 apart).
  // Every metric of every record within 1e-6 (issue 27's bar in float64); the v optimisations ran
  // together: groups {0,1,2}, {3,4,5} (3 malformed: 4 and 5 together) and {6}.
  double worst = 0;
  size_t values = 0;
  for (size_t i = 0; i < one["records"].size(); ++i) {
    const auto& a = one["records"][i];
    const auto& b = three["records"][i];
    CHECK(a["status"] == b["status"]);
    if (a["status"] != "ok") continue;  // the fixture's record 3 is malformed on purpose
    for (const auto& [name, list] : a["metrics"].items()) {
      for (size_t k = 0; k < list.size(); ++k, ++values) {
        worst = std::max(worst, std::abs(list[k].get<double>() - b["metrics"][name][k].get<double>()));
      }
    }
    CHECK(a["details"]["implications"] == b["details"]["implications"]);  // the same generations
    const nlohmann::json together = i < 3 ? nlohmann::json(3) : i < 6 ? nlohmann::json(2) : nlohmann::json();
    CHECK(b["details"]["edit"]["layers"][0].value("optimised_with", nlohmann::json()) == together);
  }
  CHECK(values > 200);
  CHECK(worst <= 1e-6);
  // Shards take whole groups: {0,1,2}, {3,4,5}, {6}; merged, the unsharded report.
  auto merged = merged_groups_of_three(f, "--record-batch 3");
  CHECK(without_any_seconds(merged)["records"] == without_any_seconds(three)["records"]);
  // A journal cut inside the second group (records 0-2 and 4 done): resume probes the group whole
  // again, journals only 3 and 5, and the report equals the uninterrupted run's.
  cut_journal(f.tmp / "three/journal.jsonl", f.tmp / "cut");
  const auto resumed = run_cli(f.run("--record-batch 3 --resume --out " + dir("cut")));
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  auto cut = read_json(f.tmp / "cut/report.json");
  three["config"]["out"] = cut["config"]["out"];
  CHECK(without_any_seconds(cut) == without_any_seconds(three));
}

TEST_CASE("editlab run with MEMIT: a batch solved at once, each record with its own z", "[run_cli]") {
  RunFixture f("memit", 6);
  std::ofstream(f.tmp / "corpus.txt") << "The Eiffel Tower is in Paris.\n\nThe Louvre is a museum in Paris.\n\n"
                                         "Big Ben is a clock in London.\n\nThe Prado is in Madrid, Spain.\n";
  std::ofstream(f.tmp / "memit.json") << nlohmann::json{{"layers", {0}},
                                                        {"layer_selection", "all"},
                                                        {"fact_token", "subject_last"},
                                                        {"v_num_grad_steps", 5},
                                                        {"v_lr", 0.5},
                                                        {"v_loss_layer", 1},
                                                        {"v_weight_decay", 0.5},
                                                        {"clamp_norm_factor", 0.75},
                                                        {"kl_factor", 0.0625},
                                                        {"mom2_adjustment", true},
                                                        {"mom2_update_weight", 10},
                                                        {"mom2_dataset", "corpus.txt"},
                                                        {"mom2_n_samples", 100},
                                                        {"mom2_dtype", "float32"}}
                                             .dump();
  const auto dir = [&](const std::string& name) { return shell_quote((f.tmp / name).string()); };
  const auto r = run_cli(f.run("--hparams " + dir("memit.json") + " --edit-batch 3 --out " + dir("out")));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto report = read_json(f.tmp / "out/report.json");
  CHECK(report["hparams"]["mom2_update_weight"] == 10);
  const auto& first = report["records"][0];
  REQUIRE(first["status"] == "ok");
  CHECK(first["details"]["edit"]["batch_records"] == 3);
  CHECK(first["details"]["edit"]["z"].size() == 1);  // its own request's z only
  CHECK(first["details"]["edit"]["layers"].size() == 1);
  // Record 3 cannot be parsed: its batch ({3, 4, 5}) is edited without it.
  CHECK(report["records"][3]["status"] == "failed");
  CHECK(report["records"][4]["details"]["edit"]["batch_records"] == 2);
}

TEST_CASE("editlab run with rome-patch and ike: every suite at inference, the weights untouched", "[run_cli]") {
  for (const std::string method : {"rome-patch", "ike"}) {
    RunFixture f(method, 4);
    const auto dir = [&](const std::string& name) { return shell_quote((f.tmp / name).string()); };
    if (method == "ike") {
      std::ofstream(f.tmp / "ike.json") << R"({"copy": 0, "update": 0, "retain": 0})";  // n_positions 64
    } else {
      std::ofstream(f.tmp / "ike.json") << nlohmann::json{
          {"layers", {0}},        {"fact_token", "subject_last"}, {"v_num_grad_steps", 5}, {"v_lr", 0.5},
          {"v_loss_layer", 1},    {"v_weight_decay", 0.5},        {"clamp_norm_factor", 4}, {"kl_factor", 0.0625},
          {"mom2_adjustment", true}, {"mom2_dataset", "none"},    {"mom2_n_samples", 10}, {"mom2_dtype", "float32"}};
    }
    const auto r = run_cli(f.run("--hparams " + dir("ike.json") + " --out " + dir("out")));
    INFO(method << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    const auto report = read_json(f.tmp / "out/report.json");
    CHECK(report["summary"]["ok"] == 3);  // record 3 is broken
    const auto& d = report["records"][0]["details"]["edit"];
    CHECK(d["weights_changed"] == false);
    if (method == "ike") {
      CHECK_THAT(d["context"].get<std::string>(), Contains("New Fact: The Eiffel Tower is located in Berlin\nPrompt: "));
    } else {
      CHECK(report["records"][0]["metrics"]["efficacy/success"][0] == 1.0);
    }
    // The implication generations ran with the context on top of their length.
    CHECK(report["records"][0]["details"].contains("implications"));
  }
}
