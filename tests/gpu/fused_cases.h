// Cases of the FusedElementwise CUDA tests (fused_elementwise_cuda_test.cpp, on the GPU) and of
// the host emulation of the kernel's item code (fused_elementwise_emulation_test.cpp), grouped
// by the paths of the kernel they reach (fused_layout.h, fused_item.cuh, cuda.cu).
#pragma once

#include "common/fused_program.h"
#include "gpu/op_check.h"
#include "ops/activation/activation.h"
#include "ops/elementwise/elementwise.h"
#include "ops/fused_elementwise/fused_elementwise.h"
#include "ops/unary/unary.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace kiln::testing::fused {

using ops::ElementWiseOp;
using ops::UnaryOp;

inline const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

// A case, its output dtype, its float32 tolerance on the GPU (dtype_tol widens it for 16-bit
// outputs; the host emulation compares exactly), the element shifts of misaligned runs, and
// whether it can run in place (input 0 has the output's dtype and size).
struct NamedCase {
  std::string what;
  OpCase c;
  DataType out;
  Tol fp32;
  std::vector<int> shifts;
  bool in_place = false;
};

// r = ((x0 + x1) + x2) ... + x[n-1], then * 0.5 (a chain: the sum is forwarded, no slots).
inline OpCase sum_case(std::vector<HostTensor> inputs, DataType out) {
  std::vector<std::vector<int64_t>> code;
  const int n = static_cast<int>(inputs.size());
  code.push_back(n > 1 ? bin(ElementWiseOp::kSum, 0, 1) : un(UnaryOp::kNeg, 0));
  for (int i = 2; i < n; ++i) code.push_back(bin(ElementWiseOp::kSum, n + i - 2, i));
  code.push_back(bin(ElementWiseOp::kProd, n + static_cast<int>(code.size()) - 1, -1));
  return fused_case(std::move(inputs), code, {0.5}, out);
}

// Random tensors of dtype dt with these shapes.
inline std::vector<HostTensor> tensors(DataType dt, const std::vector<Dims>& shapes,
                                       std::mt19937& rng) {
  std::vector<HostTensor> t;
  for (const Dims& d : shapes) t.push_back(random_tensor(dt, d, rng, -2, 2));
  return t;
}

// Sums of broadcast inputs in every float dtype: each input access (vector, strided vector,
// broadcast within rows, gathered; element by element in the runs shifted by 1 element, no
// 16-byte vectors at 4) and partial last items.
inline std::vector<NamedCase> broadcast_cases(std::mt19937& rng) {
  struct Shapes {
    const char* what;
    std::vector<Dims> in;
  };
  const Shapes shapes[] = {
      // BERT embeddings (batch 4): two full inputs, one broadcast over the batch (strided,
      // contiguous rows: vector reads).
      {"embeddings", {{4, 128, 768}, {4, 128, 768}, {1, 128, 768}}},
      // A scalar (rank 0 and [1]) and a full input.
      {"scalar", {{8, 64, 96}, {}, {1}}},
      // Bias along the last dim; a column [R,1] (broadcast within rows of 40).
      {"bias and column", {{48, 40}, {40}, {48, 1}}},
      // Per-channel [C,1,1] over NCHW: rows H*W = 64 (broadcast per item) and 7x7 (gathered).
      {"channel 8x8", {{3, 16, 8, 8}, {16, 1, 1}}},
      {"channel 7x7", {{3, 16, 7, 7}, {16, 1, 1}, {1, 16, 7, 7}}},
      // Middle dim broadcast: [N,1,W] and [N,C,1] over [N,C,W]; W = 24 and W = 13 (gathered).
      {"middle 24", {{4, 5, 24}, {4, 1, 24}, {4, 5, 1}}},
      {"middle 13", {{4, 5, 13}, {4, 1, 13}, {1, 5, 1}}},
      // Sizes that are not a multiple of the item: partial last items.
      {"odd 1001", {{1001}, {1001}, {1}}},
      {"odd 3x37", {{3, 37}, {37}, {3, 1}}},
      {"tiny 5", {{5}, {5}}},
      {"one element", {{1, 1}, {1}}},
      // Broadcast on both sides: [A,1,C] + [1,B,1] -> [A,B,C] (no full input).
      {"outer", {{6, 1, 16}, {1, 9, 1}}},
      // Many dims collapsed to a few.
      {"rank 6", {{2, 3, 1, 4, 5, 8}, {1, 3, 1, 4, 1, 8}, {2, 1, 1, 1, 5, 1}}},
  };
  std::vector<NamedCase> cases;
  for (DataType dt : kFloatTypes) {
    for (const Shapes& s : shapes) {
      // In place where input 0 covers the output (the broadcast shape, right-aligned).
      std::vector<int64_t> out(Dims::kMaxDims, 1);
      for (const Dims& d : s.in) {
        for (int k = 0; k < d.rank(); ++k) {
          int64_t& e = out[Dims::kMaxDims - d.rank() + k];
          e = std::max(e, d[k]);
        }
      }
      int64_t volume = 1;
      for (int64_t e : out) volume *= e;
      const bool in_place = s.in[0].volume() == volume;
      cases.push_back({std::string(dtype_name(dt)) + " " + s.what,
                       sum_case(tensors(dt, s.in, rng), dt),
                       dt,
                       {1e-6, 4e-6},
                       {1, 4},
                       in_place});
    }
  }
  return cases;
}

