// Auxiliary streams inside one inference: which stream runs each step (kernel) of a profile,
// which events order steps across streams, and activation lifetimes that stay safe when
// independent branches run at the same time.
//
// Host-only logic (no CUDA calls), so it is tested on the CPU. The context turns a schedule
// into cudaEventRecord / cudaStreamWaitEvent calls (runtime/context.cpp).
#pragma once

#include "builder/memory_plan.h"

#include <cstdint>
#include <span>
#include <vector>

namespace kiln::detail {

struct StreamSchedule {
  int num_streams = 1;      // streams used: 0 is the caller's stream, 1.. are auxiliary streams
  std::vector<int> stream;  // per step
  std::vector<std::vector<int>> waits;  // per step: events its stream waits for before it runs
  std::vector<int> signal;              // per step: event recorded after it, or -1
  int num_events = 0;
  // Events the caller's stream waits for at the end (the last step of each auxiliary stream).
  std::vector<int> join;
  // Per step: bitset of the steps that complete before it starts (through stream order and
  // events), whatever the streams' relative speed.
  std::vector<std::vector<uint64_t>> before;

  bool happens_before(int a, int b) const {
    return (before[b][static_cast<size_t>(a) / 64] >> (a % 64)) & 1;
  }
};

// Assigns steps to at most `max_streams` streams (>= 1). deps[i] lists the earlier steps whose
// outputs step i reads. A step continues the stream of one of its inputs where it can, so a
// chain stays on one stream and only independent branches spread; with max_streams == 1 (or a
// chain) everything is on stream 0 and there are no events.
StreamSchedule schedule_streams(std::span<const std::vector<int>> deps, int max_streams);

// Extends each lifetime so that memory reuse is safe under the schedule: a tensor's bytes may be
// given to a tensor produced at step p only if every step that uses it (users[i]: producer and
// consumers) happens before p. lifetimes[i].last_step grows to the last step that may still run
// concurrently with one of its users.
void extend_lifetimes(const StreamSchedule& schedule, std::span<const std::vector<int>> users,
                      std::span<builder::TensorLifetime> lifetimes);

}  // namespace kiln::detail
