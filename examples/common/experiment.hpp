#pragma once
// Shared driver of every experiment program (health, CIFAR MobileNet and ResNet, ImageNet):
// flags, data, model building, training with per-epoch checkpoints and --resume, failure
// evaluation and the reference-format report. The sweeps themselves are in sweeps.cpp,
// program_main() in program.cpp.

#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <resilinet/resilinet.hpp>
#ifdef RESILINET_WITH_MPI
#include <resilinet/dist/mpi.hpp>
#endif

#include "cli.hpp"
#include "plan.hpp"
#include "program.hpp"
#include "report.hpp"
#include "run_record.hpp"

namespace examples {

using Net = resilinet::PartitionedNetwork<float>;

/// Command-line settings; defaults are the paper's (set per kind in add_flags()).
struct Args {
  std::string data, test_data;
  std::string out = "results";
  std::string models = "models";
  int partition = 1;
  bool resilinet_plus = false;
  int iterations = 10;
  std::size_t epochs = 50;
  std::size_t batch_size = 1024;
  std::uint64_t seed = 42;
  int threads = resilinet::max_threads();
  bool load = false;
  bool resume = false;
  bool standardize = false;
  double exits = 0;
  std::string profile = "paper";
  bool quick = false;
  bool show_plan = false;
  std::string shard;
  Share share;
  std::vector<std::string> merge;
  int ranks_per_model = 1;
  std::string mux = "select";
  std::string granularity = "batch";
  bool guess_index = false;
  std::vector<double> failout_rates;
  // health
  bool full_precision = false;
  std::string first_lines = "reference";
  std::string split = "seeded";
  // vision
  std::size_t subset = 0;
  double alpha = 0.75;
  std::size_t image_size = 0;
  bool no_augment = false;
  double bn_momentum = 0.99;
  std::string bn_average = "keras";
  // camera
  std::string grouping = "object";
  bool bgr = false;
};

/// CLI::Range for real values, with the bounds written as a person writes them (0.01, not
/// 0.010000) in --help and in the error message.
inline CLI::Validator real_range(double lo, double hi) {
  std::ostringstream text;
  text << "FLOAT in [" << lo << " - " << hi << "]";
  return CLI::Validator(
      [lo, hi](std::string& value) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(value.c_str(), &end);
        if (value.empty() || *end != '\0' || !(v >= lo && v <= hi)) {
          std::ostringstream m;
          m << "Value " << value << " not in range " << lo << " to " << hi;
          return m.str();
        }
        return "";
      },
      text.str());
}

/// What --profile sets for `kind` (docs/experiments.md has what each profile measured).
inline std::string profile_help(Kind kind) {
  const std::string paper = "paper (the paper's budget), ";
  const std::string rest = "; flags given explicitly override the profile's values";
  switch (kind) {
    case Kind::health:
      return paper + "medium (3 iterations of 50 epochs) or quick (3 iterations of 40 epochs)" + rest;
    case Kind::camera:
      return paper + "medium (3 iterations of 50 epochs) or quick (3 iterations of 10 epochs)" + rest;
    case Kind::cifar_resnet:
      return paper + "medium (3 iterations of 15 epochs) or quick (5000 training images, 1250 validation and test, 6 epochs, batch 64)" + rest;
    case Kind::cifar_mobilenet:
      return paper + "medium (3 iterations, 20000 training images, 15 epochs, batch 64, alpha 0.25) or quick (5000 training images, 1250 validation and test, 6 epochs, batch 64, alpha 0.25)" + rest;
    default:
      return paper + "medium (3 iterations, 96x96 images, 4000 training images, 10 epochs, batch 64, alpha 0.25) or quick (96x96, 1600 training and 400 test images, 6 epochs, batch 64, alpha 0.25)" + rest;
  }
}

/// Applies --profile (--quick: quick) of `kind` to the settings `app` was not given explicitly.
inline void apply_profile(Args& a, Kind kind, const CLI::App& app) {
  if (a.quick) a.profile = "quick";
  if (a.profile == "paper") return;
  const bool quick = a.profile == "quick";
  auto set = [&app](const char* flag, auto& value, auto profile_value) {
    if (app.count(flag) == 0) value = profile_value;
  };
  if (kind == Kind::health || kind == Kind::camera) {
    set("--iterations", a.iterations, 3);
    if (quick) set("--epochs", a.epochs, std::size_t(kind == Kind::health ? 40 : 10));
    return;
  }
  if (!quick) set("--iterations", a.iterations, 3);
  if (kind == Kind::cifar_resnet && !quick) {
    set("--epochs", a.epochs, std::size_t(15));
    return;
  }
  const bool imagenet = kind == Kind::imagenet;
  set("--epochs", a.epochs, std::size_t(quick ? 6 : imagenet ? 10 : 15));
  set("--subset", a.subset, std::size_t(imagenet ? (quick ? 1600 : 4000) : (quick ? 5000 : 20000)));
  set("--batch-size", a.batch_size, std::size_t(64));
  if (kind != Kind::cifar_resnet) set("--alpha", a.alpha, 0.25);
  if (imagenet) set("--image-size", a.image_size, std::size_t(96));
}