// Mixed input dtypes: a float16 chain with float32 inputs (items of 4: 16-byte float32 reads,
// 8-byte float16 ones); attention-style masks where(bool [B,1,1,S], x, -10000) +
// float(int) * 0.5 with the int input of every integer dtype, [B,1,1,S] (strided) or a scalar,
// S = 64 (rows of whole items) and S = 30 (gathered), int64 [B,1,1,S] read one element per
// thread; integer inputs alone into a float32 output.
inline std::vector<NamedCase> mixed_dtype_cases(std::mt19937& rng) {
  const DataType f16 = DataType::kFloat16, f32 = DataType::kFloat32;
  std::vector<NamedCase> cases;
  cases.push_back({"f16 + f32",
                   sum_case({random_tensor(f16, Dims{16, 200}, rng, -2, 2),
                             random_tensor(f32, Dims{16, 200}, rng, -2, 2),
                             random_tensor(f32, Dims{}, rng, -2, 2)},
                            f16),
                   f16,
                   {1e-6, 4e-6},
                   {1},
                   true});
  for (int64_t seq : {64, 30}) {
    for (DataType it :
         {DataType::kInt64, DataType::kInt32, DataType::kInt8, DataType::kUInt8, DataType::kBool}) {
      for (bool scalar : {false, true}) {
        HostTensor cond = random_tensor(DataType::kBool, Dims{2, 1, 1, seq}, rng, -1, 1);
        HostTensor x = random_tensor(f16, Dims{2, 3, seq, seq}, rng, -3, 3);
        HostTensor ints = random_tensor(it, scalar ? Dims{1} : Dims{2, 1, 1, seq}, rng, 0, 100);
        OpCase k = fused_case({cond, x, ints},
                              {{3, 0, 0, 1, -1},  // r3 = where(cond, x, -10000)
                               bin(ElementWiseOp::kProd, 2, -2),
                               bin(ElementWiseOp::kSum, 3, 4)},
                              {-10000.0, 0.5}, f16);
        cases.push_back({std::string("mask ") + std::string(dtype_name(it)) +
                             (scalar ? " scalar" : " rows") + " seq " + std::to_string(seq),
                         std::move(k),
                         f16,
                         {1e-6, 4e-6},
                         {1},
                         false});
      }
    }
  }
  for (DataType it : {DataType::kInt64, DataType::kInt32, DataType::kInt8, DataType::kUInt8,
                      DataType::kBool, DataType::kBFloat16}) {
    const bool is_unsigned = it == DataType::kUInt8 || it == DataType::kBool;
    const double lo = is_unsigned ? 0 : -50, hi = it == DataType::kBool ? 1 : 50;
    cases.push_back({std::string("ints ") + std::string(dtype_name(it)),
                     sum_case({random_tensor(it, Dims{5, 77}, rng, lo, hi),
                               random_tensor(it, Dims{77}, rng, lo, hi)},
                              f32),
                     f32,
                     {1e-6, 4e-6},
                     {1},
                     false});
  }
  return cases;
}

// n_in inputs alternating [24,40] and [40]: acc = -x0; acc = acc op -x_i (the negation
// forwarded, acc in a slot); then acc + x_i for every input: n_in + 1 live values.
inline OpCase live_inputs_case(DataType dt, int n_in, std::mt19937& rng) {
  std::vector<HostTensor> in;
  std::vector<std::vector<int64_t>> code;
  for (int i = 0; i < n_in; ++i) {
    in.push_back(random_tensor(dt, i % 2 ? Dims{24, 40} : Dims{40}, rng, -2, 2));
  }
  code.push_back(un(UnaryOp::kNeg, 0));
  int acc = n_in;
  for (int i = 1; i < n_in; ++i) {
    code.push_back(un(UnaryOp::kNeg, i));
    code.push_back(bin(i % 2 ? ElementWiseOp::kMax : ElementWiseOp::kSub, acc,
                       n_in + static_cast<int>(code.size()) - 1));
    acc = n_in + static_cast<int>(code.size()) - 1;
  }
  for (int i = 0; i < n_in; ++i) {
    code.push_back(bin(ElementWiseOp::kSum, acc, i));
    acc = n_in + static_cast<int>(code.size()) - 1;
  }
  return fused_case(in, code, {}, dt);
}

