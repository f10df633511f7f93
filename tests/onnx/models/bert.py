"""BERT-base-shaped encoders (D = 64, 4 heads, FFN 128, 2 layers, vocab 1000) in two export forms,
both with dynamic batch and sequence and a padding attention mask.

bert_legacy (opset 14, like a TorchScript export of Hugging Face's BertModel before opset 17):
  three inputs (input_ids, attention_mask, token_type_ids); word / position / token-type
  embeddings by Gather, position ids by Range(0, S) -> Unsqueeze -> Expand to the ids' shape;
  the 4-D mask of _prepare_4d_attention_mask: Unsqueeze -> Expand to (n, 1, s, s) through
  PyTorch's expand guard (ConstantOfShape / Mul / Equal / Where), Cast to float, 1 - mask,
  Cast to bool, Where(mask, finfo.min, 1 - mask); LayerNorm decomposed into
  ReduceMean / Sub / Pow / ReduceMean / Add / Sqrt / Div / Mul / Add; attention with
  Shape -> Gather -> Unsqueeze -> Concat -> Reshape head splits, MatMul, Div by sqrt(dh), Add
  mask, Softmax, Dropout (inference), MatMul; Erf GELU; pooler (Gather of token 0, Gemm, Tanh).
bert_dynamo (opset 18, like torch.onnx.export(dynamo=True) of BertModel): Shape with start/end,
  position ids by Slice of a buffer (a no-op Slice to INT64_MAX, then to the sequence length),
  token types by Slice + Expand of a buffer, the 4-D mask by Unsqueeze -> Expand -> Cast -> Sub ->
  Cast(bool) -> Where, onnxscript's scaled-dot-product-attention decomposition (scale from
  Shape(q, start=-1) -> CastLike -> Sqrt -> Div -> Sqrt, applied to q and to k^T),
  LayerNormalization, Erf GELU as x * sqrt(1/2).
bert_fused (opset 17, RoBERTa / DistilBERT style): position ids from the padding mask by
  Not(Equal(ids, pad)) -> Cast -> CumSum -> Mul -> Cast -> Add (RoBERTa's
  create_position_ids_from_input_ids), token types by ConstantOfShape, LayerNormalization,
  q / sqrt(dh) then Einsum 'bhqd,bhkd->bhqk' and 'bhqk,bhkd->bhqd', the mask as
  Equal(mask, 0) -> Reshape -> Expand(Shape(scores)) -> Where(mask, finfo.min, scores)
  (DistilBERT's masked_fill), tanh GELU (Pow / Mul / Add / Tanh)."""
import numpy as np
from onnx import helper

from common import BOOL, FLOAT, INT32, INT64, Graph, Spec, padding_mask, token_ids

D, HEADS, FF, LAYERS, VOCAB, MAX_POS, PAD = 64, 4, 128, 2, 1000, 128, 1
DH = D // HEADS
FMIN = np.finfo(np.float32).min


def split_heads(g, x, n, s, scope, perm=(0, 2, 1, 3)):
    return g.op("Transpose", [g.reshape_dyn(x, [n, s, HEADS, DH], scope)], scope, perm=list(perm))


def expand_guarded(g, x, parts, scope):
    """x.expand(*parts) as the TorchScript exporter writes it (guards -1 entries)."""
    target = g.op("Concat", [p if isinstance(p, str) else g.const([p]) for p in parts], scope, axis=0)
    ones = g.op("ConstantOfShape", [g.const([len(parts)])], scope,
                value=helper.make_tensor("value", INT64, [1], [1]))
    neg = g.op("Mul", [ones, g.const(-1)], scope)
    guard = g.op("Where", [g.op("Equal", [target, neg], scope), ones, target], scope)
    return g.op("Expand", [x, guard], scope)


