// Small helpers to build ONNX models in C++ with the protobuf API, for the importer tests.
//
//   ModelBuilder m(17);
//   m.input("x", pb::TensorProto::FLOAT, {"N", 3});
//   m.node("Relu", {"x"}, {"y"});
//   m.output("y", pb::TensorProto::FLOAT);
//   auto bytes = m.bytes();
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace kiln::testing {

namespace pb = ::onnx;

// A dim: a number (dim_value), a name (dim_param) or -1 / "" (unknown).
using OnnxDim = std::variant<int64_t, std::string>;

inline pb::TensorProto make_tensor(const std::string& name, int32_t type, std::vector<int64_t> dims,
                                   const std::vector<float>& values) {
  pb::TensorProto t;
  t.set_name(name);
  t.set_data_type(type);
  for (int64_t d : dims) t.add_dims(d);
  for (float v : values) t.add_float_data(v);
  return t;
}

inline pb::TensorProto make_int64_tensor(const std::string& name, std::vector<int64_t> dims,
                                         const std::vector<int64_t>& values) {
  pb::TensorProto t;
  t.set_name(name);
  t.set_data_type(pb::TensorProto::INT64);
  for (int64_t d : dims) t.add_dims(d);
  for (int64_t v : values) t.add_int64_data(v);
  return t;
}

inline pb::AttributeProto attr_int(const std::string& name, int64_t v) {
  pb::AttributeProto a;
  a.set_name(name);
  a.set_type(pb::AttributeProto::INT);
  a.set_i(v);
  return a;
}

inline pb::AttributeProto attr_float(const std::string& name, float v) {
  pb::AttributeProto a;
  a.set_name(name);
  a.set_type(pb::AttributeProto::FLOAT);
  a.set_f(v);
  return a;
}

inline pb::AttributeProto attr_string(const std::string& name, const std::string& v) {
  pb::AttributeProto a;
  a.set_name(name);
  a.set_type(pb::AttributeProto::STRING);
  a.set_s(v);
  return a;
}

inline pb::AttributeProto attr_ints(const std::string& name, const std::vector<int64_t>& v) {
  pb::AttributeProto a;
  a.set_name(name);
  a.set_type(pb::AttributeProto::INTS);
  for (int64_t x : v) a.add_ints(x);
  return a;
}

inline pb::AttributeProto attr_tensor(const std::string& name, const pb::TensorProto& t) {
  pb::AttributeProto a;
  a.set_name(name);
  a.set_type(pb::AttributeProto::TENSOR);
  *a.mutable_t() = t;
  return a;
}

class ModelBuilder {
 public:
  explicit ModelBuilder(int64_t opset = 17) {
    model_.set_ir_version(8);
    model_.set_producer_name("kiln-test");
    auto* op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    graph_ = model_.mutable_graph();
    graph_->set_name("test");
  }

  pb::ModelProto& model() { return model_; }
  pb::GraphProto& graph() { return *graph_; }

  void input(const std::string& name, int32_t type, const std::vector<OnnxDim>& dims) {
    auto* v = graph_->add_input();
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(type);
    auto* shape = tt->mutable_shape();
    for (const auto& d : dims) {
      auto* dim = shape->add_dim();
      if (const auto* n = std::get_if<int64_t>(&d)) {
        if (*n >= 0) dim->set_dim_value(*n);
      } else if (!std::get<std::string>(d).empty()) {
        dim->set_dim_param(std::get<std::string>(d));
      }
    }
  }

  void output(const std::string& name, int32_t type = pb::TensorProto::FLOAT) {
    auto* v = graph_->add_output();
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(type);
  }

  void initializer(const pb::TensorProto& t) { *graph_->add_initializer() = t; }

  pb::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                      const std::vector<std::string>& outputs,
                      const std::vector<pb::AttributeProto>& attrs = {},
                      const std::string& name = "") {
    auto* n = graph_->add_node();
    n->set_op_type(op);
    if (!name.empty()) n->set_name(name);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    for (const auto& a : attrs) *n->add_attribute() = a;
    return *n;
  }

  std::vector<uint8_t> bytes() const {
    std::string s = model_.SerializeAsString();
    return {s.begin(), s.end()};
  }

 private:
  pb::ModelProto model_;
  pb::GraphProto* graph_;
};

}  // namespace kiln::testing
