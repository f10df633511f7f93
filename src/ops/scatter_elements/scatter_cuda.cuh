// The two CUDA scatter strategies shared by ScatterElements and ScatterND. In both ops update u
// (row-major over updates) reads updates[u] and targets one output element, dest(u), or none
// (-1) when its index is out of range: such updates are skipped (a kernel cannot return an
// error; the CPU reference reports them as out_of_range before writing anything). The output
// starts as a copy of data.
//
//   ordered   the updates split into independent sequences such that every update of one
//             output element lies in one sequence (ScatterElements: the lines along the axis;
//             ScatterND: one slice position across all tuples); one thread walks a sequence in
//             order and combines with scatter_combine. The reference's result exactly, for
//             every reduction and dtype.
//   parallel  one thread per update. Reduction "none" keeps the last update of each element,
//             as the reference does: a first pass records the highest update index per output
//             element (atomicMax into a workspace of one uint32 per element), a second writes
//             only those. Other reductions combine with atomic compare-and-swap loops (8-bit and
//             16-bit elements through their aligned 32-bit word), which is exact wherever the
//             order does not matter: integer add / mul (wrapping), bool, max / min; float add
//             and mul depend on the order, so parallel does not take them.
#pragma once

#include "ops/common/cuda_for_each.cuh"
#include "ops/identity/cuda_copy.h"
#include "ops/scatter_elements/scatter_elements.h"

#include <cstring>
#include <type_traits>

