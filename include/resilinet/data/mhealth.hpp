#pragma once
/// \file
/// load_mhealth(): the UCI MHEALTH per-subject logs (spec §6.1), raw or window-averaged.

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "resilinet/core/error.hpp"
#include "resilinet/data/dataset.hpp"
#include "resilinet/io/atomic_file.hpp"

namespace resilinet {

/// Which first lines are dropped, as the reference's preprocessing did.
enum class FirstLineSkip {
  /// Keep every line (correct for the raw logs, which have no header).
  none,
  /// Drop the first line of each subject file.
  each_file,
  /// The reference: drop each file's first line, and again the first row of the combined data.
  reference,
};

/// Settings of load_mhealth(); defaults reproduce the reference's preprocessing.
struct MhealthOptions {
  /// Subjects to read, `mHealth_subject<k>.log` for each k.
  std::vector<int> subjects{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  /// Truncate every value toward zero, as the reference's integer-format files did.
  bool int_truncate = true;
  /// First-line dropping behaviour.
  FirstLineSkip skip = FirstLineSkip::reference;
};

/// Number of sensor channels in an mHealth log row (the 24th column is the label).
inline constexpr std::size_t mhealth_features = 23;

/// Reads the subjects' logs from `dir`, concatenates them in order, drops label 0 and returns
/// (N, 23) features with labels 1..12.
///
/// Malformed rows throw
/// FormatError naming the file, line and token (escaped); so does a label that is not an
/// integer in 0..12 (also in full-precision mode: 2.5 is an error, never truncated) and a
/// requested subject file without data rows. A missing file is an IoError.
template <class T>
Dataset<T> load_mhealth(const std::string& dir, const MhealthOptions& options = {}) {
  require(!options.subjects.empty(), "load_mhealth: no subjects requested");
  std::vector<T> values;
  std::vector<int> labels;
  for (int subject : options.subjects) {
    const std::string path = dir + "/mHealth_subject" + std::to_string(subject) + ".log";
    const std::string text = detail::read_file_bytes(path);
    std::istringstream lines(text);
    std::string line;
    std::size_t line_no = 0, rows_in_file = 0;
    while (std::getline(lines, line)) {
      ++line_no;
      if (line_no == 1 && options.skip != FirstLineSkip::none) continue;
      const char* p = line.c_str();
      T row[mhealth_features + 1];
      std::size_t cols = 0;
      for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r') ++p;
        if (!*p) break;
        char* end = nullptr;
        const double v = std::strtod(p, &end);
        require<FormatError>(end != p && std::isfinite(v), "'", path, "' line ", line_no,
                             ": '", resilinet::quoted(std::string(p, std::strcspn(p, " \t\r")), 20),
                             "' is not a number");
        require<FormatError>(cols <= mhealth_features, "'", path, "' line ", line_no,
                             ": more than ", mhealth_features + 1, " columns");
        // The label (last column) is checked before any truncation.
        row[cols] = cols == mhealth_features ? T(v) : T(options.int_truncate ? std::trunc(v) : v);
        ++cols;
        p = end;
      }
      if (cols == 0) continue;  // blank line
      require<FormatError>(cols == mhealth_features + 1, "'", path, "' line ", line_no, ": ",
                           cols, " columns, expected ", mhealth_features + 1);
      const double label = double(row[mhealth_features]);
      require<FormatError>(label >= 0 && label <= 12 && label == std::floor(label), "'", path,
                           "' line ", line_no, ": label ", label, " is not an integer in 0..12");
      ++rows_in_file;
      if (label == 0) continue;
      values.insert(values.end(), row, row + mhealth_features);
      labels.push_back(int(label));
    }
    // A requested subject that contributes nothing is an error, not a silent omission.
    require<FormatError>(rows_in_file > 0, "'", path, "' holds no data rows (", line_no,
                         " line(s)); every requested subject file must hold rows");
  }
  if (options.skip == FirstLineSkip::reference && !labels.empty()) {
    values.erase(values.begin(), values.begin() + mhealth_features);
    labels.erase(labels.begin());
  }
  require<FormatError>(!labels.empty(), "'", dir, "': no labelled rows in the mHealth logs");
  return Dataset<T>{Tensor<T>(Shape{labels.size(), mhealth_features}, values),
                    std::move(labels)};
}

}  // namespace resilinet