def legacy_layer(g, x, mask, n, s, scope):
    a = f"{scope}/attention/self"
    q = split_heads(g, g.linear(x, D, D, f"{a}/query"), n, s, a)
    k = split_heads(g, g.linear(x, D, D, f"{a}/key"), n, s, a, perm=(0, 2, 3, 1))
    v = split_heads(g, g.linear(x, D, D, f"{a}/value"), n, s, a)
    scores = g.op("Div", [g.op("MatMul", [q, k], a), g.const(np.sqrt(DH), np.float32)], a)
    probs = g.op("Softmax", [g.op("Add", [scores, mask], a)], a, axis=-1)
    probs = g.dropout(probs, a, 0.1)
    ctx = g.op("Transpose", [g.op("MatMul", [probs, v], a)], a, perm=[0, 2, 1, 3])
    ctx = g.reshape_dyn(ctx, [n, s, D], a)
    o = f"{scope}/attention/output"
    x = g.layernorm(g.op("Add", [g.linear(ctx, D, D, f"{o}/dense"), x], o), D, f"{o}/LayerNorm", fused=False)
    h = g.gelu_erf(g.linear(x, D, FF, f"{scope}/intermediate/dense"), f"{scope}/intermediate")
    o = f"{scope}/output"
    return g.layernorm(g.op("Add", [g.linear(h, FF, D, f"{o}/dense"), x], o), D, f"{o}/LayerNorm", fused=False)


def build_legacy(name="bert_legacy", opset=14):
    g = Graph(name, seed=14, opset=opset)
    ids = g.input("input_ids", INT64, ["batch", "sequence"])
    am = g.input("attention_mask", INT64, ["batch", "sequence"])
    tt = g.input("token_type_ids", INT64, ["batch", "sequence"])
    e = "/embeddings"
    s_scalar = g.op("Gather", [g.op("Shape", [ids], e), g.const(1)], e, axis=0)
    pos = g.op("Range", [g.const(0), s_scalar, g.const(1)], e)
    pos = g.op("Expand", [g.op("Unsqueeze", [pos, g.const([0])], e), g.op("Shape", [ids], e)], e)
    x = g.op("Gather", [g.weight((VOCAB, D), fan_in=1, gain=0.02, name="embeddings.word_embeddings.weight"), ids], e)
    x = g.op("Add", [x, g.op("Gather", [g.weight((2, D), fan_in=1, gain=0.02,
                                                 name="embeddings.token_type_embeddings.weight"), tt], e)], e)
    x = g.op("Add", [x, g.op("Gather", [g.weight((MAX_POS, D), fan_in=1, gain=0.02,
                                                 name="embeddings.position_embeddings.weight"), pos], e)], e)
    x = g.layernorm(x, D, f"{e}/LayerNorm", fused=False)
    n, s = g.dim(ids, 0), g.dim(ids, 1)
    m = g.op("Unsqueeze", [g.op("Unsqueeze", [am, g.const([1])], ""), g.const([2])], "")
    m = expand_guarded(g, m, [n, 1, s, s], "")
    m = g.op("Cast", [m], "", to=FLOAT)
    inv = g.op("Sub", [g.const(1.0, np.float32), m], "")
    mask = g.op("Where", [g.op("Cast", [inv], "", to=BOOL), g.const(FMIN, np.float32), inv], "")
    for i in range(LAYERS):
        x = legacy_layer(g, x, mask, n, s, f"/encoder/layer.{i}")
    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="/Identity"))
    first = g.op("Gather", [x, g.const(0)], "/pooler", axis=1)
    pooled = g.op("Tanh", [g.gemm(first, D, D, "/pooler/dense")], "/pooler", out="pooler_output")
    g.output("last_hidden_state", FLOAT, ["batch", "sequence", D])
    g.output(pooled, FLOAT, ["batch", D])
    return g.model()


