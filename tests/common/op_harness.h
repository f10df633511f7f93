// Test harness for op tests: builds a one-node graph, runs shape inference, then runs the node
// through every CPU tactic that supports it, so a test compares each tactic with its own
// independent expected values.
#pragma once

#include "core/tensor.h"
#include "ir/graph.h"
#include "ops/op.h"

#include <gtest/gtest.h>

#include <random>
#include <span>
#include <string>
#include <vector>

namespace kiln::testing {

struct OpCase {
  std::string op;
  ir::Attrs attrs;
  std::vector<HostTensor> inputs;  // an empty HostTensor() = absent optional input
  // Inputs that are constants (weights) rather than graph inputs; default: none.
  std::vector<bool> constant;
  int num_outputs = 1;
};

struct TacticRun {
  std::string tactic;  // tactic id
  std::vector<HostTensor> outputs;
};

// Shape inference only: returns the graph (node id 0) or the inference error.
Result<ir::Graph> make_graph(const OpCase& c);
// Runs every supporting CPU tactic. Error if shape inference fails or no tactic supports it.
Result<std::vector<TacticRun>> run_cpu_tactics(const OpCase& c);

HostTensor random_tensor(DataType dtype, Dims shape, std::mt19937& rng, double lo = -1.0,
                         double hi = 1.0);
HostTensor make_tensor(DataType dtype, Dims shape, const std::vector<double>& values);

// Element-wise |got - want| <= atol + rtol * |want| (NaNs must match); reports the first misses.
::testing::AssertionResult all_close(const HostTensor& got, const HostTensor& want, double atol,
                                     double rtol);

inline Dims dims_of(const std::vector<int64_t>& v) {
  return Dims(std::span<const int64_t>(v));
}

}  // namespace kiln::testing
