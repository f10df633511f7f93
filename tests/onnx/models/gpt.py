"""GPT-2-shaped decoder, opset 18 (D = 64, 4 heads, 2 layers, vocab 256), dynamic batch and
sequence: position ids by Range(0, S) -> Unsqueeze; GPT-2's Conv1D as the exporter writes it
(Reshape to (-1, d_in) -> Gemm with transB = 0 -> Reshape back through Shape / Gather / Concat);
qkv Split with num_outputs (opset 18); the causal mask from
ConstantOfShape((s, s)) -> Trilu(lower) -> Equal(0) -> Where(mask, finfo.min, scores);
LayerNormalization; tanh GELU; logits by MatMul with the transposed (tied) token embedding;
the next token by Gather(position -1) -> ArgMax (int64 output, compared exactly)."""
import numpy as np
from onnx import helper

from common import FLOAT, INT64, Graph, Spec, token_ids

D, HEADS, LAYERS, VOCAB, MAX_POS = 64, 4, 2, 256, 128
DH = D // HEADS


def conv1d(g, x, n, s, din, dout, scope):
    w = g.weight((din, dout), fan_in=din, name=f"{scope}.weight")
    b = g.uniform((dout,), -0.1, 0.1, name=f"{scope}.bias")
    y = g.op("Gemm", [g.reshape_dyn(x, [-1, din], scope), w, b], scope, alpha=1.0, beta=1.0)
    return g.reshape_dyn(y, [n, s, dout], scope)


def heads(g, x, n, s, scope):
    return g.op("Transpose", [g.reshape_dyn(x, [n, s, HEADS, DH], scope)], scope, perm=[0, 2, 1, 3])


def block(g, x, causal, n, s, scope):
    a = f"{scope}/attn"
    qkv = conv1d(g, g.layernorm(x, D, f"{scope}/ln_1", fused=True, eps=1e-5), n, s, D, 3 * D, f"{a}/c_attn")
    q, k, v = (heads(g, t, n, s, a) for t in g.op("Split", [qkv], a, outputs=3, axis=2, num_outputs=3))
    scores = g.op("MatMul", [q, g.op("Transpose", [k], a, perm=[0, 1, 3, 2])], a)
    scores = g.op("Div", [scores, g.const(np.sqrt(DH), np.float32)], a)
    scores = g.op("Where", [causal, g.const(np.finfo(np.float32).min, np.float32), scores], a)
    ctx = g.op("MatMul", [g.op("Softmax", [scores], a, axis=-1), v], a)
    ctx = g.reshape_dyn(g.op("Transpose", [ctx], a, perm=[0, 2, 1, 3]), [n, s, D], a)
    x = g.op("Add", [conv1d(g, ctx, n, s, D, D, f"{a}/c_proj"), x], scope)
    h = conv1d(g, g.layernorm(x, D, f"{scope}/ln_2", fused=True, eps=1e-5), n, s, D, 4 * D, f"{scope}/mlp/c_fc")
    h = conv1d(g, g.gelu_tanh(h, f"{scope}/mlp"), n, s, 4 * D, D, f"{scope}/mlp/c_proj")
    return g.op("Add", [x, h], scope)


def build():
    g = Graph("gpt2_small", seed=18, opset=18)
    ids = g.input("input_ids", INT64, ["batch", "sequence"])
    n, s = g.dim(ids, 0), g.dim(ids, 1)
    s_scalar = g.op("Gather", [g.op("Shape", [ids], ""), g.const(1)], "", axis=0)
    pos = g.op("Unsqueeze", [g.op("Range", [g.const(0), s_scalar, g.const(1)], ""), g.const([0])], "")
    wte = g.weight((VOCAB, D), fan_in=1, gain=0.02, name="transformer.wte.weight")
    x = g.op("Add", [g.op("Gather", [wte, ids], "/wte"),
                     g.op("Gather", [g.weight((MAX_POS, D), fan_in=1, gain=0.01, name="transformer.wpe.weight"),
                                     pos], "/wpe")], "")
    ones = g.op("ConstantOfShape", [g.op("Concat", [s, s], "", axis=0)], "",
                value=helper.make_tensor("value", FLOAT, [1], [1.0]))
    causal = g.op("Equal", [g.op("Trilu", [ones], "", upper=0), g.const(0.0, np.float32)], "")
    for i in range(LAYERS):
        x = block(g, x, causal, n, s, f"/transformer/h.{i}")
    x = g.layernorm(x, D, "/transformer/ln_f", fused=True, eps=1e-5)
    logits = g.op("MatMul", [x, g.op("Transpose", [wte], "/lm_head", perm=[1, 0])], "/lm_head", out="logits")
    last = g.op("Gather", [logits, g.const(-1)], "", axis=1)
    nxt = g.op("ArgMax", [last], "", out="next_token", axis=-1, keepdims=0)
    g.output(logits, FLOAT, ["batch", "sequence", VOCAB])
    g.output(nxt, INT64, ["batch"])
    return g.model()


MODELS = [Spec(
    name="gpt2_small", build=build,
    profile={"input_ids": ((1, 4), (2, 32), (4, 64))},
    cases=[{"input_ids": token_ids(51, (1, 12), VOCAB)}, {"input_ids": token_ids(52, (3, 50), VOCAB)}],
    tol=1e-4,
    note="Range position ids, Reshape/Gemm(transB=0)/Reshape Conv1D, Split num_outputs, "
         "ConstantOfShape/Trilu/Equal/Where causal mask, LayerNormalization, tanh GELU, tied "
         "Transpose/MatMul logits, Gather(-1)/ArgMax (opset 18)")]
