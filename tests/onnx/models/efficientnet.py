"""EfficientNet-B0-shaped, opset 13: MBConv blocks with SiLU (Sigmoid + Mul), 3x3 and 5x5
depthwise convolutions, squeeze-and-excitation (pool -> 1x1 Conv -> SiLU -> 1x1 Conv -> Sigmoid
-> Mul), residual Add, head Conv + SiLU, GlobalAveragePool, Flatten, Dropout, Gemm.
The export forms of both common sources appear: torchvision's (folded BatchNormalization,
GlobalAveragePool in SE, symmetric pads) and TensorFlow-converted ones (an explicit asymmetric
Pad before a stride-2 depthwise Conv, auto_pad=SAME_UPPER, SE pooling by ReduceMean over H, W,
unfolded BatchNormalization). Channels are B0's / 4 (at least 8), with fewer repeats."""
import numpy as np

from common import FLOAT, Graph, Spec, rand

# (expansion, kernel, stride, output channels, repeats), B0's stages scaled down.
STAGES = [(1, 3, 1, 8, 1), (6, 3, 2, 8, 2), (6, 5, 2, 10, 2), (6, 3, 2, 20, 2), (6, 5, 1, 28, 1),
          (6, 5, 2, 48, 2), (6, 3, 1, 80, 1)]


def mbconv(g, x, cin, cout, k, stride, t, scope, tf_style):
    hidden = cin * t
    y = x
    if t != 1:
        y = g.conv(y, cin, hidden, 1, f"{scope}/expand", bias=not tf_style)
        if tf_style:
            y = g.batchnorm(y, hidden, f"{scope}/expand_bn")
        y = g.silu(y, scope)
    if tf_style and stride == 2 and k == 5:
        # TensorFlow's SAME padding for stride 2 on an even size: 1 before, 2 after.
        pads = g.const([0, 0, 1, 1, 0, 0, 2, 2])
        y = g.op("Pad", [y, pads, g.const(0.0, np.float32)], scope, mode="constant")
        y = g.conv(y, hidden, hidden, k, f"{scope}/dw", stride=stride, pad=0, group=hidden)
    elif tf_style and stride == 2:
        y = g.conv(y, hidden, hidden, k, f"{scope}/dw", stride=stride, group=hidden, auto_pad="SAME_UPPER")
    else:
        y = g.conv(y, hidden, hidden, k, f"{scope}/dw", stride=stride, group=hidden)
    y = g.silu(y, scope)
    # Squeeze-and-excitation on the block's input channels / 4.
    se = max(1, cin // 4)
    if tf_style:
        s = g.op("ReduceMean", [y], f"{scope}/se", axes=[2, 3], keepdims=1)
    else:
        s = g.op("GlobalAveragePool", [y], f"{scope}/se")
    s = g.silu(g.conv(s, hidden, se, 1, f"{scope}/se/fc1", pad=0), f"{scope}/se")
    s = g.op("Sigmoid", [g.conv(s, se, hidden, 1, f"{scope}/se/fc2", pad=0)], f"{scope}/se")
    y = g.op("Mul", [s, y], scope)
    y = g.conv(y, hidden, cout, 1, f"{scope}/project", gain=1.0, bias=not tf_style)
    if tf_style:
        y = g.batchnorm(y, cout, f"{scope}/project_bn")
    if stride == 1 and cin == cout:
        y = g.op("Add", [y, x], scope)  # stochastic depth is the identity at inference
    return y


def build():
    g = Graph("efficientnet_b0_small", seed=3, opset=13)
    g.conv_gain = 4.0  # SiLU and SE gates shrink activations; this keeps the input's signal alive
    x = g.input("images", FLOAT, ["N", 3, 96, 96])
    y = g.silu(g.conv(x, 3, 8, 3, "/features.0", stride=2), "/features.0")
    cin, n = 8, 0
    for t, k, s, c, r in STAGES:
        for i in range(r):
            y = mbconv(g, y, cin, c, k, s if i == 0 else 1, t, f"/features.{n + 1}", tf_style=n % 2 == 1)
            cin, n = c, n + 1
    y = g.silu(g.conv(y, cin, 320, 1, "/features.head", pad=0), "/features.head")
    y = g.op("GlobalAveragePool", [y], "/avgpool")
    y = g.op("Flatten", [y], "", axis=1)
    y = g.dropout(y, "/classifier.0", 0.2)
    y = g.gemm(y, 320, 100, "/classifier.1", out="logits")
    g.output(y, FLOAT, ["N", 100])
    return g.model()


MODELS = [Spec(
    name="efficientnet_b0_small", build=build,
    profile={"images": ((1, 3, 96, 96), (2, 3, 96, 96), (4, 3, 96, 96))},
    cases=[{"images": rand(21, (1, 3, 96, 96))}, {"images": rand(22, (4, 3, 96, 96))}],
    tol=1e-4,
    note="SiLU (Sigmoid*x), depthwise 3x3/5x5 Conv, squeeze-excite (GlobalAveragePool and "
         "ReduceMean forms), Pad + Conv and auto_pad SAME_UPPER, BatchNormalization, Flatten, "
         "Dropout, Gemm (opset 13)")]
