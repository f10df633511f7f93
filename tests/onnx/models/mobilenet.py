"""MobileNetV2-shaped, as torchvision exports it with constant folding on: Conv with folded
BatchNormalization (bias), ReLU6 as Clip(min, max) with constant inputs, inverted residual
blocks (1x1 expand, 3x3 depthwise with group = channels, 1x1 linear projection, residual Add
when shapes agree), GlobalAveragePool, the x.view(x.size(0), -1) flatten
(Shape -> Gather -> Unsqueeze -> Concat -> Reshape), Dropout (inference) and Gemm.
Opset 12, as many deployed exports are (Unsqueeze axes as an attribute, Dropout-12).
Widths are MobileNetV2's / 4 (at least 8), with fewer repeats."""
import numpy as np

from common import FLOAT, Graph, Spec, rand

# (expansion t, output channels c, repeats n, stride s) as in the paper, scaled down.
SETTINGS = [(1, 8, 1, 1), (6, 8, 2, 2), (6, 8, 2, 2), (6, 16, 2, 2), (6, 24, 1, 1), (6, 40, 2, 2),
            (6, 80, 1, 1)]


def relu6(g, x, scope):
    return g.op("Clip", [x, g.const(0.0, np.float32), g.const(6.0, np.float32)], scope)


def inverted_residual(g, x, cin, cout, stride, t, scope):
    hidden = cin * t
    y = x
    if t != 1:
        y = relu6(g, g.conv(y, cin, hidden, 1, f"{scope}/conv.0/conv.0.0"), scope)
    y = relu6(g, g.conv(y, hidden, hidden, 3, f"{scope}/conv.1/conv.1.0", stride=stride, group=hidden), scope)
    y = g.conv(y, hidden, cout, 1, f"{scope}/conv.2", gain=1.0)
    if stride == 1 and cin == cout:
        y = g.op("Add", [x, y], scope)
    return y


def build():
    g = Graph("mobilenet_v2_small", seed=2, opset=12)
    x = g.input("input", FLOAT, ["batch", 3, 96, 96])
    y = relu6(g, g.conv(x, 3, 8, 3, "/features/features.0/features.0.0", stride=2), "/features.0")
    cin, idx = 8, 1
    for t, c, n, s in SETTINGS:
        for i in range(n):
            y = inverted_residual(g, y, cin, c, s if i == 0 else 1, t, f"/features/features.{idx}")
            cin, idx = c, idx + 1
    y = relu6(g, g.conv(y, cin, 320, 1, f"/features/features.{idx}/features.{idx}.0"), "/features")
    y = g.op("GlobalAveragePool", [y], "")
    y = g.reshape_dyn(y, [g.dim(y, 0), -1], "")
    y = g.dropout(y, "/classifier/classifier.0", 0.2)
    y = g.gemm(y, 320, 100, "/classifier/classifier.1", out="output")
    g.output(y, FLOAT, ["batch", 100])
    return g.model()


MODELS = [Spec(
    name="mobilenet_v2_small", build=build,
    profile={"input": ((1, 3, 96, 96), (2, 3, 96, 96), (4, 3, 96, 96))},
    cases=[{"input": rand(11, (1, 3, 96, 96))}, {"input": rand(12, (3, 3, 96, 96))}],
    tol=1e-4,
    note="Conv with bias, depthwise Conv (group=C), Clip(0,6) as ReLU6, residual Add, "
         "GlobalAveragePool, Shape/Gather/Unsqueeze/Concat/Reshape flatten, Dropout, Gemm (opset 12)")]
