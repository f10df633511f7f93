// Plan reader: bytes -> EngineDesc (format v1, docs/plan-format.md).
//
// Nothing in the file is trusted. In order: magic, format version, header size, header checksum,
// header enums and flags, the kiln-version rule, the section table (bounds, overlap, alignment,
// zero padding), each section's checksum, FlatBuffers verification of the metadata, and then
// every id, count, enum, symbolic expression, weight entry and profile field. Every failure is
// a kCorruptData or kVersionMismatch Status naming what is wrong. Allocations are bounded by
// the file size: counts come from verified FlatBuffers vectors that lie inside the file, and
// weight sizes are checked against the weights section before anything is allocated.
#include "plan/decode_budget.h"
#include "plan/engine_desc.h"
#include "plan/format.h"
#include "plan/plan_generated.h"

#include <kiln/version.h>

#include <xxhash.h>

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace kiln::plan {

namespace {

namespace fbs = kiln::plan::fb;
using ir::SymExpr;

constexpr size_t kMaxNameInMessage = 64;

std::string quote(std::string_view s) {
  if (s.size() > kMaxNameInMessage)
    return "'" + std::string(s.substr(0, kMaxNameInMessage)) + "...'";
  return "'" + std::string(s) + "'";
}

std::string version_text(uint32_t v) {
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
         std::to_string(v % 100) + " (" + std::to_string(v) + ")";
}

const char* section_name(uint32_t kind) {
  switch (kind) {
    case format::kSectionMetadata:
      return "metadata";
    case format::kSectionWeights:
      return "weights";
    default:
      return "unknown";
  }
}

std::string str(const flatbuffers::String* s) {
  return s == nullptr ? std::string() : s->str();
}

template <typename T>
size_t count(const flatbuffers::Vector<T>* v) {
  return v == nullptr ? 0 : v->size();
}

// dims -> byte size; false on a negative extent, more than `limit` bytes, or extents whose
// product (zeros left out) overflows int64 — Dims::volume() must stay defined even for a
// zero-size tensor.
bool checked_nbytes(std::span<const int64_t> dims, DataType dtype, uint64_t limit, uint64_t* out) {
  uint64_t nonzero = 1;
  bool zero = false;
  for (int64_t d : dims) {
    if (d < 0) return false;
    if (d == 0) {
      zero = true;
      continue;
    }
    if (__builtin_mul_overflow(nonzero, static_cast<uint64_t>(d), &nonzero)) return false;
  }
  uint64_t n = 0;
  if (nonzero > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / 16 ||
      __builtin_mul_overflow(nonzero, static_cast<uint64_t>(dtype_size(dtype)), &n)) {
    return false;
  }
  if (zero) n = 0;
  if (n > limit) return false;
  *out = n;
  return true;
}

using Budget = DecodeBudget;

struct Section {
  uint32_t kind = 0;
  uint64_t offset = 0, size = 0, checksum = 0;
};

struct Header {
  uint32_t kiln_version = 0;
  Backend backend = Backend::kCpu;
  HardwareCompatibility hw = HardwareCompatibility::kNone;
  bool version_compatible = false;
  bool refittable = false;
  Section metadata, weights;
};

Result<Header> read_header(std::span<const uint8_t> bytes) {
  const uint8_t* p = bytes.data();
  const size_t n = bytes.size();
  if (n == 0) return corrupt_data("not a kiln plan (the data is empty)");
  if (std::memcmp(p, format::kMagic, std::min(n, sizeof(format::kMagic))) != 0) {
    return corrupt_data("not a kiln plan (bad magic)");
  }
  if (n < format::kFixedHeaderSize) {
    return corrupt_data("plan is truncated: " + std::to_string(n) + " bytes, the header alone is " +
                        std::to_string(format::kFixedHeaderSize));
  }
  const uint32_t version = format::get_u32(p + 8);
  if (version > kPlanFormatVersion) {
    return version_mismatch("plan format v" + std::to_string(version) +
                            " is newer than this kiln (reads up to v" +
                            std::to_string(kPlanFormatVersion) + "); use a newer kiln");
  }
  if (version < kOldestReadablePlanFormat) {
    return version_mismatch("plan format v" + std::to_string(version) +
                            " is older than the oldest this kiln reads (v" +
                            std::to_string(kOldestReadablePlanFormat) + "); rebuild the plan");
  }
  const uint32_t header_size = format::get_u32(p + 12);
  const uint32_t num_sections = format::get_u32(p + 24);
  if (num_sections == 0 || num_sections > format::kMaxSections) {
    return corrupt_data("plan header lists " + std::to_string(num_sections) +
                        " sections (expected 1 to " + std::to_string(format::kMaxSections) + ")");
  }
  if (header_size != format::header_size(num_sections)) {
    return corrupt_data("plan header size is " + std::to_string(header_size) + ", expected " +
                        std::to_string(format::header_size(num_sections)) + " for " +
                        std::to_string(num_sections) + " sections");
  }
  if (n < header_size) {
    return corrupt_data("plan is truncated: " + std::to_string(n) +
                        " bytes, the header and section table are " + std::to_string(header_size));
  }
  const size_t checked = header_size - format::kHeaderChecksumSize;
  const uint64_t stored = format::get_u64(p + checked);
  const uint64_t computed = XXH64(p, checked, format::kChecksumSeed);
  if (stored != computed) {
    return corrupt_data("plan header is corrupt (checksum mismatch)");
  }
  if (format::get_u32(p + 28) != 0) return corrupt_data("plan header has a nonzero reserved field");

  Header h;
  h.kiln_version = format::get_u32(p + 16);
  if (p[20] > static_cast<uint8_t>(Backend::kCuda)) {
    return corrupt_data("plan header names unknown backend " + std::to_string(p[20]));
  }
  h.backend = static_cast<Backend>(p[20]);
  if (p[21] > static_cast<uint8_t>(HardwareCompatibility::kAmperePlus)) {
    return corrupt_data("plan header names unknown hardware-compatibility level " +
                        std::to_string(p[21]));
  }
  h.hw = static_cast<HardwareCompatibility>(p[21]);
  const uint16_t flags = format::get_u16(p + 22);
  if ((flags & ~format::kKnownFlags) != 0) {
    return corrupt_data("plan header has unknown flag bits (flags = " + std::to_string(flags) +
                        ")");
  }
  h.version_compatible = (flags & format::kFlagVersionCompatible) != 0;
  h.refittable = (flags & format::kFlagRefittable) != 0;

  // Version rule: exact kiln version, unless the plan was built version-compatible.
  if (h.kiln_version != kVersion && !h.version_compatible) {
    return version_mismatch("plan was built by kiln " + version_text(h.kiln_version) +
                            " and this is kiln " + version_text(kVersion) +
                            "; a plan loads only in the kiln version that built it unless it was "
                            "built with the version-compatible flag");
  }

  // Section table.
  std::vector<Section> sections;
  bool seen_meta = false, seen_weights = false;
  for (uint32_t i = 0; i < num_sections; ++i) {
    const uint8_t* e = p + format::kFixedHeaderSize + format::kSectionEntrySize * i;
    Section s;
    s.kind = format::get_u32(e);
    s.offset = format::get_u64(e + 8);
    s.size = format::get_u64(e + 16);
    s.checksum = format::get_u64(e + 24);
    const std::string what = "plan section " + std::to_string(i);
    if (format::get_u32(e + 4) != 0) return corrupt_data(what + " has a nonzero reserved field");
    if (s.kind != format::kSectionMetadata && s.kind != format::kSectionWeights) {
      return corrupt_data(what + " has unknown kind " + std::to_string(s.kind));
    }
    bool& seen = s.kind == format::kSectionMetadata ? seen_meta : seen_weights;
    if (seen)
      return corrupt_data("plan has two '" + std::string(section_name(s.kind)) + "' sections");
    seen = true;
    const std::string name = "plan section '" + std::string(section_name(s.kind)) + "'";
    if (s.offset < header_size) {
      return corrupt_data(name + " starts at offset " + std::to_string(s.offset) +
                          ", inside the header");
    }
    if (s.offset > n || s.size > n - s.offset) {
      return corrupt_data(name + " (offset " + std::to_string(s.offset) + ", " +
                          std::to_string(s.size) + " bytes) lies outside the " + std::to_string(n) +
                          "-byte plan (truncated?)");
    }
    const uint64_t align =
        s.kind == format::kSectionMetadata ? format::kMetadataAlign : format::kWeightAlign;
    if (s.offset % align != 0) {
      return corrupt_data(name + " offset " + std::to_string(s.offset) + " is not a multiple of " +
                          std::to_string(align));
    }
    sections.push_back(s);
    (s.kind == format::kSectionMetadata ? h.metadata : h.weights) = s;
  }
  if (!seen_meta) return corrupt_data("plan has no 'metadata' section");
  if (!seen_weights) return corrupt_data("plan has no 'weights' section");

  // No overlap; every byte outside the header and the sections is zero padding; nothing after
  // the last section. (So that any changed byte of a plan is detected.)
  std::sort(sections.begin(), sections.end(),
            [](const Section& a, const Section& b) { return a.offset < b.offset; });
  uint64_t pos = header_size;
  for (const Section& s : sections) {
    if (s.offset < pos) {
      return corrupt_data("plan section '" + std::string(section_name(s.kind)) +
                          "' overlaps the previous section");
    }
    for (uint64_t i = pos; i < s.offset; ++i) {
      if (p[i] != 0) {
        return corrupt_data("plan has a nonzero padding byte at offset " + std::to_string(i));
      }
    }
    pos = s.offset + s.size;
  }
  if (pos != n) {
    return corrupt_data("plan has " + std::to_string(n - pos) +
                        " unexpected bytes after its last section");
  }
  for (const Section& s : sections) {
    if (XXH64(p + s.offset, s.size, format::kChecksumSeed) != s.checksum) {
      return corrupt_data("plan section '" + std::string(section_name(s.kind)) +
                          "' is corrupt (checksum mismatch)");
    }
  }
  return h;
}

// Decodes a SymList into at most `max_count` expressions over `num_symbols` symbols.
Status read_sym_list(const fbs::SymList* list, int num_symbols, size_t max_count, Budget& budget,
                     std::vector<SymExpr>* out) {
  const auto* tokens = list->tokens();
  const auto* lengths = list->lengths();
  KILN_CHARGE(budget.table() && budget.vec(tokens) && budget.vec(lengths));
  const size_t num_tokens = count(tokens);
  const size_t n = count(lengths);
  if (n > max_count) {
    return corrupt_data("has " + std::to_string(n) + " dims (at most " + std::to_string(max_count) +
                        ")");
  }
  out->clear();
  out->reserve(n);
  size_t pos = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t len = lengths->Get(static_cast<flatbuffers::uoffset_t>(i));
    if (len > format::kMaxExprTokens) {
      return corrupt_data("expression " + std::to_string(i) + " has " + std::to_string(len) +
                          " tokens (at most " + std::to_string(format::kMaxExprTokens) + ")");
    }
    if (len > num_tokens - pos) {
      return corrupt_data("expression " + std::to_string(i) + " runs past the end of its tokens");
    }
    auto e =
        SymExpr::from_postfix(std::span<const int64_t>(tokens->data() + pos, len), num_symbols);
    if (!e.is_ok()) return e.status().with_context("expression " + std::to_string(i));
    out->push_back(std::move(e).value());
    pos += len;
  }
  if (pos != num_tokens) {
    return corrupt_data("has " + std::to_string(num_tokens - pos) + " unused expression tokens");
  }
  return Status::ok();
}

Status read_dims(const flatbuffers::Vector<int64_t>* v, Budget& budget, Dims* out) {
  KILN_CHARGE(budget.vec(v));
  const size_t n = count(v);
  if (n > static_cast<size_t>(Dims::kMaxDims)) {
    return corrupt_data("has rank " + std::to_string(n) + " (at most " +
                        std::to_string(Dims::kMaxDims) + ")");
  }
  *out = n == 0 ? Dims() : Dims(std::span<const int64_t>(v->data(), n));
  return Status::ok();
}

Status read_strings(const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* v,
                    Budget& budget, std::vector<std::string>* out) {
  KILN_CHARGE(budget.vec(v));
  out->clear();
  out->reserve(count(v));
  for (size_t i = 0; i < count(v); ++i) {
    const flatbuffers::String* s = v->Get(static_cast<flatbuffers::uoffset_t>(i));
    KILN_CHARGE(budget.string(s));
    out->push_back(str(s));
  }
  return Status::ok();
}

Status read_attrs(const flatbuffers::Vector<flatbuffers::Offset<fbs::Attr>>* attrs, Budget& budget,
                  ir::Attrs* out) {
  KILN_CHARGE(budget.vec(attrs));
  for (size_t i = 0; i < count(attrs); ++i) {
    const fbs::Attr* a = attrs->Get(static_cast<flatbuffers::uoffset_t>(i));
    KILN_CHARGE(budget.table() && budget.string(a->name()));
    const std::string name = str(a->name());
    const std::string what = "attribute " + quote(name);
    if (out->has(name)) return corrupt_data(what + " appears twice");
    const auto type = a->value_type();
    if (a->value() == nullptr || type == fbs::AttrValue::NONE ||
        static_cast<unsigned>(type) > static_cast<unsigned>(fbs::AttrValue::MAX)) {
      return corrupt_data(what + " has an unknown or missing value (type " +
                          std::to_string(static_cast<unsigned>(type)) + ")");
    }
    KILN_CHARGE(budget.table());
    switch (type) {
      case fbs::AttrValue::IntAttr:
        out->set(name, a->value_as_IntAttr()->v());
        break;
      case fbs::AttrValue::FloatAttr:
        out->set(name, a->value_as_FloatAttr()->v());
        break;
      case fbs::AttrValue::StringAttr: {
        const flatbuffers::String* v = a->value_as_StringAttr()->v();
        KILN_CHARGE(budget.string(v));
        out->set(name, str(v));
        break;
      }
      case fbs::AttrValue::IntsAttr: {
        const auto* v = a->value_as_IntsAttr()->v();
        KILN_CHARGE(budget.vec(v));
        out->set(name, v == nullptr ? std::vector<int64_t>()
                                    : std::vector<int64_t>(v->begin(), v->end()));
        break;
      }
      case fbs::AttrValue::FloatsAttr: {
        const auto* v = a->value_as_FloatsAttr()->v();
        KILN_CHARGE(budget.vec(v));
        out->set(name,
                 v == nullptr ? std::vector<double>() : std::vector<double>(v->begin(), v->end()));
        break;
      }
      default:
        break;
    }
  }
  return Status::ok();
}

std::string describe_value(int id, const std::string& name) {
  return "value " + std::to_string(id) + " (" + quote(name) + ")";
}

// A per-layer precision constraint: -1 (none) or float32 / float16 / bfloat16.
Status read_constraint(int32_t stored, std::optional<DataType>* out) {
  if (stored == -1) return Status::ok();
  const auto t = static_cast<DataType>(stored);
  if (stored < 0 || stored >= kNumDataTypes ||
      (t != DataType::kFloat32 && t != DataType::kFloat16 && t != DataType::kBFloat16)) {
    return corrupt_data("unknown precision constraint " + std::to_string(stored));
  }
  *out = t;
  return Status::ok();
}

std::string describe_node(const ir::Node& n) {
  return "layer " + std::to_string(n.id) + " (" + quote(n.name) + ", " + quote(n.op) + ")";
}

Result<ir::Graph> read_graph(const fbs::Metadata* meta, std::span<const uint8_t> weights_section,
                             Budget& budget) {
  const fbs::Graph* fg = meta->graph();
  if (fg == nullptr) return corrupt_data("metadata has no graph");
  KILN_CHARGE(budget.table() && budget.vec(fg->symbols()) && budget.vec(fg->values()) &&
              budget.vec(fg->nodes()) && budget.vec(fg->inputs()) && budget.vec(fg->outputs()) &&
              budget.vec(meta->weights()));
  const size_t nv = count(fg->values());
  const size_t nn = count(fg->nodes());
  const size_t ns = count(fg->symbols());
  const size_t nw = count(meta->weights());
  // Ids are ints; vectors inside a verified (< 2 GiB) buffer have fewer than 2^29 elements.
  const int num_values = static_cast<int>(nv);
  const int num_nodes = static_cast<int>(nn);
  const int num_symbols = static_cast<int>(ns);

  std::vector<ir::Symbol> symbols(ns);
  for (size_t i = 0; i < ns; ++i) {
    const fbs::Symbol* s = fg->symbols()->Get(static_cast<flatbuffers::uoffset_t>(i));
    KILN_CHARGE(budget.table() && budget.string(s->name()));
    ir::Symbol& sym = symbols[i];
    sym.name = str(s->name());
    sym.input_value = s->input_value();
    sym.dim = s->dim();
    const std::string what = "symbol " + std::to_string(i) + " (" + quote(sym.name) + ")";
    if (sym.input_value < -1 || sym.input_value >= num_values) {
      return corrupt_data(what + " refers to value " + std::to_string(sym.input_value) + " of " +
                          std::to_string(nv));
    }
    if (sym.dim < -1 || sym.dim >= Dims::kMaxDims) {
      return corrupt_data(what + " refers to dim " + std::to_string(sym.dim));
    }
  }

  std::vector<ir::Value> values(nv);
  std::vector<int> value_weight(nv, -1);
  for (size_t i = 0; i < nv; ++i) {
    const fbs::Value* fv = fg->values()->Get(static_cast<flatbuffers::uoffset_t>(i));
    KILN_CHARGE(budget.table() && budget.string(fv->name()));
    ir::Value& v = values[i];
    v.id = static_cast<int>(i);
    v.name = str(fv->name());
    const std::string what = describe_value(v.id, v.name);
    if (fv->dtype() >= kNumDataTypes) {
      return corrupt_data(what + " has unknown dtype " + std::to_string(fv->dtype()));
    }
    v.dtype = static_cast<DataType>(fv->dtype());
    if (fv->shape() == nullptr) return corrupt_data(what + " has no shape");
    KILN_RETURN_IF_ERROR(read_sym_list(fv->shape(), num_symbols, Dims::kMaxDims, budget, &v.shape)
                             .with_context(what + " shape"));
    if (fv->shape_value() != nullptr) {
      std::vector<SymExpr> sv;
      KILN_RETURN_IF_ERROR(read_sym_list(fv->shape_value(), num_symbols,
                                         std::numeric_limits<size_t>::max(), budget, &sv)
                               .with_context(what + " shape value"));
      v.shape_value = std::move(sv);
    }
    v.producer = fv->producer();
    if (v.producer < -1 || v.producer >= num_nodes) {
      return corrupt_data(what + " has producer " + std::to_string(v.producer) + " of " +
                          std::to_string(nn) + " layers");
    }
    v.is_input = fv->is_input();
    v.is_output = fv->is_output();
    KILN_RETURN_IF_ERROR(
        read_constraint(fv->output_type(), &v.output_type).with_context(what + " output type"));
    const int c = fv->constant();
    if (c < -1 || c >= static_cast<int>(nw)) {
      return corrupt_data(what + " refers to weight entry " + std::to_string(c) + " of " +
                          std::to_string(nw));
    }
    value_weight[i] = c;
  }

  std::vector<ir::Node> nodes(nn);
  for (size_t i = 0; i < nn; ++i) {
    const fbs::Node* fnode = fg->nodes()->Get(static_cast<flatbuffers::uoffset_t>(i));
    KILN_CHARGE(budget.table() && budget.string(fnode->name()) && budget.string(fnode->op()) &&
                budget.vec(fnode->inputs()) && budget.vec(fnode->outputs()));
    ir::Node& node = nodes[i];
    node.id = static_cast<int>(i);
    node.name = str(fnode->name());
    node.op = str(fnode->op());
    const std::string what = describe_node(node);
    KILN_RETURN_IF_ERROR(read_attrs(fnode->attrs(), budget, &node.attrs).with_context(what));
    for (size_t k = 0; k < count(fnode->inputs()); ++k) {
      const int in = fnode->inputs()->Get(static_cast<flatbuffers::uoffset_t>(k));
      if (in < -1 || in >= num_values) {
        return corrupt_data(what + " input " + std::to_string(k) + " refers to value " +
                            std::to_string(in) + " of " + std::to_string(nv));
      }
      node.inputs.push_back(in);
    }
    for (size_t k = 0; k < count(fnode->outputs()); ++k) {
      const int out = fnode->outputs()->Get(static_cast<flatbuffers::uoffset_t>(k));
      if (out < 0 || out >= num_values) {
        return corrupt_data(what + " output " + std::to_string(k) + " refers to value " +
                            std::to_string(out) + " of " + std::to_string(nv));
      }
      node.outputs.push_back(out);
    }
    KILN_RETURN_IF_ERROR(read_strings(fnode->fused(), budget, &node.fused).with_context(what));
    node.removed = fnode->removed();
    KILN_RETURN_IF_ERROR(
        read_constraint(fnode->precision(), &node.precision).with_context(what + " precision"));
  }

  // Producers: at most one live node outputs a value, and value.producer agrees with the nodes
  // (a removed node may still list the outputs it had).
  std::vector<int> live_producer(nv, -1);
  std::set<std::pair<int, int>> outputs_of;  // (node, value)
  for (const ir::Node& node : nodes) {
    for (int out : node.outputs) outputs_of.emplace(node.id, out);
    if (node.removed) continue;
    for (int out : node.outputs) {
      if (live_producer[out] >= 0) {
        return corrupt_data(describe_value(out, values[out].name) +
                            " has two producers: " + describe_node(nodes[live_producer[out]]) +
                            " and " + describe_node(node));
      }
      live_producer[out] = node.id;
      if (values[out].producer != node.id) {
        return corrupt_data(describe_value(out, values[out].name) + " is an output of " +
                            describe_node(node) + " but records producer " +
                            std::to_string(values[out].producer));
      }
    }
  }
  for (const ir::Value& v : values) {
    if (v.producer >= 0 && outputs_of.count({v.producer, v.id}) == 0) {
      return corrupt_data(describe_value(v.id, v.name) + " records producer " +
                          describe_node(nodes[v.producer]) + ", which does not output it");
    }
    if (v.producer >= 0 && value_weight[v.id] >= 0) {
      return corrupt_data(describe_value(v.id, v.name) + " is a constant with a producer");
    }
  }

  // Graph inputs and outputs.
  std::vector<int> inputs, outputs;
  std::vector<bool> listed(nv, false);
  for (size_t k = 0; k < count(fg->inputs()); ++k) {
    const int id = fg->inputs()->Get(static_cast<flatbuffers::uoffset_t>(k));
    if (id < 0 || id >= num_values) {
      return corrupt_data("graph input " + std::to_string(k) + " refers to value " +
                          std::to_string(id) + " of " + std::to_string(nv));
    }
    const std::string what = "graph input " + describe_value(id, values[id].name);
    if (listed[id]) return corrupt_data(what + " is listed twice");
    listed[id] = true;
    if (!values[id].is_input) return corrupt_data(what + " is not marked as an input");
    if (values[id].producer >= 0 || value_weight[id] >= 0) {
      return corrupt_data(what + " has a producer or constant data");
    }
    inputs.push_back(id);
  }
  for (const ir::Value& v : values) {
    if (v.is_input && !listed[v.id]) {
      return corrupt_data(describe_value(v.id, v.name) +
                          " is marked as an input but is not a graph input");
    }
  }
  std::fill(listed.begin(), listed.end(), false);
  for (size_t k = 0; k < count(fg->outputs()); ++k) {
    const int id = fg->outputs()->Get(static_cast<flatbuffers::uoffset_t>(k));
    if (id < 0 || id >= num_values) {
      return corrupt_data("graph output " + std::to_string(k) + " refers to value " +
                          std::to_string(id) + " of " + std::to_string(nv));
    }
    if (listed[id]) {
      return corrupt_data("graph output " + describe_value(id, values[id].name) +
                          " is listed twice");
    }
    listed[id] = true;
    outputs.push_back(id);
  }

  // Weight entries: one-to-one with the constants, sized by dtype and dims, inside the weights
  // section and not overlapping. All checked before any weight memory is allocated.
  struct Entry {
    int value;
    DataType dtype;
    Dims dims;
    uint64_t offset, size;
  };
  std::vector<Entry> entries;
  entries.reserve(nw);
  for (size_t w = 0; w < nw; ++w) {
    const fbs::WeightEntry* e = meta->weights()->Get(static_cast<flatbuffers::uoffset_t>(w));
    KILN_CHARGE(budget.table());
    const std::string what = "weight entry " + std::to_string(w);
    const int vid = e->value();
    if (vid < 0 || vid >= num_values || value_weight[vid] != static_cast<int>(w)) {
      return corrupt_data(what + " belongs to value " + std::to_string(vid) +
                          ", which does not refer back to it");
    }
    const ir::Value& v = values[vid];
    const std::string vwhat = what + " of constant " + describe_value(vid, v.name);
    if (e->dtype() >= kNumDataTypes) {
      return corrupt_data(vwhat + " has unknown dtype " + std::to_string(e->dtype()));
    }
    const auto dtype = static_cast<DataType>(e->dtype());
    if (dtype != v.dtype) {
      return corrupt_data(vwhat + " has dtype " + std::string(dtype_name(dtype)) +
                          " but the value is " + std::string(dtype_name(v.dtype)));
    }
    Dims dims;
    KILN_RETURN_IF_ERROR(read_dims(e->dims(), budget, &dims).with_context(vwhat + " dims"));
    bool same_shape = static_cast<int>(v.shape.size()) == dims.rank();
    for (int d = 0; same_shape && d < dims.rank(); ++d) {
      same_shape = v.shape[d].is_const() && v.shape[d].value() == dims[d];
    }
    if (!same_shape) {
      return corrupt_data(vwhat + " has dims " + dims.to_string() + " but the value's shape is " +
                          ir::shape_to_string(v.shape));
    }
    uint64_t nbytes = 0;
    if (!checked_nbytes(dims.span(), dtype, weights_section.size(), &nbytes)) {
      return corrupt_data(vwhat + " with dims " + dims.to_string() +
                          " does not fit in the weights section (" +
                          std::to_string(weights_section.size()) + " bytes)");
    }
    if (e->size() != nbytes) {
      return corrupt_data(vwhat + " has size " + std::to_string(e->size()) + ", expected " +
                          std::to_string(nbytes) + " for " + std::string(dtype_name(dtype)) + " " +
                          dims.to_string());
    }
    if (e->offset() % format::kWeightAlign != 0) {
      return corrupt_data(vwhat + " offset " + std::to_string(e->offset()) +
                          " is not a multiple of " + std::to_string(format::kWeightAlign));
    }
    if (e->offset() > weights_section.size() || nbytes > weights_section.size() - e->offset()) {
      return corrupt_data(vwhat + " (offset " + std::to_string(e->offset()) + ", " +
                          std::to_string(nbytes) + " bytes) lies outside the " +
                          std::to_string(weights_section.size()) + "-byte weights section");
    }
    entries.push_back({vid, dtype, dims, e->offset(), nbytes});
  }
  for (size_t i = 0; i < nv; ++i) {
    const int w = value_weight[i];
    if (w >= 0 && entries[w].value != static_cast<int>(i)) {
      return corrupt_data(describe_value(static_cast<int>(i), values[i].name) +
                          " refers to weight entry " + std::to_string(w) +
                          ", which belongs to another value");
    }
  }
  std::vector<std::pair<uint64_t, uint64_t>> extents;  // (offset, size) of non-empty entries
  for (const Entry& e : entries) {
    if (e.size > 0) extents.emplace_back(e.offset, e.size);
  }
  std::sort(extents.begin(), extents.end());
  for (size_t i = 1; i < extents.size(); ++i) {
    if (extents[i].first < extents[i - 1].first + extents[i - 1].second) {
      return corrupt_data("weight entries overlap at offset " + std::to_string(extents[i].first) +
                          " of the weights section");
    }
  }
  for (const Entry& e : entries) {
    values[e.value].constant =
        HostTensor::from_bytes(e.dtype, e.dims, weights_section.data() + e.offset);
  }

  return ir::Graph::restore(std::move(values), std::move(nodes), std::move(inputs),
                            std::move(outputs), std::move(symbols));
}

Result<ProfileDesc> read_profile(const fbs::Profile* fp, const ir::Graph& g, Budget& budget) {
  KILN_CHARGE(budget.table() && budget.vec(fp->ranges()) && budget.vec(fp->value_offsets()));
  ProfileDesc p;
  const size_t nv = static_cast<size_t>(g.num_values());
  const size_t nn = static_cast<size_t>(g.num_nodes());
  p.arena_size = fp->arena_size();
  p.workspace_offset = fp->workspace_offset();
  p.workspace_size = fp->workspace_size();
  // Counts first: the per-value work below is then paid for by the offsets vector.
  if (count(fp->tactics()) != nn) {
    return corrupt_data("has " + std::to_string(count(fp->tactics())) + " tactics for " +
                        std::to_string(nn) + " layers");
  }
  if (count(fp->value_offsets()) != nv) {
    return corrupt_data("has " + std::to_string(count(fp->value_offsets())) +
                        " arena offsets for " + std::to_string(nv) + " values");
  }

  std::vector<bool> is_graph_input(nv, false);
  std::vector<int> range_of(nv, -1);
  for (int id : g.inputs()) is_graph_input[id] = true;
  for (size_t k = 0; k < count(fp->ranges()); ++k) {
    const fbs::InputRange* fr = fp->ranges()->Get(static_cast<flatbuffers::uoffset_t>(k));
    KILN_CHARGE(budget.table());
    InputRange r;
    r.value = fr->value();
    const std::string what = "range " + std::to_string(k);
    if (r.value < 0 || static_cast<size_t>(r.value) >= nv || !is_graph_input[r.value]) {
      return corrupt_data(what + " refers to value " + std::to_string(r.value) +
                          ", which is not a graph input");
    }
    const ir::Value& v = g.value(r.value);
    const std::string vwhat = what + " of input " + quote(v.name);
    if (range_of[r.value] >= 0) return corrupt_data(vwhat + " is given twice");
    range_of[r.value] = static_cast<int>(k);
    KILN_RETURN_IF_ERROR(read_dims(fr->min(), budget, &r.min).with_context(vwhat + " min"));
    KILN_RETURN_IF_ERROR(read_dims(fr->opt(), budget, &r.opt).with_context(vwhat + " opt"));
    KILN_RETURN_IF_ERROR(read_dims(fr->max(), budget, &r.max).with_context(vwhat + " max"));
    const int rank = static_cast<int>(v.shape.size());
    if (r.min.rank() != rank || r.opt.rank() != rank || r.max.rank() != rank) {
      return corrupt_data(vwhat + " has ranks " + std::to_string(r.min.rank()) + "/" +
                          std::to_string(r.opt.rank()) + "/" + std::to_string(r.max.rank()) +
                          " but the input has rank " + std::to_string(rank));
    }
    for (int d = 0; d < rank; ++d) {
      if (r.min[d] < 0 || r.min[d] > r.opt[d] || r.opt[d] > r.max[d]) {
        return corrupt_data(vwhat + " is not 0 <= min <= opt <= max: " + r.min.to_string() + " " +
                            r.opt.to_string() + " " + r.max.to_string());
      }
    }
    uint64_t max_bytes = 0;
    if (!checked_nbytes(r.max.span(), v.dtype, std::numeric_limits<int64_t>::max(), &max_bytes)) {
      return corrupt_data(vwhat + " max " + r.max.to_string() + " is too large");
    }
    p.ranges.push_back(r);
  }
  for (int id : g.inputs()) {
    if (range_of[id] < 0 && !ir::is_static(g.value(id).shape)) {
      return corrupt_data("dynamic input " + quote(g.value(id).name) + " has no range");
    }
  }

  KILN_RETURN_IF_ERROR(read_strings(fp->tactics(), budget, &p.tactics));
  if (p.workspace_offset > p.arena_size || p.workspace_size > p.arena_size - p.workspace_offset) {
    return corrupt_data("workspace (offset " + std::to_string(p.workspace_offset) + ", " +
                        std::to_string(p.workspace_size) + " bytes) lies outside the " +
                        std::to_string(p.arena_size) + "-byte arena");
  }

  // Symbol values at the profile's max shapes, to check that arena values fit.
  std::vector<int64_t> max_symbols(g.symbols().size(), 0);
  bool all_bound = true;
  for (size_t s = 0; s < g.symbols().size(); ++s) {
    const ir::Symbol& sym = g.symbols()[s];
    const int r = sym.input_value >= 0 ? range_of[sym.input_value] : -1;
    if (r >= 0 && sym.dim >= 0 && sym.dim < p.ranges[r].max.rank()) {
      max_symbols[s] = p.ranges[r].max[sym.dim];
    } else {
      all_bound = false;
    }
  }
  p.value_offsets.reserve(nv);
  for (size_t i = 0; i < nv; ++i) {
    const int64_t off = fp->value_offsets()->Get(static_cast<flatbuffers::uoffset_t>(i));
    const ir::Value& v = g.value(static_cast<int>(i));
    if (off != -1 && (off < 0 || static_cast<uint64_t>(off) >= p.arena_size)) {
      return corrupt_data(describe_value(v.id, v.name) + " has arena offset " +
                          std::to_string(off) + " outside the " + std::to_string(p.arena_size) +
                          "-byte arena");
    }
    if (off >= 0 && all_bound) {
      // The value's size at the max shapes must fit (skipped where the shape does not evaluate).
      auto dims = ir::eval_shape(v.shape, max_symbols);
      uint64_t nbytes = 0;
      if (dims.is_ok() &&
          std::all_of(dims->begin(), dims->end(), [](int64_t d) { return d >= 0; }) &&
          !checked_nbytes(*dims, v.dtype, p.arena_size - static_cast<uint64_t>(off), &nbytes)) {
        return corrupt_data(describe_value(v.id, v.name) + " at arena offset " +
                            std::to_string(off) + " with shape [" +
                            [&] {
                              std::string s;
                              for (size_t d = 0; d < dims->size(); ++d) {
                                s += (d ? "," : "") + std::to_string((*dims)[d]);
                              }
                              return s;
                            }() +
                            "] at the profile's max shapes overruns the " +
                            std::to_string(p.arena_size) + "-byte arena");
      }
    }
    p.value_offsets.push_back(off);
  }
  return p;
}

}  // namespace

