#include "ops/slice/slice.h"

#include <algorithm>

namespace kiln::ops {

namespace {

using ir::SymExpr;

// Indices at or beyond +-2^62 stand for "to the end" (ONNX exporters use INT64_MAX/MIN).
constexpr int64_t kHuge = int64_t{1} << 62;

int64_t clamp_index(int64_t v, int64_t dim, int64_t lo, int64_t hi) {
  if (v >= kHuge) return hi;
  if (v <= -kHuge) return std::min(lo, hi);
  if (v < 0) v += dim;
  return std::min(std::max(v, lo), hi);
}

// Symbolic clamp_index; a symbolic v is taken to be >= 0 (it comes from dims).
SymExpr sym_clamp_index(const SymExpr& v, const SymExpr& dim, int64_t lo, const SymExpr& hi) {
  if (v.is_const()) {
    const int64_t c = v.value();
    if (c >= kHuge) return hi;
    if (c <= -kHuge) return ir::sym_min(lo, hi);
    if (c < 0) return ir::sym_min(ir::sym_max(dim + c, lo), hi);
    return ir::sym_min(std::max(c, lo), hi);
  }
  return ir::sym_min(ir::sym_max(v, lo), hi);
}

struct SliceSpec {
  std::vector<SymExpr> starts, ends;
  std::vector<int64_t> axes, steps;
};

// Reads input i as constant ints (axes/steps).
Status read_const_ints(const InferContext& ctx, int i, const char* what,
                       std::vector<int64_t>* out) {
  const auto* sv = ctx.shape_value(i);
  if (sv == nullptr ||
      !std::all_of(sv->begin(), sv->end(), [](const SymExpr& e) { return e.is_const(); })) {
    return ctx.error(std::string(what) + " input '" + ctx.input(i)->name + "' must be a constant");
  }
  out->clear();
  for (const SymExpr& e : *sv) out->push_back(e.value());
  return Status::ok();
}

Status read_spec(const InferContext& ctx, SliceSpec* s) {
  if (ctx.num_inputs() == 1) {
    if (!ctx.attrs().has("starts") || !ctx.attrs().has("ends")) {
      return ctx.error("needs starts and ends (inputs 1 and 2, or attributes)");
    }
    for (int64_t v : ctx.attrs().get_ints("starts")) s->starts.emplace_back(v);
    for (int64_t v : ctx.attrs().get_ints("ends")) s->ends.emplace_back(v);
    s->axes = ctx.attrs().get_ints("axes");
    s->steps = ctx.attrs().get_ints("steps");
    if (!ctx.attrs().has("axes")) s->axes.clear();
    if (!ctx.attrs().has("steps")) s->steps.clear();
    return Status::ok();
  }
  if (ctx.num_inputs() < 3 || ctx.num_inputs() > 5 || !ctx.has_input(1) || !ctx.has_input(2)) {
    return ctx.error("expects inputs (data, starts, ends[, axes[, steps]]), got " +
                     std::to_string(ctx.num_inputs()) + " inputs");
  }
  static const char* const kNames[] = {"", "starts", "ends", "axes", "steps"};
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    DataType dt = ctx.input_dtype(i);
    if (dt != DataType::kInt64 && dt != DataType::kInt32) {
      return ctx.error(std::string(kNames[i]) + " input must be int64 or int32, got " +
                       std::string(dtype_name(dt)));
    }
    if (ctx.input_rank(i) != 1) {
      return ctx.error(std::string(kNames[i]) + " input must be 1-D, got rank " +
                       std::to_string(ctx.input_rank(i)));
    }
  }
  for (int i : {1, 2}) {
    const auto* sv = ctx.shape_value(i);
    if (sv == nullptr) {
      return ctx.error(std::string(kNames[i]) + " input '" + ctx.input(i)->name +
                       "' is computed from tensor data; data-dependent slice bounds are "
                       "unsupported");
    }
    (i == 1 ? s->starts : s->ends) = *sv;
  }
  if (ctx.has_input(3)) KILN_RETURN_IF_ERROR(read_const_ints(ctx, 3, "axes", &s->axes));
  if (ctx.has_input(4)) KILN_RETURN_IF_ERROR(read_const_ints(ctx, 4, "steps", &s->steps));
  return Status::ok();
}

Status infer_slice(InferContext& ctx) {
  if (ctx.num_inputs() < 1 || !ctx.has_input(0)) return ctx.error("expects a data input");
  SliceSpec s;
  KILN_RETURN_IF_ERROR(read_spec(ctx, &s));
  const ir::SymShape& in = ctx.input_shape(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  const size_t n = s.starts.size();
  if (s.ends.size() != n) {
    return ctx.error("starts has " + std::to_string(n) + " entries but ends has " +
                     std::to_string(s.ends.size()));
  }
  if (s.axes.empty()) {
    for (size_t i = 0; i < n; ++i) s.axes.push_back(static_cast<int64_t>(i));
  }
  if (s.steps.empty()) s.steps.assign(n, 1);
  if (s.axes.size() != n || s.steps.size() != n) {
    return ctx.error("starts, ends, axes and steps must have the same length (" +
                     std::to_string(n) + ", " + std::to_string(s.ends.size()) + ", " +
                     std::to_string(s.axes.size()) + ", " + std::to_string(s.steps.size()) + ")");
  }
  if (rank == 0) return ctx.error("cannot slice a scalar");
  std::vector<bool> seen(rank, false);
  ir::SymShape out = in;
  for (size_t i = 0; i < n; ++i) {
    int64_t axis = s.axes[i];
    if (!normalize_axis(&axis, rank, "axis").is_ok()) {
      return ctx.error("axis " + std::to_string(s.axes[i]) + " is out of range for rank " +
                       std::to_string(rank));
    }
    if (seen[axis]) return ctx.error("axis " + std::to_string(s.axes[i]) + " is repeated");
    seen[axis] = true;
    s.axes[i] = axis;
    const int64_t step = std::max(s.steps[i], -kHuge);  // keeps -step representable
    if (step == 0) return ctx.error("step of axis " + std::to_string(axis) + " is 0");
    const SymExpr& d = in[axis];
    if (step > 0) {
      SymExpr b = sym_clamp_index(s.starts[i], d, 0, d);
      SymExpr e = sym_clamp_index(s.ends[i], d, 0, d);
      out[axis] = ir::sym_max(0, ir::ceil_div(e - b, step));
    } else {
      SymExpr b = sym_clamp_index(s.starts[i], d, 0, d - 1);
      SymExpr e = sym_clamp_index(s.ends[i], d, -1, d - 1);
      out[axis] = ir::sym_max(0, ir::ceil_div(b - e, -step));
    }
  }
  auto& o = ctx.output(0);
  o.dtype = ctx.input_dtype(0);
  o.shape = out;
  // Shape value of a sliced 1-D shape tensor.
  const auto* sv = ctx.shape_value(0);
  const bool const_bounds =
      std::all_of(s.starts.begin(), s.starts.end(),
                  [](const SymExpr& e) { return e.is_const(); }) &&
      std::all_of(s.ends.begin(), s.ends.end(), [](const SymExpr& e) { return e.is_const(); });
  if (sv != nullptr && rank == 1 && n == 1 && const_bounds) {
    const int64_t len = static_cast<int64_t>(sv->size());
    int64_t first, extent;
    slice_axis(len, s.starts[0].value(), s.ends[0].value(), s.steps[0], &first, &extent);
    std::vector<SymExpr> value;
    for (int64_t k = 0; k < extent; ++k) value.push_back((*sv)[first + k * s.steps[0]]);
    o.shape_value = std::move(value);
  } else if (sv != nullptr && rank == 1 && n == 0) {
    o.shape_value = *sv;
  }
  return Status::ok();
}

}  // namespace

void slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t* first,
                int64_t* extent) {
  step = std::max(step, -kHuge);  // same extents for any real dim; keeps -step representable
  if (step > 0) {
    const int64_t b = clamp_index(start, dim, 0, dim), e = clamp_index(end, dim, 0, dim);
    *first = b;
    *extent = e > b ? 1 + (e - b - 1) / step : 0;  // ceil without overflow for huge steps
  } else {
    const int64_t b = clamp_index(start, dim, 0, dim - 1), e = clamp_index(end, dim, -1, dim - 1);
    *first = b;
    *extent = b > e ? 1 + (b - e - 1) / -step : 0;
  }
}

const OpDef& slice_op() {
  static const OpDef def{"Slice", infer_slice, slice_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
