#include "editlab/report/html.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "editlab/report/report.h"

namespace editlab::report {
namespace {

using Json = nlohmann::ordered_json;

// Colour-blind-safe categorical colours (Okabe-Ito), one per report.
constexpr const char* kColours[] = {"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7",
                                    "#56B4E9", "#F0E442", "#000000"};
const char* colour(size_t i) { return kColours[i % (sizeof(kColours) / sizeof(kColours[0]))]; }

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string num(double v) {
  if (!std::isfinite(v)) return "nan";
  if (v != 0 && std::abs(v) < 1e-3) return fmt::format("{:.2e}", v);
  return fmt::format("{:.3f}", v);
}

std::optional<double> mean_of(const Json& record, const std::string& metric) {
  const auto m = record.find("metrics");
  if (m == record.end() || !m->is_object()) return std::nullopt;
  const auto v = m->find(metric);
  if (v == m->end() || !v->is_array() || v->empty()) return std::nullopt;
  double sum = 0;
  int64_t n = 0;
  for (const auto& x : *v) {
    if (x.is_number()) sum += x.get<double>(), ++n;
  }
  if (n == 0) return std::nullopt;
  return sum / static_cast<double>(n);
}

struct Bar {
  double mean = 0, lo = 0, hi = 0;
  bool present = false;
};

Bar bar_of(const Json& report, const std::string& metric) {
  Bar b;
  const auto& a = report["aggregates"];
  if (!a.contains(metric)) return b;
  const auto& e = a[metric];
  if (!e["mean"].is_number()) return b;
  b.mean = e["mean"].get<double>();
  b.lo = e["ci"][0].is_number() ? e["ci"][0].get<double>() : b.mean;
  b.hi = e["ci"][1].is_number() ? e["ci"][1].get<double>() : b.mean;
  b.present = true;
  return b;
}

// A chart's opening: the figure and SVG elements, the title, and five horizontal grid lines with
// their values between lo and hi; y maps a value to its height.
template <typename Y>
std::string chart_open(const std::string& id, double W, double H, const std::string& label, const std::string& title,
                       double left, double right, double lo, double hi, const Y& y) {
  std::string svg = fmt::format(
      "<figure class=\"chart\" id=\"{}\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" "
      "role=\"img\" aria-label=\"{}\"><text x=\"{:.0f}\" y=\"16\" class=\"title\">{}</text>",
      id, W, H, escape(label), W / 2, escape(title));
  for (int t = 0; t <= 4; ++t) {
    const double v = lo + (hi - lo) * t / 4.0;
    svg += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"grid\"/>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"tick\">{}</text>",
                       left, W - right, y(v), y(v), left - 4, y(v) + 4, num(v));
  }
  return svg;
}

// A grouped bar chart: one group per metric, one bar per report with its interval as a whisker.
std::string bar_chart(const std::string& id, const std::string& title, const std::vector<std::string>& all_metrics,
                      const std::vector<Json>& reports, const std::vector<std::string>& names) {
  // Only the metrics some report has (a run without the paraphrase suite gets no empty group).
  std::vector<std::string> metrics;
  for (const auto& m : all_metrics) {
    if (std::any_of(reports.begin(), reports.end(), [&](const Json& r) { return bar_of(r, m).present; })) {
      metrics.push_back(m);
    }
  }
  double lo = 0, hi = 0;
  bool any = false;
  for (const auto& m : metrics) {
    for (const auto& r : reports) {
      const auto b = bar_of(r, m);
      if (!b.present) continue;
      any = true;
      lo = std::min({lo, b.lo, b.mean});
      hi = std::max({hi, b.hi, b.mean});
    }
  }
  if (!any) return "";
  if (hi <= 1 && lo >= 0) hi = 1;  // rates on their whole scale
  if (hi == lo) hi = lo + 1;
  const double W = std::max<double>(360, 60 + metrics.size() * (reports.size() * 14 + 40)), H = 240;
  const double left = 50, right = 10, top = 28, bottom = 60;
  const double plot_w = W - left - right, plot_h = H - top - bottom;
  auto y = [&](double v) { return top + plot_h * (hi - v) / (hi - lo); };
  std::string svg = chart_open(id, W, H, title, title, left, right, lo, hi, y);
  const double group_w = plot_w / static_cast<double>(metrics.size());
  const double bar_w = std::min(22.0, (group_w - 12) / static_cast<double>(reports.size()));
  for (size_t g = 0; g < metrics.size(); ++g) {
    const double x0 = left + g * group_w + (group_w - bar_w * reports.size()) / 2;
    for (size_t i = 0; i < reports.size(); ++i) {
      const auto b = bar_of(reports[i], metrics[g]);
      if (!b.present) continue;
      const double x = x0 + i * bar_w;
      const double y0 = y(std::max(0.0, std::min(b.mean, hi))), y1 = y(std::min(0.0, std::max(lo, b.mean)));
      svg += fmt::format(
          "<rect class=\"bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
          "<title>{}: {} {} [{}, {}]</title></rect>",
          x + 1, std::min(y0, y1), bar_w - 2, std::abs(y1 - y0), colour(i), escape(names[i]), escape(metrics[g]),
          num(b.mean), num(b.lo), num(b.hi));
      svg += fmt::format("<line class=\"ci\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\"/>",
                         x + bar_w / 2, y(b.lo), y(b.hi));
    }
    // implication/<kind>/success: the kind; other metrics whole.
    std::string label = metrics[g];
    if (label.starts_with("implication/")) {
      label = label.substr(12);
      label = label.substr(0, label.find('/'));
    }
    // A long label breaks at its underscore onto a second line.
    const double lx = left + (g + 0.5) * group_w;
    const auto cut = label.find('_');
    if (label.size() > 12 && cut != std::string::npos) {
      svg += fmt::format("<text x=\"{0:.1f}\" y=\"{1:.1f}\" class=\"label\">{2}<tspan x=\"{0:.1f}\" dy=\"13\">{3}</tspan></text>",
                         lx, H - bottom + 16, escape(label.substr(0, cut)), escape(label.substr(cut + 1)));
    } else {
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"label\">{}</text>", lx, H - bottom + 16, escape(label));
    }
  }
  // Legend.
  double lx = left;
  for (size_t i = 0; i < reports.size(); ++i) {
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"10\" height=\"10\" fill=\"{}\"/>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"legend\">{}</text>",
                       lx, H - 22, colour(i), lx + 14, H - 13, escape(names[i]));
    lx += 24 + 7.0 * names[i].size();
  }
  svg += "</svg></figure>\n";
  return svg;
}

