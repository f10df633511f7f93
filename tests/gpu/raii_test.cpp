// RAII owners (streams, events, pinned buffers, graphs, library handles), CUDA graph capture and
// replay of a kiln kernel, and lazy creation of library handles.
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/handles.h"
#include "gpu/gpu_harness.h"
#include "ops/op.h"

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cudnn.h>

#include <thread>

namespace kiln::testing::raii_test {
namespace {

// Library handle counts when the first test starts: after the device was opened (the environment
// opens it), before any test used a library.
size_t g_initial_handles[3] = {~size_t{0}, ~size_t{0}, ~size_t{0}};
constexpr TacticSource kLibraries[3] = {TacticSource::kCublas, TacticSource::kCublasLt,
                                        TacticSource::kCudnn};

class RecordInitialHandles : public ::testing::Environment {
 public:
  void SetUp() override {
    (void)cuda_device();  // opening the device must not initialize cuBLAS or cuDNN
    for (int i = 0; i < 3; ++i) g_initial_handles[i] = cuda::handles_created(kLibraries[i]);
  }
};
[[maybe_unused]] ::testing::Environment* const g_env =
    ::testing::AddGlobalTestEnvironment(new RecordInitialHandles);

using RaiiTest = GpuTest;

TEST_F(RaiiTest, StreamsAreCreatedMovedAndDestroyed) {
  auto s = cuda::Stream::create();
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  cudaStream_t raw = s->get();
  ASSERT_NE(raw, nullptr);
  unsigned int flags = 0;
  ASSERT_EQ(cudaStreamGetFlags(raw, &flags), cudaSuccess);
  EXPECT_EQ(flags & cudaStreamNonBlocking, static_cast<unsigned>(cudaStreamNonBlocking));
  cuda::Stream moved = std::move(*s);
  EXPECT_EQ(moved.get(), raw);
  EXPECT_EQ(s->get(), nullptr);
  EXPECT_TRUE(moved.synchronize().is_ok());

  auto blocking = cuda::Stream::create(/*non_blocking=*/false);
  ASSERT_TRUE(blocking.is_ok());
  ASSERT_EQ(cudaStreamGetFlags(blocking->get(), &flags), cudaSuccess);
  EXPECT_EQ(flags & cudaStreamNonBlocking, 0u);
  // Many create/destroy cycles leave nothing behind (a leak would eventually fail creation).
  for (int i = 0; i < 1000; ++i) {
    auto t = cuda::Stream::create();
    ASSERT_TRUE(t.is_ok()) << i;
  }
}

TEST_F(RaiiTest, EventsRecordSynchronizeQueryAndTime) {
  auto start = cuda::Event::create();
  auto stop = cuda::Event::create();
  ASSERT_TRUE(start.is_ok() && stop.is_ok());
  auto buf = device()->allocate(64 << 20);
  auto buf2 = device()->allocate(64 << 20);
  ASSERT_TRUE(buf.is_ok() && buf2.is_ok());
  ASSERT_TRUE(start->record(stream()).is_ok());
  ASSERT_TRUE(device()->copy_async(buf2->get(), buf->get(), 64 << 20, stream()).is_ok());
  ASSERT_TRUE(stop->record(stream()).is_ok());
  ASSERT_TRUE(stop->synchronize().is_ok());
  auto done = stop->query();
  ASSERT_TRUE(done.is_ok());
  EXPECT_TRUE(*done);
  auto ms = cuda::Event::elapsed_ms(*start, *stop);
  ASSERT_TRUE(ms.is_ok()) << ms.status().to_string();
  EXPECT_GT(*ms, 0.f);

  // A synchronization-only event cannot be timed: a clear error, not a crash.
  auto light = cuda::Event::create(/*timing=*/false);
  ASSERT_TRUE(light.is_ok());
  ASSERT_TRUE(light->record(stream()).is_ok());
  ASSERT_TRUE(light->synchronize().is_ok());
  auto bad = cuda::Event::elapsed_ms(*start, *light);
  EXPECT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("cudaEventElapsedTime"), std::string::npos);
  (void)cudaGetLastError();

