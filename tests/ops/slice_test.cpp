// Slice: ONNX-13 semantics (clamping, negative indices, INT64_MAX/MIN ends, negative steps),
// attribute and input forms (int32/int64), every dtype, random cases against a naive index list
// written from the spec, symbolic extents on dynamic dims checked against the same spec for many
// extents, shape values of sliced shape tensors, and errors.
#include "data_movement_util.h"

#include <limits>

namespace kiln::testing::slice_test {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

// The indices of one axis that ONNX Slice picks.
std::vector<int64_t> picked(int64_t d, int64_t start, int64_t end, int64_t step) {
  auto clamp = [](int64_t v, int64_t lo, int64_t hi) { return std::min(std::max(v, lo), hi); };
  if (start < 0) start = start == kMin ? kMin : start + d;
  if (end < 0) end = end == kMin ? kMin : end + d;
  std::vector<int64_t> out;
  if (step > 0) {
    start = clamp(start, 0, d);
    end = clamp(end, 0, d);
    for (int64_t i = start; i < end; i += step) {
      out.push_back(i);
      if (i >= end - step) break;  // the next index would pass end (and i + step may overflow)
    }
  } else {
    start = clamp(start, 0, d - 1);
    end = clamp(end, -1, d - 1);
    for (int64_t i = start; i > end; i += step) {
      out.push_back(i);
      if (i + step <= end) break;
    }
  }
  return out;
}

struct Spec {
  std::vector<int64_t> starts, ends, axes, steps;  // axes/steps may be empty (defaults)
};

HostTensor naive_slice(const HostTensor& x, const Spec& s) {
  const Dims& d = x.shape();
  std::vector<std::vector<int64_t>> pick(d.rank());
  for (int k = 0; k < d.rank(); ++k) {
    for (int64_t i = 0; i < d[k]; ++i) pick[k].push_back(i);
  }
  for (size_t i = 0; i < s.starts.size(); ++i) {
    int64_t axis = s.axes.empty() ? static_cast<int64_t>(i) : s.axes[i];
    if (axis < 0) axis += d.rank();
    int64_t step = s.steps.empty() ? 1 : s.steps[i];
    pick[axis] = picked(d[static_cast<int>(axis)], s.starts[i], s.ends[i], step);
  }
  std::vector<int64_t> od;
  for (auto& p : pick) od.push_back(static_cast<int64_t>(p.size()));
  const Dims out = dims_of(od);
  HostTensor y(x.dtype(), out);
  for (int64_t o = 0; o < y.numel(); ++o) {
    auto oi = unravel(o, out);
    for (int k = 0; k < d.rank(); ++k) oi[k] = pick[k][oi[k]];
    copy_element(x, ravel(oi, d), y, o);
  }
  return y;
}

// form 0: attributes; 1: int64 inputs; 2: int32 inputs (skipping absent axes/steps).
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
  DataType dt = form == 1 ? DataType::kInt64 : DataType::kInt32;
  auto clamp32 = [&](std::vector<int64_t> v) {
    if (dt == DataType::kInt32) {
      for (auto& e : v) {
        e = std::min<int64_t>(std::max<int64_t>(e, std::numeric_limits<int32_t>::min()),
                              std::numeric_limits<int32_t>::max());
      }
    }
    return ints(dt, v);
  };
  c.inputs.push_back(clamp32(s.starts));
  c.inputs.push_back(clamp32(s.ends));
  if (!s.axes.empty() || !s.steps.empty()) {
    c.inputs.push_back(s.axes.empty() ? HostTensor() : ints(dt, s.axes));
  }
  if (!s.steps.empty()) c.inputs.push_back(clamp32(s.steps));
  c.constant.assign(c.inputs.size(), true);
  c.constant[0] = false;
  return c;
}

void check(const HostTensor& x, const Spec& s, const std::string& what) {
  HostTensor want = naive_slice(x, s);
  for (int form = 0; form < 3; ++form) {
    auto runs = run_cpu_tactics(slice_case(x, s, form));
    ASSERT_TRUE(runs.is_ok()) << what << " form " << form << ": " << runs.status().to_string();
    ASSERT_EQ(tactic_ids(*runs), std::vector<std::string>{"Slice/cpu-ref/reference"});
    EXPECT_TRUE(same((*runs)[0].outputs[0], want)) << what << " form " << form;
  }
}

