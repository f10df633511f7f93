// CPU tactics of Select: a reference with general 3-way broadcasting (elements copied by size,
// so every dtype shares one of four loops), and a threaded fast path for the common case where
// all three inputs have the same shape.
#include "backends/cpu/thread_pool.h"
#include "ops/common/word_dispatch.h"
#include "ops/select/select.h"

namespace kiln::ops {

namespace {

// Input strides over the output's dims (0 where the input broadcasts).
void broadcast_strides(const Dims& in, const Dims& out, int64_t* strides) {
  std::vector<int64_t> s = contiguous_strides(in);
  int off = out.rank() - in.rank();
  for (int i = 0; i < out.rank(); ++i) {
    int j = i - off;
    strides[i] = (j < 0 || in[j] == 1) ? 0 : s[j];
  }
}

Status check_shapes(const ExecArgs& args) {
  const Dims& out = args.outputs[0].shape;
  for (int k = 0; k < 3; ++k) {
    const Dims& in = args.inputs[k].shape;
    bool ok = in.rank() <= out.rank();
    for (int i = 0; ok && i < in.rank(); ++i) {
      int64_t d = in[i], o = out[out.rank() - in.rank() + i];
      ok = d == o || d == 1;
    }
    if (!ok) {
      return invalid_argument("Select: input " + std::to_string(k) + " shape " + in.to_string() +
                              " does not broadcast to " + out.to_string());
    }
  }
  return Status::ok();
}

template <typename E>
void select_broadcast(const ExecArgs& args) {
  const Dims& out = args.outputs[0].shape;
  int rank = out.rank();
  int64_t st[3][Dims::kMaxDims];
  for (int k = 0; k < 3; ++k) broadcast_strides(args.inputs[k].shape, out, st[k]);
  const uint8_t* c = args.inputs[0].as<uint8_t>();
  const E* a = args.inputs[1].as<E>();
  const E* b = args.inputs[2].as<E>();
  E* y = args.outputs[0].as<E>();
  int64_t n = out.volume();
  int64_t idx[Dims::kMaxDims] = {};
  int64_t off[3] = {0, 0, 0};
  for (int64_t i = 0; i < n; ++i) {
    y[i] = c[off[0]] ? a[off[1]] : b[off[2]];
    for (int d = rank - 1; d >= 0; --d) {  // odometer over the output index
      if (++idx[d] < out[d]) {
        for (int k = 0; k < 3; ++k) off[k] += st[k][d];
        break;
      }
      for (int k = 0; k < 3; ++k) off[k] -= (out[d] - 1) * st[k][d];
      idx[d] = 0;
    }
  }
}

class SelectReference final : public Kernel {
 public:
  Status execute(const ExecArgs& args) const override {
    KILN_RETURN_IF_ERROR(check_shapes(args));
    dispatch_word(dtype_size(args.outputs[0].dtype),
                  [&](auto tag) { select_broadcast<decltype(tag)>(args); });
    return Status::ok();
  }
};

class SelectSameShape final : public Kernel {
 public:
  Status execute(const ExecArgs& args) const override {
    const Dims& out = args.outputs[0].shape;
    bool same = true;
    for (int k = 0; k < 3; ++k) same = same && args.inputs[k].shape == out;
    if (!same) {  // shapes that only matched symbolically-equal dims never get here; be safe
      KILN_RETURN_IF_ERROR(check_shapes(args));
      dispatch_word(dtype_size(args.outputs[0].dtype),
                    [&](auto tag) { select_broadcast<decltype(tag)>(args); });
      return Status::ok();
    }
    dispatch_word(dtype_size(args.outputs[0].dtype), [&](auto tag) {
      using E = decltype(tag);
      const uint8_t* c = args.inputs[0].as<uint8_t>();
      const E* a = args.inputs[1].as<E>();
      const E* b = args.inputs[2].as<E>();
      E* y = args.outputs[0].as<E>();
      parallel_for(args.threads, out.volume(), 1 << 15, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) y[i] = c[i] ? a[i] : b[i];
      });
    });
    return Status::ok();
  }
};

bool supports_any(const KernelInfo& info) {
  return true;
}

// All three inputs have the output's shape, dim by dim (symbolically), for every profile shape.
bool supports_same_shape(const KernelInfo& info) {
  const ir::SymShape& out = info.output(0).shape;
  for (int k = 0; k < 3; ++k) {
    const ir::SymShape& in = info.input(k).shape;
    if (in.size() != out.size()) return false;
    for (size_t i = 0; i < in.size(); ++i) {
      if (!in[i].same_as(out[i])) return false;
    }
  }
  return true;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new SelectReference());
}
Result<std::unique_ptr<Kernel>> create_same_shape(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new SelectSameShape());
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports_any, create_reference},
    {"same_shape", TacticSource::kCpuOptimized, kAllDtypes, supports_same_shape, create_same_shape},
};

}  // namespace

std::span<const TacticDef> select_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