/// Registers the flags of `kind` on `app`, with that kind's paper defaults in `a`; a failout-rate
/// sweep (`failout_rates` not empty) also gets --failout-rates with those as its default.
inline void add_flags(CLI::App& app, Args& a, Kind kind, const std::vector<double>& failout_rates = {}) {
  const bool health = kind == Kind::health, imagenet = kind == Kind::imagenet, camera = kind == Kind::camera;
  const char* env = std::getenv("RESILINET_DATA_DIR");
  const std::string sub = health ? "mhealth-window-means" : imagenet ? "imagenette-val" : camera ? "multiview" : "cifar10-jpg";
  if (env) a.data = std::string(env) + "/" + sub;
  a.iterations = health || camera ? 10 : 1;
  a.epochs = health || camera ? 50 : imagenet ? 10 : 75;
  a.batch_size = health ? 1024 : camera ? 64 : 128;
  a.image_size = imagenet ? 160 : 32;
  if (health) a.split = "fresh";
  app.get_formatter()->column_width(34);
  if (health)
    app.add_option("--data", a.data, "folder with mHealth_subject1..10.log (default: $RESILINET_DATA_DIR/" + sub + ")");
  else if (camera)
    app.add_option("--data", a.data, "multi-view folder with train_dir, test_dir (validation) and holdout_dir (test) (default: $RESILINET_DATA_DIR/" + sub + ")");
  else if (imagenet)
    app.add_option("--data", a.data, "ImageNet training tree <class>/<image> (default: $RESILINET_DATA_DIR/" + sub +
                                         "); without --test-data it is split 80/20 into train and test");
  else
    app.add_option("--data", a.data, "CIFAR-10 as a JPEG tree (train/<class>, test/<class>) or the binary batches (default: $RESILINET_DATA_DIR/" + sub + ")");
  if (imagenet) app.add_option("--test-data", a.test_data, "ImageNet validation tree <class>/<image> (the paper's test set)");
  app.add_option("--out", a.out, "folder for results (.txt, .csv, .svg)")->capture_default_str();
  app.add_option("--models", a.models, "folder for trained models and checkpoints")->capture_default_str();
  app.add_option("--partition", a.partition, "layers per node: partition setting 1 or 2 of the reference")
      ->check(CLI::IsMember({1, 2}))->capture_default_str();
  app.add_flag("--resilinet-plus", a.resilinet_plus, "ResiliNet+: the mux adds its inputs (failout kept)");
  app.add_option("--iterations", a.iterations, "independent retrains")->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--epochs", a.epochs, "training epochs")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--batch-size", a.batch_size, "mini-batch size")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  app.add_option("--seed", a.seed, "master seed (data split, init, failout, augmentation, guesses)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--threads", a.threads, "threads (default: the CPUs this process may use; idle threads sleep)")->check(CLI::Range(1, 1024));
  app.add_flag("--load", a.load, "evaluate the models saved by an earlier run instead of training");
  app.add_flag("--resume", a.resume, "continue a killed run: finished models are loaded, the interrupted one continues from its last epoch");
  app.add_flag("--plan", a.show_plan, "list the trainings of the sweep with their seeds' places and estimated cost, then stop");
  app.add_option("--shard", a.shard, "run shard i of n (1 <= i <= n) of the trainings and write a partial results file for --merge")
      ->type_name("i/n")
      ->check(CLI::Validator([&a](std::string& v) { return parse_shard(v, a.share); }, "i/n"));
  app.add_option("--merge", a.merge, "combine the partial results files of --shard runs found in these folders into the results")
      ->type_name("DIR...");
  app.add_option("--ranks-per-model", a.ranks_per_model, "under mpirun: ranks that train one model data-parallel (1: trainings dealt to ranks)")
      ->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--mux", a.mux, "ResiliNet mux: select (alive state), legacy (add in training), batch-sum (reference's zero test)")
      ->check(CLI::IsMember({"select", "legacy", "batch-sum"}))->capture_default_str();
  app.add_option("--failout-granularity", a.granularity, "failout draws per batch or per example")
      ->check(CLI::IsMember({"batch", "example"}))->capture_default_str();
  app.add_flag("--guess-index", a.guess_index, "reproduce the reference's random guess of a class index");
  app.add_option("--exits", a.exits, "early exits: a classifier on every failable node, trained with this loss weight, "
                                     "answers when no live path reaches the cloud instead of a random guess (0: none)")
      ->check(real_range(0.0, 100.0))->capture_default_str();
  a.failout_rates = failout_rates;
  if (!failout_rates.empty())
    app.add_option("--failout-rates", a.failout_rates, "fixed failout survival rates to train, comma-separated (1: no failout)")
        ->delimiter(',')->check(real_range(0.0, 1.0))->capture_default_str();
  app.add_option("--profile", a.profile, profile_help(kind))->check(CLI::IsMember({"quick", "medium", "paper"}))->capture_default_str();
  app.add_flag("--quick", a.quick, "the same as --profile quick");
  if (health) {
    app.add_flag("--full-precision", a.full_precision, "keep decimals (the reference truncated values to integers)");
    app.add_option("--first-lines", a.first_lines, "first-line dropping: reference, each-file, none")
        ->check(CLI::IsMember({"reference", "each-file", "none"}))->capture_default_str();
    app.add_option("--split", a.split,
                   "data split: fresh (80/10/10 anew every iteration from --seed), seeded (one "
                   "80/10/10 split from --seed, the first of fresh's, for every iteration) or "
                   "reference (scikit-learn's train_test_split with random_state 42, index for index)")
        ->check(CLI::IsMember({"fresh", "seeded", "reference"}))->capture_default_str();
    app.add_flag("--standardize", a.standardize,
                 "standardize each feature with the training split's mean and std (a Standardize layer on the IoT node, saved with the model)");
    return;
  }
  if (camera) {
    app.add_option("--grouping", a.grouping, "views of an example: object (one object of one frame, in camera order) or reference (the reference's frame buckets)")
        ->check(CLI::IsMember({"object", "reference"}))->capture_default_str();
    app.add_flag("--bgr", a.bgr, "feed channels in BGR order as the reference (OpenCV) did");
    return;
  }
  app.add_option("--subset", a.subset, "use only N training images (and N/4 validation and test images)")->check(CLI::Range(1, 100000000));
  if (kind != Kind::cifar_resnet)
    app.add_option("--alpha", a.alpha, "MobileNet width multiplier")->check(real_range(0.01, 4.0))->capture_default_str();
  app.add_option("--image-size", a.image_size, "input height and width")->check(CLI::Range(8, 1024))->capture_default_str();
  app.add_flag("--no-augment", a.no_augment, "train without the paper's augmentation");
  app.add_option("--bn-momentum", a.bn_momentum, "momentum of the batch norms' moving statistics (Keras: 0.99)")
      ->check(real_range(0.0, 0.9999))->capture_default_str();
  app.add_option("--bn-average", a.bn_average, "batch norms' moving statistics: keras (zero-debiased, as the reference's Keras 2.2 on TensorFlow 1) or plain (an average from mean 0, variance 1)")
      ->check(CLI::IsMember({"keras", "plain"}))->capture_default_str();
}

