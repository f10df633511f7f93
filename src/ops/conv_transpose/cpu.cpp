// CPU tactics of ConvTranspose. Both implement the fused epilogue act(y + B).
//   reference  scatter loops over any number of spatial dims: every input pixel adds its
//              weighted kernel window into a float image of the output (the workspace)
//   gemm_col2im  2-D float32: per image and group, one cblas_sgemm computes
//              col = W_g^T * X_g ([M/group * KH * KW, block of input pixels]) into the
//              workspace, then col2im adds the columns into Y (threaded over output channels)
#include <cblas.h>

#include "backends/cpu/thread_pool.h"
#include "ops/common/float_kernel_utils.h"
#include "ops/common/strided_range.h"
#include "ops/conv_transpose/conv_transpose.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace kiln::ops {

namespace {

constexpr int kMaxSpatial = Dims::kMaxDims - 2;

// Concrete extents of one run.
struct Geometry {
  int64_t n = 0, c = 0, m = 0, groups = 1, cg = 0, mg = 0;
  int spatial = 0;
  std::array<int64_t, kMaxSpatial> in{}, k{}, out{}, pad{};  // pad = pad_begin
  int64_t in_size = 1, k_size = 1, out_size = 1;
};

Status make_geometry(const ConvTransposeParams& p, const ExecArgs& args, Geometry* g) {
  if (args.inputs.size() < 2 || args.outputs.size() != 1) {
    return internal_error("ConvTranspose kernel: expected >= 2 inputs and 1 output");
  }
  const Dims& x = args.inputs[0].shape;
  const Dims& w = args.inputs[1].shape;
  const Dims& y = args.outputs[0].shape;
  if (x.rank() != p.spatial + 2 || w.rank() != x.rank() || y.rank() != x.rank()) {
    return invalid_argument("ConvTranspose: X " + x.to_string() + ", W " + w.to_string() +
                            " and Y " + y.to_string() + " ranks do not match");
  }
  g->spatial = p.spatial;
  g->n = x[0];
  g->c = x[1];
  g->groups = p.group;
  g->cg = g->c / p.group;
  g->mg = w[1];
  g->m = g->mg * p.group;
  if (w[0] != g->c || y[1] != g->m || y[0] != g->n) {
    return invalid_argument("ConvTranspose: X " + x.to_string() + " and W " + w.to_string() +
                            " do not give Y " + y.to_string());
  }
  for (int d = 0; d < p.spatial; ++d) {
    g->in[d] = x[2 + d];
    g->k[d] = w[2 + d];
    g->out[d] = y[2 + d];
    g->pad[d] = p.pad_begin(d, g->in[d], g->k[d], g->out[d]);
    g->in_size *= g->in[d];
    g->k_size *= g->k[d];
    g->out_size *= g->out[d];
  }
  return Status::ok();
}

const void* bias_of(const ExecArgs& args) {
  return args.inputs.size() > 2 ? args.inputs[2].data : nullptr;
}

Result<ConvTransposeParams> params_of(const KernelInfo& info) {
  if (info.input(0).shape.size() < 3) return invalid_argument("X must have rank >= 3");
  return read_conv_transpose_params(info.attrs(), static_cast<int>(info.input(0).shape.size()) - 2);
}

// ---------------------------------------------------------------- reference

class ReferenceKernel final : public Kernel {
 public:
  explicit ReferenceKernel(ConvTransposeParams p)
      : p_(std::move(p)), ep_(make_fused_epilogue(p_)) {}

  // One float image of the output, [M, O...].
  size_t workspace_size(const NodeShapes& shapes) const override {
    const Dims& y = shapes.outputs[0];
    int64_t per_image = 1;
    for (int d = 1; d < y.rank(); ++d) per_image *= y[d];
    return static_cast<size_t>(per_image) * sizeof(float);
  }

  Status execute(const ExecArgs& args) const override {
    Geometry g;
    KILN_RETURN_IF_ERROR(make_geometry(p_, args, &g));
    if (args.outputs[0].numel() == 0) return Status::ok();
    const size_t need = static_cast<size_t>(g.m * g.out_size) * sizeof(float);
    if (args.workspace == nullptr || args.workspace_size < need) {
      return resource_exhausted("ConvTranspose reference: workspace of " +
                                std::to_string(args.workspace_size) + " bytes, needs " +
                                std::to_string(need));
    }
    float* acc = static_cast<float*>(args.workspace);
    return dispatch_float_dtype("ConvTranspose kernel", args.inputs[0].dtype, [&](auto tag) {
      using T = decltype(tag);
      run(g, args.inputs[0].as<const T>(), args.inputs[1].as<const T>(),
          static_cast<const T*>(bias_of(args)), args.outputs[0].as<T>(), acc);
    });
  }

