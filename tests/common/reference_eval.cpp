#include "common/reference_eval.h"

#include "ir/shape_eval.h"
#include "ops/op.h"

namespace kiln::testing {

Result<std::vector<HostTensor>> evaluate_reference(const ir::Graph& g,
                                                   const std::vector<HostTensor>& inputs) {
  std::vector<Dims> input_dims;
  for (const auto& t : inputs) input_dims.push_back(t.shape());
  KILN_ASSIGN_OR_RETURN(auto symbols, ir::bind_symbols(g, input_dims));
  KILN_ASSIGN_OR_RETURN(auto shapes, ir::eval_all_shapes(g, symbols));
  std::vector<HostTensor> values(g.num_values());
  for (size_t i = 0; i < inputs.size(); ++i) values[g.inputs()[i]] = inputs[i];
  for (int v = 0; v < g.num_values(); ++v) {
    if (g.value(v).constant) values[v] = *g.value(v).constant;
  }
  KILN_ASSIGN_OR_RETURN(auto order, g.topo_order());
  for (int id : order) {
    const ir::Node& n = g.node(id);
    std::vector<TensorView> ins, outs;
    for (int in : n.inputs) ins.push_back(in >= 0 ? values[in].view() : TensorView{});
    for (int out : n.outputs) {
      values[out] = HostTensor(g.value(out).dtype, shapes[out]);
      outs.push_back(values[out].view());
    }
    KILN_RETURN_IF_ERROR(ops::run_reference(g, n, ins, outs));
  }
  std::vector<HostTensor> result;
  for (int o : g.outputs()) result.push_back(values[o]);
  return result;
}

}  // namespace kiln::testing
