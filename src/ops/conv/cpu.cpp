// CPU tactics of Conv. Every tactic implements the fused epilogue act(conv + B + Z).
//   reference    direct loops over any number of spatial dims, either layout (channels_last);
//                reads W at run time
//   im2col_blas  2-D: im2col of a block of output positions into the workspace, then one
//                cblas_sgemm per group and block; W packed to float at creation
//   gemm_1x1     2-D 1x1 stride-1 unpadded float32: cblas_sgemm straight on X (no im2col)
//   direct       2-D threaded direct convolution: rows of 4 output channels accumulated in
//                stack tiles (vectorizable inner loop over the output row)
//   depthwise    2-D group == C (one input channel per group): output-stationary, threaded,
//                with an unrolled 3x3 path for interior pixels
#include <cblas.h>

#include "backends/cpu/thread_pool.h"
#include "ops/common/float_kernel_utils.h"
#include "ops/common/strided_range.h"
#include "ops/conv/conv.h"

#include <algorithm>
#include <array>

namespace kiln::ops {

namespace {

constexpr int kMaxSpatial = Dims::kMaxDims - 2;

// Concrete extents of one run.
struct Geometry {
  int64_t n = 0, c = 0, m = 0, groups = 1, cg = 0, mg = 0;
  int spatial = 0;
  std::array<int64_t, kMaxSpatial> in{}, k{}, out{};
  int64_t in_size = 1, k_size = 1, out_size = 1;
};

Geometry make_geometry(const ConvParams& p, const Dims& x, const Dims& w, const Dims& y) {
  Geometry g;
  g.spatial = p.spatial;
  g.n = x[0];
  g.c = x[channel_dim(p.channels_last, x.rank())];
  g.m = w[0];
  g.groups = p.group;
  g.cg = g.c / p.group;
  g.mg = g.m / p.group;
  for (int d = 0; d < p.spatial; ++d) {
    g.in[d] = x[spatial_dim(p.channels_last, d)];
    g.k[d] = w[2 + d];
    g.out[d] = y[spatial_dim(p.channels_last, d)];
    g.in_size *= g.in[d];
    g.k_size *= g.k[d];
    g.out_size *= g.out[d];
  }
  return g;
}

template <typename T>
float bias_at(const T* b, int64_t m) {
  return b != nullptr ? static_cast<float>(b[m]) : 0.f;
}

// y[i] = ep(acc[i] + bias + z[i]) for one output row; acc may alias y when T is float.
template <typename T>
void finish_row(const FusedEpilogue& ep, float bias, const float* acc, const T* z, T* y,
                int64_t n) {
  if (z != nullptr) {
    for (int64_t i = 0; i < n; ++i) {
      y[i] = static_cast<T>(ep(acc[i] + bias + static_cast<float>(z[i])));
    }
  } else if (ep.has_act) {
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(ep(acc[i] + bias));
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(acc[i] + bias);
  }
}

// Pointers of one run.
struct Operands {
  const void* x = nullptr;
  const void* w = nullptr;
  const void* b = nullptr;
  const void* z = nullptr;
  void* y = nullptr;
};

Status check_args(const ExecArgs& args, Operands* ops) {
  if (args.inputs.size() < 2 || args.outputs.size() != 1) {
    return internal_error("Conv kernel: expected >= 2 inputs and 1 output");
  }
  ops->x = args.inputs[0].data;
  ops->w = args.inputs[1].data;
  ops->y = args.outputs[0].data;
  if (args.inputs.size() > 2) ops->b = args.inputs[2].data;
  if (args.inputs.size() > 3 && args.inputs[3].data != nullptr) {
    if (!(args.inputs[3].shape == args.outputs[0].shape)) {
      return invalid_argument("Conv: residual Z " + args.inputs[3].shape.to_string() +
                              " does not match the output " + args.outputs[0].shape.to_string());
    }
    ops->z = args.inputs[3].data;
  }
  return Status::ok();
}

// W converted to float, same layout [M, C/group, k...].
std::vector<float> pack_weights(const HostTensor& w) {
  std::vector<float> out(static_cast<size_t>(w.numel()));
  for (int64_t i = 0; i < w.numel(); ++i) out[i] = static_cast<float>(w.get_double(i));
  return out;
}

Result<ConvParams> params_of(const KernelInfo& info) {
  if (info.input(0).shape.size() < 3) return invalid_argument("X must have rank >= 3");
  return read_conv_params(info.attrs(), static_cast<int>(info.input(0).shape.size()) - 2);
}

// ---------------------------------------------------------------- reference

template <typename T>
void conv_reference(const ConvParams& p, const Geometry& g, const FusedEpilogue& ep,
                    const Operands& o) {
  const T* x = static_cast<const T*>(o.x);
  const T* w = static_cast<const T*>(o.w);
  const T* b = static_cast<const T*>(o.b);
  const T* z = static_cast<const T*>(o.z);
  T* y = static_cast<T*>(o.y);
  const int s = g.spatial;
  const bool cl = p.channels_last;
  // Offsets of (batch, channel, spatial index) in X and Y for either layout.
  auto x_at = [&](int64_t n, int64_t c, int64_t idx) {
    return cl ? (n * g.in_size + idx) * g.c + c : (n * g.c + c) * g.in_size + idx;
  };
  auto y_at = [&](int64_t n, int64_t m, int64_t oi) {
    return cl ? (n * g.out_size + oi) * g.m + m : (n * g.m + m) * g.out_size + oi;
  };
  std::array<int64_t, kMaxSpatial> oc{}, kc{};
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t m = 0; m < g.m; ++m) {
      const int64_t grp = m / g.mg;
      for (int64_t oi = 0; oi < g.out_size; ++oi) {
        for (int64_t d = s - 1, r = oi; d >= 0; --d) {
          oc[d] = r % g.out[d];
          r /= g.out[d];
        }
        float acc = 0.f;
        for (int64_t c = 0; c < g.cg; ++c) {
          const int64_t cin = grp * g.cg + c;
          const T* wc = w + (m * g.cg + c) * g.k_size;
          for (int64_t ki = 0; ki < g.k_size; ++ki) {
            for (int64_t d = s - 1, r = ki; d >= 0; --d) {
              kc[d] = r % g.k[d];
              r /= g.k[d];
            }
            int64_t idx = 0;
            bool inside = true;
            for (int d = 0; d < s; ++d) {
              const int64_t i = oc[d] * p.strides[d] - p.pads[d] + kc[d] * p.dilations[d];
              if (i < 0 || i >= g.in[d]) {
                inside = false;
                break;
              }
              idx = idx * g.in[d] + i;
            }
            if (inside)
              acc += static_cast<float>(x[x_at(n, cin, idx)]) * static_cast<float>(wc[ki]);
          }
        }
        const int64_t yi = y_at(n, m, oi);
        float v = acc + bias_at(b, m) + (z != nullptr ? static_cast<float>(z[yi]) : 0.f);
        y[yi] = static_cast<T>(ep(v));
      }
    }
  }
}

