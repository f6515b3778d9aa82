#pragma once
/// \file
/// load_mhealth(): the UCI MHEALTH per-subject logs (spec §6.1), raw or window-averaged.

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "resilinet/core/error.hpp"
#include "resilinet/data/dataset.hpp"
#include "resilinet/data/sha1.hpp"
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
  /// Where a one-line summary of the SHA-1 check against the UCI originals goes (null: none).
  std::ostream* log = &std::cerr;
};

/// Git blob SHA-1 of the original UCI file of subject k (index k−1), from the data README.
inline const char* mhealth_original_sha1(int subject) {
  static const char* known[10] = {
      "c962a497714c2cf243a4da711bb6d2b749af3ae8", "07db6a2fb015a0acf759c371b431a456634d27d9",
      "27d566cbc2f184f9f23488957b01fa85f327d82d", "4f74459f6545995e023de04137a7cc39576b7a55",
      "082adea0e577201ec68131cb87384083bf48521f", "943555f4f79be2250d2004c4fb6ef113d0410a39",
      "a6483aca689470cce13526c4c5e8b9e2f26d6387", "26fd92ed14c473a4b6e1fc3987e861bf4d20bb7c",
      "e79d57d00c6036fd63e29b874afd035836b8b665", "6ce8da94ef3c979f08808317c11eb9f210fa0087"};
  return subject >= 1 && subject <= 10 ? known[subject - 1] : "";
}

/// Number of sensor channels in an mHealth log row (the 24th column is the label).
inline constexpr std::size_t mhealth_features = 23;

/// Reads the subjects' logs from `dir`, concatenates them in order, drops label 0 and returns
/// (N, 23) features with labels 1..12.
///
/// Each file is compared with the UCI original's git blob SHA-1; a summary line reports how
/// many match (derived data such as window means is expected not to). Malformed rows throw
/// FormatError naming the file, line and token (escaped); so does a label that is not an
/// integer in 0..12 (also in full-precision mode: 2.5 is an error, never truncated) and a
/// requested subject file without data rows. A missing file is an IoError.
template <class T>
Dataset<T> load_mhealth(const std::string& dir, const MhealthOptions& options = {}) {
  require(!options.subjects.empty(), "load_mhealth: no subjects requested");
  std::vector<T> values;
  std::vector<int> labels;
  int matching = 0;
  for (int subject : options.subjects) {
    const std::string path = dir + "/mHealth_subject" + std::to_string(subject) + ".log";
    const std::string text = detail::read_file_bytes(path);
    matching += git_blob_sha1(text) == mhealth_original_sha1(subject);
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
                             ": '", quoted(std::string(p, std::strcspn(p, " \t\r")), 20),
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
  if (options.log)
    *options.log << "mhealth: " << labels.size() << " rows from " << options.subjects.size()
                 << " subject file(s) in '" << dir << "'; " << matching << " of "
                 << options.subjects.size() << " match the UCI originals' SHA-1"
                 << (matching == int(options.subjects.size()) ? "" : " (derived or modified data)")
                 << "\n";
  require<FormatError>(!labels.empty(), "'", dir, "': no labelled rows in the mHealth logs");
  return Dataset<T>{Tensor<T>(Shape{labels.size(), mhealth_features}, std::move(values)),
                    std::move(labels)};
}

}  // namespace resilinet