  // Cross-stream dependency through an event.
  auto other = cuda::Stream::create();
  ASSERT_TRUE(other.is_ok());
  EXPECT_TRUE(other->wait(stop->get()).is_ok());
  EXPECT_TRUE(other->synchronize().is_ok());

  cuda::Event moved = std::move(*start);
  EXPECT_TRUE(static_cast<bool>(moved));
  EXPECT_FALSE(static_cast<bool>(*start));
}

TEST_F(RaiiTest, PinnedBuffersOverlapCopies) {
  auto pinned = cuda::PinnedBuffer::allocate(1 << 20);
  ASSERT_TRUE(pinned.is_ok()) << pinned.status().to_string();
  EXPECT_EQ(pinned->size(), size_t{1} << 20);
  cudaPointerAttributes attr{};
  ASSERT_EQ(cudaPointerGetAttributes(&attr, pinned->data()), cudaSuccess);
  EXPECT_EQ(attr.type, cudaMemoryTypeHost);
  float* h = pinned->as<float>();
  for (int i = 0; i < (1 << 18); ++i) h[i] = static_cast<float>(i);
  auto d = device()->allocate(1 << 20);
  ASSERT_TRUE(d.is_ok());
  ASSERT_EQ(cudaMemcpyAsync(d->get(), h, 1 << 20, cudaMemcpyHostToDevice, stream()), cudaSuccess);
  auto back = cuda::PinnedBuffer::allocate(1 << 20);
  ASSERT_TRUE(back.is_ok());
  ASSERT_EQ(cudaMemcpyAsync(back->data(), d->get(), 1 << 20, cudaMemcpyDeviceToHost, stream()),
            cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream()), cudaSuccess);
  EXPECT_EQ(back->as<float>()[12345], 12345.f);
  auto empty = cuda::PinnedBuffer::allocate(0);
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty->empty());
  cuda::PinnedBuffer moved = std::move(*pinned);
  EXPECT_EQ(moved.size(), size_t{1} << 20);
  EXPECT_TRUE(pinned->empty());
}

// Builds the Relu Activation kernel through the CUDA tactic, for captures.
struct ReluKernel {
  ir::Graph graph;
  std::unique_ptr<ops::Kernel> kernel;
};

ReluKernel make_relu(int64_t n) {
  OpCase c;
  c.op = "Activation";
  c.attrs.set("type", std::string("relu"));
  std::mt19937 rng(1);
  c.inputs.push_back(random_tensor(DataType::kFloat32, {n}, rng));
  auto g = make_graph(c);
  EXPECT_TRUE(g.is_ok()) << g.status().to_string();
  ReluKernel r;
  r.graph = std::move(*g);
  ops::KernelInfo info;
  info.graph = &r.graph;
  info.node = &r.graph.node(0);
  info.backend = Backend::kCuda;
  info.opt.inputs = {Dims{n}};
  info.opt.outputs = {Dims{n}};
  info.min = info.max = info.opt;
  auto tactics = ops::cuda_tactics("Activation");
  EXPECT_FALSE(tactics.empty());
  if (tactics.empty()) return r;
  auto k = tactics[0].create(info);
  EXPECT_TRUE(k.is_ok()) << k.status().to_string();
  if (k.is_ok()) r.kernel = std::move(*k);
  return r;
}

Status enqueue_relu(const ops::Kernel& kernel, void* x, void* y, int64_t n, cudaStream_t s) {
  TensorView in{x, DataType::kFloat32, Dims{n}};
  TensorView out{y, DataType::kFloat32, Dims{n}};
  ops::ExecArgs args;
  args.inputs = {&in, 1};
  args.outputs = {&out, 1};
  args.stream = s;
  return kernel.execute(args);
}