class ReferenceKernel final : public Kernel {
 public:
  explicit ReferenceKernel(ConvParams p) : p_(std::move(p)), ep_(make_fused_epilogue(p_)) {}
  Status execute(const ExecArgs& args) const override {
    Operands o;
    KILN_RETURN_IF_ERROR(check_args(args, &o));
    if (args.outputs[0].numel() == 0) return Status::ok();
    Geometry g =
        make_geometry(p_, args.inputs[0].shape, args.inputs[1].shape, args.outputs[0].shape);
    return dispatch_float_dtype("Conv kernel", args.inputs[0].dtype,
                                [&](auto tag) { conv_reference<decltype(tag)>(p_, g, ep_, o); });
  }

 private:
  ConvParams p_;
  FusedEpilogue ep_;
};

// ---------------------------------------------------------------- shared 2-D support

bool is_float_dtype(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kBFloat16;
}

// 2-D conv with a constant W and at least one input channel per group.
bool supports_2d_packed(const KernelInfo& info) {
  if (info.input(0).shape.size() != 4 || !is_float_dtype(info.input_dtype(0))) return false;
  const HostTensor* w = info.constant(1);
  auto p = params_of(info);
  // The optimized kernels are channels-first only.
  return w != nullptr && w->shape().rank() == 4 && w->shape()[1] > 0 && p.is_ok() &&
         !p->channels_last;
}

