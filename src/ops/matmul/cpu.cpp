// CPU tactics of MatMul:
//   reference  naive triple loop, every dtype (float accumulation; int64 wrap-around for ints).
//   blas       cblas_sgemm per output matrix (one call when B is shared and A is dense), float32.
//   blocked    kiln's cache-blocked GEMM (Goto-style packing, 6x16 micro-kernel with an AVX2/FMA
//              variant picked at run time), threaded over output tiles; a constant B is packed
//              once at creation (so refitting B means re-creating the kernel). float32.
// blas calls OpenBLAS, which uses its own threads (args.threads is only used for the epilogue).
// All apply the fused Bias and activation in their epilogue.
#include "backends/cpu/thread_pool.h"
#include "ops/matmul/matmul.h"

#include <cblas.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string_view>
#include <type_traits>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KILN_MATMUL_X86 1
#endif

namespace kiln::ops {

namespace {

bool attr_flag(const ir::Attrs& attrs, const char* name) {
  return attrs.get_int(name, 0) != 0;
}

const TensorView* bias_view(const ExecArgs& args) {
  return args.inputs.size() > 2 && args.inputs[2].data != nullptr ? &args.inputs[2] : nullptr;
}

Status check_bias(const TensorView* bias, int64_t n) {
  if (bias == nullptr) return Status::ok();
  if (bias->shape.rank() != 1 || (bias->shape[0] != n && bias->shape[0] != 1)) {
    return invalid_argument("MatMul Bias " + bias->shape.to_string() +
                            " does not match N=" + std::to_string(n));
  }
  return Status::ok();
}

// v + bias, then the activation, for output column `col`.
inline float finish(float v, const float* bias, int64_t bias_len, int64_t col,
                    const MatMulEpilogue& ep) {
  if (bias != nullptr) v += bias[bias_len == 1 ? 0 : col];
  if (ep.has_activation) v = apply_activation(ep.kind, v, ep.alpha, ep.beta);
  return v;
}

// Applies bias/activation to `rows` rows of n floats in place (zeroing them first if asked: the
// K=0 case, where the product is empty).
void epilogue_rows(float* y, int64_t rows, int64_t n, const float* bias, int64_t bias_len,
                   const MatMulEpilogue& ep, bool zero_first, ThreadPool* pool) {
  if (!zero_first && bias == nullptr && !ep.has_activation) return;
  int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(n, 1));
  parallel_for(pool, rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* row = y + r * n;
      for (int64_t j = 0; j < n; ++j)
        row[j] = finish(zero_first ? 0.f : row[j], bias, bias_len, j, ep);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// reference

template <typename T>
void reference_matmul(const MatMulGeometry& g, const T* a, const T* b, const T* bias,
                      int64_t bias_len, const MatMulEpilogue& ep, T* y) {
  for (int64_t bi = 0; bi < g.batch; ++bi) {
    int64_t ao, bo;
    g.offsets(bi, &ao, &bo);
    const T* A = a + ao;
    const T* B = b + bo;
    T* Y = y + bi * g.m * g.n;
    for (int64_t i = 0; i < g.m; ++i) {
      for (int64_t j = 0; j < g.n; ++j) {
        if constexpr (std::is_integral_v<T>) {
          // Unsigned arithmetic: integer overflow wraps instead of being undefined.
          uint64_t acc = 0;
          for (int64_t p = 0; p < g.k; ++p) {
            T av = g.trans_a ? A[p * g.m + i] : A[i * g.k + p];
            T bv = g.trans_b ? B[j * g.k + p] : B[p * g.n + j];
            acc += static_cast<uint64_t>(static_cast<int64_t>(av)) *
                   static_cast<uint64_t>(static_cast<int64_t>(bv));
          }
          if (bias != nullptr) {
            acc += static_cast<uint64_t>(static_cast<int64_t>(bias[bias_len == 1 ? 0 : j]));
          }
          Y[i * g.n + j] = static_cast<T>(static_cast<int64_t>(acc));
        } else {
          float acc = 0.f;
          for (int64_t p = 0; p < g.k; ++p) {
            float av = static_cast<float>(g.trans_a ? A[p * g.m + i] : A[i * g.k + p]);
            float bv = static_cast<float>(g.trans_b ? B[j * g.k + p] : B[p * g.n + j]);
            acc += av * bv;
          }
          if (bias != nullptr) acc += static_cast<float>(bias[bias_len == 1 ? 0 : j]);
          if (ep.has_activation) acc = apply_activation(ep.kind, acc, ep.alpha, ep.beta);
          Y[i * g.n + j] = static_cast<T>(acc);
        }
      }
    }
  }
}

class ReferenceMatMul final : public Kernel {
 public:
  ReferenceMatMul(bool ta, bool tb, MatMulEpilogue ep) : ta_(ta), tb_(tb), ep_(ep) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& a = args.inputs[0];
    const TensorView& b = args.inputs[1];
    KILN_ASSIGN_OR_RETURN(MatMulGeometry g, matmul_geometry(a.shape, b.shape, ta_, tb_));
    const TensorView* bias = bias_view(args);
    KILN_RETURN_IF_ERROR(check_bias(bias, g.n));
    Status st;
    dispatch_dtype(a.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, Half> ||
                    std::is_same_v<T, BFloat16> || std::is_same_v<T, int32_t> ||
                    std::is_same_v<T, int64_t>) {
        reference_matmul<T>(g, a.as<T>(), b.as<T>(), bias ? bias->as<T>() : nullptr,
                            bias ? bias->numel() : 0, ep_, args.outputs[0].as<T>());
      } else {
        st = unsupported("MatMul reference: dtype " + std::string(dtype_name(a.dtype)));
      }
    });
    return st;
  }