// Sequential runs: one metric against the number of edits, one line per report (mean over every
// record edited so far, with its interval as a band).
std::string sequential_chart(const std::string& id, const std::string& metric, const std::vector<Json>& reports,
                             const std::vector<std::string>& names) {
  double max_edits = 0, lo = 0, hi = 1;
  bool any = false;
  for (const auto& r : reports) {
    if (!r.contains("sequential") || !r["sequential"].is_object()) continue;
    for (const auto& s : r["sequential"]["steps"]) {
      if (!s["all"].contains(metric)) continue;
      any = true;
      max_edits = std::max(max_edits, s["edits"].get<double>());
      lo = std::min(lo, s["all"][metric]["ci"][0].get<double>());
      hi = std::max(hi, s["all"][metric]["ci"][1].get<double>());
    }
  }
  if (!any) return "";
  const double W = 420, H = 240, left = 50, right = 10, top = 28, bottom = 50;
  auto x = [&](double e) { return left + (W - left - right) * e / max_edits; };
  auto y = [&](double v) { return top + (H - top - bottom) * (hi - v) / (hi - lo); };
  std::string svg = chart_open(id, W, H, metric + " against edits", metric + " against the number of edits", left,
                               right, lo, hi, y);
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"label\">edits (max {:.0f})</text>", W / 2, H - 12,
                     max_edits);
  for (size_t i = 0; i < reports.size(); ++i) {
    const auto& r = reports[i];
    if (!r.contains("sequential") || !r["sequential"].is_object()) continue;
    std::string line, band_top, band_bottom;
    for (const auto& s : r["sequential"]["steps"]) {
      if (!s["all"].contains(metric)) continue;
      const auto& e = s["all"][metric];
      const double ex = x(s["edits"].get<double>());
      line += fmt::format("{}{:.1f},{:.1f}", line.empty() ? "" : " ", ex, y(e["mean"].get<double>()));
      band_top += fmt::format("{:.1f},{:.1f} ", ex, y(e["ci"][1].get<double>()));
      band_bottom = fmt::format("{:.1f},{:.1f} ", ex, y(e["ci"][0].get<double>())) + band_bottom;
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"><title>{}: {} edits, {}</title>"
                         "</circle>",
                         ex, y(e["mean"].get<double>()), colour(i), escape(names[i]), s["edits"].get<int64_t>(),
                         num(e["mean"].get<double>()));
    }
    svg += fmt::format("<polygon points=\"{}{}\" fill=\"{}\" opacity=\"0.15\"/>", band_top, band_bottom, colour(i));
    svg += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>", line, colour(i));
  }
  svg += "</svg></figure>\n";
  return svg;
}

