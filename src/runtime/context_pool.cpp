#include <kiln/context_pool.h>

#include "runtime/engine_state.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace kiln {

struct ContextPool::State {
  const Engine* engine = nullptr;
  ContextPoolOptions options;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::unique_ptr<Context>> all;  // every context made
  std::vector<Context*> idle;
  size_t creating = 0;  // contexts being created outside the lock

  Result<std::unique_ptr<Context>> make() const {
    KILN_ASSIGN_OR_RETURN(auto ctx, engine->create_context(options.allocation));
    if (options.profile != 0) KILN_RETURN_IF_ERROR(ctx->set_optimization_profile(options.profile));
    return ctx;
  }

  void give_back(Context* ctx) {
    // Bindings of the request that used it are not carried over to the next one.
    auto& s = ctx->state();
    std::fill(s.io_addresses.begin(), s.io_addresses.end(), nullptr);
    ctx->set_profiler(nullptr);
    ctx->set_input_consumed_event(nullptr).ignore();  // nullptr is always accepted
    {
      std::lock_guard<std::mutex> lock(mu);
      idle.push_back(ctx);
    }
    cv.notify_one();
  }
};

ContextPool::Lease::~Lease() {
  release();
}

ContextPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::move(other.pool_)), context_(std::exchange(other.context_, nullptr)) {}

ContextPool::Lease& ContextPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    release();
    pool_ = std::move(other.pool_);
    context_ = std::exchange(other.context_, nullptr);
  }
  return *this;
}

void ContextPool::Lease::release() {
  if (context_ != nullptr && pool_) pool_->give_back(context_);
  context_ = nullptr;
  pool_.reset();
}

Result<std::unique_ptr<ContextPool>> ContextPool::create(const Engine& engine,
                                                         ContextPoolOptions options) {
  if (options.max_contexts == 0) {
    return invalid_argument("ContextPool: max_contexts must be at least 1");
  }
  if (options.profile < 0 || options.profile >= engine.num_optimization_profiles()) {
    return out_of_range("ContextPool: optimization profile " + std::to_string(options.profile) +
                        " does not exist (the engine has " +
                        std::to_string(engine.num_optimization_profiles()) + ")");
  }
  auto state = std::make_shared<State>();
  state->engine = &engine;
  state->options = options;
  if (options.create_all) {
    for (size_t i = 0; i < options.max_contexts; ++i) {
      auto ctx = state->make();
      if (!ctx.is_ok())
        return ctx.status().with_context("ContextPool: context " + std::to_string(i));
      state->idle.push_back(ctx->get());
      state->all.push_back(std::move(*ctx));
    }
  }
  return std::unique_ptr<ContextPool>(new ContextPool(std::move(state)));
}

ContextPool::~ContextPool() = default;

Result<ContextPool::Lease> ContextPool::acquire_impl(bool wait,
                                                     const std::chrono::milliseconds* timeout) {
  State& st = *state_;
  std::unique_lock<std::mutex> lock(st.mu);
  auto ready = [&] {
    return !st.idle.empty() || st.all.size() + st.creating < st.options.max_contexts;
  };
  if (!ready()) {
    if (!wait) {
      return resource_exhausted("ContextPool: all " + std::to_string(st.options.max_contexts) +
                                " contexts are in use");
    }
    if (timeout != nullptr) {
      if (!st.cv.wait_for(lock, *timeout, ready)) {
        return resource_exhausted("ContextPool: no context became free within " +
                                  std::to_string(timeout->count()) + " ms (all " +
                                  std::to_string(st.options.max_contexts) + " in use)");
      }
    } else {
      st.cv.wait(lock, ready);
    }
  }
  if (!st.idle.empty()) {
    Context* ctx = st.idle.back();
    st.idle.pop_back();
    return Lease(state_, ctx);
  }
  // Create one outside the lock (it allocates memory); the slot is reserved meanwhile.
  ++st.creating;
  lock.unlock();
  auto made = st.make();
  lock.lock();
  --st.creating;
  if (!made.is_ok()) {
    lock.unlock();
    st.cv.notify_one();  // the reserved slot is free again
    return made.status().with_context("ContextPool: creating a context");
  }
  Context* ctx = made->get();
  st.all.push_back(std::move(*made));
  return Lease(state_, ctx);
}

Result<ContextPool::Lease> ContextPool::acquire() {
  return acquire_impl(true, nullptr);
}
Result<ContextPool::Lease> ContextPool::acquire_for(std::chrono::milliseconds timeout) {
  return acquire_impl(true, &timeout);
}
Result<ContextPool::Lease> ContextPool::try_acquire() {
  return acquire_impl(false, nullptr);
}

size_t ContextPool::capacity() const {
  return state_->options.max_contexts;
}
size_t ContextPool::created() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->all.size();
}
size_t ContextPool::available() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->idle.size() +
         (state_->options.max_contexts - state_->all.size() - state_->creating);
}

}  // namespace kiln
