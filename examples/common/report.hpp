#pragma once
// Result output shared by the examples: the reference's text lines, a CSV table, an SVG plot.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <resilinet/eval/expected_accuracy.hpp>
#include <resilinet/io/atomic_file.hpp>
#include <resilinet/resilience/failure_mask.hpp>

namespace examples {

/// A double as Python's str() prints it: the shortest round-trip digits, fixed notation for
/// exponents -4..15 ("0.0001", "1.0"), else scientific ("1e-05", "1e+16"); "nan", "inf".
inline std::string py(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string sci(buf, r.ptr);  // "-d.ddde±XX"
  const auto e_at = sci.find('e');
  const int exp = std::atoi(sci.c_str() + e_at + 1);
  if (exp < -4 || exp >= 16) return sci;
  const bool negative = sci[0] == '-';
  std::string digits;
  for (std::size_t i = negative; i < e_at; ++i)
    if (sci[i] != '.') digits += sci[i];
  std::string s;
  if (exp < 0) {
    s = "0." + std::string(std::size_t(-exp - 1), '0') + digits;
  } else if (digits.size() <= std::size_t(exp) + 1) {
    s = digits + std::string(std::size_t(exp) + 1 - digits.size(), '0') + ".0";
  } else {
    s = digits.substr(0, std::size_t(exp) + 1) + "." + digits.substr(std::size_t(exp) + 1);
  }
  return negative ? "-" + s : s;
}

/// The standard deviation of `m`, 0 when it has none (one value).
inline double spread(const resilinet::MeanStd& m) { return std::isnan(m.std) ? 0.0 : m.std; }

/// A list as Python prints it, e.g. "[0.99, 0.96, 0.92]".
inline std::string py(const std::vector<double>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + py(v[i]);
  return s + "]";
}

/// One named reliability setting; `text` is how the reference prints it.
struct Setting {
  std::string name;
  std::vector<double> reliability;
  std::string text;
};

/// The four health reliability settings of spec §1.3 ([fog1, fog2, edge]).
inline std::vector<Setting> health_settings() {
  return {{"no_failure", {1, 1, 1}, "[1, 1, 1]"},
          {"normal", {0.99, 0.96, 0.92}, "[0.99, 0.96, 0.92]"},
          {"poor", {0.95, 0.91, 0.87}, "[0.95, 0.91, 0.87]"},
          {"hazardous", {0.85, 0.8, 0.78}, "[0.85, 0.8, 0.78]"}};
}

/// The four CNN reliability settings of spec §1.3 ([fog, edge]; CIFAR and ImageNet).
inline std::vector<Setting> cnn_settings() {
  return {{"no_failure", {1, 1}, "[1, 1]"},
          {"normal", {0.98, 0.96}, "[0.98, 0.96]"},
          {"poor", {0.95, 0.9}, "[0.95, 0.9]"},
          {"hazardous", {0.85, 0.8}, "[0.85, 0.8]"}};
}

/// The four camera reliability settings of spec §1.3 ([f1..f4, e1..e4]).
inline std::vector<Setting> camera_settings() {
  return {{"no_failure", {1, 1, 1, 1, 1, 1, 1, 1}, "[1, 1, 1, 1, 1, 1, 1, 1]"},
          {"normal", {.99, .99, .99, .99, .98, .98, .98, .98}, "[0.99, 0.99, 0.99, 0.99, 0.98, 0.98, 0.98, 0.98]"},
          {"poor", {.95, .95, .9, .9, .8, .8, .75, .75}, "[0.95, 0.95, 0.9, 0.9, 0.8, 0.8, 0.75, 0.75]"},
          {"hazardous", {.8, .8, .75, .75, .7, .7, .65, .65}, "[0.8, 0.8, 0.75, 0.75, 0.7, 0.7, 0.65, 0.65]"}};
}

/// Collects the text lines, CSV rows and plot values of one experiment run.
class Report {
 public:
  /// A report of `experiment` whose lines are echoed to stdout when `echo`.
  explicit Report(std::string experiment, bool echo = true) : experiment_(std::move(experiment)), echo_(echo) {}

  /// Appends one line of the reference-format text file (echoed to stdout).
  void line(const std::string& s) {
    text_ += s + "\n";
    if (!echo_) return;
    std::printf("%s\n", s.c_str());
    std::fflush(stdout);
  }

  /// Records one evaluation: CSV row and a value for the plot's (series, setting) cell.
  void row(const std::string& model, const std::string& variant, const Setting& setting,
           int iteration, double expected, const std::vector<double>& combination_accuracy) {
    if (csv_.empty()) {
      csv_ = "experiment,model,variant,setting,reliability,iteration,expected_accuracy";
      std::size_t nodes = 0;
      while ((std::size_t(1) << nodes) < combination_accuracy.size()) ++nodes;
      for (std::size_t i = 0; i < combination_accuracy.size(); ++i) {
        csv_ += ",acc_";
        for (std::uint8_t alive : resilinet::failure_combination(i, nodes)) csv_ += char('0' + alive);
      }
      csv_ += "\n";
    }
    csv_ += experiment_ + "," + model + "," + quote(variant) + "," + setting.name + "," +
            quote(setting.text) + "," + std::to_string(iteration) + "," + py(expected);
    for (double a : combination_accuracy) csv_ += "," + py(a);
    csv_ += "\n";
    const std::string series = variant.empty() ? model : model + " " + variant;
    if (plot_.find(series) == plot_.end()) series_order_.push_back(series);
    plot_[series][setting.name].push_back(expected);
  }

