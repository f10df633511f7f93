// Plan file format v1: round trip of every field, determinism, and a corruption sweep
// (truncation, byte flips, patched header fields, patched metadata fields with valid checksums,
// shared-table amplification) in which every case must give an error Status and never crash.
#include "plan/engine_desc.h"
#include "plan/format.h"
#include "plan/plan_generated.h"

#include <kiln/version.h>

#include <gtest/gtest.h>
#include <xxhash.h>

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <set>

namespace kiln::plan::plan_test {
namespace {

using ir::SymExpr;
namespace fbs = kiln::plan::fb;

HostTensor make_tensor(DataType dtype, Dims dims, uint8_t seed) {
  HostTensor t(dtype, dims);
  auto* p = static_cast<uint8_t*>(t.data());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<uint8_t>(seed + i * 7);
  if (dtype == DataType::kBool) {
    for (size_t i = 0; i < t.nbytes(); ++i) p[i] &= 1;
  }
  return t;
}

// A small optimized-looking graph: a dynamic image input and a dynamic ids input, constants of
// every dtype, layers with attributes of every type, a host-evaluated shape tensor, a removed
// layer, an absent optional input, and two profiles.
EngineDesc make_desc() {
  EngineDesc desc;
  desc.kiln_version = kVersion;
  desc.backend = Backend::kCuda;
  desc.device = {"NVIDIA H100 80GB HBM3", 9, 0, 12040, 90100, 120402};
  desc.hardware_compatibility = HardwareCompatibility::kSameComputeCapability;
  desc.version_compatible = false;
  desc.refittable = true;
  desc.builder_flags = 0x15;
  desc.tactic_sources = TacticSource::kCublas | TacticSource::kKilnCuda;

  ir::Graph& g = desc.graph;
  const int x = g.add_input("x", DataType::kFloat32, Dims{-1, 3, 8, 8});  // symbol 0: x.0
  const int ids = g.add_input("ids", DataType::kInt64, Dims{-1});         // symbol 1: ids.0
  const int w = g.add_constant("conv.w", make_tensor(DataType::kFloat32, {4, 3, 3, 3}, 1));
  const int b = g.add_constant("conv.b", make_tensor(DataType::kFloat16, {4}, 2));
  const int scale = g.add_constant("scale", make_tensor(DataType::kBFloat16, {4, 1, 1}, 3));
  const int table = g.add_constant("table", make_tensor(DataType::kInt32, {10, 4}, 4));
  g.add_constant("mask", make_tensor(DataType::kBool, {3}, 5));
  g.add_constant("i8", make_tensor(DataType::kInt8, {5}, 6));
  g.add_constant("empty_u8", make_tensor(DataType::kUInt8, {0, 3}, 7));
  g.add_constant("pair", make_tensor(DataType::kInt64, {2}, 8));
  g.add_constant("scalar", make_tensor(DataType::kFloat32, {}, 9));

  const SymExpr s0 = SymExpr::symbol(0), s1 = SymExpr::symbol(1);

  ir::Attrs conv_attrs;
  conv_attrs.set("kernel_shape", std::vector<int64_t>{3, 3});
  conv_attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  conv_attrs.set("strides", std::vector<int64_t>{1, 1});
  conv_attrs.set("group", int64_t{1});
  conv_attrs.set("auto_pad", std::string("NOTSET"));
  conv_attrs.set("alpha", 0.25);
  conv_attrs.set("scales", std::vector<double>{0.5, -1.5e300, 3.0});
  conv_attrs.set("empty_ints", std::vector<int64_t>{});
  const int conv = g.add_node("Conv", "conv1", {x, w, b}, 1, conv_attrs);
  g.node(conv).fused = {"conv1", "bn1", "relu1"};
  const int conv_out = g.node(conv).outputs[0];
  g.value(conv_out).shape = {s0, 4, 8, 8};

  ir::Attrs act_attrs;
  act_attrs.set("type", std::string("leaky_relu"));
  act_attrs.set("alpha", 0.1);
  act_attrs.set("beta", -0.0);
  const int act = g.add_node("Activation", "act1", {conv_out, scale, -1}, 1, act_attrs);
  const int act_out = g.node(act).outputs[0];
  g.value(act_out).shape = {s0, 4, 8, 8};

  const int gather = g.add_node("Gather", "embed", {table, ids}, 1, {});
  const int gather_out = g.node(gather).outputs[0];
  g.value(gather_out).dtype = DataType::kInt32;
  // Arbitrary arithmetic, to round-trip every kind of expression node.
  g.value(gather_out).shape = {s1, sym_max(s1 * 2 - 1, ir::ceil_div(s1, 3)),
                               ir::broadcast_dim(s1, s0) + sym_mod(s0, 5) * 0 + 4,
                               ir::floor_div(s0 + 7, 2) + sym_min(s1, 9)};

  const int shape = g.add_node("Shape", "shape_of_x", {x}, 1, {});
  const int shape_out = g.node(shape).outputs[0];
  g.value(shape_out).dtype = DataType::kInt64;
  g.value(shape_out).shape = {4};
  g.value(shape_out).shape_value = std::vector<SymExpr>{s0, 3, 8, 8};

  const int dead = g.add_node("Identity", "dead", {act_out}, 2, {});
  g.node(dead).removed = true;
  g.value(g.node(dead).outputs[1]).shape_value = std::vector<SymExpr>{};

  g.mark_output(act_out);
  g.mark_output(gather_out);
  g.mark_output(shape_out);
  EXPECT_TRUE(g.validate().is_ok()) << g.validate().to_string();

  for (int p = 0; p < 2; ++p) {
    ProfileDesc prof;
    prof.ranges.push_back({x, Dims{1, 3, 8, 8}, Dims{4 + p, 3, 8, 8}, Dims{16 + 16 * p, 3, 8, 8}});
    prof.ranges.push_back({ids, Dims{1}, Dims{7}, Dims{64 * (p + 1)}});
    for (int n = 0; n < g.num_nodes(); ++n) {
      prof.tactics.push_back(
          g.node(n).op == "Shape" ? "" : "cuda." + g.node(n).op + ".v" + std::to_string(p));
    }
    prof.value_offsets.assign(g.num_values(), -1);
    prof.value_offsets[conv_out] = 0;
    prof.value_offsets[g.node(dead).outputs[0]] = 512;
    prof.arena_size = (uint64_t{1} << 20) * (p + 1);
    prof.workspace_offset = uint64_t{1} << 19;
    prof.workspace_size = 4096 * (p + 1);
    desc.profiles.push_back(prof);
  }
  return desc;
}

void expect_same_shape(const ir::SymShape& a, const ir::SymShape& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(a[i].same_as(b[i]))
        << what << " dim " << i << ": " << a[i].to_string() << " vs " << b[i].to_string();
  }
}

void expect_equal(const EngineDesc& a, const EngineDesc& b) {
  EXPECT_EQ(a.kiln_version, b.kiln_version);
  EXPECT_EQ(a.backend, b.backend);
  EXPECT_EQ(a.device, b.device);
  EXPECT_EQ(a.hardware_compatibility, b.hardware_compatibility);
  EXPECT_EQ(a.version_compatible, b.version_compatible);
  EXPECT_EQ(a.refittable, b.refittable);
  EXPECT_EQ(a.builder_flags, b.builder_flags);
  EXPECT_EQ(a.tactic_sources, b.tactic_sources);
  EXPECT_EQ(a.profiles, b.profiles);

  const ir::Graph& ga = a.graph;
  const ir::Graph& gb = b.graph;
  EXPECT_EQ(ga.inputs(), gb.inputs());
  EXPECT_EQ(ga.outputs(), gb.outputs());
  ASSERT_EQ(ga.symbols().size(), gb.symbols().size());
  for (size_t i = 0; i < ga.symbols().size(); ++i) {
    EXPECT_EQ(ga.symbols()[i].name, gb.symbols()[i].name);
    EXPECT_EQ(ga.symbols()[i].input_value, gb.symbols()[i].input_value);
    EXPECT_EQ(ga.symbols()[i].dim, gb.symbols()[i].dim);
  }
  ASSERT_EQ(ga.num_values(), gb.num_values());
  for (int i = 0; i < ga.num_values(); ++i) {
    const ir::Value& va = ga.value(i);
    const ir::Value& vb = gb.value(i);
    const std::string what = "value " + va.name;
    EXPECT_EQ(va.id, vb.id) << what;
    EXPECT_EQ(va.name, vb.name) << what;
    EXPECT_EQ(gb.find_value(va.name), i) << what;
    EXPECT_EQ(va.dtype, vb.dtype) << what;
    expect_same_shape(va.shape, vb.shape, what);
    EXPECT_EQ(va.producer, vb.producer) << what;
    EXPECT_EQ(va.is_input, vb.is_input) << what;
    EXPECT_EQ(va.is_output, vb.is_output) << what;
    ASSERT_EQ(va.constant.has_value(), vb.constant.has_value()) << what;
    if (va.constant) {
      EXPECT_EQ(va.constant->dtype(), vb.constant->dtype()) << what;
      EXPECT_EQ(va.constant->shape(), vb.constant->shape()) << what;
      ASSERT_EQ(va.constant->nbytes(), vb.constant->nbytes()) << what;
      EXPECT_EQ(std::memcmp(va.constant->data(), vb.constant->data(), va.constant->nbytes()), 0)
          << what;
    }
    ASSERT_EQ(va.shape_value.has_value(), vb.shape_value.has_value()) << what;
    if (va.shape_value) expect_same_shape(*va.shape_value, *vb.shape_value, what + " content");
  }
  ASSERT_EQ(ga.num_nodes(), gb.num_nodes());
  for (int i = 0; i < ga.num_nodes(); ++i) {
    const ir::Node& na = ga.node(i);
    const ir::Node& nb = gb.node(i);
    EXPECT_EQ(na.id, nb.id);
    EXPECT_EQ(na.name, nb.name);
    EXPECT_EQ(na.op, nb.op);
    EXPECT_TRUE(na.attrs == nb.attrs) << na.name;
    EXPECT_EQ(na.attrs.map().size(), nb.attrs.map().size());
    EXPECT_EQ(na.inputs, nb.inputs);
    EXPECT_EQ(na.outputs, nb.outputs);
    EXPECT_EQ(na.fused, nb.fused);
    EXPECT_EQ(na.removed, nb.removed);
  }
}

std::vector<uint8_t> must_write(const EngineDesc& desc) {
  auto r = write_plan(desc);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? std::move(r).value() : std::vector<uint8_t>{};
}

// Parsed section table entry (the test trusts the writer's own output).
struct Sec {
  uint32_t kind;
  uint64_t offset, size;
  size_t entry;  // file offset of the table entry
};

std::vector<Sec> sections_of(const std::vector<uint8_t>& plan) {
  std::vector<Sec> out;
  const uint32_t n = format::get_u32(plan.data() + 24);
  for (uint32_t i = 0; i < n; ++i) {
    const size_t e = format::kFixedHeaderSize + format::kSectionEntrySize * i;
    out.push_back({format::get_u32(plan.data() + e), format::get_u64(plan.data() + e + 8),
                   format::get_u64(plan.data() + e + 16), e});
  }
  return out;
}

Sec section(const std::vector<uint8_t>& plan, uint32_t kind) {
  for (const Sec& s : sections_of(plan)) {
    if (s.kind == kind) return s;
  }
  ADD_FAILURE() << "no section " << kind;
  return {};
}

// Recomputes every section checksum and the header checksum, so that a patched field reaches the
// validation behind the checksums.
void resign(std::vector<uint8_t>& plan) {
  // The layout of the writer's plans (two sections), whatever the patched header now says.
  for (size_t i = 0; i < 2; ++i) {
    uint8_t* e = plan.data() + format::kFixedHeaderSize + format::kSectionEntrySize * i;
    const uint64_t off = format::get_u64(e + 8), size = format::get_u64(e + 16);
    if (off <= plan.size() && size <= plan.size() - off) {
      format::put_u64(e + 24, XXH64(plan.data() + off, size, 0));
    }
  }
  const size_t checked = format::header_size(2) - format::kHeaderChecksumSize;
  format::put_u64(plan.data() + checked, XXH64(plan.data(), checked, 0));
}

Status read_status(const std::vector<uint8_t>& plan) {
  auto r = read_plan(plan);
  return r.is_ok() ? Status::ok() : r.status();
}

void expect_corrupt(const std::vector<uint8_t>& plan, const std::string& needle,
                    const std::string& what) {
  Status s = read_status(plan);
  EXPECT_FALSE(s.is_ok()) << what;
  EXPECT_EQ(s.code(), StatusCode::kCorruptData) << what << ": " << s.to_string();
  EXPECT_NE(s.to_string().find(needle), std::string::npos)
      << what << ": message '" << s.to_string() << "' lacks '" << needle << "'";
}

void expect_rejected(const std::vector<uint8_t>& plan, const std::string& what) {
  Status s = read_status(plan);
  EXPECT_FALSE(s.is_ok()) << what;
  EXPECT_TRUE(s.code() == StatusCode::kCorruptData || s.code() == StatusCode::kVersionMismatch)
      << what << ": " << s.to_string();
  EXPECT_FALSE(s.message().empty()) << what;
}

// The metadata of a plan, parsed in place (the test's own plans are valid).
const fbs::Metadata* metadata_of(const std::vector<uint8_t>& plan) {
  Sec m = section(plan, format::kSectionMetadata);
  return fbs::GetMetadata(plan.data() + m.offset);
}

// File offset of scalar field `vt` of a table inside `plan` (fields are always written).
size_t field_offset(const std::vector<uint8_t>& plan, const void* table, uint16_t vt) {
  const auto* t = reinterpret_cast<const flatbuffers::Table*>(table);
  const uint16_t off = t->GetOptionalFieldOffset(vt);
  EXPECT_NE(off, 0) << "field not present";
  return static_cast<size_t>(reinterpret_cast<const uint8_t*>(table) - plan.data()) + off;
}

template <typename T>
void patch(std::vector<uint8_t>& plan, size_t offset, T value) {
  std::memcpy(plan.data() + offset, &value, sizeof(T));  // little-endian host (x86/arm64)
}

size_t ptr_offset(const std::vector<uint8_t>& plan, const void* p) {
  return static_cast<size_t>(static_cast<const uint8_t*>(p) - plan.data());
}

// ---------------------------------------------------------------------------------------------

TEST(PlanFormat, RoundTripEveryField) {
  EngineDesc desc = make_desc();
  std::vector<uint8_t> plan = must_write(desc);
  ASSERT_FALSE(plan.empty());
  auto back = read_plan(plan);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  expect_equal(desc, *back);
  EXPECT_TRUE(back->graph.validate().is_ok());
  // Writing what was read gives the same bytes again.
  EXPECT_EQ(must_write(*back), plan);
}

TEST(PlanFormat, RoundTripFlagsAndEnums) {
  for (int backend = 0; backend < 2; ++backend) {
    for (int hw = 0; hw < 3; ++hw) {
      for (int flags = 0; flags < 4; ++flags) {
        EngineDesc desc = make_desc();
        desc.backend = static_cast<Backend>(backend);
        desc.hardware_compatibility = static_cast<HardwareCompatibility>(hw);
        desc.version_compatible = flags & 1;
        desc.refittable = flags & 2;
        auto back = read_plan(must_write(desc));
        ASSERT_TRUE(back.is_ok()) << back.status().to_string();
        expect_equal(desc, *back);
      }
    }
  }
}

TEST(PlanFormat, LayoutHeaderAndAlignment) {
  EngineDesc desc = make_desc();
  std::vector<uint8_t> plan = must_write(desc);
  EXPECT_EQ(std::memcmp(plan.data(), "KILNPLAN", 8), 0);
  EXPECT_EQ(format::get_u32(plan.data() + 8), kPlanFormatVersion);
  EXPECT_EQ(format::get_u32(plan.data() + 12), format::header_size(2));
  EXPECT_EQ(format::get_u32(plan.data() + 16), kVersion);
  EXPECT_EQ(plan[20], static_cast<uint8_t>(Backend::kCuda));
  EXPECT_EQ(plan[21], static_cast<uint8_t>(HardwareCompatibility::kSameComputeCapability));
  EXPECT_EQ(format::get_u16(plan.data() + 22), format::kFlagRefittable);
  EXPECT_EQ(format::get_u32(plan.data() + 24), 2u);
  Sec w = section(plan, format::kSectionWeights);
  EXPECT_EQ(w.offset % 256, 0u);
  EXPECT_EQ(w.offset + w.size, plan.size());
  // Every weight entry is 256-byte aligned in the file and holds the constant's bytes.
  const fbs::Metadata* meta = metadata_of(plan);
  ASSERT_EQ(meta->weights()->size(), 9u);
  for (const fbs::WeightEntry* e : *meta->weights()) {
    EXPECT_EQ((w.offset + e->offset()) % 256, 0u);
    const HostTensor& t = *desc.graph.value(e->value()).constant;
    ASSERT_EQ(e->size(), t.nbytes());
    EXPECT_EQ(std::memcmp(plan.data() + w.offset + e->offset(), t.data(), t.nbytes()), 0);
  }
}

TEST(PlanFormat, Deterministic) {
  std::vector<uint8_t> a = must_write(make_desc());
  std::vector<uint8_t> b = must_write(make_desc());
  EXPECT_EQ(a, b);
  EngineDesc desc = make_desc();
  EXPECT_EQ(must_write(desc), must_write(desc));
}

TEST(PlanFormat, UnalignedBufferAndNoWeights) {
  std::vector<uint8_t> plan = must_write(make_desc());
  std::vector<uint8_t> shifted(plan.size() + 3);
  std::memcpy(shifted.data() + 3, plan.data(), plan.size());
  auto r = read_plan(std::span<const uint8_t>(shifted.data() + 3, plan.size()));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  expect_equal(make_desc(), *r);

  EngineDesc small;
  small.kiln_version = kVersion;
  small.device.name = "cpu";
  int in = small.graph.add_input("in", DataType::kFloat32, Dims{2, 2});
  int n = small.graph.add_node("Activation", "relu", {in}, 1, {});
  small.graph.value(small.graph.node(n).outputs[0]).shape = {2, 2};
  small.graph.mark_output(small.graph.node(n).outputs[0]);
  small.profiles.push_back({{}, {"cpu.ref"}, {-1, -1}, 0, 0, 0});
  auto back = read_plan(must_write(small));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  expect_equal(small, *back);
}

// Weights larger than the writer's copy-and-hash chunk (64 KiB), with padding between them: the
// weights section's checksum is the one-shot XXH64 of the section, each weight sits at its
// aligned offset, the padding is zero, and the plan reads back.
// A relu engine carrying weights larger than the writer's 64 KiB chunk, of odd sizes (padding
// between them), seeded by `seed`; `f32_count` sizes the float weight, `with_empty` adds a
// zero-size one.
EngineDesc relu_with_large_weights(uint8_t seed, int64_t f32_count, bool with_empty) {
  EngineDesc desc;
  desc.kiln_version = kVersion;
  desc.device.name = "cpu";
  int in = desc.graph.add_input("in", DataType::kFloat32, Dims{2, 2});
  int n = desc.graph.add_node("Activation", "relu", {in}, 1, {});
  desc.graph.value(desc.graph.node(n).outputs[0]).shape = {2, 2};
  desc.graph.mark_output(desc.graph.node(n).outputs[0]);
  desc.graph.add_constant("big_u8", make_tensor(DataType::kUInt8, {200003}, seed));
  desc.graph.add_constant("small_f16",
                          make_tensor(DataType::kFloat16, {3}, static_cast<uint8_t>(seed + 1)));
  desc.graph.add_constant(
      "big_f32", make_tensor(DataType::kFloat32, {f32_count}, static_cast<uint8_t>(seed + 2)));
  if (with_empty) {
    desc.graph.add_constant(
        "empty_f32", make_tensor(DataType::kFloat32, {0, 5}, static_cast<uint8_t>(seed + 3)));
  }
  desc.profiles.push_back(
      {{}, {"cpu.ref"}, std::vector<int64_t>(desc.graph.num_values(), -1), 0, 0, 0});
  return desc;
}

TEST(PlanFormat, LargeWeightsChecksumAndPadding) {
  const EngineDesc desc = relu_with_large_weights(11, 70000, false);
  std::vector<uint8_t> plan = must_write(desc);
  const Sec w = section(plan, format::kSectionWeights);
  const Sec m = section(plan, format::kSectionMetadata);
  EXPECT_EQ(format::get_u64(plan.data() + w.entry + 24),
            XXH64(plan.data() + w.offset, w.size, format::kChecksumSeed));
  EXPECT_EQ(format::get_u64(plan.data() + m.entry + 24),
            XXH64(plan.data() + m.offset, m.size, format::kChecksumSeed));
  std::vector<bool> in_weight(w.size, false);
  const fbs::Metadata* meta = metadata_of(plan);
  ASSERT_EQ(meta->weights()->size(), 3u);
  for (const fbs::WeightEntry* e : *meta->weights()) {
    EXPECT_EQ((w.offset + e->offset()) % format::kWeightAlign, 0u);
    const HostTensor& t = *desc.graph.value(e->value()).constant;
    ASSERT_EQ(e->size(), t.nbytes());
    EXPECT_EQ(std::memcmp(plan.data() + w.offset + e->offset(), t.data(), t.nbytes()), 0);
    std::fill(in_weight.begin() + static_cast<int64_t>(e->offset()),
              in_weight.begin() + static_cast<int64_t>(e->offset() + e->size()), true);
  }
  size_t padding = 0;
  for (size_t i = 0; i < w.size; ++i) {
    if (in_weight[i]) continue;
    ++padding;
    ASSERT_EQ(plan[w.offset + i], 0) << "padding byte " << i << " of the weights section";
  }
  EXPECT_GT(padding, 0u);
  auto back = read_plan(plan);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  expect_equal(desc, *back);
}

// Collects what write_plan_to streams out; can fail at a given write.
class VectorWriter : public StreamWriter {
 public:
  Status write(const void* data, size_t size) override {
    ++calls;
    empty += size == 0;
    if (calls == fail_at) return io_error("disk full (test)");
    const auto* p = static_cast<const uint8_t*>(data);
    bytes.insert(bytes.end(), p, p + size);
    return Status::ok();
  }
  std::vector<uint8_t> bytes;
  int calls = 0;
  int empty = 0;  // writes of 0 bytes (the writer makes none)
  int fail_at = -1;
};

// The streamed plan is the returned plan, byte for byte (header with the weights' checksum
// first, then the weights from the tensors with their padding), with and without weights.
TEST(PlanFormat, StreamedPlanEqualsTheReturnedPlan) {
  EngineDesc large = relu_with_large_weights(21, 70001, true);
  EngineDesc no_weights = large;
  for (int v = 0; v < no_weights.graph.num_values(); ++v) {
    if (no_weights.graph.value(v).constant) no_weights.graph.value(v).constant.reset();
  }
  for (const EngineDesc* desc : {&large, &no_weights}) {
    SCOPED_TRACE(desc == &large ? "weights" : "no weights");
    const std::vector<uint8_t> plan = must_write(*desc);
    VectorWriter w;
    auto size = write_plan_to(*desc, w);
    ASSERT_TRUE(size.is_ok()) << size.status().to_string();
    EXPECT_EQ(*size, plan.size());
    EXPECT_EQ(w.bytes, plan);
    EXPECT_EQ(w.empty, 0);
    auto back = read_plan(w.bytes);
    ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  }
  const std::vector<uint8_t> plan = must_write(make_desc());
  VectorWriter w;
  ASSERT_TRUE(write_plan_to(make_desc(), w).is_ok());
  EXPECT_EQ(w.bytes, plan);
  auto back = read_plan(w.bytes);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  expect_equal(make_desc(), *back);
}

// The writer's first error ends the write and is returned.
TEST(PlanFormat, StreamWriterErrorEndsTheWrite) {
  const EngineDesc desc = make_desc();
  VectorWriter all;
  ASSERT_TRUE(write_plan_to(desc, all).is_ok());
  ASSERT_GE(all.calls, 3);
  for (int fail_at : {1, 2, all.calls}) {
    VectorWriter w;
    w.fail_at = fail_at;
    auto r = write_plan_to(desc, w);
    ASSERT_FALSE(r.is_ok()) << "fail at " << fail_at;
    EXPECT_EQ(r.status().code(), StatusCode::kIoError);
    EXPECT_NE(r.status().to_string().find("disk full (test)"), std::string::npos);
    EXPECT_EQ(w.calls, fail_at);
  }
}

TEST(PlanVersion, NewerAndOlderFormatVersion) {
  std::vector<uint8_t> plan = must_write(make_desc());
  std::vector<uint8_t> newer = plan;
  format::put_u32(newer.data() + 8, kPlanFormatVersion + 1);
  resign(newer);
  Status s = read_status(newer);
  EXPECT_EQ(s.code(), StatusCode::kVersionMismatch) << s.to_string();
  EXPECT_NE(s.to_string().find("plan format v2 is newer than this kiln (reads up to v1)"),
            std::string::npos)
      << s.to_string();

  std::vector<uint8_t> older = plan;
  format::put_u32(older.data() + 8, 0);
  s = read_status(older);
  EXPECT_EQ(s.code(), StatusCode::kVersionMismatch) << s.to_string();
  EXPECT_NE(s.to_string().find("v0"), std::string::npos) << s.to_string();
  EXPECT_NE(s.to_string().find("older"), std::string::npos) << s.to_string();
}

TEST(PlanVersion, OtherKilnVersionNeedsVersionCompatible) {
  EngineDesc desc = make_desc();
  desc.kiln_version = 20304;  // kiln 2.3.4
  desc.version_compatible = false;
  Status s = read_status(must_write(desc));
  EXPECT_EQ(s.code(), StatusCode::kVersionMismatch) << s.to_string();
  EXPECT_NE(s.to_string().find("2.3.4 (20304)"), std::string::npos) << s.to_string();
  EXPECT_NE(
      s.to_string().find(std::string(version_string()) + " (" + std::to_string(kVersion) + ")"),
      std::string::npos)
      << s.to_string();
  EXPECT_NE(s.to_string().find("version-compatible"), std::string::npos) << s.to_string();

  desc.version_compatible = true;
  auto r = read_plan(must_write(desc));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->kiln_version, 20304u);
  EXPECT_TRUE(r->version_compatible);
}

