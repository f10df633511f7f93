// Pad: the ONNX examples of every mode, random cases (every dtype and mode, negative pads that
// crop, axes subsets with negative axes, int32 / int64 pads, with and without constant_value,
// the pre-11 attribute form) against a naive numpy-style implementation with iterative
// reflection, both tactics (rows also threaded), zero-size, symbolic pads from a shape program,
// and errors.
#include "common/pool_runner.h"
#include "data_movement_util.h"

namespace kiln::testing::pad_test {
namespace {

struct PSpec {
  std::string mode = "constant";
  std::vector<int64_t> pads;  // begins then ends of `axes` (or of every axis)
  std::vector<int64_t> axes;  // empty = all
  double value = 0;
  bool has_value = false;
};

// form 0: int64 inputs; 1: int32 inputs; 2: pre-11 attributes (all axes only).
OpCase pad_case(const HostTensor& x, const PSpec& s, int form) {
  OpCase c;
  c.op = "Pad";
  c.attrs.set("mode", s.mode);
  c.inputs.push_back(x);
  if (form == 2) {
    c.attrs.set("pads", s.pads);
    if (s.has_value) c.attrs.set("value", s.value);
    return c;
  }
  const DataType dt = form == 0 ? DataType::kInt64 : DataType::kInt32;
  c.inputs.push_back(ints(dt, s.pads));
  if (s.has_value || !s.axes.empty()) {
    c.inputs.push_back(s.has_value ? make_tensor(x.dtype(), {}, {s.value}) : HostTensor());
  }
  if (!s.axes.empty()) c.inputs.push_back(ints(dt, s.axes));
  c.constant.assign(c.inputs.size(), true);
  c.constant[0] = false;
  return c;
}

int64_t source(const std::string& mode, int64_t j, int64_t n) {
  if (j >= 0 && j < n) return j;
  if (mode == "constant") return -1;
  if (mode == "edge") return j < 0 ? 0 : n - 1;
  if (mode == "wrap") {
    while (j < 0) j += n;
    while (j >= n) j -= n;
    return j;
  }
  if (n == 1) return 0;
  while (j < 0 || j >= n) {  // reflect: mirror about the edges until inside
    if (j < 0) j = -j;
    if (j >= n) j = 2 * (n - 1) - j;
  }
  return j;
}

HostTensor naive_pad(const HostTensor& x, const PSpec& s) {
  const Dims& d = x.shape();
  const int r = d.rank();
  std::vector<int64_t> begin(r, 0), end(r, 0);
  std::vector<int64_t> axes = s.axes;
  if (axes.empty()) {
    for (int i = 0; i < r; ++i) axes.push_back(i);
  }
  const size_t na = axes.size();
  for (size_t i = 0; i < na; ++i) {
    const int64_t a = axes[i] < 0 ? axes[i] + r : axes[i];
    begin[a] = s.pads[i];
    end[a] = s.pads[na + i];
  }
  // Crop first: the kept range [lo, lo + n) of each axis.
  std::vector<int64_t> lo(r), n(r), od(r);
  for (int k = 0; k < r; ++k) {
    lo[k] = begin[k] < 0 ? -begin[k] : 0;
    n[k] = d[k] - lo[k] - (end[k] < 0 ? -end[k] : 0);
    od[k] = d[k] + begin[k] + end[k];
  }
  const Dims out = dims_of(od);
  HostTensor y(x.dtype(), out);
  HostTensor fill = make_tensor(x.dtype(), {}, {s.value});
  for (int64_t o = 0; o < y.numel(); ++o) {
    auto idx = unravel(o, out);
    bool inside = true;
    for (int k = 0; k < r; ++k) {
      const int64_t j = source(s.mode, idx[k] - std::max<int64_t>(begin[k], 0), n[k]);
      inside = inside && j >= 0;
      idx[k] = lo[k] + j;
    }
    if (inside) {
      copy_element(x, ravel(idx, d), y, o);
    } else {
      copy_element(fill, 0, y, o);
    }
  }
  return y;
}

void check(const HostTensor& x, const PSpec& s, const std::string& what,
           ThreadPool* pool = nullptr) {
  const HostTensor want = naive_pad(x, s);
  for (int form = 0; form < 3; ++form) {
    if (form == 2 && !s.axes.empty()) continue;
    auto runs = pool ? run_cpu_tactics_threaded(pad_case(x, s, form), pool)
                     : run_cpu_tactics(pad_case(x, s, form));
    ASSERT_TRUE(runs.is_ok()) << what << " form " << form << ": " << runs.status().to_string();
    std::vector<std::string> tactics = {"Pad/cpu-ref/reference"};
    if (x.shape().rank() > 0) tactics.push_back("Pad/cpu-opt/rows");
    EXPECT_EQ(tactic_ids(*runs), tactics) << what;
    for (const auto& run : *runs) {
      EXPECT_TRUE(same(run.outputs[0], want)) << what << " form " << form << " " << run.tactic;
    }
  }
}

TEST(Pad, OnnxExamples) {
  // The spec's 3x2 example: pads [0, 2, 0, 0] (two columns in front).
  const HostTensor x = make_tensor(DataType::kFloat32, {3, 2}, {1.0, 1.2, 2.3, 3.4, 4.5, 5.7});
  struct Case {
    const char* mode;
    std::vector<int64_t> pads;
    Dims out;
    std::vector<double> want;
  };
  const Case cases[] = {
      {"constant", {0, 2, 0, 0}, {3, 4}, {0, 0, 1.0, 1.2, 0, 0, 2.3, 3.4, 0, 0, 4.5, 5.7}},
      {"reflect",
       {0, 2, 0, 0},
       {3, 4},
       {1.0, 1.2, 1.0, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7, 4.5, 5.7}},
      {"edge", {0, 2, 0, 0}, {3, 4}, {1.0, 1.0, 1.0, 1.2, 2.3, 2.3, 2.3, 3.4, 4.5, 4.5, 4.5, 5.7}},
      {"wrap", {2, 1, 1, 1}, {6, 4}, {3.4, 2.3, 3.4, 2.3, 5.7, 4.5, 5.7, 4.5, 1.2, 1.0, 1.2, 1.0,
                                      3.4, 2.3, 3.4, 2.3, 5.7, 4.5, 5.7, 4.5, 1.2, 1.0, 1.2, 1.0}},
  };
  for (const auto& c : cases) {
    PSpec s;
    s.mode = c.mode;
    s.pads = c.pads;
    const HostTensor want = make_tensor(DataType::kFloat32, c.out, c.want);
    EXPECT_TRUE(same(naive_pad(x, s), want)) << c.mode << " (naive)";
    check(x, s, c.mode);
    auto runs = run_cpu_tactics(pad_case(x, s, 0));
    ASSERT_TRUE(runs.is_ok());
    for (const auto& run : *runs) EXPECT_TRUE(same(run.outputs[0], want)) << c.mode;
  }
  // constant_value 1.2 with pads [0, 0, 1, 3, 0, 0, 2, 4] (test_constant_pad's layout).
  std::mt19937 rng(1);
  PSpec s;
  s.pads = {0, 0, 1, 3, 0, 0, 2, 4};
  s.value = 1.2;
  s.has_value = true;
  check(random_tensor(DataType::kFloat32, {1, 3, 4, 5}, rng), s, "constant_pad");
  // Reflect with pads larger than the axis keeps mirroring: [1, 2, 3] padded 5 in front.
  PSpec big;
  big.mode = "reflect";
  big.pads = {5, 0};
  const HostTensor v = make_tensor(DataType::kInt32, {3}, {1, 2, 3});
  EXPECT_TRUE(
      same(naive_pad(v, big), make_tensor(DataType::kInt32, {8}, {2, 1, 2, 3, 2, 1, 2, 3})));
  check(v, big, "big reflect");
}

TEST(Pad, RandomEveryDtypeAndMode) {
  std::mt19937 rng(71);
  const char* const modes[] = {"constant", "reflect", "edge", "wrap"};
  for (int iter = 0; iter < 200; ++iter) {
    const int rank = 1 + static_cast<int>(rng() % 4);
    const Dims d = random_dims(rng, rank, 1, 5);
    PSpec s;
    s.mode = modes[rng() % 4];
    std::vector<int64_t> axes;
    for (int k = 0; k < rank; ++k) axes.push_back(k);
    std::shuffle(axes.begin(), axes.end(), rng);
    const int na = rng() % 2 ? rank : 1 + static_cast<int>(rng() % rank);
    axes.resize(na);
    if (na < rank || rng() % 2) {
      for (auto& a : axes) a = rng() % 2 ? a - rank : a;
      s.axes = axes;
    } else {
      std::sort(axes.begin(), axes.end());
    }
    std::vector<int64_t> b(na), e(na);
    for (int i = 0; i < na; ++i) {
      const int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
      const int64_t dim = d[static_cast<int>(a)];
      // Crop at most dim - 1 in total, so something remains to extend.
      b[i] = static_cast<int64_t>(rng() % 7) - 2;
      e[i] = static_cast<int64_t>(rng() % 7) - 2;
      if (b[i] < 0 && -b[i] >= dim) b[i] = 0;
      if (e[i] < 0 && -e[i] - std::min<int64_t>(b[i], 0) >= dim) e[i] = 0;
    }
    s.pads = b;
    s.pads.insert(s.pads.end(), e.begin(), e.end());
    s.has_value = rng() % 2;
    s.value = s.has_value ? 1 : 0;
    const DataType dt = all_dtypes()[rng() % all_dtypes().size()];
    check(pattern_tensor(dt, d, rng), s,
          "iter " + std::to_string(iter) + " " + d.to_string() + " " + s.mode + " " +
              std::string(dtype_name(dt)));
  }
}

TEST(Pad, ThreadedRowsAndZeroSize) {
  ThreadPool pool(4);
  std::mt19937 rng(5);
  for (const char* mode : {"constant", "reflect", "edge", "wrap"}) {
    PSpec s;
    s.mode = mode;
    s.pads = {1, 3, -2, 2, 0, 5};
    check(pattern_tensor(DataType::kFloat32, {40, 50, 20}, rng), s, std::string("threaded ") + mode,
          &pool);
  }
  // Zero-size input padded with a constant; zero-size output; a fully cropped axis.
  PSpec c;
  c.pads = {2, 1, 0, 0};
  check(pattern_tensor(DataType::kInt64, {0, 3}, rng), c, "empty input, constant");
  PSpec z;
  z.mode = "edge";
  z.pads = {0, 0, 0, 0};
  check(pattern_tensor(DataType::kFloat16, {0, 3}, rng), z, "empty input, no pads");
  PSpec crop;
  crop.pads = {-2, 1, -1, 0};
  check(pattern_tensor(DataType::kFloat32, {3, 2}, rng), crop, "crop axis to zero");
  // Rank 0: nothing to pad.
  PSpec none;
  check(make_tensor(DataType::kFloat32, {}, {4}), none, "scalar");
}

TEST(Pad, SymbolicPadsFromShapeProgram) {
  // pads = Shape(z) = [0, 0, s0, s1]: ends of x padded by z's dynamic extents.
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{2, -1});
  int z = g.add_input("z", DataType::kFloat32, Dims{0, 0, -1, -1});
  int sh = g.node(g.add_node("Shape", "s", {z}, 1)).outputs[0];
  ir::Attrs a;
  a.set("mode", std::string("wrap"));
  int y = g.node(g.add_node("Pad", "p", {x, sh}, 1, a)).outputs[0];
  ASSERT_TRUE(g.infer_shapes().is_ok()) << g.infer_shapes().to_string();
  const std::vector<int64_t> sym = {3, 4, 2};  // x.1, z.2, z.3
  auto dims = ir::eval_shape(g.value(y).shape, sym);
  ASSERT_TRUE(dims.is_ok());
  EXPECT_EQ(*dims, (std::vector<int64_t>{6, 5}));
  std::mt19937 rng(2);
  const HostTensor xv = pattern_tensor(DataType::kFloat32, {2, 3}, rng);
  auto values = interpret(g, {{x, xv}, {z, HostTensor(DataType::kFloat32, {0, 0, 4, 2})}}, sym);
  ASSERT_TRUE(values.is_ok()) << values.status().to_string();
  PSpec s;
  s.mode = "wrap";
  s.pads = {0, 0, 4, 2};
  EXPECT_TRUE(same((*values)[y], naive_pad(xv, s)));
}

TEST(Pad, Errors) {
  std::mt19937 rng(1);
  const HostTensor x = pattern_tensor(DataType::kFloat32, {3, 4}, rng);
  auto expect_error = [](const OpCase& c, const std::string& needle) {
    auto g = make_graph(c);
    ASSERT_FALSE(g.is_ok()) << needle;
    EXPECT_NE(g.status().to_string().find(needle), std::string::npos) << g.status().to_string();
  };
  PSpec s;
  s.pads = {0, 1, 0, 1};
  OpCase c = pad_case(x, s, 0);
  c.attrs.set("mode", std::string("mirror"));
  expect_error(c, "mode must be constant, reflect, edge or wrap, got 'mirror'");
  PSpec bad = s;
  bad.pads = {0, 1, 0};
  expect_error(pad_case(x, bad, 0), "pads has 3 entries but 4 are needed");
  bad.pads = {-2, 0, -2, 0};
  expect_error(pad_case(x, bad, 0), "below zero");
  bad = s;
  bad.axes = {1, -1};
  expect_error(pad_case(x, bad, 0), "axis -1 is repeated");
  bad.axes = {0, 2};
  expect_error(pad_case(x, bad, 0), "axis 2 is out of range");
  bad = s;
  bad.mode = "reflect";
  bad.pads = {1, 0, 0, 0};
  expect_error(pad_case(HostTensor(DataType::kFloat32, {0, 4}), bad, 0),
               "no input elements remain");
  bad.pads = {-3, 0, 1, 0};
  expect_error(pad_case(x, bad, 0), "no input elements remain");
  c = pad_case(x, s, 0);
  c.constant[1] = false;
  expect_error(c, "data-dependent pads are unsupported");
  PSpec with_axes = s;
  with_axes.axes = {0, 1};
  c = pad_case(x, with_axes, 0);
  c.constant[3] = false;
  expect_error(c, "axes input 'in3' must be a constant");
  c = pad_case(x, s, 0);
  c.inputs.push_back(make_tensor(DataType::kInt32, {}, {0}));
  c.constant.push_back(true);
  expect_error(c, "constant_value has dtype int32 but X has float32");
  c = pad_case(x, s, 0);
  c.inputs.push_back(make_tensor(DataType::kFloat32, {2}, {0, 0}));
  c.constant.push_back(true);
  expect_error(c, "constant_value must hold one element");
  c = pad_case(x, s, 0);
  c.inputs[1] = make_tensor(DataType::kFloat32, {4}, {0, 1, 0, 1});
  expect_error(c, "pads input must be int64 or int32");
  OpCase d;
  d.op = "Pad";
  d.inputs.push_back(x);
  expect_error(d, "needs a pads input or a 'pads' attribute");
}

}  // namespace
}  // namespace kiln::testing::pad_test
