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