TEST_F(RaiiTest, GraphCaptureOfAKilnKernelReplaysTwice) {
  const int64_t n = 100003;
  ReluKernel relu = make_relu(n);
  ASSERT_NE(relu.kernel, nullptr);
  auto x = device()->allocate(n * 4);
  auto y = device()->allocate(n * 4);
  auto z = device()->allocate(n * 4);
  ASSERT_TRUE(x.is_ok() && y.is_ok() && z.is_ok());
  std::vector<float> in(n);
  for (int64_t i = 0; i < n; ++i) in[i] = static_cast<float>(i % 7) - 3.f;
  ASSERT_TRUE(device()->upload(x->get(), in.data(), n * 4).is_ok());

  // Graph: y = relu(x); z = copy(y).
  auto graph = cuda::Graph::capture(stream(), [&] {
    KILN_RETURN_IF_ERROR(enqueue_relu(*relu.kernel, x->get(), y->get(), n, stream()));
    return device()->copy_async(z->get(), y->get(), n * 4, stream());
  });
  ASSERT_TRUE(graph.is_ok()) << graph.status().to_string();
  auto nodes = graph->num_nodes();
  ASSERT_TRUE(nodes.is_ok());
  EXPECT_EQ(*nodes, 2u);

  // Capture only records: nothing ran yet.
  std::vector<uint8_t> zeros(n * 4, 0);
  ASSERT_TRUE(device()->upload(z->get(), zeros.data(), zeros.size()).is_ok());

  for (int replay = 0; replay < 2; ++replay) {
    // Change the input between replays: the graph reads the current contents.
    for (int64_t i = 0; i < n; ++i) in[i] = (replay == 0 ? 1.f : -1.f) * static_cast<float>(i % 5);
    ASSERT_TRUE(device()->upload(x->get(), in.data(), n * 4).is_ok());
    ASSERT_TRUE(graph->launch(stream()).is_ok());
    ASSERT_TRUE(device()->synchronize(stream()).is_ok());
    std::vector<float> out(n);
    ASSERT_TRUE(device()->download(out.data(), z->get(), n * 4).is_ok());
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(out[i], std::max(in[i], 0.f)) << "replay " << replay << " at " << i;
    }
  }
}

TEST_F(RaiiTest, RecaptureUpdatesInPlaceWhenOnlyAddressesChange) {
  const int64_t n = 4096;
  ReluKernel relu = make_relu(n);
  ASSERT_NE(relu.kernel, nullptr);
  auto x = device()->allocate(n * 4);
  auto y1 = device()->allocate(n * 4);
  auto y2 = device()->allocate(n * 4);
  ASSERT_TRUE(x.is_ok() && y1.is_ok() && y2.is_ok());
  std::vector<float> in(n);
  for (int64_t i = 0; i < n; ++i) in[i] = static_cast<float>(i % 3) - 1.f;
  ASSERT_TRUE(device()->upload(x->get(), in.data(), n * 4).is_ok());

  auto graph = cuda::Graph::capture(
      stream(), [&] { return enqueue_relu(*relu.kernel, x->get(), y1->get(), n, stream()); });
  ASSERT_TRUE(graph.is_ok()) << graph.status().to_string();
  auto updated = graph->recapture(
      stream(), [&] { return enqueue_relu(*relu.kernel, x->get(), y2->get(), n, stream()); });
  ASSERT_TRUE(updated.is_ok()) << updated.status().to_string();
  EXPECT_TRUE(*updated) << "same topology: the executable graph should be updated in place";
  ASSERT_TRUE(graph->launch(stream()).is_ok());
  ASSERT_TRUE(device()->synchronize(stream()).is_ok());
  std::vector<float> out(n);
  ASSERT_TRUE(device()->download(out.data(), y2->get(), n * 4).is_ok());
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out[i], std::max(in[i], 0.f)) << i;

  // A different topology (two kernels) re-instantiates.
  auto rebuilt = graph->recapture(stream(), [&] {
    KILN_RETURN_IF_ERROR(enqueue_relu(*relu.kernel, x->get(), y1->get(), n, stream()));
    return enqueue_relu(*relu.kernel, y1->get(), y2->get(), n, stream());
  });
  ASSERT_TRUE(rebuilt.is_ok()) << rebuilt.status().to_string();
  EXPECT_FALSE(*rebuilt);
  EXPECT_TRUE(graph->launch(stream()).is_ok());
  EXPECT_TRUE(device()->synchronize(stream()).is_ok());
}

