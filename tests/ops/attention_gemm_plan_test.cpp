// The GEMM plan of Attention's cuBLAS tactic (src/ops/attention/gemm_plan.h), checked on the CPU:
// the plan is run on the host exactly as cublas_batched runs it on the device (GEMMs with
// cuBLAS's column-major semantics: transpose of A, leading dims, the strided calls that
// for_each_strided_call lists or the pointer arrays the fill kernel writes; the row softmax with
// P written over its row's float scores) with every access bounds-checked, and the result is
// compared with the reference kernel. Covers every layout, qkv_packed, lead ranks 0-2, masks
// (float / bool, broadcast), fully masked rows, nan_to_zero, D = 0, each batch mode (strided,
// pointer arrays, per-lead-dim loop) and batches split into several calls.
#include "ops/attention/gemm_plan.h"
#include "ops/op_check_util.h"

#include <cmath>
#include <limits>
#include <sstream>

namespace kiln::testing::attention_gemm_plan_test {
namespace {

using ops::AttentionBatchMode;
using ops::AttentionConfig;
using ops::AttentionGemm;
using ops::AttentionGemmPlan;
using ops::AttentionGeometry;
using ops::AttentionStridedCall;
using ops::kMaxGemmBatch;

struct Sizes {
  int64_t b, h, sq, sk, d, dv;
};

struct Layouts {
  std::string q = "bhsd", k = "bhsd", v = "bhsd", y = "bhsd";
};

Dims layout_shape(const std::string& layout, int64_t b, int64_t h, int64_t s, int64_t e) {
  if (layout == "bhsd") return Dims{b, h, s, e};
  if (layout == "bhds") return Dims{b, h, e, s};
  if (layout == "bshd") return Dims{b, s, h, e};
  return Dims{b, s, h * e};
}

OpCase attention_case(const Sizes& n, const Layouts& l, DataType dt, std::mt19937& rng,
                      HostTensor mask = {}) {
  OpCase c;
  c.op = "Attention";
  c.attrs.set("q_layout", l.q);
  c.attrs.set("k_layout", l.k);
  c.attrs.set("v_layout", l.v);
  c.attrs.set("y_layout", l.y);
  c.attrs.set("num_heads", n.h);
  c.inputs.push_back(random_tensor(dt, layout_shape(l.q, n.b, n.h, n.sq, n.d), rng, -2, 2));
  c.inputs.push_back(random_tensor(dt, layout_shape(l.k, n.b, n.h, n.sk, n.d), rng, -2, 2));
  c.inputs.push_back(random_tensor(dt, layout_shape(l.v, n.b, n.h, n.sk, n.dv), rng, -2, 2));
  if (!mask.empty()) c.inputs.push_back(std::move(mask));
  return c;
}

// A buffer the emulation reads and writes element by element, bounds-checked.
struct Buf {
  void* data = nullptr;
  DataType dtype = DataType::kFloat32;
  int64_t numel = 0;
  int64_t* faults = nullptr;  // out-of-bounds accesses

