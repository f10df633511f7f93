// Softmax / LogSoftmax: every CPU tactic against a naive per-slice computation written here.
#include "common/op_harness.h"
#include "common/pool_runner.h"

#include <cmath>

namespace kiln::testing::softmax_test {
namespace {

constexpr DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

double tol_for(DataType dt) {
  return dt == DataType::kFloat32 ? 1e-5 : dt == DataType::kFloat16 ? 2e-3 : 1e-2;
}

OpCase softmax_case(HostTensor x, int64_t axis, int log) {
  OpCase c;
  c.op = "Softmax";
  c.attrs.set("axis", axis);
  c.attrs.set("log", int64_t{log});
  c.inputs.push_back(std::move(x));
  return c;
}

// Naive: for every element, walk its slice along `axis` by stepping the axis coordinate.
HostTensor expected_softmax(const HostTensor& x, int64_t axis, bool log) {
  const Dims& d = x.shape();
  if (axis < 0) axis += d.rank();
  HostTensor y(x.dtype(), d);
  int64_t stride = 1;
  for (int i = d.rank() - 1; i > axis; --i) stride *= d[i];
  int64_t n = d.rank() == 0 ? 1 : d[static_cast<int>(axis)];
  for (int64_t e = 0; e < x.numel(); ++e) {
    int64_t pos = (e / stride) % n;
    int64_t first = e - pos * stride;
    double m = -INFINITY;
    for (int64_t a = 0; a < n; ++a) m = std::max(m, x.get_double(first + a * stride));
    double sum = 0;
    for (int64_t a = 0; a < n; ++a) sum += std::exp(x.get_double(first + a * stride) - m);
    double v = x.get_double(e) - m;
    store_from_double(y.data(), y.dtype(), e, log ? v - std::log(sum) : std::exp(v) / sum);
  }
  return y;
}

void check_all_tactics(const OpCase& c, const HostTensor& want, double tol, const std::string& what,
                       ThreadPool* pool = nullptr) {
  auto runs = pool ? run_cpu_tactics_threaded(c, pool) : run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  ASSERT_EQ(runs->size(), 2u) << what;
  EXPECT_EQ((*runs)[0].tactic, "Softmax/cpu-ref/reference");
  EXPECT_EQ((*runs)[1].tactic, "Softmax/cpu-opt/threaded");
  for (const auto& r : *runs) {
    EXPECT_TRUE(all_close(r.outputs[0], want, tol, tol)) << what << " " << r.tactic;
  }
}

TEST(Softmax, RandomShapesAxesDtypes) {
  std::mt19937 rng(11);
  for (int iter = 0; iter < 60; ++iter) {
    int rank = 1 + static_cast<int>(rng() % 4);
    std::vector<int64_t> dims(rank);
    for (auto& v : dims) v = 1 + rng() % 7;
    int64_t axis = static_cast<int64_t>(rng() % (2 * rank)) - rank;  // [-rank, rank)
    DataType dt = kFloatTypes[iter % 3];
    int log = static_cast<int>(rng() % 2);
    HostTensor x = random_tensor(dt, Dims(std::span<const int64_t>(dims)), rng, -5, 5);
    std::string what = Dims(std::span<const int64_t>(dims)).to_string() + " axis " +
                       std::to_string(axis) + " log " + std::to_string(log) + " " +
                       std::string(dtype_name(dt));
    check_all_tactics(softmax_case(x, axis, log), expected_softmax(x, axis, log), tol_for(dt),
                      what);
  }
}

TEST(Softmax, LongRowsAndWideInnerBlocks) {
  std::mt19937 rng(3);
  // A long contiguous row (lane loops + tail), and an inner extent over the column block size.
  // Beyond 4096 along the axis, 16-bit inputs take the unbuffered paths.
  for (Dims d :
       {Dims{3, 1037}, Dims{2, 5, 130}, Dims{1, 300, 67}, Dims{2, 4100}, Dims{1, 4100, 3}}) {
    for (DataType dt : kFloatTypes) {
      for (int log : {0, 1}) {
        int64_t axis = d.rank() == 2 ? -1 : 1;
        HostTensor x = random_tensor(dt, d, rng, -8, 8);
        check_all_tactics(softmax_case(x, axis, log), expected_softmax(x, axis, log), tol_for(dt),
                          d.to_string() + " " + std::string(dtype_name(dt)));
      }
    }
  }
}

TEST(Softmax, LargeValuesAreStable) {
  // exp(1000) overflows; a max-subtracting softmax gives the same as for [0, 1, 2].
  HostTensor x = make_tensor(DataType::kFloat32, {2, 3}, {1000, 1001, 1002, -1000, -1001, -1002});
  double e0 = 1, e1 = std::exp(1.0), e2 = std::exp(2.0), s = e0 + e1 + e2;
  HostTensor want =
      make_tensor(DataType::kFloat32, {2, 3}, {e0 / s, e1 / s, e2 / s, e2 / s, e1 / s, e0 / s});
  check_all_tactics(softmax_case(x, 1, 0), want, 1e-6, "large");
  // LogSoftmax: (x - max) - log(sum(exp(x - max))).
  HostTensor want2(DataType::kFloat32, {2, 3});
  for (int i = 0; i < 3; ++i) {
    store_from_double(want2.data(), DataType::kFloat32, i, (i - 2) - std::log(s / e2));
    store_from_double(want2.data(), DataType::kFloat32, 3 + i, -i - std::log(s / e2));
  }
  check_all_tactics(softmax_case(x, -1, 1), want2, 1e-5, "large log");
}

TEST(Softmax, MinusInfinityMasksAndHalfLargeValues) {
  // -inf entries (attention masks) get probability 0; the others renormalize.
  HostTensor x = make_tensor(DataType::kFloat32, {1, 4}, {1, -INFINITY, 1, -INFINITY});
  HostTensor want = make_tensor(DataType::kFloat32, {1, 4}, {0.5, 0, 0.5, 0});
  check_all_tactics(softmax_case(x, 1, 0), want, 1e-6, "mask");
  // float16 near its max: exp would overflow without max subtraction.
  HostTensor h = make_tensor(DataType::kFloat16, {2}, {60000, 60000});
  check_all_tactics(softmax_case(h, 0, 0), make_tensor(DataType::kFloat16, {2}, {0.5, 0.5}), 1e-3,
                    "half");
}

TEST(Softmax, SizeOneAxisAndZeroSize) {
  std::mt19937 rng(5);
  HostTensor x = random_tensor(DataType::kFloat32, {4, 1, 3}, rng, -3, 3);
  HostTensor ones(DataType::kFloat32, {4, 1, 3}), zeros(DataType::kFloat32, {4, 1, 3});
  for (int64_t i = 0; i < ones.numel(); ++i) ones.as<float>()[i] = 1.f;
  check_all_tactics(softmax_case(x, 1, 0), ones, 0, "size-1 axis");
  check_all_tactics(softmax_case(x, -2, 1), zeros, 0, "size-1 axis log");
  for (Dims d : {Dims{0, 5}, Dims{3, 0}, Dims{2, 0, 4}}) {
    for (int64_t axis : {0, 1, -1}) {
      HostTensor z = random_tensor(DataType::kFloat32, d, rng);
      auto runs = run_cpu_tactics(softmax_case(z, axis, 0));
      ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
      EXPECT_EQ(runs->size(), 2u);
      for (const auto& r : *runs) EXPECT_EQ(r.outputs[0].shape(), d);
    }
  }
}

TEST(Softmax, Errors) {
  std::mt19937 rng(1);
  auto bad_axis = make_graph(softmax_case(random_tensor(DataType::kFloat32, {2, 3}, rng), 2, 0));
  ASSERT_FALSE(bad_axis.is_ok());
  EXPECT_NE(bad_axis.status().to_string().find("axis 2 is out of range"), std::string::npos)
      << bad_axis.status().to_string();
  EXPECT_FALSE(
      make_graph(softmax_case(random_tensor(DataType::kFloat32, {2, 3}, rng), -3, 0)).is_ok());
  auto int_in = make_graph(softmax_case(random_tensor(DataType::kInt32, {2, 3}, rng), -1, 0));
  ASSERT_FALSE(int_in.is_ok());
  EXPECT_NE(int_in.status().to_string().find("int32"), std::string::npos);
  auto bad_log = make_graph(softmax_case(random_tensor(DataType::kFloat32, {2, 3}, rng), -1, 2));
  ASSERT_FALSE(bad_log.is_ok());
  EXPECT_NE(bad_log.status().to_string().find("'log'"), std::string::npos);
}

}  // namespace
}  // namespace kiln::testing::softmax_test