TEST_F(RaiiTest, FailedCaptureReturnsTheErrorAndLeavesTheStreamUsable) {
  // The captured function fails: its error comes back, and the stream is no longer capturing.
  auto failed = cuda::Graph::capture(stream(), [] { return invalid_argument("shape not set"); });
  ASSERT_FALSE(failed.is_ok());
  EXPECT_NE(failed.status().to_string().find("shape not set"), std::string::npos);
  cudaStreamCaptureStatus status;
  ASSERT_EQ(cudaStreamIsCapturing(stream(), &status), cudaSuccess);
  EXPECT_EQ(status, cudaStreamCaptureStatusNone);

  // A synchronization inside the capture is not capturable: an error naming the capture.
  auto unsafe = cuda::Graph::capture(stream(), [&] { return device()->synchronize(stream()); });
  ASSERT_FALSE(unsafe.is_ok());
  ASSERT_EQ(cudaStreamIsCapturing(stream(), &status), cudaSuccess);
  EXPECT_EQ(status, cudaStreamCaptureStatusNone);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "a failed capture must not leave an error behind";

  // Capture on the legacy default stream is refused up front.
  auto legacy = cuda::Graph::capture(nullptr, [] { return Status::ok(); });
  EXPECT_FALSE(legacy.is_ok());

  // The stream still works.
  EXPECT_TRUE(device()->synchronize(stream()).is_ok());
  cuda::Graph empty;
  EXPECT_FALSE(empty.launch(stream()).is_ok());
}

TEST_F(RaiiTest, GraphsAreMovedAndDestroyed) {
  auto a = device()->allocate(1024);
  auto b = device()->allocate(1024);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  for (int i = 0; i < 200; ++i) {
    auto g = cuda::Graph::capture(
        stream(), [&] { return device()->copy_async(b->get(), a->get(), 1024, stream()); });
    ASSERT_TRUE(g.is_ok()) << g.status().to_string();
    cuda::Graph moved = std::move(*g);
    EXPECT_FALSE(moved.empty());
    EXPECT_TRUE(g->empty());
    EXPECT_TRUE(moved.launch(stream()).is_ok());
  }
  EXPECT_TRUE(device()->synchronize(stream()).is_ok());
}

// ---- library handles ----

TEST_F(RaiiTest, OpeningTheDeviceCreatesNoLibraryHandle) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(g_initial_handles[i], 0u) << tactic_source_name(kLibraries[i]);
  }
}

TEST_F(RaiiTest, KilnKernelsCreateNoLibraryHandle) {
  size_t before[3];
  for (int i = 0; i < 3; ++i) before[i] = cuda::handles_created(kLibraries[i]);
  const int64_t n = 1000;
  ReluKernel relu = make_relu(n);
  ASSERT_NE(relu.kernel, nullptr);
  auto x = device()->allocate(n * 4);
  ASSERT_TRUE(x.is_ok());
  ASSERT_TRUE(enqueue_relu(*relu.kernel, x->get(), x->get(), n, stream()).is_ok());
  ASSERT_TRUE(device()->synchronize(stream()).is_ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(cuda::handles_created(kLibraries[i]), before[i]) << tactic_source_name(kLibraries[i]);
  }
}