// x * c_k for 16 constants, then their sum: 16 live values.
inline OpCase live_products_case(DataType dt, std::mt19937& rng) {
  HostTensor x = random_tensor(dt, Dims{7, 129}, rng, -1, 1);
  std::vector<std::vector<int64_t>> code;
  for (int k = 0; k < 16; ++k) code.push_back(bin(ElementWiseOp::kProd, 0, -(k % 4) - 1));
  int acc = 1;
  for (int k = 1; k < 16; ++k) {
    code.push_back(bin(ElementWiseOp::kSum, acc, 1 + k));
    acc = 1 + static_cast<int>(code.size()) - 1;
  }
  code.push_back(un(UnaryOp::kAbs, acc));
  return fused_case({x}, code, {0.5, -1.25, 2.0, 3.0}, dt);
}

// Many live values: 6 and 9 slots (more than 4 inputs: items of 4), 16 (smaller blocks).
inline std::vector<NamedCase> live_value_cases(std::mt19937& rng) {
  std::vector<NamedCase> cases;
  for (DataType dt : kFloatTypes) {
    for (int n_in : {5, 8}) {
      cases.push_back({std::string(dtype_name(dt)) + " " + std::to_string(n_in) + " inputs",
                       live_inputs_case(dt, n_in, rng),
                       dt,
                       {1e-6, 4e-6},
                       {1},
                       false});
    }
    cases.push_back({std::string(dtype_name(dt)) + " 16 live values",
                     live_products_case(dt, rng),
                     dt,
                     {1e-6, 8e-6},
                     {1},
                     true});
  }
  return cases;
}

// Transcendental ops over 16-byte items (their register demand), NaN propagation through
// min/max on items, and round-to-float16 inside a float32 chain.
inline std::vector<NamedCase> math_cases(std::mt19937& rng) {
  std::vector<NamedCase> cases;
  for (DataType dt : kFloatTypes) {
    HostTensor x = random_tensor(dt, Dims{8, 136}, rng, 0.1, 3);
    HostTensor b = random_tensor(dt, Dims{136}, rng, -1, 1);
    OpCase k = fused_case({x, b},
                          {bin(ElementWiseOp::kPow, 0, -1),
                           un(UnaryOp::kSin, 2),
                           bin(ElementWiseOp::kSum, 3, 1),
                           {2, static_cast<int64_t>(ops::ActivationKind::kGeluTanh), 4, -2, -2},
                           un(UnaryOp::kErf, 5),
                           {2, static_cast<int64_t>(ops::ActivationKind::kMish), 6, -2, -2}},
                          {1.5, 0.0}, dt);
    cases.push_back(
        {std::string(dtype_name(dt)) + " heavy math", std::move(k), dt, {2e-6, 2e-5}, {}, false});
  }
  HostTensor a = make_tensor(DataType::kFloat16, Dims{2, 12},
                             {1,   NAN, -2, 3, 0.5, 7, NAN, -1, 2, 2,   2, 2,  //
                              NAN, 0,   0,  0, -4,  4, 1,   1,  1, NAN, 9, -9});
  HostTensor m =
      make_tensor(DataType::kFloat16, Dims{12}, {0, 1, 2, NAN, 4, 5, 6, 7, 8, 9, 10, 11});
  cases.push_back(
      {"nan items",
       fused_case({a, m}, {bin(ElementWiseOp::kMin, 0, 1), bin(ElementWiseOp::kMax, 2, -1)}, {0.25},
                  DataType::kFloat16),
       DataType::kFloat16,
       {0, 0},
       {1},
       false});
  HostTensor f = random_tensor(DataType::kFloat32, Dims{4, 100}, rng, -70000, 70000);
  cases.push_back({"round to f16 items",
                   fused_case({f},
                              {{4, static_cast<int64_t>(DataType::kFloat16), 0, 0, 0},
                               bin(ElementWiseOp::kSum, 1, -1)},
                              {0.125}, DataType::kFloat32),
                   DataType::kFloat32,
                   {0, 0},
                   {1},
                   true});
  return cases;
}

}  // namespace kiln::testing::fused
