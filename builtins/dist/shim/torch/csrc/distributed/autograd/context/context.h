// Debian's libtorch-dev ships c10d/reducer.hpp but not this header, which
// reducer.hpp includes for two types only: a shared_ptr to the RPC autograd
// context (a member of Reducer, whose layout does not depend on the pointee)
// and its GradCallback type. dadash never touches either; this declares them
// as libtorch does (torch/csrc/distributed/autograd/context/context.h), so
// the Reducer class has its real layout. This folder is an -isystem
// directory, searched after the -I ones, so a libtorch that has the header
// (pytorch.org's, through LIBTORCH) is used instead.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};

using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch
