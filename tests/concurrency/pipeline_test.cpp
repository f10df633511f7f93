// PipelinedRunner on the CPU backend (lanes are worker threads with their own contexts):
// results equal one context run request by request, for 1, 2 and 4 lanes and a shared context;
// tickets, stage times and every kind of bad request.
#include <kiln/pipeline.h>

#include "concurrency/concurrency_util.h"

namespace kiln::testing::pipeline_test {
namespace {

struct Request {
  std::vector<float> images;
  MnistResult result;
  Dims prob_shape;
};

// Submits requests [0, n) keeping up to `streams` in flight, waiting for the oldest as it goes.
void run_pipelined(PipelinedRunner& runner, std::vector<Request>& requests) {
  std::vector<uint64_t> tickets;
  const int in_flight = runner.num_streams();
  for (size_t i = 0; i < requests.size(); ++i) {
    const int64_t batch = batch_of(static_cast<int>(i));
    Request& r = requests[i];
    r.images = demo::demo_images(batch, seed_of(static_cast<int>(i)));
    r.result.prob.assign(static_cast<size_t>(batch), -1.f);
    r.result.label.assign(static_cast<size_t>(batch), -1);
    HostInput in[] = {{"x", r.images.data(), {batch, 1, 28, 28}}};
    HostOutput out[] = {
        {"prob", r.result.prob.data(), r.result.prob.size() * sizeof(float), &r.prob_shape},
        {"label", r.result.label.data(), r.result.label.size() * sizeof(int64_t)}};
    auto t = runner.submit(in, out);
    ASSERT_TRUE(t.is_ok()) << t.status().to_string();
    EXPECT_EQ(*t, i);
    tickets.push_back(*t);
    EXPECT_EQ(r.prob_shape, (Dims{batch, 1}));
    if (tickets.size() >= static_cast<size_t>(in_flight)) {
      Status s = runner.wait(tickets[tickets.size() - in_flight]);
      EXPECT_TRUE(s.is_ok()) << s.to_string();
    }
  }
  EXPECT_TRUE(runner.wait_all().is_ok());
}

class PipelineLanes : public ::testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(PipelineLanes, MatchesOneContext) {
  auto [streams, shared] = GetParam();
  constexpr int kRequests = 14;
  const auto want = mnist_reference(kRequests);
  auto runner = PipelinedRunner::create(
      mnist_engine(), {.streams = streams, .share_context = shared, .measure_stages = true});
  ASSERT_TRUE(runner.is_ok()) << runner.status().to_string();
  EXPECT_EQ((*runner)->num_streams(), streams);
  EXPECT_EQ((*runner)->backend(), Backend::kCpu);
  std::vector<Request> requests(kRequests);
  run_pipelined(**runner, requests);
  for (int i = 0; i < kRequests; ++i) EXPECT_EQ(requests[i].result, want[i]) << "request " << i;
  StageTimes t = (*runner)->stage_times();
  EXPECT_EQ(t.requests, static_cast<size_t>(kRequests));
  EXPECT_GT(t.compute_ms, 0.0);
  EXPECT_EQ(t.h2d_ms, 0.0);  // no copies on the CPU backend
  EXPECT_EQ(t.d2h_ms, 0.0);
}

INSTANTIATE_TEST_SUITE_P(CpuLanes, PipelineLanes,
                         ::testing::Values(std::tuple{1, false}, std::tuple{2, false},
                                           std::tuple{4, false}, std::tuple{3, true}));

// More submissions than lanes without waiting: submit finishes the lane's previous request;
// its result is still reported by wait.
TEST(Pipeline, SubmitWithoutWaitingThenWaitEach) {
  constexpr int kRequests = 9;
  const auto want = mnist_reference(kRequests);
  auto runner = PipelinedRunner::create(mnist_engine(), {.streams = 2});
  ASSERT_TRUE(runner.is_ok());
  std::vector<Request> requests(kRequests);
  std::vector<uint64_t> tickets;
  for (int i = 0; i < kRequests; ++i) {
    Request& r = requests[i];
    const int64_t batch = batch_of(i);
    r.images = demo::demo_images(batch, seed_of(i));
    r.result.prob.assign(static_cast<size_t>(batch), -1.f);
    r.result.label.assign(static_cast<size_t>(batch), -1);
    HostInput in[] = {{"x", r.images.data(), {batch, 1, 28, 28}}};
    HostOutput out[] = {{"prob", r.result.prob.data(), r.result.prob.size() * 4},
                        {"label", r.result.label.data(), r.result.label.size() * 8}};
    auto t = (*runner)->submit(in, out);
    ASSERT_TRUE(t.is_ok()) << t.status().to_string();
    tickets.push_back(*t);
  }
  for (uint64_t t : tickets) EXPECT_TRUE((*runner)->wait(t).is_ok());
  for (int i = 0; i < kRequests; ++i) EXPECT_EQ(requests[i].result, want[i]) << "request " << i;
  Status again = (*runner)->wait(tickets[0]);
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition);
  Status never = (*runner)->wait(1000);
  EXPECT_EQ(never.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(never.message().find("never issued"), std::string::npos);
}

// Outputs may be left out; the others are still delivered.
TEST(Pipeline, OmittedOutput) {
  const auto want = mnist_reference(3);
  auto runner = PipelinedRunner::create(mnist_engine(), {.streams = 2});
  ASSERT_TRUE(runner.is_ok());
  auto images = demo::demo_images(batch_of(2), seed_of(2));
  std::vector<int64_t> label(static_cast<size_t>(batch_of(2)), -1);
  HostInput in[] = {{"x", images.data(), {batch_of(2), 1, 28, 28}}};
  HostOutput out[] = {{"label", label.data(), label.size() * 8}};
  auto t = (*runner)->submit(in, out);
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  ASSERT_TRUE((*runner)->wait(*t).is_ok());
  EXPECT_EQ(label, want[2].label);
}

TEST(Pipeline, BadRequestsAreRefusedBeforeRunning) {
  auto runner = PipelinedRunner::create(mnist_engine(), {.streams = 2});
  ASSERT_TRUE(runner.is_ok());
  auto images = demo::demo_images(2, 1);
  std::vector<float> prob(2);
  std::vector<float> small(1);
  HostOutput out[] = {{"prob", prob.data(), prob.size() * 4}};
  auto expect_error = [&](std::span<const HostInput> in, std::span<const HostOutput> o,
                          StatusCode code, std::string_view text) {
    auto t = (*runner)->submit(in, o);
    ASSERT_FALSE(t.is_ok()) << text;
    EXPECT_EQ(t.status().code(), code) << t.status().to_string();
    EXPECT_NE(t.status().to_string().find(text), std::string::npos) << t.status().to_string();
  };
  HostInput unknown[] = {{"y", images.data(), {2, 1, 28, 28}}};
  expect_error(unknown, out, StatusCode::kNotFound, "'y' is not an input");
  expect_error({}, out, StatusCode::kInvalidArgument, "input 'x' is missing");
  HostInput too_big[] = {{"x", images.data(), {9, 1, 28, 28}}};
  expect_error(too_big, out, StatusCode::kInvalidArgument, "outside optimization profile 0");
  HostInput null_data[] = {{"x", nullptr, {2, 1, 28, 28}}};
  expect_error(null_data, out, StatusCode::kInvalidArgument, "data of input 'x' is null");
  HostInput twice[] = {{"x", images.data(), {2, 1, 28, 28}}, {"x", images.data(), {2, 1, 28, 28}}};
  expect_error(twice, out, StatusCode::kInvalidArgument, "given twice");
  HostInput good[] = {{"x", images.data(), {2, 1, 28, 28}}};
  HostOutput tiny[] = {{"prob", small.data(), small.size() * 4}};
  expect_error(good, tiny, StatusCode::kInvalidArgument, "output 'prob' needs 8 bytes");
  HostOutput not_output[] = {{"x", prob.data(), 8}};
  expect_error(good, not_output, StatusCode::kNotFound, "'x' is not an output");
  // A good request still runs after all that.
  auto t = (*runner)->submit(good, out);
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_EQ(*t, 0u);  // refused requests took no ticket
  EXPECT_TRUE((*runner)->wait(*t).is_ok());
}

TEST(Pipeline, BadOptions) {
  auto zero = PipelinedRunner::create(mnist_engine(), {.streams = 0});
  ASSERT_FALSE(zero.is_ok());
  EXPECT_EQ(zero.status().code(), StatusCode::kInvalidArgument);
  auto user = PipelinedRunner::create(
      mnist_engine(), {.streams = 1, .allocation = AllocationStrategy::kUserManaged});
  ASSERT_FALSE(user.is_ok());
  EXPECT_NE(user.status().message().find("kUserManaged"), std::string::npos);
  auto profile = PipelinedRunner::create(mnist_engine(), {.streams = 1, .profile = 2});
  ASSERT_FALSE(profile.is_ok());
  EXPECT_EQ(profile.status().code(), StatusCode::kOutOfRange);
}

// Lanes on a profile other than 0, and the runner's destructor waits for requests in flight.
TEST(Pipeline, SecondProfileAndDestructorWaits) {
  const int64_t rows = 30;
  auto a = ramp(rows * 16, -2.f, 0.0625f), b = ramp(rows * 16, 1.f, -0.03125f);
  std::vector<float> y(a.size(), NAN);
  {
    auto runner = PipelinedRunner::create(two_profile_engine(), {.streams = 2, .profile = 1});
    ASSERT_TRUE(runner.is_ok()) << runner.status().to_string();
    HostInput in[] = {{"a", a.data(), {rows, 16}}, {"b", b.data(), {rows, 16}}};
    HostOutput out[] = {{"y", y.data(), y.size() * 4}};
    ASSERT_TRUE((*runner)->submit(in, out).is_ok());
  }
  EXPECT_EQ(y, relu_sum_prod(a, b));
}

}  // namespace
}  // namespace kiln::testing::pipeline_test