TEST(PlanCorruption, BadMagicAndTinyInputs) {
  std::vector<uint8_t> plan = must_write(make_desc());
  std::vector<uint8_t> bad = plan;
  bad[3] ^= 0x20;
  expect_corrupt(bad, "not a kiln plan (bad magic)", "magic");
  expect_corrupt({}, "not a kiln plan", "empty");
  std::vector<uint8_t> text = {'{', '"', 'a', '"', ':', '1', '}', '\n', 0, 0, 0, 0};
  expect_corrupt(text, "not a kiln plan (bad magic)", "json");
}

TEST(PlanCorruption, TruncateEverywhere) {
  std::vector<uint8_t> plan = must_write(make_desc());
  std::set<size_t> cuts;
  for (size_t i = 0; i < 256 && i < plan.size(); ++i) cuts.insert(i);
  std::vector<size_t> boundaries = {format::header_size(2)};
  for (const Sec& s : sections_of(plan)) {
    boundaries.push_back(s.offset);
    boundaries.push_back(s.offset + s.size);
  }
  const Sec w = section(plan, format::kSectionWeights);
  for (const fbs::WeightEntry* e : *metadata_of(plan)->weights()) {
    boundaries.push_back(w.offset + e->offset());
    boundaries.push_back(w.offset + e->offset() + e->size());
  }
  for (size_t b : boundaries) {
    for (size_t c : {b - 1, b, b + 1}) {
      if (c < plan.size()) cuts.insert(c);
    }
  }
  std::mt19937 rng(42);
  for (int i = 0; i < 200; ++i) cuts.insert(rng() % plan.size());
  cuts.insert(plan.size() - 1);
  for (size_t c : cuts) {
    std::vector<uint8_t> t(plan.begin(), plan.begin() + static_cast<std::ptrdiff_t>(c));
    expect_rejected(t, "truncated to " + std::to_string(c));
  }
  // Extra bytes at the end are refused too.
  std::vector<uint8_t> longer = plan;
  longer.push_back(0);
  expect_corrupt(longer, "after its last section", "one extra byte");
}

