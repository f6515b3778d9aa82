// libFuzzer target: the experiment programs' command lines (every kind's flags), arguments
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
  for (Kind kind : {Kind::health, Kind::cifar_mobilenet, Kind::cifar_resnet, Kind::imagenet, Kind::camera}) {
    CLI::App app{"fuzz"};
    examples::Args args;
    examples::add_flags(app, args, kind);
    std::vector<std::string> reversed(words.rbegin(), words.rend());  // CLI11 takes them reversed
    try {
      app.parse(reversed);
    } catch (const CLI::Error&) {
    }
  }
  return 0;
}
