// One engine, several execution contexts (the seed's MultiContext example, in kiln's API): the
// engine holds the weights once; each context has its own activation memory and input shapes,
// and all of them use the same optimization profile at the same time, each on its own thread
// (and, on CUDA, its own stream). Then the same with a ContextPool: more threads than contexts,
// each thread borrowing a context per request. Every result is checked: output = inputT0 + inputT1.
//
// CUDA when a GPU is visible, else the CPU backend.
#include <kiln/context_pool.h>
#include <kiln/device_memory.h>
#include <kiln/kiln.h>

#include <atomic>
#include <cstdio>
#include <numeric>
#include <thread>
#include <vector>

using namespace kiln;

namespace {

// One inference of `shape` on `ctx`: host data -> device -> enqueue -> host, checked.
Status infer_and_check(Backend backend, Context& ctx, const Stream& stream, const Dims& shape,
                       float offset, bool* ok) {
  const size_t n = static_cast<size_t>(shape.volume());
  std::vector<float> a(n), b(n), out(n, -1.f);
  std::iota(a.begin(), a.end(), offset);
  std::iota(b.begin(), b.end(), 2 * offset);
  KILN_ASSIGN_OR_RETURN(auto da, DeviceMemory::allocate(backend, n * 4));
  KILN_ASSIGN_OR_RETURN(auto db, DeviceMemory::allocate(backend, n * 4));
  KILN_ASSIGN_OR_RETURN(auto dout, DeviceMemory::allocate(backend, n * 4));
  KILN_RETURN_IF_ERROR(da.copy_from_host(a.data(), n * 4));
  KILN_RETURN_IF_ERROR(db.copy_from_host(b.data(), n * 4));
  KILN_RETURN_IF_ERROR(ctx.set_input_shape("inputT0", shape));
  KILN_RETURN_IF_ERROR(ctx.set_input_shape("inputT1", shape));
  KILN_RETURN_IF_ERROR(ctx.set_tensor_address("inputT0", da.data()));
  KILN_RETURN_IF_ERROR(ctx.set_tensor_address("inputT1", db.data()));
  KILN_RETURN_IF_ERROR(ctx.set_tensor_address(ctx.engine().io_tensor_name(2), dout.data()));
  KILN_RETURN_IF_ERROR(ctx.enqueue(stream.handle()));
  KILN_RETURN_IF_ERROR(stream.synchronize());
  KILN_RETURN_IF_ERROR(dout.copy_to_host(out.data(), n * 4));
  for (size_t i = 0; i < n; ++i) *ok &= out[i] == a[i] + b[i];
  return Status::ok();
}

}  // namespace

int main() {
  const Backend backend = backend_status(Backend::kCuda).is_ok() ? Backend::kCuda : Backend::kCpu;
  const Dims shape{2, 3, 4, 5};
  constexpr int kContexts = 2;

  Builder builder;
  auto net = builder.create_network();
  Tensor* t0 = net->add_input("inputT0", DataType::kFloat32, {-1, -1, -1, -1});
  Tensor* t1 = net->add_input("inputT1", DataType::kFloat32, {-1, -1, -1, -1});
  net->mark_output(net->add_elementwise(t0, t1, ElementWiseOp::kSum)->output(0));
  // One profile is enough for any number of contexts (they may use it at the same time).
  Dims max = shape;
  for (int d = 0; d < max.rank(); ++d) max[d] *= kContexts;
  OptimizationProfile profile;
  profile.set_shape("inputT0", shape, shape, max);
  profile.set_shape("inputT1", shape, shape, max);
  BuildConfig config;
  config.backend = backend;
  config.add_profile(profile);
  auto plan = builder.build_serialized_network(*net, config);
  if (!plan.is_ok()) {
    std::fprintf(stderr, "build failed: %s\n", plan.status().to_string().c_str());
    return 1;
  }
  auto engine = Runtime().deserialize(*plan);
  if (!engine.is_ok()) {
    std::fprintf(stderr, "load failed: %s\n", engine.status().to_string().c_str());
    return 1;
  }
  std::printf("engine on %s: %zu bytes of weights, %zu bytes of activation memory per context\n",
              std::string(backend_name(backend)).c_str(), (*engine)->weights_size(),
              (*engine)->device_memory_size());

  // Contexts from one engine, each used by its own thread with its own shape.
  std::vector<std::unique_ptr<Context>> contexts;
  for (int i = 0; i < kContexts; ++i) {
    auto ctx = (*engine)->create_context();
    if (!ctx.is_ok()) return 1;
    contexts.push_back(std::move(*ctx));
  }
  std::atomic<bool> all_ok{true};
  std::vector<std::thread> threads;
  for (int i = 0; i < kContexts; ++i) {
    threads.emplace_back([&, i] {
      Dims s = shape;
      for (int d = 0; d < s.rank(); ++d) s[d] *= (i + 1);  // context i runs shape * (i+1)
      auto stream = Stream::create(backend);
      bool ok = stream.is_ok();
      Status st =
          ok ? infer_and_check(backend, *contexts[i], *stream, s, static_cast<float>(i), &ok)
             : stream.status();
      std::printf("context %d, shape %s: check result %s\n", i, s.to_string().c_str(),
                  st.is_ok() && ok ? "True" : "False");
      if (!st.is_ok()) std::fprintf(stderr, "  %s\n", st.to_string().c_str());
      if (!st.is_ok() || !ok) all_ok = false;
    });
  }
  for (auto& t : threads) t.join();

  // Serving style: 6 threads, 2 contexts, each request borrows one.
  auto pool = ContextPool::create(**engine, {.max_contexts = kContexts});
  if (!pool.is_ok()) return 1;
  std::atomic<int> requests_ok{0};
  threads.clear();
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      auto stream = Stream::create(backend);
      if (!stream.is_ok()) return;
      for (int r = 0; r < 4; ++r) {
        auto lease = (*pool)->acquire();  // waits while both contexts are busy
        if (!lease.is_ok()) return;
        bool ok = true;
        Status st =
            infer_and_check(backend, **lease, *stream, shape, static_cast<float>(t * 4 + r), &ok);
        if (st.is_ok() && ok) ++requests_ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::printf("context pool: %d of 24 requests correct, %zu contexts created\n", requests_ok.load(),
              (*pool)->created());
  return all_ok && requests_ok == 24 ? 0 : 1;
}