TEST(PlanCorruption, RandomByteFlips) {
  std::vector<uint8_t> plan = must_write(make_desc());
  std::mt19937 rng(1234);
  for (int i = 0; i < 500; ++i) {
    std::vector<uint8_t> bad = plan;
    const size_t at = rng() % plan.size();
    bad[at] ^= static_cast<uint8_t>(1 + rng() % 255);
    expect_rejected(bad, "byte " + std::to_string(at) + " flipped");
  }
  // Every single byte of the header and section table.
  for (size_t at = 0; at < format::header_size(2); ++at) {
    std::vector<uint8_t> bad = plan;
    bad[at] ^= 0x01;
    expect_rejected(bad, "header byte " + std::to_string(at) + " flipped");
  }
}

TEST(PlanCorruption, WeightsPayloadFlipCaughtByChecksum) {
  std::vector<uint8_t> plan = must_write(make_desc());
  const Sec w = section(plan, format::kSectionWeights);
  for (const fbs::WeightEntry* e : *metadata_of(plan)->weights()) {
    for (uint64_t k = 0; k < e->size(); k += std::max<uint64_t>(1, e->size() / 3)) {
      std::vector<uint8_t> bad = plan;
      bad[w.offset + e->offset() + k] ^= 0x80;
      expect_corrupt(bad, "plan section 'weights' is corrupt (checksum mismatch)",
                     "weight byte " + std::to_string(k));
    }
  }
  // Padding between weight entries is covered by the weights checksum as well.
  std::vector<uint8_t> bad = plan;
  bad[w.offset + 1] ^= 0x01;  // weight 0 is 4*27 floats; byte 1 is inside it
  expect_corrupt(bad, "'weights'", "first weight");
  bad = plan;
  bad[w.offset + 500] ^= 0x01;  // padding after the first weight (432 bytes)
  expect_corrupt(bad, "'weights'", "padding in weights");
  // Metadata bytes are covered by the metadata checksum.
  const Sec m = section(plan, format::kSectionMetadata);
  bad = plan;
  bad[m.offset + m.size / 2] ^= 0x04;
  expect_corrupt(bad, "plan section 'metadata' is corrupt (checksum mismatch)", "metadata byte");
  // Padding between sections must be zero.
  ASSERT_GT(w.offset, m.offset + m.size);
  bad = plan;
  bad[m.offset + m.size] = 0x11;
  expect_corrupt(bad, "nonzero padding", "inter-section padding");
}

