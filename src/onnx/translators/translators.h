// The op translators, one file per op family. Each file exposes one function that appends its
// translators to a list; registry.cpp calls them all (an explicit list: nothing registers itself
// through static initializers).
#pragma once

#include "onnx/importer.h"

#include <string>
#include <vector>

namespace kiln::onnx_import {

void add_activation_translators(std::vector<Translator>& out);
void add_elementwise_translators(std::vector<Translator>& out);
void add_conv_pool_translators(std::vector<Translator>& out);
void add_matmul_translators(std::vector<Translator>& out);
void add_shape_translators(std::vector<Translator>& out);
void add_reduce_translators(std::vector<Translator>& out);
void add_normalization_translators(std::vector<Translator>& out);
void add_loss_translators(std::vector<Translator>& out);
void add_quantize_translators(std::vector<Translator>& out);
void add_signal_translators(std::vector<Translator>& out);
void add_data_movement_translators(std::vector<Translator>& out);
void add_resize_translators(std::vector<Translator>& out);

// ---- helpers shared by translators ----

// A Conv node from the ONNX node's attributes (kernel_shape, strides, dilations, pads /
// auto_pad, group) on the given X, W and optional B (conv_pool.cpp).
Result<int> add_conv(NodeContext& c, int x, int w, int b);
// The ONNX node's attributes among `names` as IR attributes of the same names (INT -> int,
// FLOAT -> float, STRING -> string, INTS / FLOATS -> lists); absent ones are left out.
ir::Attrs pass_attrs(NodeContext& c, std::initializer_list<std::string_view> names);
// Error unless input i is known at build time (a constant or a host shape value).
Status require_build_time(NodeContext& c, int i, std::string_view what);
// "[1,2,3]"
std::string ints_to_string(const std::vector<int64_t>& v);
// Legacy (opset < 7) binary broadcasting: with attribute broadcast=1 and an axis, B is reshaped
// so that numpy broadcasting aligns it at that axis of A. Returns B's (possibly new) value.
Result<int> legacy_broadcast(NodeContext& ctx, int a, int b);
// Softmax-style "coerce to 2-D" of opsets < 13 around a per-row op: flattens X to
// [prod(d[:axis]), prod(d[axis:])], applies `op` on axis 1 and restores X's shape.
template <typename Fn>
Result<int> coerced_2d(NodeContext& ctx, int x, int64_t axis, Fn&& op);

}  // namespace kiln::onnx_import

// ---- template definitions ----
namespace kiln::onnx_import {

template <typename Fn>
Result<int> coerced_2d(NodeContext& ctx, int x, int64_t axis, Fn&& op) {
  const int r = ctx.rank(x);
  if (axis < 0) axis += r;
  if (axis < 0 || axis > r) {
    return invalid_argument("axis " + std::to_string(axis) + " is out of range for rank " +
                            std::to_string(r));
  }
  if (axis == r - 1) return op(x, int64_t{-1});  // the last axis: the same as opset 13
  KILN_ASSIGN_OR_RETURN(int rows, ctx.dims_product(x, 0, static_cast<int>(axis)));
  KILN_ASSIGN_OR_RETURN(int cols, ctx.dims_product(x, static_cast<int>(axis), r));
  KILN_ASSIGN_OR_RETURN(int shape2d, ctx.concat({rows, cols}, 0));
  KILN_ASSIGN_OR_RETURN(int flat, ctx.reshape_to(x, shape2d));
  KILN_ASSIGN_OR_RETURN(int y, op(flat, int64_t{1}));
  KILN_ASSIGN_OR_RETURN(int orig, ctx.shape_of(x, 0, r));
  return ctx.reshape_to(y, orig);
}

}  // namespace kiln::onnx_import
