"""LLaMA-shaped decoder, opset 18 (D = 64, 4 query heads, 2 key/value heads, FFN 128, 2 layers,
vocab 256), dynamic batch and sequence, in the forms of Hugging Face's LlamaModel export:
RMSNorm (Cast to float -> Pow -> ReduceMean -> Add eps -> Sqrt -> Reciprocal -> Mul -> Mul weight;
the layer-norm fusion must not take it for LayerNorm); rotary embeddings (inv_freq
[None, :, None] @ position_ids[:, None, :] -> Transpose -> Concat(freqs, freqs) -> Cos / Sin,
rotate_half by Slice (end INT64_MAX) / Neg / Concat); grouped-query attention with repeat_kv
(Unsqueeze -> Expand -> Reshape); the causal mask from Range comparisons (Greater ->
Where(finfo.min, 0)); SwiGLU MLP (SiLU(gate) * up); bias-free MatMul projections."""
import numpy as np

from common import FLOAT, INT64, Graph, Spec, token_ids

D, HEADS, KV_HEADS, FF, LAYERS, VOCAB = 64, 4, 2, 128, 2, 256
DH = D // HEADS
INT64_MAX = np.iinfo(np.int64).max


def rms_norm(g, x, scope):
    x = g.op("Cast", [x], scope, to=FLOAT)  # hidden_states.to(torch.float32): a no-op here
    var = g.reduce_mean(g.op("Pow", [x, g.const(2.0, np.float32)], scope), [-1], scope)
    inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [var, g.const(1e-6, np.float32)], scope)], scope)], scope)
    return g.op("Mul", [g.uniform((D,), 0.8, 1.2, name=f"{scope}.weight"), g.op("Mul", [x, inv], scope)], scope)


def rotate_half(g, x, scope):
    x1 = g.op("Slice", [x, g.const([0]), g.const([DH // 2]), g.const([-1]), g.const([1])], scope)
    x2 = g.op("Slice", [x, g.const([DH // 2]), g.const([INT64_MAX]), g.const([-1]), g.const([1])], scope)
    return g.op("Concat", [g.op("Neg", [x2], scope), x1], scope, axis=-1)


def rope(g, x, cos, sin, scope):
    return g.op("Add", [g.op("Mul", [x, cos], scope), g.op("Mul", [rotate_half(g, x, scope), sin], scope)], scope)


def heads(g, x, n, s, h, scope):
    return g.op("Transpose", [g.reshape_dyn(x, [n, s, h, DH], scope)], scope, perm=[0, 2, 1, 3])


def repeat_kv(g, x, n, s, scope):
    rep = HEADS // KV_HEADS
    x = g.unsqueeze(x, [2], scope)
    x = g.op("Expand", [x, g.op("Concat", [n, g.const([KV_HEADS, rep]), s, g.const([DH])], scope, axis=0)], scope)
    return g.reshape_dyn(x, [n, HEADS, s, DH], scope)


def layer(g, x, cos, sin, mask, n, s, scope):
    a = f"{scope}/self_attn"
    h = rms_norm(g, x, f"{scope}/input_layernorm")
    q = rope(g, heads(g, g.linear(h, D, HEADS * DH, f"{a}/q_proj", bias=False), n, s, HEADS, a), cos, sin, a)
    k = rope(g, heads(g, g.linear(h, D, KV_HEADS * DH, f"{a}/k_proj", bias=False), n, s, KV_HEADS, a), cos, sin, a)
    v = heads(g, g.linear(h, D, KV_HEADS * DH, f"{a}/v_proj", bias=False), n, s, KV_HEADS, a)
    k, v = repeat_kv(g, k, n, s, a), repeat_kv(g, v, n, s, a)
    scores = g.op("Div", [g.op("MatMul", [q, g.op("Transpose", [k], a, perm=[0, 1, 3, 2])], a),
                          g.const(np.sqrt(DH), np.float32)], a)
    probs = g.op("Softmax", [g.op("Add", [scores, mask], a)], a, axis=-1)
    ctx = g.op("Transpose", [g.op("MatMul", [probs, v], a)], a, perm=[0, 2, 1, 3])
    x = g.op("Add", [x, g.linear(g.reshape_dyn(ctx, [n, s, D], a), D, D, f"{a}/o_proj", bias=False)], scope)
    m = f"{scope}/mlp"
    h = rms_norm(g, x, f"{scope}/post_attention_layernorm")
    gate = g.silu(g.linear(h, D, FF, f"{m}/gate_proj", bias=False), m)
    up = g.linear(h, D, FF, f"{m}/up_proj", bias=False)
    return g.op("Add", [x, g.linear(g.op("Mul", [gate, up], m), FF, D, f"{m}/down_proj", bias=False)], scope)


def build():
    g = Graph("llama_small", seed=7, opset=18)
    ids = g.input("input_ids", INT64, ["batch", "sequence"])
    n, s = g.dim(ids, 0), g.dim(ids, 1)
    x = g.op("Gather", [g.weight((VOCAB, D), fan_in=1, name="model.embed_tokens.weight"), ids], "/embed_tokens")
    s_scalar = g.op("Gather", [g.op("Shape", [ids], ""), g.const(1)], "", axis=0)
    positions = g.op("Range", [g.const(0), s_scalar, g.const(1)], "")                    # (s,)
    # Rotary tables: freqs = (inv_freq[None, :, None] @ position_ids[:, None, :].float()).T
    inv_freq = 1.0 / (10000.0 ** (np.arange(0, DH, 2, dtype=np.float32) / DH))
    r = "/rotary_emb"
    pos_f = g.op("Cast", [g.unsqueeze(positions, [0, 1], r)], r, to=FLOAT)               # (1, 1, s)
    freqs = g.op("MatMul", [g.init(inv_freq.reshape(1, -1, 1).astype(np.float32), "inv_freq"), pos_f], r)
    freqs = g.op("Transpose", [freqs], r, perm=[0, 2, 1])                                 # (1, s, dh/2)
    emb = g.op("Concat", [freqs, freqs], r, axis=-1)
    cos = g.unsqueeze(g.op("Cos", [emb], r), [1], r)                                      # (1, 1, s, dh)
    sin = g.unsqueeze(g.op("Sin", [emb], r), [1], r)
    # Causal mask: position j > i is masked.
    later = g.op("Greater", [g.unsqueeze(positions, [0], ""), g.unsqueeze(positions, [1], "")], "")
    mask = g.op("Where", [later, g.const(np.finfo(np.float32).min, np.float32), g.const(0.0, np.float32)], "")
    for i in range(LAYERS):
        x = layer(g, x, cos, sin, mask, n, s, f"/model/layers.{i}")
    x = rms_norm(g, x, "/model/norm")
    logits = g.op("MatMul", [x, g.weight((D, VOCAB), fan_in=D, name="lm_head.weight")], "/lm_head", out="logits")
    g.output(logits, FLOAT, ["batch", "sequence", VOCAB])
    return g.model()


MODELS = [Spec(
    name="llama_small", build=build,
    profile={"input_ids": ((1, 1), (2, 32), (4, 96))},
    cases=[{"input_ids": token_ids(91, (1, 7), VOCAB)}, {"input_ids": token_ids(92, (3, 96), VOCAB)}],
    tol=1e-4,
    note="RMSNorm (Pow/ReduceMean/Sqrt/Reciprocal), rotary embeddings (MatMul/Cos/Sin, Slice to "
         "INT64_MAX, Neg, Concat), GQA repeat_kv (Unsqueeze/Expand/Reshape), Range/Greater/Where causal "
         "mask, SwiGLU (opset 18)")]
