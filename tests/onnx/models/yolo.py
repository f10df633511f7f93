"""YOLO-style detector, opset 19 and (yolo_opset12) opset 12, dynamic batch, height and width (multiples of 16):
Conv + SiLU (folded BatchNormalization), YOLOv8's C2f blocks (1x1 Conv -> Split in two ->
bottlenecks with residual Add -> Concat -> 1x1 Conv), SPPF (three MaxPool 5x5 stride 1 ->
Concat), an FPN/PAN neck with Resize nearest x2 by scales (nn.Upsample: asymmetric, floor) and
a strided Conv down path, a YOLOv5-style anchor head per scale (Conv -> Reshape to
(n, anchors, outputs, h, w) -> Transpose -> Sigmoid -> Split into xy / wh / scores -> grid
decode with a grid built from Range over the feature's height and width -> Concat ->
Reshape (n, -1, outputs)), the scales concatenated; and a mask-prototype branch that resizes to
the size of the stem's feature map (F.interpolate(size=...) bilinear: Resize linear,
pytorch_half_pixel, sizes from Shape / Slice / Concat)."""
import numpy as np

from common import FLOAT, Graph, Spec, rand

NA, NC = 3, 3
NO = 5 + NC
ANCHORS = {8: [(10, 13), (16, 30), (33, 23)], 16: [(30, 61), (62, 45), (59, 119)]}


def cbs(g, x, cin, cout, k, scope, stride=1):
    return g.silu(g.conv(x, cin, cout, k, f"{scope}/conv", stride=stride), scope)


def c2f(g, x, cin, cout, n, scope, shortcut=True):
    c = cout // 2
    y = cbs(g, x, cin, 2 * c, 1, f"{scope}/cv1")
    parts = list(g.split(y, [c, c], 1, scope))
    for i in range(n):
        b = cbs(g, cbs(g, parts[-1], c, c, 3, f"{scope}/m.{i}/cv1"), c, c, 3, f"{scope}/m.{i}/cv2")
        parts.append(g.op("Add", [parts[-1], b], f"{scope}/m.{i}") if shortcut else b)
    return cbs(g, g.op("Concat", parts, scope, axis=1), (2 + n) * c, cout, 1, f"{scope}/cv2")


def sppf(g, x, c, scope):
    h = c // 2
    y = [cbs(g, x, c, h, 1, f"{scope}/cv1")]
    for _ in range(3):
        y.append(g.op("MaxPool", [y[-1]], f"{scope}/m", kernel_shape=[5, 5], strides=[1, 1], pads=[2, 2, 2, 2]))
    return cbs(g, g.op("Concat", y, scope, axis=1), 4 * h, c, 1, f"{scope}/cv2")


def detect(g, x, cin, stride, n, scope):
    y = g.conv(x, cin, NA * NO, 1, f"{scope}/conv", pad=0, gain=1.0)
    h, w = g.dim(y, 2, scope), g.dim(y, 3, scope)
    y = g.reshape_dyn(y, [n, NA, NO, h, w], scope)
    y = g.op("Sigmoid", [g.op("Transpose", [y], scope, perm=[0, 1, 3, 4, 2])], scope)
    xy, wh, conf = g.split(y, [2, 2, NO - 4], 4, scope)
    # _make_grid: arange over w and h, meshgrid(indexing="ij"), stack -> (1, 1, h, w, 2) - 0.5
    def axis_range(d, shape):
        hi = g.op("Cast", [g.squeeze(d, [0], scope)], scope, to=FLOAT)
        r = g.op("Range", [g.const(0.0, np.float32), hi, g.const(1.0, np.float32)], scope)
        return g.op("Expand", [g.reshape_dyn(r, shape, scope), g.op("Concat", [g.const([1, 1]), h, w, g.const([1])],
                                                                       scope, axis=0)], scope)
    gx = axis_range(w, [1, 1, 1, -1, 1])
    gy = axis_range(h, [1, 1, -1, 1, 1])
    grid = g.op("Sub", [g.op("Concat", [gx, gy], scope, axis=4), g.const(0.5, np.float32)], scope)
    xy = g.op("Mul", [g.op("Add", [g.op("Mul", [xy, g.const(2.0, np.float32)], scope), grid], scope),
                      g.const(float(stride), np.float32)], scope)
    anchor = g.init(np.array(ANCHORS[stride], np.float32).reshape(1, NA, 1, 1, 2), f"{scope}.anchor_grid")
    wh = g.op("Mul", [g.op("Pow", [g.op("Mul", [wh, g.const(2.0, np.float32)], scope), g.const(2.0, np.float32)],
                           scope), anchor], scope)
    y = g.op("Concat", [xy, wh, conf], scope, axis=4)
    return g.reshape_dyn(y, [n, -1, NO], scope)