TEST_F(RaiiTest, HandleRaiiCreatesAndDestroys) {
  for (int i = 0; i < 3; ++i) {
    auto blas = cuda::CublasHandle::create();
    ASSERT_TRUE(blas.is_ok()) << blas.status().to_string();
    EXPECT_NE(blas->get(), nullptr);
    int version = 0;
    EXPECT_EQ(cublasGetVersion(blas->get(), &version), CUBLAS_STATUS_SUCCESS);
    EXPECT_EQ(version, device()->info().cublas_version);
    auto lt = cuda::CublasLtHandle::create();
    ASSERT_TRUE(lt.is_ok()) << lt.status().to_string();
    EXPECT_NE(lt->get(), nullptr);
    auto dnn = cuda::CudnnHandle::create();
    ASSERT_TRUE(dnn.is_ok()) << dnn.status().to_string();
    EXPECT_NE(dnn->get(), nullptr);
    EXPECT_EQ(cudnnSetStream(dnn->get(), stream()), CUDNN_STATUS_SUCCESS);
    cuda::CudnnHandle moved = std::move(*dnn);
    EXPECT_NE(moved.get(), nullptr);
    EXPECT_EQ(dnn->get(), nullptr);
  }
}

TEST_F(RaiiTest, PoolsCreateHandlesLazilyAndReuseThem) {
  for (TacticSource src : kLibraries) {
    SCOPED_TRACE(std::string(tactic_source_name(src)));
    size_t created = cuda::handles_created(src);
    size_t available = cuda::handles_available(src);
    auto acquire_one = [&]() -> void* {
      switch (src) {
        case TacticSource::kCublas: {
          auto l = cuda::acquire_cublas();
          EXPECT_TRUE(l.is_ok()) << l.status().to_string();
          return l.is_ok() ? static_cast<void*>(l->get()) : nullptr;
        }
        case TacticSource::kCublasLt: {
          auto l = cuda::acquire_cublaslt();
          EXPECT_TRUE(l.is_ok()) << l.status().to_string();
          return l.is_ok() ? static_cast<void*>(l->get()) : nullptr;
        }
        default: {
          auto l = cuda::acquire_cudnn();
          EXPECT_TRUE(l.is_ok()) << l.status().to_string();
          return l.is_ok() ? static_cast<void*>(l->get()) : nullptr;
        }
      }
    };
    // First acquisition creates a handle only when none is free; the lease gives it back.
    void* first = acquire_one();
    EXPECT_NE(first, nullptr);
    EXPECT_EQ(cuda::handles_created(src), created + (available == 0 ? 1 : 0));
    size_t after_first = cuda::handles_created(src);
    void* second = acquire_one();
    EXPECT_EQ(cuda::handles_created(src), after_first) << "a returned handle is reused";
    if (available == 0) {
      EXPECT_EQ(first, second);
    }
    // reserve_handles pre-creates (for capture), idempotently.
    ASSERT_TRUE(cuda::reserve_handles(src, 3).is_ok());
    EXPECT_GE(cuda::handles_available(src), 3u);
    size_t reserved = cuda::handles_created(src);
    ASSERT_TRUE(cuda::reserve_handles(src, 2).is_ok());
    EXPECT_EQ(cuda::handles_created(src), reserved);
  }
}

TEST_F(RaiiTest, ConcurrentLeasesGetDistinctHandles) {
  auto a = cuda::acquire_cublas();
  auto b = cuda::acquire_cublas();
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  EXPECT_NE(a->get(), b->get());
  size_t free_before = cuda::handles_available(TacticSource::kCublas);
  a->reset();
  EXPECT_EQ(cuda::handles_available(TacticSource::kCublas), free_before + 1);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto lease = cuda::acquire_cublas();
        if (!lease.is_ok() || lease->get() == nullptr) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(RaiiTest, DeviceGuardRestoresTheCurrentDevice) {
  int before = -1;
  ASSERT_EQ(cudaGetDevice(&before), cudaSuccess);
  {
    cuda::DeviceGuard guard(cuda_device_impl()->ordinal());
    int inside = -1;
    ASSERT_EQ(cudaGetDevice(&inside), cudaSuccess);
    EXPECT_EQ(inside, cuda_device_impl()->ordinal());
  }
  int after = -1;
  ASSERT_EQ(cudaGetDevice(&after), cudaSuccess);
  EXPECT_EQ(after, before);
}

}  // namespace
}  // namespace kiln::testing::raii_test
