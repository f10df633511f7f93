// Concrete shapes from input shapes: binds the graph's symbols and evaluates every value's
// symbolic shape (and shape values). Used by the builder (at a profile's min/opt/max) and by the
// runtime (at set_input_shape).
#pragma once

#include <kiln/status.h>
#include <kiln/types.h>

#include "ir/graph.h"

#include <span>
#include <vector>

namespace kiln::ir {

// input_dims[i] is the shape of graph input i. Checks ranks and static extents and that dims
// sharing a symbol agree; errors name the input and dim.
Result<std::vector<int64_t>> bind_symbols(const Graph& graph, std::span<const Dims> input_dims);

// Shape of every value (constants and inputs included). Values of removed nodes get rank 0.
Result<std::vector<Dims>> eval_all_shapes(const Graph& graph, std::span<const int64_t> symbols);

// Concrete content of a shape value.
Result<std::vector<int64_t>> eval_shape_value(const Value& value, std::span<const int64_t> symbols);

}  // namespace kiln::ir