/// The shortest decimal text that reads back as `v`.
inline std::string exact_text(double v) {
  char buf[32];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

/// The flags that give a run `a`'s settings (those Experiment::run_settings() records, the data
/// folders aside) as "--flag value" words; the run file in the models folder keeps them for
/// --load. Flags a program does not have are skipped when read back.
inline std::string settings_flags(const Args& a) {
  std::ostringstream f;
  f << "--seed " << a.seed << " --threads " << a.threads << " --partition " << a.partition << " --iterations "
    << a.iterations << " --epochs " << a.epochs << " --batch-size " << a.batch_size << " --mux " << a.mux
    << " --failout-granularity " << a.granularity << " --split " << a.split << " --first-lines " << a.first_lines
    << " --alpha " << exact_text(a.alpha) << " --bn-momentum " << exact_text(a.bn_momentum) << " --bn-average "
    << a.bn_average << " --grouping " << a.grouping;
  if (a.subset) f << " --subset " << a.subset;
  if (a.image_size) f << " --image-size " << a.image_size;
  if (a.exits > 0) f << " --exits " << exact_text(a.exits);
  for (std::size_t i = 0; i < a.failout_rates.size(); ++i)
    f << (i ? "," : " --failout-rates ") << exact_text(a.failout_rates[i]);
  for (const auto& [flag, on] : {std::pair<const char*, bool>{"--resilinet-plus", a.resilinet_plus},
                                 {"--full-precision", a.full_precision}, {"--no-augment", a.no_augment},
                                 {"--bgr", a.bgr}, {"--standardize", a.standardize}})
    if (on) f << " " << flag;
  return f.str();
}

/// The words of the "flags" line of run file `path` (none when it has no such line or is absent).
inline std::vector<std::string> run_file_flags(const std::string& path) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("flags ", 0) == 0) {
      std::istringstream words(line.substr(6));
      return {std::istream_iterator<std::string>(words), std::istream_iterator<std::string>()};
    }
  return {};
}

/// The mHealth data of `a`, unsplit.
/// Runs `load`; an IoError (a folder or file that is missing or unreadable) gets `layout`,
/// what the --data folder must hold, appended.
template <class Load>
auto with_layout_hint(const std::string& layout, Load&& load) -> decltype(load()) {
  try {
    return load();
  } catch (const resilinet::IoError& e) {
    throw resilinet::IoError(std::string(e.what()) + " (--data must be " + layout + ")");
  }
}

inline resilinet::Dataset<float> load_health_data(const Args& a) {
  resilinet::MhealthOptions mo;
  mo.int_truncate = !a.full_precision;
  mo.skip = a.first_lines == "none"        ? resilinet::FirstLineSkip::none
            : a.first_lines == "each-file" ? resilinet::FirstLineSkip::each_file
                                           : resilinet::FirstLineSkip::reference;
  return with_layout_hint("a folder holding mHealth_subject1.log ... mHealth_subject10.log",
                          [&] { return resilinet::load_mhealth<float>(a.data, mo); });
}

/// `all` split into train, validation and test as the health programs split it: 80/10/10 from
/// `split_rng` (seeded; fresh uses this split in its first iteration), or the reference's.
inline std::vector<resilinet::Dataset<float>> split_health(const Args& a, const resilinet::Dataset<float>& all,
                                                           resilinet::Rng& split_rng) {
  if (a.split != "reference") return resilinet::split(all, {0.8, 0.1, 0.1}, split_rng);
  std::vector<resilinet::Dataset<float>> parts;
  for (const auto& idx : resilinet::reference_split_indices(all.size())) parts.push_back(all.subset(idx));
  return parts;
}

/// The mHealth data of `a` split as the health programs split it in their first iteration
/// (`split_rng`: the run generator's first fork).
inline std::vector<resilinet::Dataset<float>> load_health_splits(const Args& a, resilinet::Rng& split_rng) {
  return split_health(a, load_health_data(a), split_rng);
}

/// CIFAR-10 split as the CIFAR programs split it (`split_rng`: the run generator's first fork): the
/// 50k training and 10k test images joined and resplit 80/10/10 (spec §6.2), then with --subset
/// the training part cut to it and the validation and test parts to a quarter of it. From a
/// JPEG tree only the images of the splits are decoded (with `test_only`, only the test part's:
/// the other two stay empty).
inline std::array<resilinet::ImageDataset, 3> load_cifar_splits(const Args& a, resilinet::Rng& split_rng,
                                                                bool test_only = false) {
  const auto limit = [&a](std::vector<std::vector<std::size_t>>& idx) {
    if (!a.subset) return;
    idx[0].resize(std::min(idx[0].size(), a.subset));
    for (int k = 1; k < 3; ++k) idx[std::size_t(k)].resize(std::min(idx[std::size_t(k)].size(), std::max<std::size_t>(1, a.subset / 4)));
  };
  std::array<resilinet::ImageDataset, 3> parts;
  if (std::ifstream(a.data + "/data_batch_1.bin").good()) {
    auto c = resilinet::load_cifar10_binary(a.data);
    resilinet::ImageDataset all = std::move(c.train);
    all.append(c.test);
    auto idx = resilinet::split_indices(all.size(), {0.8, 0.1, 0.1}, split_rng);
    limit(idx);
    for (int k = test_only ? 2 : 0; k < 3; ++k) parts[std::size_t(k)] = all.subset(idx[std::size_t(k)]);
  } else {
    with_layout_hint("CIFAR-10 as a JPEG tree (train/<class>/, test/<class>/) or as its binary batches "
                     "(data_batch_1.bin ... data_batch_5.bin, test_batch.bin)",
                     [&] {
                       resilinet::ImageFileList all = resilinet::list_image_folder(a.data + "/train");
                       all.append(resilinet::list_image_folder(a.data + "/test"));
                       auto idx = resilinet::split_indices(all.paths.size(), {0.8, 0.1, 0.1}, split_rng);
                       limit(idx);
                       for (int k = test_only ? 2 : 0; k < 3; ++k)
                         parts[std::size_t(k)] = resilinet::load_images(all.subset(idx[std::size_t(k)]));
                     });
  }
  return parts;
}

