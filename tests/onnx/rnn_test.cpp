// RNN / GRU / LSTM import against a naive reference written here from the ONNX formulas:
// directions, sequence_lens, initial states, biases, peepholes, clip, linear_before_reset,
// input_forget and layout 1.
#include "onnx/onnx_test_util.h"

#include <cmath>
#include <random>

namespace kiln::testing::rnn_test {
namespace {

enum class Cell { kRnn, kGru, kLstm };

struct RnnCase {
  Cell cell = Cell::kRnn;
  int64_t T = 3, B = 2, I = 2, H = 3;
  std::string direction = "forward";
  bool bias = true, lens = false, h0 = false, c0 = false, peep = false;
  bool lbr = false, input_forget = false;
  float clip = 0;
  int64_t layout = 0;
};

int gates(Cell c) {
  return c == Cell::kRnn ? 1 : c == Cell::kGru ? 3 : 4;
}

struct Data {
  std::vector<float> x, w, r, b, h0, c0, p;
  std::vector<int32_t> lens;
};

Data make_data(const RnnCase& k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-0.8f, 0.8f);
  auto fill = [&](size_t n) {
    std::vector<float> v(n);
    for (auto& e : v) e = u(rng);
    return v;
  };
  const int64_t D = k.direction == "bidirectional" ? 2 : 1, G = gates(k.cell);
  Data d;
  d.x = fill(static_cast<size_t>(k.T * k.B * k.I));
  d.w = fill(static_cast<size_t>(D * G * k.H * k.I));
  d.r = fill(static_cast<size_t>(D * G * k.H * k.H));
  if (k.bias) d.b = fill(static_cast<size_t>(D * 2 * G * k.H));
  if (k.h0) d.h0 = fill(static_cast<size_t>(D * k.B * k.H));
  if (k.c0) d.c0 = fill(static_cast<size_t>(D * k.B * k.H));
  if (k.peep) d.p = fill(static_cast<size_t>(D * 3 * k.H));
  if (k.lens) {
    for (int64_t b = 0; b < k.B; ++b) d.lens.push_back(static_cast<int32_t>(1 + (b * 2 + 1) % k.T));
  }
  return d;
}

float sigmoid(float v) {
  return 1.f / (1.f + std::exp(-v));
}

// Y [T, D, B, H], Y_h [D, B, H], Y_c [D, B, H] (layout 0).
void reference(const RnnCase& k, const Data& d, std::vector<float>* y, std::vector<float>* yh,
               std::vector<float>* yc) {
  const int64_t D = k.direction == "bidirectional" ? 2 : 1, G = gates(k.cell), H = k.H, I = k.I;
  y->assign(static_cast<size_t>(k.T * D * k.B * H), 0.f);
  yh->assign(static_cast<size_t>(D * k.B * H), 0.f);
  yc->assign(static_cast<size_t>(D * k.B * H), 0.f);
  auto clipf = [&](float v) { return k.clip > 0 ? std::max(-k.clip, std::min(k.clip, v)) : v; };
  for (int64_t dir = 0; dir < D; ++dir) {
    const bool rev = k.direction == "reverse" || dir == 1;
    const float* W = d.w.data() + dir * G * H * I;
    const float* R = d.r.data() + dir * G * H * H;
    for (int64_t b = 0; b < k.B; ++b) {
      const int64_t len = k.lens ? d.lens[static_cast<size_t>(b)] : k.T;
      std::vector<float> h(static_cast<size_t>(H), 0.f), c(static_cast<size_t>(H), 0.f);
      for (int64_t j = 0; j < H; ++j) {
        if (k.h0) h[j] = d.h0[static_cast<size_t>((dir * k.B + b) * H + j)];
        if (k.c0) c[j] = d.c0[static_cast<size_t>((dir * k.B + b) * H + j)];
      }
      for (int64_t s = 0; s < len; ++s) {
        const int64_t t = rev ? len - 1 - s : s;
        const float* xt = d.x.data() + (t * k.B + b) * I;
        // xw[g*H + j] = x . W[g*H + j] + Wb; hr = h . R[g*H + j] + Rb
        std::vector<float> xw(static_cast<size_t>(G * H)), hr(static_cast<size_t>(G * H));
        for (int64_t q = 0; q < G * H; ++q) {
          float a = 0, e = 0;
          for (int64_t i = 0; i < I; ++i) a += xt[i] * W[q * I + i];
          for (int64_t i = 0; i < H; ++i) e += h[i] * R[q * H + i];
          if (k.bias) {
            a += d.b[static_cast<size_t>(dir * 2 * G * H + q)];
            e += d.b[static_cast<size_t>(dir * 2 * G * H + G * H + q)];
          }
          xw[q] = a;
          hr[q] = e;
        }
        std::vector<float> hn(static_cast<size_t>(H)), cn(static_cast<size_t>(H));
        for (int64_t j = 0; j < H; ++j) {
          if (k.cell == Cell::kRnn) {
            hn[j] = std::tanh(clipf(xw[j] + hr[j]));
          } else if (k.cell == Cell::kGru) {
            float z = sigmoid(clipf(xw[j] + hr[j]));
            float rr = sigmoid(clipf(xw[H + j] + hr[H + j]));
            float hh;
            if (k.lbr) {
              hh = xw[2 * H + j] + rr * hr[2 * H + j];
            } else {
              float acc = 0;
              for (int64_t i = 0; i < H; ++i) {
                float rh = 0;
                // (r . h) R_h^T: r applies per element of h (the same gate vector).
                rh = sigmoid(clipf(xw[H + i] + hr[H + i])) * h[i];
                acc += rh * R[(2 * H + j) * H + i];
              }
              if (k.bias) acc += d.b[static_cast<size_t>(dir * 2 * G * H + G * H + 2 * H + j)];
              hh = xw[2 * H + j] + acc;
            }
            float cand = std::tanh(clipf(hh));
            hn[j] = (1 - z) * cand + z * h[j];
          } else {
            const float* P = k.peep ? d.p.data() + dir * 3 * H : nullptr;
            float gi = xw[j] + hr[j] + (P ? P[j] * c[j] : 0.f);
            float gf = xw[2 * H + j] + hr[2 * H + j] + (P ? P[2 * H + j] * c[j] : 0.f);
            float it = sigmoid(clipf(gi));
            float ft = k.input_forget ? 1 - it : sigmoid(clipf(gf));
            float ct = std::tanh(clipf(xw[3 * H + j] + hr[3 * H + j]));
            cn[j] = ft * c[j] + it * ct;
            float go = xw[H + j] + hr[H + j] + (P ? P[H + j] * cn[j] : 0.f);
            hn[j] = sigmoid(clipf(go)) * std::tanh(cn[j]);
          }
        }
        h = hn;
        if (k.cell == Cell::kLstm) c = cn;
        for (int64_t j = 0; j < H; ++j)
          (*y)[static_cast<size_t>(((t * D + dir) * k.B + b) * H + j)] = h[j];
      }
      for (int64_t j = 0; j < H; ++j) {
        (*yh)[static_cast<size_t>((dir * k.B + b) * H + j)] = h[j];
        (*yc)[static_cast<size_t>((dir * k.B + b) * H + j)] = c[j];
      }
    }
  }
}

std::vector<float> permute(const std::vector<float>& v, const std::vector<int64_t>& dims,
                           const std::vector<int64_t>& perm) {
  // out[perm-order] from row-major v of shape dims
  std::vector<int64_t> od(dims.size());
  for (size_t i = 0; i < perm.size(); ++i) od[i] = dims[perm[i]];
  std::vector<float> out(v.size());
  std::vector<int64_t> idx(dims.size(), 0);
  for (size_t n = 0; n < v.size(); ++n) {
    int64_t rem = static_cast<int64_t>(n);
    for (int i = static_cast<int>(dims.size()) - 1; i >= 0; --i) {
      idx[i] = rem % dims[i];
      rem /= dims[i];
    }
    int64_t o = 0;
    for (size_t i = 0; i < perm.size(); ++i) o = o * od[i] + idx[perm[i]];
    out[static_cast<size_t>(o)] = v[n];
  }
  return out;
}

void run_case(const RnnCase& k, uint32_t seed) {
  SCOPED_TRACE("cell " + std::to_string(static_cast<int>(k.cell)) + " " + k.direction + " layout " +
               std::to_string(k.layout));
  const Data d = make_data(k, seed);
  const int64_t D = k.direction == "bidirectional" ? 2 : 1, G = gates(k.cell);
  std::vector<OpInput> ins;
  HostTensor x = floats({k.T, k.B, k.I}, d.x);
  if (k.layout == 1) x = floats({k.B, k.T, k.I}, permute(d.x, {k.T, k.B, k.I}, {1, 0, 2}));
  ins.push_back({"X", x});
  ins.push_back({"W", floats({D, G * k.H, k.I}, d.w), true});
  ins.push_back({"R", floats({D, G * k.H, k.H}, d.r), true});
  ins.push_back({k.bias ? "B" : "", k.bias ? floats({D, 2 * G * k.H}, d.b) : HostTensor(), true});
  HostTensor lens(DataType::kInt32, Dims{k.B});
  for (int64_t b = 0; b < k.B && k.lens; ++b)
    lens.as<int32_t>()[b] = d.lens[static_cast<size_t>(b)];
  ins.push_back({k.lens ? "lens" : "", k.lens ? lens : HostTensor()});  // a run-time input
  auto state = [&](const std::vector<float>& v) {
    return k.layout == 1 ? floats({k.B, D, k.H}, permute(v, {D, k.B, k.H}, {1, 0, 2}))
                         : floats({D, k.B, k.H}, v);
  };
  ins.push_back({k.h0 ? "h0" : "", k.h0 ? state(d.h0) : HostTensor()});
  if (k.cell == Cell::kLstm) {
    ins.push_back({k.c0 ? "c0" : "", k.c0 ? state(d.c0) : HostTensor()});
    ins.push_back({k.peep ? "P" : "", k.peep ? floats({D, 3 * k.H}, d.p) : HostTensor(), true});
  }
  while (ins.back().name.empty()) ins.pop_back();
  std::vector<pb::AttributeProto> attrs = {attr_int("hidden_size", k.H),
                                           attr_string("direction", k.direction)};
  if (k.layout) attrs.push_back(attr_int("layout", 1));
  if (k.clip > 0) attrs.push_back(attr_float("clip", k.clip));
  if (k.lbr) attrs.push_back(attr_int("linear_before_reset", 1));
  if (k.input_forget) attrs.push_back(attr_int("input_forget", 1));
  const char* op = k.cell == Cell::kRnn ? "RNN" : k.cell == Cell::kGru ? "GRU" : "LSTM";
  std::vector<std::string> outs = {"Y", "Y_h"};
  if (k.cell == Cell::kLstm) outs.push_back("Y_c");
  auto r = run_op(14, op, ins, attrs, outs);
  ASSERT_TRUE(r.parse.is_ok()) << r.errors;
  ASSERT_TRUE(r.outputs.is_ok()) << r.outputs.status().to_string();
  std::vector<float> y, yh, yc;
  reference(k, d, &y, &yh, &yc);
  if (k.layout == 1) {
    y = permute(y, {k.T, D, k.B, k.H}, {2, 0, 1, 3});
    yh = permute(yh, {D, k.B, k.H}, {1, 0, 2});
    yc = permute(yc, {D, k.B, k.H}, {1, 0, 2});
  }
  auto check = [&](const std::string& name, const std::vector<float>& want) {
    auto got = values_of(r.outputs->at(name));
    ASSERT_EQ(got.size(), want.size()) << name;
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_NEAR(got[i], want[i], 1e-4f * (1 + std::fabs(want[i]))) << name << "[" << i << "]";
    }
  };
  check("Y", y);
  check("Y_h", yh);
  if (k.cell == Cell::kLstm) check("Y_c", yc);
}