// ---------------------------------------------------------------- im2col + BLAS

constexpr int64_t kColBudgetFloats = int64_t{4} << 20;  // 16 MiB of im2col per block
constexpr int64_t kMinColBlock = 256;

int64_t col_block(int64_t k, int64_t out_size) {
  int64_t blk = std::max(kColBudgetFloats / std::max<int64_t>(k, 1), kMinColBlock);
  return std::min(blk, out_size);
}

class Im2colBlasKernel final : public Kernel {
 public:
  Im2colBlasKernel(ConvParams p, std::vector<float> w, DataType dtype)
      : p_(std::move(p)), ep_(make_fused_epilogue(p_)), w_(std::move(w)), dtype_(dtype) {}

  size_t workspace_size(const NodeShapes& shapes) const override {
    return bytes_needed(shapes.inputs[1], shapes.outputs[0]);
  }

  Status execute(const ExecArgs& args) const override {
    Operands o;
    KILN_RETURN_IF_ERROR(check_args(args, &o));
    if (args.outputs[0].numel() == 0) return Status::ok();
    const size_t need = bytes_needed(args.inputs[1].shape, args.outputs[0].shape);
    if (args.workspace_size < need || (args.workspace == nullptr && need > 0)) {
      return resource_exhausted("Conv im2col_blas: workspace of " +
                                std::to_string(args.workspace_size) + " bytes, needs " +
                                std::to_string(need));
    }
    Geometry g =
        make_geometry(p_, args.inputs[0].shape, args.inputs[1].shape, args.outputs[0].shape);
    return dispatch_float_dtype("Conv kernel", args.inputs[0].dtype,
                                [&](auto tag) { run<decltype(tag)>(g, o, args); });
  }

 private:
  // im2col block plus, for half types, float accumulators of one block.
  size_t bytes_needed(const Dims& wd, const Dims& yd) const {
    const int64_t k = wd[1] * wd[2] * wd[3];
    const int64_t blk = col_block(k, yd[2] * yd[3]);
    int64_t floats = k * blk;
    if (dtype_ != DataType::kFloat32) floats += (wd[0] / p_.group) * blk;
    return static_cast<size_t>(floats) * sizeof(float);
  }