def fused_layer(g, x, am, n, s, scope):
    a = f"{scope}/attention"
    q = split_heads(g, g.linear(x, D, D, f"{a}/q_lin"), n, s, a)
    q = g.op("Div", [q, g.const(np.sqrt(DH), np.float32)], a)
    k = split_heads(g, g.linear(x, D, D, f"{a}/k_lin"), n, s, a)
    v = split_heads(g, g.linear(x, D, D, f"{a}/v_lin"), n, s, a)
    scores = g.op("Einsum", [q, k], a, equation="bhqd,bhkd->bhqk")
    masked = g.reshape_dyn(g.op("Equal", [am, g.const(0)], a), [n, 1, 1, s], a)
    masked = g.op("Expand", [masked, g.op("Shape", [scores], a)], a)
    scores = g.op("Where", [masked, g.const(FMIN, np.float32), scores], a)
    probs = g.op("Softmax", [scores], a, axis=-1)
    ctx = g.op("Einsum", [probs, v], a, equation="bhqk,bhkd->bhqd")
    ctx = g.reshape_dyn(g.op("Transpose", [ctx], a, perm=[0, 2, 1, 3]), [n, -1, HEADS * DH], a)
    x = g.layernorm(g.op("Add", [g.linear(ctx, D, D, f"{a}/out_lin"), x], scope), D, f"{scope}/sa_layer_norm",
                    fused=True)
    h = g.gelu_tanh(g.linear(x, D, FF, f"{scope}/ffn/lin1"), f"{scope}/ffn")
    y = g.op("Add", [g.linear(h, FF, D, f"{scope}/ffn/lin2"), x], scope)
    return g.layernorm(y, D, f"{scope}/output_layer_norm", fused=True)


def build_fused():
    g = Graph("bert_fused", seed=17, opset=17)
    ids = g.input("input_ids", INT64, ["batch", "sequence"])
    am = g.input("attention_mask", INT64, ["batch", "sequence"])
    e = "/embeddings"
    keep = g.op("Cast", [g.op("Not", [g.op("Equal", [ids, g.const(PAD)], e)], e)], e, to=INT32)
    inc = g.op("Mul", [g.op("CumSum", [keep, g.const(1, np.int32)], e), keep], e)
    pos = g.op("Add", [g.op("Cast", [inc], e, to=INT64), g.const(PAD)], e)
    types = g.op("ConstantOfShape", [g.op("Shape", [ids], e)], e, value=helper.make_tensor("value", INT64, [1], [0]))
    x = g.op("Gather", [g.weight((VOCAB, D), fan_in=1, gain=0.02, name="embeddings.word_embeddings.weight"), ids], e)
    x = g.op("Add", [x, g.op("Gather", [g.weight((MAX_POS + PAD + 1, D), fan_in=1, gain=0.02,
                                                 name="embeddings.position_embeddings.weight"), pos], e)], e)
    x = g.op("Add", [x, g.op("Gather", [g.weight((1, D), fan_in=1, gain=0.02,
                                                 name="embeddings.token_type_embeddings.weight"), types], e)], e)
    x = g.layernorm(x, D, f"{e}/LayerNorm", fused=True, eps=1e-5)
    n, s = g.dim(ids, 0), g.dim(ids, 1)
    for i in range(LAYERS):
        x = fused_layer(g, x, am, n, s, f"/transformer/layer.{i}")
    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="/Identity"))
    g.output("last_hidden_state", FLOAT, ["batch", "sequence", D])
    return g.model()


def sdpa(g, q, k, v, mask, scope):
    """onnxscript's aten_scaled_dot_product_attention: the scale 1/sqrt(E) from Shape(q)[-1]
    (CastLike, Sqrt, Div), split as sqrt(scale) on q and on the transposed k."""
    e = g.op("CastLike", [g.op("Shape", [q], scope, start=-1), q], scope)
    scale = g.op("Sqrt", [g.op("Div", [g.const(1.0, np.float32), g.op("Sqrt", [e], scope)], scope)], scope)
    qs = g.op("Mul", [q, scale], scope)
    ks = g.op("Mul", [g.op("Transpose", [k], scope, perm=[0, 1, 3, 2]), scale], scope)
    w = g.op("Softmax", [g.op("Add", [g.op("MatMul", [qs, ks], scope), mask], scope)], scope, axis=-1)
    return g.op("MatMul", [w, v], scope)


