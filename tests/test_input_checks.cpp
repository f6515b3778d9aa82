// Walks the library table of docs/input-checks.md: every row has a call here that throws a
// resilinet::Error containing the row's text, and every call here has a row.
#include <doctest/doctest.h>

#include <fstream>
#include <functional>
#include <map>

#include <resilinet/runtime/deployment.hpp>
#include <resilinet/runtime/message.hpp>

#include "helpers.hpp"

using namespace resilinet;

namespace {

/// The (check, message) rows of the "## Library" table of docs/input-checks.md.
std::vector<std::pair<std::string, std::string>> library_rows() {
  std::ifstream in(std::string(RESILINET_SOURCE_DIR) + "/docs/input-checks.md");
  REQUIRE(in.good());
  std::vector<std::pair<std::string, std::string>> rows;
  bool library = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) library = line == "## Library";
    if (!library || line.rfind("| `", 0) != 0) continue;
    const std::size_t mid = line.find(" | `", 2);
    REQUIRE(mid != std::string::npos);
    auto strip = [](std::string s) {  // "`text`" -> text
      const std::size_t a = s.find('`'), b = s.rfind('`');
      return s.substr(a + 1, b - a - 1);
    };
    rows.emplace_back(line.substr(2, mid - 2), strip(line.substr(mid + 3)));
  }
  return rows;
}

std::unique_ptr<PartitionedNetwork<float>> health() {
  Rng rng(1);
  HealthMlpOptions o;
  o.hidden = 4;
  return build_health_mlp<float>(o, rng);
}

}  // namespace

TEST_CASE("every row of docs/input-checks.md's library table is checked") {
  Rng rng(1);
  const std::map<std::string, std::function<void()>> calls{
      {"`Dense(0, 4, ...)`", [&] { Dense<float>(0, 4, Activation::relu, rng); }},
      {"`Conv2D` with kernel 0", [&] { Conv2D<float>(3, 4, Conv2DOptions().with_kernel(0), rng); }},
      {"`Conv2D` with stride 0", [&] { Conv2D<float>(3, 4, Conv2DOptions().with_stride(0), rng); }},
      {"`Dense` from a (3, 4) kernel and a (5) bias",
       [] { Dense<float>(Tensor<float>(Shape{3, 4}), Tensor<float>(Shape{5}), Activation::linear); }},
      {"`Conv2D` with l2 −1", [&] { Conv2D<float>(3, 4, Conv2DOptions().with_l2(-1), rng); }},
      {"`DepthwiseConv2D(0, 3, 1, ...)`", [&] { DepthwiseConv2D<float>(0, 3, 1, Padding::same, rng); }},
      {"`MaxPool2D(0, 2, ...)`", [] { MaxPool2D<float>(0, 2, Padding::valid); }},
      {"`Dropout(1.0)`", [] { Dropout<float>(1.0); }},
      {"`BatchNorm` with momentum 1.5", [] { BatchNorm<float>(3, "bn", BatchNormOptions{1.5, 1e-3, Activation::linear}); }},
      {"`BatchNorm` with epsilon 0", [] { BatchNorm<float>(3, "bn", BatchNormOptions{0.99, 0.0, Activation::linear}); }},
      {"`Failout(1.5)`", [] { Failout(1.5); }},
      {"`set_failout` with 2 rates for 3 nodes", [] { health()->set_failout({0.9, 0.9}); }},
      {"`add_exit` with loss weight −1", [] { health()->add_exit("edge", std::make_unique<Flatten<float>>(), -1); }},
      {"`add_exit` at the output node", [] { health()->add_exit("cloud", std::make_unique<Flatten<float>>(), 1); }},
      {"`forward(x, mask)` with a 2-bit mask for 3 nodes",
       [] {
         Tape<float> tape;
         Context<float> ctx;
         health()->forward(tape.input(Tensor<float>(Shape{1, 23}).view()), FailureMask{1, 1}, ctx);
       }},
      {"`Inference::run(net, x, mask)` with a 2-bit mask for 3 nodes",
       [] {
         Inference<float> inf;
         auto net = health();
         inf.run(*net, Tensor<float>(Shape{1, 23}).view(), FailureMask{1, 1});
       }},
      {"`build_health_mlp` with partition 3",
       [&] {
         HealthMlpOptions o;
         o.partition = 3;
         build_health_mlp<float>(o, rng);
       }},
      {"`build_health_mlp` with 2 skip flags",
       [&] {
         HealthMlpOptions o;
         o.skips = {true, true};
         build_health_mlp<float>(o, rng);
       }},
      {"`combination_probability` with reliability 1.5", [] { combination_probability({1, 1}, {0.5, 1.5}); }},
      {"`expected_accuracy` with 8 accuracies for 2 nodes",
       [] { expected_accuracy(std::vector<double>(8, 0.5), {0.9, 0.9}); }},
      {"`monte_carlo_expected_accuracy` with reliability −0.1",
       [] {
         Dataset<float> d{Tensor<float>(Shape{2, 23}), {0, 1}};
         monte_carlo_expected_accuracy(*health(), d, d.y, {0.9, -0.1, 0.9});
       }},
      {"`Adam` with lr 0",
       [] {
         Parameter<float> p("p", Tensor<float>(Shape{2}));
         AdamOptions o;
         o.lr = 0;
         Adam<float>({&p}, o);
       }},
      {"`Sgd` with momentum 1",
       [] {
         Parameter<float> p("p", Tensor<float>(Shape{2}));
         SgdOptions o;
         o.momentum = 1;
         Sgd<float>({&p}, o);
       }},
      {"`split` with fractions 0.5, 0.6",
       [&] {
         Dataset<float> d{Tensor<float>(Shape{4, 2}), {0, 1, 0, 1}};
         split(d, {0.5, 0.6}, rng);
       }},
      {"`fit` with 0 epochs",
       [] {
         Dataset<float> d{Tensor<float>(Shape{4, 23}), {0, 1, 0, 1}};
         auto net = health();
         Adam<float> adam(net->parameters());
         FitOptions o;
         o.epochs = 0;
         fit(*net, adam, d, nullptr, o);
       }},
      {"`load_mhealth` of a missing folder", [] { load_mhealth<float>("/nonexistent"); }},
      {"`list_image_folder` of a missing folder", [] { list_image_folder("/nonexistent"); }},
      {"`Tensor::reshape` to a different size", [] { Tensor<float>(Shape{2, 3}).reshape(Shape{4, 2}); }},
      {"`read_deployment` with port 70000",
       [] {
         const std::string path = "/tmp/resilinet_input_check_" + std::to_string(::getpid());
         std::ofstream(path) << "node edge tcp://127.0.0.1:70000\n";
         struct Remove {
           std::string p;
           ~Remove() { std::remove(p.c_str()); }
         } remove{path};
         runtime::read_deployment(path);
       }},
      {"`runtime::decode` of 10 bytes", [] { runtime::decode("RSRT\1\1\0\0\0\0", 10, 1024); }},
      {"`Dataset::validate` with 3 rows and 2 labels",
       [] { Dataset<float>{Tensor<float>(Shape{3, 4}), {0, 1}}.validate(); }},
  };
  const auto rows = library_rows();
  CHECK(rows.size() == calls.size());
  for (const auto& [check, message] : rows) {
    CAPTURE(check);
    const auto call = calls.find(check);
    REQUIRE_MESSAGE(call != calls.end(), "no test for this row");
    CHECK_THROWS_WITH_AS(call->second(), doctest::Contains(message.c_str()), Error);
  }
}