 private:
  template <typename T>
  void run(const Geometry& g, const T* x, const T* w, const T* b, T* y, float* acc) const {
    const int s = g.spatial;
    std::array<int64_t, kMaxSpatial> ic{}, kc{};
    for (int64_t n = 0; n < g.n; ++n) {
      std::fill(acc, acc + g.m * g.out_size, 0.f);
      for (int64_t c = 0; c < g.c; ++c) {
        const int64_t grp = c / g.cg;
        for (int64_t ii = 0; ii < g.in_size; ++ii) {
          for (int64_t d = s - 1, r = ii; d >= 0; --d) {
            ic[d] = r % g.in[d];
            r /= g.in[d];
          }
          const float xv = static_cast<float>(x[(n * g.c + c) * g.in_size + ii]);
          for (int64_t ki = 0; ki < g.k_size; ++ki) {
            for (int64_t d = s - 1, r = ki; d >= 0; --d) {
              kc[d] = r % g.k[d];
              r /= g.k[d];
            }
            int64_t oi = 0;
            bool inside = true;
            for (int d = 0; d < s; ++d) {
              const int64_t o = ic[d] * p_.strides[d] - g.pad[d] + kc[d] * p_.dilations[d];
              if (o < 0 || o >= g.out[d]) {
                inside = false;
                break;
              }
              oi = oi * g.out[d] + o;
            }
            if (!inside) continue;
            for (int64_t ml = 0; ml < g.mg; ++ml) {
              const float wv = static_cast<float>(w[((c * g.mg) + ml) * g.k_size + ki]);
              acc[(grp * g.mg + ml) * g.out_size + oi] += xv * wv;
            }
          }
        }
      }
      for (int64_t m = 0; m < g.m; ++m) {
        const float bias = b != nullptr ? static_cast<float>(b[m]) : 0.f;
        T* ym = y + (n * g.m + m) * g.out_size;
        const float* am = acc + m * g.out_size;
        for (int64_t o = 0; o < g.out_size; ++o) ym[o] = static_cast<T>(ep_(am[o] + bias));
      }
    }
  }

  ConvTransposeParams p_;
  FusedEpilogue ep_;
};

bool supports_reference(const KernelInfo& info) {
  return is_floating(info.input_dtype(0)) && params_of(info).is_ok() &&
         info.input(0).shape.size() - 2 <= static_cast<size_t>(kMaxSpatial);
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(ConvTransposeParams p, params_of(info));
  return std::unique_ptr<Kernel>(new ReferenceKernel(std::move(p)));
}

// ---------------------------------------------------------------- GEMM + col2im

constexpr int64_t kColBudgetFloats = int64_t{2} << 20;  // 8 MiB of columns per block

// Input rows per column block for W [C, mg, KH, KW] and input width iw.
int64_t rows_per_block(int64_t mg_kk, int64_t ih, int64_t iw) {
  const int64_t rows = kColBudgetFloats / std::max<int64_t>(1, mg_kk * iw);
  return std::clamp<int64_t>(rows, 1, std::max<int64_t>(ih, 1));
}

class GemmCol2imKernel final : public Kernel {
 public:
  explicit GemmCol2imKernel(ConvTransposeParams p)
      : p_(std::move(p)), ep_(make_fused_epilogue(p_)) {}

  size_t workspace_size(const NodeShapes& shapes) const override {
    const Dims& x = shapes.inputs[0];
    const Dims& w = shapes.inputs[1];
    const int64_t mg_kk = w[1] * w[2] * w[3];
    return static_cast<size_t>(mg_kk * rows_per_block(mg_kk, x[2], x[3]) * x[3]) * sizeof(float);
  }

  Status execute(const ExecArgs& args) const override {
    Geometry g;
    KILN_RETURN_IF_ERROR(make_geometry(p_, args, &g));
    if (args.inputs[0].dtype != DataType::kFloat32 || args.inputs[1].dtype != DataType::kFloat32) {
      return unsupported("ConvTranspose gemm_col2im: float32 only");
    }
    if (args.outputs[0].numel() == 0) return Status::ok();
    float* y = args.outputs[0].as<float>();
    const int64_t mg_kk = g.mg * g.k_size;
    const int64_t ih_n = g.in[0], iw_n = g.in[1];
    if (g.in_size == 0 || mg_kk == 0) {
      std::memset(y, 0, args.outputs[0].nbytes());  // no taps: only the bias
    } else {
      int64_t rows = rows_per_block(mg_kk, ih_n, iw_n);
      // Fit the workspace actually given (it may be sized for other shapes).
      const int64_t fit = static_cast<int64_t>(args.workspace_size / sizeof(float)) /
                          std::max<int64_t>(1, mg_kk * iw_n);
      rows = std::min(rows, fit);
      if (args.workspace == nullptr || rows < 1) {
        return resource_exhausted("ConvTranspose gemm_col2im: workspace of " +
                                  std::to_string(args.workspace_size) + " bytes, needs " +
                                  std::to_string(mg_kk * iw_n * sizeof(float)));
      }
      run(g, args.inputs[0].as<const float>(), args.inputs[1].as<const float>(), y,
          static_cast<float*>(args.workspace), rows, args.threads);
    }
    const float* b = static_cast<const float*>(bias_of(args));
    if (b == nullptr && !ep_.has_act) return Status::ok();
    const int64_t plane = g.out_size;
    parallel_for(args.threads, g.n * g.m, std::max<int64_t>(1, 16384 / std::max<int64_t>(plane, 1)),
                 [&](int64_t p0, int64_t p1) {
                   for (int64_t pl = p0; pl < p1; ++pl) {
                     const float bias = b != nullptr ? b[pl % g.m] : 0.f;
                     float* yp = y + pl * plane;
                     for (int64_t o = 0; o < plane; ++o) yp[o] = ep_(yp[o] + bias);
                   }
                 });
    return Status::ok();
  }