  // Rows [r0, r1) of the im2col matrix for output positions [col0, col0 + nb).
  template <typename T>
  void im2col(const Geometry& g, const T* xg, float* col, int64_t col0, int64_t nb, int64_t r0,
              int64_t r1) const {
    const int64_t kh_n = g.k[0], kw_n = g.k[1], ih_n = g.in[0], iw_n = g.in[1], ow_n = g.out[1];
    const int64_t sh = p_.strides[0], sw = p_.strides[1], ph = p_.pads[0], pw = p_.pads[1];
    const int64_t dh = p_.dilations[0], dw = p_.dilations[1];
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t kw = r % kw_n, kh = (r / kw_n) % kh_n, c = r / (kw_n * kh_n);
      const T* xc = xg + c * ih_n * iw_n;
      float* dst = col + r * nb;
      const int64_t off = kw * dw - pw;
      int64_t lo, hi;
      valid_range(off, sw, iw_n, ow_n, &lo, &hi);
      int64_t oh = col0 / ow_n, ow = col0 % ow_n, j = 0;
      while (j < nb) {
        const int64_t seg_end = std::min(ow_n, ow + (nb - j));  // exclusive ow
        const int64_t ih = oh * sh - ph + kh * dh;
        float* d = dst + j - ow;  // d[ow'] is the slot of output column ow'
        if (ih < 0 || ih >= ih_n) {
          for (int64_t t = ow; t < seg_end; ++t) d[t] = 0.f;
        } else {
          const T* row = xc + ih * iw_n + off;
          const int64_t a = std::clamp(lo, ow, seg_end), e = std::clamp(hi, a, seg_end);
          for (int64_t t = ow; t < a; ++t) d[t] = 0.f;
          if (sw == 1) {
            for (int64_t t = a; t < e; ++t) d[t] = static_cast<float>(row[t]);
          } else {
            for (int64_t t = a; t < e; ++t) d[t] = static_cast<float>(row[t * sw]);
          }
          for (int64_t t = e; t < seg_end; ++t) d[t] = 0.f;
        }
        j += seg_end - ow;
        ow = 0;
        ++oh;
      }
    }
  }

  template <typename T>
  void run(const Geometry& g, const Operands& o, const ExecArgs& args) const {
    const T* x = static_cast<const T*>(o.x);
    const T* b = static_cast<const T*>(o.b);
    const T* z = static_cast<const T*>(o.z);
    T* y = static_cast<T*>(o.y);
    const int64_t k = g.cg * g.k_size, ohw = g.out_size;
    const int64_t blk = col_block(k, ohw);
    float* col = static_cast<float*>(args.workspace);
    float* scratch = col + k * blk;  // float accumulators when T is not float
    constexpr bool kIsFloat = std::is_same_v<T, float>;
    for (int64_t n = 0; n < g.n; ++n) {
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const T* xg = x + (n * g.c + grp * g.cg) * g.in_size;
        const int64_t ybase = (n * g.m + grp * g.mg) * ohw;
        for (int64_t col0 = 0; col0 < ohw; col0 += blk) {
          const int64_t nb = std::min(blk, ohw - col0);
          parallel_for(args.threads, k, std::max<int64_t>(1, 16384 / nb),
                       [&](int64_t r0, int64_t r1) { im2col(g, xg, col, col0, nb, r0, r1); });
          float* c_out;
          int64_t ldc;
          if constexpr (kIsFloat) {
            c_out = y + ybase + col0;
            ldc = ohw;
          } else {
            c_out = scratch;
            ldc = nb;
          }
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(g.mg),
                      static_cast<int>(nb), static_cast<int>(k), 1.f, w_.data() + grp * g.mg * k,
                      static_cast<int>(k), col, static_cast<int>(nb), 0.f, c_out,
                      static_cast<int>(ldc));
          if (kIsFloat && b == nullptr && z == nullptr && !ep_.has_act) continue;
          parallel_for(args.threads, g.mg, std::max<int64_t>(1, 4096 / nb),
                       [&](int64_t m0, int64_t m1) {
                         for (int64_t m = m0; m < m1; ++m) {
                           const int64_t yi = ybase + m * ohw + col0;
                           finish_row(ep_, bias_at(b, grp * g.mg + m), c_out + m * ldc,
                                      z != nullptr ? z + yi : nullptr, y + yi, nb);
                         }
                       });
        }
      }
    }
  }

  ConvParams p_;
  FusedEpilogue ep_;
  std::vector<float> w_;  // [M, C/group * KH * KW]
  DataType dtype_;
};

bool supports_im2col(const KernelInfo& info) {
  return supports_2d_packed(info);
}

Result<std::unique_ptr<Kernel>> create_im2col(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(ConvParams p, params_of(info));
  return std::unique_ptr<Kernel>(
      new Im2colBlasKernel(std::move(p), pack_weights(*info.constant(1)), info.input_dtype(0)));
}

// ---------------------------------------------------------------- 1x1 as a plain GEMM

class Gemm1x1Kernel final : public Kernel {
 public:
  Gemm1x1Kernel(ConvParams p, std::vector<float> w)
      : p_(std::move(p)), ep_(make_fused_epilogue(p_)), w_(std::move(w)) {}