/// Everything one program run shares: data, the sweep's plan and results, and the report.
class Experiment {
 public:
  /// Loads the data and prepares the output folders (`args` with its profile applied). Under MPI, `world`
  /// is every process (rank 0 writes the results) and `group` the ranks that train one model
  /// together (null: one rank per model); trainings are dealt to the groups in turn.
  Experiment(const Program& program, Args args, resilinet::Collective* world = nullptr,
             resilinet::Collective* group = nullptr)
      : program_(program), args_(std::move(args)), world_(world), group_(group),
        results_name_(replace_suffix(program.results)), report_(results_name_, false) {
    const bool health = program_.kind == Kind::health;
    resilinet::require(!(args_.load && args_.resume), "--load and --resume exclude each other");
    resilinet::require(args_.merge.empty() || args_.share.shards == 1, "--merge and --shard exclude each other");
    resilinet::require(args_.merge.empty() || !args_.show_plan, "--merge and --plan exclude each other");
    for (std::size_t i = 0; i < args_.failout_rates.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        resilinet::require(args_.failout_rates[i] != args_.failout_rates[j], "--failout-rates lists ",
                           py(args_.failout_rates[i]), " twice");
    share_ = args_.share;
    if (world_) {
      const int k = group_ ? group_->size() : 1;
      share_.groups = std::size_t(world_->size() / k);
      share_.group = std::size_t(world_->rank() / k);
    }
    if (!args_.show_plan) require_writable_folder("--out", args_.out);
    if (!args_.merge.empty()) return;  // the shards' files hold every result: no data, no models
    if (!args_.show_plan) require_writable_folder("--models", args_.models);
    if (args_.load) check_load_settings();
    resilinet::require(!args_.data.empty(), "no data folder: pass --data or set RESILINET_DATA_DIR");
    resilinet::set_num_threads(args_.threads);
    resilinet::Rng split_rng = iteration_split_rng(args_.seed, 1);
    std::printf("%s: loading the data in '%s'\n", program_.name.c_str(), args_.data.c_str());
    std::fflush(stdout);
    load_start_ = std::chrono::steady_clock::now();
    if (health)
      load_health(split_rng);
    else if (program_.kind == Kind::camera)
      load_camera();
    else if (program_.kind == Kind::imagenet)
      load_imagenet(split_rng);
    else
      load_cifar(split_rng);
    if (args_.show_plan) return;  // --plan writes nothing
    // Created only once the data has loaded: a wrong --data leaves nothing behind. --load
    // writes no models, and --out only once every result is in.
    if (args_.load) return;
    for (const std::string& dir : {args_.out, args_.models}) make_directories(dir);
    record_run_settings();
  }

  /// The parsed (and profile-adjusted) arguments.
  const Args& args() const { return args_; }
  /// The program being run.
  const Program& program() const { return program_; }
  /// The report being written.
  Report& report() { return report_; }
  /// The four reliability settings.
  std::vector<Setting> settings() const {
    return program_.kind == Kind::health   ? health_settings()
           : program_.kind == Kind::camera ? camera_settings()
                                           : cnn_settings();
  }
  /// Number of failable nodes.
  std::size_t failable() const {
    return program_.kind == Kind::health ? 3 : program_.kind == Kind::camera ? 8 : 2;
  }
  /// "mux_adds" when ResiliNet+ is on, else "" (the reference's file-name suffix).
  std::string suffix() const { return args_.resilinet_plus ? "mux_adds" : ""; }
  /// Prefix of model file names ("Health", "cifar", "cifar_resnet", "imagenet").
  std::string model_prefix() const {
    switch (program_.kind) {
      case Kind::health: return "Health";
      case Kind::camera: return "Camera";
      case Kind::cifar_mobilenet: return "cifar";
      case Kind::cifar_resnet: return "cifar_resnet";
      default: return "imagenet";
    }
  }
  /// The dataset's word in file names ("health", "camera", "cifar", "cifar_resnet", "imagenet").
  std::string file_stem() const {
    const std::string p = model_prefix();
    return p == "Health" ? "health" : p == "Camera" ? "camera" : p;
  }
  /// True for the MLP experiments (health, camera), whose lines differ from the CNN ones (spec §7).
  bool mlp_style() const { return program_.kind == Kind::health || program_.kind == Kind::camera; }

  /// Starts iteration `it` (from 1) of the sweep: the trainings that follow belong to it.
  void start_iteration(int it) { iteration_ = it; }

  /// The accuracy of every failure combination of the model trained with `o` and saved as
  /// `file`. run() calls the sweep twice: the first pass records each training (and gets
  /// zeros), the second gets each training's results in the same order and writes the report.
  std::vector<double> result(const resilinet::ResilienceOptions& o, const std::string& file) {
    if (!reporting_) {
      plan_.push_back({iteration_, o, file});
      return std::vector<double>(combinations(), 0.0);
    }
    resilinet::require(next_ < plan_.size() && plan_[next_].file == file,
                       "the sweep's second pass asked for '", file, "', not in its plan's order");
    return results_[next_++];
  }

  /// Runs `sweep`: plans its trainings, trains this process's share of them (or, with --merge,
  /// reads the shards' results), then writes the results files (a shard: its partial file).
  void run(const std::function<void(Experiment&)>& sweep) {
    sweep(*this);
    if (args_.show_plan) return print_plan();
    if (args_.load && args_.merge.empty()) require_models_to_load();
    RunRecord record{program_.name, args_.profile, run_settings(), build_commit(), "", run_mode(), 0, 0};
    results_ = args_.merge.empty()
                   ? run_trainings()
                   : read_partials(args_.merge, results_name_, run_settings(), plan_, combinations(), record);
    double cpu = process_cpu_seconds();
    if (world_ && world_->size() > 1) world_->sum(&cpu, 1);
    if (args_.resume) {  // the invocations before this one are not known: no cost at all
      record.wall_seconds = record.cpu_seconds = -1;
    } else if (record.cpu_seconds >= 0) {  // else a merged shard did not record its cost
      record.cpu_seconds += cpu;
      record.wall_seconds = std::max(record.wall_seconds, seconds_since(start_));
    }
    if (record.machine.empty()) record.machine = machine_description();
    if (world_ && world_->rank() != 0) return;
    make_directories(args_.out);
    if (share_.shards > 1) {
      const std::string path = write_partial(args_.out, results_name_, share_, run_settings(), record, plan_, results_);
      std::printf("wrote %s (shard %zu of %zu; combine the shards with --merge)\n", path.c_str(),
                  share_.shard + 1, share_.shards);
      return;
    }
    report_ = Report(results_name_);
    reporting_ = true;
    sweep(*this);
    const std::string path = report_.write(args_.out, settings());
    resilinet::write_text_file(args_.out + "/" + results_name_ + ".info", record.text());
    std::printf("wrote %s (+ .csv, .svg, .info)\n", path.c_str());
  }

  /// Resilience options with this run's settings for `variant` (ResiliNet+ when requested).
  resilinet::ResilienceOptions options(resilinet::Variant variant) const {
    using resilinet::Variant;
    resilinet::ResilienceOptions o;
    o.variant = variant == Variant::resilinet && args_.resilinet_plus ? Variant::resilinet_plus : variant;
    o.partition = args_.partition;
    o.skips.assign(program_.kind == Kind::camera ? 7 : failable(), true);
    o.weight_reliability.assign(failable(), 1.0);
    o.survival.assign(failable(), program_.survival);
    o.granularity = args_.granularity == "example" ? resilinet::FailoutGranularity::per_example
                                                : resilinet::FailoutGranularity::per_batch;
    o.resilinet_rule = args_.mux == "legacy"      ? resilinet::MergeRule::mux_legacy
                       : args_.mux == "batch-sum" ? resilinet::MergeRule::mux_batch_sum
                                               : resilinet::MergeRule::mux;
    return o;
  }

  /// Writes the reference's per-evaluation lines and a CSV row; returns E[acc].
  double evaluate(const std::string& model, const std::string& variant, const Setting& s,
                  int iteration, const std::vector<double>& acc, bool first_time) {
    report_.line("Calculating accuracy for reliability setting " + s.text);
    // The first evaluation of a model lists the combinations it computed, with no line break
    // before "Acc List" (the reference appends them to its output without newlines).
    std::string combos;
    if (first_time)
      for (const auto& m : resilinet::failure_combinations(s.reliability.size())) combos += resilinet::to_string(m);
    const double e = resilinet::expected_accuracy(acc, s.reliability);
    report_.line(combos + "Acc List: " + py(acc));
    report_.line("Average accuracy: " + py(e));
    report_.row(model, variant, s, iteration, e, acc);
    return e;
  }

  /// Number of failure combinations (2^failable()).
  std::size_t combinations() const { return std::size_t(1) << failable(); }

 private:
  // How this process runs the sweep, as RunRecord::mode says it.
  std::string run_mode() const {
    if (!args_.merge.empty()) return std::to_string(args_.merge.size()) + " shard folder(s) merged";
    if (args_.load) return "load (evaluation only; the training's cost is not counted)";
    std::string mode = world_ && world_->size() > 1 ? "mpirun -np " + std::to_string(world_->size()) : "train";
    if (share_.shards > 1) mode += ", shard " + std::to_string(share_.shard + 1) + "/" + std::to_string(share_.shards);
    return args_.resume ? mode + ", --resume (cost not recorded: earlier invocations unknown)" : mode;
  }
  static double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  }
  // This process's share of the plan, trained and evaluated in plan order; under MPI every
  // process then holds every training's results.
  std::vector<std::vector<double>> run_trainings() {
    std::vector<std::vector<double>> results(plan_.size(), std::vector<double>(combinations(), 0.0));
    std::size_t mine = 0, done = 0;
    for (std::size_t j = 0; j < plan_.size(); ++j) mine += share_.runs(j);
    for (std::size_t j = 0; j < plan_.size(); ++j) {
      if (!share_.runs(j)) continue;
      use_iteration(plan_[j].iteration);
      resilinet::Rng rng = training_rng(args_.seed, j);
      auto net = train(plan_[j], rng, ++done, mine);
      results[j] = accuracies(*net, rng);
    }
    if (world_ && world_->size() > 1) {
      // A rank whose share is done sleeps until every rank's is (MPI's reduction would spin).
      world_->wait_for_all();
      // Each group's lead adds its trainings' results, everyone else zeros: the sum is exact.
      std::vector<double> all;
      for (std::size_t j = 0; j < plan_.size(); ++j)
        for (double a : results[j]) all.push_back(share_.runs(j) && model_lead() ? a : 0.0);
      world_->sum(all.data(), all.size());
      for (std::size_t j = 0, at = 0; j < plan_.size(); ++j)
        for (double& a : results[j]) a = all[at++];
    }
    return results;
  }

