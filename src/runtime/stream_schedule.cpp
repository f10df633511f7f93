#include "runtime/stream_schedule.h"

#include <algorithm>

namespace kiln::detail {

namespace {

using Bits = std::vector<uint64_t>;

void set_bit(Bits& b, int i) {
  b[static_cast<size_t>(i) / 64] |= uint64_t{1} << (i % 64);
}
bool has_bit(const Bits& b, int i) {
  return (b[static_cast<size_t>(i) / 64] >> (i % 64)) & 1;
}
void merge(Bits& into, const Bits& from) {
  for (size_t w = 0; w < into.size(); ++w) into[w] |= from[w];
}

}  // namespace

StreamSchedule schedule_streams(std::span<const std::vector<int>> deps, int max_streams) {
  const int n = static_cast<int>(deps.size());
  const size_t words = (static_cast<size_t>(n) + 63) / 64;
  max_streams = std::max(max_streams, 1);
  StreamSchedule s;
  s.stream.assign(n, 0);
  s.waits.assign(n, {});
  s.signal.assign(n, -1);
  s.before.assign(n, Bits(words, 0));
  std::vector<int> tail(max_streams, -1);  // last step of each stream
  int used = 1;

  // Everything that completes before step `i` if it runs after `t` on the same stream.
  auto closure_of = [&](int t) {
    Bits b(words, 0);
    if (t >= 0) {
      b = s.before[t];
      set_bit(b, t);
    }
    return b;
  };
  for (int i = 0; i < n; ++i) {
    // 1. continue the stream whose last step is one of our inputs (lowest stream first);
    // 2. else a stream whose last step already happens before us;
    // 3. else an unused stream; 4. else the stream that has been idle longest.
    int chosen = -1;
    for (int st = 0; st < used && chosen < 0; ++st) {
      if (tail[st] >= 0 && std::find(deps[i].begin(), deps[i].end(), tail[st]) != deps[i].end()) {
        chosen = st;
      }
    }
    Bits preds_closure(words, 0);
    for (int p : deps[i]) merge(preds_closure, closure_of(p));
    for (int st = 0; st < used && chosen < 0; ++st) {
      if (tail[st] < 0 || has_bit(preds_closure, tail[st])) chosen = st;
    }
    if (chosen < 0 && used < max_streams) chosen = used++;
    if (chosen < 0) {
      chosen = 0;
      for (int st = 1; st < used; ++st) {
        if (tail[st] < tail[chosen]) chosen = st;
      }
    }
    s.stream[i] = chosen;
    Bits known = closure_of(tail[chosen]);
    // Wait for inputs from other streams that are not already ordered before us, latest first
    // (an earlier step of the same stream is then covered by the later one).
    std::vector<int> preds(deps[i].begin(), deps[i].end());
    std::sort(preds.rbegin(), preds.rend());
    for (int p : preds) {
      if (has_bit(known, p)) continue;
      if (s.signal[p] < 0) s.signal[p] = s.num_events++;
      s.waits[i].push_back(s.signal[p]);
      merge(known, closure_of(p));
    }
    s.before[i] = std::move(known);
    tail[chosen] = i;
  }
  s.num_streams = used;
  for (int st = 1; st < used; ++st) {
    int t = tail[st];
    if (t < 0) continue;
    if (s.signal[t] < 0) s.signal[t] = s.num_events++;
    s.join.push_back(s.signal[t]);
  }
  return s;
}

void extend_lifetimes(const StreamSchedule& schedule, std::span<const std::vector<int>> users,
                      std::span<builder::TensorLifetime> lifetimes) {
  const int n = static_cast<int>(schedule.stream.size());
  for (size_t t = 0; t < lifetimes.size(); ++t) {
    auto& lt = lifetimes[t];
    for (int later = lt.last_step + 1; later < n; ++later) {
      for (int u : users[t]) {
        if (!schedule.happens_before(u, later)) {
          lt.last_step = later;
          break;
        }
      }
    }
  }
}

}  // namespace kiln::detail
