#pragma once
/// \file
/// LayerReader<T>: rebuilds modules from the lines their spec() wrote (LayerSpec), one line
/// per module with a composite's children after it. Every layer type of the library is known
/// here by its kind; a kind or option it does not know is refused by name (FormatError). The
/// parameters start at zero: the model file's values replace them.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "resilinet/nn/activation.hpp"
#include "resilinet/nn/batch_norm.hpp"
#include "resilinet/nn/conv2d.hpp"
#include "resilinet/nn/dense.hpp"
#include "resilinet/nn/depthwise_conv2d.hpp"
#include "resilinet/nn/dropout.hpp"
#include "resilinet/nn/flatten.hpp"
#include "resilinet/nn/global_average_pooling2d.hpp"
#include "resilinet/nn/layer_spec.hpp"
#include "resilinet/nn/max_pool2d.hpp"
#include "resilinet/nn/reshape.hpp"
#include "resilinet/nn/residual_block.hpp"
#include "resilinet/nn/sequential.hpp"
#include "resilinet/nn/standardize.hpp"
#include "resilinet/nn/zero_padding2d.hpp"

namespace resilinet {

/// Writes `module`'s line and, after it, its children's (see LayerReader); a module without a
/// spec() is written as kind "custom" and its children are left out.
template <class T>
void write_layer_specs(const Module<T>& module, std::ostream& out) {
  const std::string line = module.spec();
  if (line.empty()) {
    out << LayerSpec("custom", module.name()).text() << "\n";
    return;
  }
  out << line << "\n";
  for (const Module<T>* child : module.children()) write_layer_specs(*child, out);
}

/// Reads modules from lines written by write_layer_specs(), in order; see the file comment.
template <class T>
class LayerReader {
 public:
  /// Reads `lines` (numbered from `first_line` in errors) of the file `where` names; no layer
  /// may have a parameter of more than `max_values` values (a file can cap them at what it
  /// holds, so a damaged size never allocates more).
  LayerReader(std::vector<std::string> lines, std::string where, std::size_t first_line = 1,
              std::size_t max_values = std::size_t(-1))
      : lines_(std::move(lines)), where_(std::move(where)), first_line_(first_line), max_values_(max_values) {}

  /// Whether every line has been read.
  bool at_end() const { return next_ == lines_.size(); }

  /// The next module with its children (nested at most max_depth deep).
  std::unique_ptr<Module<T>> next() {
    const LayerSpec s = spec();
    require<FormatError>(depth_ < max_depth, s.where(), ": layers nested deeper than ", max_depth);
    const Nesting nesting(depth_);
    std::unique_ptr<Module<T>> m;
    try {
      m = make(s);
    } catch (const FormatError&) {
      throw;
    } catch (const Error& e) {  // settings a constructor refuses
      throw FormatError(s.where() + ": " + e.what());
    }
    if (s.kind() == "sequential") {
      fill(static_cast<Sequential<T>&>(*m), s);
      return m;
    }
    s.require_all_read();
    if (s.kind() == "residual_block") {
      auto& block = static_cast<ResidualBlock<T>&>(*m);
      fill(block.residual(), spec());
      fill(block.shortcut(), spec());
    }
    return m;
  }

  /// Reads a "sequential" line naming `chain` and appends the modules it lists to `chain`.
  void fill(Sequential<T>& chain) { fill(chain, spec()); }

  /// How deep modules may nest (a damaged file cannot exhaust the stack).
  static constexpr std::size_t max_depth = 64;

 private:
  struct Nesting {  // counts one level of next() for as long as it runs
    explicit Nesting(std::size_t& depth) : depth_(depth) { ++depth_; }
    ~Nesting() { --depth_; }
    std::size_t& depth_;
  };

  LayerSpec spec() {
    require<FormatError>(next_ < lines_.size(), where_, ": the layer lines end early");
    const std::string where = where_ + " line " + std::to_string(first_line_ + next_);
    return LayerSpec::parse(lines_[next_++], where);
  }

  void fill(Sequential<T>& chain, const LayerSpec& s) {
    require<FormatError>(s.kind() == "sequential" && s.name() == chain.name(), s.where(), ": expected the layers of '",
                         chain.name(), "', found ", s.kind(), " '", resilinet::quoted(s.name()), "'");
    const std::size_t count = s.size("layers");
    s.require_all_read();
    require<FormatError>(count <= lines_.size() - next_, s.where(), ": '", chain.name(), "' claims ", count,
                         " layers but ", lines_.size() - next_, " lines are left");
    for (std::size_t i = 0; i < count; ++i) chain.append(next());
  }