  // Where training `t`'s model is saved and loaded.
  std::string model_path(const Training& t) const { return args_.models + "/" + t.file + ".rsln"; }

  // --load: every model file of this process's share must be there before the first loads.
  void require_models_to_load() const {
    std::size_t missing = 0, share = 0;
    std::string first;
    for (std::size_t j = 0; j < plan_.size(); ++j) {
      if (!share_.runs(j)) continue;
      ++share;
      const std::string path = model_path(plan_[j]);
      if (std::ifstream(path).good()) continue;
      if (missing++ == 0) first = path;
    }
    resilinet::require<resilinet::IoError>(missing == 0, "--load: ", missing, " of the ", share,
                                           " model files to score are missing, the first '", first,
                                           "': train them first (without --load), or pass the --models folder that holds them");
  }

  // Builds a model and trains it, or loads it (--load, or --resume when it was finished); a
  // training saves a checkpoint after every epoch and the model at the end.
  std::unique_ptr<Net> train(const Training& t, resilinet::Rng& rng, std::size_t done, std::size_t mine) {
    auto net = build(t.options, rng);
    const std::string path = model_path(t);
    const std::uint64_t fit_seed = rng.next_u64();
    const std::string progress = rank_text() + "[model " + std::to_string(done) + "/" + std::to_string(mine) + "] " + t.file;
    if (args_.load || (args_.resume && std::ifstream(path).good())) {
      resilinet::load_parameters(*net, path);
      std::printf("%s: loaded %s\n", progress.c_str(), path.c_str());
      return net;
    }
    std::printf("%s: training %s, %zu epochs\n", progress.c_str(), net->name().c_str(), args_.epochs);
    resilinet::Adam<float> adam(net->parameters());
    resilinet::FitOptions fo;
    fo.epochs = args_.epochs;
    fo.batch_size = args_.batch_size;
    fo.seed = fit_seed;
    fo.label = rank_text() + t.file;
    fo.eval_batch_size = program_.kind == Kind::health ? 1024 : 256;
    fo.class_weights = class_weights_;
    fo.epochs_after = (mine - done) * args_.epochs;
    fo.checkpoint = args_.models + "/" + t.file + ".ckpt";
    fo.resume = args_.resume;
    fo.collective = group_;
    fo.restore_best = program_.kind != Kind::imagenet;  // ImageNet keeps the final weights
    const auto h = resilinet::fit(*net, adam, *train_, val_.get(), fo);
    if (val_)
      std::printf("%s: kept epoch %zu (val_acc %.4f); saved %s\n", fo.label.c_str(), h.best_epoch + 1,
                  h.best_val_accuracy, path.c_str());
    else
      std::printf("%s: kept the final weights; saved %s\n", fo.label.c_str(), path.c_str());
    if (model_lead()) resilinet::save_parameters(*net, path);
    return net;
  }

