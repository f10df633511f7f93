// GPU test harness: skips a test where no CUDA device is visible, and runs a one-node graph
// through an op's CUDA tactics on device buffers, for comparison with the CPU reference kernel
// (ops::run_reference) on the same inputs.
#pragma once

#include "backends/cuda/cuda_device.h"
#include "backends/cuda/cuda_raii.h"
#include "common/op_harness.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kiln::testing {

// Fixture of every GPU test: skips with the reason when cuda_device() fails, else provides
// the device and a fresh non-blocking stream.
class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override;
  Device* device() const { return device_; }
  cuda::CudaDevice* cuda_device_impl() const { return cuda_; }
  cudaStream_t stream() const { return stream_.get(); }

 private:
  Device* device_ = nullptr;
  cuda::CudaDevice* cuda_ = nullptr;
  cuda::Stream stream_;
};

struct CudaRunOptions {
  // Shifts every input and output buffer by this many elements from the allocation's 256-byte
  // alignment (1 exercises kernels' unaligned paths).
  int misalign_elements = 0;
  // Output 0 aliases input 0 (in-place execution; same dtype and size required).
  bool in_place = false;
  // BuilderFlag::kTf32 in the kernels' KernelInfo (float32 GEMMs/convolutions on TF32 cores).
  bool tf32 = true;
  // Only kiln's own kernels (TacticSource::kKilnCuda): for the racecheck run that instruments
  // kiln's kernels only, which fails internally once cuBLAS kernels run uninstrumented beside
  // them (tests/gpu/run_compute_sanitizer.sh).
  bool kiln_kernels_only = false;
};

struct CudaTacticRun {
  std::string tactic;  // tactic id
  std::vector<HostTensor> outputs;
};

// KILN_TEST_CAPTURE_TACTICS=1: run_cuda_tactics records each tactic's execute() in a CUDA
// graph and launches the graph (ctest gpu.all_tactics_captured runs the op tests this way).
bool capture_tactics();

// The CPU reference kernel's outputs for the case.
Result<std::vector<HostTensor>> run_reference_case(const OpCase& c);

// Runs every CUDA tactic of the op that supports the case on `device`/`stream`, with host copies
// of every input in ExecArgs::host_inputs (as the autotuner gives them). Each output
// buffer carries a guard region after its end, checked for writes out of bounds (a failure is an
// error Status naming the tactic). Error if shape inference fails or no tactic supports it.
Result<std::vector<CudaTacticRun>> run_cuda_tactics(const OpCase& c, Device* device,
                                                    cudaStream_t stream,
                                                    const CudaRunOptions& options = {});

// Runs the case through the reference kernel and every supporting CUDA tactic and compares every
// output with all_close. `tactics` (when >= 0) is the number of CUDA tactics expected to run.
::testing::AssertionResult cuda_matches_reference(const OpCase& c, Device* device,
                                                  cudaStream_t stream, double atol, double rtol,
                                                  const CudaRunOptions& options = {},
                                                  int tactics = -1);

// Tolerance of a device kernel computing in float against the host reference: the device's
// accurate math functions (expf, powf, erff, ...) may differ from the host's by an ulp or two of
// float, which after rounding to 16 bits is at most one unit in the last place (two allowed
// here); exact for integer and bool outputs.
struct Tolerance {
  double atol, rtol;
};
Tolerance device_tolerance(DataType dtype);

}  // namespace kiln::testing