 private:
  bool ta_, tb_;
  MatMulEpilogue ep_;
};

bool supports_reference(const KernelInfo& info) {
  DataType dt = info.input_dtype(0);
  return dt == DataType::kFloat32 || dt == DataType::kFloat16 || dt == DataType::kBFloat16 ||
         dt == DataType::kInt32 || dt == DataType::kInt64;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new ReferenceMatMul(attr_flag(info.attrs(), "transpose_a"),
                                                     attr_flag(info.attrs(), "transpose_b"),
                                                     matmul_epilogue(info.attrs())));
}

// ---------------------------------------------------------------------------------------------
// blas

bool fits_blas(const NodeShapes& s, bool ta, bool tb) {
  if (s.inputs.size() < 2) return false;
  Result<MatMulGeometry> g = matmul_geometry(s.inputs[0], s.inputs[1], ta, tb);
  if (!g.is_ok()) return true;  // a mismatch is reported by execute, not by tactic selection
  constexpr int64_t kMax = INT_MAX;
  return g->m * g->batch <= kMax && g->n <= kMax && g->k <= kMax;
}

class BlasMatMul final : public Kernel {
 public:
  BlasMatMul(bool ta, bool tb, MatMulEpilogue ep) : ta_(ta), tb_(tb), ep_(ep) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& a = args.inputs[0];
    const TensorView& b = args.inputs[1];
    KILN_ASSIGN_OR_RETURN(MatMulGeometry g, matmul_geometry(a.shape, b.shape, ta_, tb_));
    const TensorView* bias = bias_view(args);
    KILN_RETURN_IF_ERROR(check_bias(bias, g.n));
    const float* bp = bias ? bias->as<float>() : nullptr;
    int64_t bias_len = bias ? bias->numel() : 0;
    float* y = args.outputs[0].as<float>();
    int64_t rows = g.batch * g.m;
    if (rows == 0 || g.n == 0) return Status::ok();
    if (g.k == 0) {  // empty product; BLAS would reject lda = 0
      epilogue_rows(y, rows, g.n, bp, bias_len, ep_, true, args.threads);
      return Status::ok();
    }
    const float* A = a.as<float>();
    const float* B = b.as<float>();
    CBLAS_TRANSPOSE ta = g.trans_a ? CblasTrans : CblasNoTrans;
    CBLAS_TRANSPOSE tb = g.trans_b ? CblasTrans : CblasNoTrans;
    int lda = static_cast<int>(g.trans_a ? g.m : g.k);
    int ldb = static_cast<int>(g.trans_b ? g.k : g.n);
    int n = static_cast<int>(g.n), k = static_cast<int>(g.k);
    if (g.b_shared() && g.a_dense() && !g.trans_a) {
      // All output matrices share B and A's matrices are consecutive rows: one GEMM.
      cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(rows), n, k, 1.f, A, lda, B, ldb, 0.f, y,
                  n);
    } else {
      for (int64_t bi = 0; bi < g.batch; ++bi) {
        int64_t ao, bo;
        g.offsets(bi, &ao, &bo);
        cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(g.m), n, k, 1.f, A + ao, lda, B + bo,
                    ldb, 0.f, y + bi * g.m * g.n, n);
      }
    }
    epilogue_rows(y, rows, g.n, bp, bias_len, ep_, false, args.threads);
    return Status::ok();
  }

 private:
  bool ta_, tb_;
  MatMulEpilogue ep_;
};