TEST(PlanCorruption, PatchedHeaderFields) {
  const std::vector<uint8_t> plan = must_write(make_desc());
  const Sec m = section(plan, format::kSectionMetadata);
  const Sec w = section(plan, format::kSectionWeights);
  // kAll: recompute every checksum after patching (reaches the structural checks); kHeader:
  // only the header checksum (for patched section checksums); kNone: leave all as written.
  enum Resign { kNone, kHeader, kAll };
  struct Case {
    std::string name;
    std::function<void(std::vector<uint8_t>&)> patch;
    std::string needle;
    Resign resign = kAll;
  };
  auto set32 = [](std::vector<uint8_t>& p, size_t at, uint32_t v) {
    format::put_u32(p.data() + at, v);
  };
  auto set64 = [](std::vector<uint8_t>& p, size_t at, uint64_t v) {
    format::put_u64(p.data() + at, v);
  };
  const std::vector<Case> cases = {
      {"header checksum", [](auto& p) { p[format::header_size(2) - 1] ^= 1; },
       "plan header is corrupt (checksum mismatch)", kNone},
      {"kiln version byte", [](auto& p) { p[17] ^= 1; }, "plan header is corrupt", kNone},
      {"metadata size +1, not re-signed", [&](auto& p) { set64(p, m.entry + 16, m.size + 1); },
       "plan header is corrupt", kNone},
      {"backend", [](auto& p) { p[20] = 2; }, "unknown backend 2"},
      {"hw compat", [](auto& p) { p[21] = 3; }, "hardware-compatibility level 3"},
      {"flags", [](auto& p) { format::put_u16(p.data() + 22, 0x8001); }, "unknown flag"},
      {"section count 0", [&](auto& p) { set32(p, 24, 0); }, "0 sections"},
      {"section count huge", [&](auto& p) { set32(p, 24, 0xffffffffu); }, "sections"},
      {"section count 1", [&](auto& p) { set32(p, 24, 1); }, "header size"},
      {"section count 3", [&](auto& p) { set32(p, 24, 3); }, "header size"},
      {"header size", [&](auto& p) { set32(p, 12, 200); }, "header size"},
      {"header size huge", [&](auto& p) { set32(p, 12, 0xfffffff0u); }, "header size"},
      {"reserved", [](auto& p) { p[29] = 1; }, "reserved"},
      {"section kind", [&](auto& p) { set32(p, m.entry, 7); }, "unknown kind 7"},
      {"two metadata sections", [&](auto& p) { set32(p, w.entry, format::kSectionMetadata); },
       "two 'metadata' sections"},
      {"section reserved", [&](auto& p) { p[m.entry + 5] = 1; }, "reserved"},
      {"metadata offset +8", [&](auto& p) { set64(p, m.entry + 8, m.offset + 8); }, "plan"},
      {"metadata offset misaligned", [&](auto& p) { set64(p, m.entry + 8, m.offset + 1); },
       "not a multiple of 8"},
      {"metadata inside header", [&](auto& p) { set64(p, m.entry + 8, 16); }, "inside the header"},
      {"metadata size huge (overflow)", [&](auto& p) { set64(p, m.entry + 16, ~uint64_t{0} - 4); },
       "outside the"},
      {"metadata size 0", [&](auto& p) { set64(p, m.entry + 16, 0); }, "nonzero padding"},
      {"weights offset huge", [&](auto& p) { set64(p, w.entry + 8, ~uint64_t{0} - 255); },
       "outside the"},
      {"weights offset misaligned", [&](auto& p) { set64(p, w.entry + 8, w.offset - 8); },
       "not a multiple of 256"},
      {"weights overlap metadata",
       [&](auto& p) { set64(p, w.entry + 8, (m.offset + 255) / 256 * 256); }, "overlaps"},
      {"weights size -1", [&](auto& p) { set64(p, w.entry + 16, w.size - 1); },
       "after its last section"},
      {"weights size +1", [&](auto& p) { set64(p, w.entry + 16, w.size + 1); }, "outside the"},
      {"weights section checksum", [&](auto& p) { p[w.entry + 24] ^= 1; },
       "plan section 'weights' is corrupt (checksum mismatch)", kHeader},
      {"metadata section checksum", [&](auto& p) { p[m.entry + 31] ^= 1; },
       "plan section 'metadata' is corrupt (checksum mismatch)", kHeader},
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> bad = plan;
    c.patch(bad);
    if (c.resign == kAll) {
      resign(bad);
    } else if (c.resign == kHeader) {
      const size_t checked = format::header_size(2) - format::kHeaderChecksumSize;
      format::put_u64(bad.data() + checked, XXH64(bad.data(), checked, 0));
    }
    expect_corrupt(bad, c.needle, c.name);
  }
}

