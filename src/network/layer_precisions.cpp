// Network::set_layer_precisions / set_layer_output_types: precision constraints by layer-name
// pattern (the CLI's --layer-precisions and --layer-output-types, in the manner of trtexec).
// Patterns are fnmatch globs over layer names, as in tactic rule files.
#include <kiln/network.h>

#include "network/network_state.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

namespace kiln {

namespace {

struct Entry {
  std::string pattern;
  std::vector<DataType> types;  // one (every floating-point output) or one per output
  std::string text;             // the entry as written, for messages
};

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

bool parse_type(std::string text, DataType* out) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (text == "fp32" || text == "float32" || text == "float") {
    *out = DataType::kFloat32;
  } else if (text == "fp16" || text == "float16" || text == "half") {
    *out = DataType::kFloat16;
  } else if (text == "bf16" || text == "bfloat16") {
    *out = DataType::kBFloat16;
  } else {
    return false;
  }
  return true;
}

Result<std::vector<Entry>> parse_spec(std::string_view spec, bool per_output) {
  std::vector<Entry> entries;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    if (comma == std::string_view::npos) comma = spec.size();
    const std::string item = trim(spec.substr(start, comma - start));
    start = comma + 1;
    if (item.empty()) {
      return invalid_argument("empty entry in '" + std::string(spec) + "' (expected PATTERN:TYPE)");
    }
    const size_t colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == item.size()) {
      return invalid_argument("entry '" + item + "' is not PATTERN:TYPE");
    }
    Entry e;
    e.pattern = trim(std::string_view(item).substr(0, colon));
    e.text = item;
    std::string_view types = std::string_view(item).substr(colon + 1);
    size_t p = 0;
    while (p <= types.size()) {
      size_t plus = types.find('+', p);
      if (plus == std::string_view::npos) plus = types.size();
      const std::string name = trim(types.substr(p, plus - p));
      p = plus + 1;
      DataType t;
      if (!parse_type(name, &t)) {
        return invalid_argument("entry '" + item + "': unknown type '" + name +
                                "' (fp32, fp16 or bf16)");
      }
      e.types.push_back(t);
    }
    if (e.types.size() > 1 && !per_output) {
      return invalid_argument("entry '" + item +
                              "': a layer has one precision ('+' lists are "
                              "for output types)");
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

bool float_tensor(const ir::Graph& g, int value) {
  return is_floating(g.value(value).dtype) && !g.value(value).shape_value;
}

// Layers that a spec can constrain: not constants, with a floating-point input or output.
bool constrainable(const detail::NetworkState& s, const detail::LayerRecord& rec) {
  if (rec.nodes.empty()) return false;
  for (const auto* list : {&rec.inputs, &rec.outputs}) {
    for (const Tensor* t : *list) {
      if (t != nullptr && float_tensor(s.graph, s.value_of(t))) return true;
    }
  }
  return false;
}

Result<int> apply_spec(Network& net, std::string_view spec, bool outputs) {
  const char* option = outputs ? "layer output types" : "layer precisions";
  auto parsed = parse_spec(spec, outputs);
  if (!parsed.is_ok()) return parsed.status().with_context(option);
  detail::NetworkState& s = net.state();
  // Layer index -> the types of the last entry that matches it.
  std::map<int, const Entry*> chosen;
  for (const Entry& e : *parsed) {
    bool matched = false;
    for (int i = 0; i < net.num_layers(); ++i) {
      const detail::LayerRecord& rec = s.records[i];
      if (!constrainable(s, rec) || ::fnmatch(e.pattern.c_str(), rec.name.c_str(), 0) != 0) {
        continue;
      }
      matched = true;
      chosen[i] = &e;
    }
    if (!matched) {
      return not_found("pattern '" + e.pattern + "' (entry '" + e.text +
                       "') matches no layer with floating-point tensors")
          .with_context(option);
    }
  }
  // Check everything before setting anything.
  for (const auto& [i, e] : chosen) {
    const detail::LayerRecord& rec = s.records[i];
    if (!outputs || e->types.size() == 1) continue;
    if (e->types.size() != rec.outputs.size()) {
      return invalid_argument("entry '" + e->text + "' gives " + std::to_string(e->types.size()) +
                              " output types for layer '" + rec.name + "', which has " +
                              std::to_string(rec.outputs.size()) + " outputs")
          .with_context(option);
    }
    for (size_t o = 0; o < rec.outputs.size(); ++o) {
      if (!float_tensor(s.graph, s.value_of(rec.outputs[o]))) {
        return invalid_argument("entry '" + e->text + "': output " + std::to_string(o) +
                                " of layer '" + rec.name + "' is not a floating-point tensor")
            .with_context(option);
      }
    }
  }
  for (const auto& [i, e] : chosen) {
    Layer* layer = net.layer(i);
    if (!outputs) {
      layer->set_precision(e->types[0]);
      continue;
    }
    const detail::LayerRecord& rec = s.records[i];
    for (size_t o = 0; o < rec.outputs.size(); ++o) {
      if (e->types.size() == 1 && !float_tensor(s.graph, s.value_of(rec.outputs[o]))) continue;
      layer->set_output_type(static_cast<int>(o), e->types[e->types.size() == 1 ? 0 : o]);
    }
  }
  return static_cast<int>(chosen.size());
}

}  // namespace

Result<int> Network::set_layer_precisions(std::string_view spec) {
  return apply_spec(*this, spec, /*outputs=*/false);
}

Result<int> Network::set_layer_output_types(std::string_view spec) {
  return apply_spec(*this, spec, /*outputs=*/true);
}

}  // namespace kiln