  Status execute(const ExecArgs& args) const override {
    Operands o;
    KILN_RETURN_IF_ERROR(check_args(args, &o));
    if (args.outputs[0].numel() == 0) return Status::ok();
    Geometry g =
        make_geometry(p_, args.inputs[0].shape, args.inputs[1].shape, args.outputs[0].shape);
    const float* x = static_cast<const float*>(o.x);
    const float* b = static_cast<const float*>(o.b);
    const float* z = static_cast<const float*>(o.z);
    float* y = static_cast<float*>(o.y);
    const int64_t hw = g.out_size;  // == g.in_size for 1x1, stride 1, no padding
    for (int64_t n = 0; n < g.n; ++n) {
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(g.mg),
                    static_cast<int>(hw), static_cast<int>(g.cg), 1.f,
                    w_.data() + grp * g.mg * g.cg, static_cast<int>(g.cg),
                    x + (n * g.c + grp * g.cg) * hw, static_cast<int>(hw), 0.f,
                    y + (n * g.m + grp * g.mg) * hw, static_cast<int>(hw));
      }
    }
    if (b == nullptr && z == nullptr && !ep_.has_act) return Status::ok();
    parallel_for(args.threads, g.n * g.m, std::max<int64_t>(1, 4096 / hw),
                 [&](int64_t p0, int64_t p1) {
                   for (int64_t plane = p0; plane < p1; ++plane) {
                     const int64_t yi = plane * hw;
                     finish_row(ep_, bias_at(b, plane % g.m), y + yi,
                                z != nullptr ? z + yi : nullptr, y + yi, hw);
                   }
                 });
    return Status::ok();
  }

 private:
  ConvParams p_;
  FusedEpilogue ep_;
  std::vector<float> w_;  // [M, C/group]
};

bool supports_gemm_1x1(const KernelInfo& info) {
  if (!supports_2d_packed(info) || info.input_dtype(0) != DataType::kFloat32) return false;
  const Dims& w = info.constant(1)->shape();
  const ConvParams p = *params_of(info);  // valid: supports_2d_packed checked it
  return w[2] == 1 && w[3] == 1 && p.strides[0] == 1 && p.strides[1] == 1 &&
         std::all_of(p.pads.begin(), p.pads.end(), [](int64_t v) { return v == 0; });
}

Result<std::unique_ptr<Kernel>> create_gemm_1x1(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(ConvParams p, params_of(info));
  return std::unique_ptr<Kernel>(new Gemm1x1Kernel(std::move(p), pack_weights(*info.constant(1))));
}

// ---------------------------------------------------------------- threaded direct

constexpr int64_t kDirectMB = 4;      // output channels per work item
constexpr int64_t kDirectTile = 256;  // output columns per accumulator tile

class DirectKernel final : public Kernel {
 public:
  DirectKernel(ConvParams p, std::vector<float> w)
      : p_(std::move(p)), ep_(make_fused_epilogue(p_)), w_(std::move(w)) {}

  Status execute(const ExecArgs& args) const override {
    Operands o;
    KILN_RETURN_IF_ERROR(check_args(args, &o));
    if (args.outputs[0].numel() == 0) return Status::ok();
    Geometry g =
        make_geometry(p_, args.inputs[0].shape, args.inputs[1].shape, args.outputs[0].shape);
    return dispatch_float_dtype("Conv kernel", args.inputs[0].dtype,
                                [&](auto tag) { run<decltype(tag)>(g, o, args.threads); });
  }

