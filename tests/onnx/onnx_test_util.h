// Shared helpers of the ONNX importer tests: parse a model into a network, build it and run it.
#pragma once

#include <kiln/kiln.h>
#include <kiln/onnx.h>

#include "core/tensor.h"
#include "onnx/model_builder.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kiln::testing {

// Records log messages (tests assert on warnings).
class RecordingLogger final : public Logger {
 public:
  void log(Severity s, std::string_view m) override {
    if (s <= Severity::kWarning) messages.emplace_back(m);
  }
  bool saw(std::string_view needle) const {
    for (const auto& m : messages) {
      if (m.find(needle) != std::string::npos) return true;
    }
    return false;
  }
  std::vector<std::string> messages;
};

struct Imported {
  std::unique_ptr<Builder> builder;
  std::unique_ptr<Network> network;
  std::unique_ptr<onnx::Parser> parser;
  Status status;
};

inline Imported import_model(const ModelBuilder& m, Logger& logger, const std::string& dir = "") {
  Imported r;
  r.builder = std::make_unique<Builder>(logger);
  r.network = r.builder->create_network();
  r.parser = std::make_unique<onnx::Parser>(*r.network, logger);
  auto bytes = m.bytes();
  r.status = r.parser->parse(bytes, dir);
  return r;
}

// Builds `net` (one profile fixed at the inputs' shapes) and runs it; outputs by name.
inline Result<std::map<std::string, HostTensor>> run_network(
    const Builder& builder, const Network& net, const std::map<std::string, HostTensor>& inputs,
    int optimization_level = 0) {
  BuildConfig config;
  config.optimization_level = optimization_level;
  config.cpu_threads = 1;
  OptimizationProfile p;
  bool dynamic = false;
  for (int i = 0; i < net.num_inputs(); ++i) {
    Tensor* t = net.input(i);
    auto it = inputs.find(t->name());
    if (it == inputs.end()) return invalid_argument("no value for input " + t->name());
    if (t->dims().has_dynamic()) {
      dynamic = true;
      p.set_shape(t->name(), it->second.shape(), it->second.shape(), it->second.shape());
    }
  }
  if (dynamic) config.add_profile(p);
  KILN_ASSIGN_OR_RETURN(auto plan, builder.build_serialized_network(net, config));
  Runtime runtime(builder.logger());
  KILN_ASSIGN_OR_RETURN(auto engine, runtime.deserialize(plan));
  KILN_ASSIGN_OR_RETURN(auto ctx, engine->create_context());
  for (const auto& [name, t] : inputs) {
    KILN_RETURN_IF_ERROR(ctx->set_input_shape(name, t.shape()));
    KILN_RETURN_IF_ERROR(ctx->set_tensor_address(name, t.data()));
  }
  std::map<std::string, HostTensor> outs;
  for (int i = 0; i < net.num_outputs(); ++i) {
    const std::string& name = net.output(i)->name();
    if (inputs.count(name)) {  // an input that is also an output: one tensor, one address
      outs[name] = inputs.at(name);
      continue;
    }
    HostTensor t(engine->tensor_dtype(name), ctx->tensor_shape(name));
    KILN_RETURN_IF_ERROR(ctx->set_tensor_address(name, t.data()));
    outs[name] = t;
  }
  KILN_RETURN_IF_ERROR(ctx->execute());
  return outs;
}

inline HostTensor floats(Dims shape, const std::vector<float>& v) {
  HostTensor t(DataType::kFloat32, shape);
  for (size_t i = 0; i < v.size() && static_cast<int64_t>(i) < t.numel(); ++i) t.as<float>()[i] = v[i];
  return t;
}

inline std::vector<float> values_of(const HostTensor& t) {
  std::vector<float> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(static_cast<float>(t.get_double(i)));
  return v;
}

}  // namespace kiln::testing

namespace kiln::testing {

inline int32_t onnx_type_of(DataType d) {
  switch (d) {
    case DataType::kFloat32: return pb::TensorProto::FLOAT;
    case DataType::kFloat16: return pb::TensorProto::FLOAT16;
    case DataType::kBFloat16: return pb::TensorProto::BFLOAT16;
    case DataType::kInt8: return pb::TensorProto::INT8;
    case DataType::kUInt8: return pb::TensorProto::UINT8;
    case DataType::kInt32: return pb::TensorProto::INT32;
    case DataType::kInt64: return pb::TensorProto::INT64;
    case DataType::kBool: return pb::TensorProto::BOOL;
  }
  return 0;
}

// A TensorProto with raw_data holding `t`.
inline pb::TensorProto to_proto(const std::string& name, const HostTensor& t) {
  pb::TensorProto p;
  p.set_name(name);
  p.set_data_type(onnx_type_of(t.dtype()));
  for (int64_t d : t.shape()) p.add_dims(d);
  p.set_raw_data(std::string(static_cast<const char*>(t.data()), t.nbytes()));
  return p;
}

inline HostTensor tensor_of(DataType dt, Dims shape, const std::vector<double>& v) {
  HostTensor t(dt, shape);
  for (size_t i = 0; i < v.size() && static_cast<int64_t>(i) < t.numel(); ++i) {
    store_from_double(t.data(), dt, static_cast<int64_t>(i), v[i]);
  }
  return t;
}

// One input of a single-op model: a graph input (fed at run time) or an initializer.
struct OpInput {
  std::string name;
  HostTensor value;
  bool initializer = false;
};

struct OpRun {
  Status parse;  // parse status (the run is skipped when it fails)
  std::string errors;
  Result<std::map<std::string, HostTensor>> outputs = internal_error("not run");
};

// Imports a model of one node (inputs named as given, "" skips an optional input) and runs it.
inline OpRun run_op(int64_t opset, const std::string& op, const std::vector<OpInput>& inputs,
                    const std::vector<pb::AttributeProto>& attrs,
                    const std::vector<std::string>& outputs) {
  ModelBuilder m(opset);
  std::vector<std::string> names;
  std::map<std::string, HostTensor> feed;
  for (const auto& in : inputs) {
    names.push_back(in.name);
    if (in.name.empty()) continue;
    if (in.initializer) {
      m.initializer(to_proto(in.name, in.value));
    } else {
      std::vector<OnnxDim> dims;
      for (int64_t d : in.value.shape()) dims.emplace_back(d);
      m.input(in.name, onnx_type_of(in.value.dtype()), dims);
      feed[in.name] = in.value;
    }
  }
  m.node(op, names, outputs, attrs, "op");
  for (const auto& o : outputs) {
    if (!o.empty()) m.output(o, 0);
  }
  static RecordingLogger log;
  auto imp = import_model(m, log);
  OpRun r;
  r.parse = imp.status;
  for (const auto& e : imp.parser->errors()) r.errors += e.to_string() + "\n";
  if (!imp.status.is_ok()) return r;
  r.outputs = run_network(*imp.builder, *imp.network, feed);
  return r;
}

}  // namespace kiln::testing
