#include "tuner/autotuner.h"

#include "backends/device.h"
#include "tuner/candidates.h"
#include "tuner/signature.h"

#include <algorithm>
#include <optional>
#include <set>

namespace kiln::tuner {

namespace {

LayerTensor layer_tensor(const ops::KernelInfo& info, int value, const Dims& opt, const Dims& min,
                         const Dims& max) {
  const ir::Value& v = info.graph->value(value);
  LayerTensor t;
  t.name = v.name;
  t.dtype = v.dtype;
  t.shape = opt;
  t.min_shape = min;
  t.max_shape = max;
  t.constant = v.constant.has_value();
  return t;
}

}  // namespace

LayerContext layer_context(const ops::KernelInfo& info, int profile) {
  LayerContext c;
  c.name = info.node->name;
  c.op = info.node->op;
  c.fused = info.node->fused;
  c.profile = profile;
  c.backend = info.backend;
  for (int i = 0; i < info.num_inputs(); ++i) {
    if (!info.has_input(i)) continue;
    c.inputs.push_back(layer_tensor(info, info.node->inputs[i], info.opt.inputs[i],
                                    info.min.inputs[i], info.max.inputs[i]));
  }
  for (size_t o = 0; o < info.node->outputs.size(); ++o) {
    c.outputs.push_back(layer_tensor(info, info.node->outputs[o], info.opt.outputs[o],
                                     info.min.outputs[o], info.max.outputs[o]));
  }
  return c;
}

Autotuner::Autotuner(const BuildConfig& config, Logger& logger, Device* device, ThreadPool* threads)
    : config_(config), logger_(logger), device_(device), timer_(config, device, threads) {}

Status Autotuner::init() {
  if (config_.timing_cache) {
    Status s = config_.timing_cache->attach(cache_descriptor(*device_, config_));
    if (s.is_ok()) {
      cache_ = config_.timing_cache;
    } else if (config_.ignore_timing_cache_mismatch) {
      logger_.log(Severity::kWarning, "timing cache not used (mismatch ignored): " + s.to_string());
    } else {
      return s.with_context("timing cache");
    }
  }
  if (!cache_) cache_ = TimingCache::create();  // private: identical layers are timed once
  return Status::ok();
}

Result<TuneResult> Autotuner::tune(const ops::KernelInfo& info, int profile) {
  const std::string where = info.graph->describe_node(info.node->id);
  const std::string signature = node_signature(info);
  const TimingCacheKey key = signature_key(signature);
  const std::optional<TimingCacheValue> entry = cache_->query(key);
  std::vector<TacticTiming> measured;  // new facts for the cache
  auto ranked_r = enumerate_tactics(info, config_.tactic_sources, entry, &measured);
  if (!ranked_r.is_ok()) {
    if (!measured.empty()) cache_->add_measurements(key, signature, measured);
    return ranked_r.status().with_context(where);
  }
  std::vector<RankedTactic> ranked = std::move(*ranked_r);

  if (entry && !entry->pinned_tactic.empty()) {
    auto it = std::find_if(ranked.begin(), ranked.end(),
                           [&](const RankedTactic& r) { return r.id == entry->pinned_tactic; });
    if (it != ranked.end()) {
      RankedTactic pinned = *it;
      ranked = {pinned};
    } else {
      logger_.log(Severity::kWarning, where + ": the timing cache pins tactic '" +
                                          entry->pinned_tactic +
                                          "', which is not a candidate of this build (its source "
                                          "is disabled or it does not support the layer); ignored");
    }
  }

  const int level = std::clamp(config_.optimization_level, 0, 5);
  const int to_time = timed_candidates_for_level(level);
  // Level 0 without a selector stops at the first valid tactic; a selector sees them all.
  const bool stop_at_first = level == 0 && !config_.tactic_selector;

  std::vector<TacticCandidate> cands;
  int timed_valid = 0;
  bool did_work = false;                             // created or timed a kernel
  std::optional<std::vector<HostTensor>> reference;  // computed when first needed
  bool reference_failed = false;

  for (const RankedTactic& r : ranked) {
    if (stop_at_first && !cands.empty()) break;
    const bool want_time = level > 0 && (to_time < 0 || timed_valid < to_time);
    TacticCandidate c;
    c.source = r.def->source;
    c.id = r.id;
    c.name = std::string(r.def->name);
    const TacticTiming* cached = find_record(entry, r.id);
    if (cached != nullptr && (cached->timed() || !want_time)) {
      if (cached->workspace > config_.workspace_limit) {
        logger_.log(Severity::kInfo, where + ": tactic " + r.id + " dropped: needs " +
                                         std::to_string(cached->workspace) +
                                         " bytes of workspace, limit " +
                                         std::to_string(config_.workspace_limit));
        continue;
      }
      c.workspace = cached->workspace;
      // Level 0 takes no time into account, cached or not.
      if (level > 0 && cached->timed()) {
        c.time_ms = cached->time_ms;
        if (want_time) ++timed_valid;
      }
      cands.push_back(std::move(c));
      continue;
    }
    did_work = true;
    auto kernel = r.def->create(info);
    if (!kernel.is_ok()) {
      // A tactic that cannot make a kernel for the layer does not implement it.
      TacticTiming no;
      no.tactic_id = r.id;
      no.supported = false;
      measured.push_back(std::move(no));
      logger_.log(Severity::kInfo,
                  where + ": tactic " + r.id + " dropped: " + kernel.status().to_string());
      continue;
    }
    const size_t ws =
        std::max((*kernel)->workspace_size(info.max), (*kernel)->workspace_size(info.opt));
    if (ws > config_.workspace_limit) {
      measured.push_back({r.id, -1.0, ws, r.rank, true});  // its size is a fact worth keeping
      logger_.log(Severity::kInfo, where + ": tactic " + r.id + " dropped: needs " +
                                       std::to_string(ws) + " bytes of workspace, limit " +
                                       std::to_string(config_.workspace_limit));
      continue;
    }
    c.workspace = ws;
    if (want_time) {
      const bool check = config_.check_accuracy && !reference_failed;
      if (check && !reference) {
        auto ref = KernelTimer::reference_outputs(info);
        if (ref.is_ok()) {
          reference = std::move(*ref);
        } else {
          reference_failed = true;
          logger_.log(Severity::kWarning,
                      where + ": accuracy check skipped: " + ref.status().to_string());
        }
      }
      std::vector<HostTensor> out;
      auto ms = timer_.time(info, **kernel, reference ? &out : nullptr);
      ++timed_;
      if (!ms.is_ok()) {
        logger_.log(Severity::kWarning,
                    where + ": tactic " + r.id +
                        " failed while tuning and was dropped: " + ms.status().to_string());
        continue;
      }
      if (reference && !KernelTimer::outputs_match(out, *reference)) {
        logger_.log(Severity::kWarning, where + ": tactic " + r.id +
                                            " differs from the reference kernel and was dropped");
        continue;
      }
      c.time_ms = *ms;
      ++timed_valid;
    }
    measured.push_back({r.id, c.time_ms, ws, r.rank, true});
    cands.push_back(std::move(c));
  }
  if (!measured.empty()) cache_->add_measurements(key, signature, measured);
  TuneResult result;
  result.cache_hit = !did_work && measured.empty();
  (result.cache_hit ? hits_ : misses_)++;
  if (cands.empty()) {
    std::string ids;
    for (const RankedTactic& r : ranked) ids += (ids.empty() ? "" : ", ") + r.id;
    return unsupported("every candidate tactic failed or was dropped (candidates: " + ids +
                       "; enabled tactic sources: " +
                       tactic_sources_to_string(config_.tactic_sources) + ")")
        .with_context(where);
  }
  for (size_t i = 0; i < cands.size(); ++i) cands[i].heuristic_rank = static_cast<int>(i);

  std::vector<int> kept;
  std::optional<LayerContext> ctx;
  if (config_.tactic_selector) {
    ctx = layer_context(info, profile);
    auto sel = config_.tactic_selector->select(*ctx, cands);
    if (!sel.is_ok()) return sel.status().with_context("tactic selector").with_context(where);
    std::set<int> unique;
    for (int i : *sel) {
      if (i < 0 || i >= static_cast<int>(cands.size())) {
        return out_of_range("tactic selector returned index " + std::to_string(i) + " for " +
                            std::to_string(cands.size()) + " candidates")
            .with_context(where);
      }
      unique.insert(i);
    }
    kept.assign(unique.begin(), unique.end());
  }
  if (kept.empty()) {
    kept.resize(cands.size());
    for (size_t i = 0; i < cands.size(); ++i) kept[i] = static_cast<int>(i);
  }
  // The fastest timed kept candidate (ties: heuristic order); none timed: the first kept.
  int chosen = kept.front();
  bool found_timed = false;
  for (int i : kept) {
    if (!cands[i].timed()) continue;
    if (!found_timed || cands[i].time_ms < cands[chosen].time_ms) chosen = i;
    found_timed = true;
  }
  result.tactic_id = cands[chosen].id;
  result.workspace = cands[chosen].workspace;
  result.chosen = chosen;
  result.candidates = std::move(cands);
  if (config_.tactic_selector) config_.tactic_selector->report(*ctx, result.candidates[chosen]);
  logger_.log(Severity::kVerbose, where + ": chose " + result.tactic_id);
  return result;
}

}  // namespace kiln::tuner