bool supports_blas(const KernelInfo& info) {
  if (info.input_dtype(0) != DataType::kFloat32) return false;
  bool ta = attr_flag(info.attrs(), "transpose_a"), tb = attr_flag(info.attrs(), "transpose_b");
  return fits_blas(info.max, ta, tb) && fits_blas(info.min, ta, tb) && fits_blas(info.opt, ta, tb);
}

Result<std::unique_ptr<Kernel>> create_blas(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new BlasMatMul(attr_flag(info.attrs(), "transpose_a"),
                                                attr_flag(info.attrs(), "transpose_b"),
                                                matmul_epilogue(info.attrs())));
}

// ---------------------------------------------------------------------------------------------
// blocked

constexpr int64_t kMR = 6, kNR = 16;    // micro-tile (12 AVX accumulators)
constexpr int64_t kMC = 96, kKC = 256;  // A block: 96 KiB (L2)
constexpr int64_t kNC = 512;            // B block: 512 KiB
constexpr int64_t kMaxSlots = 16;       // concurrent tile workers (each with its own buffers)

using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c);

// c[MR][NR] = sum_p a[p][0..MR) (x) b[p][0..NR).
void micro_generic(int64_t kc, const float* a, const float* b, float* c) {
  float acc[kMR][kNR] = {};
  for (int64_t p = 0; p < kc; ++p) {
    for (int64_t i = 0; i < kMR; ++i) {
      float ai = a[i];
      for (int64_t j = 0; j < kNR; ++j) acc[i][j] += ai * b[j];
    }
    a += kMR;
    b += kNR;
  }
  for (int64_t i = 0; i < kMR; ++i) {
    for (int64_t j = 0; j < kNR; ++j) c[i * kNR + j] = acc[i][j];
  }
}

#ifdef KILN_MATMUL_X86
__attribute__((target("avx2,fma"))) void micro_avx2(int64_t kc, const float* a, const float* b,
                                                    float* c) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 av = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(av, b0, c00);
    c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(av, b0, c10);
    c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(av, b0, c20);
    c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(av, b0, c30);
    c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(av, b0, c40);
    c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(av, b0, c50);
    c51 = _mm256_fmadd_ps(av, b1, c51);
    a += kMR;
    b += kNR;
  }
  _mm256_storeu_ps(c + 0 * kNR, c00);
  _mm256_storeu_ps(c + 0 * kNR + 8, c01);
  _mm256_storeu_ps(c + 1 * kNR, c10);
  _mm256_storeu_ps(c + 1 * kNR + 8, c11);
  _mm256_storeu_ps(c + 2 * kNR, c20);
  _mm256_storeu_ps(c + 2 * kNR + 8, c21);
  _mm256_storeu_ps(c + 3 * kNR, c30);
  _mm256_storeu_ps(c + 3 * kNR + 8, c31);
  _mm256_storeu_ps(c + 4 * kNR, c40);
  _mm256_storeu_ps(c + 4 * kNR + 8, c41);
  _mm256_storeu_ps(c + 5 * kNR, c50);
  _mm256_storeu_ps(c + 5 * kNR + 8, c51);
}
#endif

