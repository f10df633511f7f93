// CPU tactics of Einsum:
//   reference  any equation: an odometer over the output labels, and for each output element
//              one over the summed labels, reading every operand through per-label strides
//              (a label repeated in an operand adds up its strides: the diagonal; a broadcast
//              dim has stride 0). Accumulates in double (floats) or wrapping int64.
//   blas       two float32 operands forming a (batched) matrix product up to permutation:
//              every label is a batch (A, B, out), m (A, out), n (B, out) or k (A, B) label
//              with equal sizes. Operands already laid out as [batch, m, k] / [batch, k, m]
//              (and B as [batch, k, n] / [batch, n, k]) are used in place with the matching
//              transpose flag, others are permuted into the workspace; one cblas_sgemm per batch
//              entry; the result is permuted into the output unless it already has its order.
#include <cblas.h>

#include "ops/einsum/einsum.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <type_traits>

namespace kiln::ops {

namespace {

// ---------------------------------------------------------------- reference

class ReferenceKernel final : public Kernel {
 public:
  explicit ReferenceKernel(EinsumSpec spec) : spec_(std::move(spec)) {}

  Status execute(const ExecArgs& args) const override {
    std::vector<int64_t> size;
    KILN_RETURN_IF_ERROR(einsum_label_sizes(spec_, args.inputs, &size));
    const DataType dt = args.inputs[0].dtype;
    switch (dt) {
      case DataType::kFloat32:
        return run<float, double>(args, size);
      case DataType::kFloat16:
        return run<Half, double>(args, size);
      case DataType::kBFloat16:
        return run<BFloat16, double>(args, size);
      case DataType::kInt32:
        return run<int32_t, uint64_t>(args, size);
      case DataType::kInt64:
        return run<int64_t, uint64_t>(args, size);
      default:
        return unsupported("Einsum: unsupported dtype " + std::string(dtype_name(dt)));
    }
  }

 private:
  template <typename T, typename Acc>
  Status run(const ExecArgs& args, const std::vector<int64_t>& size) const {
    const size_t ops = args.inputs.size();
    std::vector<std::vector<int64_t>> st(ops);
    std::vector<const T*> ptr(ops);
    for (size_t i = 0; i < ops; ++i) {
      st[i] = einsum_label_strides(spec_, i, args.inputs[i].shape);
      ptr[i] = args.inputs[i].as<const T>();
    }
    std::vector<bool> in_out(spec_.num_labels, false);
    for (int l : spec_.output) in_out[l] = true;
    std::vector<int> summed;
    int64_t sum_count = 1;
    for (int l = 0; l < spec_.num_labels; ++l) {
      if (!in_out[l]) {
        summed.push_back(l);
        sum_count *= size[l];
      }
    }
    T* y = args.outputs[0].as<T>();
    const int64_t out_count = args.outputs[0].numel();
    const int no = static_cast<int>(spec_.output.size());
    std::vector<int64_t> oidx(no, 0), sidx(summed.size(), 0), base(ops, 0), off(ops, 0);
    for (int64_t o = 0; o < out_count; ++o) {
      // Operand offsets of this output element.
      int64_t rem = o;
      for (int d = no - 1; d >= 0; --d) {
        oidx[d] = rem % size[spec_.output[d]];
        rem /= size[spec_.output[d]];
      }
      for (size_t i = 0; i < ops; ++i) {
        base[i] = 0;
        for (int d = 0; d < no; ++d) base[i] += oidx[d] * st[i][spec_.output[d]];
        off[i] = base[i];
      }
      Acc acc = 0;
      std::fill(sidx.begin(), sidx.end(), 0);
      for (int64_t s = 0; s < sum_count; ++s) {
        Acc prod = 1;
        for (size_t i = 0; i < ops; ++i) {
          if constexpr (std::is_integral_v<T>) {
            prod *= static_cast<Acc>(static_cast<int64_t>(ptr[i][off[i]]));
          } else {
            prod *= static_cast<double>(static_cast<float>(ptr[i][off[i]]));
          }
        }
        acc += prod;
        // Next summed index (the last label runs fastest).
        for (int d = static_cast<int>(summed.size()) - 1; d >= 0; --d) {
          const int l = summed[d];
          if (++sidx[d] < size[l]) {
            for (size_t i = 0; i < ops; ++i) off[i] += st[i][l];
            break;
          }
          for (size_t i = 0; i < ops; ++i) off[i] -= (size[l] - 1) * st[i][l];
          sidx[d] = 0;
        }
      }
      if constexpr (std::is_integral_v<T>) {
        y[o] = static_cast<T>(static_cast<int64_t>(acc));
      } else {
        y[o] = static_cast<T>(static_cast<float>(acc));
      }
    }
    return Status::ok();
  }

  EinsumSpec spec_;
};

bool supports_reference(const KernelInfo& info) {
  const DataType dt = info.input_dtype(0);
  return (is_floating(dt) || dt == DataType::kInt32 || dt == DataType::kInt64) &&
         einsum_spec(info).is_ok();
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(EinsumSpec spec, einsum_spec(info));
  return std::unique_ptr<Kernel>(new ReferenceKernel(std::move(spec)));
}

// ---------------------------------------------------------------- blas

// dst (contiguous over `dims` in order) = src read with `strides`.
void permute_copy(const float* src, float* dst, const std::vector<int64_t>& dims,
                  const std::vector<int64_t>& strides) {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  if (count == 0) return;
  const int r = static_cast<int>(dims.size());
  if (r == 0) {
    dst[0] = src[0];
    return;
  }
  std::vector<int64_t> idx(r, 0);
  const int64_t inner = dims[r - 1], is = strides[r - 1];
  int64_t off = 0;
  for (int64_t o = 0; o < count; o += inner) {
    for (int64_t j = 0; j < inner; ++j) dst[o + j] = src[off + j * is];
    for (int d = r - 2; d >= 0; --d) {
      if (++idx[d] < dims[d]) {
        off += strides[d];
        break;
      }
      off -= (dims[d] - 1) * strides[d];
      idx[d] = 0;
    }
  }
}

class BlasKernel final : public Kernel {
 public:
  explicit BlasKernel(EinsumGemm plan) : spec_(plan.spec), plan_(std::move(plan)) {}

