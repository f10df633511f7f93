// RNN, GRU and LSTM, unrolled over a static sequence length: the input projection of every
// time step is one batched MatMul, then each step is a small MatMul with the recurrent weights
// and element-wise gate math. sequence_lens (data, not shape) masks the steps past each batch
// entry's length, so it may be a run-time input. The batch may be dynamic.
#include "onnx/translators/translators.h"

#include <cmath>

namespace kiln::onnx_import {

namespace {

enum class Cell { kRnn, kGru, kLstm };

// Longest sequence unrolled (each step is a dozen layers).
constexpr int64_t kMaxUnrolledSteps = 4096;

struct Act {
  std::string name;
  double alpha = 0, beta = 0;
};

bool takes_alpha(const std::string& n) {
  return n == "Affine" || n == "LeakyRelu" || n == "ThresholdedRelu" || n == "ScaledTanh" ||
         n == "HardSigmoid" || n == "Elu";
}
bool takes_beta(const std::string& n) {
  return n == "Affine" || n == "ScaledTanh" || n == "HardSigmoid";
}

double default_alpha(const std::string& n) {
  if (n == "LeakyRelu") return 0.01;
  if (n == "HardSigmoid") return 0.2;
  return 1.0;  // Affine, ThresholdedRelu, ScaledTanh, Elu
}
double default_beta(const std::string& n) {
  return n == "HardSigmoid" ? 0.5 : n == "ScaledTanh" ? 1.0 : 0.0;
}

Result<int> apply(NodeContext& c, const Act& a, int x) {
  const DataType dt = c.dtype(x);
  if (a.name == "Tanh") return c.activation("tanh", x, 0, 0);
  if (a.name == "Sigmoid") return c.activation("sigmoid", x, 0, 0);
  if (a.name == "Relu") return c.activation("relu", x, 0, 0);
  if (a.name == "LeakyRelu") return c.activation("leaky_relu", x, a.alpha, 0);
  if (a.name == "ThresholdedRelu") return c.activation("thresholded_relu", x, a.alpha, 0);
  if (a.name == "HardSigmoid") return c.activation("hard_sigmoid", x, a.alpha, a.beta);
  if (a.name == "Elu") return c.activation("elu", x, a.alpha, 0);
  if (a.name == "Softsign") return c.activation("softsign", x, 0, 0);
  if (a.name == "Softplus") return c.activation("softplus", x, 0, 0);
  if (a.name == "Affine") {
    KILN_ASSIGN_OR_RETURN(int m, c.elementwise("prod", x, c.scalar(dt, a.alpha)));
    return c.elementwise("sum", m, c.scalar(dt, a.beta));
  }
  if (a.name == "ScaledTanh") {
    KILN_ASSIGN_OR_RETURN(int m, c.elementwise("prod", x, c.scalar(dt, a.beta)));
    KILN_ASSIGN_OR_RETURN(int t, c.activation("tanh", m, 0, 0));
    return c.elementwise("prod", t, c.scalar(dt, a.alpha));
  }
  return c.bad_attr("activations", a.name, "not a recurrent activation kiln implements");
}

// Gate pre-activation with the optional clip, then the activation.
Result<int> gate(NodeContext& c, const Act& a, int x, double clip) {
  if (clip > 0) {
    KILN_ASSIGN_OR_RETURN(x, c.activation("clip", x, -clip, clip));
  }
  return apply(c, a, x);
}

// Slice [begin, end) of axis `axis`.
Result<int> slice(NodeContext& c, int x, int64_t axis, int64_t begin, int64_t end) {
  ir::Attrs a;
  a.set("starts", std::vector<int64_t>{begin});
  a.set("ends", std::vector<int64_t>{end});
  a.set("axes", std::vector<int64_t>{axis});
  return c.add1("Slice", {x}, std::move(a));
}

// Entry `index` of axis 0 (the axis removed).
Result<int> pick(NodeContext& c, int x, int64_t index) {
  HostTensor i(DataType::kInt64, Dims{});
  i.as<int64_t>()[0] = index;
  ir::Attrs a;
  a.set("axis", int64_t{0});
  return c.add1("Gather", {x, c.constant(std::move(i), "step")}, std::move(a));
}

Status recurrent(NodeContext& c, Cell cell) {
  const int max_inputs = cell == Cell::kLstm ? 8 : 6;
  KILN_RETURN_IF_ERROR(c.expect_inputs(3, max_inputs));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  const int gates = cell == Cell::kRnn ? 1 : cell == Cell::kGru ? 3 : 4;
  const int64_t layout = c.opset() >= 14 ? c.attr_int("layout", 0) : 0;
  if (layout != 0 && layout != 1)
    return c.invalid_attr("layout", std::to_string(layout), "expected 0 or 1");
  int x = c.input(0), w = c.input(1), r = c.input(2), b = c.input(3), lens = c.input(4),
      h0 = c.input(5), c0 = cell == Cell::kLstm ? c.input(6) : -1,
      p = cell == Cell::kLstm ? c.input(7) : -1;
  const DataType dt = c.dtype(x);
  for (int v : {w, r, b, h0, c0, p}) {
    if (v >= 0 && c.dtype(v) != dt)
      return invalid_argument("W, R, B, initial states and P must have X's dtype");
  }
  if (c.rank(x) != 3 || c.rank(w) != 3 || c.rank(r) != 3) {
    return invalid_argument("X, W and R must be 3-D");
  }
  if (layout == 1) {
    KILN_ASSIGN_OR_RETURN(x, c.transpose(x, {1, 0, 2}));
    if (h0 >= 0) {
      KILN_ASSIGN_OR_RETURN(h0, c.transpose(h0, {1, 0, 2}));
    }
    if (c0 >= 0) {
      KILN_ASSIGN_OR_RETURN(c0, c.transpose(c0, {1, 0, 2}));
    }
  }
  if (!c.shape(x)[0].is_const()) {
    return unsupported("the sequence length (dim 0 of X) must be static: kiln unrolls " +
                       c.op_type() + " over time");
  }
  const int64_t steps = c.shape(x)[0].value();
  if (steps > kMaxUnrolledSteps) {
    return unsupported("sequence length " + std::to_string(steps) +
                       " is longer than kiln unrolls (" + std::to_string(kMaxUnrolledSteps) + ")");
  }
  KILN_ASSIGN_OR_RETURN(auto rshape, c.static_shape(r, "R"));
  const int64_t hidden = rshape[2];
  if (hidden < 1 || hidden > kMaxImportConstant) {
    return invalid_argument("hidden size " + std::to_string(hidden) + " is out of range");
  }
  if (c.has_attr("hidden_size") && c.attr_int("hidden_size", 0) != hidden) {
    return c.invalid_attr("hidden_size", std::to_string(c.attr_int("hidden_size", 0)),
                          "R's shape says " + std::to_string(hidden));
  }
  if (rshape[1] != gates * hidden) {
    return invalid_argument("R has shape " + ints_to_string(rshape) + ", expected [dirs, " +
                            std::to_string(gates * hidden) + ", " + std::to_string(hidden) + "]");
  }
  const std::string direction = c.attr_string("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional") {
    return c.invalid_attr("direction", direction, "expected forward, reverse or bidirectional");
  }
  const int dirs = direction == "bidirectional" ? 2 : 1;
  if (rshape[0] != dirs) {
    return invalid_argument("R's first dim is " + std::to_string(rshape[0]) + ", direction " +
                            direction + " needs " + std::to_string(dirs));
  }
  const double clip = c.attr_float("clip", 0.0);
  const bool lbr = cell == Cell::kGru && c.attr_int("linear_before_reset", 0) != 0;
  const bool input_forget = cell == Cell::kLstm && c.attr_int("input_forget", 0) != 0;

  // Activations: per direction, f (and g, h).
  const size_t per_dir = cell == Cell::kRnn ? 1 : cell == Cell::kGru ? 2 : 3;
  std::vector<std::string> names;
  if (const auto* a = c.attr("activations")) {
    for (const auto& s : a->strings()) names.push_back(s);
  }
  if (names.empty()) {
    for (int d = 0; d < dirs; ++d) {
      if (cell == Cell::kRnn)
        names.push_back("Tanh");
      else if (cell == Cell::kGru)
        names.insert(names.end(), {"Sigmoid", "Tanh"});
      else
        names.insert(names.end(), {"Sigmoid", "Tanh", "Tanh"});
    }
  }
  if (names.size() != per_dir * dirs) {
    return c.invalid_attr("activations", std::to_string(names.size()) + " names",
                          "expected " + std::to_string(per_dir * dirs));
  }
  auto alphas = c.attr_floats("activation_alpha"), betas = c.attr_floats("activation_beta");
  std::vector<Act> acts;
  size_t ai = 0, bi = 0;
  for (const auto& n : names) {
    Act a{n, default_alpha(n), default_beta(n)};
    if (takes_alpha(n) && ai < alphas.size()) a.alpha = alphas[ai++];
    if (takes_beta(n) && bi < betas.size()) a.beta = betas[bi++];
    acts.push_back(a);
  }

  // Zeros [batch, hidden] for absent initial states and masked outputs.
  KILN_ASSIGN_OR_RETURN(int batch, c.shape_of(x, 1, 2));
  KILN_ASSIGN_OR_RETURN(int state_shape, c.concat({batch, c.ints({hidden})}, 0));
  ir::Attrs za;
  za.set("dtype", std::string(dtype_name(dt)));
  za.set("value", 0.0);
  KILN_ASSIGN_OR_RETURN(int zeros, c.add1("ConstantOfShape", {state_shape}, std::move(za)));
  int lens64 = -1;
  if (lens >= 0) {
    KILN_ASSIGN_OR_RETURN(lens64, c.cast(lens, DataType::kInt64));
    KILN_ASSIGN_OR_RETURN(lens64, c.unsqueeze(lens64, {1}));  // [batch, 1]
  }

  std::vector<int> ys, hs, cs;  // per direction: Y [T, 1, B, H], final H [1, B, H], final C
  for (int d = 0; d < dirs; ++d) {
    const bool reverse = direction == "reverse" || d == 1;
    KILN_ASSIGN_OR_RETURN(int wd, pick(c, w, d));  // [G*H, I]
    KILN_ASSIGN_OR_RETURN(int rd, pick(c, r, d));  // [G*H, H]
    int wb = -1, rb = -1;
    if (b >= 0) {
      KILN_ASSIGN_OR_RETURN(int bd, pick(c, b, d));  // [2*G*H]
      KILN_ASSIGN_OR_RETURN(wb, slice(c, bd, 0, 0, gates * hidden));
      KILN_ASSIGN_OR_RETURN(rb, slice(c, bd, 0, gates * hidden, 2 * gates * hidden));
    }
    // Input projection of every step, with the biases that do not need the reset gate.
    int in_bias = wb;
    int rec_bias = -1;  // bias added to H_prev * R^T (GRU with linear_before_reset: Rbh only)
    if (rb >= 0) {
      if (cell == Cell::kGru) {
        KILN_ASSIGN_OR_RETURN(int rzr, slice(c, rb, 0, 0, 2 * hidden));
        KILN_ASSIGN_OR_RETURN(int rh, slice(c, rb, 0, 2 * hidden, 3 * hidden));
        KILN_ASSIGN_OR_RETURN(
            int rz0, c.concat({rzr, c.constant(HostTensor(dt, Dims{hidden}), "zero_bias")}, 0));
        KILN_ASSIGN_OR_RETURN(in_bias, c.elementwise("sum", wb, rz0));
        rec_bias = rh;
      } else {
        KILN_ASSIGN_OR_RETURN(in_bias, c.elementwise("sum", wb, rb));
      }
    }
    ir::Attrs ma;
    ma.set("transpose_b", int64_t{1});
    std::vector<int> mins = {x, wd};
    KILN_ASSIGN_OR_RETURN(int xw, c.add1("MatMul", mins, ma));  // [T, B, G*H]
    if (in_bias >= 0) {
      KILN_ASSIGN_OR_RETURN(xw, c.elementwise("sum", xw, in_bias));
    }
    int pi = -1, po = -1, pf = -1;
    if (p >= 0) {
      KILN_ASSIGN_OR_RETURN(int pd, pick(c, p, d));  // [3H]: i, o, f
      KILN_ASSIGN_OR_RETURN(pi, slice(c, pd, 0, 0, hidden));
      KILN_ASSIGN_OR_RETURN(po, slice(c, pd, 0, hidden, 2 * hidden));
      KILN_ASSIGN_OR_RETURN(pf, slice(c, pd, 0, 2 * hidden, 3 * hidden));
    }
    // GRU without linear_before_reset multiplies r * H_prev before the h-part of R.
    int r_zr = rd, r_h = -1;
    if (cell == Cell::kGru && !lbr) {
      KILN_ASSIGN_OR_RETURN(r_zr, slice(c, rd, 0, 0, 2 * hidden));
      KILN_ASSIGN_OR_RETURN(r_h, slice(c, rd, 0, 2 * hidden, 3 * hidden));
    }
    const Act& f = acts[d * per_dir];
    int h = zeros, cstate = zeros;
    if (h0 >= 0) {
      KILN_ASSIGN_OR_RETURN(h, pick(c, h0, d));
    }
    if (c0 >= 0) {
      KILN_ASSIGN_OR_RETURN(cstate, pick(c, c0, d));
    }
    std::vector<int> step_out(static_cast<size_t>(steps), -1);
    for (int64_t k = 0; k < steps; ++k) {
      const int64_t t = reverse ? steps - 1 - k : k;
      KILN_ASSIGN_OR_RETURN(int xt, pick(c, xw, t));  // [B, G*H]
      KILN_ASSIGN_OR_RETURN(int hr, c.add1("MatMul", {h, r_zr}, ma));
      int h_new = -1, c_new = -1;
      if (cell == Cell::kRnn) {
        KILN_ASSIGN_OR_RETURN(int pre, c.elementwise("sum", xt, hr));
        KILN_ASSIGN_OR_RETURN(h_new, gate(c, f, pre, clip));
      } else if (cell == Cell::kGru) {
        const Act& g = acts[d * per_dir + 1];
        KILN_ASSIGN_OR_RETURN(int xz, slice(c, xt, 1, 0, hidden));
        KILN_ASSIGN_OR_RETURN(int xr, slice(c, xt, 1, hidden, 2 * hidden));
        KILN_ASSIGN_OR_RETURN(int xh, slice(c, xt, 1, 2 * hidden, 3 * hidden));
        KILN_ASSIGN_OR_RETURN(int hz, slice(c, hr, 1, 0, hidden));
        KILN_ASSIGN_OR_RETURN(int hrr, slice(c, hr, 1, hidden, 2 * hidden));
        KILN_ASSIGN_OR_RETURN(int zs, c.elementwise("sum", xz, hz));
        KILN_ASSIGN_OR_RETURN(int z, gate(c, f, zs, clip));
        KILN_ASSIGN_OR_RETURN(int rs, c.elementwise("sum", xr, hrr));
        KILN_ASSIGN_OR_RETURN(int rg, gate(c, f, rs, clip));
        int hh = -1;
        if (lbr) {
          KILN_ASSIGN_OR_RETURN(hh, slice(c, hr, 1, 2 * hidden, 3 * hidden));
          if (rec_bias >= 0) {
            KILN_ASSIGN_OR_RETURN(hh, c.elementwise("sum", hh, rec_bias));
          }
          KILN_ASSIGN_OR_RETURN(hh, c.elementwise("prod", rg, hh));
        } else {
          KILN_ASSIGN_OR_RETURN(int rh, c.elementwise("prod", rg, h));
          KILN_ASSIGN_OR_RETURN(hh, c.add1("MatMul", {rh, r_h}, ma));
          if (rec_bias >= 0) {
            KILN_ASSIGN_OR_RETURN(hh, c.elementwise("sum", hh, rec_bias));
          }
        }
        KILN_ASSIGN_OR_RETURN(int hs_, c.elementwise("sum", xh, hh));
        KILN_ASSIGN_OR_RETURN(int cand, gate(c, g, hs_, clip));
        // H = cand + z * (H_prev - cand)
        KILN_ASSIGN_OR_RETURN(int diff, c.elementwise("sub", h, cand));
        KILN_ASSIGN_OR_RETURN(int zd, c.elementwise("prod", z, diff));
        KILN_ASSIGN_OR_RETURN(h_new, c.elementwise("sum", cand, zd));
      } else {
        const Act& g = acts[d * per_dir + 1];
        const Act& hact = acts[d * per_dir + 2];
        KILN_ASSIGN_OR_RETURN(int pre, c.elementwise("sum", xt, hr));
        KILN_ASSIGN_OR_RETURN(int gi, slice(c, pre, 1, 0, hidden));
        KILN_ASSIGN_OR_RETURN(int go, slice(c, pre, 1, hidden, 2 * hidden));
        KILN_ASSIGN_OR_RETURN(int gf, slice(c, pre, 1, 2 * hidden, 3 * hidden));
        KILN_ASSIGN_OR_RETURN(int gc, slice(c, pre, 1, 3 * hidden, 4 * hidden));
        if (pi >= 0) {
          KILN_ASSIGN_OR_RETURN(int t1, c.elementwise("prod", pi, cstate));
          KILN_ASSIGN_OR_RETURN(gi, c.elementwise("sum", gi, t1));
          KILN_ASSIGN_OR_RETURN(int t2, c.elementwise("prod", pf, cstate));
          KILN_ASSIGN_OR_RETURN(gf, c.elementwise("sum", gf, t2));
        }
        KILN_ASSIGN_OR_RETURN(int it, gate(c, f, gi, clip));
        int ft = -1;
        if (input_forget) {
          KILN_ASSIGN_OR_RETURN(ft, c.elementwise("sub", c.scalar(dt, 1.0), it));
        } else {
          KILN_ASSIGN_OR_RETURN(ft, gate(c, f, gf, clip));
        }
        KILN_ASSIGN_OR_RETURN(int ct, gate(c, g, gc, clip));
        KILN_ASSIGN_OR_RETURN(int keep, c.elementwise("prod", ft, cstate));
        KILN_ASSIGN_OR_RETURN(int add, c.elementwise("prod", it, ct));
        KILN_ASSIGN_OR_RETURN(c_new, c.elementwise("sum", keep, add));
        if (po >= 0) {
          KILN_ASSIGN_OR_RETURN(int t3, c.elementwise("prod", po, c_new));
          KILN_ASSIGN_OR_RETURN(go, c.elementwise("sum", go, t3));
        }
        KILN_ASSIGN_OR_RETURN(int ot, gate(c, f, go, clip));
        KILN_ASSIGN_OR_RETURN(int hc, apply(c, hact, c_new));
        KILN_ASSIGN_OR_RETURN(h_new, c.elementwise("prod", ot, hc));
      }
      int y = h_new;
      if (lens64 >= 0) {
        // Steps at or past a batch entry's length keep its state and output zeros.
        KILN_ASSIGN_OR_RETURN(
            int valid,
            c.elementwise("less", c.scalar(DataType::kInt64, static_cast<double>(t)), lens64));
        KILN_ASSIGN_OR_RETURN(y, c.add1("Select", {valid, h_new, zeros}));
        KILN_ASSIGN_OR_RETURN(h_new, c.add1("Select", {valid, h_new, h}));
        if (c_new >= 0) {
          KILN_ASSIGN_OR_RETURN(c_new, c.add1("Select", {valid, c_new, cstate}));
        }
      }
      h = h_new;
      if (c_new >= 0) cstate = c_new;
      KILN_ASSIGN_OR_RETURN(step_out[static_cast<size_t>(t)],
                            c.unsqueeze(y, {0, 1}));  // [1, 1, B, H]
    }
    KILN_ASSIGN_OR_RETURN(int yd, c.concat(step_out, 0));
    ys.push_back(yd);
    KILN_ASSIGN_OR_RETURN(int hd, c.unsqueeze(h, {0}));
    hs.push_back(hd);
    if (cell == Cell::kLstm) {
      KILN_ASSIGN_OR_RETURN(int cd, c.unsqueeze(cstate, {0}));
      cs.push_back(cd);
    }
  }
  KILN_ASSIGN_OR_RETURN(int y, c.concat(ys, 1));   // [T, dirs, B, H]
  KILN_ASSIGN_OR_RETURN(int yh, c.concat(hs, 0));  // [dirs, B, H]
  int yc = -1;
  if (cell == Cell::kLstm) {
    KILN_ASSIGN_OR_RETURN(yc, c.concat(cs, 0));
  }
  if (layout == 1) {
    KILN_ASSIGN_OR_RETURN(y, c.transpose(y, {2, 0, 1, 3}));
    KILN_ASSIGN_OR_RETURN(yh, c.transpose(yh, {1, 0, 2}));
    if (yc >= 0) {
      KILN_ASSIGN_OR_RETURN(yc, c.transpose(yc, {1, 0, 2}));
    }
  }
  c.set_output(0, y);
  c.set_output(1, yh);
  if (yc >= 0) c.set_output(2, yc);
  return Status::ok();
}

Status rnn(NodeContext& c) {
  return recurrent(c, Cell::kRnn);
}
Status gru(NodeContext& c) {
  return recurrent(c, Cell::kGru);
}
Status lstm(NodeContext& c) {
  return recurrent(c, Cell::kLstm);
}

}  // namespace

void add_rnn_translators(std::vector<Translator>& out) {
  out.insert(out.end(), {
                            {"RNN", 7, rnn},
                            {"GRU", 7, gru},
                            {"LSTM", 7, lstm},
                        });
}

}  // namespace kiln::onnx_import