 private:
  void run(const Geometry& g, const float* x, const float* w, float* y, float* col, int64_t rows,
           ThreadPool* threads) const {
    const int64_t kh_n = g.k[0], kw_n = g.k[1], ih_n = g.in[0], iw_n = g.in[1];
    const int64_t oh_n = g.out[0], ow_n = g.out[1];
    const int64_t sh = p_.strides[0], sw = p_.strides[1];
    const int64_t dh = p_.dilations[0], dw = p_.dilations[1];
    const int64_t ph = g.pad[0], pw = g.pad[1];
    const int64_t mg_kk = g.mg * g.k_size;
    std::memset(y, 0, static_cast<size_t>(g.n * g.m * g.out_size) * sizeof(float));
    for (int64_t n = 0; n < g.n; ++n) {
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const float* xg = x + (n * g.c + grp * g.cg) * g.in_size;
        const float* wg = w + grp * g.cg * mg_kk;  // [cg, mg * KH * KW]
        float* yg = y + (n * g.m + grp * g.mg) * g.out_size;
        for (int64_t r0 = 0; r0 < ih_n; r0 += rows) {
          const int64_t nr = std::min(rows, ih_n - r0), nb = nr * iw_n;
          // col [mg*KH*KW, nb] = W_g^T [mg*KH*KW, cg] * X_g[:, block] [cg, nb]
          cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(mg_kk),
                      static_cast<int>(nb), static_cast<int>(g.cg), 1.f, wg,
                      static_cast<int>(mg_kk), xg + r0 * iw_n, static_cast<int>(g.in_size), 0.f,
                      col, static_cast<int>(nb));
          // col2im: each output channel owns its plane, so channels run in parallel.
          parallel_for(threads, g.mg,
                       std::max<int64_t>(1, 8192 / std::max<int64_t>(1, g.k_size * nb)),
                       [&](int64_t m0, int64_t m1) {
                         for (int64_t m = m0; m < m1; ++m) {
                           float* ym = yg + m * g.out_size;
                           for (int64_t kh = 0; kh < kh_n; ++kh) {
                             for (int64_t kw = 0; kw < kw_n; ++kw) {
                               const float* crow = col + ((m * kh_n + kh) * kw_n + kw) * nb;
                               const int64_t off_w = kw * dw - pw;
                               int64_t lo, hi;
                               valid_range(off_w, sw, ow_n, iw_n, &lo, &hi);
                               for (int64_t r = 0; r < nr; ++r) {
                                 const int64_t oh = (r0 + r) * sh - ph + kh * dh;
                                 if (oh < 0 || oh >= oh_n) continue;
                                 float* yrow = ym + oh * ow_n + off_w;
                                 const float* c = crow + r * iw_n;
                                 if (sw == 1) {
                                   for (int64_t i = lo; i < hi; ++i) yrow[i] += c[i];
                                 } else {
                                   for (int64_t i = lo; i < hi; ++i) yrow[i * sw] += c[i];
                                 }
                               }
                             }
                           }
                         }
                       });
        }
      }
    }
  }

  ConvTransposeParams p_;
  FusedEpilogue ep_;
};

bool supports_gemm_col2im(const KernelInfo& info) {
  if (info.input(0).shape.size() != 4 || info.input_dtype(0) != DataType::kFloat32) return false;
  if (!params_of(info).is_ok()) return false;
  // cblas takes int extents.
  for (const NodeShapes* s : {&info.opt, &info.max}) {
    if (s->inputs.size() < 2 || s->inputs[0].volume() > INT32_MAX ||
        s->inputs[1].volume() > INT32_MAX) {
      return false;
    }
  }
  return true;
}

Result<std::unique_ptr<Kernel>> create_gemm_col2im(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(ConvTransposeParams p, params_of(info));
  return std::unique_ptr<Kernel>(new GemmCol2imKernel(std::move(p)));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kFloatDtypes, supports_reference, create_reference},
    {"gemm_col2im", TacticSource::kCpuBlas, DtypeSet{DataType::kFloat32}, supports_gemm_col2im,
     create_gemm_col2im},
};

}  // namespace

std::span<const TacticDef> conv_transpose_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