TEST(Slice, OnnxClampingCases) {
  std::mt19937 rng(61);
  // x is [20, 10, 5], as in the ONNX backend tests.
  const std::pair<const char*, Spec> cases[] = {
      {"basic", {{0, 0}, {3, 10}, {0, 1}, {1, 1}}},
      {"default axes/steps", {{0, 0, 3}, {20, 10, 4}, {}, {}}},
      {"end out of bounds", {{1}, {1000}, {1}, {1}}},
      {"start out of bounds", {{1000}, {1000}, {1}, {1}}},
      {"negative start", {{-1}, {1000}, {1}, {}}},
      {"negative axes", {{0, 0, 3}, {20, 10, 4}, {0, -2, -1}, {}}},
      {"INT64_MAX end", {{1}, {kMax}, {1}, {}}},
      {"negative step reverses", {{-1}, {kMin}, {1}, {-1}}},
      {"negative step 2", {{20, 10, 4}, {0, 0, 1}, {0, 1, 2}, {-1, -3, -2}}},
      {"step 3", {{0, 1}, {-1, 1000}, {0, 1}, {3, 4}}},
      {"empty: start >= end", {{5}, {3}, {0}, {1}}},
      {"empty: reverse with start < end", {{2}, {8}, {0}, {-1}}},
      {"negative end", {{0}, {-1}, {2}, {1}}},
      {"very negative start", {{-1000}, {3}, {1}, {1}}},
      {"huge step", {{1}, {kMax}, {0}, {kMax}}},
      {"huge negative step", {{-1}, {kMin}, {0}, {kMin}}},
  };
  for (const auto& [name, spec] : cases) {
    for (DataType dt : all_dtypes()) {
      check(pattern_tensor(dt, {20, 10, 5}, rng), spec,
            std::string(name) + " " + std::string(dtype_name(dt)));
    }
  }
  // Zero-size input dims.
  check(pattern_tensor(DataType::kFloat32, {0, 4}, rng), {{0, 1}, {5, 3}, {}, {}}, "zero-size");
  check(pattern_tensor(DataType::kFloat32, {0, 4}, rng), {{-1}, {kMin}, {0}, {-1}},
        "zero-size reverse");
}

TEST(Slice, RandomCases) {
  std::mt19937 rng(67);
  for (int iter = 0; iter < 150; ++iter) {
    const int rank = 1 + static_cast<int>(rng() % 4);
    Dims d = random_dims(rng, rank, 0, 6);
    Spec s;
    std::vector<int64_t> axes(rank);
    for (int k = 0; k < rank; ++k) axes[k] = k;
    std::shuffle(axes.begin(), axes.end(), rng);
    const int n = 1 + static_cast<int>(rng() % rank);
    for (int i = 0; i < n; ++i) {
      const int64_t e = d[static_cast<int>(axes[i])];
      s.starts.push_back(static_cast<int64_t>(rng() % (2 * e + 5)) - e - 2);
      s.ends.push_back(static_cast<int64_t>(rng() % (2 * e + 5)) - e - 2);
      s.axes.push_back(rng() % 2 ? axes[i] : axes[i] - rank);
      int64_t step = 1 + static_cast<int64_t>(rng() % 3);
      s.steps.push_back(rng() % 3 == 0 ? -step : step);
    }
    DataType dt = all_dtypes()[rng() % all_dtypes().size()];
    check(pattern_tensor(dt, d, rng), s, "random " + d.to_string());
  }
}

// Symbolic extents on a dynamic dim must agree with the spec for every extent.
TEST(Slice, SymbolicExtentsMatchSpec) {
  const int64_t values[] = {kMin, -100, -7, -3, -1, 0, 1, 2, 3, 7, 100, kMax};
  for (int64_t step : {1, 2, 3, -1, -2}) {
    for (int64_t start : values) {
      for (int64_t end : values) {
        ir::Graph g;
        int x = g.add_input("x", DataType::kFloat32, Dims{-1, 2});
        ir::Attrs a;
        a.set("starts", std::vector<int64_t>{start});
        a.set("ends", std::vector<int64_t>{end});
        a.set("axes", std::vector<int64_t>{0});
        a.set("steps", std::vector<int64_t>{step});
        int y = g.node(g.add_node("Slice", "s", {x}, 1, a)).outputs[0];
        ASSERT_TRUE(g.infer_shapes().is_ok());
        for (int64_t dim = 0; dim <= 9; ++dim) {
          auto got = g.value(y).shape[0].eval(std::vector<int64_t>{dim});
          ASSERT_TRUE(got.is_ok()) << got.status().to_string();
          EXPECT_EQ(*got, static_cast<int64_t>(picked(dim, start, end, step).size()))
              << "dim " << dim << " start " << start << " end " << end << " step " << step
              << " expr " << g.value(y).shape[0].to_string();
        }
      }
    }
  }
}

