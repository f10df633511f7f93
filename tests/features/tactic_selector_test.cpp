// Tactic selector (choose, ban, report, empty selection, errors), built-in policies, rule files,
// tactic sources and optimization levels.
#include <kiln/kiln.h>
#include <kiln/tactic_selector.h>
#include <kiln/timing_cache.h>

#include "builder/build.h"
#include "demo_model.h"
#include "network/network_state.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>

namespace kiln::tactic_selector_test {
namespace {

struct Outcome {
  Result<std::vector<uint8_t>> plan = internal_error("not built");
  std::map<std::string, tuner::TuneResult> tuned;  // "<profile>:<layer>"
};

BuildConfig base_config() {
  BuildConfig config;
  config.add_profile(demo::mnist_profile(1, 2, 4));
  config.tuning_iterations = 2;
  config.cpu_threads = 1;
  config.optimization_level = 1;  // times 2 candidates per layer: quick, still a choice
  return config;
}

Outcome build(const BuildConfig& config) {
  Outcome out;
  Builder builder;
  auto net = builder.create_network();
  demo::build_mnist(*net);
  builder::BuildCallbacks cb;
  cb.on_layer = [&](int profile, const ir::Node& n, const tuner::TuneResult& r) {
    out.tuned[std::to_string(profile) + ":" + n.name] = r;
  };
  auto desc = builder::build_engine_desc(net->state().graph, config, default_logger(), cb);
  if (!desc.is_ok()) {
    out.plan = desc.status();
    return out;
  }
  out.plan = plan::write_plan(*desc);
  return out;
}

// Runs a plan on the demo images; returns the probabilities.
std::vector<float> run(const std::vector<uint8_t>& plan_bytes) {
  Runtime runtime;
  auto engine = runtime.deserialize(plan_bytes);
  EXPECT_TRUE(engine.is_ok()) << engine.status().to_string();
  if (!engine.is_ok()) return {};
  auto ctx = (*engine)->create_context();
  EXPECT_TRUE(ctx.is_ok());
  auto images = demo::demo_images(2);
  std::vector<float> prob(2);
  std::vector<int64_t> label(2);
  EXPECT_TRUE((*ctx)->set_input_shape("x", {2, 1, 28, 28}).is_ok());
  EXPECT_TRUE((*ctx)->set_tensor_address("x", images.data()).is_ok());
  EXPECT_TRUE((*ctx)->set_tensor_address("prob", prob.data()).is_ok());
  EXPECT_TRUE((*ctx)->set_tensor_address("label", label.data()).is_ok());
  EXPECT_TRUE((*ctx)->execute().is_ok());
  return prob;
}

// A selector made of lambdas, recording what it saw.
class LambdaSelector final : public TacticSelector {
 public:
  using Fn = std::function<Result<std::vector<int>>(const LayerContext&,
                                                    std::span<const TacticCandidate>)>;
  explicit LambdaSelector(Fn fn) : fn_(std::move(fn)) {}
  Result<std::vector<int>> select(const LayerContext& layer,
                                  std::span<const TacticCandidate> candidates) override {
    ++selects[std::to_string(layer.profile) + ":" + layer.name];
    contexts[layer.name] = layer;
    return fn_(layer, candidates);
  }
  void report(const LayerContext& layer, const TacticCandidate& chosen) override {
    reports[std::to_string(layer.profile) + ":" + layer.name].push_back(chosen.id);
  }
  std::map<std::string, int> selects;
  std::map<std::string, LayerContext> contexts;
  std::map<std::string, std::vector<std::string>> reports;