  double load(int64_t i) const {
    if (i < 0 || i >= numel) {
      ++*faults;
      return 0;
    }
    return load_as_double(data, dtype, i);
  }
  void store(int64_t i, double v) const {
    if (i < 0 || i >= numel) {
      ++*faults;
      return;
    }
    store_from_double(data, dtype, i, v);
  }
};

// C [m x n] = alpha · op(A) · B, column-major (cuBLAS's definition); operands at element offsets.
void host_gemm(const AttentionGemm& g, double alpha, const Buf& a, int64_t ao, const Buf& b,
               int64_t bo, const Buf& c, int64_t co) {
  for (int64_t j = 0; j < g.n; ++j) {
    for (int64_t i = 0; i < g.m; ++i) {
      double acc = 0;
      for (int64_t l = 0; l < g.k; ++l) {
        const double av = g.trans_a ? a.load(ao + l + i * g.lda) : a.load(ao + i + l * g.lda);
        acc += av * b.load(bo + l + j * g.ldb);
      }
      c.store(co + i + j * g.ldc, alpha * acc);
    }
  }
}

// One GEMM of the plan over every batch entry, as the tactic issues it. Operands: base element
// offsets (the qkv_packed column blocks) in their buffers.
void run_gemm(const AttentionGemmPlan& p, const AttentionGemm& g, double alpha, const Buf& a,
              int64_t a0, const Buf& b, int64_t b0, const Buf& c, int64_t c0, int64_t* entries) {
  if (p.mode == AttentionBatchMode::kPointers) {
    // The fill kernel's addresses, then cublasGemmBatchedEx over [first, first + count).
    ops::for_each_pointer_call(p, [&](int64_t first, int64_t count) {
      EXPECT_LE(count, kMaxGemmBatch);
      for (int64_t e = first; e < first + count; ++e) {
        const int64_t ao = a0 + ops::attention_entry_offset(g.a, p.heads, e);
        const int64_t bo = b0 + ops::attention_entry_offset(g.b, p.heads, e);
        const int64_t co = c0 + ops::attention_entry_offset(g.c, p.heads, e);
        // cuBLAS's tensor-core kernels need every matrix of a pointer array 16-byte aligned
        // (the buffers' bases are, in this mode).
        for (auto [off, buf] : {std::pair{ao, &a}, std::pair{bo, &b}, std::pair{co, &c}}) {
          EXPECT_EQ(off * static_cast<int64_t>(dtype_size(buf->dtype)) % 16, 0) << "entry " << e;
        }
        host_gemm(g, alpha, a, ao, b, bo, c, co);
        ++*entries;
      }
      return true;
    });
    return;
  }
  ops::for_each_strided_call(p, g, [&](const AttentionStridedCall& call) {
    EXPECT_LE(call.count, kMaxGemmBatch);
    for (int64_t e = 0; e < call.count; ++e) {
      host_gemm(g, alpha, a, a0 + call.a_offset + e * call.a_stride, b,
                b0 + call.b_offset + e * call.b_stride, c, c0 + call.c_offset + e * call.c_stride);
      ++*entries;
    }
    return true;
  });
}

// The tactic's three steps on the host; Y in the reference's shape. Checks the plan's batch
// mode when `mode` is given.
Result<HostTensor> emulate(const OpCase& c, const HostTensor& y_like, bool aligned,
                           AttentionBatchMode* mode_out = nullptr) {
  KILN_ASSIGN_OR_RETURN(AttentionConfig cfg, ops::attention_config(c.attrs));
  const bool has_mask = c.inputs.size() > 3 && !c.inputs[3].empty();
  const Dims mdims = has_mask ? c.inputs[3].shape() : Dims{};
  KILN_ASSIGN_OR_RETURN(
      AttentionGeometry g,
      ops::attention_geometry(cfg, c.inputs[0].shape(), c.inputs[1].shape(), c.inputs[2].shape(),
                              y_like.shape(), has_mask ? &mdims : nullptr));
  const DataType dt = c.inputs[0].dtype();
  KILN_ASSIGN_OR_RETURN(AttentionGemmPlan p, ops::plan_attention_gemms(g, cfg.k, dt, aligned));
  if (mode_out) *mode_out = p.mode;
  HostTensor y(dt, y_like.shape());
  if (g.sk == 0) {  // the tactic zero-fills Y
    std::fill(y.as<unsigned char>(), y.as<unsigned char>() + y.nbytes(), 0);
    return y;
  }
  int64_t faults = 0;
  auto buf = [&](const HostTensor& t) { return Buf{t.data(), t.dtype(), t.numel(), &faults}; };
  // The workspace as the device sees it: scores, then (unused here) pointer arrays.
  const size_t scratch = ops::attention_gemm_scratch_bytes(p);
  EXPECT_EQ(p.scores_bytes % 256, 0u);
  EXPECT_GE(p.scores_bytes, static_cast<size_t>(p.batch * p.score_stride) * 4);
  EXPECT_EQ(scratch, p.scores_bytes + 5 * p.pointer_array_bytes);
  std::vector<float> ws((p.scores_bytes + 3) / 4 + 1);
  const Buf scores{ws.data(), DataType::kFloat32, static_cast<int64_t>(p.scores_bytes / 4),
                   &faults};
  const int64_t es = static_cast<int64_t>(dtype_size(dt));
  const Buf probs{ws.data(), dt, static_cast<int64_t>(p.scores_bytes) / es, &faults};

  int64_t entries = 0;
  if (g.d == 0) {
    std::fill(ws.begin(), ws.end(), 0.f);
  } else {
    run_gemm(p, p.scores, g.scale, buf(c.inputs[1]), g.k_offset, buf(c.inputs[0]), g.q_offset,
             scores, 0, &entries);
    EXPECT_EQ(entries, g.batch);
  }
  // Row softmax, P over the row's scores.
  const HostTensor* mask = has_mask ? &c.inputs[3] : nullptr;
  std::vector<float> z(static_cast<size_t>(g.sk));
  for (int64_t e = 0; e < p.batch; ++e) {
    for (int64_t i = 0; i < p.sq; ++i) {
      const int64_t row = e * p.score_stride + i * p.sk;
      const int64_t moff = ops::attention_mask_row(p, e, i);
      float mx = -INFINITY;
      for (int64_t j = 0; j < p.sk; ++j) {
        float v = static_cast<float>(scores.load(row + j));
        if (mask) {
          const int64_t mi = moff + j * p.mask.d;
          EXPECT_TRUE(mi >= 0 && mi < mask->numel()) << "mask index " << mi;
          if (mi < 0 || mi >= mask->numel()) return internal_error("mask index out of range");
          v += mask->dtype() == DataType::kBool ? (mask->as<uint8_t>()[mi] ? 0.f : g.mask_fill)
                                                : static_cast<float>(mask->get_double(mi));
        }
        z[j] = v;
        mx = std::fmax(mx, v);
      }
      float sum = 0;
      for (int64_t j = 0; j < p.sk; ++j) {
        z[j] = std::exp(z[j] - mx);
        sum += z[j];
      }
      const float inv = 1.f / sum;
      for (int64_t j = 0; j < p.sk; ++j) {
        float pv = z[j] * inv;
        if (g.nan_to_zero && std::isnan(pv)) pv = 0;
        probs.store(row * 4 / es + j, pv);
      }
    }
  }
  entries = 0;
  run_gemm(p, p.pv, 1.0, buf(c.inputs[2]), g.v_offset, probs, 0, buf(y), 0, &entries);
  EXPECT_EQ(entries, g.batch);
  if (faults) return internal_error(std::to_string(faults) + " accesses out of bounds");
  return y;
}

// The reference kernel's output.
HostTensor reference(const OpCase& c) {
  auto runs = run_cpu_tactics(c);
  EXPECT_TRUE(runs.is_ok()) << runs.status().to_string();
  if (!runs.is_ok()) return {};
  for (const auto& r : *runs) {
    if (r.tactic == "Attention/cpu-ref/reference") return r.outputs[0];
  }
  ADD_FAILURE() << "no reference run";
  return {};
}

std::string describe(const Sizes& n, const Layouts& l, DataType dt) {
  std::ostringstream o;
  o << dtype_name(dt) << " " << l.q << "/" << l.k << "/" << l.v << "/" << l.y << " b" << n.b << " h"
    << n.h << " sq" << n.sq << " sk" << n.sk << " d" << n.d << " dv" << n.dv;
  return o.str();
}

// Emulates the case (16-byte aligned buffers or not) and compares with the reference; returns
// the batch mode the plan chose.
AttentionBatchMode check(const OpCase& c, const std::string& what, bool aligned) {
  const HostTensor want = reference(c);
  if (want.empty()) return AttentionBatchMode::kStrided;
  AttentionBatchMode mode = AttentionBatchMode::kStrided;
  auto got = emulate(c, want, aligned, &mode);
  EXPECT_TRUE(got.is_ok()) << what << ": " << got.status().to_string();
  if (got.is_ok()) {
    const double tol = float_tol(want.dtype());
    EXPECT_TRUE(all_close(*got, want, tol, tol)) << what << (aligned ? "" : " (unaligned)");
  }
  return mode;
}

const char* mode_name(AttentionBatchMode m) {
  return m == AttentionBatchMode::kStrided    ? "strided"
         : m == AttentionBatchMode::kPointers ? "pointers"
                                              : "loop";
}

TEST(AttentionGemmPlan, EveryLayoutAndDtypeMatchesTheReference) {
  std::mt19937 rng(1);
  const Layouts layouts[] = {
      {},
      {"bhsd", "bhds", "bhsd", "bhsd"},
      {"bshd", "bshd", "bshd", "bshd"},
      {"bsd", "bsd", "bsd", "bsd"},
      {"bsd", "bhds", "bshd", "bhsd"},
      {"bshd", "bsd", "bhsd", "bsd"},
  };
  // Odd lengths (1, 7, 129), Sq != Sk, Dv != D, one-entry batches.
  const Sizes sizes[] = {{1, 1, 1, 1, 4, 4},    {2, 3, 5, 7, 8, 6},   {1, 2, 17, 33, 4, 8},
                         {2, 2, 7, 129, 16, 8}, {3, 1, 129, 7, 8, 8}, {2, 4, 1, 9, 8, 16}};
  for (DataType dt : kFloatDtypes) {
    for (const Layouts& l : layouts) {
      for (const Sizes& n : sizes) {
        OpCase c = attention_case(n, l, dt, rng);
        c.attrs.set("scale", 0.37);
        for (bool aligned : {true, false}) check(c, describe(n, l, dt), aligned);
      }
    }
  }
}

TEST(AttentionGemmPlan, BatchModeFollowsTheLayoutAndAlignment) {
  std::mt19937 rng(2);
  struct Case {
    Sizes n;
    Layouts l;
    DataType dt;
    AttentionBatchMode aligned, unaligned;
  };
  using M = AttentionBatchMode;
  const Layouts bsd{"bsd", "bsd", "bsd", "bsd"};
  const Layouts bshd{"bshd", "bshd", "bshd", "bshd"};
  const Case cases[] = {
      // Heads-major tensors: one stride per operand whatever the alignment.
      {{2, 3, 5, 7, 8, 6}, {}, DataType::kFloat32, M::kStrided, M::kStrided},
      {{2, 3, 5, 7, 8, 8},
       {"bhsd", "bhds", "bhsd", "bhsd"},
       DataType::kFloat16,
       M::kStrided,
       M::kStrided},
      // bsd / bshd with B and H > 1: pointer arrays when every matrix is 16-byte aligned.
      {{2, 3, 5, 7, 8, 8}, bsd, DataType::kFloat32, M::kPointers, M::kLoop},
      {{2, 12, 9, 9, 64, 64}, bshd, DataType::kFloat16, M::kPointers, M::kLoop},
      // Head stride of 6 float16 (12 bytes): misaligned matrices, so the loop.
      {{2, 3, 5, 7, 6, 8}, bsd, DataType::kFloat16, M::kLoop, M::kLoop},
      // B = 1 or H = 1: the remaining lead dim has one stride.
      {{1, 3, 5, 7, 8, 8}, bsd, DataType::kFloat32, M::kStrided, M::kStrided},
      {{3, 1, 5, 7, 8, 8}, bshd, DataType::kBFloat16, M::kStrided, M::kStrided},
  };
  for (const Case& k : cases) {
    OpCase c = attention_case(k.n, k.l, k.dt, rng);
    const std::string what = describe(k.n, k.l, k.dt);
    EXPECT_STREQ(mode_name(check(c, what, true)), mode_name(k.aligned)) << what;
    EXPECT_STREQ(mode_name(check(c, what, false)), mode_name(k.unaligned)) << what;
  }
}

TEST(AttentionGemmPlan, PackedQkv) {
  std::mt19937 rng(3);
  for (DataType dt : kFloatDtypes) {
    for (const Sizes& n : {Sizes{2, 12, 9, 9, 64, 64}, Sizes{1, 3, 7, 7, 8, 8}}) {
      OpCase c;
      c.op = "Attention";
      for (const char* a : {"q_layout", "k_layout", "v_layout", "y_layout"}) {
        c.attrs.set(a, std::string("bsd"));
      }
      c.attrs.set("num_heads", n.h);
      c.attrs.set("qkv_packed", int64_t{1});
      c.attrs.set("nan_to_zero", int64_t{1});
      HostTensor packed = random_tensor(dt, Dims{n.b, n.sq, 3 * n.h * n.d}, rng, -2, 2);
      HostTensor mask = random_tensor(DataType::kBool, Dims{n.b, 1, n.sq, n.sk}, rng, -1, 1);
      c.inputs = {packed, packed, packed, mask};
      const std::string what = "packed " + describe(n, {}, dt);
      for (bool aligned : {true, false}) check(c, what, aligned);
    }
  }
}

TEST(AttentionGemmPlan, MasksFullyMaskedRowsAndMaskFill) {
  std::mt19937 rng(4);
  const Sizes n{2, 3, 7, 11, 8, 8};
  for (const Layouts& l : {Layouts{}, Layouts{"bsd", "bsd", "bsd", "bsd"}}) {
    for (DataType dt : kFloatDtypes) {
      for (DataType mdt : {DataType::kFloat32, DataType::kFloat16, DataType::kBool}) {
        for (Dims md : {Dims{2, 1, 1, 11}, Dims{2, 1, 7, 11}, Dims{11}, Dims{3, 7, 11},
                        Dims{2, 3, 7, 11}, Dims{7, 1}}) {
          HostTensor mask = mdt == DataType::kBool ? random_tensor(mdt, md, rng, -1, 1)
                                                   : random_tensor(mdt, md, rng, -4, 0);
          if (mdt == DataType::kBool && md.rank() == 4 && md[2] == 7) {
            // Entry (0, *), query 3: every key masked (NaN row, or 0 with nan_to_zero).
            for (int64_t j = 0; j < 11; ++j) mask.as<uint8_t>()[3 * 11 + j] = 0;
          }
          for (int mode = 0; mode < 3; ++mode) {
            OpCase c = attention_case(n, l, dt, rng, mask);
            c.attrs.set("scale", 0.25);
            if (mode == 1) c.attrs.set("nan_to_zero", int64_t{1});
            if (mode == 2) c.attrs.set("mask_fill", -3.0);
            check(c,
                  describe(n, l, dt) + " mask " + std::string(dtype_name(mdt)) + md.to_string() +
                      " mode " + std::to_string(mode),
                  true);
          }
        }
      }
    }
  }
}

TEST(AttentionGemmPlan, LeadRanksZeroAndOne) {
  std::mt19937 rng(5);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16}) {
    OpCase c;
    c.op = "Attention";
    c.attrs.set("k_layout", std::string("bhds"));
    c.inputs = {random_tensor(dt, Dims{6, 33, 16}, rng), random_tensor(dt, Dims{6, 16, 70}, rng),
                random_tensor(dt, Dims{6, 70, 8}, rng)};
    EXPECT_STREQ(mode_name(check(c, "rank 3", true)), "strided");
    c.inputs = {random_tensor(dt, Dims{33, 16}, rng), random_tensor(dt, Dims{16, 70}, rng),
                random_tensor(dt, Dims{70, 8}, rng)};
    EXPECT_STREQ(mode_name(check(c, "rank 2", false)), "strided");
  }
}

