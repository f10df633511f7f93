// CUDA "strided" tactic of Slice against the CPU reference: attribute and input forms (int64 and
// int32 bounds, read from the host copies), negative starts/ends/steps, clamping, INT64 extremes,
// zero-size results, contiguous blocks (one memcpy), every dtype, unaligned buffers.
#include "gpu/cuda_case_util.h"
#include "ops/data_movement_util.h"

#include <limits>

namespace kiln::testing::slice_cuda_test {
namespace {

constexpr int64_t kBig = std::numeric_limits<int64_t>::max();
constexpr int64_t kSmall = std::numeric_limits<int64_t>::min();

using SliceCuda = GpuTest;

struct Spec {
  std::vector<int64_t> starts, ends, axes, steps;
};

// form 0: attributes; 1: int64 constant inputs; 2: int32 constant inputs.
OpCase slice_case(HostTensor x, const Spec& s, int form) {
  OpCase c;
  c.op = "Slice";
  c.inputs.push_back(std::move(x));
  if (form == 0) {
    c.attrs.set("starts", s.starts);
    c.attrs.set("ends", s.ends);
    if (!s.axes.empty()) c.attrs.set("axes", s.axes);
    if (!s.steps.empty()) c.attrs.set("steps", s.steps);
    return c;
  }
  const DataType dt = form == 1 ? DataType::kInt64 : DataType::kInt32;
  auto clamp32 = [&](std::vector<int64_t> v) {
    if (dt == DataType::kInt32) {
      for (auto& e : v) e = std::clamp<int64_t>(e, INT32_MIN, INT32_MAX);
    }
    return v;
  };
  c.inputs.push_back(ints(dt, clamp32(s.starts)));
  c.inputs.push_back(ints(dt, clamp32(s.ends)));
  c.inputs.push_back(s.axes.empty() ? HostTensor() : ints(dt, s.axes));
  c.inputs.push_back(s.steps.empty() ? HostTensor() : ints(dt, s.steps));
  c.constant = {false, true, true, true, true};
  return c;
}

TEST(SliceCudaRegistry, OneTactic) {
  auto tactics = ops::cuda_tactics("Slice");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "strided");
}

TEST_F(SliceCuda, FixedCasesEveryFormEveryDtype) {
  std::mt19937 rng(51);
  const std::vector<std::pair<Dims, Spec>> cases = {
      {Dims{10}, {{2}, {8}, {}, {}}},
      {Dims{10}, {{-3}, {kBig}, {}, {}}},
      {Dims{10}, {{kBig}, {kSmall}, {}, {-1}}},  // reverse all
      {Dims{10}, {{8}, {1}, {}, {-3}}},
      {Dims{4, 6, 5}, {{1, -1}, {3, 0}, {0, 2}, {1, -2}}},
      {Dims{4, 6, 5}, {{0}, {2}, {1}, {}}},  // contiguous block per outer index
      {Dims{4, 6, 5}, {{1}, {3}, {0}, {}}},  // one contiguous block
      {Dims{4, 6, 5}, {{3}, {3}, {0}, {}}},  // empty
      {Dims{3, 4, 5, 6}, {{-100, 1}, {100, 4}, {-1, 1}, {5, 2}}},
      {Dims{2, 1, 7}, {{0, 0, 6}, {2, 1, 0}, {}, {1, 1, -2}}},
  };
  for (DataType dt : all_dtypes()) {
    for (size_t i = 0; i < cases.size(); ++i) {
      for (int form = 0; form < 3; ++form) {
        expect_exact(slice_case(pattern_tensor(dt, cases[i].first, rng), cases[i].second, form),
                     device(), stream(),
                     std::string(dtype_name(dt)) + " case " + std::to_string(i) + " form " +
                         std::to_string(form));
      }
    }
  }
}

TEST_F(SliceCuda, RandomSlices) {
  std::mt19937 rng(52);
  for (int iter = 0; iter < 60; ++iter) {
    const DataType dt = all_dtypes()[iter % all_dtypes().size()];
    const int rank = 1 + static_cast<int>(rng() % 5);
    std::vector<int64_t> d(rank);
    for (auto& v : d) v = 1 + static_cast<int64_t>(rng() % 9);
    Spec s;
    for (int axis = 0; axis < rank; ++axis) {
      if (rng() % 3 == 0) continue;
      const int64_t e = d[axis];
      s.axes.push_back(rng() % 2 ? axis : axis - rank);
      s.starts.push_back(static_cast<int64_t>(rng() % (2 * e + 3)) - e - 1);
      s.ends.push_back(static_cast<int64_t>(rng() % (2 * e + 3)) - e - 1);
      int64_t step = 1 + static_cast<int64_t>(rng() % 3);
      s.steps.push_back(rng() % 3 == 0 ? -step : step);
    }
    if (s.axes.empty()) continue;
    expect_exact(slice_case(pattern_tensor(dt, make_dims(d), rng), s, 1 + iter % 2), device(),
                 stream(), "random " + std::to_string(iter));
  }
}

TEST_F(SliceCuda, LargeAndUnaligned) {
  std::mt19937 rng(53);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kInt64, DataType::kUInt8}) {
    // Inner rows of 256 elements: 16-byte words; the misaligned run takes 1-element words.
    const Spec s{{1, 16}, {600, 272}, {0, 1}, {2, 1}};
    auto x = pattern_tensor(dt, Dims{601, 300}, rng);
    expect_exact(slice_case(x, s, 1), device(), stream(), "large");
    CudaRunOptions misaligned;
    misaligned.misalign_elements = 1;
    expect_exact(slice_case(x, s, 1), device(), stream(), "large misaligned", misaligned);
  }
}

}  // namespace
}  // namespace kiln::testing::slice_cuda_test
