#include "core/phase_timer.h"
#include "passes/pass.h"

#include <string>

namespace kiln::passes {

namespace {
void log(const PassOptions& o, const std::string& m) {
  if (o.logger) o.logger->log(Severity::kVerbose, m);
}
}  // namespace

Status run_passes(ir::Graph& g, const PassOptions& options) {
  // Each pass's time includes the dead-code removal and shape inference that follow it.
  PhaseTimer timer;
  KILN_ASSIGN_OR_RETURN(int folded, fold_constants(g, options));
  timer.lap("constant folding");
  int dead = remove_dead_code(g);
  g.compact();
  KILN_RETURN_IF_ERROR(g.infer_shapes());
  timer.lap("dead code");
  log(options, "passes: folded " + std::to_string(folded) + " constant nodes, removed " +
                   std::to_string(dead) + " dead nodes");
  // Layers of different precisions must not fuse (pass.h: precision constraints).
  const bool constrained = has_precision_constraints(g);
  if (options.enable_fusion) {
    PrecisionBarriers barriers;
    if (constrained) barriers = record_precision_constraints(g);
    KILN_ASSIGN_OR_RETURN(int bn, fold_batch_norm(g, options));
    timer.lap("batch norm");
    if (constrained) {
      KILN_RETURN_IF_ERROR(insert_precision_barriers(g, options.reduced_precision, &barriers));
    }
    // GELU and layer norm first: their Activation / LayerNorm nodes are what the bias /
    // activation fusion and the residual fusion match. Softmax before attention (attention
    // matches the fused Softmax); elementwise chains last (they take what is left).
    // After each fusion, dead nodes go (they would count as users of the values they read) and
    // shapes are re-inferred (a fused node's output often has a simpler symbolic shape than the
    // chain it replaced, which later patterns compare).
    KILN_ASSIGN_OR_RETURN(int gelu, fuse_gelu(g, options));
    remove_dead_code(g);
    KILN_RETURN_IF_ERROR(g.infer_shapes());
    timer.lap("gelu");
    KILN_ASSIGN_OR_RETURN(int ln, fuse_layer_norm(g, options));
    remove_dead_code(g);
    KILN_RETURN_IF_ERROR(g.infer_shapes());
    timer.lap("layer norm");
    KILN_ASSIGN_OR_RETURN(int fused, fuse_bias_activation(g, options));
    remove_dead_code(g);
    KILN_RETURN_IF_ERROR(g.infer_shapes());
    timer.lap("bias/activation");
    KILN_ASSIGN_OR_RETURN(int softmax, fuse_softmax(g, options));
    remove_dead_code(g);
    KILN_RETURN_IF_ERROR(g.infer_shapes());
    timer.lap("softmax");
    KILN_ASSIGN_OR_RETURN(int attention, fuse_attention(g, options));
    remove_dead_code(g);
    KILN_RETURN_IF_ERROR(g.infer_shapes());
    timer.lap("attention");
    KILN_ASSIGN_OR_RETURN(int qkv, fuse_qkv(g, options));
    remove_dead_code(g);
    timer.lap("qkv");
    KILN_ASSIGN_OR_RETURN(int chains, fuse_elementwise(g, options));
    if (constrained) remove_precision_barriers(g, barriers, options);
    remove_dead_code(g);
    g.compact();
    KILN_RETURN_IF_ERROR(g.infer_shapes());
    timer.lap("elementwise chains");
    log(options, "passes: folded " + std::to_string(bn) + " batch norms, fused " +
                     std::to_string(gelu) + " GELUs, " + std::to_string(ln) + " layer norms, " +
                     std::to_string(fused) + " bias/activation layers, " + std::to_string(softmax) +
                     " softmaxes, " + std::to_string(attention) + " attentions (" +
                     std::to_string(qkv) + " with packed QKV projections), " +
                     std::to_string(chains) + " elementwise chains");
  }
  if (options.reduced_precision != DataType::kFloat32 || constrained) {
    KILN_ASSIGN_OR_RETURN(PrecisionStats st,
                          assign_precision(g, options.reduced_precision, options));
    timer.lap("precision");
    log(options, "passes: " + std::to_string(st.converted) + " layers change precision (" +
                     std::string(dtype_name(options.reduced_precision)) + " by default, " +
                     std::to_string(st.constrained) + " constrained), " + std::to_string(st.casts) +
                     " casts added");
  }
  log(options, "pass times: " + timer.summary());
  return Status::ok();
}

}  // namespace kiln::passes