namespace kiln::testing::softmax_test {
namespace {

TEST(Softmax, ThreadedChunks) {
  std::mt19937 rng(12);
  ThreadPool pool(4);
  for (Dims d : {Dims{200, 333}, Dims{8, 64, 200}}) {
    for (DataType dt : {DataType::kFloat32, DataType::kBFloat16}) {
      for (int log : {0, 1}) {
        int64_t axis = d.rank() == 2 ? -1 : 1;
        HostTensor x = random_tensor(dt, d, rng, -6, 6);
        check_all_tactics(softmax_case(x, axis, log), expected_softmax(x, axis, log), tol_for(dt),
                          d.to_string() + " threaded", &pool);
      }
    }
  }
}

}  // namespace
}  // namespace kiln::testing::softmax_test

// Scale, Mask (float / bool with mask_fill, broadcast) and nan_to_zero.
namespace kiln::testing::softmax_test {
namespace {

// Naive: z = scale * x + mask (bool: 0 or fill, broadcast right-aligned), softmax over `axis`,
// NaN -> 0 when asked.
HostTensor expected_masked(const HostTensor& x, const HostTensor* mask, int64_t axis, bool log,
                           double scale, bool nan_to_zero, double fill = -INFINITY) {
  const Dims& d = x.shape();
  if (axis < 0) axis += d.rank();
  HostTensor z(DataType::kFloat32, d);
  for (int64_t e = 0; e < x.numel(); ++e) {
    double v = scale * x.get_double(e);
    if (mask != nullptr) {
      const Dims& md = mask->shape();
      int64_t rest = e, off = 0, mstride = 1;
      for (int i = d.rank() - 1; i >= 0; --i) {
        const int64_t c = rest % d[i];
        rest /= d[i];
        const int mi = i - (d.rank() - md.rank());
        if (mi >= 0) {
          if (md[mi] != 1) off += c * mstride;
          mstride *= md[mi];
        }
      }
      const double m = mask->get_double(off);
      v += mask->dtype() == DataType::kBool ? (m != 0 ? 0.0 : fill) : m;
    }
    z.as<float>()[e] = static_cast<float>(v);
  }
  HostTensor y = expected_softmax(z, axis, log);
  HostTensor out(x.dtype(), d);
  for (int64_t e = 0; e < y.numel(); ++e) {
    double v = y.get_double(e);
    if (nan_to_zero && std::isnan(v)) v = 0;
    store_from_double(out.data(), out.dtype(), e, v);
  }
  return out;
}

TEST(Softmax, ScaleMaskAndNanToZero) {
  std::mt19937 rng(21);
  ThreadPool pool(3);
  const Dims x_shape{2, 3, 4, 6};
  for (DataType dt : kFloatTypes) {
    for (DataType mdt : {DataType::kFloat32, DataType::kFloat16, DataType::kBool}) {
      for (Dims md : {Dims{2, 1, 1, 6}, Dims{2, 1, 4, 6}, Dims{6}, Dims{3, 4, 1}}) {
        for (int log : {0, 1}) {
          HostTensor x = random_tensor(dt, x_shape, rng, -4, 4);
          HostTensor mask = mdt == DataType::kBool ? random_tensor(mdt, md, rng, -1, 1)
                                                   : random_tensor(mdt, md, rng, -5, 0);
          OpCase c = softmax_case(x, -1, log);
          c.inputs.push_back(mask);
          c.attrs.set("scale", 0.7);
          c.attrs.set("nan_to_zero", int64_t{1});
          const std::string what = std::string(dtype_name(dt)) + " mask " +
                                   std::string(dtype_name(mdt)) + md.to_string() +
                                   (log ? " log" : "");
          // Both tactics take it (last axis).
          check_all_tactics(c, expected_masked(x, &mask, -1, log, 0.7, true), tol_for(dt), what,
                            &pool);
        }
      }
    }
  }
}

TEST(Softmax, FullyMaskedRowsAndMaskFill) {
  HostTensor x = make_tensor(DataType::kFloat32, {2, 3}, {1, 2, 3, 4, 5, 6});
  HostTensor mask = make_tensor(DataType::kBool, {2, 3}, {1, 0, 1, 0, 0, 0});
  for (bool nan_to_zero : {false, true}) {
    OpCase c = softmax_case(x, -1, 0);
    c.inputs.push_back(mask);
    if (nan_to_zero) c.attrs.set("nan_to_zero", int64_t{1});
    HostTensor want = expected_masked(x, &mask, -1, false, 1.0, nan_to_zero);
    EXPECT_EQ(std::isnan(want.get_double(3)), !nan_to_zero);  // row 1 is all -inf
    check_all_tactics(c, want, 1e-6, nan_to_zero ? "nan_to_zero" : "nan");
  }
  // A finite fill: the all-masked row is uniform.
  OpCase c = softmax_case(x, -1, 0);
  c.inputs.push_back(mask);
  c.attrs.set("mask_fill", -10000.0);
  HostTensor want = expected_masked(x, &mask, -1, false, 1.0, false, -10000.0);
  // Row 1 is softmax([4, 5, 6] - 10000) = softmax([4, 5, 6]).
  EXPECT_NEAR(want.get_double(3), std::exp(-2.0) / (std::exp(-2.0) + std::exp(-1.0) + 1.0), 1e-6);
  check_all_tactics(c, want, 1e-6, "mask_fill");
}

TEST(Softmax, ScaleOnAnInnerAxisRunsTheReferenceOnly) {
  std::mt19937 rng(22);
  HostTensor x = random_tensor(DataType::kFloat32, {3, 5, 4}, rng, -3, 3);
  OpCase c = softmax_case(x, 1, 0);
  c.attrs.set("scale", 2.0);
  auto runs = run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].tactic, "Softmax/cpu-ref/reference");
  EXPECT_TRUE(all_close((*runs)[0].outputs[0], expected_masked(x, nullptr, 1, false, 2.0, false),
                        1e-6, 1e-6));
  // A mask on an inner axis too.
  c.inputs.push_back(random_tensor(DataType::kFloat32, {5, 1}, rng));
  runs = run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_TRUE(all_close((*runs)[0].outputs[0],
                        expected_masked(x, &c.inputs[1], 1, false, 2.0, false), 1e-6, 1e-6));
}

