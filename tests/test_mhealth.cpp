// The mHealth loader on the real files in ../shared/data (found through RESILINET_DATA_DIR).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

#include "helpers.hpp"

using namespace resilinet;

namespace {

bool have_data(const char* sub) {
  const std::string dir = testing::data_dir() + "/" + sub;
  if (std::ifstream(dir + "/mHealth_subject1.log").good()) return true;
  if (testing::require_data()) FAIL("RESILINET_DATA_DIR does not hold " << sub << " (CI must provide ../shared/data)");
  MESSAGE("skipped: set RESILINET_DATA_DIR to ../shared/data to run the mHealth loader tests");
  return false;
}

}  // namespace

TEST_CASE("mHealth raw sample: 36 rows per subject, label 0 dropped, truncation options") {
  if (!have_data("mhealth-raw-sample")) return;
  const std::string dir = testing::data_dir() + "/mhealth-raw-sample";
  MhealthOptions exact;
  exact.subjects = {1, 2};
  exact.int_truncate = false;
  exact.skip = FirstLineSkip::none;
  const auto d = load_mhealth<double>(dir, exact);
  CHECK(d.x.shape() == Shape{72, 23});
  std::vector<int> counts(13, 0);
  for (int y : d.y) ++counts[y];
  CHECK(counts[0] == 0);
  for (int c = 1; c <= 12; ++c) CHECK(counts[c] == 6);  // 3 per class per subject
  // First row of subject 1 as written in the file.
  std::ifstream in(dir + "/mHealth_subject1.log");
  double first;
  in >> first;
  CHECK(d.x[0] == first);
  MhealthOptions ref = exact;
  ref.int_truncate = true;
  ref.skip = FirstLineSkip::reference;
  const auto t = load_mhealth<double>(dir, ref);
  CHECK(t.size() == 72 - 3);  // two files' first lines and the combined first row
  for (double v : t.x) CHECK(v == std::trunc(v));
}

TEST_CASE("mHealth window means: 10,729 rows of 23 features with labels 1..12") {
  if (!have_data("mhealth-window-means")) return;
  MhealthOptions o;
  o.int_truncate = false;
  o.skip = FirstLineSkip::none;
  const auto d = load_mhealth<float>(testing::data_dir() + "/mhealth-window-means", o);
  CHECK(d.size() == 10729);
  CHECK(d.x.dim(1) == 23);
  CHECK(*std::min_element(d.y.begin(), d.y.end()) == 1);
  CHECK(*std::max_element(d.y.begin(), d.y.end()) == 12);
}

TEST_CASE("mHealth loader names malformed input") {
  const std::string dir = "/tmp/resilinet_mhealth_" + std::to_string(::getpid());
  ::mkdir(dir.c_str(), 0755);
  MhealthOptions o;
  o.subjects = {1};
  o.skip = FirstLineSkip::none;
  std::ofstream(dir + "/mHealth_subject1.log") << "1 2 3\n";
  CHECK_THROWS_WITH_AS(load_mhealth<float>(dir, o),
                       ("'" + dir + "/mHealth_subject1.log' line 1: 3 columns, expected 24").c_str(),
                       FormatError);
  std::ofstream(dir + "/mHealth_subject1.log") << "1 2 x3\n";
  CHECK_THROWS_AS(load_mhealth<float>(dir, o), FormatError);
  o.subjects = {2};
  CHECK_THROWS_AS(load_mhealth<float>(dir, o), IoError);
  std::remove((dir + "/mHealth_subject1.log").c_str());
  ::rmdir(dir.c_str());
}

TEST_CASE("mHealth loader rejects an empty subject file, a fractional label and binary garbage") {
  const std::string dir = "/tmp/resilinet_mhealth_bad_" + std::to_string(::getpid());
  ::mkdir(dir.c_str(), 0755);
  const std::string file = dir + "/mHealth_subject1.log", other = dir + "/mHealth_subject2.log";
  std::string good;
  for (int i = 0; i < 23; ++i) good += "1.5 ";
  std::ofstream(other) << good << "3\n";
  MhealthOptions o;
  o.subjects = {1, 2};
  o.skip = FirstLineSkip::none;
  { std::ofstream create(file); }  // empty: must not train on the other subjects silently
  CHECK_THROWS_WITH_AS(load_mhealth<float>(dir, o),
                       ("'" + file + "' holds no data rows (0 line(s)); every requested subject file must hold rows").c_str(),
                       FormatError);
  std::ofstream(file) << good << "2.5\n";
  for (bool truncate : {true, false}) {
    o.int_truncate = truncate;
    CHECK_THROWS_WITH_AS(load_mhealth<float>(dir, o),
                         ("'" + file + "' line 1: label 2.5 is not an integer in 0..12").c_str(), FormatError);
  }
  std::ofstream(file, std::ios::binary) << std::string("\x01\xff\x89PNG garbage", 14) << "\n";
  try {
    load_mhealth<float>(dir, o);
    FAIL("binary garbage was accepted");
  } catch (const FormatError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("'\\x01\\xff\\x89PNG' is not a number") != std::string::npos);
    for (unsigned char c : msg) CHECK_UNARY(c >= 0x20);  // nothing raw reaches the terminal
  }
  std::remove(file.c_str());
  std::remove(other.c_str());
  ::rmdir(dir.c_str());
}

TEST_CASE("quoted() escapes non-printable bytes and cuts long text") {
  CHECK(quoted("ok") == "ok");
  CHECK(quoted(std::string("a\0b\n", 4)) == "a\\x00b\\x0a");
  CHECK(quoted(std::string(50, 'z'), 10) == "zzzzzzzzzz...");
}
