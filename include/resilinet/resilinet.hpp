#pragma once
/// \file
/// The whole of resilinet in one include.

#include "resilinet/core/context.hpp"
#include "resilinet/core/error.hpp"
#include "resilinet/core/gemm.hpp"
#include "resilinet/core/rng.hpp"
#include "resilinet/core/shape.hpp"
#include "resilinet/core/tensor.hpp"
#include "resilinet/core/tensor_view.hpp"
#include "resilinet/core/threads.hpp"

#include "resilinet/autodiff/activation_ops.hpp"
#include "resilinet/autodiff/batch_norm_ops.hpp"
#include "resilinet/autodiff/conv_ops.hpp"
#include "resilinet/autodiff/dropout_ops.hpp"
#include "resilinet/autodiff/elementwise_ops.hpp"
#include "resilinet/autodiff/grad_check.hpp"
#include "resilinet/autodiff/linear_ops.hpp"
#include "resilinet/autodiff/loss_ops.hpp"
#include "resilinet/autodiff/pool_ops.hpp"
#include "resilinet/autodiff/reduce_ops.hpp"
#include "resilinet/autodiff/row_ops.hpp"
#include "resilinet/autodiff/shape_ops.hpp"
#include "resilinet/autodiff/tape.hpp"

#include "resilinet/nn/activation.hpp"
#include "resilinet/nn/batch_norm.hpp"
#include "resilinet/nn/conv2d.hpp"
#include "resilinet/nn/dense.hpp"
#include "resilinet/nn/depthwise_conv2d.hpp"
#include "resilinet/nn/dropout.hpp"
#include "resilinet/nn/flatten.hpp"
#include "resilinet/nn/global_average_pooling2d.hpp"
#include "resilinet/nn/init.hpp"
#include "resilinet/nn/max_pool2d.hpp"
#include "resilinet/nn/module.hpp"
#include "resilinet/nn/sequential.hpp"
#include "resilinet/nn/zero_padding2d.hpp"

#include "resilinet/optim/adam.hpp"
#include "resilinet/optim/optimizer.hpp"
#include "resilinet/optim/sgd.hpp"

#include "resilinet/data/batch_source.hpp"
#include "resilinet/data/dataset.hpp"
#include "resilinet/data/idx.hpp"
#include "resilinet/data/mhealth.hpp"
#include "resilinet/data/sha1.hpp"

#include "resilinet/train/fit.hpp"
#include "resilinet/train/predict.hpp"

#include "resilinet/io/atomic_file.hpp"
#include "resilinet/io/model_file.hpp"
#include "resilinet/io/npy.hpp"
#include "resilinet/io/npy_export.hpp"

#include "resilinet/resilience/failout.hpp"
#include "resilinet/resilience/failure_mask.hpp"
#include "resilinet/resilience/hyperconnection_weights.hpp"
#include "resilinet/resilience/partitioned_network.hpp"

#include "resilinet/eval/expected_accuracy.hpp"

#include "resilinet/models/health_mlp.hpp"