def build(opset):
    g = Graph("yolo_small" if opset >= 13 else f"yolo_opset{opset}", seed=8, opset=opset)
    g.conv_gain = 3.0  # SiLU passes less energy than ReLU; keeps the input's signal alive
    x = g.input("images", FLOAT, ["batch", 3, "height", "width"])
    n = g.dim(x, 0)
    stem = cbs(g, x, 3, 8, 3, "/model.0", stride=2)                        # /2
    p2 = c2f(g, cbs(g, stem, 8, 16, 3, "/model.1", stride=2), 16, 16, 1, "/model.2")   # /4
    p3 = c2f(g, cbs(g, p2, 16, 32, 3, "/model.3", stride=2), 32, 32, 1, "/model.4")    # /8
    p4 = c2f(g, cbs(g, p3, 32, 64, 3, "/model.5", stride=2), 64, 64, 1, "/model.6")    # /16
    p4 = sppf(g, p4, 64, "/model.7")
    # Before opset 13 the unused roi (and scales) inputs are empty constants, not empty names.
    empty = "" if opset >= 13 else g.const([], np.float32)
    up = g.op("Resize", [p4, empty, g.const([1.0, 1.0, 2.0, 2.0], np.float32)], "/model.8", mode="nearest",
              coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    n3 = c2f(g, g.op("Concat", [up, p3], "/model.9", axis=1), 96, 32, 1, "/model.10", shortcut=False)
    down = cbs(g, n3, 32, 32, 3, "/model.11", stride=2)
    n4 = c2f(g, g.op("Concat", [down, p4], "/model.12", axis=1), 96, 64, 1, "/model.13", shortcut=False)
    det = g.op("Concat", [detect(g, n3, 32, 8, n, "/model.14/m.0"), detect(g, n4, 64, 16, n, "/model.14/m.1")],
               "/model.14", axis=1, out="detections")
    # Prototype masks at the stem's resolution: F.interpolate(n3, size=stem.shape[2:], mode="bilinear")
    size = g.op("Concat", [g.op("Slice", [g.op("Shape", [n3], "/proto"), g.const([0]), g.const([2])], "/proto"),
                           g.op("Slice", [g.op("Shape", [stem], "/proto"), g.const([2]), g.const([4])], "/proto")],
                "/proto", axis=0)
    proto = g.op("Resize", [n3, empty, empty, size], "/proto", mode="linear",
                 coordinate_transformation_mode="pytorch_half_pixel" if opset >= 13 else "half_pixel")
    proto = g.op("Sigmoid", [g.conv(cbs(g, proto, 32, 16, 3, "/proto/cv1"), 16, 8, 1, "/proto/cv2", pad=0)],
                 "/proto", out="protos")
    g.output(det, FLOAT, ["batch", "anchors", NO])
    g.output(proto, FLOAT, ["batch", 8, "h2", "w2"])
    return g.model()


MODELS = [Spec(
    name=name, build=lambda opset=opset: build(opset),
    profile={"images": ((1, 3, 64, 64), (2, 3, 96, 96), (4, 3, 128, 128))},
    cases=[{"images": rand(61, (1, 3, 64, 64))}, {"images": rand(62, (2, 3, 96, 128))}],
    tol=1e-4, scale_axis={"detections": -1},
    note=note) for name, opset, note in [
        ("yolo_small", 19,
         "Conv+SiLU, Split/Concat C2f, SPPF MaxPool, Resize nearest (scales) and linear pytorch_half_pixel "
         "(sizes from Shape/Slice/Concat), Reshape/Transpose/Sigmoid/Split head, float Range grid, Pow, "
         "Concat of scales (opset 19)"),
        ("yolo_opset12", 12,
         "the same network in opset 12's forms: Split/Squeeze/Unsqueeze axes attributes, Resize with "
         "empty roi/scales constants, linear half_pixel")]]