  size_t workspace_size(const NodeShapes& shapes) const override {
    int64_t floats = 0;
    if (plan_.a_copy) floats += shapes.inputs[0].volume();
    if (plan_.b_copy) floats += shapes.inputs[1].volume();
    if (plan_.c_copy) floats += shapes.outputs[0].volume();
    return static_cast<size_t>(floats) * sizeof(float);
  }

  Status execute(const ExecArgs& args) const override {
    std::vector<int64_t> size;
    KILN_RETURN_IF_ERROR(einsum_label_sizes(spec_, args.inputs, &size));
    for (size_t i = 0; i < 2; ++i) {
      const Dims& d = args.inputs[i].shape;
      for (int j = 0; j < d.rank(); ++j) {
        if (d[j] != size[spec_.inputs[i][j]]) {
          return unsupported("Einsum blas: input " + std::to_string(i) + " " + d.to_string() +
                             " broadcasts a label");
        }
      }
    }
    const size_t need = workspace_size(
        NodeShapes{{args.inputs[0].shape, args.inputs[1].shape}, {args.outputs[0].shape}});
    if (args.workspace_size < need || (need > 0 && args.workspace == nullptr)) {
      return resource_exhausted("Einsum blas: workspace of " + std::to_string(args.workspace_size) +
                                " bytes, needs " + std::to_string(need));
    }
    auto prod = [&](const std::vector<int>& ls) {
      int64_t p = 1;
      for (int l : ls) p *= size[l];
      return p;
    };
    const int64_t batch = prod(plan_.batch), m = prod(plan_.m), n = prod(plan_.n),
                  k = prod(plan_.k);
    float* y = args.outputs[0].as<float>();
    if (batch == 0 || m == 0 || n == 0) return Status::ok();
    if (k == 0) {
      std::memset(y, 0, args.outputs[0].nbytes());
      return Status::ok();
    }
    float* ws = static_cast<float*>(args.workspace);
    const float* a = args.inputs[0].as<const float>();
    const float* b = args.inputs[1].as<const float>();
    if (plan_.a_copy) {
      permute(spec_, 0, args.inputs[0], plan_.a_order(), size, ws);
      a = ws;
      ws += args.inputs[0].numel();
    }
    if (plan_.b_copy) {
      permute(spec_, 1, args.inputs[1], plan_.b_order(), size, ws);
      b = ws;
      ws += args.inputs[1].numel();
    }
    float* c = plan_.c_copy ? ws : y;
    const int lda = static_cast<int>(plan_.a_trans ? m : k);
    const int ldb = static_cast<int>(plan_.b_trans ? k : n);
    for (int64_t i = 0; i < batch; ++i) {
      cblas_sgemm(CblasRowMajor, plan_.a_trans ? CblasTrans : CblasNoTrans,
                  plan_.b_trans ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                  static_cast<int>(n), static_cast<int>(k), 1.f, a + i * m * k, lda, b + i * k * n,
                  ldb, 0.f, c + i * m * n, static_cast<int>(n));
    }
    if (plan_.c_copy) {
      // C is [batch, m, n]: read it in the output's label order.
      const std::vector<int> c_labels = plan_.c_order();
      std::vector<int64_t> cst(spec_.num_labels, 0);
      for (int64_t j = static_cast<int64_t>(c_labels.size()) - 1, s = 1; j >= 0; --j) {
        cst[c_labels[j]] = s;
        s *= size[c_labels[j]];
      }
      std::vector<int64_t> dims, strides;
      for (int l : spec_.output) {
        dims.push_back(size[l]);
        strides.push_back(cst[l]);
      }
      permute_copy(c, y, dims, strides);
    }
    return Status::ok();
  }

 private:
  // Copies operand i into `dst`, laid out over `order` (label ids).
  static void permute(const EinsumSpec& spec, size_t i, const TensorView& t,
                      const std::vector<int>& order, const std::vector<int64_t>& size, float* dst) {
    const std::vector<int64_t> st = einsum_label_strides(spec, i, t.shape);
    std::vector<int64_t> dims, strides;
    for (int l : order) {
      dims.push_back(size[l]);
      strides.push_back(st[l]);
    }
    permute_copy(t.as<const float>(), dst, dims, strides);
  }

  EinsumSpec spec_;
  EinsumGemm plan_;
};

bool supports_blas(const KernelInfo& info) {
  if (info.num_inputs() != 2 || info.input_dtype(0) != DataType::kFloat32) return false;
  if (!einsum_gemm(info).is_ok()) return false;
  // cblas takes int extents.
  for (const NodeShapes* s : {&info.opt, &info.max}) {
    for (const Dims& d : s->inputs) {
      if (d.volume() > INT_MAX) return false;
    }
  }
  return true;
}

Result<std::unique_ptr<Kernel>> create_blas(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(EinsumGemm plan, einsum_gemm(info));
  return std::unique_ptr<Kernel>(new BlasKernel(std::move(plan)));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference,
     kFloatDtypes | DtypeSet{DataType::kInt32, DataType::kInt64}, supports_reference,
     create_reference},
    {"blas", TacticSource::kCpuBlas, DtypeSet{DataType::kFloat32}, supports_blas, create_blas},
};

}  // namespace

std::span<const TacticDef> einsum_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