TEST(PlanCorruption, PatchedMetadataFieldsWithValidChecksums) {
  const std::vector<uint8_t> plan = must_write(make_desc());
  const fbs::Metadata* meta = metadata_of(plan);
  const fbs::Graph* g = meta->graph();
  const fbs::WeightEntry* w0 = meta->weights()->Get(0);
  const fbs::Value* v0 = g->values()->Get(0);
  const fbs::Node* conv = g->nodes()->Get(0);
  const fbs::Profile* p0 = meta->profiles()->Get(0);
  const fbs::InputRange* r0 = p0->ranges()->Get(0);
  const fbs::InputRange* r1 = p0->ranges()->Get(1);
  const fbs::Symbol* sym0 = g->symbols()->Get(0);
  const fbs::Value* gather_out = nullptr;
  for (const fbs::Value* v : *g->values()) {
    if (v->name()->str() == "embed") gather_out = v;
  }
  ASSERT_NE(gather_out, nullptr);

  struct Case {
    std::string name;
    std::function<void(std::vector<uint8_t>&)> patch;
    std::string needle;
  };
  using W = fbs::WeightEntry;
  using V = fbs::Value;
  using P = fbs::Profile;
  const std::vector<Case> cases = {
      {"weight size", [&](auto& p) { patch<uint64_t>(p, field_offset(plan, w0, W::VT_SIZE), 4); },
       "has size 4, expected 432"},
      {"weight size huge",
       [&](auto& p) { patch<uint64_t>(p, field_offset(plan, w0, W::VT_SIZE), ~uint64_t{0}); },
       "expected 432"},
      {"weight offset misaligned",
       [&](auto& p) { patch<uint64_t>(p, field_offset(plan, w0, W::VT_OFFSET), 8); },
       "not a multiple of 256"},
      {"weight offset outside",
       [&](auto& p) { patch<uint64_t>(p, field_offset(plan, w0, W::VT_OFFSET), 1u << 20); },
       "outside the"},
      {"weight offset overlaps",
       [&](auto& p) {
         patch<uint64_t>(p, field_offset(plan, w0, W::VT_OFFSET),
                         meta->weights()->Get(1)->offset());
       },
       "overlap"},
      {"weight offset overflow",
       [&](auto& p) {
         patch<uint64_t>(p, field_offset(plan, w0, W::VT_OFFSET), ~uint64_t{0} - 255);
       },
       "outside the"},
      {"weight dtype",
       [&](auto& p) { patch<uint8_t>(p, field_offset(plan, w0, W::VT_DTYPE), 200); },
       "unknown dtype 200"},
      {"weight dtype mismatch",
       [&](auto& p) { patch<uint8_t>(p, field_offset(plan, w0, W::VT_DTYPE), 5); },
       "but the value is float32"},
      {"weight dims huge",
       [&](auto& p) { patch<int64_t>(p, ptr_offset(plan, w0->dims()->data()), int64_t{1} << 62); },
       "dims"},
      {"weight dims negative",
       [&](auto& p) { patch<int64_t>(p, ptr_offset(plan, w0->dims()->data()), -4); }, "dims"},
      {"weight value id",
       [&](auto& p) { patch<int32_t>(p, field_offset(plan, w0, W::VT_VALUE), 0); },
       "does not refer back"},
      {"weight value id out of range",
       [&](auto& p) { patch<int32_t>(p, field_offset(plan, w0, W::VT_VALUE), 1 << 30); },
       "does not refer back"},
      {"value dtype", [&](auto& p) { patch<uint8_t>(p, field_offset(plan, v0, V::VT_DTYPE), 8); },
       "unknown dtype 8"},
      {"value producer",
       [&](auto& p) { patch<int32_t>(p, field_offset(plan, v0, V::VT_PRODUCER), 1000); },
       "producer 1000"},
      {"value producer not outputting",
       [&](auto& p) { patch<int32_t>(p, field_offset(plan, v0, V::VT_PRODUCER), 1); },
       "does not output it"},
      {"value constant index",
       [&](auto& p) { patch<int32_t>(p, field_offset(plan, v0, V::VT_CONSTANT), 99); },
       "weight entry 99"},
      {"input with constant",
       [&](auto& p) { patch<int32_t>(p, field_offset(plan, v0, V::VT_CONSTANT), 0); },
       "constant data"},
      {"input flag", [&](auto& p) { patch<uint8_t>(p, field_offset(plan, v0, V::VT_IS_INPUT), 0); },
       "not marked as an input"},
      {"shape rank",
       [&](auto& p) { patch<uint32_t>(p, ptr_offset(plan, v0->shape()->lengths()), 9); }, "9 dims"},
      {"shape token kind",
       [&](auto& p) { patch<int64_t>(p, ptr_offset(plan, v0->shape()->tokens()->data()), 77); },
       "unknown operation 77"},
      {"shape symbol id",
       [&](auto& p) { patch<int64_t>(p, ptr_offset(plan, v0->shape()->tokens()->data() + 1), 5); },
       "uses symbol 5 of 2"},
      {"shape length",
       [&](auto& p) { patch<uint32_t>(p, ptr_offset(plan, v0->shape()->lengths()->data()), 3); },
       "tokens"},
      {"shape length huge",
       [&](auto& p) {
         patch<uint32_t>(p, ptr_offset(plan, v0->shape()->lengths()->data()), 0xfffffff0u);
       },
       "tokens"},
      {"expression malformed",
       [&](auto& p) {
         // gather output dim 1 (max(...)): turn its last operator into a constant.
         const auto* t = gather_out->shape()->tokens();
         const uint32_t len0 = gather_out->shape()->lengths()->Get(0);
         const uint32_t len1 = gather_out->shape()->lengths()->Get(1);
         patch<int64_t>(p, ptr_offset(plan, t->data() + len0 + len1 - 2), 0);
       },
       "leftover operands"},
      {"node input",
       [&](auto& p) { patch<int32_t>(p, ptr_offset(plan, conv->inputs()->data()), 12345); },
       "refers to value 12345"},
      {"node input -2",
       [&](auto& p) { patch<int32_t>(p, ptr_offset(plan, conv->inputs()->data()), -2); },
       "refers to value -2"},
      {"node output",
       [&](auto& p) { patch<int32_t>(p, ptr_offset(plan, conv->outputs()->data()), -1); },
       "refers to value -1"},
      {"two producers",
       [&](auto& p) {
         patch<int32_t>(p, ptr_offset(plan, g->nodes()->Get(1)->outputs()->data()),
                        conv->outputs()->Get(0));
       },
       "two producers"},
      {"attr type",
       [&](auto& p) {
         const fbs::Attr* a = conv->attrs()->Get(0);
         patch<uint8_t>(p, field_offset(plan, a, fbs::Attr::VT_VALUE_TYPE), 9);
       },
       "unknown or missing value (type 9)"},
      {"attr duplicate",
       [&](auto& p) {
         const fbs::Attr* a0 = conv->attrs()->Get(0);
         const fbs::Attr* a1 = conv->attrs()->Get(1);
         ASSERT_EQ(a0->name()->size(), 5u);  // "alpha" vs "auto_pad": make both "alpha"
         patch<uint32_t>(p, field_offset(plan, a1, fbs::Attr::VT_NAME),
                         static_cast<uint32_t>(ptr_offset(plan, a0->name()) -
                                               field_offset(plan, a1, fbs::Attr::VT_NAME)));
       },
       "appears twice"},
      {"symbol dim",
       [&](auto& p) { patch<int32_t>(p, field_offset(plan, sym0, fbs::Symbol::VT_DIM), 8); },
       "refers to dim 8"},
      {"symbol value",
       [&](auto& p) {
         patch<int32_t>(p, field_offset(plan, sym0, fbs::Symbol::VT_INPUT_VALUE), 500);
       },
       "refers to value 500"},
      {"graph input",
       [&](auto& p) { patch<int32_t>(p, ptr_offset(plan, g->inputs()->data()), -5); },
       "refers to value -5"},
      {"graph input twice",
       [&](auto& p) { patch<int32_t>(p, ptr_offset(plan, g->inputs()->data() + 1), 0); },
       "listed twice"},
      {"graph input not an input",
       [&](auto& p) { patch<int32_t>(p, ptr_offset(plan, g->inputs()->data() + 1), 2); },
       "not marked as an input"},
      {"graph output",
       [&](auto& p) { patch<int32_t>(p, ptr_offset(plan, g->outputs()->data()), 1 << 24); },
       "graph output 0 refers to value"},
      {"arena offset",
       [&](auto& p) {
         patch<int64_t>(p, ptr_offset(plan, p0->value_offsets()->data()), int64_t{1} << 20);
       },
       "outside the 1048576-byte arena"},
      {"arena offset -2",
       [&](auto& p) { patch<int64_t>(p, ptr_offset(plan, p0->value_offsets()->data()), -2); },
       "arena offset -2"},
      {"arena overrun",
       [&](auto& p) {
         // conv output is [16,4,8,8] float at max: 16 KiB at offset 0; move it to the end.
         const int conv_out = conv->outputs()->Get(0);
         patch<int64_t>(p, ptr_offset(plan, p0->value_offsets()->data() + conv_out),
                        (int64_t{1} << 20) - 100);
       },
       "overruns the 1048576-byte arena"},
      {"arena size small",
       [&](auto& p) { patch<uint64_t>(p, field_offset(plan, p0, P::VT_ARENA_SIZE), 4096); },
       "workspace"},
      {"workspace",
       [&](auto& p) {
         patch<uint64_t>(p, field_offset(plan, p0, P::VT_WORKSPACE_SIZE), ~uint64_t{0} - 10);
       },
       "workspace"},
      {"range value",
       [&](auto& p) { patch<int32_t>(p, field_offset(plan, r0, fbs::InputRange::VT_VALUE), 2); },
       "not a graph input"},
      {"range duplicate",
       [&](auto& p) { patch<int32_t>(p, field_offset(plan, r1, fbs::InputRange::VT_VALUE), 0); },
       "given twice"},
      {"range min > max",
       [&](auto& p) { patch<int64_t>(p, ptr_offset(plan, r0->min()->data()), 1000); },
       "min <= opt <= max"},
      {"range negative",
       [&](auto& p) { patch<int64_t>(p, ptr_offset(plan, r0->min()->data()), -1); },
       "min <= opt <= max"},
      {"range max huge",
       [&](auto& p) {
         for (int d = 0; d < 4; ++d) {
           patch<int64_t>(p, ptr_offset(plan, r0->max()->data() + d), int64_t{1} << 40);
         }
       },
       "too large"},
      {"weight dims overflow with a zero",
       [&](auto& p) {
         // "empty_u8" is [0,3]: [0, 2^62] still has zero bytes but its volume must not overflow.
         const fbs::WeightEntry* e = meta->weights()->Get(6);
         patch<int64_t>(p, ptr_offset(plan, e->dims()->data() + 1), int64_t{1} << 62);
         const fbs::Value* v = g->values()->Get(static_cast<flatbuffers::uoffset_t>(e->value()));
         ASSERT_EQ(v->shape()->tokens()->Get(3), 3);
         patch<int64_t>(p, ptr_offset(plan, v->shape()->tokens()->data() + 3), int64_t{1} << 62);
       },
       "does not fit in the weights section"},
      {"range max huge",
       [&](auto& p) {
         for (int d = 0; d < 4; ++d) {
           patch<int64_t>(p, ptr_offset(plan, r0->max()->data() + d), int64_t{1} << 40);
         }
       },
       "too large"},
      {"weight dims overflow with a zero",
       [&](auto& p) {
         // "empty_u8" is [0,3]: [0, 2^62] still has zero bytes but its volume must not overflow.
         const fbs::WeightEntry* e = meta->weights()->Get(6);
         patch<int64_t>(p, ptr_offset(plan, e->dims()->data() + 1), int64_t{1} << 62);
         const fbs::Value* v = g->values()->Get(static_cast<flatbuffers::uoffset_t>(e->value()));
         ASSERT_EQ(v->shape()->tokens()->Get(3), 3);
         patch<int64_t>(p, ptr_offset(plan, v->shape()->tokens()->data() + 3), int64_t{1} << 62);
       },
       "does not fit in the weights section"},
      {"range rank", [&](auto& p) { patch<uint32_t>(p, ptr_offset(plan, r0->max()), 3); }, "rank"},
      {"tactic count", [&](auto& p) { patch<uint32_t>(p, ptr_offset(plan, p0->tactics()), 2); },
       "tactics for 5 layers"},
      {"offsets count",
       [&](auto& p) { patch<uint32_t>(p, ptr_offset(plan, p0->value_offsets()), 3); },
       "arena offsets for"},
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> bad = plan;
    c.patch(bad);
    resign(bad);
    expect_corrupt(bad, c.needle, c.name);
  }
}