// KILN_CPU_ISA=generic forces the portable micro-kernel (debugging, and its tests on AVX2 hosts).
MicroKernel pick_micro_kernel() {
  const char* isa = std::getenv("KILN_CPU_ISA");
  if (isa != nullptr && std::string_view(isa) == "generic") return micro_generic;
#ifdef KILN_MATMUL_X86
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return micro_avx2;
#endif
  return micro_generic;
}

int64_t ceil_div64(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// Packs rows [i0, i0+mc) x cols [p0, p0+kc) of op(A) (m x k) into MR-row panels, p-major:
// out[panel][p][MR], zero-padding the last panel.
void pack_a(const float* A, int64_t m, int64_t k, bool trans, int64_t i0, int64_t mc, int64_t p0,
            int64_t kc, float* out) {
  for (int64_t ip = 0; ip < mc; ip += kMR) {
    float* panel = out + (ip / kMR) * kc * kMR;
    int64_t rows = std::min(kMR, mc - ip);
    for (int64_t i = 0; i < kMR; ++i) {
      int64_t r = i0 + ip + i;
      if (i >= rows) {
        for (int64_t p = 0; p < kc; ++p) panel[p * kMR + i] = 0.f;
      } else if (trans) {  // A stored k x m
        for (int64_t p = 0; p < kc; ++p) panel[p * kMR + i] = A[(p0 + p) * m + r];
      } else {
        const float* src = A + r * k + p0;
        for (int64_t p = 0; p < kc; ++p) panel[p * kMR + i] = src[p];
      }
    }
  }
}

// Packs rows [p0, p0+kc) x cols [j0, j0+nc) of op(B) (k x n) into NR-column panels:
// out[panel * panel_stride + p * NR + j], zero-padding the last panel.
void pack_b(const float* B, int64_t k, int64_t n, bool trans, int64_t p0, int64_t kc, int64_t j0,
            int64_t nc, float* out, int64_t panel_stride) {
  for (int64_t jp = 0; jp < nc; jp += kNR) {
    float* panel = out + (jp / kNR) * panel_stride;
    int64_t cols = std::min(kNR, nc - jp);
    for (int64_t p = 0; p < kc; ++p) {
      float* dst = panel + p * kNR;
      if (trans) {  // B stored n x k
        for (int64_t j = 0; j < cols; ++j) dst[j] = B[(j0 + jp + j) * k + p0 + p];
      } else {
        const float* src = B + (p0 + p) * n + j0 + jp;
        for (int64_t j = 0; j < cols; ++j) dst[j] = src[j];
      }
      for (int64_t j = cols; j < kNR; ++j) dst[j] = 0.f;
    }
  }
}

struct BlockedPlan {
  int64_t tiles_m = 0, tiles_n = 0, tiles = 0, slots = 0;
  size_t slot_floats = 0;
};

class BlockedMatMul final : public Kernel {
 public:
  BlockedMatMul(bool ta, bool tb, MatMulEpilogue ep) : ta_(ta), tb_(tb), ep_(ep) {
    micro_ = pick_micro_kernel();
  }

  // Packs a constant B (every batch matrix, full K) into NR-column panels once.
  void prepack_b(const HostTensor& b) {
    const Dims& s = b.shape();
    int r = s.rank();
    bool tb = tb_ && r >= 2;
    int64_t k = r == 1 ? s[0] : (tb ? s[r - 1] : s[r - 2]);
    int64_t n = r == 1 ? 1 : (tb ? s[r - 2] : s[r - 1]);
    int64_t mats = 1;
    for (int i = 0; i + 2 < r; ++i) mats *= s[i];
    packed_shape_ = s;
    packed_panels_ = ceil_div64(n, kNR);
    packed_mat_floats_ = packed_panels_ * k * kNR;
    packed_b_.assign(static_cast<size_t>(mats * packed_mat_floats_), 0.f);
    if (k == 0 || n == 0) return;
    for (int64_t mb = 0; mb < mats; ++mb) {
      pack_b(b.as<float>() + mb * k * n, k, n, tb, 0, k, 0, n,
             packed_b_.data() + mb * packed_mat_floats_, k * kNR);
    }
    has_packed_b_ = true;
  }

  size_t workspace_size(const NodeShapes& shapes) const override {
    if (shapes.inputs.size() < 2) return 0;
    Result<MatMulGeometry> g = matmul_geometry(shapes.inputs[0], shapes.inputs[1], ta_, tb_);
    if (!g.is_ok()) return 0;
    BlockedPlan p = plan(*g, kMaxSlots, uses_packed_b(shapes.inputs[1]));
    return p.slots * p.slot_floats * sizeof(float);
  }

  Status execute(const ExecArgs& args) const override {
    const TensorView& a = args.inputs[0];
    const TensorView& b = args.inputs[1];
    KILN_ASSIGN_OR_RETURN(MatMulGeometry g, matmul_geometry(a.shape, b.shape, ta_, tb_));
    const TensorView* bias = bias_view(args);
    KILN_RETURN_IF_ERROR(check_bias(bias, g.n));
    const float* bp = bias ? bias->as<float>() : nullptr;
    int64_t bias_len = bias ? bias->numel() : 0;
    float* y = args.outputs[0].as<float>();
    if (g.batch == 0 || g.m == 0 || g.n == 0) return Status::ok();
    if (g.k == 0) {
      epilogue_rows(y, g.batch * g.m, g.n, bp, bias_len, ep_, true, args.threads);
      return Status::ok();
    }
    bool use_packed = uses_packed_b(b.shape);
    int64_t workers = args.threads ? args.threads->num_threads() : 1;
    BlockedPlan p = plan(g, std::min(kMaxSlots, workers), use_packed);
    size_t need = p.slots * p.slot_floats * sizeof(float);
    if (args.workspace_size < need || (need > 0 && args.workspace == nullptr)) {
      return resource_exhausted("MatMul blocked kernel needs " + std::to_string(need) +
                                " workspace bytes, got " + std::to_string(args.workspace_size));
    }
    float* ws = static_cast<float*>(args.workspace);
    const float* A = a.as<float>();
    const float* B = b.as<float>();
    parallel_for(args.threads, p.slots, 1, [&](int64_t s0, int64_t s1) {
      for (int64_t s = s0; s < s1; ++s) {
        float* a_buf = ws + s * p.slot_floats;
        float* b_buf = a_buf + kMC * kKC;
        for (int64_t t = s; t < p.tiles; t += p.slots) {
          run_tile(g, p, t, A, B, use_packed, bp, bias_len, y, a_buf, b_buf);
        }
      }
    });
    return Status::ok();
  }

 private:
  bool uses_packed_b(const Dims& b) const { return has_packed_b_ && b == packed_shape_; }

  // Output tiles and the per-slot buffer size (A block, plus a B block unless B is pre-packed).
  static BlockedPlan plan(const MatMulGeometry& g, int64_t max_slots, bool packed_b) {
    BlockedPlan p;
    p.tiles_m = ceil_div64(g.m, kMC);
    p.tiles_n = ceil_div64(g.n, kNC);
    p.tiles = g.batch * p.tiles_m * p.tiles_n;
    p.slots = std::max<int64_t>(1, std::min(max_slots, p.tiles));
    p.slot_floats = static_cast<size_t>(kMC * kKC + (packed_b ? 0 : kKC * kNC));
    return p;
  }

  void run_tile(const MatMulGeometry& g, const BlockedPlan& p, int64_t t, const float* A,
                const float* B, bool use_packed, const float* bias, int64_t bias_len, float* y,
                float* a_buf, float* b_buf) const {
    int64_t jt = t % p.tiles_n;
    int64_t it = (t / p.tiles_n) % p.tiles_m;
    int64_t bi = t / (p.tiles_n * p.tiles_m);
    int64_t ao, bo;
    g.offsets(bi, &ao, &bo);
    const float* Am = A + ao;
    const float* Bm = B + bo;
    float* Y = y + bi * g.m * g.n;
    int64_t i0 = it * kMC, mc = std::min(kMC, g.m - i0);
    int64_t j0 = jt * kNC, nc = std::min(kNC, g.n - j0);
    alignas(64) float acc[kMR * kNR];
    for (int64_t p0 = 0; p0 < g.k; p0 += kKC) {
      int64_t kc = std::min(kKC, g.k - p0);
      bool first = p0 == 0, last = p0 + kc >= g.k;
      pack_a(Am, g.m, g.k, g.trans_a, i0, mc, p0, kc, a_buf);
      const float* panels;
      int64_t panel_stride;
      if (use_packed) {
        int64_t mat = bo / (g.k * g.n);
        panels = packed_b_.data() + mat * packed_mat_floats_ + (j0 / kNR) * g.k * kNR + p0 * kNR;
        panel_stride = g.k * kNR;
      } else {
        pack_b(Bm, g.k, g.n, g.trans_b, p0, kc, j0, nc, b_buf, kc * kNR);
        panels = b_buf;
        panel_stride = kc * kNR;
      }
      for (int64_t jr = 0; jr < nc; jr += kNR) {
        int64_t nr = std::min(kNR, nc - jr);
        const float* bpanel = panels + (jr / kNR) * panel_stride;
        for (int64_t ir = 0; ir < mc; ir += kMR) {
          int64_t mr = std::min(kMR, mc - ir);
          micro_(kc, a_buf + (ir / kMR) * kc * kMR, bpanel, acc);
          float* C = Y + (i0 + ir) * g.n + j0 + jr;
          for (int64_t i = 0; i < mr; ++i) {
            float* crow = C + i * g.n;
            const float* arow = acc + i * kNR;
            if (first && last) {
              for (int64_t j = 0; j < nr; ++j) {
                crow[j] = finish(arow[j], bias, bias_len, j0 + jr + j, ep_);
              }
            } else if (first) {
              for (int64_t j = 0; j < nr; ++j) crow[j] = arow[j];
            } else if (last) {
              for (int64_t j = 0; j < nr; ++j) {
                crow[j] = finish(crow[j] + arow[j], bias, bias_len, j0 + jr + j, ep_);
              }
            } else {
              for (int64_t j = 0; j < nr; ++j) crow[j] += arow[j];
            }
          }
        }
      }
    }
  }

  bool ta_, tb_;
  MatMulEpilogue ep_;
  MicroKernel micro_ = micro_generic;
  bool has_packed_b_ = false;
  Dims packed_shape_;
  int64_t packed_panels_ = 0, packed_mat_floats_ = 0;
  std::vector<float> packed_b_;
};

bool supports_blocked(const KernelInfo& info) {
  return info.input_dtype(0) == DataType::kFloat32;
}

Result<std::unique_ptr<Kernel>> create_blocked(const KernelInfo& info) {
  auto kernel = std::make_unique<BlockedMatMul>(attr_flag(info.attrs(), "transpose_a"),
                                                attr_flag(info.attrs(), "transpose_b"),
                                                matmul_epilogue(info.attrs()));
  if (const HostTensor* b = info.constant(1)) kernel->prepack_b(*b);
  return std::unique_ptr<Kernel>(std::move(kernel));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference,
     kFloatDtypes | DtypeSet{DataType::kInt32, DataType::kInt64}, supports_reference,
     create_reference},
    {"blas", TacticSource::kCpuBlas, DtypeSet{DataType::kFloat32}, supports_blas, create_blas},
    {"blocked", TacticSource::kCpuOptimized, DtypeSet{DataType::kFloat32}, supports_blocked,
     create_blocked},
};

}  // namespace

std::span<const TacticDef> matmul_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