TEST(OnnxRecurrent, Rnn) {
  run_case({.cell = Cell::kRnn}, 1);
  run_case({.cell = Cell::kRnn, .direction = "bidirectional", .lens = true, .h0 = true}, 2);
  run_case({.cell = Cell::kRnn, .direction = "reverse", .bias = false, .clip = 0.3f}, 3);
  run_case(
      {.cell = Cell::kRnn, .T = 4, .B = 3, .direction = "bidirectional", .h0 = true, .layout = 1},
      4);
}

TEST(OnnxRecurrent, Gru) {
  run_case({.cell = Cell::kGru}, 5);
  run_case({.cell = Cell::kGru, .lbr = true}, 6);
  run_case({.cell = Cell::kGru, .direction = "reverse", .lens = true, .h0 = true}, 7);
  run_case(
      {.cell = Cell::kGru, .direction = "bidirectional", .lens = true, .lbr = true, .clip = 0.5f},
      8);
  run_case(
      {.cell = Cell::kGru, .T = 2, .B = 3, .direction = "bidirectional", .h0 = true, .layout = 1},
      9);
}

TEST(OnnxRecurrent, Lstm) {
  run_case({.cell = Cell::kLstm}, 10);
  run_case({.cell = Cell::kLstm,
            .direction = "bidirectional",
            .lens = true,
            .h0 = true,
            .c0 = true,
            .peep = true},
           11);
  run_case({.cell = Cell::kLstm,
            .direction = "reverse",
            .peep = true,
            .input_forget = true,
            .clip = 0.4f},
           12);
  run_case(
      {.cell = Cell::kLstm, .T = 4, .B = 1, .I = 3, .H = 2, .h0 = true, .c0 = true, .layout = 1},
      13);
}

