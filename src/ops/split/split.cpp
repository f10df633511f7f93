#include "ops/split/split.h"

#include <algorithm>

namespace kiln::ops {

namespace {

using ir::SymExpr;

Status infer_split(InferContext& ctx) {
  if (ctx.num_inputs() < 1 || ctx.num_inputs() > 2 || !ctx.has_input(0)) {
    return ctx.error("expects inputs (X[, split]), got " + std::to_string(ctx.num_inputs()) +
                     " inputs");
  }
  const int64_t n = static_cast<int64_t>(ctx.node().outputs.size());
  if (n < 1) return ctx.error("needs at least one output");
  const ir::SymShape& in = ctx.input_shape(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  if (rank == 0) return ctx.error("cannot split a scalar");
  int64_t axis = ctx.attrs().get_int("axis", 0);
  if (!normalize_axis(&axis, rank, "axis").is_ok()) {
    return ctx.error("axis " + std::to_string(ctx.attrs().get_int("axis", 0)) +
                     " is out of range for rank " + std::to_string(rank));
  }
  const SymExpr& d = in[axis];
  const bool has_num = ctx.attrs().has("num_outputs");
  std::vector<SymExpr> sizes;
  bool explicit_sizes = false;
  if (ctx.has_input(1)) {
    const DataType dt = ctx.input_dtype(1);
    if (dt != DataType::kInt64 && dt != DataType::kInt32) {
      return ctx.error("split input must be int64 or int32, got " + std::string(dtype_name(dt)));
    }
    if (ctx.input_rank(1) != 1) {
      return ctx.error("split input must be 1-D, got rank " + std::to_string(ctx.input_rank(1)));
    }
    const auto* sv = ctx.shape_value(1);
    if (sv == nullptr) {
      return ctx.error("split input '" + ctx.input(1)->name +
                       "' is computed from tensor data; data-dependent split sizes are "
                       "unsupported");
    }
    sizes = *sv;
    explicit_sizes = true;
  } else if (ctx.attrs().has("split")) {
    for (int64_t v : ctx.attrs().get_ints("split")) sizes.emplace_back(v);
    explicit_sizes = true;
  }
  if (explicit_sizes && has_num) {
    return ctx.error("split sizes and attribute 'num_outputs' are mutually exclusive");
  }
  if (explicit_sizes) {
    if (static_cast<int64_t>(sizes.size()) != n) {
      return ctx.error("split has " + std::to_string(sizes.size()) + " sizes but the node has " +
                       std::to_string(n) + " outputs");
    }
    bool all_const = d.is_const();
    int64_t sum = 0;
    for (size_t k = 0; k < sizes.size(); ++k) {
      if (sizes[k].is_const()) {
        if (sizes[k].value() < 0) {
          return ctx.error("split size " + std::to_string(sizes[k].value()) + " of output " +
                           std::to_string(k) + " is negative");
        }
        sum += sizes[k].value();
      } else {
        all_const = false;
      }
    }
    if (all_const && sum != d.value()) {
      return ctx.error("split sizes sum to " + std::to_string(sum) + " but axis " +
                       std::to_string(axis) + " has extent " + std::to_string(d.value()));
    }
  } else if (has_num) {
    const int64_t num = ctx.attrs().get_int("num_outputs");
    if (num != n) {
      return ctx.error("attribute num_outputs is " + std::to_string(num) + " but the node has " +
                       std::to_string(n) + " outputs");
    }
    const SymExpr chunk = ir::ceil_div(d, n);
    sizes.assign(n, chunk);
    const SymExpr last = d - chunk * (n - 1);
    if (d.is_const() && last.value() < 0) {
      return ctx.error("cannot split extent " + std::to_string(d.value()) + " into " +
                       std::to_string(n) + " pieces of " + std::to_string(chunk.value()));
    }
    // A symbolic extent too small for the pieces gives a clamped last piece, which the kernel
    // rejects when run (the pieces no longer cover the axis).
    sizes[n - 1] = ir::sym_max(last, 0);
  } else {
    if (d.is_const() && d.value() % n != 0) {
      return ctx.error("extent " + std::to_string(d.value()) + " of axis " + std::to_string(axis) +
                       " is not divisible into " + std::to_string(n) + " equal pieces");
    }
    sizes.assign(n, ir::floor_div(d, n));
  }
  for (int64_t k = 0; k < n; ++k) {
    auto& o = ctx.output(static_cast<int>(k));
    o.dtype = ctx.input_dtype(0);
    o.shape = in;
    o.shape[axis] = sizes[k];
  }
  // Pieces of a 1-D shape tensor.
  const auto* xsv = ctx.shape_value(0);
  if (xsv != nullptr && rank == 1 &&
      std::all_of(sizes.begin(), sizes.end(), [](const SymExpr& e) { return e.is_const(); })) {
    const std::vector<SymExpr> value = *xsv;
    int64_t at = 0;
    for (int64_t k = 0; k < n; ++k) {
      const int64_t len = sizes[k].value();
      if (at + len > static_cast<int64_t>(value.size())) break;
      ctx.output(static_cast<int>(k)).shape_value =
          std::vector<SymExpr>(value.begin() + at, value.begin() + at + len);
      at += len;
    }
  }
  return Status::ok();
}

}  // namespace

const OpDef& split_op() {
  static const OpDef def{"Split", infer_split, split_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
