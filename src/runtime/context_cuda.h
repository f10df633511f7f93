// A context's CUDA objects: its auxiliary streams (Context::set_aux_streams) with the events
// and schedules of each profile, and the fence that tells when the last enqueue is done. CUDA
// members only in CUDA builds.
#pragma once

#include "runtime/stream_schedule.h"

#ifdef KILN_WITH_CUDA
#include "backends/cuda/cuda_raii.h"
#endif

#include <vector>

namespace kiln::detail {

struct AuxStreams {
  int count = 0;                          // auxiliary streams requested
  std::vector<StreamSchedule> schedules;  // per profile
#ifdef KILN_WITH_CUDA
  std::vector<cuda::Stream> streams;  // count of them
  std::vector<cuda::Event> events;    // enough for every profile's schedule
  cuda::Event fork;                   // recorded on the caller's stream; aux streams wait for it
#endif
};

// Recorded after each enqueue (and graph launch) of an engine whose shape tensors have device
// copies: set_input_shape waits for it before overwriting them, so new shapes may be set while
// the previous inference still runs.
struct EnqueueFence {
#ifdef KILN_WITH_CUDA
  cuda::Event event;
#endif
  bool recorded = false;
};

}  // namespace kiln::detail