TEST(PlanCorruption, ResignedRandomMetadataFlipsNeverCrash) {
  // Flips behind valid checksums exercise the FlatBuffers verifier and the semantic checks.
  // Some flips land in data that may legally take any value (a name, a double); the reader must
  // then return a desc that writes back to the same bytes.
  const std::vector<uint8_t> plan = must_write(make_desc());
  const Sec m = section(plan, format::kSectionMetadata);
  std::mt19937 rng(99);
  int rejected = 0;
  // KILN_PLAN_FUZZ_ITERATIONS raises the count for a longer local run (e.g. under ASan).
  const char* env = std::getenv("KILN_PLAN_FUZZ_ITERATIONS");
  const int kIterations = env != nullptr ? std::max(1, std::atoi(env)) : 3000;
  for (int i = 0; i < kIterations; ++i) {
    std::vector<uint8_t> bad = plan;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) {
      // Mostly the metadata; sometimes anywhere after the magic and format version.
      const size_t at =
          rng() % 4 != 0 ? m.offset + rng() % m.size : 12 + rng() % (plan.size() - 12);
      if (rng() % 2 == 0 || at + 4 > bad.size()) {
        bad[at] ^= static_cast<uint8_t>(1 + rng() % 255);
      } else {
        // A 32-bit word set to an "interesting" value: ids, counts, offsets, enums.
        static const uint32_t kInteresting[] = {
            0, 1, 2, 3, 4, 7, 8, 0xff, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe};
        const uint32_t v =
            rng() % 3 == 0 ? static_cast<uint32_t>(rng() % 64) : kInteresting[rng() % 12];
        format::put_u32(bad.data() + (at & ~size_t{3}), v);
      }
    }
    resign(bad);
    auto r = read_plan(bad);
    if (!r.is_ok()) {
      ++rejected;
      EXPECT_TRUE(r.status().code() == StatusCode::kCorruptData ||
                  r.status().code() == StatusCode::kVersionMismatch)
          << r.status().to_string();
      continue;
    }
    auto again = write_plan(*r);
    EXPECT_TRUE(again.is_ok()) << again.status().to_string();
  }
  EXPECT_GT(rejected, kIterations / 4);
}

