// Activation memory strategies: static (max over profiles), on profile change (exactly the
// selected profile's size), user-managed (size queries per profile and for the current shapes;
// one block shared by contexts that never run at the same time).
#include "concurrency/concurrency_util.h"

#include <cstdlib>
#include <mutex>
#include <thread>

namespace kiln::testing::allocation_test {
namespace {

struct AlignedBlock {
  explicit AlignedBlock(size_t bytes)
      : data(std::aligned_alloc(256, std::max<size_t>((bytes + 255) / 256 * 256, 256))) {}
  ~AlignedBlock() { std::free(data); }
  void* data;
};

Status run_two_profile(Context& ctx, int64_t rows, float seed, std::vector<float>* y,
                       std::vector<float>* want) {
  auto a = ramp(static_cast<size_t>(rows * 16), seed, 0.5f);
  auto b = ramp(static_cast<size_t>(rows * 16), -seed, 0.25f);
  y->assign(a.size(), NAN);
  *want = relu_sum_prod(a, b);
  KILN_RETURN_IF_ERROR(ctx.set_input_shape("a", {rows, 16}));
  KILN_RETURN_IF_ERROR(ctx.set_input_shape("b", {rows, 16}));
  KILN_RETURN_IF_ERROR(ctx.set_tensor_address("a", a.data()));
  KILN_RETURN_IF_ERROR(ctx.set_tensor_address("b", b.data()));
  KILN_RETURN_IF_ERROR(ctx.set_tensor_address("y", y->data()));
  return ctx.execute();
}

TEST(Allocation, SizesPerProfile) {
  const Engine& e = two_profile_engine();
  EXPECT_GT(e.device_memory_size(0), 0u);
  EXPECT_GT(e.device_memory_size(1), e.device_memory_size(0));  // 64 rows vs 8
  EXPECT_EQ(e.device_memory_size(), std::max(e.device_memory_size(0), e.device_memory_size(1)));
  EXPECT_EQ(e.device_memory_size(2), 0u);  // no such profile
}

TEST(Allocation, StaticHoldsTheLargestProfile) {
  const Engine& e = two_profile_engine();
  auto ctx = e.create_context(AllocationStrategy::kStatic);
  ASSERT_TRUE(ctx.is_ok());
  EXPECT_EQ((*ctx)->allocation_strategy(), AllocationStrategy::kStatic);
  EXPECT_EQ((*ctx)->activation_memory_size(), e.device_memory_size());
  std::vector<float> y, want;
  ASSERT_TRUE(run_two_profile(**ctx, 5, 1.f, &y, &want).is_ok());
  EXPECT_EQ(y, want);
  ASSERT_TRUE((*ctx)->set_optimization_profile(1).is_ok());
  ASSERT_TRUE(run_two_profile(**ctx, 50, 2.f, &y, &want).is_ok());
  EXPECT_EQ(y, want);
  EXPECT_EQ((*ctx)->activation_memory_size(), e.device_memory_size());
}

TEST(Allocation, OnProfileChangeFollowsTheProfile) {
  const Engine& e = two_profile_engine();
  auto ctx = e.create_context(AllocationStrategy::kOnProfileChange);
  ASSERT_TRUE(ctx.is_ok());
  EXPECT_EQ((*ctx)->activation_memory_size(), e.device_memory_size(0));
  std::vector<float> y, want;
  ASSERT_TRUE(run_two_profile(**ctx, 8, 1.f, &y, &want).is_ok());
  EXPECT_EQ(y, want);
  ASSERT_TRUE((*ctx)->set_optimization_profile(1).is_ok());
  EXPECT_EQ((*ctx)->activation_memory_size(), e.device_memory_size(1));
  ASSERT_TRUE(run_two_profile(**ctx, 64, 3.f, &y, &want).is_ok());
  EXPECT_EQ(y, want);
  // Back to the small profile: the large block is given back.
  ASSERT_TRUE((*ctx)->set_optimization_profile(0).is_ok());
  EXPECT_EQ((*ctx)->activation_memory_size(), e.device_memory_size(0));
  ASSERT_TRUE(run_two_profile(**ctx, 3, 4.f, &y, &want).is_ok());
  EXPECT_EQ(y, want);
}

TEST(Allocation, UserManagedErrors) {
  const Engine& e = mnist_engine();
  auto ctx = e.create_context(AllocationStrategy::kUserManaged);
  ASSERT_TRUE(ctx.is_ok());
  EXPECT_EQ((*ctx)->activation_memory_size(), 0u);
  // Size for the current shapes needs the shapes.
  auto early = (*ctx)->device_memory_size_for_current_shapes();
  ASSERT_FALSE(early.is_ok());
  EXPECT_EQ(early.status().code(), StatusCode::kFailedPrecondition);
  MnistResult r;
  Status s = run_mnist(**ctx, 2, 1, &r);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("call set_device_memory before enqueue"), std::string::npos)
      << s.to_string();
  auto need = (*ctx)->device_memory_size_for_current_shapes();
  ASSERT_TRUE(need.is_ok());
  AlignedBlock block(*need);
  ASSERT_TRUE((*ctx)->set_device_memory(block.data, *need - 256).is_ok());
  s = (*ctx)->execute();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("holds " + std::to_string(*need - 256) + " bytes"), std::string::npos)
      << s.to_string();
  Status misaligned = (*ctx)->set_device_memory(static_cast<char*>(block.data) + 16, *need - 256);
  EXPECT_EQ(misaligned.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(misaligned.message().find("aligned to 256"), std::string::npos);
  auto owned = e.create_context(AllocationStrategy::kStatic);
  ASSERT_TRUE(owned.is_ok());
  EXPECT_EQ((*owned)->set_device_memory(block.data, *need).code(), StatusCode::kFailedPrecondition);
}

TEST(Allocation, UserManagedCurrentShapeSizeIsEnough) {
  const Engine& e = mnist_engine();
  MnistResult want;
  {
    auto ref = e.create_context();
    ASSERT_TRUE(ref.is_ok());
    ASSERT_TRUE(run_mnist(**ref, 1, 5, &want).is_ok());
  }
  auto ctx = e.create_context(AllocationStrategy::kUserManaged);
  ASSERT_TRUE(ctx.is_ok());
  ASSERT_TRUE((*ctx)->set_input_shape("x", {1, 1, 28, 28}).is_ok());
  auto need = (*ctx)->device_memory_size_for_current_shapes();
  ASSERT_TRUE(need.is_ok());
  EXPECT_GT(*need, 0u);
  EXPECT_LT(*need, e.device_memory_size(0));  // batch 1 needs less than the max batch 4
  AlignedBlock block(*need);
  ASSERT_TRUE((*ctx)->set_device_memory(block.data, *need).is_ok());
  EXPECT_EQ((*ctx)->activation_memory_size(), *need);
  MnistResult got;
  Status s = run_mnist(**ctx, 1, 5, &got);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_EQ(got, want);
  // A larger batch does not fit the block: a clear error, then a profile-sized block works.
  s = run_mnist(**ctx, 4, 5, &got);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
  AlignedBlock big(e.device_memory_size(0));
  ASSERT_TRUE((*ctx)->set_device_memory(big.data, e.device_memory_size(0)).is_ok());
  for (int64_t batch : {4, 2, 3}) {
    MnistResult w;
    auto ref = e.create_context();
    ASSERT_TRUE(ref.is_ok());
    ASSERT_TRUE(run_mnist(**ref, batch, 6, &w).is_ok());
    ASSERT_TRUE(run_mnist(**ctx, batch, 6, &got).is_ok());
    EXPECT_EQ(got, w) << "batch " << batch;
  }
}

// One block, two contexts that take turns (from two threads, one at a time): each run is
// complete before the other starts, so sharing the activation memory is safe.
TEST(Allocation, UserManagedBlockSharedByContextsTakingTurns) {
  const Engine& e = mnist_engine();
  const size_t bytes = e.device_memory_size();
  AlignedBlock block(bytes);
  auto c1 = e.create_context(AllocationStrategy::kUserManaged);
  auto c2 = e.create_context(AllocationStrategy::kUserManaged);
  ASSERT_TRUE(c1.is_ok() && c2.is_ok());
  ASSERT_TRUE((*c1)->set_device_memory(block.data, bytes).is_ok());
  ASSERT_TRUE((*c2)->set_device_memory(block.data, bytes).is_ok());
  constexpr int kRuns = 8;
  const auto want = mnist_reference(2 * kRuns);
  std::vector<MnistResult> got(2 * kRuns);
  std::mutex turn;  // the block is used by one context at a time
  std::vector<Status> status(2);
  auto worker = [&](int w, Context& ctx) {
    for (int r = 0; r < kRuns; ++r) {
      const int i = w * kRuns + r;
      std::lock_guard<std::mutex> lock(turn);
      Status s = run_mnist(ctx, batch_of(i), seed_of(i), &got[i]);
      if (!s.is_ok()) status[w] = s;
    }
  };
  std::thread t1(worker, 0, std::ref(**c1)), t2(worker, 1, std::ref(**c2));
  t1.join();
  t2.join();
  for (const auto& s : status) EXPECT_TRUE(s.is_ok()) << s.to_string();
  for (int i = 0; i < 2 * kRuns; ++i) EXPECT_EQ(got[i], want[i]) << "request " << i;
}

}  // namespace
}  // namespace kiln::testing::allocation_test
