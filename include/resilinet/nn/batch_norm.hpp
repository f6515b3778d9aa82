#pragma once
/// \file
/// BatchNorm<T>: batch normalisation over the last axis (Keras `BatchNormalization`).

#include <string>

#include "resilinet/autodiff/batch_norm_ops.hpp"
#include "resilinet/nn/layer_spec.hpp"
#include "resilinet/nn/module.hpp"

namespace resilinet {

/// Normalises each channel with batch statistics in training and moving statistics in
/// inference, then scales by gamma, shifts by beta and applies the optional fused activation.
///
/// The moving mean and variance are non-trainable parameters (`moving_mean`,
/// `moving_variance`), so model files and checkpoints carry them; optimizers skip them. The
/// moving variance follows Keras 2.2 (see batch_norm()). With `zero_debias` the count of
/// updates is a third one (`moving_updates`), so a resumed training continues the average
/// exactly.
template <class T>
class BatchNorm : public Module<T> {
 public:
  /// Creates the layer for `channels` channels (gamma 1, beta 0, moving mean 0, variance 1).
  explicit BatchNorm(std::size_t channels, std::string name = "batch_norm",
                     const BatchNormOptions& options = {})
      : Module<T>(std::move(name)),
        options_(options),
        gamma_(this->register_parameter("gamma", Tensor<T>(checked_shape(channels), T(1)))),
        beta_(this->register_parameter("beta", Tensor<T>(Shape{channels}))),
        moving_mean_(this->register_parameter("moving_mean", Tensor<T>(Shape{channels}), false)),
        moving_variance_(
            this->register_parameter("moving_variance", Tensor<T>(Shape{channels}, T(1)), false)),
        updates_(options_.zero_debias ? &this->register_parameter("moving_updates", Tensor<T>(Shape{1}), false)
                                : nullptr) {}

  /// Records the normalisation of x (..., channels); updates the moving statistics when
  /// `ctx` trains.
  Var<T> forward(Var<T> x, Context<T>& ctx) override {
    return batch_norm(x, Var<T>(gamma_), Var<T>(beta_), moving_mean_.mutable_value(),
                      moving_variance_.mutable_value(), ctx.training(), options_,
                      updates_ ? updates_->mutable_value().data() : nullptr);
  }

  /// The normalisation of x (..., channels) with the moving statistics, without a tape.
  TensorView<const T> infer(TensorView<const T> x, Inference<T>& inf) const override {
    const std::size_t c = gamma_.value().size();
    require<ShapeError>(x.rank() >= 2 && x.shape().back() == c, "BatchNorm '", this->name(),
                        "': input ", x.shape(), " does not end in ", c, " channels");
    TensorView<T> stats = inf.buffer(Shape{4 * c});  // mean, inv_std, scale, shift
    detail::moving_statistics(c, moving_mean_.value().data(), moving_variance_.value().data(),
                              options_.epsilon, stats.data(), stats.data() + c);
    TensorView<T> y = inf.buffer(x.shape());
    detail::batch_norm_forward(x.size() / c, c, x.data(), gamma_.value().data(),
                               beta_.value().data(), stats.data(), stats.data() + c,
                               options_.activation, stats.data() + 2 * c, y.data());
    return y;
  }

  /// Scale per channel.
  Parameter<T>& gamma() { return gamma_; }
  /// Offset per channel.
  Parameter<T>& beta() { return beta_; }
  /// Moving mean (non-trainable).
  Parameter<T>& moving_mean() { return moving_mean_; }
  /// Moving variance (non-trainable).
  Parameter<T>& moving_variance() { return moving_variance_; }

  /// The layer's line for model files: channels and every option.
  std::string spec() const override {
    return LayerSpec("batch_norm", this->name())
        .set("channels", gamma_.value().size()).set("momentum", options_.momentum)
        .set("epsilon", options_.epsilon).set("act", options_.activation)
        .set("zero_debias", options_.zero_debias).text();
  }

 private:
  Shape checked_shape(std::size_t channels) const {
    options_.validate();
    require(channels > 0, "BatchNorm '", this->name(), "': channels must be positive, got ",
            channels);
    return Shape{channels};
  }

  BatchNormOptions options_;
  Parameter<T>& gamma_;
  Parameter<T>& beta_;
  Parameter<T>& moving_mean_;
  Parameter<T>& moving_variance_;
  Parameter<T>* updates_;
};

}  // namespace resilinet