Result<EngineDesc> read_plan(std::span<const uint8_t> bytes) {
  KILN_ASSIGN_OR_RETURN(Header h, read_header(bytes));

  // Metadata: copied to 8-byte-aligned storage (the caller's buffer may have any alignment),
  // then verified by FlatBuffers before any field is read.
  const size_t meta_size = h.metadata.size;
  if (meta_size < 2 * sizeof(flatbuffers::uoffset_t) || meta_size >= FLATBUFFERS_MAX_BUFFER_SIZE) {
    return corrupt_data("plan section 'metadata' has an invalid size (" +
                        std::to_string(meta_size) + " bytes)");
  }
  std::vector<uint64_t> aligned((meta_size + 7) / 8);
  std::memcpy(aligned.data(), bytes.data() + h.metadata.offset, meta_size);
  const auto* meta_bytes = reinterpret_cast<const uint8_t*>(aligned.data());
  flatbuffers::Verifier::Options opts;
  opts.max_depth = 64;
  // Each table takes at least 4 bytes, so this never rejects a plan kiln wrote.
  opts.max_tables = static_cast<flatbuffers::uoffset_t>(meta_size / 4 + 16);
  flatbuffers::Verifier verifier(meta_bytes, meta_size, opts);
  if (!fbs::VerifyMetadataBuffer(verifier)) {
    return corrupt_data("plan section 'metadata' failed FlatBuffers verification");
  }
  const fbs::Metadata* meta = fbs::GetMetadata(meta_bytes);
  Budget budget(meta_size);

  EngineDesc desc;
  desc.kiln_version = h.kiln_version;
  desc.backend = h.backend;
  desc.hardware_compatibility = h.hw;
  desc.version_compatible = h.version_compatible;
  desc.refittable = h.refittable;
  desc.builder_flags = meta->builder_flags();
  desc.tactic_sources = meta->tactic_sources();
  const fbs::DeviceDescriptor* d = meta->device();
  if (d == nullptr) return corrupt_data("plan metadata has no device descriptor");
  KILN_CHARGE(budget.table() && budget.table() && budget.string(d->name()));
  desc.device.name = str(d->name());
  desc.device.compute_major = d->compute_major();
  desc.device.compute_minor = d->compute_minor();
  desc.device.cuda_runtime_version = d->cuda_runtime_version();
  desc.device.cudnn_version = d->cudnn_version();
  desc.device.cublas_version = d->cublas_version();

  auto graph = read_graph(meta, bytes.subspan(h.weights.offset, h.weights.size), budget);
  if (!graph.is_ok()) return graph.status().with_context("plan metadata");
  desc.graph = std::move(graph).value();

  KILN_CHARGE(budget.vec(meta->profiles()));
  const size_t np = count(meta->profiles());
  if (np == 0) return corrupt_data("plan metadata has no optimization profiles");
  for (size_t i = 0; i < np; ++i) {
    auto p = read_profile(meta->profiles()->Get(static_cast<flatbuffers::uoffset_t>(i)), desc.graph,
                          budget);
    if (!p.is_ok()) {
      return p.status().with_context("plan metadata: profile " + std::to_string(i));
    }
    desc.profiles.push_back(std::move(p).value());
  }
  return desc;
}

}  // namespace kiln::plan