def dynamo_layer(g, x, mask, n, s, scope):
    a = f"{scope}/attention/self"
    q = split_heads(g, g.linear(x, D, D, f"{a}/query"), n, s, a)
    k = split_heads(g, g.linear(x, D, D, f"{a}/key"), n, s, a)
    v = split_heads(g, g.linear(x, D, D, f"{a}/value"), n, s, a)
    ctx = g.op("Transpose", [sdpa(g, q, k, v, mask, a)], a, perm=[0, 2, 1, 3])
    ctx = g.reshape_dyn(ctx, [n, s, D], a)
    o = f"{scope}/attention/output"
    x = g.layernorm(g.op("Add", [g.linear(ctx, D, D, f"{o}/dense"), x], o), D, f"{o}/LayerNorm", fused=True)
    h = g.linear(x, D, FF, f"{scope}/intermediate/dense")
    # aten_gelu (approximate="none"): 0.5 * x * (1 + erf(x * sqrt(1/2)))
    erf = g.op("Erf", [g.op("Mul", [h, g.const(0.7071067811865476, np.float32)], scope)], scope)
    h = g.op("Mul", [g.op("Mul", [g.const(0.5, np.float32), h], scope),
                     g.op("Add", [g.const(1.0, np.float32), erf], scope)], scope)
    o = f"{scope}/output"
    return g.layernorm(g.op("Add", [g.linear(h, FF, D, f"{o}/dense"), x], o), D, f"{o}/LayerNorm", fused=True)


def build_dynamo():
    g = Graph("bert_dynamo", seed=18, opset=18)
    ids = g.input("input_ids", INT64, ["s0", "s1"])
    am = g.input("attention_mask", INT64, ["s0", "s1"])
    e = "/embeddings"
    n = g.op("Shape", [ids], e, start=0, end=1)   # Shape with start / end (opset 15)
    s = g.op("Shape", [ids], e, start=1, end=2)
    # self.position_ids[:, 0:s] of a (1, MAX_POS) buffer, with a no-op [:] Slice to INT64_MAX.
    pos_buf = g.init(np.arange(MAX_POS, dtype=np.int64).reshape(1, MAX_POS), "embeddings.position_ids")
    pos = g.op("Slice", [pos_buf, g.const([0]), g.const([np.iinfo(np.int64).max]), g.const([0]), g.const([1])], e)
    pos = g.op("Slice", [pos, g.const([0]), s, g.const([1]), g.const([1])], e)
    # buffered_token_type_ids[:, :s].expand(n, s)
    tt_buf = g.init(np.zeros((1, MAX_POS), np.int64), "embeddings.token_type_ids")
    tt = g.op("Slice", [tt_buf, g.const([0]), s, g.const([1]), g.const([1])], e)
    tt = g.op("Expand", [tt, g.op("Concat", [n, s], e, axis=0)], e)
    x = g.op("Gather", [g.weight((VOCAB, D), fan_in=1, gain=0.02, name="embeddings.word_embeddings.weight"), ids], e)
    x = g.op("Add", [x, g.op("Gather", [g.weight((2, D), fan_in=1, gain=0.02,
                                                 name="embeddings.token_type_embeddings.weight"), tt], e)], e)
    x = g.op("Add", [x, g.op("Gather", [g.weight((MAX_POS, D), fan_in=1, gain=0.02,
                                                 name="embeddings.position_embeddings.weight"), pos], e)], e)
    x = g.layernorm(x, D, f"{e}/LayerNorm", fused=True)
    # _prepare_4d_attention_mask_for_sdpa: expand to (n, 1, s, s), invert, masked_fill(finfo.min)
    m = g.op("Unsqueeze", [am, g.const([1, 2])], "")
    m = g.op("Expand", [m, g.op("Concat", [n, g.const([1]), s, s], "", axis=0)], "")
    inv = g.op("Sub", [g.const(1.0, np.float32), g.op("Cast", [m], "", to=FLOAT)], "")
    mask = g.op("Where", [g.op("Cast", [inv], "", to=BOOL), g.const(FMIN, np.float32), inv], "")
    for i in range(LAYERS):
        x = dynamo_layer(g, x, mask, n, s, f"/encoder/layer.{i}")
    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="/Identity"))
    g.output("last_hidden_state", FLOAT, ["s0", "s1", D])
    return g.model()


