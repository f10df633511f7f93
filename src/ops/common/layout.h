// Activation layouts of the ops that have a channel dim (Conv, Pooling, BatchNorm): channels
// first ([N, C, D1, ..., Dk], NCHW for 2-D, the ONNX layout) or channels last
// ([N, D1, ..., Dk, C], NHWC), chosen by the node attribute "channels_last" (int, default 0) that
// the layout pass sets (src/passes/layout.cpp, docs/cuda-backend.md).
#pragma once

#include "ir/graph.h"

#include <cstdint>
#include <vector>

namespace kiln::ops {

inline bool channels_last(const ir::Attrs& attrs) {
  return attrs.get_int("channels_last", 0) != 0;
}

// Position of the channel dim and of spatial dim d in a tensor of rank `rank`.
inline int channel_dim(bool channels_last, int rank) {
  return channels_last ? rank - 1 : 1;
}
inline int spatial_dim(bool channels_last, int d) {
  return channels_last ? 1 + d : 2 + d;
}

// Permutation from channels-first to channels-last of rank r: [0, 2, ..., r-1, 1], and back:
// [0, r-1, 1, ..., r-2] (Transpose "perm" semantics: output dim i is input dim perm[i]).
inline std::vector<int64_t> to_channels_last_perm(int rank) {
  std::vector<int64_t> p = {0};
  for (int i = 2; i < rank; ++i) p.push_back(i);
  if (rank > 1) p.push_back(1);
  return p;
}
inline std::vector<int64_t> to_channels_first_perm(int rank) {
  std::vector<int64_t> p = {0};
  if (rank > 1) p.push_back(rank - 1);
  for (int i = 1; i + 1 < rank; ++i) p.push_back(i);
  return p;
}

}  // namespace kiln::ops