  /// Writes <out>/<experiment>.txt, .csv and .svg atomically; returns the text path.
  std::string write(const std::string& out_dir, const std::vector<Setting>& settings) const {
    const std::string base = out_dir + "/" + experiment_;
    resilinet::write_text_file(base + ".txt", text_);
    resilinet::write_text_file(base + ".csv", csv_);
    resilinet::write_text_file(base + ".svg", svg(settings));
    return base + ".txt";
  }

  /// The plot: one group of bars per setting, one bar per series, the mean over iterations
  /// with its value above it and an error bar of ± one standard deviation (the .txt's std;
  /// none from one iteration), on an opaque background with labelled axes.
  std::string svg(const std::vector<Setting>& settings) const {
    const double w = 900, h = 440, left = 70, bottom = 60, top = 50;
    const double group_w = (w - left - 20) / double(settings.size());
    const double bar_w = group_w * 0.8 / double(std::max<std::size_t>(1, series_order_.size()));
    const double height = h + 30 * double((series_order_.size() + 3) / 4);
    static const char* colors[] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e",
                                   "#e6ab02", "#a6761d", "#666666", "#1f78b4", "#b2df8a"};
    std::size_t iterations = 0;
    for (const auto& [series, cells] : plot_)
      for (const auto& [setting, values] : cells) iterations = std::max(iterations, values.size());
    std::ostringstream s;
    s << "<svg xmlns='http://www.w3.org/2000/svg' width='" << w << "' height='" << height
      << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n";
    s << "<text x='" << left << "' y='22' font-size='15'>" << experiment_ << ": expected accuracy, mean \u00b1 std over "
      << iterations << " iteration(s)</text>\n";
    const double plot_h = h - bottom - top;
    for (int t = 0; t <= 5; ++t) {
      const double y = top + plot_h * (1 - t / 5.0);
      s << "<line x1='" << left << "' x2='" << w - 20 << "' y1='" << y << "' y2='" << y
        << "' stroke='#ddd'/><text x='" << left - 30 << "' y='" << y + 4 << "'>" << t / 5.0
        << "</text>\n";
    }
    s << "<text transform='translate(18," << top + plot_h / 2 << ") rotate(-90)' text-anchor='middle'>expected accuracy</text>\n";
    s << "<text x='" << left + (w - left - 20) / 2 << "' y='" << h - 14
      << "' text-anchor='middle'>reliability setting (node survival probabilities)</text>\n";
    const double label_size = std::min(11.0, std::max(7.0, bar_w * 0.35));
    for (std::size_t g = 0; g < settings.size(); ++g) {
      const double gx = left + g * group_w + group_w * 0.1;
      for (std::size_t k = 0; k < series_order_.size(); ++k) {
        const auto& cells = plot_.at(series_order_[k]);
        auto it = cells.find(settings[g].name);
        if (it == cells.end()) continue;
        const resilinet::MeanStd ms = resilinet::mean_std(it->second);
        const double mean = ms.mean, sd = spread(ms);
        const auto y_of = [&](double v) { return top + plot_h * (1 - std::max(0.0, std::min(1.0, v))); };
        const double x = gx + k * bar_w, mid = x + bar_w * 0.45;
        s << "<rect x='" << x << "' y='" << y_of(mean) << "' width='" << bar_w * 0.9 << "' height='"
          << top + plot_h - y_of(mean) << "' fill='" << colors[k % 10] << "'><title>" << series_order_[k] << " "
          << settings[g].name << ": " << mean << " \u00b1 " << sd << "</title></rect>\n";
        if (sd > 0)
          s << "<path d='M" << mid << " " << y_of(mean - sd) << "V" << y_of(mean + sd) << "M"
            << mid - bar_w * 0.2 << " " << y_of(mean + sd) << "h" << bar_w * 0.4 << "M" << mid - bar_w * 0.2
            << " " << y_of(mean - sd) << "h" << bar_w * 0.4 << "' stroke='black' fill='none'/>\n";
        char value[16];
        std::snprintf(value, sizeof value, "%.3f", mean);
        s << "<text transform='translate(" << mid + label_size * 0.35 << "," << y_of(mean + sd) - 4
          << ") rotate(-90)' font-size='" << label_size << "'>" << value << "</text>\n";
      }
      s << "<text x='" << gx << "' y='" << h - bottom + 18 << "'>" << settings[g].name << " "
        << settings[g].text << "</text>\n";
    }
    for (std::size_t k = 0; k < series_order_.size(); ++k) {
      const double x = left + double(k % 4) * 200, y = h + 12 + 22 * double(k / 4);
      s << "<rect x='" << x << "' y='" << y - 10 << "' width='12' height='12' fill='"
        << colors[k % 10] << "'/><text x='" << x + 16 << "' y='" << y << "'>" << series_order_[k]
        << "</text>\n";
    }
    s << "</svg>\n";
    return s.str();
  }

 private:
  static std::string quote(const std::string& s) { return "\"" + s + "\""; }

  std::string experiment_;
  bool echo_;
  std::string text_, csv_;
  std::map<std::string, std::map<std::string, std::vector<double>>> plot_;
  std::vector<std::string> series_order_;
};

}  // namespace examples
