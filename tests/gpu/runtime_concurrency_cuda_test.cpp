// Runtime concurrency on the GPU: threads x requests through their own contexts and streams and
// through a ContextPool; the pipelined runner (1/2/4 lanes, shared context, pinned and pageable
// buffers, CUDA graphs); the input-consumed event; CUDA graph capture, replay, re-capture on shape
// changes and in-place update on address changes; auxiliary streams. Every result is compared
// with a single-stream run of the same CUDA engine (bit for bit: same kernels) and, for the MNIST
// model, with the CPU engine (within float tolerance).
//
// compute-sanitizer racecheck runs RuntimeCuda.PipelineSmallForRacecheck (ctest
// gpu.racecheck_pipeline).
#include <kiln/context_pool.h>
#include <kiln/device_memory.h>
#include <kiln/graph_runner.h>
#include <kiln/kiln.h>
#include <kiln/pipeline.h>

#include "backends/cuda/cuda_check.h"
#include "concurrency_models.h"
#include "demo_model.h"
#include "gpu/gpu_harness.h"

#include <cmath>
#include <cstring>
#include <thread>

namespace kiln::testing::runtime_concurrency_cuda_test {
namespace {

std::unique_ptr<Engine> build(Backend backend, const std::function<void(Network&)>& define,
                              const OptimizationProfile& profile) {
  Builder builder;
  auto net = builder.create_network();
  define(*net);
  BuildConfig config;
  config.backend = backend;
  config.clear_flag(BuilderFlag::kTf32);  // float32 math, comparable with the CPU engine
  config.add_profile(profile);
  auto plan = builder.build_serialized_network(*net, config);
  EXPECT_TRUE(plan.is_ok()) << plan.status().to_string();
  if (!plan.is_ok()) return nullptr;
  auto e = Runtime().deserialize(*plan);
  EXPECT_TRUE(e.is_ok()) << e.status().to_string();
  return e.is_ok() ? std::move(*e) : nullptr;
}

class RuntimeCuda : public GpuTest {
 protected:
  static void SetUpTestSuite() {
    if (!cuda::get_cuda_device().is_ok()) return;
    auto mnist = [](Network& n) { demo::build_mnist(n); };
    gpu_mnist_ = build(Backend::kCuda, mnist, demo::mnist_profile(1, 4, 8)).release();
    cpu_mnist_ = build(Backend::kCpu, mnist, demo::mnist_profile(1, 4, 8)).release();
  }
  static void TearDownTestSuite() {
    delete gpu_mnist_;
    delete cpu_mnist_;
    gpu_mnist_ = cpu_mnist_ = nullptr;
  }
  void SetUp() override {
    GpuTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_NE(gpu_mnist_, nullptr);
    ASSERT_NE(cpu_mnist_, nullptr);
  }
  static Engine* gpu_mnist_;
  static Engine* cpu_mnist_;
};
Engine* RuntimeCuda::gpu_mnist_ = nullptr;
Engine* RuntimeCuda::cpu_mnist_ = nullptr;

struct Result2 {
  std::vector<float> prob;
  std::vector<int64_t> label;
};

int64_t batch_of(int i) {
  return 1 + i % 8;
}
uint32_t seed_of(int i) {
  return 500u + static_cast<uint32_t>(i);
}

// One MNIST request on a CUDA context: device buffers, `stream`, synchronized.
Status run_gpu(Context& ctx, void* stream, int i, Result2* out) {
  const int64_t batch = batch_of(i);
  auto images = demo::demo_images(batch, seed_of(i));
  KILN_ASSIGN_OR_RETURN(auto x, DeviceMemory::allocate(Backend::kCuda, images.size() * 4));
  KILN_ASSIGN_OR_RETURN(auto p, DeviceMemory::allocate(Backend::kCuda, batch * 4));
  KILN_ASSIGN_OR_RETURN(auto l, DeviceMemory::allocate(Backend::kCuda, batch * 8));
  KILN_RETURN_IF_ERROR(x.copy_from_host(images.data(), images.size() * 4));
  KILN_RETURN_IF_ERROR(ctx.set_input_shape("x", {batch, 1, 28, 28}));
  KILN_RETURN_IF_ERROR(ctx.set_tensor_address("x", x.data()));
  KILN_RETURN_IF_ERROR(ctx.set_tensor_address("prob", p.data()));
  KILN_RETURN_IF_ERROR(ctx.set_tensor_address("label", l.data()));
  KILN_RETURN_IF_ERROR(ctx.enqueue(stream));
  KILN_RETURN_IF_ERROR(
      cuda::cuda_status(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), "sync"));
  out->prob.resize(batch);
  out->label.resize(batch);
  KILN_RETURN_IF_ERROR(p.copy_to_host(out->prob.data(), batch * 4));
  return l.copy_to_host(out->label.data(), batch * 8);
}

// Reference results of requests [0, n): one CUDA context on one stream; checked against the CPU
// engine within float tolerance.
std::vector<Result2> reference(Engine& gpu, Engine& cpu, cudaStream_t stream, int n) {
  std::vector<Result2> want(n);
  auto ctx = gpu.create_context();
  auto cctx = cpu.create_context();
  EXPECT_TRUE(ctx.is_ok() && cctx.is_ok());
  for (int i = 0; i < n; ++i) {
    Status s = run_gpu(**ctx, stream, i, &want[i]);
    EXPECT_TRUE(s.is_ok()) << s.to_string();
    const int64_t batch = batch_of(i);
    auto images = demo::demo_images(batch, seed_of(i));
    std::vector<float> prob(batch);
    std::vector<int64_t> label(batch);
    EXPECT_TRUE((*cctx)->set_input_shape("x", {batch, 1, 28, 28}).is_ok());
    EXPECT_TRUE((*cctx)->set_tensor_address("x", images.data()).is_ok());
    EXPECT_TRUE((*cctx)->set_tensor_address("prob", prob.data()).is_ok());
    EXPECT_TRUE((*cctx)->set_tensor_address("label", label.data()).is_ok());
    EXPECT_TRUE((*cctx)->execute().is_ok());
    for (int64_t k = 0; k < batch && static_cast<size_t>(k) < want[i].prob.size(); ++k) {
      EXPECT_NEAR(want[i].prob[k], prob[k], 1e-4) << "request " << i;
      EXPECT_EQ(want[i].label[k], label[k]) << "request " << i;
    }
  }
  return want;
}

// Same engine, same kernels: equal up to reordering inside library kernels (a race or a wrong
// buffer gives garbage, far outside this).
void expect_same(const Result2& got, const Result2& want, const std::string& what) {
  ASSERT_EQ(got.prob.size(), want.prob.size()) << what;
  for (size_t k = 0; k < got.prob.size(); ++k) EXPECT_NEAR(got.prob[k], want.prob[k], 1e-6) << what;
  EXPECT_EQ(got.label, want.label) << what;
}

TEST_F(RuntimeCuda, ThreadsWithOwnContextsAndStreams) {
  constexpr int kThreads = 4, kRuns = 6;
  auto want = reference(*gpu_mnist_, *cpu_mnist_, stream(), kThreads * kRuns);
  std::vector<Result2> got(kThreads * kRuns);
  std::vector<Status> status(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto ctx = gpu_mnist_->create_context();
      auto st = Stream::create(Backend::kCuda);
      if (!ctx.is_ok() || !st.is_ok()) {
        status[t] = internal_error("setup failed");
        return;
      }
      for (int r = 0; r < kRuns; ++r) {
        Status s = run_gpu(**ctx, st->handle(), t * kRuns + r, &got[t * kRuns + r]);
        if (!s.is_ok()) status[t] = s;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& s : status) EXPECT_TRUE(s.is_ok()) << s.to_string();
  for (int i = 0; i < kThreads * kRuns; ++i)
    expect_same(got[i], want[i], "request " + std::to_string(i));
}

TEST_F(RuntimeCuda, ThreadsThroughContextPool) {
  constexpr int kThreads = 8, kRuns = 4;
  auto want = reference(*gpu_mnist_, *cpu_mnist_, stream(), kThreads * kRuns);
  auto pool = ContextPool::create(*gpu_mnist_, {.max_contexts = 3});
  ASSERT_TRUE(pool.is_ok());
  std::vector<Result2> got(kThreads * kRuns);
  std::vector<Status> status(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto st = Stream::create(Backend::kCuda);
      if (!st.is_ok()) {
        status[t] = st.status();
        return;
      }
      for (int r = 0; r < kRuns; ++r) {
        auto lease = (*pool)->acquire();
        if (!lease.is_ok()) {
          status[t] = lease.status();
          return;
        }
        // run_gpu synchronizes before the lease goes back.
        Status s = run_gpu(**lease, st->handle(), t * kRuns + r, &got[t * kRuns + r]);
        if (!s.is_ok()) status[t] = s;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& s : status) EXPECT_TRUE(s.is_ok()) << s.to_string();
  for (int i = 0; i < kThreads * kRuns; ++i)
    expect_same(got[i], want[i], "request " + std::to_string(i));
  EXPECT_LE((*pool)->created(), 3u);
}

// Allocation strategies on the device: static (max over profiles), on profile change (the
// selected profile's size), user-managed (one device block shared by two contexts that take
// turns on one stream: stream order keeps their runs apart).
TEST_F(RuntimeCuda, AllocationStrategiesOnTheDevice) {
  auto want = reference(*gpu_mnist_, *cpu_mnist_, stream(), 8);
  auto st = gpu_mnist_->create_context(AllocationStrategy::kStatic);
  ASSERT_TRUE(st.is_ok());
  EXPECT_EQ((*st)->activation_memory_size(), gpu_mnist_->device_memory_size());
  auto op = gpu_mnist_->create_context(AllocationStrategy::kOnProfileChange);
  ASSERT_TRUE(op.is_ok());
  EXPECT_EQ((*op)->activation_memory_size(), gpu_mnist_->device_memory_size(0));
  Result2 got;
  ASSERT_TRUE(run_gpu(**op, stream(), 7, &got).is_ok());
  expect_same(got, want[7], "on profile change");

  auto c1 = gpu_mnist_->create_context(AllocationStrategy::kUserManaged);
  auto c2 = gpu_mnist_->create_context(AllocationStrategy::kUserManaged);
  ASSERT_TRUE(c1.is_ok() && c2.is_ok());
  Status missing = run_gpu(**c1, stream(), 0, &got);
  EXPECT_EQ(missing.code(), StatusCode::kFailedPrecondition) << missing.to_string();
  const size_t bytes = gpu_mnist_->device_memory_size(0);
  auto block = DeviceMemory::allocate(Backend::kCuda, bytes);
  ASSERT_TRUE(block.is_ok());
  ASSERT_TRUE((*c1)->set_device_memory(block->data(), bytes).is_ok());
  ASSERT_TRUE((*c2)->set_device_memory(block->data(), bytes).is_ok());
  for (int i = 0; i < 8; ++i) {
    Context& c = (i % 2) ? **c2 : **c1;
    Status s = run_gpu(c, stream(), i, &got);
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    expect_same(got, want[i], "shared user block, request " + std::to_string(i));
  }
  // The size for the current shapes is enough on its own.
  ASSERT_TRUE((*c1)->set_input_shape("x", {1, 1, 28, 28}).is_ok());
  auto need = (*c1)->device_memory_size_for_current_shapes();
  ASSERT_TRUE(need.is_ok());
  EXPECT_LT(*need, bytes);
  auto small = DeviceMemory::allocate(Backend::kCuda, *need);
  ASSERT_TRUE(small.is_ok());
  ASSERT_TRUE((*c1)->set_device_memory(small->data(), *need).is_ok());
  ASSERT_TRUE(run_gpu(**c1, stream(), 0, &got).is_ok());
  expect_same(got, want[0], "current-shape-sized block");
}

// ---- pipelined runner ----

struct PipeCase {
  int streams;
  bool shared;
  bool pinned;
  bool graphs;
};

void run_pipeline_case(Engine& gpu, const std::vector<Result2>& want, const PipeCase& pc) {
  const std::string what = "streams " + std::to_string(pc.streams) + (pc.shared ? " shared" : "") +
                           (pc.pinned ? " pinned" : " pageable") + (pc.graphs ? " graphs" : "");
  auto runner = PipelinedRunner::create(gpu, {.streams = pc.streams,
                                              .share_context = pc.shared,
                                              .cuda_graphs = pc.graphs,
                                              .measure_stages = true});
  ASSERT_TRUE(runner.is_ok()) << what << ": " << runner.status().to_string();
  const int n = static_cast<int>(want.size());
  // Host buffers of every request (pinned ones come from PinnedMemory).
  std::vector<PinnedMemory> pinned;
  std::vector<std::vector<uint8_t>> pageable;
  std::vector<void*> x(n), p(n), l(n);
  for (int i = 0; i < n; ++i) {
    const int64_t batch = batch_of(i);
    auto images = demo::demo_images(batch, seed_of(i));
    size_t sizes[] = {images.size() * 4, static_cast<size_t>(batch) * 4,
                      static_cast<size_t>(batch) * 8};
    void* ptrs[3];
    for (int k = 0; k < 3; ++k) {
      if (pc.pinned) {
        auto m = PinnedMemory::allocate(Backend::kCuda, sizes[k]);
        ASSERT_TRUE(m.is_ok());
        ptrs[k] = m->data();
        pinned.push_back(std::move(*m));
      } else {
        pageable.emplace_back(sizes[k]);
        ptrs[k] = pageable.back().data();
      }
      std::memset(ptrs[k], 0xff, sizes[k]);
    }
    std::memcpy(ptrs[0], images.data(), sizes[0]);
    x[i] = ptrs[0];
    p[i] = ptrs[1];
    l[i] = ptrs[2];
  }
  std::vector<uint64_t> tickets;
  for (int i = 0; i < n; ++i) {
    const int64_t batch = batch_of(i);
    HostInput in[] = {{"x", x[i], {batch, 1, 28, 28}}};
    HostOutput out[] = {{"prob", p[i], static_cast<size_t>(batch) * 4},
                        {"label", l[i], static_cast<size_t>(batch) * 8}};
    auto t = (*runner)->submit(in, out);
    ASSERT_TRUE(t.is_ok()) << what << ": " << t.status().to_string();
    tickets.push_back(*t);
    if (i >= pc.streams) {
      ASSERT_TRUE((*runner)->wait(tickets[i - pc.streams]).is_ok()) << what;
    }
  }
  ASSERT_TRUE((*runner)->wait_all().is_ok()) << what;
  for (int i = 0; i < n; ++i) {
    const int64_t batch = batch_of(i);
    Result2 got;
    got.prob.assign(static_cast<float*>(p[i]), static_cast<float*>(p[i]) + batch);
    got.label.assign(static_cast<int64_t*>(l[i]), static_cast<int64_t*>(l[i]) + batch);
    expect_same(got, want[i], what + " request " + std::to_string(i));
  }
  StageTimes st = (*runner)->stage_times();
  EXPECT_EQ(st.requests, static_cast<size_t>(n)) << what;
  EXPECT_GT(st.compute_ms, 0.0) << what;
}

TEST_F(RuntimeCuda, PipelineMatchesSingleStream) {
  auto want = reference(*gpu_mnist_, *cpu_mnist_, stream(), 16);
  for (PipeCase pc : {PipeCase{1, false, false, false}, PipeCase{2, false, false, false},
                      PipeCase{4, false, true, false}, PipeCase{2, true, false, false},
                      PipeCase{4, true, true, false}, PipeCase{3, false, true, true},
                      PipeCase{2, true, false, true}}) {
    run_pipeline_case(*gpu_mnist_, want, pc);
  }
}

// The small multi-stream case that ctest gpu.racecheck_pipeline runs under compute-sanitizer.
TEST_F(RuntimeCuda, PipelineSmallForRacecheck) {
  auto want = reference(*gpu_mnist_, *cpu_mnist_, stream(), 6);
  run_pipeline_case(*gpu_mnist_, want, PipeCase{2, false, true, false});
  run_pipeline_case(*gpu_mnist_, want, PipeCase{2, true, false, false});
}

// ---- input-consumed event ----

TEST_F(RuntimeCuda, InputConsumedEventAllowsEarlyRefill) {
  auto want = reference(*gpu_mnist_, *cpu_mnist_, stream(), 8);
  auto ctx = gpu_mnist_->create_context();
  ASSERT_TRUE(ctx.is_ok());
  auto consumed = Event::create(Backend::kCuda);
  ASSERT_TRUE(consumed.is_ok());
  ASSERT_TRUE((*ctx)->set_input_consumed_event(consumed->handle()).is_ok());
  EXPECT_EQ((*ctx)->input_consumed_event(), consumed->handle());
  const int64_t batch = 8;
  auto x = DeviceMemory::allocate(Backend::kCuda, batch * 784 * 4);
  auto p = DeviceMemory::allocate(Backend::kCuda, batch * 4);
  auto l = DeviceMemory::allocate(Backend::kCuda, batch * 8);
  ASSERT_TRUE(x.is_ok() && p.is_ok() && l.is_ok());
  ASSERT_TRUE((*ctx)->set_input_shape("x", {batch, 1, 28, 28}).is_ok());
  ASSERT_TRUE((*ctx)->set_tensor_address("x", x->data()).is_ok());
  ASSERT_TRUE((*ctx)->set_tensor_address("prob", p->data()).is_ok());
  ASSERT_TRUE((*ctx)->set_tensor_address("label", l->data()).is_ok());
  // Requests 7 and 15 both have batch 8: refill the input for the next one as soon as the
  // event says the current one has read it, while its inference may still be running.
  auto images_a = demo::demo_images(batch, seed_of(7));
  ASSERT_TRUE(x->copy_from_host(images_a.data(), images_a.size() * 4).is_ok());
  ASSERT_TRUE((*ctx)->enqueue(stream()).is_ok());
  ASSERT_TRUE(consumed->synchronize().is_ok());
  std::vector<float> garbage(batch * 784, 1e30f);
  ASSERT_TRUE(x->copy_from_host(garbage.data(), garbage.size() * 4).is_ok());
  ASSERT_EQ(cudaStreamSynchronize(stream()), cudaSuccess);
  Result2 got;
  got.prob.resize(batch);
  got.label.resize(batch);
  ASSERT_TRUE(p->copy_to_host(got.prob.data(), batch * 4).is_ok());
  ASSERT_TRUE(l->copy_to_host(got.label.data(), batch * 8).is_ok());
  expect_same(got, want[7], "overwritten after the input-consumed event");
  // Through a CUDA graph the event is recorded by every replay.
  GraphRunner graphs(**ctx);
  for (int k = 0; k < 3; ++k) {
    ASSERT_TRUE(x->copy_from_host(images_a.data(), images_a.size() * 4).is_ok());
    ASSERT_TRUE(graphs.enqueue(stream()).is_ok());
    ASSERT_TRUE(consumed->synchronize().is_ok());
    ASSERT_TRUE(x->copy_from_host(garbage.data(), garbage.size() * 4).is_ok());
    ASSERT_EQ(cudaStreamSynchronize(stream()), cudaSuccess);
    ASSERT_TRUE(p->copy_to_host(got.prob.data(), batch * 4).is_ok());
    ASSERT_TRUE(l->copy_to_host(got.label.data(), batch * 8).is_ok());
    expect_same(got, want[7], "graph run " + std::to_string(k));
  }
  EXPECT_EQ(graphs.stats().replays, 2u);
}

// ---- CUDA graphs ----

// A model whose output includes a host-evaluated shape tensor (device copy per shape): graphs
// for different shapes must each see their own values.
void define_mnist_with_shape(Network& n) {
  demo::build_mnist(n);
  Tensor* x = n.find_tensor("x");
  Layer* shape = n.add_shape(x);
  shape->output(0)->set_name("x_shape");
  n.mark_output(shape->output(0));
}

struct GraphIo {
  DeviceMemory x, p, l, shape;
};

Status bind(Context& ctx, GraphIo& io, int64_t batch) {
  KILN_RETURN_IF_ERROR(ctx.set_input_shape("x", {batch, 1, 28, 28}));
  KILN_RETURN_IF_ERROR(ctx.set_tensor_address("x", io.x.data()));
  KILN_RETURN_IF_ERROR(ctx.set_tensor_address("prob", io.p.data()));
  KILN_RETURN_IF_ERROR(ctx.set_tensor_address("label", io.l.data()));
  return ctx.set_tensor_address("x_shape", io.shape.data());
}

Result<GraphIo> make_io() {
  GraphIo io;
  KILN_ASSIGN_OR_RETURN(io.x, DeviceMemory::allocate(Backend::kCuda, 8 * 784 * 4));
  KILN_ASSIGN_OR_RETURN(io.p, DeviceMemory::allocate(Backend::kCuda, 8 * 4));
  KILN_ASSIGN_OR_RETURN(io.l, DeviceMemory::allocate(Backend::kCuda, 8 * 8));
  KILN_ASSIGN_OR_RETURN(io.shape, DeviceMemory::allocate(Backend::kCuda, 4 * 8));
  return io;
}

// Runs request i through `graphs` on `io` (outputs poisoned first); returns the outputs and
// checks the shape output.
Result2 graph_run(GraphRunner& graphs, GraphIo& io, cudaStream_t stream, int i,
                  const std::string& what) {
  Result2 got;
  const int64_t batch = batch_of(i);
  auto images = demo::demo_images(batch, seed_of(i));
  std::vector<uint8_t> poison(64, 0xff);
  EXPECT_TRUE(io.x.copy_from_host(images.data(), images.size() * 4).is_ok());
  EXPECT_TRUE(io.p.copy_from_host(poison.data(), 32).is_ok());
  EXPECT_TRUE(io.l.copy_from_host(poison.data(), 64).is_ok());
  EXPECT_TRUE(io.shape.copy_from_host(poison.data(), 32).is_ok());
  EXPECT_TRUE(bind(graphs.context(), io, batch).is_ok());
  Status s = graphs.enqueue(stream);
  EXPECT_TRUE(s.is_ok()) << what << ": " << s.to_string();
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  got.prob.resize(batch);
  got.label.resize(batch);
  std::vector<int64_t> shape(4);
  EXPECT_TRUE(io.p.copy_to_host(got.prob.data(), batch * 4).is_ok());
  EXPECT_TRUE(io.l.copy_to_host(got.label.data(), batch * 8).is_ok());
  EXPECT_TRUE(io.shape.copy_to_host(shape.data(), 32).is_ok());
  EXPECT_EQ(shape, (std::vector<int64_t>{batch, 1, 28, 28})) << what;
  return got;
}

TEST_F(RuntimeCuda, GraphCaptureReplayRecaptureAndUpdate) {
  auto gpu = build(Backend::kCuda, define_mnist_with_shape, demo::mnist_profile(1, 4, 8));
  ASSERT_NE(gpu, nullptr);
  auto io_a = make_io();
  auto io_b = make_io();
  ASSERT_TRUE(io_a.is_ok() && io_b.is_ok());
  // Expected values: the same engine through plain enqueue.
  std::vector<Result2> want(16);
  {
    auto ref = gpu->create_context();
    ASSERT_TRUE(ref.is_ok());
    GraphRunner plain(**ref, {.enabled = false});
    for (int i = 0; i < 16; ++i) want[i] = graph_run(plain, *io_a, stream(), i, "reference");
    EXPECT_EQ(plain.stats().captures, 0u);
  }
  auto ctx = gpu->create_context();
  ASSERT_TRUE(ctx.is_ok());
  GraphRunner graphs(**ctx, {.max_graphs = 2});
  const auto& st = graphs.stats();
  auto check = [&](GraphIo& io, int i, const std::string& what) {
    expect_same(graph_run(graphs, io, stream(), i, what), want[i], what);
  };

  // Request 0 (batch 1): first sight runs plainly and captures; request 8 (batch 1) replays.
  check(*io_a, 0, "batch 1 first");
  EXPECT_EQ(st.plain_runs, 1u);
  EXPECT_EQ(st.captures, 1u);
  EXPECT_EQ(st.replays, 0u);
  check(*io_a, 8, "batch 1 replay");
  EXPECT_EQ(st.replays, 1u);
  // New shape (batch 3): another capture; then back to batch 1: the first graph again.
  check(*io_a, 2, "batch 3 first");
  EXPECT_EQ(st.captures, 2u);
  check(*io_a, 10, "batch 3 replay");
  check(*io_a, 0, "batch 1 again");
  EXPECT_EQ(st.replays, 3u);
  EXPECT_EQ(st.captures, 2u);
  EXPECT_EQ(graphs.num_graphs(), 2u);
  // Other buffers, same shape: re-captured and updated in place.
  check(*io_b, 8, "batch 1 new addresses");
  EXPECT_EQ(st.updates, 1u);
  EXPECT_EQ(st.captures, 2u);
  check(*io_b, 0, "batch 1 new addresses replay");
  EXPECT_EQ(st.updates, 1u);
  check(*io_a, 8, "batch 1 old addresses");
  EXPECT_EQ(st.updates, 2u);
  // A third shape evicts the least recently used graph (batch 3).
  check(*io_a, 5, "batch 6 first");
  EXPECT_EQ(st.evictions, 1u);
  check(*io_a, 2, "batch 3 after eviction");
  EXPECT_EQ(st.evictions, 2u);
  EXPECT_EQ(st.fallbacks, 0u) << st.last_fallback_reason;
  // Many replays in a row on alternating buffers stay correct.
  for (int i = 0; i < 16; ++i) {
    check((i % 3) ? *io_a : *io_b, (i % 2) ? 2 : 10, "loop " + std::to_string(i));
  }
  EXPECT_EQ(st.fallbacks, 0u) << st.last_fallback_reason;
}

TEST_F(RuntimeCuda, GraphFallbacksSayWhy) {
  auto want = reference(*gpu_mnist_, *cpu_mnist_, stream(), 4);
  auto ctx = gpu_mnist_->create_context();
  ASSERT_TRUE(ctx.is_ok());
  GraphRunner graphs(**ctx);
  ASSERT_TRUE((*ctx)->set_input_shape("x", {batch_of(1), 1, 28, 28}).is_ok());
  auto io = make_io();
  ASSERT_TRUE(io.is_ok());
  auto images = demo::demo_images(batch_of(1), seed_of(1));
  ASSERT_TRUE(io->x.copy_from_host(images.data(), images.size() * 4).is_ok());
  ASSERT_TRUE((*ctx)->set_tensor_address("x", io->x.data()).is_ok());
  ASSERT_TRUE((*ctx)->set_tensor_address("prob", io->p.data()).is_ok());
  ASSERT_TRUE((*ctx)->set_tensor_address("label", io->l.data()).is_ok());
  // The legacy default stream cannot be captured.
  ASSERT_TRUE(graphs.enqueue(nullptr).is_ok());
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(graphs.stats().fallbacks, 1u);
  EXPECT_NE(graphs.stats().last_fallback_reason.find("legacy default stream"), std::string::npos);
  // A profiler synchronizes after each layer.
  struct Count : Profiler {
    int layers = 0;
    void report_layer_time(std::string_view, float) override { ++layers; }
  } profiler;
  (*ctx)->set_profiler(&profiler);
  ASSERT_TRUE(graphs.enqueue(stream()).is_ok());
  ASSERT_EQ(cudaStreamSynchronize(stream()), cudaSuccess);
  EXPECT_GT(profiler.layers, 0);
  EXPECT_NE(graphs.stats().last_fallback_reason.find("profiler"), std::string::npos);
  (*ctx)->set_profiler(nullptr);
  EXPECT_EQ(graphs.stats().captures, 0u);
  Result2 out;
  out.prob.resize(batch_of(1));
  out.label.resize(batch_of(1));
  ASSERT_TRUE(io->p.copy_to_host(out.prob.data(), out.prob.size() * 4).is_ok());
  ASSERT_TRUE(io->l.copy_to_host(out.label.data(), out.label.size() * 8).is_ok());
  expect_same(out, want[1], "after fallbacks");
}

// ---- auxiliary streams ----

TEST_F(RuntimeCuda, AuxStreamsRunBranchesAndMatch) {
  OptimizationProfile p;
  p.set_shape("x", {1, 32, 20, 20}, {2, 32, 20, 20}, {4, 32, 20, 20});
  auto gpu = build(
      Backend::kCuda, [](Network& n) { examples::build_inception(n, 32, 20); }, p);
  auto cpu = build(
      Backend::kCpu, [](Network& n) { examples::build_inception(n, 32, 20); }, p);
  ASSERT_TRUE(gpu && cpu);
  std::mt19937 rng(3);
  for (int64_t batch : {1, 4, 2}) {
    auto xh = examples::uniform(static_cast<size_t>(batch * 32 * 400), -1.f, 1.f, rng);
    std::vector<float> want(xh.size()), cpu_y(xh.size());
    {
      auto c = cpu->create_context();
      ASSERT_TRUE(c.is_ok());
      ASSERT_TRUE((*c)->set_input_shape("x", {batch, 32, 20, 20}).is_ok());
      ASSERT_TRUE((*c)->set_tensor_address("x", xh.data()).is_ok());
      ASSERT_TRUE((*c)->set_tensor_address("y", cpu_y.data()).is_ok());
      ASSERT_TRUE((*c)->execute().is_ok());
    }
    auto x = DeviceMemory::allocate(Backend::kCuda, xh.size() * 4);
    auto y = DeviceMemory::allocate(Backend::kCuda, xh.size() * 4);
    ASSERT_TRUE(x.is_ok() && y.is_ok());
    ASSERT_TRUE(x->copy_from_host(xh.data(), xh.size() * 4).is_ok());
    for (int aux : {0, 1, 3}) {
      auto ctx = gpu->create_context();
      ASSERT_TRUE(ctx.is_ok());
      ASSERT_TRUE((*ctx)->set_aux_streams(aux).is_ok());
      EXPECT_EQ((*ctx)->aux_streams(), aux);
      if (aux > 0) {
        EXPECT_GT((*ctx)->aux_streams_used(), 0) << "the branches are independent";
      }
      ASSERT_TRUE((*ctx)->set_input_shape("x", {batch, 32, 20, 20}).is_ok());
      ASSERT_TRUE((*ctx)->set_tensor_address("x", x->data()).is_ok());
      ASSERT_TRUE((*ctx)->set_tensor_address("y", y->data()).is_ok());
      for (int graph = 0; graph < 2; ++graph) {
        std::vector<float> got(xh.size(), NAN);
        ASSERT_TRUE(y->copy_from_host(got.data(), got.size() * 4).is_ok());
        GraphRunner graphs(**ctx);
        // graph == 1: through a CUDA graph (plain, capture, then a replay).
        for (int k = 0; k < (graph ? 2 : 1); ++k) {
          Status s = graph ? graphs.enqueue(stream()) : (*ctx)->enqueue(stream());
          ASSERT_TRUE(s.is_ok()) << s.to_string();
        }
        ASSERT_EQ(cudaStreamSynchronize(stream()), cudaSuccess);
        ASSERT_TRUE(y->copy_to_host(got.data(), got.size() * 4).is_ok());
        if (aux == 0 && graph == 0) {
          want = got;
          for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], cpu_y[i], 1e-3) << i;
        } else {
          float worst = 0;
          for (size_t i = 0; i < got.size(); ++i) {
            const float d = std::fabs(got[i] - want[i]);
            if (!(d <= worst)) worst = d;  // NaN propagates
          }
          EXPECT_LE(worst, 1e-5f) << "aux " << aux << " graph " << graph << " batch " << batch;
        }
        if (graph) {
          EXPECT_EQ(graphs.stats().fallbacks, 0u) << graphs.stats().last_fallback_reason;
        }
      }
    }
  }
}

}  // namespace
}  // namespace kiln::testing::runtime_concurrency_cuda_test
