#include "ir/shape_eval.h"

namespace kiln::ir {

Result<std::vector<int64_t>> bind_symbols(const Graph& g, std::span<const Dims> input_dims) {
  if (input_dims.size() != g.inputs().size()) {
    return internal_error("bind_symbols: " + std::to_string(input_dims.size()) + " shapes for " +
                          std::to_string(g.inputs().size()) + " inputs");
  }
  std::vector<int64_t> symbols(g.symbols().size(), -1);
  for (size_t i = 0; i < input_dims.size(); ++i) {
    const Value& v = g.value(g.inputs()[i]);
    const Dims& d = input_dims[i];
    if (d.rank() != static_cast<int>(v.shape.size())) {
      return invalid_argument("input '" + v.name + "' has rank " + std::to_string(v.shape.size()) +
                              ", got shape " + d.to_string());
    }
    for (int k = 0; k < d.rank(); ++k) {
      if (d[k] < 0) {
        return invalid_argument("input '" + v.name + "': extent " + std::to_string(d[k]) +
                                " in dim " + std::to_string(k) + " is negative");
      }
      const SymExpr& e = v.shape[k];
      if (e.is_const()) {
        if (e.value() != d[k]) {
          return invalid_argument("input '" + v.name + "': dim " + std::to_string(k) +
                                  " is fixed at " + std::to_string(e.value()) + ", got " +
                                  std::to_string(d[k]));
        }
      } else if (e.kind() == SymExpr::Kind::kSymbol) {
        int64_t& s = symbols[e.symbol_id()];
        if (s >= 0 && s != d[k]) {
          return invalid_argument("input '" + v.name + "': dim " + std::to_string(k) + " ('" +
                                  g.symbols()[e.symbol_id()].name + "') is " +
                                  std::to_string(d[k]) + " but another input has it as " +
                                  std::to_string(s));
        }
        s = d[k];
      }
    }
  }
  for (size_t i = 0; i < symbols.size(); ++i) {
    if (symbols[i] < 0) {
      return internal_error("symbol '" + g.symbols()[i].name + "' is not bound by any input");
    }
  }
  return symbols;
}

Result<std::vector<Dims>> eval_all_shapes(const Graph& g, std::span<const int64_t> symbols) {
  std::vector<Dims> out(g.num_values());
  for (int i = 0; i < g.num_values(); ++i) {
    const Value& v = g.value(i);
    if (v.producer >= 0 && g.node(v.producer).removed) continue;
    auto dims = eval_shape(v.shape, symbols);
    if (!dims.is_ok()) return dims.status().with_context("tensor '" + v.name + "'");
    for (int64_t d : *dims) {
      if (d < 0) {
        return invalid_argument("tensor '" + v.name + "' gets negative extent " +
                                std::to_string(d) + " (shape " +
                                shape_to_string(v.shape, g.symbol_names()) + ")");
      }
    }
    out[i] = Dims(std::span<const int64_t>(*dims));
  }
  return out;
}

Result<std::vector<int64_t>> eval_shape_value(const Value& v, std::span<const int64_t> symbols) {
  if (!v.shape_value) return internal_error("tensor '" + v.name + "' has no shape value");
  std::vector<int64_t> out(v.shape_value->size());
  for (size_t i = 0; i < out.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(out[i], (*v.shape_value)[i].eval(symbols));
  }
  return out;
}

}  // namespace kiln::ir
