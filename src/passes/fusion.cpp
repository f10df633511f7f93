// Bias/activation fusion (placeholder until the pass lands: fuses nothing).
#include "passes/pass.h"

namespace kiln::passes {

Result<int> fuse_bias_activation(ir::Graph& graph, const PassOptions& options) { return 0; }

}  // namespace kiln::passes