// Assembles a plan around hand-made metadata (for structures the writer never produces).
std::vector<uint8_t> assemble(const flatbuffers::FlatBufferBuilder& fbb) {
  const size_t hs = format::header_size(2);
  const size_t meta_size = fbb.GetSize();
  const size_t woff = format::align_up(hs + meta_size, 256);
  std::vector<uint8_t> p(woff, 0);
  std::memcpy(p.data(), format::kMagic, 8);
  format::put_u32(p.data() + 8, kPlanFormatVersion);
  format::put_u32(p.data() + 12, static_cast<uint32_t>(hs));
  format::put_u32(p.data() + 16, kVersion);
  format::put_u32(p.data() + 24, 2);
  std::memcpy(p.data() + hs, fbb.GetBufferPointer(), meta_size);
  uint8_t* e = p.data() + format::kFixedHeaderSize;
  format::put_u32(e, format::kSectionMetadata);
  format::put_u64(e + 8, hs);
  format::put_u64(e + 16, meta_size);
  format::put_u32(e + 32, format::kSectionWeights);
  format::put_u64(e + 40, woff);
  format::put_u64(e + 48, 0);
  resign(p);
  return p;
}

TEST(PlanCorruption, SharedTablesCannotAmplifyAllocations) {
  // 10k values that all point at one Value table with a 64 KiB name: 640 MiB of names if the
  // reader decoded them naively, from a ~100 KiB file.
  flatbuffers::FlatBufferBuilder fbb;
  auto name = fbb.CreateString(std::string(1 << 16, 'n'));
  auto tokens = fbb.CreateVector(std::vector<int64_t>{});
  auto lengths = fbb.CreateVector(std::vector<uint32_t>{});
  auto sl = fbs::CreateSymList(fbb, tokens, lengths);
  auto value = fbs::CreateValue(fbb, name, 0, sl);
  std::vector<flatbuffers::Offset<fbs::Value>> values(10000, value);
  auto vv = fbb.CreateVector(values);
  auto graph = fbs::CreateGraph(fbb, 0, vv);
  auto dev = fbs::CreateDeviceDescriptor(fbb, fbb.CreateString("cpu"));
  fbs::FinishMetadataBuffer(fbb, fbs::CreateMetadata(fbb, dev, 0, 0, graph));
  expect_corrupt(assemble(fbb), "refers to more data than it contains", "shared values");
}

