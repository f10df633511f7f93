#include "passes/pass.h"

#include <string>

namespace kiln::passes {

namespace {
void log(const PassOptions& o, const std::string& m) {
  if (o.logger) o.logger->log(Severity::kVerbose, m);
}
}  // namespace

Status run_passes(ir::Graph& g, const PassOptions& options) {
  KILN_ASSIGN_OR_RETURN(int folded, fold_constants(g, options));
  int dead = remove_dead_code(g);
  g.compact();
  KILN_RETURN_IF_ERROR(g.infer_shapes());
  log(options, "passes: folded " + std::to_string(folded) + " constant nodes, removed " +
                   std::to_string(dead) + " dead nodes");
  if (options.enable_fusion) {
    KILN_ASSIGN_OR_RETURN(int bn, fold_batch_norm(g, options));
    KILN_ASSIGN_OR_RETURN(int fused, fuse_bias_activation(g, options));
    remove_dead_code(g);
    g.compact();
    KILN_RETURN_IF_ERROR(g.infer_shapes());
    log(options, "passes: folded " + std::to_string(bn) + " batch norms, fused " +
                     std::to_string(fused) + " bias/activation layers");
  }
  if (options.reduced_precision != DataType::kFloat32) {
    KILN_ASSIGN_OR_RETURN(int converted, reduce_precision(g, options.reduced_precision));
    log(options, "passes: " + std::to_string(converted) + " layers run in " +
                     std::string(dtype_name(options.reduced_precision)));
  }
  return Status::ok();
}

}  // namespace kiln::passes