def legacy_case(b, s, seed):
    return {"input_ids": token_ids(seed, (b, s), VOCAB), "attention_mask": padding_mask(b, s),
            "token_type_ids": (np.arange(s)[None, :] >= s // 2).astype(np.int64).repeat(b, 0)}


def dynamo_case(b, s, seed):
    return {"input_ids": token_ids(seed, (b, s), VOCAB), "attention_mask": padding_mask(b, s)}


def fused_case(b, s, seed):
    am = padding_mask(b, s)
    ids = np.random.RandomState(seed).randint(PAD + 1, VOCAB, (b, s)).astype(np.int64)
    ids[am == 0] = PAD  # padding positions hold the pad token, as tokenizers write them
    return {"input_ids": ids, "attention_mask": am}


def profile(names, lo, opt, hi):
    return {n: (lo, opt, hi) for n in names}


MODELS = [
    Spec(name="bert_legacy", build=build_legacy,
         profile=profile(["input_ids", "attention_mask", "token_type_ids"], (1, 8), (2, 32), (4, 64)),
         cases=[legacy_case(1, 16, 41), legacy_case(3, 40, 42)],
         tol=1e-4,
         note="Gather embeddings, Range/Unsqueeze/Expand position ids, mask Unsqueeze/Expand guard "
              "(ConstantOfShape/Equal/Where)/Cast/Sub/Where, decomposed LayerNorm, Reshape/Transpose "
              "heads, MatMul/Div/Add/Softmax, Dropout, Erf GELU, pooler Gather/Gemm/Tanh (opset 14)"),
    Spec(name="bert_dynamo", build=build_dynamo,
         profile=profile(["input_ids", "attention_mask"], (1, 8), (2, 32), (4, 64)),
         cases=[dynamo_case(1, 8, 45), dynamo_case(4, 33, 46)],
         tol=1e-4,
         note="Shape start/end, Slice to INT64_MAX and to a shape-program end, Slice+Expand token "
              "types, Unsqueeze/Expand/Cast/Sub/Where 4-D mask, SDPA decomposition with the scale from "
              "Shape/CastLike/Sqrt/Div, LayerNormalization, Erf GELU as Mul by sqrt(1/2) (opset 18)"),
    Spec(name="bert_fused", build=build_fused,
         profile=profile(["input_ids", "attention_mask"], (1, 8), (2, 32), (4, 64)),
         cases=[fused_case(2, 24, 43), fused_case(4, 64, 44)],
         tol=1e-4,
         note="Equal/Not/Cast/CumSum position ids, ConstantOfShape token types, LayerNormalization, "
              "Einsum attention, Equal/Reshape/Expand/Where mask, tanh GELU (opset 17)"),
]


def bert_base_spec():
    """bert_legacy's form at BERT-base size (12 layers, D = 768, 12 heads, FFN 3072, vocabulary
    30522, 110 M weights), opset 17, sequence 128 as in tests/gpu/models_vs_pytorch.py. Opt-in
    (models_vs_ort.py --large): a 440 MB model and minutes of CPU time (mostly autotuning)."""
    def build():
        global D, HEADS, DH, FF, LAYERS, VOCAB, MAX_POS
        saved = (D, HEADS, DH, FF, LAYERS, VOCAB, MAX_POS)
        D, HEADS, DH, FF, LAYERS, VOCAB, MAX_POS = 768, 12, 64, 3072, 12, 30522, 512
        try:
            return build_legacy("bert_base", opset=17)
        finally:
            D, HEADS, DH, FF, LAYERS, VOCAB, MAX_POS = saved

    def case(b, seed):
        c = legacy_case(b, 128, seed)
        c["input_ids"] = token_ids(seed, (b, 128), 30522)
        return c

    return Spec(name="bert_base", build=build,
                profile=profile(["input_ids", "attention_mask", "token_type_ids"], (1, 16), (2, 128), (4, 128)),
                cases=[case(1, 47), case(4, 48)], tol=1e-4,
                note="bert_legacy at BERT-base size, opset 17, sequence 128")