  // Accuracy of every failure combination of `net` (its guesses drawn from `rng`).
  std::vector<double> accuracies(Net& net, resilinet::Rng& rng) {
    resilinet::FailureEvaluationOptions eo;
    eo.guess_index = args_.guess_index;
    eo.seed = rng.next_u64();
    if (program_.kind == Kind::imagenet) eo.no_flow_accuracy = 0.001;
    if (program_.kind != Kind::health) {
      eo.batch_size = 256;
      eo.log = &std::cout;
    }
    return resilinet::combination_accuracies(net, *test_, train_labels_, eo);
  }

  // With --split fresh (the health default), iteration `it` after the first trains and tests on
  // a split of its own (iteration_split_rng; the constructor made the first), whatever order
  // the trainings run in.
  void use_iteration(int it) {
    if (program_.kind != Kind::health || args_.split != "fresh" || it == split_iteration_) return;
    resilinet::Rng split_rng = iteration_split_rng(args_.seed, it);
    use_health_split(split_rng);
    split_iteration_ = it;
  }

  // --plan: every training with its estimated time (one measured training step of each kind
  // of model, times the steps of its epochs; validation and evaluation not counted).
  void print_plan() {
    if (world_ && world_->rank() != 0) return;
    std::map<std::string, double> step;  // model name -> seconds per step
    const std::size_t steps = (train_->size() + args_.batch_size - 1) / args_.batch_size * args_.epochs;
    double total = 0;
    std::printf("%s: %zu trainings (%zu steps of batch %zu each), %d thread(s)\n", program_.name.c_str(),
                plan_.size(), steps, args_.batch_size, args_.threads);
    std::printf("%5s %9s %5s  %-10s %s\n", "index", "iteration", "shard", "estimate", "model file");
    for (std::size_t j = 0; j < plan_.size(); ++j) {
      const std::string kind = resilinet::to_string(plan_[j].options.variant);
      if (!step.count(kind)) step[kind] = step_seconds(plan_[j].options);
      const double seconds = step[kind] * double(steps);
      total += seconds;
      std::printf("%5zu %9d %5zu  %-10s %s\n", j, plan_[j].iteration, j % share_.shards + 1,
                  resilinet::detail::duration_text(seconds).c_str(), plan_[j].file.c_str());
    }
    std::printf("total: %s of training on this machine with %d thread(s), %.2f CPU-hours; N machines "
                "(--shard i/N or mpirun -np N) take about 1/N of it each\n",
                resilinet::detail::duration_text(total).c_str(), args_.threads, total * args_.threads / 3600.0);
  }

  // Seconds of one training step (forward, backward, Adam) of a model built with `o`: the
  // second of two steps on one batch of the training set.
  double step_seconds(const resilinet::ResilienceOptions& o) {
    resilinet::Rng rng(args_.seed);
    auto net = build(o, rng);
    resilinet::Adam<float> adam(net->parameters());
    resilinet::Context<float> ctx(resilinet::Mode::train, rng.next_u64());
    resilinet::Tape<float> tape;
    resilinet::Tensor<float> x;
    std::vector<int> y;
    train_->start_epoch(rng);
    train_->next(args_.batch_size, x, y);
    double seconds = 0;
    for (int k = 0; k < 2; ++k) {
      const auto start = std::chrono::steady_clock::now();
      tape.clear();
      auto loss = resilinet::softmax_cross_entropy(net->forward(tape.input(x), ctx), y);
      adam.zero_grad();
      tape.backward(loss);
      adam.step();
      seconds = seconds_since(start);
    }
    return seconds;
  }

  // "rank 3: " under MPI, else "".
  std::string rank_text() const {
    return world_ && world_->size() > 1 ? "rank " + std::to_string(world_->rank()) + ": " : "";
  }

  std::string replace_suffix(std::string s) const {
    const auto at = s.find("{mx}");
    if (at != std::string::npos) s.replace(at, 4, args_.resilinet_plus ? "mux_adds" : "");
    return s;
  }

  std::unique_ptr<Net> build(const resilinet::ResilienceOptions& o, resilinet::Rng& rng) {
    switch (program_.kind) {
      case Kind::health: {
        resilinet::HealthMlpOptions h;
        static_cast<resilinet::ResilienceOptions&>(h) = o;
        h.standardize = args_.standardize;
        auto net = resilinet::build_health_mlp<float>(h, rng);
        if (h.standardize)  // the statistics of this iteration's training split only
          dynamic_cast<resilinet::Standardize<float>&>(net->nodes()[net->index_of("iot")]->layers[0])
              .fit(in_memory_[0].x.view());
        return with_exits(std::move(net), resilinet::Shape{h.in_features}, h.classes, rng);
      }
      case Kind::camera: {
        resilinet::CameraMlpOptions c;
        static_cast<resilinet::ResilienceOptions&>(c) = o;
        return with_exits(resilinet::build_camera_mlp<float>(c, rng),
                          resilinet::Shape{6, c.image_size, c.image_size, c.channels}, c.classes, rng);
      }
      case Kind::cifar_resnet: {
        resilinet::PartitionedResNetOptions r;
        static_cast<resilinet::ResilienceOptions&>(r) = o;
        r.net.classes = classes_;
        r.net.bn_momentum = args_.bn_momentum;
        r.net.bn_zero_debias = args_.bn_average == "keras";
        r.image_size = args_.image_size;
        return with_exits(resilinet::build_partitioned_resnet<float>(r, rng), image_shape(), classes_, rng);
      }
      default: {
        resilinet::PartitionedMobileNetOptions m;
        static_cast<resilinet::ResilienceOptions&>(m) = o;
        m.net.alpha = args_.alpha;
        m.net.classes = classes_;
        m.net.bn_momentum = args_.bn_momentum;
        m.net.bn_zero_debias = args_.bn_average == "keras";
        m.net.strides = program_.kind == Kind::imagenet ? 2 : 1;
        m.image_size = args_.image_size;
        return with_exits(resilinet::build_partitioned_mobilenet<float>(m, rng), image_shape(), classes_, rng);
      }
    }
  }