// Numbers to 4 significant digits for the detail rows (the report keeps them whole).
Json rounded(const Json& j) {
  if (j.is_number_float()) {
    const double v = j.get<double>();
    if (!std::isfinite(v) || v == 0) return j;
    return std::stod(fmt::format("{:.4g}", v));
  }
  if (j.is_array() || j.is_object()) {
    Json out = j;
    for (auto it = out.begin(); it != out.end(); ++it) *it = rounded(*it);
    return out;
  }
  return j;
}

// A record's page, above its JSON: the edit, then every probe with p(target_new) and
// p(target_true) before and after (and the generations of implication probes), when the run
// kept them (`--details`); otherwise a line saying how to keep them.
std::string record_page(const Json& rec) {
  const Json* details = rec.contains("details") && rec["details"].is_object() ? &rec["details"] : nullptr;
  if (details == nullptr || !details->contains("probes") || !(*details)["probes"].is_array()) {
    return "<p class=\"note\">Per-probe probabilities were not kept: run with <code>--details</code> (or "
           "<code>\"details\": true</code>) to see them here.</p>";
  }
  std::string h;
  if (details->contains("requests") && (*details)["requests"].is_array()) {
    for (const auto& q : (*details)["requests"]) {
      h += fmt::format("<p class=\"edit\"><b>edit</b> {}: <s>{}</s> &rarr; <b>{}</b></p>", escape(q.value("prompt", "")),
                       escape(q.value("target_true", "")), escape(q.value("target_new", "")));
    }
  }
  auto pair = [](const Json& j, const char* key) -> std::string {
    if (!j.contains(key) || !j[key].is_array() || j[key].size() != 2 || !j[key][0].is_number() || !j[key][1].is_number()) return "";
    return fmt::format("{} &rarr; {}", num(j[key][0].get<double>()), num(j[key][1].get<double>()));
  };
  h += "<table class=\"probes\"><thead><tr><th>suite</th><th>prompt</th><th>target_new</th><th>p before &rarr; after</th>"
       "<th>target_true / old</th><th>p before &rarr; after</th><th>generation before / after</th></tr></thead><tbody>";
  for (const auto& p : (*details)["probes"]) {
    std::string suite = p.value("suite", "");
    if (p.contains("kind")) suite += "/" + p.value("kind", "");
    std::string generation;
    if (p.contains("generation") && p["generation"].is_array() && p["generation"].size() == 2) {
      generation = escape(p["generation"][0].get<std::string>()) + "<br>&rarr; " + escape(p["generation"][1].get<std::string>());
    }
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", escape(suite),
                     escape(p.value("prompt", "")), escape(p.value("target_new", "")), pair(p, "p_new"),
                     escape(p.value("target_true", "")), pair(p, "p_true"), generation);
  }
  h += "</tbody></table>";
  return h;
}

