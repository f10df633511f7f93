#include "ops/pad/pad.h"

#include <algorithm>

namespace kiln::ops {

namespace {

using ir::SymExpr;

Status infer_pad(InferContext& ctx) {
  if (ctx.num_inputs() < 1 || ctx.num_inputs() > 4 || !ctx.has_input(0)) {
    return ctx.error("expects inputs (X, pads[, constant_value[, axes]]), got " +
                     std::to_string(ctx.num_inputs()) + " inputs");
  }
  const std::string mode_name = ctx.attrs().get_string("mode", "constant");
  PadMode mode;
  if (!parse_pad_mode(mode_name, &mode)) {
    return ctx.error("mode must be constant, reflect, edge or wrap, got '" + mode_name + "'");
  }
  const ir::SymShape& in = ctx.input_shape(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  const DataType xdt = ctx.input_dtype(0);
  std::vector<SymExpr> pads;
  std::vector<int64_t> axes;
  if (ctx.num_inputs() == 1) {
    if (!ctx.attrs().has("pads")) return ctx.error("needs a pads input or a 'pads' attribute");
    for (int64_t v : ctx.attrs().get_ints("pads")) pads.emplace_back(v);
  } else {
    if (!ctx.has_input(1)) return ctx.error("needs a pads input");
    for (int i : {1, 3}) {
      if (!ctx.has_input(i)) continue;
      const char* what = i == 1 ? "pads" : "axes";
      const DataType dt = ctx.input_dtype(i);
      if (dt != DataType::kInt64 && dt != DataType::kInt32) {
        return ctx.error(std::string(what) + " input must be int64 or int32, got " +
                         std::string(dtype_name(dt)));
      }
      if (ctx.input_rank(i) != 1) {
        return ctx.error(std::string(what) + " input must be 1-D, got rank " +
                         std::to_string(ctx.input_rank(i)));
      }
    }
    const auto* sv = ctx.shape_value(1);
    if (sv == nullptr) {
      return ctx.error("pads input '" + ctx.input(1)->name +
                       "' is computed from tensor data; data-dependent pads are unsupported");
    }
    pads = *sv;
    if (ctx.has_input(2)) {
      if (ctx.input_dtype(2) != xdt) {
        return ctx.error("constant_value has dtype " + std::string(dtype_name(ctx.input_dtype(2))) +
                         " but X has " + std::string(dtype_name(xdt)));
      }
      const SymExpr n = ir::sym_volume(ctx.input_shape(2));
      if (ctx.input_rank(2) > 1 || (n.is_const() && n.value() > 1)) {
        return ctx.error("constant_value must hold one element, got shape " +
                         ir::shape_to_string(ctx.input_shape(2)));
      }
    }
    if (ctx.has_input(3)) {
      const auto* av = ctx.shape_value(3);
      if (av == nullptr ||
          !std::all_of(av->begin(), av->end(), [](const SymExpr& e) { return e.is_const(); })) {
        return ctx.error("axes input '" + ctx.input(3)->name + "' must be a constant");
      }
      for (const SymExpr& e : *av) axes.push_back(e.value());
    }
  }
  if (!ctx.has_input(3)) {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  const size_t na = axes.size();
  if (pads.size() != 2 * na) {
    return ctx.error("pads has " + std::to_string(pads.size()) + " entries but " +
                     std::to_string(2 * na) + " are needed (begin and end of " +
                     std::to_string(na) + " axes)");
  }
  ir::SymShape out = in;
  std::vector<bool> seen(rank, false);
  for (size_t i = 0; i < na; ++i) {
    int64_t axis = axes[i];
    if (!normalize_axis(&axis, rank, "axis").is_ok() || rank == 0) {
      return ctx.error("axis " + std::to_string(axes[i]) + " is out of range for rank " +
                       std::to_string(rank));
    }
    if (seen[axis]) return ctx.error("axis " + std::to_string(axes[i]) + " is repeated");
    seen[axis] = true;
    const SymExpr& b = pads[i];
    const SymExpr& e = pads[na + i];
    const SymExpr& d = in[axis];
    out[axis] = d + b + e;
    if (out[axis].is_const() && out[axis].value() < 0) {
      return ctx.error("pads " + b.to_string() + " and " + e.to_string() + " crop axis " +
                       std::to_string(axis) + " of extent " + d.to_string() + " below zero");
    }
    if (mode != PadMode::kConstant && d.is_const() && b.is_const() && e.is_const()) {
      const int64_t kept =
          d.value() - std::max<int64_t>(-b.value(), 0) - std::max<int64_t>(-e.value(), 0);
      if (kept <= 0 && (b.value() > 0 || e.value() > 0)) {
        return ctx.error("cannot pad axis " + std::to_string(axis) + " in mode " + mode_name +
                         ": no input elements remain to extend");
      }
    }
  }
  auto& o = ctx.output(0);
  o.dtype = xdt;
  o.shape = std::move(out);
  return Status::ok();
}

}  // namespace

bool parse_pad_mode(std::string_view name, PadMode* out) {
  static constexpr std::string_view kNames[] = {"constant", "reflect", "edge", "wrap"};
  for (size_t i = 0; i < std::size(kNames); ++i) {
    if (kNames[i] == name) {
      *out = static_cast<PadMode>(i);
      return true;
    }
  }
  return false;
}

Status pad_amounts(const TensorView& pads, const TensorView& axes_view, int rank, int64_t* begin,
                   int64_t* end) {
  if (pads.data == nullptr) return invalid_argument("pad amounts are not on the host");
  int64_t axes[Dims::kMaxDims];
  int64_t na = rank;
  if (axes_view.data != nullptr) {
    na = axes_view.numel();
    if (na > rank) return invalid_argument("pad has more axes than the input has dims");
    for (int64_t i = 0; i < na; ++i) axes[i] = load_as_int(axes_view.data, axes_view.dtype, i);
  } else {
    for (int i = 0; i < rank; ++i) axes[i] = i;
  }
  if (pads.numel() != 2 * na) {
    return invalid_argument("pad amounts have " + std::to_string(pads.numel()) + " entries for " +
                            std::to_string(na) + " axes");
  }
  for (int i = 0; i < rank; ++i) begin[i] = end[i] = 0;
  for (int64_t i = 0; i < na; ++i) {
    int64_t a = axes[i];
    KILN_RETURN_IF_ERROR(normalize_axis(&a, rank, "pad axis"));
    begin[a] = load_as_int(pads.data, pads.dtype, i);
    end[a] = load_as_int(pads.data, pads.dtype, na + i);
  }
  return Status::ok();
}

Status pad_plan(PadMode mode, const Dims& x, const Dims& y, const int64_t* begin,
                const int64_t* end, PadPlan* p) {
  const int r = x.rank();
  if (y.rank() != r) {
    return invalid_argument("pad output " + y.to_string() + " does not match input " +
                            x.to_string());
  }
  p->rank = r;
  for (int d = 0; d < r; ++d) {
    const int64_t lo = std::max<int64_t>(-begin[d], 0);
    const int64_t n = x[d] - lo - std::max<int64_t>(-end[d], 0);
    p->pad[d] = std::max<int64_t>(begin[d], 0);
    p->lo[d] = lo;
    p->n[d] = n;
    const int64_t extent = x[d] + begin[d] + end[d];
    if (n < 0 || extent != y[d]) {
      return invalid_argument("pads " + std::to_string(begin[d]) + ", " + std::to_string(end[d]) +
                              " of axis " + std::to_string(d) + " do not map input " +
                              x.to_string() + " to output " + y.to_string());
    }
    if (n == 0 && extent > 0 && mode != PadMode::kConstant) {
      return invalid_argument("cannot pad axis " + std::to_string(d) +
                              " in this mode: no input elements remain to extend");
    }
  }
  return Status::ok();
}

const OpDef& pad_op() {
  static const OpDef def{"Pad", infer_pad, pad_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