  // One (H, W, 3) example of the CNN programs.
  resilinet::Shape image_shape() const { return resilinet::Shape{args_.image_size, args_.image_size, 3}; }

  // `net` with an exit head on every failable node when --exits asks (after the model's own
  // draws from `rng`, so its weights are those of the run without exits).
  std::unique_ptr<Net> with_exits(std::unique_ptr<Net> net, const resilinet::Shape& example, std::size_t classes,
                                  resilinet::Rng& rng) const {
    resilinet::ExitHeadOptions heads;
    heads.loss_weight = args_.exits;
    heads.pool_images = program_.kind != Kind::camera;  // as the cloud's classifier: the camera's flattens
    if (args_.exits > 0) resilinet::add_exit_heads(*net, example, classes, rng, heads);
    return net;
  }

  // Serves in_memory_ (train shuffled every epoch, validation, test).
  void serve_in_memory() {
    train_ = std::make_unique<resilinet::DatasetSource<float>>(in_memory_[0], true);
    val_ = std::make_unique<resilinet::DatasetSource<float>>(in_memory_[1]);
    test_ = std::make_unique<resilinet::DatasetSource<float>>(in_memory_[2]);
    train_labels_ = in_memory_[0].y;
  }

  void load_health(resilinet::Rng& split_rng) {
    health_all_ = load_health_data(args_);
    use_health_split(split_rng);
    describe_data(in_memory_[0].size(), in_memory_[1].size(), in_memory_[2].size());
    if (args_.split != "fresh") health_all_ = resilinet::Dataset<float>();
  }

  void use_health_split(resilinet::Rng& split_rng) {
    auto parts = split_health(args_, health_all_, split_rng);
    for (int k = 0; k < 3; ++k) in_memory_[k] = std::move(parts[std::size_t(k)]);
    serve_in_memory();
  }

  // Multi-view camera data (spec §6.4): train_dir trains, test_dir validates, holdout_dir
  // tests; balanced class weights N / (3 · n_c) from the training labels.
  void load_camera() {
    resilinet::MultiviewOptions mo;
    mo.reference_grouping = args_.grouping == "reference";
    mo.bgr = args_.bgr;
    const char* dirs[3] = {"/train_dir", "/test_dir", "/holdout_dir"};
    for (int k = 0; k < 3; ++k)
      in_memory_[k] = with_layout_hint(
          "the multi-view folder holding train_dir, test_dir and holdout_dir, each with "
          "person_images, car_images and bus_images",
          [&] { return resilinet::load_multiview<float>(args_.data + dirs[k], mo); });
    classes_ = 3;
    std::vector<double> counts(3, 0.0);
    for (int y : in_memory_[0].y) counts[std::size_t(y)] += 1;
    for (double c : counts) {
      resilinet::require(c > 0, "'", args_.data, "/train_dir' lacks a class: balanced weights need all three");
      class_weights_.push_back(double(in_memory_[0].size()) / (3.0 * c));
    }
    serve_in_memory();
    describe_data(in_memory_[0].size(), in_memory_[1].size(), in_memory_[2].size());
    std::printf("class weights (person, car, bus): %.4f %.4f %.4f; metric: F1-micro, which for "
                "single-label data equals accuracy\n", class_weights_[0], class_weights_[1], class_weights_[2]);
  }

  // CIFAR-10 split and cut as load_cifar_splits() says.
  void load_cifar(resilinet::Rng& split_rng) {
    images_ = load_cifar_splits(args_, split_rng);
    for (const auto& part : images_)
      resilinet::require<resilinet::ShapeError>(part.height == args_.image_size && part.width == args_.image_size,
                                                "CIFAR images are ", part.height, "x", part.width,
                                                ", --image-size is ", args_.image_size);
    classes_ = images_[0].class_names.size();
    std::optional<resilinet::Augmentation> aug;
    if (!args_.no_augment) aug = resilinet::Augmentation{};
    train_ = std::make_unique<resilinet::ImageSource<float>>(images_[0], true, aug);
    val_ = std::make_unique<resilinet::ImageSource<float>>(images_[1]);
    test_ = std::make_unique<resilinet::ImageSource<float>>(images_[2]);
    train_labels_ = images_[0].labels;
    describe_data(images_[0].size(), images_[1].size(), images_[2].size());
  }

  // ImageNet: class-folder trees decoded batch by batch, resized to --image-size; no
  // validation set (the paper keeps the final weights).
  void load_imagenet(resilinet::Rng& split_rng) {
    const resilinet::ImageFolderOptions size{args_.image_size, args_.image_size};
    resilinet::ImageFileList train = with_layout_hint("an image tree <class>/<image>",
                                                      [&] { return resilinet::list_image_folder(args_.data); });
    resilinet::ImageFileList test;
    if (!args_.test_data.empty()) {
      test = resilinet::list_image_folder(args_.test_data);
      resilinet::require(test.class_names == train.class_names, "'", args_.test_data,
                         "' has other classes than '", args_.data, "'");
    } else {
      auto idx = resilinet::split_indices(train.paths.size(), {0.8, 0.2}, split_rng);
      test = train.subset(idx[1]);
      train = train.subset(idx[0]);
    }
    if (args_.subset) {
      train = train.subset(random_subset(train.paths.size(), args_.subset, split_rng));
      test = test.subset(random_subset(test.paths.size(), std::max<std::size_t>(1, args_.subset / 4), split_rng));
    }
    classes_ = train.class_names.size();
    train_labels_ = train.labels;
    std::optional<resilinet::Augmentation> aug;
    if (!args_.no_augment) aug = resilinet::Augmentation{};
    const std::size_t n_train = train.paths.size(), n_test = test.paths.size();
    folder_train_ = std::make_unique<resilinet::ImageFolderSource<float>>(std::move(train), size, true, aug);
    train_ = std::make_unique<resilinet::PrefetchSource<float>>(*folder_train_, args_.batch_size);
    test_ = std::make_unique<resilinet::ImageFolderSource<float>>(std::move(test), size);
    describe_data(n_train, 0, n_test);
  }

