// Batch-norm folding (placeholder until the pass lands: folds nothing).
#include "passes/pass.h"

namespace kiln::passes {

Result<int> fold_batch_norm(ir::Graph& graph, const PassOptions& options) { return 0; }

}  // namespace kiln::passes
