// The CUDA device: info, memory, copies, timing, the allocator hook, error messages.
#include "backends/cuda/cuda_check.h"
#include "gpu/gpu_harness.h"
#include "ops/op.h"

#include <kiln/allocator.h>

#include <atomic>
#include <numeric>
#include <thread>

namespace kiln::testing::device_test {
namespace {

using DeviceTest = GpuTest;

TEST_F(DeviceTest, InfoDescribesTheGpuAndLibraries) {
  const DeviceInfo& info = device()->info();
  EXPECT_EQ(device()->backend(), Backend::kCuda);
  EXPECT_FALSE(info.name.empty());
  EXPECT_NE(info.name, "cpu");
  EXPECT_GE(info.compute_major, 7) << info.name;  // CUDA 13 supports sm_75 and later
  EXPECT_GE(info.compute_minor, 0);
  EXPECT_GE(info.cuda_runtime_version, 12000);
  EXPECT_GE(info.cudnn_version, 90000);    // cuDNN 9: major * 10000 + minor * 100 + patch
  EXPECT_GE(info.cublas_version, 120000);  // major * 10000 + minor * 100 + patch
  EXPECT_GT(info.total_memory, size_t{1} << 30);
  EXPECT_GT(cuda_device_impl()->multiprocessor_count(), 0);
  EXPECT_GE(cuda_device_impl()->driver_version(), info.cuda_runtime_version / 1000 * 1000);
  // get_device(kCuda) returns the same process-wide device.
  auto again = get_device(Backend::kCuda);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(*again, device());
}

TEST_F(DeviceTest, AllocateUploadDownloadRoundTrip) {
  for (size_t n : {size_t{1}, size_t{255}, size_t{4096}, size_t{(1 << 20) + 7}}) {
    auto buf = device()->allocate(n * sizeof(float));
    ASSERT_TRUE(buf.is_ok()) << buf.status().to_string();
    EXPECT_EQ(buf->size(), n * sizeof(float));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(buf->get()) % 256, 0u);
    std::vector<float> in(n), out(n, -1.f);
    std::iota(in.begin(), in.end(), 0.5f);
    ASSERT_TRUE(device()->upload(buf->get(), in.data(), n * sizeof(float)).is_ok());
    ASSERT_TRUE(device()->download(out.data(), buf->get(), n * sizeof(float)).is_ok());
    EXPECT_EQ(in, out) << n;
  }
}

TEST_F(DeviceTest, ZeroByteAllocationIsValidAndCopiesOfZeroBytesSucceed) {
  auto buf = device()->allocate(0);
  ASSERT_TRUE(buf.is_ok()) << buf.status().to_string();
  EXPECT_NE(buf->get(), nullptr);
  EXPECT_EQ(buf->size(), 0u);
  EXPECT_TRUE(device()->upload(buf->get(), nullptr, 0).is_ok());
  EXPECT_TRUE(device()->download(nullptr, buf->get(), 0).is_ok());
  EXPECT_TRUE(device()->copy_async(buf->get(), buf->get(), 0, stream()).is_ok());
}

TEST_F(DeviceTest, BuffersAreReleasedWhenTheyGoOutOfScope) {
  size_t before = cuda_device_impl()->live_allocations();
  {
    auto a = device()->allocate(1000);
    auto b = device()->allocate(2000);
    ASSERT_TRUE(a.is_ok() && b.is_ok());
    EXPECT_EQ(cuda_device_impl()->live_allocations(), before + 2);
    DeviceBuffer moved = std::move(*a);
    EXPECT_TRUE(a->empty());
    EXPECT_EQ(cuda_device_impl()->live_allocations(), before + 2);
  }
  EXPECT_EQ(cuda_device_impl()->live_allocations(), before);
}

TEST_F(DeviceTest, CopyAsyncIsOrderedOnTheStream) {
  const size_t n = 1 << 18;
  std::vector<int32_t> in(n), out(n, 0);
  std::iota(in.begin(), in.end(), 7);
  auto a = device()->allocate(n * 4);
  auto b = device()->allocate(n * 4);
  auto c = device()->allocate(n * 4);
  ASSERT_TRUE(a.is_ok() && b.is_ok() && c.is_ok());
  ASSERT_TRUE(device()->upload(a->get(), in.data(), n * 4).is_ok());
  // Two dependent copies on one stream: the second reads what the first wrote.
  ASSERT_TRUE(device()->copy_async(b->get(), a->get(), n * 4, stream()).is_ok());
  ASSERT_TRUE(device()->copy_async(c->get(), b->get(), n * 4, stream()).is_ok());
  ASSERT_TRUE(device()->synchronize(stream()).is_ok());
  ASSERT_TRUE(device()->download(out.data(), c->get(), n * 4).is_ok());
  EXPECT_EQ(in, out);
  // A partial copy at an offset.
  ASSERT_TRUE(
      device()->copy_async(static_cast<char*>(c->get()) + 40, a->get(), 400, stream()).is_ok());
  ASSERT_TRUE(device()->synchronize(stream()).is_ok());
  ASSERT_TRUE(device()->download(out.data(), c->get(), n * 4).is_ok());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(out[i], in[i]);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(out[10 + i], in[i]);
  EXPECT_EQ(out[110], in[110]);
}

TEST_F(DeviceTest, CopyAsyncRejectsHostPointersWithANamedError) {
  auto a = device()->allocate(64);
  ASSERT_TRUE(a.is_ok());
  std::vector<char> host(64);
  Status s = device()->copy_async(host.data(), a->get(), 64, stream());
  // Pageable host memory is not device memory: either an error naming the copy, or (on systems
  // with HMM, where host memory is device-accessible) a correct copy.
  if (!s.is_ok()) {
    EXPECT_EQ(s.code(), StatusCode::kDeviceError);
    EXPECT_NE(s.message().find("cudaMemcpyAsync(device to device"), std::string::npos)
        << s.message();
  }
  (void)device()->synchronize(stream());
  (void)cudaGetLastError();
}

TEST_F(DeviceTest, HugeAllocationExhaustsMemoryAndFailsWithAStatusNamingTheSize) {
  // Twice the device memory: a real out-of-memory, not an invalid size.
  size_t huge = (device()->info().total_memory * 2 + 255) / 256 * 256;
  auto buf = device()->allocate(huge);
  ASSERT_FALSE(buf.is_ok());
  EXPECT_EQ(buf.status().code(), StatusCode::kResourceExhausted) << buf.status().to_string();
  EXPECT_NE(buf.status().message().find(std::to_string(huge)), std::string::npos)
      << buf.status().message();
  // The device is still usable.
  auto small = device()->allocate(1024);
  EXPECT_TRUE(small.is_ok()) << small.status().to_string();
}

TEST_F(DeviceTest, TimeReturnsAPositiveMedianOfRealWork) {
  const size_t n = 1 << 24;  // 64 MiB copies: tens of microseconds at least
  auto a = device()->allocate(n * 4);
  auto b = device()->allocate(n * 4);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  int calls = 0;
  auto t = device()->time(stream(), 2, 5, [&] {
    ++calls;
    return device()->copy_async(b->get(), a->get(), n * 4, stream());
  });
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_GT(*t, 0.0);
  EXPECT_LT(*t, 1000.0);
  EXPECT_EQ(calls, 7);
}

TEST_F(DeviceTest, TimePropagatesTheErrorOfTheTimedFunction) {
  auto t = device()->time(stream(), 0, 3, [] { return invalid_argument("boom"); });
  ASSERT_FALSE(t.is_ok());
  EXPECT_EQ(t.status().message(), "boom");
}

// Counts calls and forwards to the device's default allocator.
class CountingAllocator final : public GpuAllocator {
 public:
  explicit CountingAllocator(GpuAllocator* inner) : inner_(inner) {}
  void* allocate(size_t bytes, size_t alignment, void* stream) override {
    ++allocations;
    last_alignment = alignment;
    return inner_->allocate(bytes, alignment, stream);
  }
  void deallocate(void* ptr, void* stream) override {
    ++deallocations;
    inner_->deallocate(ptr, stream);
  }
  std::atomic<int> allocations{0}, deallocations{0};
  std::atomic<size_t> last_alignment{0};