 private:
  // One output row (oh) of output channels [m0, m0 + cnt) of group grp, image n.
  template <typename T>
  void row(const Geometry& g, const Operands& o, int64_t n, int64_t grp, int64_t m0, int64_t cnt,
           int64_t oh) const {
    const T* x = static_cast<const T*>(o.x);
    const T* b = static_cast<const T*>(o.b);
    const T* z = static_cast<const T*>(o.z);
    T* y = static_cast<T*>(o.y);
    const int64_t kh_n = g.k[0], kw_n = g.k[1], ih_n = g.in[0], iw_n = g.in[1], ow_n = g.out[1];
    const int64_t sw = p_.strides[1], pw = p_.pads[1], dw = p_.dilations[1];
    const int64_t ih0 = oh * p_.strides[0] - p_.pads[0], dh = p_.dilations[0];
    const int64_t ksz = kh_n * kw_n;
    float acc[kDirectMB][kDirectTile];
    for (int64_t t0 = 0; t0 < ow_n; t0 += kDirectTile) {
      const int64_t t1 = std::min(ow_n, t0 + kDirectTile), tn = t1 - t0;
      for (int64_t j = 0; j < cnt; ++j) std::fill(acc[j], acc[j] + tn, 0.f);
      for (int64_t c = 0; c < g.cg; ++c) {
        const T* xc = x + (n * g.c + grp * g.cg + c) * ih_n * iw_n;
        const float* wc = w_.data() + (m0 * g.cg + c) * ksz;
        for (int64_t kh = 0; kh < kh_n; ++kh) {
          const int64_t ih = ih0 + kh * dh;
          if (ih < 0 || ih >= ih_n) continue;
          const T* xrow = xc + ih * iw_n;
          for (int64_t kw = 0; kw < kw_n; ++kw) {
            const int64_t off = kw * dw - pw;
            int64_t lo, hi;
            valid_range(off, sw, iw_n, ow_n, &lo, &hi);
            lo = std::clamp(lo, t0, t1);
            hi = std::clamp(hi, lo, t1);
            if (lo >= hi) continue;
            const T* src = xrow + off;
            for (int64_t j = 0; j < cnt; ++j) {
              const float wv = wc[j * g.cg * ksz + kh * kw_n + kw];
              float* a = acc[j] - t0;
              if (sw == 1) {
                for (int64_t t = lo; t < hi; ++t) a[t] += wv * static_cast<float>(src[t]);
              } else {
                for (int64_t t = lo; t < hi; ++t) a[t] += wv * static_cast<float>(src[t * sw]);
              }
            }
          }
        }
      }
      for (int64_t j = 0; j < cnt; ++j) {
        const int64_t m = m0 + j;
        const int64_t yi = ((n * g.m + m) * g.out[0] + oh) * ow_n + t0;
        finish_row(ep_, bias_at(b, m), acc[j], z != nullptr ? z + yi : nullptr, y + yi, tn);
      }
    }
  }

  template <typename T>
  void run(const Geometry& g, const Operands& o, ThreadPool* threads) const {
    const int64_t mblocks = (g.mg + kDirectMB - 1) / kDirectMB;
    const int64_t oh_n = g.out[0];
    const int64_t items = g.n * g.groups * mblocks * oh_n;
    const int64_t work = kDirectMB * g.cg * g.k_size * g.out[1];
    parallel_for(threads, items, std::max<int64_t>(1, 65536 / std::max<int64_t>(work, 1)),
                 [&](int64_t i0, int64_t i1) {
                   for (int64_t i = i0; i < i1; ++i) {
                     const int64_t oh = i % oh_n;
                     const int64_t mb = (i / oh_n) % mblocks;
                     const int64_t grp = (i / (oh_n * mblocks)) % g.groups;
                     const int64_t n = i / (oh_n * mblocks * g.groups);
                     const int64_t m0 = grp * g.mg + mb * kDirectMB;
                     const int64_t cnt = std::min(kDirectMB, g.mg - mb * kDirectMB);
                     row<T>(g, o, n, grp, m0, cnt, oh);
                   }
                 });
  }

  ConvParams p_;
  FusedEpilogue ep_;
  std::vector<float> w_;
};

bool supports_direct(const KernelInfo& info) {
  return supports_2d_packed(info);
}

Result<std::unique_ptr<Kernel>> create_direct(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(ConvParams p, params_of(info));
  return std::unique_ptr<Kernel>(new DirectKernel(std::move(p), pack_weights(*info.constant(1))));
}

// ---------------------------------------------------------------- depthwise

class DepthwiseKernel final : public Kernel {
 public:
  DepthwiseKernel(ConvParams p, std::vector<float> w)
      : p_(std::move(p)), ep_(make_fused_epilogue(p_)), w_(std::move(w)) {}