TEST(AttentionGemmPlan, EmptyHeadDimAndNoKeys) {
  std::mt19937 rng(6);
  // D = 0: the scores are 0 (the tactic zero-fills them), the mask alone decides.
  HostTensor mask = random_tensor(DataType::kFloat32, Dims{2, 1, 4, 5}, rng, -3, 0);
  OpCase c = attention_case({2, 3, 4, 5, 0, 8}, {}, DataType::kFloat32, rng, mask);
  check(c, "D = 0", true);
  OpCase none = attention_case({2, 3, 4, 0, 8, 8}, {}, DataType::kFloat16, rng);
  check(none, "Sk = 0", true);
}

TEST(AttentionGemmPlan, LargeBatchesSplitIntoCalls) {
  std::mt19937 rng(7);
  // 132000 entries: strided calls of at most 65535; pointer calls likewise; the loop over H
  // batches 66000 per head, again split.
  const Sizes n{66000, 2, 1, 2, 4, 4};
  OpCase strided = attention_case(n, {}, DataType::kFloat32, rng);
  EXPECT_STREQ(mode_name(check(strided, "strided 132000", true)), "strided");
  OpCase bsd = attention_case(n, {"bsd", "bsd", "bsd", "bsd"}, DataType::kFloat32, rng);
  EXPECT_STREQ(mode_name(check(bsd, "bsd 132000", true)), "pointers");
  EXPECT_STREQ(mode_name(check(bsd, "bsd 132000", false)), "loop");
}

