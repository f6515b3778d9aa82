// A user's program: only the umbrella header, one training step, prints the loss.
#include <resilinet/resilinet.hpp>

#include <iostream>

int main() {
  using namespace resilinet;
  Rng rng(1);
  Sequential<float> net;
  net.add<Dense<float>>(4, 3, Activation::relu, rng, "h");
  Adam<float> opt(net.parameters());
  Tape<float> tape;
  Context<float> ctx(Mode::train);
  auto loss = softmax_cross_entropy(net(tape.input(Tensor<float>(Shape{2, 4}, 1.0f)), ctx), {0, 2});
  tape.backward(loss);
  opt.step();
  std::cout << "consumer loss " << loss.value()[0] << "\n";
  return loss.value()[0] > 0 ? 0 : 1;
}
