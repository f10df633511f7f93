// Measuring one kernel of one node on real device buffers at the profile's opt shapes, and the
// reference outputs that accuracy checking compares it with.
#pragma once

#include <kiln/builder.h>

#include "core/tensor.h"
#include "ops/op.h"

#include <vector>

namespace kiln {
class Device;
class ThreadPool;
}  // namespace kiln

namespace kiln::tuner {

class KernelTimer {
 public:
  KernelTimer(const BuildConfig& config, Device* device, ThreadPool* threads)
      : config_(config), device_(device), threads_(threads) {}

  // Median milliseconds of `kernel` (after warm-up runs). Inputs: constants get their real
  // data, floats fixed-seed random values, integers zeros, shape tensors their real content.
  // With `outputs`, the outputs of the last run are downloaded into it.
  Result<double> time(const ops::KernelInfo& info, const ops::Kernel& kernel,
                      std::vector<HostTensor>* outputs);

  // The reference kernel's outputs on the same inputs (for accuracy checks).
  static Result<std::vector<HostTensor>> reference_outputs(const ops::KernelInfo& info);
  // Whether `got` matches `want` within 1e-3 absolute + 1e-3 relative (NaN where NaN).
  static bool outputs_match(const std::vector<HostTensor>& got,
                            const std::vector<HostTensor>& want);

 private:
  const BuildConfig& config_;
  Device* device_;
  ThreadPool* threads_;
};

}  // namespace kiln::tuner
