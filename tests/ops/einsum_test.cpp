// Einsum: both CPU tactics against a brute-force evaluation written here (one odometer over
// every label, scattering products into the output), over the common patterns (matmul, batched
// matmul, attention, transposes, reductions, diagonal, trace, outer and dot products, ellipsis
// with broadcasting, implicit output order, three operands), every dtype, zero-size, which
// cases take the blas tactic, and the errors (malformed equations, rank and size mismatches).
#include "op_check_util.h"

#include <map>

namespace kiln::testing::einsum_test {
namespace {

const std::vector<std::string> kBoth = {"Einsum/cpu-ref/reference", "Einsum/cpu-blas/blas"};
const std::vector<std::string> kRef = {"Einsum/cpu-ref/reference"};

OpCase einsum_case(const std::string& eq, std::vector<HostTensor> ins) {
  OpCase c;
  c.op = "Einsum";
  c.attrs.set("equation", eq);
  c.inputs = std::move(ins);
  return c;
}

// `eq` has only letters, ',' and an explicit "->". Size-1 dims broadcast.
HostTensor brute(const std::string& eq, const std::vector<HostTensor>& in) {
  const size_t arrow = eq.find("->");
  std::vector<std::string> terms;
  std::string cur;
  for (char c : eq.substr(0, arrow)) {
    if (c == ',') {
      terms.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  terms.push_back(cur);
  const std::string out = eq.substr(arrow + 2);
  std::map<char, int64_t> size;
  for (size_t i = 0; i < terms.size(); ++i) {
    for (size_t j = 0; j < terms[i].size(); ++j) {
      const int64_t d = in[i].shape()[static_cast<int>(j)];
      auto it = size.find(terms[i][j]);
      if (it == size.end() || it->second == 1) size[terms[i][j]] = d;
    }
  }
  std::vector<int64_t> od;
  for (char c : out) od.push_back(size[c]);
  const DataType dt = in[0].dtype();
  HostTensor y(dt, to_dims(od));
  std::vector<double> accd(y.numel(), 0.0);
  std::vector<int64_t> acci(y.numel(), 0);
  std::vector<char> labels;
  for (const auto& [c, s] : size) labels.push_back(c);
  int64_t total = 1;
  for (char c : labels) total *= size[c];
  std::map<char, int64_t> at;
  for (int64_t t = 0; t < total; ++t) {
    int64_t rem = t;
    for (char c : labels) {
      at[c] = rem % size[c];
      rem /= size[c];
    }
    double pd = 1;
    int64_t pi = 1;
    for (size_t i = 0; i < terms.size(); ++i) {
      int64_t off = 0;
      for (size_t j = 0; j < terms[i].size(); ++j) {
        const int64_t d = in[i].shape()[static_cast<int>(j)];
        off = off * d + (d == 1 ? 0 : at[terms[i][j]]);
      }
      pd *= in[i].get_double(off);
      pi *= in[i].get_int(off);
    }
    int64_t o = 0;
    for (char c : out) o = o * size[c] + at[c];
    accd[o] += pd;
    acci[o] += pi;
  }
  for (int64_t o = 0; o < y.numel(); ++o) {
    store_from_double(y.data(), dt, o, is_integer(dt) ? static_cast<double>(acci[o]) : accd[o]);
  }
  return y;
}

struct Case {
  std::string eq;     // as given to the op
  std::string naive;  // the same with letters only and an explicit output
  std::vector<Dims> shapes;
  bool blas;  // whether the blas tactic takes it in float32
};

const std::vector<Case>& cases() {
  static const std::vector<Case> k = {
      {"ij,jk->ik", "ij,jk->ik", {{3, 4}, {4, 5}}, true},
      {"ij,jk", "ij,jk->ik", {{3, 4}, {4, 5}}, true},
      {"bij,bjk->bik", "bij,bjk->bik", {{2, 3, 4}, {2, 4, 5}}, true},
      {"bhqd,bhkd->bhqk", "bhqd,bhkd->bhqk", {{2, 3, 4, 5}, {2, 3, 6, 5}}, true},
      {"bhqk,bhkd->bhqd", "bhqk,bhkd->bhqd", {{2, 3, 4, 6}, {2, 3, 6, 5}}, true},
      {"ik,jk->ij", "ik,jk->ij", {{3, 4}, {5, 4}}, true},
      {"ki,kj->ij", "ki,kj->ij", {{4, 3}, {4, 5}}, true},
      {"ijk,jil->kl", "ijk,jil->kl", {{2, 3, 4}, {3, 2, 5}}, true},
      {"bij,bkj->bki", "bij,bkj->bki", {{2, 3, 4}, {2, 5, 4}}, true},
      {"Zb,bA", "Zb,bA->AZ", {{3, 4}, {4, 5}}, true},
      {"i,j->ij", "i,j->ij", {{3}, {4}}, true},
      {"i,i->", "i,i->", {{7}, {7}}, true},
      {"ij,ij->ij", "ij,ij->ij", {{3, 4}, {3, 4}}, true},
      {"ij,ij->i", "ij,ij->i", {{3, 4}, {3, 4}}, true},
      {"...ij,...jk->...ik", "xij,xjk->xik", {{2, 3, 4}, {2, 4, 5}}, true},
      {"...ij,...jk->...ik", "xyij,yjk->xyik", {{2, 1, 3, 4}, {5, 4, 6}}, false},
      {"...ij,jk", "xij,jk->xik", {{2, 3, 4}, {4, 5}}, true},
      {"b...i,b...i->b...", "bxi,bxi->bx", {{2, 3, 4}, {2, 3, 4}}, true},
      {" i j , j k -> i k ", "ij,jk->ik", {{2, 3}, {3, 2}}, true},
      {"ij,jk->ik", "ij,jk->ik", {{3, 1}, {4, 5}}, false},  // j broadcasts
      {"ij->ji", "ij->ji", {{3, 4}}, false},
      {"ij->i", "ij->i", {{3, 4}}, false},
      {"ij->j", "ij->j", {{3, 4}}, false},
      {"ij->", "ij->", {{3, 4}}, false},
      {"ij", "ij->ij", {{3, 4}}, false},
      {"ji", "ji->ij", {{3, 4}}, false},
      {"ii->i", "ii->i", {{4, 4}}, false},
      {"ii", "ii->", {{4, 4}}, false},
      {"iij->ji", "iij->ji", {{3, 3, 2}}, false},
      {"ij,jk,kl->il", "ij,jk,kl->il", {{2, 3}, {3, 4}, {4, 2}}, false},
      {"i,->i", "i,->i", {{4}, {}}, true},
      {"...->...", "xy->xy", {{2, 3}}, false},
      {"...ii->...i", "xii->xi", {{2, 3, 3}}, false},
  };
  return k;
}

TEST(Einsum, PatternsFloat32) {
  std::mt19937 rng(121);
  for (const Case& k : cases()) {
    std::vector<HostTensor> ins;
    for (const Dims& d : k.shapes) ins.push_back(random_tensor(DataType::kFloat32, d, rng));
    check_tactics(einsum_case(k.eq, ins), brute(k.naive, ins), 1e-5, 1e-5, k.blas ? kBoth : kRef,
                  k.eq);
  }
}

TEST(Einsum, PatternsEveryDtype) {
  std::mt19937 rng(122);
  for (DataType dt :
       {DataType::kFloat16, DataType::kBFloat16, DataType::kInt32, DataType::kInt64}) {
    for (const Case& k : cases()) {
      std::vector<HostTensor> ins;
      for (const Dims& d : k.shapes) ins.push_back(random_tensor(dt, d, rng, -4, 4));
      const double tol = is_integer(dt) ? 0 : dt == DataType::kFloat16 ? 1e-2 : 5e-2;
      check_tactics(einsum_case(k.eq, ins), brute(k.naive, ins), tol, tol, kRef,
                    k.eq + " " + std::string(dtype_name(dt)));
    }
  }
}

TEST(Einsum, HandValues) {
  // Trace and diagonal of [[1, 2], [3, 4]]; a matmul written out.
  HostTensor m = make_tensor(DataType::kFloat32, {2, 2}, {1, 2, 3, 4});
  check_tactics(einsum_case("ii", {m}), make_tensor(DataType::kFloat32, {}, {5}), 0, 0, kRef,
                "trace");
  check_tactics(einsum_case("ii->i", {m}), make_tensor(DataType::kFloat32, {2}, {1, 4}), 0, 0, kRef,
                "diag");
  check_tactics(einsum_case("ij,jk->ik", {m, m}),
                make_tensor(DataType::kFloat32, {2, 2}, {7, 10, 15, 22}), 0, 0, kBoth, "matmul");
  check_tactics(einsum_case("ij->ji", {m}), make_tensor(DataType::kFloat32, {2, 2}, {1, 3, 2, 4}),
                0, 0, kRef, "transpose");
}

TEST(Einsum, LargerBatchedAttention) {
  std::mt19937 rng(123);
  HostTensor q = random_tensor(DataType::kFloat32, {2, 4, 33, 16}, rng);
  HostTensor kt = random_tensor(DataType::kFloat32, {2, 4, 40, 16}, rng);
  check_tactics(einsum_case("bhqd,bhkd->bhqk", {q, kt}), brute("bhqd,bhkd->bhqk", {q, kt}), 1e-5,
                1e-5, kBoth, "scores");
  // Permuted output (C copied) and permuted B (copied).
  HostTensor v = random_tensor(DataType::kFloat32, {40, 2, 4, 16}, rng);
  HostTensor p = random_tensor(DataType::kFloat32, {2, 4, 33, 40}, rng);
  check_tactics(einsum_case("bhqk,kbhd->bqhd", {p, v}), brute("bhqk,kbhd->bqhd", {p, v}), 1e-5,
                1e-5, kBoth, "permuted");
}

TEST(Einsum, ZeroSize) {
  // Empty contraction: zeros. Empty output: nothing to do.
  HostTensor a(DataType::kFloat32, {3, 0});
  HostTensor b(DataType::kFloat32, {0, 5});
  HostTensor want(DataType::kFloat32, {3, 5});
  check_tactics(einsum_case("ij,jk->ik", {a, b}), want, 0, 0, kBoth, "k = 0");
  check_tactics(einsum_case("ij,jk->ik", {HostTensor(DataType::kFloat32, {0, 4}),
                                          HostTensor(DataType::kFloat32, {4, 5})}),
                HostTensor(DataType::kFloat32, {0, 5}), 0, 0, kBoth, "m = 0");
  check_tactics(einsum_case("ij->", {HostTensor(DataType::kInt64, {0, 3})}),
                HostTensor(DataType::kInt64, {}), 0, 0, kRef, "sum of nothing");
}

TEST(Einsum, Errors) {
  HostTensor a(DataType::kFloat32, {2, 3});
  HostTensor b(DataType::kFloat32, {3, 4});
  auto msg = [](const std::string& eq, std::vector<HostTensor> ins) {
    return infer_message(einsum_case(eq, std::move(ins)));
  };
  std::string m = msg("ij,j#->i", {a, b});
  EXPECT_NE(m.find("equation 'ij,j#->i': invalid character '#'"), std::string::npos) << m;
  m = msg("ijk,jk->i", {a, b});
  EXPECT_NE(m.find("term 'ijk' has 3 labels but input 0 has rank 2"), std::string::npos) << m;
  m = msg("...ijk,k->i", {a, HostTensor(DataType::kFloat32, {4})});
  EXPECT_NE(m.find("has 3 labels and \"...\" but input 0 has rank 2"), std::string::npos) << m;
  m = msg("ij->i", {a, b});
  EXPECT_NE(m.find("has 1 operand terms, the node has 2 inputs"), std::string::npos) << m;
  m = msg("ij,jk->iz", {a, b});
  EXPECT_NE(m.find("output label 'z' does not occur in the inputs"), std::string::npos) << m;
  m = msg("ij,jk->ii", {a, b});
  EXPECT_NE(m.find("output label 'i' is repeated"), std::string::npos) << m;
  m = msg("ij,jk->ik->i", {a, b});
  EXPECT_NE(m.find("more than one \"->\""), std::string::npos) << m;
  m = msg("i.j,jk->ik", {a, b});
  EXPECT_NE(m.find("a '.' that is not part of"), std::string::npos) << m;
  m = msg("......,jk->jk", {a, b});
  EXPECT_NE(m.find("more than one \"...\""), std::string::npos) << m;
  m = msg("ij,jk->ik", {a, HostTensor(DataType::kFloat32, {4, 5})});
  EXPECT_NE(m.find("label 'j' has sizes 3 and 4"), std::string::npos) << m;
  m = msg("ij,jk->ik", {a, HostTensor(DataType::kFloat16, {3, 4})});
  EXPECT_NE(m.find("input 1 has dtype float16"), std::string::npos) << m;
  m = msg("ij->i", {HostTensor(DataType::kBool, {2, 3})});
  EXPECT_NE(m.find("bool"), std::string::npos) << m;
  m = msg("", {a});
  EXPECT_NE(m.find("the equation is empty"), std::string::npos) << m;
  OpCase none;
  none.op = "Einsum";
  none.inputs = {a};
  EXPECT_NE(infer_message(none).find("'equation' is required"), std::string::npos);
}

}  // namespace
}  // namespace kiln::testing::einsum_test
