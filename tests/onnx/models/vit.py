"""ViT-B/16-shaped, opset 20: patch embedding Conv (kernel = stride = patch), the
x.reshape(n, d, (h // p) * (w // p)) flatten computed from Shape with Div and Mul, Transpose, the
class token expanded to the batch with PyTorch's expand(n, -1, -1) guard
(ConstantOfShape / Mul / Equal / Where -> Expand), Concat, position embeddings sliced to the token
count (Slice with ends from Shape), pre-norm encoder blocks (LayerNormalization, timm-style
attention: one qkv MatMul, Reshape to (n, t, 3, heads, dh), Transpose, Split + Squeeze,
MatMul / Mul scale / Softmax / MatMul, Transpose, Reshape; MLP with the Gelu op of opset 20, approximate none and tanh),
final LayerNormalization, class-token Gather and Gemm head.
Dynamic batch, height and width (the token count follows the image size).
D = 64, 4 heads, MLP 128, 2 blocks, patch 8, images up to 48x48."""
import numpy as np
from onnx import helper

from common import FLOAT, INT64, Graph, Spec, rand

D, HEADS, MLP, DEPTH, PATCH, MAX_SIDE = 64, 4, 128, 2, 8, 48


def attention(g, x, n, t, scope):
    qkv = g.linear(x, D, 3 * D, f"{scope}/qkv")
    qkv = g.reshape_dyn(qkv, [n, t, 3, HEADS, D // HEADS], scope)
    qkv = g.op("Transpose", [qkv], scope, perm=[2, 0, 3, 1, 4])
    parts = g.op("Split", [qkv, g.const([1, 1, 1])], scope, outputs=3, axis=0)
    q, k, v = (g.op("Squeeze", [p, g.const([0])], scope) for p in parts)
    kt = g.op("Transpose", [k], scope, perm=[0, 1, 3, 2])
    att = g.op("Mul", [g.op("MatMul", [q, kt], scope), g.const((D // HEADS) ** -0.5, np.float32)], scope)
    att = g.op("Softmax", [att], scope, axis=-1)
    y = g.op("Transpose", [g.op("MatMul", [att, v], scope)], scope, perm=[0, 2, 1, 3])
    y = g.reshape_dyn(y, [n, t, D], scope)
    return g.linear(y, D, D, f"{scope}/proj")


def build():
    g = Graph("vit_small", seed=16, opset=20)
    x = g.input("pixel_values", FLOAT, ["batch", 3, "height", "width"])
    y = g.conv(x, 3, D, PATCH, "/conv_proj", stride=PATCH, pad=0, gain=1.0)
    # n_h * n_w from the input's shape, as the exporter traces x.shape arithmetic.
    shape = g.op("Shape", [x], "")
    h = g.op("Div", [g.op("Gather", [shape, g.const(2)], "", axis=0), g.const(PATCH)], "")
    w = g.op("Div", [g.op("Gather", [shape, g.const(3)], "", axis=0), g.const(PATCH)], "")
    hw = g.op("Unsqueeze", [g.op("Mul", [h, w], ""), g.const([0])], "")
    n = g.dim(x, 0)
    y = g.reshape_dyn(y, [n, D, hw], "")
    y = g.op("Transpose", [y], "", perm=[0, 2, 1])
    # class_token.expand(n, -1, -1)
    target = g.op("Concat", [n, g.const([-1]), g.const([-1])], "", axis=0)
    ones = g.op("ConstantOfShape", [g.const([3])], "", value=helper.make_tensor("value", INT64, [1], [1]))
    neg = g.op("Mul", [ones, g.const(-1)], "")
    guard = g.op("Where", [g.op("Equal", [target, neg], ""), ones, target], "")
    cls = g.op("Expand", [g.uniform((1, 1, D), -0.5, 0.5, name="class_token"), guard], "")
    y = g.op("Concat", [cls, y], "", axis=1)
    # pos_embedding[:, : hw + 1]
    tokens = g.op("Add", [hw, g.const([1])], "")
    pos = g.op("Slice", [g.uniform((1, 1 + (MAX_SIDE // PATCH) ** 2, D), -0.5, 0.5, name="pos_embedding"),
                         g.const([0]), tokens, g.const([1])], "/encoder")
    y = g.op("Add", [y, pos], "/encoder")
    t = g.dim(y, 1, "/encoder")
    for i in range(DEPTH):
        s = f"/encoder/layers/encoder_layer_{i}"
        y = g.op("Add", [y, attention(g, g.layernorm(y, D, f"{s}/ln_1", fused=True, eps=1e-6), n, t,
                                      f"{s}/self_attention")], s)
        m = g.linear(g.layernorm(y, D, f"{s}/ln_2", fused=True, eps=1e-6), D, MLP, f"{s}/mlp/mlp.0")
        # nn.GELU() and, in the second block, nn.GELU(approximate="tanh")
        act = g.op("Gelu", [m], f"{s}/mlp/mlp.1", **({"approximate": "tanh"} if i % 2 else {}))
        m = g.linear(act, MLP, D, f"{s}/mlp/mlp.3")
        y = g.op("Add", [y, m], s)
    y = g.layernorm(y, D, "/encoder/ln", fused=True, eps=1e-6)
    y = g.op("Gather", [y, g.const(0)], "", axis=1)
    y = g.gemm(y, D, 10, "/heads/head", out="logits")
    g.output(y, FLOAT, ["batch", 10])
    return g.model()


MODELS = [Spec(
    name="vit_small", build=build,
    profile={"pixel_values": ((1, 3, 32, 32), (2, 3, 32, 32), (4, 3, MAX_SIDE, MAX_SIDE))},
    cases=[{"pixel_values": rand(31, (1, 3, 32, 32))}, {"pixel_values": rand(32, (3, 3, 48, 32))}],
    tol=1e-4,
    note="patch Conv, Shape/Gather/Div/Mul/Unsqueeze/Concat/Reshape, expand(n,-1,-1) guard "
         "(ConstantOfShape/Equal/Where/Expand), Slice with shape-program ends, LayerNormalization, "
         "Split/Squeeze, MatMul/Softmax attention, Gelu and Gelu tanh (opset 20), Gather, Gemm")]
