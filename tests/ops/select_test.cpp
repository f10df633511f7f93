// Select (Where): every dtype, 3-way broadcasting and both CPU tactics against a naive
// coordinate-based computation written here.
#include "common/op_harness.h"
#include "common/pool_runner.h"

namespace kiln::testing::select_test {
namespace {

constexpr DataType kAll[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                             DataType::kInt8,    DataType::kUInt8,   DataType::kInt32,
                             DataType::kInt64,   DataType::kBool};

OpCase select_case(HostTensor cond, HostTensor a, HostTensor b) {
  OpCase c;
  c.op = "Select";
  c.inputs = {std::move(cond), std::move(a), std::move(b)};
  return c;
}

// Element of `t` at output coordinate `oc` under numpy broadcasting.
int64_t bcast_offset(const Dims& in, const std::vector<int64_t>& oc) {
  int64_t off = 0;
  size_t shift = oc.size() - in.rank();
  for (int i = 0; i < in.rank(); ++i) off = off * in[i] + (in[i] == 1 ? 0 : oc[shift + i]);
  return off;
}

HostTensor expected_select(const HostTensor& c, const HostTensor& a, const HostTensor& b,
                           const Dims& out) {
  HostTensor y(a.dtype(), out);
  size_t es = dtype_size(a.dtype());
  for (int64_t e = 0; e < y.numel(); ++e) {
    std::vector<int64_t> oc(out.rank());
    int64_t rest = e;
    for (int i = out.rank() - 1; i >= 0; --i) {
      oc[i] = rest % out[i];
      rest /= out[i];
    }
    bool pick_a = c.get_int(bcast_offset(c.shape(), oc)) != 0;
    const HostTensor& src = pick_a ? a : b;
    std::memcpy(static_cast<char*>(y.data()) + e * es,
                static_cast<const char*>(src.data()) + bcast_offset(src.shape(), oc) * es, es);
  }
  return y;
}

// Numpy broadcast of two compatible shapes.
Dims bcast(const Dims& a, const Dims& b) {
  std::vector<int64_t> r(std::max(a.rank(), b.rank()), 1);
  for (int i = 0; i < a.rank(); ++i) r[r.size() - a.rank() + i] = a[i];
  for (int i = 0; i < b.rank(); ++i) {
    int64_t& d = r[r.size() - b.rank() + i];
    if (d == 1) d = b[i];
  }
  return Dims(std::span<const int64_t>(r));
}

// A random shape that broadcasts to `out`: a suffix of it with some dims set to 1.
Dims broadcastable(const std::vector<int64_t>& out, std::mt19937& rng) {
  std::vector<int64_t> d(out.begin() + rng() % (out.size() + 1), out.end());
  for (auto& v : d) {
    if (rng() % 3 == 0) v = 1;
  }
  return Dims(std::span<const int64_t>(d));
}

void check(const OpCase& c, const HostTensor& want, size_t tactics, const std::string& what,
           ThreadPool* pool = nullptr) {
  auto runs = pool ? run_cpu_tactics_threaded(c, pool) : run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  ASSERT_EQ(runs->size(), tactics) << what;
  EXPECT_EQ((*runs)[0].tactic, "Select/cpu-ref/reference");
  if (tactics == 2) {
    EXPECT_EQ((*runs)[1].tactic, "Select/cpu-opt/same_shape");
  }
  for (const auto& r : *runs) {
    // Bitwise equal (NaN payloads included): compare as raw bytes.
    ASSERT_EQ(r.outputs[0].shape(), want.shape()) << what;
    EXPECT_EQ(std::memcmp(r.outputs[0].data(), want.data(), want.nbytes()), 0)
        << what << " " << r.tactic;
  }
}

TEST(Select, RandomBroadcastEveryDtype) {
  std::mt19937 rng(81);
  for (int iter = 0; iter < 80; ++iter) {
    DataType dt = kAll[iter % 8];
    int rank = static_cast<int>(rng() % 5);
    std::vector<int64_t> out(rank);
    for (auto& v : out) v = 1 + rng() % 5;
    Dims cd = broadcastable(out, rng), ad = broadcastable(out, rng), bd = broadcastable(out, rng);
    HostTensor cond = random_tensor(DataType::kBool, cd, rng);
    HostTensor a = random_tensor(dt, ad, rng, -100, 100);
    HostTensor b = random_tensor(dt, bd, rng, -100, 100);
    // The output is the broadcast of the three, which may be smaller than `out`.
    Dims od = bcast(bcast(cd, ad), bd);
    bool same = cd == od && ad == od && bd == od;
    check(select_case(cond, a, b), expected_select(cond, a, b, od), same ? 2 : 1,
          cd.to_string() + " " + ad.to_string() + " " + bd.to_string() + " " +
              std::string(dtype_name(dt)));
  }
}

TEST(Select, SameShapeFastPath) {
  std::mt19937 rng(4);
  for (DataType dt : kAll) {
    HostTensor cond = random_tensor(DataType::kBool, {7, 33, 5}, rng);
    HostTensor a = random_tensor(dt, {7, 33, 5}, rng, -50, 50);
    HostTensor b = random_tensor(dt, {7, 33, 5}, rng, -50, 50);
    check(select_case(cond, a, b), expected_select(cond, a, b, {7, 33, 5}), 2,
          std::string(dtype_name(dt)));
  }
}

TEST(Select, HandValuesAndZeroSize) {
  HostTensor cond = make_tensor(DataType::kBool, {2, 1}, {1, 0});
  HostTensor a = make_tensor(DataType::kFloat32, {3}, {1, 2, 3});
  HostTensor b = make_tensor(DataType::kFloat32, {}, {-1});
  check(select_case(cond, a, b), make_tensor(DataType::kFloat32, {2, 3}, {1, 2, 3, -1, -1, -1}), 1,
        "hand");
  check(select_case(HostTensor(DataType::kBool, {0, 3}), a, b),
        HostTensor(DataType::kFloat32, {0, 3}), 1, "zero size");
}

TEST(Select, Errors) {
  std::mt19937 rng(1);
  auto msg = [](const OpCase& c) {
    auto g = make_graph(c);
    return g.is_ok() ? std::string("OK") : g.status().to_string();
  };
  HostTensor a = random_tensor(DataType::kFloat32, {3}, rng);
  HostTensor cond = random_tensor(DataType::kBool, {3}, rng);
  EXPECT_NE(msg(select_case(random_tensor(DataType::kUInt8, {3}, rng), a, a))
                .find("condition must be bool, got uint8"),
            std::string::npos);
  EXPECT_NE(msg(select_case(cond, a, random_tensor(DataType::kFloat16, {3}, rng)))
                .find("A and B must have the same dtype, got float32 and float16"),
            std::string::npos);
  std::string m = msg(select_case(cond, a, random_tensor(DataType::kFloat32, {4}, rng)));
  EXPECT_NE(m.find("cannot be broadcast"), std::string::npos) << m;
  m = msg(select_case(random_tensor(DataType::kBool, {2}, rng), a, a));
  EXPECT_NE(m.find("condition and A"), std::string::npos) << m;
  OpCase two;
  two.op = "Select";
  two.inputs = {cond, a};
  EXPECT_NE(msg(two).find("expects 3 inputs"), std::string::npos);
}

}  // namespace
}  // namespace kiln::testing::select_test

namespace kiln::testing::select_test {
namespace {

TEST(Select, ThreadedChunks) {
  std::mt19937 rng(19);
  ThreadPool pool(4);
  HostTensor cond = random_tensor(DataType::kBool, {100003}, rng);
  HostTensor a = random_tensor(DataType::kInt64, {100003}, rng, -1e6, 1e6);
  HostTensor b = random_tensor(DataType::kInt64, {100003}, rng, -1e6, 1e6);
  check(select_case(cond, a, b), expected_select(cond, a, b, {100003}), 2, "threaded", &pool);
}

}  // namespace
}  // namespace kiln::testing::select_test
