"""ResNet-50-shaped: 7x7/2 stem + BatchNormalization + Relu + MaxPool, four stages of bottleneck
blocks (1x1, 3x3 with stride, 1x1 x4 expansion; projection shortcut with Conv + BN on the first
block), GlobalAveragePool, Flatten, Gemm. BatchNormalization stays unfolded (as in exports with
constant folding off and in many converted models). Widths are ResNet-50's / 16."""
from common import FLOAT, Graph, Spec, rand


def bottleneck(g, x, cin, planes, stride, scope):
    out = g.conv(x, cin, planes, 1, f"{scope}/conv1", bias=False)
    out = g.op("Relu", [g.batchnorm(out, planes, f"{scope}/bn1")], scope)
    out = g.conv(out, planes, planes, 3, f"{scope}/conv2", stride=stride, bias=False)
    out = g.op("Relu", [g.batchnorm(out, planes, f"{scope}/bn2")], scope)
    out = g.conv(out, planes, planes * 4, 1, f"{scope}/conv3", bias=False)
    out = g.batchnorm(out, planes * 4, f"{scope}/bn3")
    if stride != 1 or cin != planes * 4:
        sc = g.conv(x, cin, planes * 4, 1, f"{scope}/downsample.0", stride=stride, bias=False)
        x = g.batchnorm(sc, planes * 4, f"{scope}/downsample.1")
    return g.op("Relu", [g.op("Add", [out, x], scope)], scope)


def build():
    g = Graph("resnet50_small", seed=50, opset=17)
    x = g.input("x", FLOAT, ["N", 3, 64, 64])
    y = g.conv(x, 3, 4, 7, "/conv1", stride=2, pad=3, bias=False)
    y = g.op("Relu", [g.batchnorm(y, 4, "/bn1")], "")
    y = g.op("MaxPool", [y], "/maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 4
    for i, (planes, blocks, stride) in enumerate([(4, 2, 1), (8, 2, 2), (16, 2, 2), (32, 1, 2)]):
        for b in range(blocks):
            y = bottleneck(g, y, cin, planes, stride if b == 0 else 1, f"/layer{i + 1}/layer{i + 1}.{b}")
            cin = planes * 4
    y = g.op("GlobalAveragePool", [y], "/avgpool")
    y = g.op("Flatten", [y], "", axis=1)
    y = g.gemm(y, cin, 100, "/fc", out="logits")
    g.output(y, FLOAT, ["N", 100])
    return g.model()


MODELS = [Spec(
    name="resnet50_small", build=build,
    profile={"x": ((1, 3, 64, 64), (2, 3, 64, 64), (4, 3, 64, 64))},
    cases=[{"x": rand(1, (1, 3, 64, 64))}, {"x": rand(2, (3, 3, 64, 64))}],
    tol=1e-4,
    note="Conv 7x7/3x3/1x1 strided, BatchNormalization, Relu, MaxPool, residual Add, "
         "GlobalAveragePool, Flatten, Gemm")]
