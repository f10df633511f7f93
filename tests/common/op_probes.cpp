#include "common/op_probes.h"

#include "ops/elementwise/elementwise.h"

#include <functional>
#include <map>
#include <string>

namespace kiln::testing {
namespace {

using I64s = std::vector<int64_t>;

// A tensor of `t` filled with small values (ones for bool, so masks and conditions are valid).
HostTensor filled(DataType t, Dims shape, double v = 1.0) {
  HostTensor x(t, shape);
  for (int64_t i = 0; i < x.numel(); ++i) store_from_double(x.data(), t, i, v);
  return x;
}
HostTensor ints(const I64s& v) {
  std::vector<double> d(v.begin(), v.end());
  return make_tensor(DataType::kInt64, Dims{static_cast<int64_t>(v.size())}, d);
}
HostTensor scalar(DataType t, double v) {
  return make_tensor(t, Dims{}, {v});
}

struct Variant {
  std::string name;
  OpCase c;
};
using ProbeFn = std::function<std::vector<Variant>(DataType)>;

OpCase unary_case(const std::string& op, DataType t, Dims shape) {
  OpCase c;
  c.op = op;
  c.inputs = {filled(t, shape)};
  return c;
}

// One entry per registered op. T is the dtype of the op's typed tensor (OpDef::dtype_input).
const std::map<std::string, ProbeFn, std::less<>>& probe_table() {
  static const std::map<std::string, ProbeFn, std::less<>> table = {
      {"Activation",
       [](DataType t) {
         OpCase c = unary_case("Activation", t, Dims{2, 3});
         c.attrs.set("type", std::string("relu"));
         return std::vector<Variant>{{"relu", c}};
       }},
      {"ArgReduce",
       [](DataType t) {
         OpCase c = unary_case("ArgReduce", t, Dims{2, 3});
         c.attrs.set("op", std::string("max"));
         c.attrs.set("axis", int64_t{1});
         return std::vector<Variant>{{"max", c}};
       }},
      {"Attention",
       [](DataType t) {
         OpCase c;
         c.op = "Attention";
         c.inputs = {filled(t, Dims{1, 2, 4, 16}), filled(t, Dims{1, 2, 4, 16}),
                     filled(t, Dims{1, 2, 4, 16})};
         return std::vector<Variant>{{"bhsd d=16", c}};
       }},
      {"BatchNorm",
       [](DataType t) {
         OpCase c;
         c.op = "BatchNorm";
         Dims ch{2};
         c.inputs = {filled(t, Dims{1, 2, 3, 3}), filled(DataType::kFloat32, ch),
                     filled(DataType::kFloat32, ch), filled(DataType::kFloat32, ch),
                     filled(DataType::kFloat32, ch)};
         c.constant = {false, true, true, true, true};
         return std::vector<Variant>{{"nchw", c}};
       }},
      {"BitShift",
       [](DataType t) {
         OpCase c;
         c.op = "BitShift";
         c.inputs = {filled(t, Dims{4}), filled(t, Dims{4})};
         c.attrs.set("direction", std::string("LEFT"));
         return std::vector<Variant>{{"left", c}};
       }},
      {"Cast",
       [](DataType t) {
         std::vector<Variant> v;
         for (int k = 0; k < kNumDataTypes; ++k) {
           const auto to = static_cast<DataType>(k);
           OpCase c = unary_case("Cast", t, Dims{4});
           c.attrs.set("to", std::string(dtype_name(to)));
           v.push_back({"to " + std::string(dtype_name(to)), c});
         }
         return v;
       }},
      {"Concat",
       [](DataType t) {
         OpCase c;
         c.op = "Concat";
         c.inputs = {filled(t, Dims{2, 3}), filled(t, Dims{1, 3})};
         c.attrs.set("axis", int64_t{0});
         return std::vector<Variant>{{"axis 0", c}};
       }},
      {"ConstantOfShape",
       [](DataType t) {
         OpCase c;
         c.op = "ConstantOfShape";
         c.inputs = {ints({2, 3})};
         c.constant = {true};
         c.attrs.set("dtype", std::string(dtype_name(t)));
         c.attrs.set("value", 1.0);
         return std::vector<Variant>{{"[2,3]", c}};
       }},
      {"Conv",
       [](DataType t) {
         auto conv = [&](Dims x, Dims w, int64_t group, bool bias, bool relu, bool last) {
           OpCase c;
           c.op = "Conv";
           c.inputs = {filled(t, x), filled(t, w, 0.5)};
           c.constant = {false, true};
           if (bias) {
             c.inputs.push_back(filled(t, Dims{w[0]}));
             c.constant.push_back(true);
           }
           const int64_t k = w[2];
           c.attrs.set("pads", I64s(4, k / 2));
           if (group > 1) c.attrs.set("group", group);
           if (relu) c.attrs.set("activation", std::string("relu"));
           if (last) c.attrs.set("channels_last", int64_t{1});
           return c;
         };
         return std::vector<Variant>{
             {"3x3", conv(Dims{1, 4, 6, 6}, Dims{4, 4, 3, 3}, 1, false, false, false)},
             {"3x3 bias relu", conv(Dims{1, 4, 6, 6}, Dims{4, 4, 3, 3}, 1, true, true, false)},
             {"1x1", conv(Dims{1, 4, 6, 6}, Dims{4, 4, 1, 1}, 1, false, false, false)},
             {"depthwise", conv(Dims{1, 4, 6, 6}, Dims{4, 1, 3, 3}, 4, false, false, false)},
             {"nhwc 3x3", conv(Dims{1, 6, 6, 4}, Dims{4, 4, 3, 3}, 1, false, false, true)},
             {"nhwc 3x3 bias relu", conv(Dims{1, 6, 6, 4}, Dims{4, 4, 3, 3}, 1, true, true, true)},
         };
       }},
      {"ConvTranspose",
       [](DataType t) {
         OpCase c;
         c.op = "ConvTranspose";
         c.inputs = {filled(t, Dims{1, 4, 5, 5}), filled(t, Dims{4, 2, 3, 3}, 0.5)};
         c.constant = {false, true};
         return std::vector<Variant>{{"3x3", c}};
       }},
      {"CumSum",
       [](DataType t) {
         OpCase c;
         c.op = "CumSum";
         c.inputs = {filled(t, Dims{2, 3}), scalar(DataType::kInt64, 1)};
         c.constant = {false, true};
         return std::vector<Variant>{{"axis 1", c}};
       }},
      {"DepthToSpace",
       [](DataType t) {
         OpCase c = unary_case("DepthToSpace", t, Dims{1, 4, 2, 2});
         c.attrs.set("blocksize", int64_t{2});
         return std::vector<Variant>{{"b=2", c}};
       }},
      {"Einsum",
       [](DataType t) {
         OpCase c;
         c.op = "Einsum";
         c.inputs = {filled(t, Dims{2, 3}), filled(t, Dims{3, 4})};
         c.attrs.set("equation", std::string("ij,jk->ik"));
         return std::vector<Variant>{{"ij,jk->ik", c}};
       }},
      {"ElementWise",
       [](DataType t) {
         std::vector<Variant> v;
         for (const char* op : {"sum", "equal", "and"}) {
           OpCase c;
           c.op = "ElementWise";
           c.inputs = {filled(t, Dims{2, 3}), filled(t, Dims{3})};
           c.attrs.set("op", std::string(op));
           v.push_back({op, c});
         }
         return v;
       }},
      {"Expand",
       [](DataType t) {
         OpCase c;
         c.op = "Expand";
         c.inputs = {filled(t, Dims{3, 1}), ints({3, 4})};
         c.constant = {false, true};
         return std::vector<Variant>{{"[3,4]", c}};
       }},
      {"FloatClass",
       [](DataType t) {
         OpCase c = unary_case("FloatClass", t, Dims{4});
         c.attrs.set("op", std::string("isnan"));
         return std::vector<Variant>{{"isnan", c}};
       }},
      {"FusedElementwise",
       [](DataType t) {
         OpCase c;
         c.op = "FusedElementwise";
         c.inputs = {filled(t, Dims{2, 3}), filled(t, Dims{3})};
         // One instruction: register 2 = in0 + in1.
         c.attrs.set("program", I64s{0, static_cast<int64_t>(ops::ElementWiseOp::kSum), 0, 1, 0});
         c.attrs.set("constants", std::vector<double>{});
         c.attrs.set("dtype", std::string("float32"));
         return std::vector<Variant>{{"sum", c}};
       }},
      {"Gather",
       [](DataType t) {
         OpCase c;
         c.op = "Gather";
         c.inputs = {filled(t, Dims{3, 4}), ints({0, 2})};
         return std::vector<Variant>{{"axis 0", c}};
       }},
      {"GatherElements",
       [](DataType t) {
         OpCase c;
         c.op = "GatherElements";
         c.inputs = {filled(t, Dims{2, 3}), filled(DataType::kInt64, Dims{2, 3}, 0)};
         return std::vector<Variant>{{"axis 0", c}};
       }},
      {"GatherND",
       [](DataType t) {
         OpCase c;
         c.op = "GatherND";
         c.inputs = {filled(t, Dims{2, 3}), filled(DataType::kInt64, Dims{2, 1}, 0)};
         return std::vector<Variant>{{"k=1", c}};
       }},
      {"GroupNormalization",
       [](DataType t) {
         OpCase c;
         c.op = "GroupNormalization";
         c.inputs = {filled(t, Dims{1, 4, 3, 3}), filled(DataType::kFloat32, Dims{4}),
                     filled(DataType::kFloat32, Dims{4})};
         c.attrs.set("num_groups", int64_t{2});
         return std::vector<Variant>{{"2 groups", c}};
       }},
      {"Hardmax",
       [](DataType t) {
         return std::vector<Variant>{{"", unary_case("Hardmax", t, Dims{2, 3})}};
       }},
      {"Identity",
       [](DataType t) {
         return std::vector<Variant>{{"", unary_case("Identity", t, Dims{4})}};
       }},
      {"InstanceNorm",
       [](DataType t) {
         OpCase c;
         c.op = "InstanceNorm";
         c.inputs = {filled(t, Dims{1, 2, 3, 3}), filled(DataType::kFloat32, Dims{2}),
                     filled(DataType::kFloat32, Dims{2})};
         return std::vector<Variant>{{"", c}};
       }},
      {"LayerNorm",
       [](DataType t) {
         OpCase c;
         c.op = "LayerNorm";
         c.inputs = {filled(t, Dims{2, 4}), filled(DataType::kFloat32, Dims{4}),
                     filled(DataType::kFloat32, Dims{4})};
         return std::vector<Variant>{{"", c}};
       }},
      {"LpNormalization",
       [](DataType t) {
         return std::vector<Variant>{{"", unary_case("LpNormalization", t, Dims{2, 3})}};
       }},
      {"LRN",
       [](DataType t) {
         OpCase c = unary_case("LRN", t, Dims{1, 4, 3, 3});
         c.attrs.set("size", int64_t{3});
         return std::vector<Variant>{{"size 3", c}};
       }},
      {"MatMul",
       [](DataType t) {
         OpCase c;
         c.op = "MatMul";
         c.inputs = {filled(t, Dims{2, 3}), filled(t, Dims{3, 4})};
         return std::vector<Variant>{{"2x3x4", c}};
       }},
      {"MeanVarianceNormalization",
       [](DataType t) {
         return std::vector<Variant>{
             {"", unary_case("MeanVarianceNormalization", t, Dims{1, 2, 3, 3})}};
       }},
      {"OneHot",
       [](DataType t) {
         OpCase c;
         c.op = "OneHot";
         c.inputs = {ints({0, 2, 1}), scalar(DataType::kInt64, 4), filled(t, Dims{2})};
         c.constant = {false, true, true};
         return std::vector<Variant>{{"depth 4", c}};
       }},
      {"Pad",
       [](DataType t) {
         OpCase c;
         c.op = "Pad";
         c.inputs = {filled(t, Dims{2, 3}), ints({1, 1, 1, 1})};
         c.constant = {false, true};
         return std::vector<Variant>{{"constant", c}};
       }},
      {"Pooling",
       [](DataType t) {
         auto pool = [&](const char* type, bool global, bool last) {
           OpCase c = unary_case("Pooling", t, last ? Dims{1, 4, 4, 2} : Dims{1, 2, 4, 4});
           c.attrs.set("type", std::string(type));
           if (global) {
             c.attrs.set("global", int64_t{1});
           } else {
             c.attrs.set("kernel", I64s{2, 2});
             c.attrs.set("strides", I64s{2, 2});
           }
           if (last) c.attrs.set("channels_last", int64_t{1});
           return c;
         };
         return std::vector<Variant>{
             {"max 2x2", pool("max", false, false)},
             {"average 2x2", pool("average", false, false)},
             {"global max", pool("max", true, false)},
             {"nhwc max 2x2", pool("max", false, true)},
             {"nhwc global max", pool("max", true, true)},
             {"nhwc global average", pool("average", true, true)},
         };
       }},
      {"PRelu",
       [](DataType t) {
         OpCase c;
         c.op = "PRelu";
         c.inputs = {filled(t, Dims{2, 3}), filled(t, Dims{3})};
         return std::vector<Variant>{{"", c}};
       }},
      {"Range",
       [](DataType t) {
         OpCase c;
         c.op = "Range";
         c.inputs = {scalar(t, 0), scalar(t, 5), scalar(t, 1)};
         c.constant = {true, true, true};
         return std::vector<Variant>{{"0..5", c}};
       }},
      {"Reduce",
       [](DataType t) {
         std::vector<Variant> v;
         for (const char* op : {"sum", "mean"}) {
           OpCase c = unary_case("Reduce", t, Dims{2, 3});
           c.attrs.set("op", std::string(op));
           c.attrs.set("axes", I64s{1});
           v.push_back({op, c});
         }
         return v;
       }},
      {"Reshape",
       [](DataType t) {
         OpCase c;
         c.op = "Reshape";
         c.inputs = {filled(t, Dims{2, 3}), ints({6})};
         c.constant = {false, true};
         return std::vector<Variant>{{"[6]", c}};
       }},
      {"Resize",
       [](DataType t) {
         std::vector<Variant> v;
         for (const char* mode : {"nearest", "linear"}) {
           OpCase c;
           c.op = "Resize";
           c.inputs = {filled(t, Dims{1, 1, 2, 2}), HostTensor(),
                       make_tensor(DataType::kFloat32, Dims{4}, {1, 1, 2, 2})};
           c.constant = {false, false, true};
           c.attrs.set("mode", std::string(mode));
           v.push_back({mode, c});
         }
         return v;
       }},
      {"ScatterElements",
       [](DataType t) {
         OpCase c;
         c.op = "ScatterElements";
         c.inputs = {filled(t, Dims{2, 3}), filled(DataType::kInt64, Dims{2, 3}, 0),
                     filled(t, Dims{2, 3})};
         return std::vector<Variant>{{"none", c}};
       }},
      {"ScatterND",
       [](DataType t) {
         OpCase c;
         c.op = "ScatterND";
         c.inputs = {filled(t, Dims{3, 2}), filled(DataType::kInt64, Dims{2, 1}, 0),
                     filled(t, Dims{2, 2})};
         return std::vector<Variant>{{"none", c}};
       }},
      {"Select",
       [](DataType t) {
         std::vector<Variant> v;
         for (bool same : {true, false}) {
           OpCase c;
           c.op = "Select";
           c.inputs = {filled(DataType::kBool, Dims{2, 3}), filled(t, Dims{2, 3}),
                       filled(t, same ? Dims{2, 3} : Dims{3})};
           v.push_back({same ? "same shape" : "broadcast", c});
         }
         return v;
       }},
      {"Shape",
       [](DataType t) {
         return std::vector<Variant>{{"", unary_case("Shape", t, Dims{2, 3})}};
       }},
      {"Shrink",
       [](DataType t) {
         return std::vector<Variant>{{"", unary_case("Shrink", t, Dims{4})}};
       }},
      {"Slice",
       [](DataType t) {
         OpCase c;
         c.op = "Slice";
         c.inputs = {filled(t, Dims{4, 4}), ints({1}), ints({3})};
         c.constant = {false, true, true};
         return std::vector<Variant>{{"[1:3]", c}};
       }},
      {"Softmax",
       [](DataType t) {
         return std::vector<Variant>{{"", unary_case("Softmax", t, Dims{2, 3})}};
       }},
      {"SpaceToDepth",
       [](DataType t) {
         OpCase c = unary_case("SpaceToDepth", t, Dims{1, 1, 4, 4});
         c.attrs.set("blocksize", int64_t{2});
         return std::vector<Variant>{{"b=2", c}};
       }},
      {"Split",
       [](DataType t) {
         OpCase c = unary_case("Split", t, Dims{4});
         c.num_outputs = 2;
         return std::vector<Variant>{{"2 pieces", c}};
       }},
      {"Squeeze",
       [](DataType t) {
         OpCase c = unary_case("Squeeze", t, Dims{1, 3});
         c.attrs.set("axes", I64s{0});
         return std::vector<Variant>{{"axis 0", c}};
       }},
      {"Tile",
       [](DataType t) {
         OpCase c;
         c.op = "Tile";
         c.inputs = {filled(t, Dims{2, 3}), ints({2, 1})};
         c.constant = {false, true};
         return std::vector<Variant>{{"2x1", c}};
       }},
      {"TopK",
       [](DataType t) {
         OpCase c;
         c.op = "TopK";
         c.inputs = {filled(t, Dims{2, 5}), ints({2})};
         c.constant = {false, true};
         c.num_outputs = 2;
         return std::vector<Variant>{{"k=2", c}};
       }},
      {"Transpose",
       [](DataType t) {
         return std::vector<Variant>{{"2-D", unary_case("Transpose", t, Dims{64, 48})}};
       }},
      {"Trilu",
       [](DataType t) {
         return std::vector<Variant>{{"", unary_case("Trilu", t, Dims{3, 3})}};
       }},
      {"Unary",
       [](DataType t) {
         std::vector<Variant> v;
         for (const char* op : {"exp", "abs", "sign", "not"}) {
           OpCase c = unary_case("Unary", t, Dims{4});
           c.attrs.set("op", std::string(op));
           v.push_back({op, c});
         }
         return v;
       }},
      {"Unsqueeze",
       [](DataType t) {
         OpCase c = unary_case("Unsqueeze", t, Dims{3});
         c.attrs.set("axes", I64s{0});
         return std::vector<Variant>{{"axis 0", c}};
       }},
  };
  return table;
}

}  // namespace

bool has_dtype_probes(std::string_view op) {
  return probe_table().count(op) != 0;
}

std::vector<std::string> probe_variant_names(std::string_view op) {
  std::vector<std::string> names;
  auto it = probe_table().find(op);
  if (it == probe_table().end()) return names;
  for (const Variant& v : it->second(DataType::kFloat32)) names.push_back(v.name);
  return names;
}

std::vector<std::unique_ptr<Probe>> dtype_probes(std::string_view op, DataType dtype,
                                                 Backend backend) {
  std::vector<std::unique_ptr<Probe>> out;
  auto it = probe_table().find(op);
  const ops::OpDef* def = ops::find_op(op);
  if (it == probe_table().end() || def == nullptr) return out;
  for (Variant& v : it->second(dtype)) {
    auto graph = make_graph(v.c);
    if (!graph.is_ok()) continue;  // the op rejects this dtype (or this variant of it)
    auto p = std::make_unique<Probe>();
    p->variant = v.name;
    p->label = std::string(op) + "[" + std::string(dtype_name(dtype)) + "] " + v.name;
    p->graph = std::move(*graph);
    const ir::Node& node = p->graph.node(0);
    const int typed =
        def->dtype_input == ops::kDtypeOfOutput ? node.outputs[0] : node.inputs[def->dtype_input];
    if (p->graph.value(typed).dtype != dtype) {
      ADD_FAILURE() << p->label << ": the typed tensor is "
                    << dtype_name(p->graph.value(typed).dtype);
      continue;
    }
    ops::KernelInfo& info = p->info;
    info.graph = &p->graph;
    info.node = &node;
    info.backend = backend;
    bool static_shapes = true;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      info.opt.inputs.push_back(node.inputs[i] < 0 ? Dims{} : v.c.inputs[i].shape());
    }
    for (int o : node.outputs) {
      auto dims = ir::eval_shape(p->graph.value(o).shape, {});
      if (!dims.is_ok()) {
        static_shapes = false;
        break;
      }
      info.opt.outputs.emplace_back(std::span<const int64_t>(*dims));
    }
    if (!static_shapes) {
      ADD_FAILURE() << p->label << ": output shapes are not static";
      continue;
    }
    info.min = info.opt;
    info.max = info.opt;
    out.push_back(std::move(p));
  }
  return out;
}

ops::DtypeSet probed_dtypes(const ops::OpDef& op, const ops::TacticDef& tactic, Backend backend) {
  ops::DtypeSet found;
  for (int k = 0; k < kNumDataTypes; ++k) {
    const auto dt = static_cast<DataType>(k);
    for (const auto& probe : dtype_probes(op.name, dt, backend)) {
      if (tactic.supports(probe->info)) {
        found = found | ops::DtypeSet{dt};
        break;
      }
    }
  }
  return found;
}

}  // namespace kiln::testing