TEST(AttentionGemmPlan, WorkspaceLayout) {
  std::mt19937 rng(8);
  OpCase c = attention_case({2, 3, 5, 7, 8, 8}, {}, DataType::kFloat16, rng);
  auto cfg = ops::attention_config(c.attrs);
  ASSERT_TRUE(cfg.is_ok());
  auto g = ops::attention_geometry(*cfg, c.inputs[0].shape(), c.inputs[1].shape(),
                                   c.inputs[2].shape(), Dims{2, 3, 5, 8}, nullptr);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  auto p = ops::plan_attention_gemms(*g, cfg->k, DataType::kFloat16, true);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  // 5 x 7 = 35 scores per entry, padded to 36 (16 bytes); 6 entries of 144 bytes = 864 -> 1024.
  EXPECT_EQ(p->score_stride, 36);
  EXPECT_EQ(p->scores_bytes, 1024u);
  // P rows: 7 float16 in a row of 7 floats (14 float16).
  EXPECT_EQ(p->p_ld, 14);
  // 6 pointers = 48 bytes -> one 256-byte array each for K, Q, S, V, Y.
  EXPECT_EQ(p->pointer_array_bytes, 256u);
  EXPECT_EQ(ops::attention_gemm_scratch_bytes(*p), 1024u + 5 * 256u);
}