  std::unique_ptr<Module<T>> make(const LayerSpec& s) const {
    const std::string& k = s.kind();
    const std::string name = s.name();
    if (k == "dense") {
      const std::size_t in = s.size("in"), units = s.size("units");
      const Activation act = s.activation("act");
      return std::make_unique<Dense<T>>(zeros(s, {in, units}), bias(s, s.flag("bias"), units), act, name);
    }
    if (k == "conv2d") {
      const Shape kernel = pair(s, "kernel");
      const std::size_t in = s.size("in"), filters = s.size("filters");
      const Shape stride = pair(s, "stride");
      Conv2DOptions o;
      o.with_stride(stride[0], stride[1]).with_padding(s.padding("padding")).with_l2(s.number("l2"));
      return std::make_unique<Conv2D<T>>(zeros(s, {kernel[0], kernel[1], in, filters}),
                                         bias(s, s.flag("bias"), filters), o, name);
    }
    if (k == "depthwise_conv2d") {
      const Shape kernel = pair(s, "kernel");
      const std::size_t c = s.size("channels"), m = s.size("multiplier");
      const Shape stride = pair(s, "stride");
      DepthwiseConv2DOptions o;
      o.with_stride(stride[0], stride[1]).with_padding(s.padding("padding"));
      Tensor<T> k = zeros(s, {kernel[0], kernel[1], c, m});  // checks c · m too
      return std::make_unique<DepthwiseConv2D<T>>(std::move(k), bias(s, s.flag("bias"), c * m), o, name);
    }
    if (k == "batch_norm") {
      BatchNormOptions o;
      o.with_momentum(s.number("momentum")).with_epsilon(s.number("epsilon"))
          .with_activation(s.activation("act")).with_zero_debias(s.flag("zero_debias"));
      const std::size_t channels = zeros(s, {s.size("channels")}).size();
      return std::make_unique<BatchNorm<T>>(channels, name, o);
    }
    if (k == "activation") return std::make_unique<ActivationLayer<T>>(s.activation("act"), name);
    if (k == "dropout") return std::make_unique<Dropout<T>>(s.number("rate"), name);
    if (k == "flatten") return std::make_unique<Flatten<T>>(name);
    if (k == "global_average_pooling2d") return std::make_unique<GlobalAveragePooling2D<T>>(name);
    if (k == "max_pool2d") {
      const Shape pool = pair(s, "pool"), stride = pair(s, "stride");
      return std::make_unique<MaxPool2D<T>>(pool[0], pool[1], stride[0], stride[1], s.padding("padding"), name);
    }
    if (k == "reshape") return std::make_unique<Reshape<T>>(s.shape("target"), name);
    if (k == "zero_padding2d")
      return std::make_unique<ZeroPadding2D<T>>(s.size("top"), s.size("bottom"), s.size("left"), s.size("right"), name);
    if (k == "sequential") return std::make_unique<Sequential<T>>(name);
    if (k == "standardize") return std::make_unique<Standardize<T>>(zeros(s, {s.size("features")}).size(), name);
    if (k == "residual_block") return std::make_unique<ResidualBlock<T>>(name);
    require<FormatError>(k != "custom", s.where(), ": layer '", resilinet::quoted(name), "' is a module of the program ",
                         "that saved it (no spec()): build the network in code and use load_parameters()");
    throw FormatError(s.where() + ": layer '" + resilinet::quoted(name) + "' has unknown kind '" + resilinet::quoted(k) + "'");
  }

  Tensor<T> zeros(const LayerSpec& s, std::initializer_list<std::size_t> dims) const {
    std::size_t count = 1;
    for (std::size_t d : dims) {
      require<FormatError>(d == 0 || count <= max_values_ / d, s.where(), ": layer '", resilinet::quoted(s.name()),
                           "' has a parameter larger than the file holds");
      count *= d;
    }
    return Tensor<T>(Shape(std::vector<std::size_t>(dims)));
  }

  std::optional<Tensor<T>> bias(const LayerSpec& s, bool present, std::size_t size) const {
    return present ? std::optional<Tensor<T>>(zeros(s, {size})) : std::nullopt;
  }

  static Shape pair(const LayerSpec& s, const std::string& key) {
    const Shape v = s.shape(key);
    require<FormatError>(v.rank() == 2, "layer '", resilinet::quoted(s.name()), "': ", key, " must be two sizes, got ", v);
    return v;
  }

  std::vector<std::string> lines_;
  std::string where_;
  std::size_t first_line_;
  std::size_t max_values_;
  std::size_t next_ = 0;
  std::size_t depth_ = 0;
};

}  // namespace resilinet
