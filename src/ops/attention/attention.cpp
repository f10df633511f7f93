#include "ops/attention/attention.h"

#include "ops/common/broadcast.h"

#include <cmath>

namespace kiln::ops {

namespace {

constexpr std::string_view kLayoutNames[] = {"bhsd", "bhds", "bshd", "bsd"};

const char* const kTensorNames[] = {"Q", "K", "V", "Y"};

bool packed(AttentionLayout l) {
  return l == AttentionLayout::kBshd || l == AttentionLayout::kBsd;
}

// A tensor's dims in logical terms.
template <typename Dim>
struct Parts {
  std::vector<Dim> lead;
  Dim s{}, hd{};
};

// Splits `dims` (of a tensor in layout l) into lead dims, S and the head dim; error text or "".
// parts: 3 for the packed [B, S, 3*H*D] tensor of qkv_packed, else 1.
template <typename Dim>
std::string split(const std::vector<Dim>& dims, AttentionLayout l, int64_t heads, Parts<Dim>* out,
                  int64_t parts = 1) {
  const size_t r = dims.size();
  switch (l) {
    case AttentionLayout::kBhsd:
    case AttentionLayout::kBhds:
      if (r < 2) return "must have rank >= 2";
      out->lead.assign(dims.begin(), dims.end() - 2);
      out->s = l == AttentionLayout::kBhsd ? dims[r - 2] : dims[r - 1];
      out->hd = l == AttentionLayout::kBhsd ? dims[r - 1] : dims[r - 2];
      return "";
    case AttentionLayout::kBshd:
      if (r != 4) return "must have rank 4 in layout bshd";
      out->lead = {dims[0], dims[2]};
      out->s = dims[1];
      out->hd = dims[3];
      return "";
    case AttentionLayout::kBsd:
      if (r != 3) return "must have rank 3 in layout bsd";
      if (heads <= 0) return "layout bsd needs attribute num_heads >= 1";
      out->lead = {dims[0], Dim(heads)};
      out->s = dims[1];
      if constexpr (std::is_same_v<Dim, int64_t>) {
        if (dims[2] % (heads * parts) != 0) {
          return "last dim " + std::to_string(dims[2]) + " is not a multiple of " +
                 (parts > 1 ? "3 * " : "") + "num_heads " + std::to_string(heads);
        }
        out->hd = dims[2] / (heads * parts);
      } else {
        if (dims[2].is_const() && dims[2].value() % (heads * parts) != 0) {
          return "last dim " + std::to_string(dims[2].value()) + " is not a multiple of " +
                 (parts > 1 ? "3 * " : "") + "num_heads " + std::to_string(heads);
        }
        out->hd = ir::floor_div(dims[2], Dim(heads * parts));
      }
      return "";
  }
  return "unknown layout";
}

// Whether two dims can be equal (symbolic ones are checked at run time).
bool may_equal(const ir::SymExpr& a, const ir::SymExpr& b) {
  return a.same_as(b) || !(a.is_const() && b.is_const()) || a.value() == b.value();
}

std::string sym_list(const std::vector<ir::SymExpr>& v) {
  return ir::shape_to_string(v);
}

Status infer_attention(InferContext& ctx) {
  if (ctx.num_inputs() < 3 || ctx.num_inputs() > 4 || !ctx.has_input(0) || !ctx.has_input(1) ||
      !ctx.has_input(2)) {
    return ctx.error("expects inputs Q, K, V and an optional Mask");
  }
  Result<AttentionConfig> cfg = attention_config(ctx.attrs());
  if (!cfg.is_ok()) return ctx.error(cfg.status().message());
  const DataType dt = ctx.input_dtype(0);
  if (!is_floating(dt)) {
    return ctx.error("Q must be float32, float16 or bfloat16, got " + std::string(dtype_name(dt)));
  }
  for (int i = 1; i < 3; ++i) {
    if (ctx.input_dtype(i) != dt) {
      return ctx.error(std::string(kTensorNames[i]) + " dtype " +
                       std::string(dtype_name(ctx.input_dtype(i))) + " differs from Q's " +
                       std::string(dtype_name(dt)));
    }
  }
  const AttentionLayout layouts[] = {cfg->q, cfg->k, cfg->v};
  const bool any_packed = packed(cfg->q) || packed(cfg->k) || packed(cfg->v) || packed(cfg->y);
  if (cfg->qkv_packed) {
    for (int i = 1; i < 3; ++i) {
      const ir::SymShape& a = ctx.input_shape(0);
      const ir::SymShape& b = ctx.input_shape(i);
      bool same = a.size() == b.size();
      for (size_t d = 0; same && d < a.size(); ++d) same = may_equal(a[d], b[d]);
      if (!same) {
        return ctx.error("qkv_packed needs Q, K and V of one shape, got " + ir::shape_to_string(a) +
                         " and " + ir::shape_to_string(b));
      }
    }
  }
  Parts<ir::SymExpr> parts[3];
  for (int i = 0; i < 3; ++i) {
    std::string e =
        split(ctx.input_shape(i), layouts[i], cfg->num_heads, &parts[i], cfg->qkv_packed ? 3 : 1);
    if (e.empty() && any_packed && parts[i].lead.size() != 2) {
      e = "must have rank 4 when another tensor uses layout bshd or bsd";
    }
    if (!e.empty()) {
      return ctx.error(std::string(kTensorNames[i]) + " " +
                       ir::shape_to_string(ctx.input_shape(i)) + ": " + e);
    }
  }
  const auto& lead = parts[0].lead;
  for (int i = 1; i < 3; ++i) {
    bool ok = parts[i].lead.size() == lead.size();
    for (size_t j = 0; ok && j < lead.size(); ++j) ok = may_equal(parts[i].lead[j], lead[j]);
    if (!ok) {
      return ctx.error("batch/head dims of " + std::string(kTensorNames[i]) + " " +
                       sym_list(parts[i].lead) + " differ from Q's " + sym_list(lead));
    }
  }
  if (!may_equal(parts[0].hd, parts[1].hd)) {
    return ctx.error("head dims of Q (" + parts[0].hd.to_string() + ") and K (" +
                     parts[1].hd.to_string() + ") differ");
  }
  if (!may_equal(parts[1].s, parts[2].s)) {
    return ctx.error("sequence lengths of K (" + parts[1].s.to_string() + ") and V (" +
                     parts[2].s.to_string() + ") differ");
  }
  const ir::SymExpr& sq = parts[0].s;
  const ir::SymExpr& sk = parts[1].s;
  const ir::SymExpr& dv = parts[2].hd;
  ir::SymShape y;
  switch (cfg->y) {
    case AttentionLayout::kBhsd:
      y = lead;
      y.push_back(sq);
      y.push_back(dv);
      break;
    case AttentionLayout::kBshd:
      y = {lead[0], sq, lead[1], dv};
      break;
    case AttentionLayout::kBsd:
      if (cfg->num_heads < 1 || !may_equal(lead[1], ir::SymExpr(cfg->num_heads))) {
        return ctx.error("layout bsd of Y needs num_heads (" + std::to_string(cfg->num_heads) +
                         ") heads, the inputs have " + lead[1].to_string());
      }
      y = {lead[0], sq, ir::SymExpr(cfg->num_heads) * dv};
      break;
    case AttentionLayout::kBhds:
      return ctx.error("layout bhds is only for K");
  }
  if (ctx.has_input(3)) {
    const DataType mt = ctx.input_dtype(3);
    if (!is_floating(mt) && mt != DataType::kBool) {
      return ctx.error("Mask must be a float or bool tensor, got " + std::string(dtype_name(mt)));
    }
    ir::SymShape scores = lead;
    scores.push_back(sq);
    scores.push_back(sk);
    KILN_RETURN_IF_ERROR(check_broadcasts_to(ctx, ctx.input_shape(3), scores, "Mask"));
  }
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = std::move(y);
  return Status::ok();
}

// Strides of a contiguous tensor of layout l with concrete dims, over (lead..., S, head dim).
// (For "bsd" the head stride is the head dim, which the caller sets.)
AttentionStrides strides_of(AttentionLayout l, const Dims& dims) {
  AttentionStrides st;
  const int r = dims.rank();
  switch (l) {
    case AttentionLayout::kBhsd:
    case AttentionLayout::kBhds: {
      int64_t step = 1;
      for (int i = r - 1; i >= 0; --i) {
        if (i == r - 1) {
          (l == AttentionLayout::kBhsd ? st.d : st.s) = step;
        } else if (i == r - 2) {
          (l == AttentionLayout::kBhsd ? st.s : st.d) = step;
        } else {
          st.lead[i] = step;
        }
        step *= dims[i];
      }
      break;
    }
    case AttentionLayout::kBshd:
      st.d = 1;
      st.lead[1] = dims[3];
      st.s = dims[2] * dims[3];
      st.lead[0] = dims[1] * dims[2] * dims[3];
      break;
    case AttentionLayout::kBsd: {
      // [B, S, H*D]: head h starts at h * D within a row.
      st.d = 1;
      st.s = dims[2];
      st.lead[0] = dims[1] * dims[2];
      break;
    }
  }
  return st;
}

std::string dims_list(const std::vector<int64_t>& v) {
  return Dims(std::span<const int64_t>(v)).to_string();
}

}  // namespace

const OpDef& attention_op() {
  static const OpDef def{"Attention", infer_attention, attention_cpu_tactics()};
  return def;
}

bool parse_attention_layout(std::string_view name, AttentionLayout* out) {
  for (size_t i = 0; i < std::size(kLayoutNames); ++i) {
    if (kLayoutNames[i] == name) {
      *out = static_cast<AttentionLayout>(i);
      return true;
    }
  }
  return false;
}

Result<AttentionConfig> attention_config(const ir::Attrs& attrs) {
  AttentionConfig c;
  AttentionLayout* slots[] = {&c.q, &c.k, &c.v, &c.y};
  const char* names[] = {"q_layout", "k_layout", "v_layout", "y_layout"};
  for (int i = 0; i < 4; ++i) {
    std::string s = attrs.get_string(names[i], "bhsd");
    if (!parse_attention_layout(s, slots[i])) {
      return invalid_argument(std::string("attribute ") + names[i] + " '" + s +
                              "' is not one of bhsd, bhds, bshd, bsd");
    }
    if (*slots[i] == AttentionLayout::kBhds && i != 1) {
      return invalid_argument(std::string("attribute ") + names[i] + ": layout bhds is only for K");
    }
  }
  c.num_heads = attrs.get_int("num_heads", 0);
  if (c.num_heads < 0) return invalid_argument("attribute num_heads must be >= 0");
  const int64_t packed_qkv = attrs.get_int("qkv_packed", 0);
  if (packed_qkv != 0 && packed_qkv != 1) {
    return invalid_argument("attribute qkv_packed must be 0 or 1");
  }
  c.qkv_packed = packed_qkv != 0;
  if (c.qkv_packed && (c.q != AttentionLayout::kBsd || c.k != AttentionLayout::kBsd ||
                       c.v != AttentionLayout::kBsd)) {
    return invalid_argument("qkv_packed needs layout bsd for Q, K and V");
  }
  c.has_scale = attrs.has("scale");
  const double scale = attrs.get_float("scale", 1.0);
  if (!std::isfinite(scale)) return invalid_argument("attribute scale must be finite");
  c.scale = static_cast<float>(scale);
  const int64_t nz = attrs.get_int("nan_to_zero", 0);
  if (nz != 0 && nz != 1) return invalid_argument("attribute nan_to_zero must be 0 or 1");
  c.nan_to_zero = nz != 0;
  const double fill = attrs.get_float("mask_fill", -INFINITY);
  if (std::isnan(fill)) return invalid_argument("attribute mask_fill must not be NaN");
  c.mask_fill = static_cast<float>(fill);
  return c;
}

Result<AttentionGeometry> attention_geometry(const AttentionConfig& c, const Dims& q, const Dims& k,
                                             const Dims& v, const Dims& y, const Dims* mask) {
  const AttentionLayout layouts[] = {c.q, c.k, c.v, c.y};
  const Dims* shapes[] = {&q, &k, &v, &y};
  Parts<int64_t> parts[4];
  for (int i = 0; i < 4; ++i) {
    std::vector<int64_t> dims(shapes[i]->begin(), shapes[i]->end());
    std::string e = split(dims, layouts[i], c.num_heads, &parts[i], c.qkv_packed && i < 3 ? 3 : 1);
    if (!e.empty()) {
      return invalid_argument("Attention " + std::string(kTensorNames[i]) + " " +
                              shapes[i]->to_string() + ": " + e);
    }
  }
  for (int i = 1; i < 4; ++i) {
    if (parts[i].lead != parts[0].lead) {
      return invalid_argument("Attention batch/head dims of " + std::string(kTensorNames[i]) + " " +
                              dims_list(parts[i].lead) + " differ from Q's " +
                              dims_list(parts[0].lead));
    }
  }
  if (parts[0].hd != parts[1].hd || parts[1].s != parts[2].s || parts[3].s != parts[0].s ||
      parts[3].hd != parts[2].hd) {
    return invalid_argument("Attention shapes do not match: Q " + q.to_string() + ", K " +
                            k.to_string() + ", V " + v.to_string() + ", Y " + y.to_string());
  }
  AttentionGeometry g;
  g.lead_rank = static_cast<int>(parts[0].lead.size());
  for (int i = 0; i < g.lead_rank; ++i) {
    g.lead[i] = parts[0].lead[i];
    g.batch *= g.lead[i];
  }
  g.sq = parts[0].s;
  g.sk = parts[1].s;
  g.d = parts[0].hd;
  g.dv = parts[2].hd;
  AttentionStrides* st[] = {&g.q, &g.k, &g.v, &g.y};
  for (int i = 0; i < 4; ++i) {
    *st[i] = strides_of(layouts[i], *shapes[i]);
    if (layouts[i] == AttentionLayout::kBsd) st[i]->lead[1] = parts[i].hd;
  }
  if (c.qkv_packed) {
    // Column blocks of the packed rows: [Q heads | K heads | V heads].
    g.k_offset = c.num_heads * g.d;
    g.v_offset = 2 * c.num_heads * g.d;
  }
  if (mask != nullptr) {
    std::vector<int64_t> scores(g.lead, g.lead + g.lead_rank);
    scores.push_back(g.sq);
    scores.push_back(g.sk);
    const Dims sd{std::span<const int64_t>(scores)};
    int64_t ms[Dims::kMaxDims] = {};
    if (!broadcast_strides_to(*mask, sd, ms)) return broadcast_error("Attention Mask", *mask, sd);
    g.has_mask = true;
    for (int i = 0; i < g.lead_rank; ++i) g.mask.lead[i] = ms[i];
    g.mask.s = ms[g.lead_rank];
    g.mask.d = ms[g.lead_rank + 1];
  }
  g.scale =
      c.has_scale
          ? c.scale
          : static_cast<float>(1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(g.d, 1))));
  g.nan_to_zero = c.nan_to_zero;
  g.mask_fill = c.mask_fill;
  return g;
}

Result<AttentionGeometry> attention_geometry(const AttentionConfig& c, const ExecArgs& args) {
  const TensorView* mask =
      args.inputs.size() > 3 && args.inputs[3].data != nullptr ? &args.inputs[3] : nullptr;
  return attention_geometry(c, args.inputs[0].shape, args.inputs[1].shape, args.inputs[2].shape,
                            args.outputs[0].shape, mask ? &mask->shape : nullptr);
}

}  // namespace kiln::ops