TEST(PlanCorruption, HandMadeMetadataEdgeCases) {
  {  // No graph.
    flatbuffers::FlatBufferBuilder fbb;
    auto dev = fbs::CreateDeviceDescriptor(fbb, fbb.CreateString("cpu"));
    fbs::FinishMetadataBuffer(fbb, fbs::CreateMetadata(fbb, dev));
    expect_corrupt(assemble(fbb), "no graph", "no graph");
  }
  {  // No device.
    flatbuffers::FlatBufferBuilder fbb;
    fbs::FinishMetadataBuffer(fbb, fbs::CreateMetadata(fbb));
    expect_corrupt(assemble(fbb), "no device", "no device");
  }
  {  // A graph but no profiles.
    flatbuffers::FlatBufferBuilder fbb;
    auto graph = fbs::CreateGraph(fbb);
    auto dev = fbs::CreateDeviceDescriptor(fbb, fbb.CreateString("cpu"));
    fbs::FinishMetadataBuffer(fbb, fbs::CreateMetadata(fbb, dev, 0, 0, graph));
    expect_corrupt(assemble(fbb), "no optimization profiles", "no profiles");
  }
  {  // A value without a shape, and a too-long expression.
    for (int which = 0; which < 2; ++which) {
      flatbuffers::FlatBufferBuilder fbb;
      std::vector<int64_t> toks;
      for (int i = 0; i < 3000; ++i) {
        toks.push_back(0);
        toks.push_back(1);
        if (i > 0) {
          toks.push_back(2);
          toks.push_back(0);
        }
      }
      auto tokens = fbb.CreateVector(toks);
      auto lengths = fbb.CreateVector(std::vector<uint32_t>{static_cast<uint32_t>(toks.size())});
      auto sl = fbs::CreateSymList(fbb, tokens, lengths);
      auto value = fbs::CreateValue(fbb, fbb.CreateString("v"), 0,
                                    which == 0 ? flatbuffers::Offset<fbs::SymList>() : sl);
      auto vv = fbb.CreateVector(std::vector<flatbuffers::Offset<fbs::Value>>{value});
      auto graph = fbs::CreateGraph(fbb, 0, vv);
      auto dev = fbs::CreateDeviceDescriptor(fbb, fbb.CreateString("cpu"));
      fbs::FinishMetadataBuffer(fbb, fbs::CreateMetadata(fbb, dev, 0, 0, graph));
      expect_corrupt(assemble(fbb), which == 0 ? "has no shape" : "tokens (at most 4096)",
                     "value shape");
    }
  }
  {  // An int64 vector that is only 4-byte aligned (flatbuffers::Verifier lets it through).
    int misaligned = 0;
    for (int pad = 0; pad < 2; ++pad) {
      flatbuffers::FlatBufferBuilder fbb;
      auto lengths = fbb.CreateVector(std::vector<uint32_t>{2});
      fbb.StartVector(4, sizeof(uint32_t));
      for (int k = 0; k < 4; ++k) fbb.PushElement<uint32_t>(k == 1 ? 7 : 0);  // tokens (0, 7)
      flatbuffers::Offset<flatbuffers::Vector<int64_t>> tokens(fbb.EndVector(2));
      if (pad) fbb.PushElement<uint32_t>(0);  // shifts the vector by 4 bytes in the final buffer
      auto sl = fbs::CreateSymList(fbb, tokens, lengths);
      auto value = fbs::CreateValue(fbb, fbb.CreateString("v"), 0, sl);
      auto vv = fbb.CreateVector(std::vector<flatbuffers::Offset<fbs::Value>>{value});
      auto graph = fbs::CreateGraph(fbb, 0, vv);
      auto dev = fbs::CreateDeviceDescriptor(fbb, fbb.CreateString("cpu"));
      fbs::FinishMetadataBuffer(fbb, fbs::CreateMetadata(fbb, dev, 0, 0, graph));
      const auto* t =
          fbs::GetMetadata(fbb.GetBufferPointer())->graph()->values()->Get(0)->shape()->tokens();
      const size_t rel =
          static_cast<size_t>(reinterpret_cast<const uint8_t*>(t->data()) - fbb.GetBufferPointer());
      if (rel % 8 != 0) {
        ++misaligned;
        expect_corrupt(assemble(fbb), "misaligned vector", "misaligned int64 vector");
      } else {
        expect_corrupt(assemble(fbb), "no optimization profiles", "aligned int64 vector");
      }
    }
    EXPECT_EQ(misaligned, 1);
  }
  {  // Metadata that is not a FlatBuffer at all.
    flatbuffers::FlatBufferBuilder fbb;
    auto dev = fbs::CreateDeviceDescriptor(fbb, fbb.CreateString("cpu"));
    fbs::FinishMetadataBuffer(fbb, fbs::CreateMetadata(fbb, dev));
    std::vector<uint8_t> p = assemble(fbb);
    p[format::header_size(2)] = 0xff;  // root offset past the end
    p[format::header_size(2) + 1] = 0xff;
    resign(p);
    expect_corrupt(p, "failed FlatBuffers verification", "root offset");
  }
}

TEST(PlanWriter, RefusesWhatItCannotEncode) {
  EngineDesc desc = make_desc();
  desc.backend = static_cast<Backend>(9);
  EXPECT_FALSE(write_plan(desc).is_ok());
  desc = make_desc();
  desc.hardware_compatibility = static_cast<HardwareCompatibility>(9);
  EXPECT_FALSE(write_plan(desc).is_ok());
  desc = make_desc();
  desc.profiles[1].tactics.pop_back();
  EXPECT_FALSE(write_plan(desc).is_ok());
  desc = make_desc();
  desc.profiles[0].value_offsets.push_back(-1);
  EXPECT_FALSE(write_plan(desc).is_ok());
  desc = make_desc();
  SymExpr e = SymExpr::symbol(0);
  for (int i = 0; i < 3000; ++i) e = e + SymExpr::symbol(1);
  desc.graph.value(0).shape[0] = e;
  auto r = write_plan(desc);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().to_string().find("more than a plan can hold"), std::string::npos)
      << r.status().to_string();
}

}  // namespace
}  // namespace kiln::plan::plan_test