  Status execute(const ExecArgs& args) const override {
    Operands o;
    KILN_RETURN_IF_ERROR(check_args(args, &o));
    if (args.outputs[0].numel() == 0) return Status::ok();
    Geometry g =
        make_geometry(p_, args.inputs[0].shape, args.inputs[1].shape, args.outputs[0].shape);
    return dispatch_float_dtype("Conv kernel", args.inputs[0].dtype,
                                [&](auto tag) { run<decltype(tag)>(g, o, args.threads); });
  }

 private:
  // Output row oh of output channel m of image n, in tiles of float accumulators.
  template <typename T>
  void row(const Geometry& g, const Operands& o, int64_t n, int64_t m, int64_t oh) const {
    const T* b = static_cast<const T*>(o.b);
    const T* z = static_cast<const T*>(o.z);
    const int64_t kh_n = g.k[0], kw_n = g.k[1], ih_n = g.in[0], iw_n = g.in[1], ow_n = g.out[1];
    const int64_t sw = p_.strides[1], pw = p_.pads[1], dw = p_.dilations[1], dh = p_.dilations[0];
    const int64_t ih0 = oh * p_.strides[0] - p_.pads[0];
    const T* plane = static_cast<const T*>(o.x) + (n * g.c + m / g.mg) * ih_n * iw_n;
    const float* wk = w_.data() + m * kh_n * kw_n;
    const int64_t yi = ((n * g.m + m) * g.out[0] + oh) * ow_n;
    const float bias = bias_at(b, m);
    // Kernel rows inside the image, and output columns whose whole window is inside.
    int64_t kh_lo, kh_hi, in_lo, in_hi;
    valid_range(ih0, dh, ih_n, kh_n, &kh_lo, &kh_hi);
    valid_range(-pw, sw, iw_n - (kw_n - 1) * dw, ow_n, &in_lo, &in_hi);
    const bool fast3x3 = kh_n == 3 && kw_n == 3 && kh_lo == 0 && kh_hi == 3;
    auto f = [](T v) { return static_cast<float>(v); };
    // One output column with its window clipped to the image.
    auto generic = [&](int64_t ow) {
      const int64_t iw0 = ow * sw - pw;
      int64_t kw_lo, kw_hi;
      valid_range(iw0, dw, iw_n, kw_n, &kw_lo, &kw_hi);
      float acc = 0.f;
      for (int64_t kh = kh_lo; kh < kh_hi; ++kh) {
        const T* r = plane + (ih0 + kh * dh) * iw_n + iw0;
        for (int64_t kw = kw_lo; kw < kw_hi; ++kw) acc += wk[kh * kw_n + kw] * f(r[kw * dw]);
      }
      return acc;
    };
    float acc[kDirectTile];
    for (int64_t t0 = 0; t0 < ow_n; t0 += kDirectTile) {
      const int64_t t1 = std::min(ow_n, t0 + kDirectTile);
      float* a = acc - t0;  // a[ow] for ow in [t0, t1)
      if (fast3x3) {
        const int64_t lo = std::clamp(in_lo, t0, t1), hi = std::clamp(in_hi, lo, t1);
        for (int64_t ow = t0; ow < lo; ++ow) a[ow] = generic(ow);
        const T* r0 = plane + ih0 * iw_n - pw;
        const T* r1 = r0 + dh * iw_n;
        const T* r2 = r1 + dh * iw_n;
        const float w0 = wk[0], w1 = wk[1], w2 = wk[2], w3 = wk[3], w4 = wk[4], w5 = wk[5],
                    w6 = wk[6], w7 = wk[7], w8 = wk[8];
        // All nine taps per output in one pass (the stride-1 loop vectorizes).
        if (sw == 1) {
          for (int64_t ow = lo; ow < hi; ++ow) {
            a[ow] = w0 * f(r0[ow]) + w1 * f(r0[ow + dw]) + w2 * f(r0[ow + 2 * dw]) +
                    w3 * f(r1[ow]) + w4 * f(r1[ow + dw]) + w5 * f(r1[ow + 2 * dw]) +
                    w6 * f(r2[ow]) + w7 * f(r2[ow + dw]) + w8 * f(r2[ow + 2 * dw]);
          }
        } else {
          for (int64_t ow = lo; ow < hi; ++ow) {
            const int64_t i = ow * sw;
            a[ow] = w0 * f(r0[i]) + w1 * f(r0[i + dw]) + w2 * f(r0[i + 2 * dw]) + w3 * f(r1[i]) +
                    w4 * f(r1[i + dw]) + w5 * f(r1[i + 2 * dw]) + w6 * f(r2[i]) +
                    w7 * f(r2[i + dw]) + w8 * f(r2[i + 2 * dw]);
          }
        }
        for (int64_t ow = hi; ow < t1; ++ow) a[ow] = generic(ow);
      } else {
        // Row accumulation: one clipped, contiguous (for stride 1) pass per kernel tap.
        std::fill(acc, acc + (t1 - t0), 0.f);
        for (int64_t kh = kh_lo; kh < kh_hi; ++kh) {
          const T* xrow = plane + (ih0 + kh * dh) * iw_n;
          for (int64_t kw = 0; kw < kw_n; ++kw) {
            const int64_t off = kw * dw - pw;
            int64_t lo, hi;
            valid_range(off, sw, iw_n, ow_n, &lo, &hi);
            lo = std::clamp(lo, t0, t1);
            hi = std::clamp(hi, lo, t1);
            const float wv = wk[kh * kw_n + kw];
            const T* src = xrow + off;
            for (int64_t ow = lo; ow < hi; ++ow) a[ow] += wv * f(src[ow * sw]);
          }
        }
      }
      finish_row(ep_, bias, acc, z != nullptr ? z + yi + t0 : nullptr,
                 static_cast<T*>(o.y) + yi + t0, t1 - t0);
    }
  }

