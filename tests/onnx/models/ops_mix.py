"""Ops that the big models do not cover, in the forms exports use them, opset 18, dynamic batch
and sequence (x: (n, s, 16) float, ids: (n, s) int64):
Flatten(axis=2) -> Gemm (alpha, beta, transA with a 2-D C) -> Reshape back; Sum and Mean
(variadic, broadcasting); Tile with constant repeats and with repeats from Shape
(x.repeat(n, 1, 1)); Trilu (upper, k = 1) on data; CumSum (exclusive, reverse) on data;
Einsum patterns 'bsd,de->bse', 'bsd,btd->bst', 'bij->bji', 'bsd->bd', 'bd,bd->b',
'...ij,...jk->...ik'; ArgMax (keepdims, select_last_index) and ArgMin; ReduceSum / ReduceMax with
axes inputs (opset 18); Clip with only a min; Identity and Dropout; Gather on ids;
Where/Less on data."""
import numpy as np

from common import FLOAT, INT64, Graph, Spec, rand, token_ids

F = 16


def build():
    g = Graph("ops_mix", seed=99, opset=18)
    x = g.input("x", FLOAT, ["n", "s", F])
    ids = g.input("ids", INT64, ["n", "s"])
    n, s = g.dim(x, 0), g.dim(x, 1)
    x = g.op("Identity", [x], "/in")
    x = g.dropout(x, "/in", 0.3)

    # Flatten -> Gemm(transA) -> Reshape back: y = 0.5 * (x2d^T)^T W + 2 C
    x2d = g.op("Flatten", [x], "/gemm", axis=2)                          # (n*s, F)
    xt = g.op("Transpose", [x2d], "/gemm", perm=[1, 0])                   # (F, n*s)
    gemm = g.op("Gemm", [xt, g.weight((F, 8), fan_in=F, name="/gemm.W"), g.uniform((1, 8), -1, 1, name="/gemm.C")],
                "/gemm", alpha=0.5, beta=2.0, transA=1)
    gemm = g.reshape_dyn(gemm, [n, s, 8], "/gemm")

    # Sum / Mean with broadcasting
    emb = g.op("Gather", [g.weight((50, F), fan_in=1, name="emb"), ids], "/sum")
    total = g.op("Sum", [x, emb, g.uniform((F,), -1, 1, name="/sum.bias")], "/sum")
    mean = g.op("Mean", [total, x, g.uniform((1, 1, F), -1, 1, name="/mean.bias")], "/sum")

    # Einsum patterns
    e = "/einsum"
    proj = g.op("Einsum", [mean, g.weight((F, F), fan_in=F, name="/einsum.W")], e, equation="bsd,de->bse")
    scores = g.op("Einsum", [proj, x], e, equation="bsd,btd->bst")                   # (n, s, s)
    scores_t = g.op("Einsum", [scores], e, equation="bij->bji")
    pooled = g.op("Einsum", [proj], e, equation="bsd->bd")                              # (n, F)
    dot = g.op("Einsum", [pooled, g.op("ReduceMax", [x, g.const([1])], e, keepdims=0)], e, equation="bd,bd->b")
    chain = g.op("Einsum", [scores, proj], e, equation="...ij,...jk->...ik")           # (n, s, F)

    # Trilu and CumSum on data
    tri = g.op("Trilu", [g.op("Add", [scores, scores_t], "/tri"), g.const(1)], "/tri", upper=1)
    csum = g.op("CumSum", [chain, g.const(1)], "/cumsum", exclusive=1, reverse=1)

    # Tile: constant repeats, and x.repeat(n, 1, 1) of a (1, 2, F) token
    tiled = g.op("Tile", [x, g.const([1, 2, 1])], "/tile")                            # (n, 2s, F)
    tok = g.op("Tile", [g.uniform((1, 2, F), -1, 1, name="/tile.token"),
                        g.op("Concat", [n, g.const([1, 1])], "/tile", axis=0)], "/tile")     # (n, 2, F)
    seq = g.op("Concat", [tok, tiled], "/tile", axis=1)                               # (n, 2s+2, F)
    seq = g.op("Clip", [seq, g.const(-0.5, np.float32)], "/tile")
    red = g.op("ReduceSum", [seq, g.const([1])], "/tile", keepdims=1)                  # (n, 1, F)

    # ArgMax / ArgMin on data; Where / Less
    am = g.op("ArgMax", [csum], "/arg", axis=2, keepdims=1, select_last_index=1, out="argmax")
    an = g.op("ArgMin", [gemm], "/arg", axis=1, keepdims=0, out="argmin")
    sel = g.op("Where", [g.op("Less", [chain, g.const(0.0, np.float32)], "/sel"), chain,
                         g.op("Mul", [chain, red], "/sel")], "/sel", out="selected")

    g.output(g.op("Identity", [gemm], "/out", out="gemm"), FLOAT, ["n", "s", 8])
    g.output(g.op("Identity", [tri], "/out", out="trilu"), FLOAT, ["n", "s", "s"])
    g.output(g.op("Identity", [dot], "/out", out="dot"), FLOAT, ["n"])
    g.output(sel, FLOAT, ["n", "s", F])
    g.output(am, INT64, ["n", "s", 1])
    g.output(an, INT64, ["n", 8])
    return g.model()


MODELS = [Spec(
    name="ops_mix", build=build,
    profile={"x": ((1, 1, F), (2, 8, F), (4, 32, F)), "ids": ((1, 1), (2, 8), (4, 32))},
    cases=[{"x": rand(81, (1, 5, F)), "ids": token_ids(82, (1, 5), 50)},
           {"x": rand(83, (3, 17, F)), "ids": token_ids(84, (3, 17), 50)}],
    tol=1e-5,
    note="Flatten/Gemm(transA, alpha, beta)/Reshape, Sum, Mean, Einsum (6 patterns), Trilu, "
         "CumSum exclusive+reverse, Tile (constant and Shape repeats), Clip(min), ReduceSum/ReduceMax "
         "axes inputs, ArgMax/ArgMin, Where/Less, Identity, Dropout (opset 18)")]
