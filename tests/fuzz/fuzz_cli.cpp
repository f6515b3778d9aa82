// libFuzzer target: the experiment programs' command lines (every kind's flags and --failout-rates), arguments
// separated by newlines. CLI11's parse errors are the expected answer to bad flags.
#include "../../examples/common/experiment.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> words;
  std::string w;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\n') {
      words.push_back(w);
      w.clear();
    } else {
      w += char(data[i]);
    }
  }
  words.push_back(w);
  using examples::Kind;
  // One parser per kind, built once and cleared between inputs (App::clear), as building
  // five parsers per input dominated the time (280 inputs/s).
  struct Parser {
    CLI::App app{"fuzz"};
    examples::Args args;
  };
  static std::vector<std::unique_ptr<Parser>> parsers = [] {
    std::vector<std::unique_ptr<Parser>> p;
    for (Kind kind : {Kind::health, Kind::cifar_mobilenet, Kind::cifar_resnet, Kind::imagenet, Kind::camera}) {
      p.push_back(std::make_unique<Parser>());
      examples::add_flags(p.back()->app, p.back()->args, kind, {0.95, 0.9, 0.7, 0.5});
    }
    return p;
  }();
  for (auto& parser : parsers) {
    parser->app.clear();
    std::vector<std::string> reversed(words.rbegin(), words.rend());  // CLI11 takes them reversed
    try {
      parser->app.parse(reversed);
    } catch (const CLI::Error&) {
    }
  }
  return 0;
}
