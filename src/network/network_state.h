// The state behind kiln::Network: the IR graph plus the handles the public API hands out.
#pragma once

#include <kiln/network.h>

#include "ir/graph.h"

#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace kiln::detail {

struct LayerRecord {
  std::string name;
  std::string type;
  std::vector<int> nodes;  // IR nodes making up the layer (empty for constants)
  std::vector<Tensor*> inputs, outputs;
};

struct NetworkState {
  explicit NetworkState(Logger& l) : logger(l) {}

  Logger& logger;
  ir::Graph graph;
  std::deque<Tensor> tensors;  // stable addresses
  std::deque<Layer> layers;
  std::vector<LayerRecord> records;  // indexed by Layer::node_
  std::vector<Tensor*> tensor_of_value;  // ir value id -> handle (null if none yet)
  Status first_error;

  Tensor* tensor_for(int value);
  // Records the first error (with context) and logs it.
  void fail(const Status& status);
  // Adds one IR node, runs shape inference, records errors. Returns the node id.
  int add_node(const std::string& op, const std::string& layer_name, std::vector<int> inputs,
               int num_outputs, ir::Attrs attrs);
  Layer* add_layer(const std::string& type, std::vector<int> nodes, std::vector<Tensor*> inputs,
                   std::vector<int> output_values);
  std::string next_layer_name(const std::string& type);
  int value_of(const Tensor* t) const { return t->value_; }
  int layer_counter = 0;
};

}  // namespace kiln::detail