TEST(Slice, SymbolicBoundsAndShapeValues) {
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{-1, 3, -1});
  int s = g.node(g.add_node("Shape", "s", {x}, 1)).outputs[0];
  auto slice_node = [&](const char* name, int in, std::vector<int64_t> starts,
                        std::vector<int64_t> ends, std::vector<int64_t> steps) {
    int st = g.add_constant(std::string(name) + "_st", ints(DataType::kInt64, starts));
    int en = g.add_constant(std::string(name) + "_en", ints(DataType::kInt64, ends));
    int ax = g.add_constant(std::string(name) + "_ax", ints(DataType::kInt64, {0}));
    int sp = g.add_constant(std::string(name) + "_sp", ints(DataType::kInt64, steps));
    return g.node(g.add_node("Slice", name, {in, st, en, ax, sp}, 1)).outputs[0];
  };
  int tail = slice_node("tail", s, {1}, {kMax}, {1});
  int rev = slice_node("rev", s, {-1}, {kMin}, {-1});
  int odd = slice_node("odd", s, {0}, {3}, {2});
  // Symbolic end: x[:, :, 0:W-? ] -> take the first Gather'd dim of x as end on axis 2.
  int i0 = g.add_constant("i0", ints(DataType::kInt64, {0}));
  int n = g.node(g.add_node("Gather", "n", {s, i0}, 1)).outputs[0];  // [N]
  int zero = g.add_constant("zero", ints(DataType::kInt64, {0}));
  int ax2 = g.add_constant("ax2", ints(DataType::kInt64, {2}));
  int xs = g.node(g.add_node("Slice", "xs", {x, zero, n, ax2}, 1)).outputs[0];  // x[:,:,:N]
  ASSERT_TRUE(g.infer_shapes().is_ok()) << g.infer_shapes().to_string();
  std::vector<int64_t> sym = {4, 6};
  ASSERT_TRUE(g.value(tail).shape_value.has_value());
  EXPECT_EQ(*ir::eval_shape(*g.value(tail).shape_value, sym), (std::vector<int64_t>{3, 6}));
  ASSERT_TRUE(g.value(rev).shape_value.has_value());
  EXPECT_EQ(*ir::eval_shape(*g.value(rev).shape_value, sym), (std::vector<int64_t>{6, 3, 4}));
  ASSERT_TRUE(g.value(odd).shape_value.has_value());
  EXPECT_EQ(*ir::eval_shape(*g.value(odd).shape_value, sym), (std::vector<int64_t>{4, 6}));
  for (auto [nn, w] : {std::pair<int64_t, int64_t>{4, 6}, {6, 4}, {1, 1}, {0, 3}}) {
    EXPECT_EQ(*ir::eval_shape(g.value(xs).shape, std::vector<int64_t>{nn, w}),
              (std::vector<int64_t>{nn, 3, std::min(nn, w)}));
  }
}

TEST(Slice, Errors) {
  std::mt19937 rng(1);
  HostTensor x = pattern_tensor(DataType::kFloat32, {4, 5}, rng);
  auto expect_error = [](const OpCase& c, const std::string& needle) {
    auto g = make_graph(c);
    ASSERT_FALSE(g.is_ok()) << needle;
    EXPECT_NE(g.status().to_string().find(needle), std::string::npos) << g.status().to_string();
  };
  expect_error(slice_case(x, {{0}, {1}, {0}, {0}}, 0), "step of axis 0 is 0");
  expect_error(slice_case(x, {{0, 0}, {1, 1}, {1, -1}, {}}, 1), "repeated");
  expect_error(slice_case(x, {{0}, {1}, {2}, {}}, 0), "axis 2 is out of range");
  expect_error(slice_case(x, {{0}, {1, 2}, {}, {}}, 1), "ends has 2");
  expect_error(slice_case(x, {{0, 0}, {1, 1}, {0}, {}}, 0), "same length");
  OpCase c = slice_case(x, {{0}, {2}, {0}, {}}, 1);
  c.constant[1] = false;  // starts from a graph input
  expect_error(c, "data-dependent slice bounds are unsupported");
  c = slice_case(x, {{0}, {2}, {0}, {}}, 1);
  c.constant[3] = false;
  expect_error(c, "axes input 'in3' must be a constant");
  c = slice_case(x, {{0}, {2}, {0}, {}}, 1);
  c.inputs[1] = make_tensor(DataType::kFloat32, {1}, {0});
  expect_error(c, "starts input must be int64 or int32");
  OpCase d;
  d.op = "Slice";
  d.inputs.push_back(x);
  expect_error(d, "needs starts and ends");
  d.inputs.push_back(ints(DataType::kInt64, {0}));
  expect_error(d, "expects inputs (data, starts, ends");
  expect_error(slice_case(HostTensor(DataType::kFloat32, {}), {{}, {}, {}, {}}, 0), "scalar");
}

}  // namespace
}  // namespace kiln::testing::slice_test