TEST(AttentionGemmPlan, RefusesWhatCublasCannotTake) {
  AttentionGeometry g;
  g.lead_rank = 3;
  g.lead[0] = g.lead[1] = g.lead[2] = 1;
  g.sq = g.sk = g.d = g.dv = 4;
  auto three = ops::plan_attention_gemms(g, ops::AttentionLayout::kBhsd, DataType::kFloat32, true);
  ASSERT_FALSE(three.is_ok());
  EXPECT_NE(three.status().message().find("at most two"), std::string::npos)
      << three.status().to_string();
  // Sk above INT_MAX: a GEMM dim cuBLAS's int arguments cannot hold.
  g.lead_rank = 0;
  g.sk = int64_t{3} << 30;
  g.k.s = g.d;
  g.v.s = g.dv;
  g.q.s = g.d;
  g.y.s = g.dv;
  auto big = ops::plan_attention_gemms(g, ops::AttentionLayout::kBhsd, DataType::kFloat16, true);
  ASSERT_FALSE(big.is_ok());
  EXPECT_NE(big.status().message().find("INT_MAX"), std::string::npos) << big.status().to_string();
  auto bad_type = ops::plan_attention_gemms(g, ops::AttentionLayout::kBhsd, DataType::kInt8, true);
  EXPECT_FALSE(bad_type.is_ok());
}

}  // namespace
}  // namespace kiln::testing::attention_gemm_plan_test