  template <typename T>
  void run(const Geometry& g, const Operands& o, ThreadPool* threads) const {
    const int64_t oh_n = g.out[0];
    const int64_t work = g.k_size * g.out[1];
    parallel_for(threads, g.n * g.m * oh_n,
                 std::max<int64_t>(1, 16384 / std::max<int64_t>(work, 1)),
                 [&](int64_t i0, int64_t i1) {
                   for (int64_t i = i0; i < i1; ++i) {
                     const int64_t oh = i % oh_n, m = (i / oh_n) % g.m, n = i / (oh_n * g.m);
                     row<T>(g, o, n, m, oh);
                   }
                 });
  }

  ConvParams p_;
  FusedEpilogue ep_;
  std::vector<float> w_;
};

bool supports_depthwise(const KernelInfo& info) {
  if (!supports_2d_packed(info)) return false;
  const ConvParams p = *params_of(info);  // valid: supports_2d_packed checked it
  const Dims& w = info.constant(1)->shape();
  // One input channel per group, and more than one group (else it is a plain conv).
  return w[1] == 1 && p.group > 1;
}

Result<std::unique_ptr<Kernel>> create_depthwise(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(ConvParams p, params_of(info));
  return std::unique_ptr<Kernel>(
      new DepthwiseKernel(std::move(p), pack_weights(*info.constant(1))));
}

// ---------------------------------------------------------------- table

bool supports_reference(const KernelInfo& info) {
  return is_float_dtype(info.input_dtype(0)) && params_of(info).is_ok() &&
         info.input(0).shape.size() - 2 <= static_cast<size_t>(kMaxSpatial);
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(ConvParams p, params_of(info));
  return std::unique_ptr<Kernel>(new ReferenceKernel(std::move(p)));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kFloatDtypes, supports_reference, create_reference},
    {"im2col_blas", TacticSource::kCpuBlas, kFloatDtypes, supports_im2col, create_im2col},
    {"gemm_1x1", TacticSource::kCpuBlas, DtypeSet{DataType::kFloat32}, supports_gemm_1x1,
     create_gemm_1x1},
    {"direct", TacticSource::kCpuOptimized, kFloatDtypes, supports_direct, create_direct},
    {"depthwise", TacticSource::kCpuOptimized, kFloatDtypes, supports_depthwise, create_depthwise},
};

}  // namespace

std::span<const TacticDef> conv_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