namespace kiln::ops::scatter_cuda {

// *p = reduce(*p, v) atomically (scatter_combine's semantics).
template <typename T>
__device__ void atomic_combine(T* p, T v, ScatterReduction r, bool is_bool) {
  if constexpr (sizeof(T) == 8) {
    auto* w = reinterpret_cast<unsigned long long*>(p);
    unsigned long long old = *w, assumed;
    do {
      assumed = old;
      T cur;
      memcpy(&cur, &assumed, 8);
      scatter_combine(r, is_bool, &cur, v);
      unsigned long long next;
      memcpy(&next, &cur, 8);
      if (next == assumed) return;
      old = atomicCAS(w, assumed, next);
    } while (old != assumed);
  } else {
    // The aligned 32-bit word holding the element (an element never straddles two words).
    const uintptr_t addr = reinterpret_cast<uintptr_t>(p);
    auto* w = reinterpret_cast<unsigned int*>(addr & ~uintptr_t{3});
    const unsigned int shift = static_cast<unsigned int>(addr & 3) * 8;
    constexpr unsigned int kBits = sizeof(T) == 4 ? 0xffffffffu : sizeof(T) == 2 ? 0xffffu : 0xffu;
    const unsigned int mask = kBits << shift;
    unsigned int old = *w, assumed;
    do {
      assumed = old;
      const unsigned int bits = (assumed & mask) >> shift;
      T cur;
      memcpy(&cur, &bits, sizeof(T));
      scatter_combine(r, is_bool, &cur, v);
      unsigned int nbits = 0;
      memcpy(&nbits, &cur, sizeof(T));
      const unsigned int next = (assumed & ~mask) | ((nbits << shift) & mask);
      if (next == assumed) return;
      old = atomicCAS(w, assumed, next);
    } while (old != assumed);
  }
}

// Sequence functors (Seq) provide: int64_t length; __device__ int64_t update(int64_t s, int64_t j)
// (the j-th update of sequence s, increasing in j) and __device__ int64_t dest(int64_t u).
template <typename T, typename Seq>
struct OrderedFn {
  Seq seq;
  const T* updates;
  T* out;
  ScatterReduction red;
  bool is_bool;
  __device__ void operator()(int64_t s) const {
    for (int64_t j = 0; j < seq.length; ++j) {
      const int64_t u = seq.update(s, j);
      const int64_t d = seq.dest(u);
      if (d >= 0) scatter_combine(red, is_bool, out + d, updates[u]);
    }
  }
};

template <typename Dest>
struct RecordLastFn {
  Dest dest;
  unsigned int* last;  // per output element: 1 + the highest update index, 0 = none
  __device__ void operator()(int64_t u) const {
    const int64_t d = dest(u);
    if (d >= 0) atomicMax(last + d, static_cast<unsigned int>(u + 1));
  }
};

template <typename T, typename Dest>
struct WriteLastFn {
  Dest dest;
  const unsigned int* last;
  const T* updates;
  T* out;
  __device__ void operator()(int64_t u) const {
    const int64_t d = dest(u);
    if (d >= 0 && last[d] == static_cast<unsigned int>(u + 1)) out[d] = updates[u];
  }
};

template <typename T, typename Dest>
struct AtomicFn {
  Dest dest;
  const T* updates;
  T* out;
  ScatterReduction red;
  bool is_bool;
  __device__ void operator()(int64_t u) const {
    const int64_t d = dest(u);
    if (d >= 0) atomic_combine(out + d, updates[u], red, is_bool);
  }
};

// Whether `parallel` gives the reference's result for this reduction and dtype.
inline bool parallel_exact(ScatterReduction red, DataType dt) {
  return red == ScatterReduction::kNone || !is_floating(dt) || red == ScatterReduction::kMax ||
         red == ScatterReduction::kMin;
}

// Workspace of `parallel` for an output of `elements` elements.
inline size_t parallel_workspace(ScatterReduction red, int64_t elements) {
  return red == ScatterReduction::kNone ? static_cast<size_t>(elements) * sizeof(unsigned int) : 0;
}

// The signature both ops' tactics take: data, int32 / int64 indices, updates of data's dtype and
// a known reduction (into *red).
inline bool supports_scatter(const KernelInfo& info, ScatterReduction* red) {
  if (info.num_inputs() != 3 || !info.has_input(0) || !info.has_input(1) || !info.has_input(2)) {
    return false;
  }
  const DataType t = info.input_dtype(1);
  return (t == DataType::kInt32 || t == DataType::kInt64) &&
         info.input_dtype(0) == info.output_dtype(0) &&
         info.input_dtype(2) == info.input_dtype(0) &&
         parse_scatter_reduction(info.attrs().get_string("reduction", "none"), red);
}

inline bool supports_ordered(const KernelInfo& info) {
  ScatterReduction red;
  return supports_scatter(info, &red);
}

// parallel also needs an order-free reduction and fewer than 2^32 - 1 updates (input 2) over
// the profile.
inline bool supports_parallel(const KernelInfo& info) {
  ScatterReduction red;
  return supports_scatter(info, &red) && parallel_exact(red, info.input_dtype(0)) &&
         (info.max.inputs.size() < 3 || info.max.inputs[2].volume() < int64_t{0xffffffff});
}

// What both strategies need of a run.
struct Run {
  const TensorView* data;
  const TensorView* updates;
  const TensorView* out;
  ScatterReduction red;
  int sms;
  void* stream;
};

// out = data (nothing when they alias).
inline Status copy_data(const Run& run) {
  return cuda_copy::copy_bytes(run.data->data, run.out->data, run.data->nbytes(), run.stream);
}

template <typename Seq>
Status run_ordered(const Run& run, const Seq& seq, int64_t sequences) {
  KILN_RETURN_IF_ERROR(copy_data(run));
  if (seq.length == 0) return Status::ok();
  return cuda::dispatch_device_dtype(run.data->dtype, [&](auto tag) {
    using T = decltype(tag);
    OrderedFn<T, Seq> f{seq, static_cast<const T*>(run.updates->data),
                        static_cast<T*>(run.out->data), run.red,
                        run.data->dtype == DataType::kBool};
    return cuda::launch_for_each("scatter_ordered_kernel", sequences, run.sms, run.stream, f);
  });
}

template <typename Dest>
Status run_parallel(const Run& run, const Dest& dest, int64_t updates, void* workspace,
                    size_t workspace_size) {
  if (!parallel_exact(run.red, run.data->dtype)) {
    return unsupported("parallel scatter does not take a float add / mul reduction");
  }
  if (updates >= int64_t{0xffffffff}) {
    return unsupported("parallel scatter takes fewer than 2^32 - 1 updates");
  }
  const int64_t elements = run.out->numel();
  const size_t ws = parallel_workspace(run.red, elements);
  if (ws > 0 && (workspace == nullptr || workspace_size < ws)) {
    return invalid_argument("scatter workspace too small for " + std::to_string(elements) +
                            " output elements");
  }
  KILN_RETURN_IF_ERROR(copy_data(run));
  if (updates == 0) return Status::ok();
  auto* last = static_cast<unsigned int*>(workspace);
  if (run.red == ScatterReduction::kNone) {
    KILN_RETURN_IF_ERROR(
        cuda::cuda_status(cudaMemsetAsync(last, 0, ws, static_cast<cudaStream_t>(run.stream)),
                          "cudaMemsetAsync(" + std::to_string(ws) + " bytes)"));
    KILN_RETURN_IF_ERROR(cuda::launch_for_each("scatter_record_last_kernel", updates, run.sms,
                                               run.stream, RecordLastFn<Dest>{dest, last}));
  }
  return cuda::dispatch_device_dtype(run.data->dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* up = static_cast<const T*>(run.updates->data);
    T* out = static_cast<T*>(run.out->data);
    if (run.red == ScatterReduction::kNone) {
      return cuda::launch_for_each("scatter_write_last_kernel", updates, run.sms, run.stream,
                                   WriteLastFn<T, Dest>{dest, last, up, out});
    }
    return cuda::launch_for_each(
        "scatter_atomic_kernel", updates, run.sms, run.stream,
        AtomicFn<T, Dest>{dest, up, out, run.red, run.data->dtype == DataType::kBool});
  });
}

}  // namespace kiln::ops::scatter_cuda
