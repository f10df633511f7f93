// Plan writer: EngineDesc -> bytes (format v1, docs/plan-format.md). Deterministic: the same
// desc always gives the same bytes (fixed field order, defaults always written, zero padding).
#include "plan/engine_desc.h"
#include "plan/format.h"
#include "plan/plan_generated.h"

#include <xxhash.h>

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace kiln::plan {

namespace {

namespace fbs = kiln::plan::fb;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

// Encodes a list of symbolic expressions (a shape or a shape tensor's content).
Result<Offset<fbs::SymList>> write_sym_list(FlatBufferBuilder& fbb,
                                            const std::vector<ir::SymExpr>& exprs,
                                            const std::string& what) {
  std::vector<int64_t> tokens;
  std::vector<uint32_t> lengths;
  lengths.reserve(exprs.size());
  for (size_t i = 0; i < exprs.size(); ++i) {
    size_t before = tokens.size();
    exprs[i].append_postfix(tokens);
    size_t n = tokens.size() - before;
    if (n > format::kMaxExprTokens) {
      return unsupported(what + ": symbolic expression " + std::to_string(i) + " has " +
                         std::to_string(n / 2) + " terms, more than a plan can hold (" +
                         std::to_string(format::kMaxExprTokens / 2) + ")");
    }
    lengths.push_back(static_cast<uint32_t>(n));
  }
  auto t = fbb.CreateVector(tokens);
  auto l = fbb.CreateVector(lengths);
  return fbs::CreateSymList(fbb, t, l);
}

Offset<fbs::Attr> write_attr(FlatBufferBuilder& fbb, const std::string& name,
                             const ir::AttrValue& value) {
  auto n = fbb.CreateString(name);
  fbs::AttrValue type = fbs::AttrValue::NONE;
  Offset<void> v;
  if (auto* i = std::get_if<int64_t>(&value)) {
    type = fbs::AttrValue::IntAttr;
    v = fbs::CreateIntAttr(fbb, *i).Union();
  } else if (auto* f = std::get_if<double>(&value)) {
    type = fbs::AttrValue::FloatAttr;
    v = fbs::CreateFloatAttr(fbb, *f).Union();
  } else if (auto* s = std::get_if<std::string>(&value)) {
    type = fbs::AttrValue::StringAttr;
    auto str = fbb.CreateString(*s);
    v = fbs::CreateStringAttr(fbb, str).Union();
  } else if (auto* is = std::get_if<std::vector<int64_t>>(&value)) {
    type = fbs::AttrValue::IntsAttr;
    auto vec = fbb.CreateVector(*is);
    v = fbs::CreateIntsAttr(fbb, vec).Union();
  } else if (auto* fs = std::get_if<std::vector<double>>(&value)) {
    type = fbs::AttrValue::FloatsAttr;
    auto vec = fbb.CreateVector(*fs);
    v = fbs::CreateFloatsAttr(fbb, vec).Union();
  }
  return fbs::CreateAttr(fbb, n, type, v);
}

Offset<flatbuffers::Vector<Offset<flatbuffers::String>>> write_strings(
    FlatBufferBuilder& fbb, const std::vector<std::string>& strings) {
  std::vector<Offset<flatbuffers::String>> offs;
  offs.reserve(strings.size());
  for (const auto& s : strings) offs.push_back(fbb.CreateString(s));
  return fbb.CreateVector(offs);
}

struct WeightSlot {
  int value;
  uint64_t offset;  // relative to the weights section
  uint64_t size;
};

constexpr uint32_t kSections = 2;  // metadata, weights

struct Layout {
  std::vector<WeightSlot> slots;
  FlatBufferBuilder fbb{1 << 16};  // the metadata, finished
  size_t header_size = 0, meta_offset = 0, meta_size = 0, weights_offset = 0, file_size = 0;
  uint64_t weights_size = 0;
};

// The file's layout: weight slots, the metadata (a finished FlatBuffer) and the offsets of the
// sections. Checks the desc first.
Status lay_out(const EngineDesc& desc, Layout* l) {
  const ir::Graph& g = desc.graph;
  std::vector<WeightSlot>& slots = l->slots;
  if (static_cast<unsigned>(desc.backend) > static_cast<unsigned>(Backend::kCuda)) {
    return invalid_argument("cannot write a plan: unknown backend " +
                            std::to_string(static_cast<unsigned>(desc.backend)));
  }
  if (static_cast<unsigned>(desc.hardware_compatibility) >
      static_cast<unsigned>(HardwareCompatibility::kAmperePlus)) {
    return invalid_argument("cannot write a plan: unknown hardware compatibility level " +
                            std::to_string(static_cast<unsigned>(desc.hardware_compatibility)));
  }

  // Weights layout: constants in value-id order, each at a multiple of kWeightAlign.
  std::vector<int> weight_index(g.num_values(), -1);
  uint64_t weights_size = 0;
  for (int v = 0; v < g.num_values(); ++v) {
    const ir::Value& val = g.value(v);
    if (val.id != v) {
      return internal_error("cannot write a plan: value '" + val.name + "' has id " +
                            std::to_string(val.id) + " at position " + std::to_string(v));
    }
    if (!val.constant) continue;
    const HostTensor& t = *val.constant;
    if (t.shape().has_dynamic() ||
        t.nbytes() != static_cast<size_t>(t.numel()) * dtype_size(t.dtype()) ||
        (t.nbytes() > 0 && t.data() == nullptr)) {
      return internal_error("cannot write a plan: constant '" + val.name +
                            "' has inconsistent data (shape " + t.shape().to_string() + ", " +
                            std::to_string(t.nbytes()) + " bytes)");
    }
    uint64_t off = format::align_up(weights_size, format::kWeightAlign);
    weight_index[v] = static_cast<int>(slots.size());
    slots.push_back({v, off, t.nbytes()});
    weights_size = off + t.nbytes();
  }
  for (int n = 0; n < g.num_nodes(); ++n) {
    if (g.node(n).id != n) {
      return internal_error("cannot write a plan: " + g.describe_node(n) + " has id " +
                            std::to_string(g.node(n).id) + " at position " + std::to_string(n));
    }
  }

  for (size_t i = 0; i < desc.profiles.size(); ++i) {
    const ProfileDesc& p = desc.profiles[i];
    if (p.tactics.size() != static_cast<size_t>(g.num_nodes()) ||
        p.value_offsets.size() != static_cast<size_t>(g.num_values())) {
      return internal_error("cannot write a plan: profile " + std::to_string(i) + " has " +
                            std::to_string(p.tactics.size()) + " tactics and " +
                            std::to_string(p.value_offsets.size()) + " arena offsets for " +
                            std::to_string(g.num_nodes()) + " layers and " +
                            std::to_string(g.num_values()) + " values");
    }
  }

  FlatBufferBuilder& fbb = l->fbb;
  fbb.ForceDefaults(true);  // every field present: one encoding per desc

  // Graph.
  std::vector<Offset<fbs::Symbol>> symbols;
  for (const ir::Symbol& s : g.symbols()) {
    auto name = fbb.CreateString(s.name);
    symbols.push_back(fbs::CreateSymbol(fbb, name, s.input_value, s.dim));
  }
  auto symbols_vec = fbb.CreateVector(symbols);

  std::vector<Offset<fbs::Value>> values;
  values.reserve(g.num_values());
  for (int v = 0; v < g.num_values(); ++v) {
    const ir::Value& val = g.value(v);
    const std::string what = "value '" + val.name + "'";
    if (val.shape.size() > static_cast<size_t>(Dims::kMaxDims)) {
      return internal_error("cannot write a plan: " + what + " has rank " +
                            std::to_string(val.shape.size()));
    }
    auto name = fbb.CreateString(val.name);
    KILN_ASSIGN_OR_RETURN(auto shape, write_sym_list(fbb, val.shape, what));
    Offset<fbs::SymList> shape_value;
    if (val.shape_value) {
      KILN_ASSIGN_OR_RETURN(shape_value, write_sym_list(fbb, *val.shape_value, what));
    }
    fbs::ValueBuilder vb(fbb);
    vb.add_name(name);
    vb.add_dtype(static_cast<uint8_t>(val.dtype));
    vb.add_shape(shape);
    vb.add_producer(val.producer);
    vb.add_is_input(val.is_input);
    vb.add_is_output(val.is_output);
    vb.add_constant(weight_index[v]);
    if (val.shape_value) vb.add_shape_value(shape_value);
    if (val.output_type) vb.add_output_type(static_cast<int32_t>(*val.output_type));
    values.push_back(vb.Finish());
  }
  auto values_vec = fbb.CreateVector(values);

  std::vector<Offset<fbs::Node>> nodes;
  nodes.reserve(g.num_nodes());
  for (int n = 0; n < g.num_nodes(); ++n) {
    const ir::Node& node = g.node(n);
    auto name = fbb.CreateString(node.name);
    auto op = fbb.CreateString(node.op);
    std::vector<Offset<fbs::Attr>> attrs;
    for (const auto& [k, v] : node.attrs.map()) attrs.push_back(write_attr(fbb, k, v));
    auto attrs_vec = fbb.CreateVector(attrs);
    auto inputs = fbb.CreateVector(node.inputs);
    auto outputs = fbb.CreateVector(node.outputs);
    auto fused = write_strings(fbb, node.fused);
    nodes.push_back(fbs::CreateNode(fbb, name, op, attrs_vec, inputs, outputs, fused, node.removed,
                                    node.precision ? static_cast<int32_t>(*node.precision) : -1));
  }
  auto nodes_vec = fbb.CreateVector(nodes);
  auto graph_inputs = fbb.CreateVector(g.inputs());
  auto graph_outputs = fbb.CreateVector(g.outputs());
  auto graph =
      fbs::CreateGraph(fbb, symbols_vec, values_vec, nodes_vec, graph_inputs, graph_outputs);

  // Weight entries.
  std::vector<Offset<fbs::WeightEntry>> weights;
  for (const WeightSlot& s : slots) {
    const HostTensor& t = *g.value(s.value).constant;
    auto dims = fbb.CreateVector(t.shape().to_vector());
    weights.push_back(fbs::CreateWeightEntry(fbb, s.value, static_cast<uint8_t>(t.dtype()), dims,
                                             s.offset, s.size));
  }
  auto weights_vec = fbb.CreateVector(weights);

  // Profiles.
  std::vector<Offset<fbs::Profile>> profiles;
  for (const ProfileDesc& p : desc.profiles) {
    std::vector<Offset<fbs::InputRange>> ranges;
    for (const InputRange& r : p.ranges) {
      auto mn = fbb.CreateVector(r.min.to_vector());
      auto op = fbb.CreateVector(r.opt.to_vector());
      auto mx = fbb.CreateVector(r.max.to_vector());
      ranges.push_back(fbs::CreateInputRange(fbb, r.value, mn, op, mx));
    }
    auto ranges_vec = fbb.CreateVector(ranges);
    auto tactics = write_strings(fbb, p.tactics);
    auto offsets = fbb.CreateVector(p.value_offsets);
    profiles.push_back(fbs::CreateProfile(fbb, ranges_vec, tactics, offsets, p.arena_size,
                                          p.workspace_offset, p.workspace_size));
  }
  auto profiles_vec = fbb.CreateVector(profiles);

  const DeviceDescriptor& d = desc.device;
  auto dev_name = fbb.CreateString(d.name);
  auto device =
      fbs::CreateDeviceDescriptor(fbb, dev_name, d.compute_major, d.compute_minor,
                                  d.cuda_runtime_version, d.cudnn_version, d.cublas_version);
  auto root = fbs::CreateMetadata(fbb, device, desc.builder_flags, desc.tactic_sources, graph,
                                  weights_vec, profiles_vec);
  fbs::FinishMetadataBuffer(fbb, root);

  // File layout: header + table, metadata, weights (each weight at a multiple of 256).
  l->header_size = format::header_size(kSections);
  l->meta_offset = format::align_up(l->header_size, format::kMetadataAlign);
  l->meta_size = fbb.GetSize();
  l->weights_offset = format::align_up(l->meta_offset + l->meta_size, format::kWeightAlign);
  l->weights_size = weights_size;
  l->file_size = l->weights_offset + weights_size;
  return Status::ok();
}

// The first weights_offset bytes of the file: header, metadata and the zero padding around
// them; `head` holds that many zero bytes. The weights section's checksum is given.
void write_head(const EngineDesc& desc, const Layout& l, uint64_t weights_checksum, uint8_t* head) {
  std::memcpy(head + l.meta_offset, l.fbb.GetBufferPointer(), l.meta_size);
  uint8_t* h = head;
  std::memcpy(h, format::kMagic, sizeof(format::kMagic));
  format::put_u32(h + 8, kPlanFormatVersion);
  format::put_u32(h + 12, static_cast<uint32_t>(l.header_size));
  format::put_u32(h + 16, desc.kiln_version);
  h[20] = static_cast<uint8_t>(desc.backend);
  h[21] = static_cast<uint8_t>(desc.hardware_compatibility);
  uint16_t flags = 0;
  if (desc.version_compatible) flags |= format::kFlagVersionCompatible;
  if (desc.refittable) flags |= format::kFlagRefittable;
  format::put_u16(h + 22, flags);
  format::put_u32(h + 24, kSections);
  format::put_u32(h + 28, 0);

  struct Section {
    uint32_t kind;
    size_t offset, size;
  };
  const Section sections[kSections] = {
      {format::kSectionMetadata, l.meta_offset, l.meta_size},
      {format::kSectionWeights, l.weights_offset, static_cast<size_t>(l.weights_size)}};
  for (uint32_t i = 0; i < kSections; ++i) {
    uint8_t* e = h + format::kFixedHeaderSize + format::kSectionEntrySize * i;
    const Section& s = sections[i];
    format::put_u32(e, s.kind);
    format::put_u32(e + 4, 0);
    format::put_u64(e + 8, s.offset);
    format::put_u64(e + 16, s.size);
    format::put_u64(e + 24, s.kind == format::kSectionWeights
                                ? weights_checksum
                                : XXH64(head + s.offset, s.size, format::kChecksumSeed));
  }
  const size_t checked = l.header_size - format::kHeaderChecksumSize;
  format::put_u64(h + checked, XXH64(h, checked, format::kChecksumSeed));
}

using HashState = std::unique_ptr<XXH64_state_t, decltype(&XXH64_freeState)>;

Result<HashState> new_hash() {
  HashState hash(XXH64_createState(), &XXH64_freeState);
  if (!hash || XXH64_reset(hash.get(), format::kChecksumSeed) == XXH_ERROR) {
    return resource_exhausted("cannot write a plan: no memory for the checksum state");
  }
  return hash;
}

// Zero bytes for the padding before a weight (less than kWeightAlign).
const uint8_t* zeros() {
  static const uint8_t z[format::kWeightAlign] = {};
  return z;
}

}  // namespace

Result<std::vector<uint8_t>> write_plan(const EngineDesc& desc) {
  Layout l;
  KILN_RETURN_IF_ERROR(lay_out(desc, &l));
  const ir::Graph& g = desc.graph;
  // The weights are most of the file (BERT-base: 440 MB in float32): each byte is written once
  // (no zero fill first) and hashed in chunks right after it is copied, while still in cache.
  std::vector<uint8_t> out;
  out.reserve(l.file_size);
  out.resize(l.weights_offset, 0);
  KILN_ASSIGN_OR_RETURN(HashState hash, new_hash());
  constexpr size_t kHashChunk = size_t{1} << 16;
  auto append = [&](const uint8_t* src, size_t n) {  // src == nullptr: zeros
    while (n > 0) {
      const size_t chunk = std::min(n, kHashChunk);
      const size_t at = out.size();
      if (src != nullptr) {
        out.insert(out.end(), src, src + chunk);
        src += chunk;
      } else {
        out.resize(at + chunk, 0);
      }
      (void)XXH64_update(hash.get(), out.data() + at, chunk);
      n -= chunk;
    }
  };
  for (const WeightSlot& s : l.slots) {
    append(nullptr, l.weights_offset + s.offset - out.size());
    append(static_cast<const uint8_t*>(g.value(s.value).constant->data()), s.size);
  }
  if (out.size() != l.file_size) {
    return internal_error("cannot write a plan: wrote " + std::to_string(out.size()) +
                          " bytes, the layout has " + std::to_string(l.file_size));
  }
  write_head(desc, l, XXH64_digest(hash.get()), out.data());
  return out;
}

Result<uint64_t> write_plan_to(const EngineDesc& desc, StreamWriter& out) {
  Layout l;
  KILN_RETURN_IF_ERROR(lay_out(desc, &l));
  const ir::Graph& g = desc.graph;
  // The header holds the weights' checksum and comes first: one pass over the weights to hash
  // them (reading only), then the weights go from the tensors to `out` (no copy of the plan).
  KILN_ASSIGN_OR_RETURN(HashState hash, new_hash());
  uint64_t at = 0;
  for (const WeightSlot& s : l.slots) {
    (void)XXH64_update(hash.get(), zeros(), s.offset - at);
    (void)XXH64_update(hash.get(), g.value(s.value).constant->data(), s.size);
    at = s.offset + s.size;
  }
  std::vector<uint8_t> head(l.weights_offset, 0);
  write_head(desc, l, XXH64_digest(hash.get()), head.data());
  auto put = [&](const void* data, uint64_t size) {  // no empty writes
    return size == 0 ? Status::ok() : out.write(data, static_cast<size_t>(size));
  };
  KILN_RETURN_IF_ERROR(put(head.data(), head.size()));
  at = 0;
  for (const WeightSlot& s : l.slots) {
    KILN_RETURN_IF_ERROR(put(zeros(), s.offset - at));
    KILN_RETURN_IF_ERROR(put(g.value(s.value).constant->data(), s.size));
    at = s.offset + s.size;
  }
  return static_cast<uint64_t>(l.file_size);
}

}  // namespace kiln::plan