TEST(OnnxRecurrent, Errors) {
  // A dynamic sequence length cannot be unrolled.
  ModelBuilder m(14);
  m.input("X", pb::TensorProto::FLOAT, {std::string("T"), int64_t{2}, int64_t{2}});
  m.initializer(make_tensor("W", pb::TensorProto::FLOAT, {1, 3, 2}, std::vector<float>(6, 0.1f)));
  m.initializer(make_tensor("R", pb::TensorProto::FLOAT, {1, 3, 3}, std::vector<float>(9, 0.1f)));
  m.node("RNN", {"X", "W", "R"}, {"Y"}, {attr_int("hidden_size", 3)}, "rnn");
  m.output("Y");
  RecordingLogger log;
  auto imp = import_model(m, log);
  ASSERT_EQ(imp.parser->errors().size(), 1u);
  EXPECT_EQ(imp.parser->errors()[0].code, StatusCode::kUnsupported);
  EXPECT_NE(imp.parser->errors()[0].message.find("sequence length"), std::string::npos);
  // An activation kiln does not know.
  ModelBuilder m2(14);
  m2.input("X", pb::TensorProto::FLOAT, {int64_t{2}, int64_t{2}, int64_t{2}});
  m2.initializer(make_tensor("W", pb::TensorProto::FLOAT, {1, 3, 2}, std::vector<float>(6, 0.1f)));
  m2.initializer(make_tensor("R", pb::TensorProto::FLOAT, {1, 3, 3}, std::vector<float>(9, 0.1f)));
  pb::AttributeProto acts;
  acts.set_name("activations");
  acts.set_type(pb::AttributeProto::STRINGS);
  acts.add_strings("Swish");
  m2.node("RNN", {"X", "W", "R"}, {"Y"}, {attr_int("hidden_size", 3), acts}, "rnn");
  m2.output("Y");
  auto imp2 = import_model(m2, log);
  ASSERT_EQ(imp2.parser->errors().size(), 1u);
  EXPECT_NE(imp2.parser->errors()[0].message.find("unsupported attribute activations=Swish"),
            std::string::npos)
      << imp2.parser->errors()[0].message;
}

}  // namespace
}  // namespace kiln::testing::rnn_test