  // A random `n` of `total` indices, in increasing order.
  static std::vector<std::size_t> random_subset(std::size_t total, std::size_t n, resilinet::Rng& rng) {
    std::vector<std::size_t> all(total);
    for (std::size_t i = 0; i < total; ++i) all[i] = i;
    rng.shuffle(all);
    all.resize(std::min(n, total));
    std::sort(all.begin(), all.end());
    return all;
  }

  void describe_data(std::size_t train, std::size_t val, std::size_t test) const {
    const double seconds = seconds_since(load_start_);
    std::printf("%s: %zu train, %zu validation, %zu test examples (loaded in %.1f s); %d iteration(s) of %zu "
                "epochs, batch %zu, %d thread(s)%s\n",
                program_.name.c_str(), train, val, test, seconds, args_.iterations, args_.epochs, args_.batch_size,
                args_.threads, (", profile " + args_.profile).c_str());
    std::fflush(stdout);
  }

  // The settings a run's results depend on (the thread count too: parallel reductions change
  // the last bits), the data folders aside; shards' files must agree on them to be merged.
  std::string run_settings() const {
    std::ostringstream m;
    m << program_.name << " seed " << args_.seed << " threads " << args_.threads << " partition "
      << args_.partition << " plus " << args_.resilinet_plus << " iterations " << args_.iterations
      << " epochs " << args_.epochs << " batch " << args_.batch_size << " mux " << args_.mux
      << " granularity " << args_.granularity << " split " << args_.split << " precision "
      << args_.full_precision << " first-lines " << args_.first_lines << " subset " << args_.subset
      << " alpha " << args_.alpha << " size " << args_.image_size << " augment " << !args_.no_augment
      << " bn " << args_.bn_momentum << " " << args_.bn_average << " grouping " << args_.grouping
      << " bgr " << args_.bgr << " ranks-per-model " << (group_ ? group_->size() : 1);
    if (args_.failout_rates != program_.failout_rates) m << " failout-rates " << py(args_.failout_rates);
    if (args_.standardize) m << " standardize 1";  // only then: older runs' settings stay as they were
    if (args_.exits > 0) m << " exits " << exact_text(args_.exits);
    return m.str();
  }

  // --resume refuses a models folder that was filled by a run with other settings, and a fresh
  // run records its own: its settings with the data folders, then the flags that give them
  // (--load adopts those it is not given; program_main).
  void record_run_settings() const {
    const std::string settings = run_settings() + " data " + args_.data + " " + args_.test_data;
    const std::string path = args_.models + "/" + program_.name + ".run";
    std::ifstream in(path);
    std::string saved;
    if (args_.resume && std::getline(in, saved) && saved != settings)
      throw resilinet::ValueError("--resume: '" + path + "' was written by a run with other settings: " +
                                  resilinet::quoted(saved, 300) + "; this run: " + settings);
    if (!world_ || world_->rank() == 0)
      resilinet::write_text_file(path, settings + "\nflags " + settings_flags(args_) + "\n");
  }

  // --load refuses models trained with other settings than this run's (before any data loads),
  // the thread counts aside: they change only the last bits. The error names the first setting
  // that differs.
  void check_load_settings() const {
    std::ifstream in(args_.models + "/" + program_.name + ".run");
    std::string saved;
    if (!std::getline(in, saved)) return;
    const std::vector<std::string> theirs = without_thread_counts(saved), mine = without_thread_counts(run_settings());
    std::size_t i = 0;
    while (i < theirs.size() && i < mine.size() && theirs[i] == mine[i]) ++i;
    if (i == theirs.size() && i == mine.size()) return;
    const auto setting = [i](const std::vector<std::string>& words) {
      return i >= words.size() ? std::string("(nothing)") : (i > 0 ? words[i - 1] + " " : "") + words[i];
    };
    throw resilinet::ValueError("--load: the models in '" + args_.models + "' were trained with '" + setting(theirs) +
                                "' where this run asks for '" + setting(mine) +
                                "' (give no settings flags with --load, or the training's)");
  }

  // The words of run settings without the thread counts, and without the data folders of a
  // run file's line.
  static std::vector<std::string> without_thread_counts(const std::string& settings) {
    std::istringstream in(settings.substr(0, settings.find(" data ")));
    std::vector<std::string> out;
    for (std::string word, value; in >> word;) {
      if ((word == "threads" || word == "ranks-per-model") && in >> value) continue;
      out.push_back(word);
    }
    return out;
  }

  // True in the process that saves its group's models: the only one, or the group's rank 0.
  bool model_lead() const { return !group_ || group_->rank() == 0; }

  Program program_;
  Args args_;
  resilinet::Collective* world_;
  resilinet::Collective* group_;
  Share share_;
  std::string results_name_;
  Report report_;
  std::vector<Training> plan_;
  std::vector<std::vector<double>> results_;
  bool reporting_ = false;
  std::size_t next_ = 0;
  int iteration_ = 1, split_iteration_ = 1;
  std::size_t classes_ = 13;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();  // when the run began
  std::chrono::steady_clock::time_point load_start_;  // when the data began to load
  resilinet::Dataset<float> in_memory_[3];  // health or camera: train, validation, test
  resilinet::Dataset<float> health_all_;      // kept for --split fresh
  std::array<resilinet::ImageDataset, 3> images_;
  std::unique_ptr<resilinet::ImageFolderSource<float>> folder_train_;
  std::unique_ptr<resilinet::BatchSource<float>> train_, val_, test_;
  std::vector<int> train_labels_;
  std::vector<double> class_weights_;
};

}  // namespace examples