 private:
  Fn fn_;
};

TEST(TacticSelector, SeesEveryLayerOncePerProfileAndReportsTheChoice) {
  BuildConfig config = base_config();
  config.add_profile(demo::mnist_profile(3, 4, 6));
  auto sel = std::make_shared<LambdaSelector>(
      [](const LayerContext&, std::span<const TacticCandidate>) { return std::vector<int>{}; });
  config.tactic_selector = sel;
  auto b = build(config);
  ASSERT_TRUE(b.plan.is_ok()) << b.plan.status().to_string();
  ASSERT_EQ(sel->selects.size(), b.tuned.size());
  for (const auto& [key, r] : b.tuned) {
    EXPECT_EQ(sel->selects[key], 1) << key;
    ASSERT_EQ(sel->reports[key].size(), 1u) << key;
    EXPECT_EQ(sel->reports[key][0], r.tactic_id) << key;
  }
  // Empty selection = the default choice: the fastest timed candidate.
  for (const auto& [key, r] : b.tuned) {
    double best = 1e300;
    std::string best_id;
    for (const auto& c : r.candidates) {
      if (c.timed() && c.time_ms < best) {
        best = c.time_ms;
        best_id = c.id;
      }
    }
    EXPECT_EQ(r.tactic_id, best_id) << key;
  }
  // The layer context: fused parts, shapes at opt/min/max, dtypes, constants, layout.
  const LayerContext& conv = sel->contexts.at("stage1.conv");
  EXPECT_EQ(conv.op, "Conv");
  EXPECT_NE(std::find(conv.fused.begin(), conv.fused.end(), "stage1.relu"), conv.fused.end());
  ASSERT_GE(conv.inputs.size(), 2u);
  EXPECT_EQ(conv.inputs[0].name, "x");
  EXPECT_EQ(conv.inputs[1].constant, true);
  EXPECT_EQ(conv.outputs[0].dtype, DataType::kFloat32);
  EXPECT_EQ(conv.outputs[0].layout, "row-major");
  EXPECT_EQ(conv.backend, Backend::kCpu);
}

TEST(TacticSelector, ChoosingTheSlowestAndBanningTheFastest) {
  auto def = build(base_config());
  ASSERT_TRUE(def.plan.is_ok());
  const std::string fastest = def.tuned.at("0:stage1.conv").tactic_id;

  // Keep only the slowest timed candidate of every layer.
  BuildConfig slow = base_config();
  slow.tactic_selector = std::make_shared<LambdaSelector>(
      [](const LayerContext&, std::span<const TacticCandidate> c) -> Result<std::vector<int>> {
        int worst = -1;
        for (size_t i = 0; i < c.size(); ++i) {
          if (c[i].timed() && (worst < 0 || c[i].time_ms > c[worst].time_ms))
            worst = static_cast<int>(i);
        }
        return worst < 0 ? std::vector<int>{} : std::vector<int>{worst};
      });
  auto s = build(slow);
  ASSERT_TRUE(s.plan.is_ok());
  const auto& conv = s.tuned.at("0:stage1.conv");
  double worst = 0;
  for (const auto& c : conv.candidates) worst = std::max(worst, c.time_ms);
  EXPECT_EQ(conv.candidates[conv.chosen].time_ms, worst);

  // Ban the default choice of stage1.conv: another tactic, same results.
  BuildConfig ban = base_config();
  ban.tactic_selector = std::make_shared<LambdaSelector>(
      [&](const LayerContext& l, std::span<const TacticCandidate> c) -> Result<std::vector<int>> {
        std::vector<int> keep;
        if (l.name != "stage1.conv") return keep;
        for (size_t i = 0; i < c.size(); ++i) {
          if (c[i].id != fastest) keep.push_back(static_cast<int>(i));
        }
        return keep;
      });
  auto banned = build(ban);
  ASSERT_TRUE(banned.plan.is_ok()) << banned.plan.status().to_string();
  EXPECT_NE(banned.tuned.at("0:stage1.conv").tactic_id, fastest);
  auto want = run(*def.plan);
  auto got = run(*banned.plan);
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4);
}

TEST(TacticSelector, ErrorsStopTheBuildNamingTheLayer) {
  BuildConfig config = base_config();
  config.tactic_selector = std::make_shared<LambdaSelector>(
      [](const LayerContext&, std::span<const TacticCandidate> c) -> Result<std::vector<int>> {
        return std::vector<int>{static_cast<int>(c.size())};
      });
  auto b = build(config);
  ASSERT_FALSE(b.plan.is_ok());
  EXPECT_EQ(b.plan.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(b.plan.status().to_string().find("layer '"), std::string::npos);
  config.tactic_selector = std::make_shared<LambdaSelector>(
      [](const LayerContext&, std::span<const TacticCandidate>) -> Result<std::vector<int>> {
        return failed_precondition("no thanks");
      });
  b = build(config);
  ASSERT_FALSE(b.plan.is_ok());
  EXPECT_NE(b.plan.status().to_string().find("tactic selector: no thanks"), std::string::npos)
      << b.plan.status().to_string();
}

TEST(TacticSelector, BuiltInPolicies) {
  BuildConfig fastest = base_config();
  fastest.tactic_selector = make_fastest_selector();
  auto f = build(fastest);
  auto d = build(base_config());
  ASSERT_TRUE(f.plan.is_ok() && d.plan.is_ok());
  for (const auto& [key, r] : f.tuned) {
    double best = 1e300;
    for (const auto& c : r.candidates) {
      if (c.timed()) best = std::min(best, c.time_ms);
    }
    EXPECT_EQ(r.candidates[r.chosen].time_ms, best) << key;
  }
  BuildConfig small = base_config();
  small.tactic_selector = make_smallest_workspace_selector();
  auto s = build(small);
  ASSERT_TRUE(s.plan.is_ok());
  bool some_layer_differs_in_workspace = false;
  for (const auto& [key, r] : s.tuned) {
    uint64_t least = UINT64_MAX, most = 0;
    for (const auto& c : r.candidates) {
      least = std::min(least, c.workspace);
      most = std::max(most, c.workspace);
    }
    EXPECT_EQ(r.candidates[r.chosen].workspace, least) << key;
    some_layer_differs_in_workspace |= most > least;
  }
  EXPECT_TRUE(some_layer_differs_in_workspace);
}

TEST(TacticRules, ParseErrorsNameTheRuleAndField) {
  auto expect_error = [](std::string_view text, std::string_view want) {
    auto r = parse_tactic_rules(text);
    ASSERT_FALSE(r.is_ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().to_string().find(want), std::string::npos) << r.status().to_string();
  };
  expect_error("{", "not valid JSON");
  expect_error("[]", "\"rules\" array");
  expect_error(R"({"rules": [], "extra": 1})", "unknown top-level field");
  expect_error(R"({"rules": [{"layer": "a", "tactic": "b"}]})",
               "tactic rule 0: missing \"action\"");
  expect_error(
      R"({"rules": [{"action": "ban", "tactic": "x"}, {"action": "drop", "tactic": "b"}]})",
      "tactic rule 1: action \"drop\"");
  expect_error(R"({"rules": [{"action": "ban"}]})", "needs \"tactic\" or \"source\"");
  expect_error(R"({"rules": [{"action": "ban", "source": "magic"}]})", "unknown tactic source");
  expect_error(R"({"rules": [{"action": "ban", "tactic": 3}]})", "must be a string");
  expect_error(R"({"rules": [{"action": "ban", "tactic": "a", "what": "b"}]})",
               "unknown field \"what\"");
  auto missing = load_tactic_rules("/nonexistent/rules.json");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kIoError);
}

TEST(TacticRules, BanAndForceByLayerPatternTacticAndSource) {
  auto rules = parse_tactic_rules(R"({"rules": [
      {"layer": "stage*.conv", "action": "ban", "source": "cpu-blas"},
      {"layer": "fc1.matmul", "action": "force", "tactic": "MatMul/cpu-ref/*"},
      {"layer": "stage2.relu", "action": "force", "tactic": "direct"}
  ]})");
  ASSERT_TRUE(rules.is_ok()) << rules.status().to_string();
  BuildConfig config = base_config();
  config.tactic_selector = *rules;
  auto b = build(config);
  ASSERT_TRUE(b.plan.is_ok()) << b.plan.status().to_string();
  for (const char* conv : {"0:stage1.conv", "0:stage2.conv"}) {
    EXPECT_EQ(b.tuned.at(conv).tactic_id.find("/cpu-blas/"), std::string::npos) << conv;
  }
  EXPECT_EQ(b.tuned.at("0:fc1.matmul").tactic_id, "MatMul/cpu-ref/reference");
  // "stage2.relu" is fused into stage2.conv: the pattern matches the fused part, and the
  // tactic glob matches the tactic's name.
  EXPECT_EQ(b.tuned.at("0:stage2.conv").tactic_id, "Conv/cpu-opt/direct");

  // A rule that leaves a layer without candidates is an error naming layer and rule.
  auto all_banned =
      parse_tactic_rules(R"({"rules": [{"layer": "softmax", "action": "ban", "tactic": "*"}]})");
  ASSERT_TRUE(all_banned.is_ok());
  config.tactic_selector = *all_banned;
  auto bad = build(config);
  ASSERT_FALSE(bad.plan.is_ok());
  const std::string msg = bad.plan.status().to_string();
  EXPECT_NE(msg.find("tactic rule 0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("layer 'softmax'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Softmax/"), std::string::npos) << msg;  // lists the candidates
}

TEST(TacticSources, ParseLists) {
  auto exact = parse_tactic_sources("cpu-blas, CPU-REF");
  ASSERT_TRUE(exact.is_ok());
  EXPECT_EQ(*exact, TacticSource::kCpuBlas | TacticSource::kCpuReference);
  auto minus = parse_tactic_sources("-cudnn,-cublas");
  ASSERT_TRUE(minus.is_ok());
  EXPECT_EQ(*minus & static_cast<uint32_t>(TacticSource::kCudnn), 0u);
  EXPECT_EQ(*minus & static_cast<uint32_t>(TacticSource::kCublas), 0u);
  EXPECT_NE(*minus & static_cast<uint32_t>(TacticSource::kCublasLt), 0u);
  EXPECT_EQ(*parse_tactic_sources("all"), kAllTacticSources);
  EXPECT_EQ(*parse_tactic_sources("none"), 0u);
  for (const char* bad : {"", "cudnn,", "magic", "cudnn,-cublas"}) {
    auto r = parse_tactic_sources(bad);
    EXPECT_FALSE(r.is_ok()) << bad;
  }
  EXPECT_NE(parse_tactic_sources("magic").status().message().find("'magic'"), std::string::npos);
  EXPECT_EQ(tactic_sources_to_string(TacticSource::kCublas | TacticSource::kCudnn),
            "cublas, cudnn");
  EXPECT_EQ(tactic_sources_to_string(0), "none");
}

TEST(TacticSources, EngineRecordsTheSourcesItUses) {
  BuildConfig config = base_config();
  config.tactic_sources = TacticSource::kCpuReference | TacticSource::kCpuOptimized;
  auto b = build(config);
  ASSERT_TRUE(b.plan.is_ok()) << b.plan.status().to_string();
  Runtime runtime;
  auto engine = runtime.deserialize(*b.plan);
  ASSERT_TRUE(engine.is_ok());
  EXPECT_EQ((*engine)->tactic_sources_enabled(), config.tactic_sources);
  const TacticSources used = (*engine)->tactic_sources_used();
  EXPECT_NE(used, 0u);
  EXPECT_EQ(used & ~config.tactic_sources, 0u);
  TacticSources from_tactics = 0;
  for (const auto& [key, r] : b.tuned) {
    from_tactics |= static_cast<TacticSources>(r.candidates[r.chosen].source);
  }
  EXPECT_EQ(used, from_tactics);
  auto j = nlohmann::json::parse((*engine)->inspect_json());
  EXPECT_EQ(j["tactic_sources_enabled"], "cpu-ref, cpu-opt");
  EXPECT_EQ(j["tactic_sources_used"], tactic_sources_to_string(used));

  // The error for a layer without tactics names the layer, the enabled sources and the op's.
  BuildConfig none = base_config();
  none.tactic_sources = static_cast<uint32_t>(TacticSource::kCublas);
  auto bad = build(none);
  ASSERT_FALSE(bad.plan.is_ok());
  const std::string msg = bad.plan.status().to_string();
  EXPECT_NE(msg.find("layer '"), std::string::npos) << msg;
  EXPECT_NE(msg.find("enabled tactic sources: cublas"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cpu tactics from: cpu-ref"), std::string::npos) << msg;
}

TEST(TacticSources, PlanUsingADisabledSourceIsRejected) {
  Builder builder;
  auto net = builder.create_network();
  demo::build_mnist(*net);
  auto desc = builder::build_engine_desc(net->state().graph, base_config(), default_logger(), {});
  ASSERT_TRUE(desc.is_ok());
  desc->tactic_sources = static_cast<uint32_t>(TacticSource::kCpuOptimized);
  auto bytes = plan::write_plan(*desc);
  ASSERT_TRUE(bytes.is_ok());
  Runtime runtime;
  auto engine = runtime.deserialize(*bytes);
  ASSERT_FALSE(engine.is_ok());
  EXPECT_EQ(engine.status().code(), StatusCode::kCorruptData);
  EXPECT_NE(engine.status().to_string().find("disabled"), std::string::npos);
}

// Timed candidates per layer at each level (the conv layers have 2 non-reference CPU tactics
// plus the reference; MatMul 2 plus the reference).
TEST(OptimizationLevel, LevelsTimeTheHeuristicTopCandidates) {
  std::map<int, Outcome> by_level;
  for (int level : {0, 1, 3, 5}) {
    BuildConfig config = base_config();
    config.optimization_level = level;
    by_level[level] = build(config);
    ASSERT_TRUE(by_level[level].plan.is_ok()) << level;
  }
  for (const auto& [key, r] : by_level[0].tuned) {
    EXPECT_EQ(r.candidates.size(), 1u) << key;
    EXPECT_FALSE(r.candidates[0].timed()) << key;
  }
  for (int level : {1, 3, 5}) {
    const int limit = level == 1 ? 2 : level == 3 ? 4 : 1000;
    for (const auto& [key, r] : by_level[level].tuned) {
      int timed = 0;
      for (const auto& c : r.candidates) timed += c.timed();
      EXPECT_LE(timed, limit) << level << " " << key;
      EXPECT_GE(timed, 1) << level << " " << key;
      // Timed candidates come first: the top of the heuristic order.
      bool seen_untimed = false;
      for (const auto& c : r.candidates) {
        if (!c.timed()) seen_untimed = true;
        EXPECT_FALSE(seen_untimed && c.timed()) << level << " " << key << " " << c.id;
      }
      if (level == 5) {
        EXPECT_EQ(timed, static_cast<int>(r.candidates.size())) << key;
      }
    }
  }
  // Level 1 leaves the reference kernel of the conv layers untimed (it is last in heuristic
  // order); level 5 times it.
  auto ref_timed = [](const tuner::TuneResult& r) {
    for (const auto& c : r.candidates) {
      if (c.source == TacticSource::kCpuReference) return c.timed();
    }
    return false;
  };
  EXPECT_FALSE(ref_timed(by_level[1].tuned.at("0:stage1.conv")));
  EXPECT_TRUE(ref_timed(by_level[5].tuned.at("0:stage1.conv")));
  // Reference kernels rank last.
  const auto& c5 = by_level[5].tuned.at("0:stage1.conv").candidates;
  EXPECT_EQ(c5.back().source, TacticSource::kCpuReference);
}

}  // namespace
}  // namespace kiln::tactic_selector_test
