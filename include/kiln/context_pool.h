// kiln — a bounded, thread-safe pool of execution contexts of one engine, for serving code
// where many threads run inferences and each needs a context for the length of one request.
//
//   auto pool = ContextPool::create(*engine, {.max_contexts = 4});
//   // in any thread:
//   auto lease = (*pool)->acquire();            // blocks while all 4 are in use
//   if (!lease.is_ok()) return lease.status();
//   Context& ctx = **lease;
//   ctx.set_input_shape("x", ...);  ctx.set_tensor_address(...);  ctx.execute();
//   // the context goes back to the pool when `lease` is destroyed (or lease->release())
//
// Contexts are created on demand up to max_contexts (or all at once with create_all), share
// the engine's weights, and keep their optimization profile and input shapes between leases
// (a request with the same shapes does no shape work). Tensor addresses, the profiler and the
// input-consumed event are cleared when a context comes back, so a request never runs on
// another request's buffers by accident.
//
// CUDA: give a context back only once the work enqueued through it has completed (synchronize
// its stream, or wait for an event recorded after it): the next holder may use another stream.
//
// Thread-safety: every ContextPool method is thread-safe. A Lease (and its Context) is used by
// one thread at a time; it may be handed to another thread. Leases may outlive the pool object
// (the pool's state lives until the last lease is gone); the Engine must outlive both.
#pragma once

#include <kiln/runtime.h>
#include <kiln/status.h>

#include <chrono>
#include <cstddef>
#include <memory>

namespace kiln {

struct ContextPoolOptions {
  size_t max_contexts = 4;  // the bound (>= 1)
  AllocationStrategy allocation = AllocationStrategy::kStatic;
  int profile = 0;          // profile selected on new contexts
  bool create_all = false;  // create every context in create() instead of on demand
};

class ContextPool {
 public:
  struct State;

  // A context on loan; returns it to the pool when destroyed or released. Move-only.
  class Lease {
   public:
    Lease() = default;
    ~Lease();
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    Context* get() const { return context_; }
    Context& operator*() const { return *context_; }
    Context* operator->() const { return context_; }
    explicit operator bool() const { return context_ != nullptr; }
    // Gives the context back now (the lease becomes empty).
    void release();

   private:
    friend class ContextPool;
    Lease(std::shared_ptr<State> pool, Context* context)
        : pool_(std::move(pool)), context_(context) {}
    std::shared_ptr<State> pool_;
    Context* context_ = nullptr;
  };

  static Result<std::unique_ptr<ContextPool>> create(const Engine& engine,
                                                     ContextPoolOptions options = {});
  ~ContextPool();
  ContextPool(const ContextPool&) = delete;
  ContextPool& operator=(const ContextPool&) = delete;

  // Waits until a context is free (creating one if fewer than max_contexts exist).
  Result<Lease> acquire();
  // As acquire(), but gives up after `timeout` (kResourceExhausted).
  Result<Lease> acquire_for(std::chrono::milliseconds timeout);
  // Never waits: kResourceExhausted when every context is in use.
  Result<Lease> try_acquire();

  size_t capacity() const;   // max_contexts
  size_t created() const;    // contexts created so far
  size_t available() const;  // contexts that could be acquired now without waiting

 private:
  explicit ContextPool(std::shared_ptr<State> state) : state_(std::move(state)) {}
  Result<Lease> acquire_impl(bool wait, const std::chrono::milliseconds* timeout);
  std::shared_ptr<State> state_;
};

}  // namespace kiln