 private:
  GpuAllocator* inner_;
};

class NullAllocator final : public GpuAllocator {
 public:
  void* allocate(size_t, size_t, void*) override { return nullptr; }
  void deallocate(void*, void*) override {}
};

TEST_F(DeviceTest, ApplicationAllocatorIsUsedAndGetsItsMemoryBack) {
  CountingAllocator counting(&cuda_device_impl()->default_allocator());
  set_gpu_allocator(&counting);
  EXPECT_EQ(get_gpu_allocator(), &counting);
  auto buf = device()->allocate(12345);
  // Memory goes back to the allocator that made it, even after the default is restored.
  set_gpu_allocator(nullptr);
  EXPECT_EQ(get_gpu_allocator(), nullptr);
  ASSERT_TRUE(buf.is_ok()) << buf.status().to_string();
  EXPECT_EQ(counting.allocations.load(), 1);
  EXPECT_EQ(counting.last_alignment.load(), 256u);
  std::vector<uint8_t> in(12345, 3), out(12345);
  ASSERT_TRUE(device()->upload(buf->get(), in.data(), in.size()).is_ok());
  ASSERT_TRUE(device()->download(out.data(), buf->get(), out.size()).is_ok());
  EXPECT_EQ(in, out);
  auto other = device()->allocate(100);  // the default allocator again
  ASSERT_TRUE(other.is_ok());
  EXPECT_EQ(counting.allocations.load(), 1);
  buf->reset();
  EXPECT_EQ(counting.deallocations.load(), 1);
}

TEST_F(DeviceTest, ApplicationAllocatorFailureIsAnError) {
  NullAllocator null_allocator;
  set_gpu_allocator(&null_allocator);
  auto buf = device()->allocate(4096);
  set_gpu_allocator(nullptr);
  ASSERT_FALSE(buf.is_ok());
  EXPECT_EQ(buf.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(buf.status().message().find("4096"), std::string::npos) << buf.status().message();
}

TEST_F(DeviceTest, DefaultAllocatorIsStreamOrdered) {
  auto& alloc = cuda_device_impl()->default_allocator();
  void* p = alloc.allocate(1 << 20, 256, stream());
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 256, 0u);
  ASSERT_EQ(cudaMemsetAsync(p, 0x7f, 1 << 20, stream()), cudaSuccess);
  std::vector<uint8_t> out(1 << 20);
  ASSERT_EQ(cudaMemcpyAsync(out.data(), p, out.size(), cudaMemcpyDeviceToHost, stream()),
            cudaSuccess);
  alloc.deallocate(p, stream());
  ASSERT_EQ(cudaStreamSynchronize(stream()), cudaSuccess);
  EXPECT_EQ(out.front(), 0x7f);
  EXPECT_EQ(out.back(), 0x7f);
}

TEST_F(DeviceTest, ConcurrentAllocationsFromManyThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto b = device()->allocate(1024 * (t + 1) + i);
        if (!b.is_ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// ---- error conversion (no GPU needed: error strings come from the libraries) ----

TEST(CudaCheck, MessagesNameTheCallAndTheError) {
  Status oom = cuda::cuda_status(cudaErrorMemoryAllocation, "cudaMallocAsync(1048576 bytes)");
  EXPECT_EQ(oom.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(oom.message().rfind("cudaMallocAsync(1048576 bytes): out of memory", 0), 0u)
      << oom.message();
  Status bad = cuda::cuda_status(cudaErrorInvalidValue, "cudaMemcpyAsync");
  EXPECT_EQ(bad.code(), StatusCode::kDeviceError);
  EXPECT_NE(bad.message().find("cudaMemcpyAsync: invalid argument"), std::string::npos)
      << bad.message();
  EXPECT_NE(bad.message().find("cudaErrorInvalidValue"), std::string::npos);
  EXPECT_TRUE(cuda::cuda_status(cudaSuccess, "x").is_ok());

  Status blas = cuda::cublas_status(CUBLAS_STATUS_NOT_SUPPORTED, "cublasGemmEx");
  EXPECT_EQ(blas.code(), StatusCode::kDeviceError);
  EXPECT_EQ(blas.message().rfind("cublasGemmEx: ", 0), 0u) << blas.message();
  EXPECT_NE(blas.message().find("CUBLAS_STATUS_NOT_SUPPORTED"), std::string::npos)
      << blas.message();
  EXPECT_EQ(cuda::cublas_status(CUBLAS_STATUS_ALLOC_FAILED, "cublasCreate").code(),
            StatusCode::kResourceExhausted);

  Status dnn = cuda::cudnn_status(CUDNN_STATUS_BAD_PARAM, "cudnnBackendFinalize");
  EXPECT_EQ(dnn.code(), StatusCode::kDeviceError);
  EXPECT_EQ(dnn.message().rfind("cudnnBackendFinalize: CUDNN_STATUS_BAD_PARAM", 0), 0u)
      << dnn.message();
}

Status macro_user(cudaError_t e) {
  KILN_CUDA_RETURN_IF_ERROR(e);
  return Status::ok();
}

TEST(CudaCheck, MacroNamesTheExpression) {
  Status s = macro_user(cudaErrorInvalidDevice);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.message().rfind("e: ", 0), 0u) << s.message();
  EXPECT_TRUE(macro_user(cudaSuccess).is_ok());
}

TEST(CudaDeviceAvailability, ErrorSaysWhyOrDeviceWorks) {
  auto dev = cuda_device();
  if (dev.is_ok()) {
    EXPECT_EQ((*dev)->backend(), Backend::kCuda);
  } else {
    // No device, or a device that cannot be opened (e.g. out of memory when many test processes
    // share the GPU): either way the message names the CUDA call or says no device is visible.
    const std::string& m = dev.status().message();
    EXPECT_TRUE(m.find("no CUDA device is visible") != std::string::npos ||
                m.find("cuda") != std::string::npos)
        << m;
    auto via_registry = get_device(Backend::kCuda);
    EXPECT_FALSE(via_registry.is_ok());
  }
}

}  // namespace
}  // namespace kiln::testing::device_test