const char* kStyle = R"CSS(
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: right; }
th { background: #f4f4f4; position: sticky; top: 0; cursor: pointer; }
td:first-child, th:first-child { text-align: left; }
tr.failed td { color: #a00; }
tr.detail td { text-align: left; background: #fafafa; }
table.probes td, table.probes th { text-align: left; } table.probes th { position: static; cursor: default; }
p.edit { margin: 0.3em 0; } p.note { color: #666; }
pre { white-space: pre-wrap; font-size: 12px; max-height: 30em; overflow: auto; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.chart { margin: 0; border: 1px solid #eee; }
.chart .title { font-size: 13px; text-anchor: middle; font-weight: 600; }
.chart .tick { font-size: 10px; text-anchor: end; fill: #555; }
.chart .label { font-size: 11px; text-anchor: middle; }
.chart .legend { font-size: 11px; }
.chart .grid { stroke: #eee; } .chart .ci { stroke: #222; stroke-width: 1.2; }
.controls { margin: 0.6em 0; display: flex; gap: 1em; flex-wrap: wrap; align-items: center; }
#shown { font-weight: 600; }
)CSS";

// Sorting by a column (numbers as numbers, blanks last), the filters, the URL fragment, and each
// record's detail row.
const char* kScript = R"JS(
(function () {
  const table = document.getElementById('records');
  const body = table.tBodies[0];
  const rows = Array.from(body.querySelectorAll('tr.record'));
  const get = id => document.getElementById(id);
  function apply() {
    const report = get('f-report').value, status = get('f-status').value, q = get('f-q').value.toLowerCase();
    const nsp = get('f-nsplus').checked, loud = get('f-loud').checked;
    let shown = 0;
    for (const r of rows) {
      const ok = (!report || r.dataset.report === report) && (!status || r.dataset.status === status) &&
                 (!q || r.textContent.toLowerCase().includes(q)) && (!nsp || r.dataset.nsplus === '1') &&
                 (!loud || r.dataset.loud === '1');
      r.hidden = !ok;
      const d = r.nextElementSibling;
      if (!ok && d && d.classList.contains('detail')) d.hidden = true;
      if (ok) shown++;
    }
    get('shown').textContent = shown + ' of ' + rows.length + ' records';
  }
  for (const id of ['f-report', 'f-status', 'f-q', 'f-nsplus', 'f-loud']) get(id).addEventListener('input', apply);
  table.tHead.addEventListener('click', e => {
    const th = e.target.closest('th');
    if (!th) return;
    const col = th.cellIndex, asc = th.dataset.dir !== 'asc';
    for (const h of table.tHead.rows[0].cells) delete h.dataset.dir;
    th.dataset.dir = asc ? 'asc' : 'desc';
    const key = r => { const t = r.cells[col].textContent.trim(); const n = parseFloat(t);
                       return t === '' || t === '–' ? null : (isNaN(n) ? t : n); };
    const sorted = rows.slice().sort((a, b) => {
      const x = key(a), y = key(b);
      if (x === null) return 1; if (y === null) return -1;
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    });
    for (const r of sorted) { const d = r.nextElementSibling; body.appendChild(r); if (d && d.classList.contains('detail')) body.appendChild(d); }
  });
  body.addEventListener('click', e => {
    const r = e.target.closest('tr.record');
    if (!r) return;
    const d = r.nextElementSibling;
    if (d && d.classList.contains('detail')) d.hidden = !d.hidden;
  });
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get('filter') === 'ns-plus-failed') get('f-nsplus').checked = true;
  if (hash.get('filter') === 'loud') get('f-loud').checked = true;
  if (hash.get('report')) get('f-report').value = hash.get('report');
  if (hash.get('q')) get('f-q').value = hash.get('q');
  apply();
})();
)JS";

}  // namespace

bool ns_held_ns_plus_failed(const nlohmann::ordered_json& record) {
  const auto ns = mean_of(record, "specificity/NS"), nsp = mean_of(record, "specificity_plus/NS+");
  return ns && nsp && *ns >= 0.5 && *nsp < 0.5;
}

bool made_loud(const nlohmann::ordered_json& record) {
  const auto after = mean_of(record, "loud/rate");
  if (!after) return false;
  const auto before = mean_of(record, "loud/rate_before");
  return before ? *after > *before : *after > 0;
}

std::string html_report(const std::vector<nlohmann::ordered_json>& reports, const std::vector<std::string>& names) {
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                  "<title>editlab report</title><style>";
  h += kStyle;
  h += "</style></head><body>\n<h1>editlab report</h1>\n<ul id=\"reports\">";
  for (size_t i = 0; i < reports.size(); ++i) {
    const auto& r = reports[i];
    const auto& c = r["config"];
    const auto& s = r["summary"];
    h += fmt::format("<li><span style=\"color:{}\">&#9632;</span> <b>{}</b>: method {}, model {}, dataset {}, {} records "
                     "({} ok, {} failed){}{}</li>",
                     colour(i), escape(names[i]), escape(c.is_object() ? c.value("method", "?") : "?"),
                     escape(r.contains("model") ? r["model"].value("dir", "?") : "?"),
                     escape(r.contains("dataset") ? r["dataset"].value("path", "?") : "?"),
                     s.value("records", int64_t{0}), s.value("ok", int64_t{0}), s.value("failed", int64_t{0}),
                     r.value("complete", false) ? "" : ", <b>incomplete</b>",
                     r.contains("sequential") && r["sequential"].is_object()
                         ? fmt::format(", sequential: {} edits", r["sequential"].value("edits", int64_t{0}))
                         : "");
  }
  h += "</ul>\n";

  // Charts.
  std::set<std::string> all_metrics;
  for (const auto& r : reports) {
    for (const auto& [k, v] : r["aggregates"].items()) all_metrics.insert(k);
  }
  std::vector<std::string> implication, implication_known;
  for (const auto& m : all_metrics) {
    if (m.starts_with("implication/") && m.ends_with("/success")) implication.push_back(m);
    if (m.starts_with("implication/") && m.ends_with("/success_known")) implication_known.push_back(m);
  }
  h += "<h2>Charts</h2><p>Bars are means over records, whiskers their bootstrap intervals.</p><div class=\"charts\">";
  h += bar_chart("chart-efficacy", "Efficacy and paraphrase", {"efficacy/success", "paraphrase/success"}, reports,
                 names);
  h += bar_chart("chart-specificity", "Specificity vs Specificity+ (NS, NS+)",
                 {"specificity/NS", "specificity_plus/NS+"}, reports, names);
  h += bar_chart("chart-magnitude", "NM vs NM+", {"specificity/NM", "specificity_plus/NM+"}, reports, names);
  h += bar_chart("chart-loud", "Loud facts (rate before, after)", {"loud/rate_before", "loud/rate"}, reports, names);
  if (!implication.empty()) h += bar_chart("chart-implication", "Implication success per kind", implication, reports, names);
  if (!implication_known.empty()) {
    h += bar_chart("chart-implication-known", "Implication success, known probes",
                   implication_known, reports, names);
  }
  for (const char* m : {"efficacy/success", "specificity/NS", "specificity_plus/NS+", "loud/rate"}) {
    h += sequential_chart(fmt::format("chart-sequential-{}", std::string(m).substr(0, std::string(m).find('/'))), m,
                          reports, names);
  }
  h += "</div>\n";

  // The summary table.
  std::vector<std::string> metrics(all_metrics.begin(), all_metrics.end());
  std::stable_sort(metrics.begin(), metrics.end(), metric_less);
  h += "<h2>Summary</h2><table id=\"summary\"><thead><tr><th>metric</th>";
  for (size_t i = 0; i < reports.size(); ++i) {
    h += fmt::format("<th>{} (n={})</th>", escape(names[i]), reports[i]["summary"].value("ok", int64_t{0}));
  }
  h += "</tr></thead><tbody>";
  for (const auto& m : metrics) {
    h += "<tr><td>" + escape(m) + "</td>";
    for (const auto& r : reports) {
      const auto b = bar_of(r, m);
      if (!b.present) {
        h += "<td>–</td>";
        continue;
      }
      std::string probes;
      if (m.ends_with("/success_known")) probes = fmt::format(" ({} probes)", r["aggregates"][m].value("values", int64_t{0}));
      h += fmt::format("<td>{} [{}, {}]{}</td>", num(b.mean), num(b.lo), num(b.hi), probes);
    }
    h += "</tr>";
  }
  h += "</tbody></table>\n";

  // Records.
  const std::vector<std::pair<std::string, std::string>> columns = {{"efficacy/success", "ES"},
                                                                    {"paraphrase/success", "PS"},
                                                                    {"specificity/NS", "NS"},
                                                                    {"specificity_plus/NS+", "NS+"},
                                                                    {"loud/rate", "loud"}};
  h += "<h2>Records</h2><div class=\"controls\"><label>report <select id=\"f-report\"><option value=\"\">all</option>";
  for (const auto& n : names) h += fmt::format("<option>{}</option>", escape(n));
  h += "</select></label><label>status <select id=\"f-status\"><option value=\"\">all</option><option>ok</option>"
       "<option>failed</option></select></label><label>search <input id=\"f-q\" type=\"search\"></label>"
       "<label><input id=\"f-nsplus\" type=\"checkbox\"> NS held but NS+ failed</label>"
       "<label><input id=\"f-loud\" type=\"checkbox\"> made the fact loud</label><span id=\"shown\"></span></div>"
       "<p>Click a column to sort, a record to see its metrics per prompt and its details.</p>"
       "<table id=\"records\"><thead><tr><th>report</th><th>index</th><th>case_id</th><th>status</th>";
  for (const auto& [m, label] : columns) h += fmt::format("<th title=\"{}\">{}</th>", m, label);
  h += "</tr></thead><tbody>\n";
  for (size_t i = 0; i < reports.size(); ++i) {
    for (const auto& rec : reports[i]["records"]) {
      const std::string status = rec.value("status", "?");
      h += fmt::format("<tr class=\"record{}\" data-report=\"{}\" data-status=\"{}\" data-nsplus=\"{}\" data-loud=\"{}\">"
                       "<td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                       status == "ok" ? "" : " failed", escape(names[i]), escape(status),
                       ns_held_ns_plus_failed(rec) ? 1 : 0, made_loud(rec) ? 1 : 0, escape(names[i]),
                       rec.value("index", int64_t{-1}), escape(rec.contains("case_id") ? rec["case_id"].dump() : ""),
                       escape(status));
      for (const auto& [m, label] : columns) {
        const auto v = mean_of(rec, m);
        h += v ? fmt::format("<td>{}</td>", num(*v)) : "<td></td>";
      }
      h += "</tr>\n";
      Json detail = Json::object();
      if (rec.contains("error")) detail["error"] = rec["error"];
      if (rec.contains("metrics")) detail["metrics"] = rec["metrics"];
      if (rec.contains("details")) {
        // The edit's own diagnostics (losses per step, norms) stay in the JSON report.
        Json d = rec["details"];
        if (d.is_object()) {
          d.erase("edit");
          d.erase("edits");
        }
        if (!d.empty()) detail["details"] = std::move(d);
      }
      if (rec.contains("measured_after_edits")) detail["measured_after_edits"] = rec["measured_after_edits"];
      h += fmt::format("<tr class=\"detail\" hidden><td colspan=\"{}\">{}<details><summary>metrics per prompt and "
                       "details (JSON)</summary><pre>{}</pre></details></td></tr>\n",
                       4 + columns.size(), record_page(rec),
                       escape(rounded(detail).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)));
    }
  }
  h += "</tbody></table>\n<script>";
  h += kScript;
  h += "</script></body></html>\n";
  return h;
}

std::string html_comparison(const nlohmann::ordered_json& baseline, const nlohmann::ordered_json& candidate,
                            const Comparison& comparison) {
  std::string page = html_report({baseline, candidate}, {"baseline", "candidate"});
  std::vector<const MetricComparison*> rows;
  for (const auto& m : comparison.metrics) rows.push_back(&m);
  std::stable_sort(rows.begin(), rows.end(), [](const MetricComparison* a, const MetricComparison* b) {
    const auto bad = [](const MetricComparison* m) { return m->verdict == Verdict::outside || m->verdict == Verdict::missing; };
    return bad(a) && !bad(b);
  });
  auto opt = [](const std::optional<double>& v) { return v ? num(*v) : std::string("–"); };
  auto interval = [](const std::optional<std::pair<double, double>>& ci) {
    return ci ? fmt::format(" [{}, {}]", num(ci->first), num(ci->second)) : std::string();
  };
  std::string section = fmt::format(
      "<h2 id=\"verdict\">Comparison: {}</h2><p>{} metric(s) outside their tolerance or missing; candidate minus "
      "baseline, metrics outside first.</p>",
      comparison.passed() ? "every metric within its tolerance" : "<span style=\"color:#a00\">failed</span>",
      comparison.failures());
  for (const auto& w : comparison.warnings) section += "<p>warning: " + escape(w) + "</p>";
  section += "<table id=\"comparison\"><thead><tr><th>metric</th><th>baseline</th><th>candidate</th><th>difference</th>"
             "<th>verdict</th></tr></thead><tbody>";
  for (const auto* m : rows) {
    const bool bad = m->verdict == Verdict::outside || m->verdict == Verdict::missing;
    section += fmt::format("<tr class=\"{}\"><td>{}</td><td>{}{}</td><td>{}{}</td><td>{}</td><td>{}</td></tr>",
                           bad ? "failed" : "", escape(m->metric), opt(m->baseline_mean), interval(m->baseline_ci),
                           opt(m->candidate_mean), interval(m->candidate_ci), opt(m->diff), verdict_name(m->verdict));
  }
  section += "</tbody></table>\n";
  const auto at = page.find("</ul>\n");
  page.insert(at == std::string::npos ? 0 : at + 6, section);
  return page;
}

}  // namespace editlab::report