TEST(Softmax, MaskErrors) {
  std::mt19937 rng(23);
  auto message = [](const OpCase& c) {
    auto g = make_graph(c);
    return g.is_ok() ? std::string("OK") : g.status().to_string();
  };
  OpCase c = softmax_case(random_tensor(DataType::kFloat32, {2, 3}, rng), -1, 0);
  c.inputs.push_back(random_tensor(DataType::kFloat32, {4}, rng));
  EXPECT_NE(message(c).find("does not broadcast"), std::string::npos) << message(c);
  c.inputs[1] = random_tensor(DataType::kFloat32, {2, 2, 3}, rng);  // would enlarge X
  EXPECT_NE(message(c).find("does not broadcast"), std::string::npos) << message(c);
  c.inputs[1] = random_tensor(DataType::kInt64, {3}, rng);
  EXPECT_NE(message(c).find("float or bool"), std::string::npos) << message(c);
  c.inputs[1] = random_tensor(DataType::kFloat32, {3}, rng);
  c.attrs.set("nan_to_zero", int64_t{2});
  EXPECT_NE(message(c).find("nan_to_zero"), std::string::npos) << message(c);
  c.attrs.set("nan_to_zero", int64_t{0});
  c.attrs.set("scale", INFINITY);
  EXPECT_NE(message(c).find("scale"), std::string::npos) << message(c);
}

}  // namespace
}  // namespace kiln::testing::softmax_test
