"""Image-to-image network (a small UNet / super-resolution / style-transfer mix), opset 21,
dynamic batch, height and width (multiples of 8):
Pad reflect -> Conv (padding 0); torch.nn.GroupNorm as PyTorch exports it before opset 21
(Reshape to (n, groups, -1) -> InstanceNormalization -> Reshape(Shape(x)) -> Mul -> Add);
SpaceToDepth; the GroupNormalization op (opset 21, per-channel scale); strided Conv +
InstanceNormalization (style transfer); ConvTranspose (kernel 4, stride 2, pads 1) and
ConvTranspose with output_padding; Resize nearest with the default half_pixel /
round_prefer_floor; a DepthToSpace DCR skip; Concat skip connections;
Clip with only a max; Resize linear x2 with align_corners; Pad edge; PixelShuffle as
DepthToSpace CRD."""
import numpy as np

from common import FLOAT, Graph, Spec, rand


def torch_group_norm(g, x, c, groups, scope):
    y = g.reshape_dyn(x, [0, groups, -1], scope)
    y = g.op("InstanceNormalization", [y, g.init(np.ones(groups, np.float32), f"{scope}.ones"),
                                       g.init(np.zeros(groups, np.float32), f"{scope}.zeros")], scope, epsilon=1e-5)
    y = g.op("Reshape", [y, g.op("Shape", [x], scope)], scope)
    y = g.op("Mul", [y, g.uniform((c, 1, 1), 0.5, 1.5, name=f"{scope}.weight")], scope)
    return g.op("Add", [y, g.uniform((c, 1, 1), -0.2, 0.2, name=f"{scope}.bias")], scope)


def conv_transpose(g, x, cin, cout, k, scope, stride, pad, output_padding=0):
    w = g.weight((cin, cout, k, k), fan_in=cin * k * k // (stride * stride), name=f"{scope}.weight", gain=2.0)
    b = g.uniform((cout,), -0.1, 0.1, name=f"{scope}.bias")
    attrs = dict(kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)
    if output_padding:
        attrs["output_padding"] = [output_padding, output_padding]
    return g.op("ConvTranspose", [x, w, b], scope, **attrs)


def build():
    g = Graph("unet_small", seed=21, opset=21)
    x = g.input("image", FLOAT, ["batch", 3, "height", "width"])
    y = g.op("Pad", [x, g.const([0, 0, 2, 2, 0, 0, 2, 2])], "/enc0", mode="reflect")
    y = g.conv(y, 3, 16, 5, "/enc0/conv", pad=0)
    e0 = g.silu(torch_group_norm(g, y, 16, 4, "/enc0/norm"), "/enc0")                 # 16 x H
    y = g.op("SpaceToDepth", [e0], "/down1", blocksize=2)                              # 64 x H/2
    y = g.conv(y, 64, 32, 3, "/down1/conv")
    y = g.op("GroupNormalization", [y, g.uniform((32,), 0.5, 1.5, name="/down1/gn.weight"),
                                    g.uniform((32,), -0.2, 0.2, name="/down1/gn.bias")], "/down1",
             num_groups=8, epsilon=1e-5)
    e1 = g.op("Relu", [y], "/down1")                                                   # 32 x H/2
    y = g.conv(e1, 32, 64, 3, "/down2/conv", stride=2)
    y = g.op("InstanceNormalization", [y, g.uniform((64,), 0.5, 1.5, name="/down2/in.weight"),
                                       g.uniform((64,), -0.2, 0.2, name="/down2/in.bias")], "/down2", epsilon=1e-5)
    e2 = g.op("Relu", [y], "/down2")                                                   # 64 x H/4
    bott = g.op("Relu", [g.conv(e2, 64, 64, 3, "/mid/conv")], "/mid")
    bott = g.op("Add", [bott, e2], "/mid")
    u1 = g.op("Relu", [conv_transpose(g, bott, 64, 32, 4, "/up1/deconv", 2, 1)], "/up1")           # 32 x H/2
    # A second upsampling path: Resize nearest with the defaults (half_pixel, round_prefer_floor).
    near = g.op("Resize", [g.conv(bott, 64, 32, 1, "/up1/side", pad=0, gain=1.0), "",
                           g.const([1.0, 1.0, 2.0, 2.0], np.float32)], "/up1", mode="nearest")
    u1 = g.op("Add", [u1, near], "/up1")
    u1 = g.op("Concat", [u1, e1], "/up1", axis=1)                                                  # 64 x H/2
    u1 = g.op("Clip", [g.conv(u1, 64, 32, 3, "/up1/conv"), "", g.const(4.0, np.float32)], "/up1")
    u2 = conv_transpose(g, u1, 32, 16, 3, "/up2/deconv", 2, 1, output_padding=1)                  # 16 x H
    skip = g.op("DepthToSpace", [e1], "/up2", blocksize=2, mode="DCR")                            # 8 x H
    u2 = g.op("Relu", [g.op("Concat", [u2, skip, e0], "/up2", axis=1)], "/up2")                 # 40 x H
    u2 = g.conv(u2, 40, 16, 3, "/up2/conv")
    big = g.op("Resize", [u2, "", g.const([1.0, 1.0, 2.0, 2.0], np.float32)], "/sr", mode="linear",
               coordinate_transformation_mode="align_corners")                                  # 16 x 2H
    big = g.op("Pad", [big, g.const([0, 0, 1, 1, 0, 0, 1, 1])], "/sr", mode="edge")
    big = g.conv(big, 16, 12, 3, "/sr/conv", pad=0, gain=1.0)
    out = g.op("DepthToSpace", [big], "/sr", blocksize=2, mode="CRD", out="upscaled")          # 3 x 4H
    g.output(out, FLOAT, ["batch", 3, "h4", "w4"])
    return g.model()


MODELS = [Spec(
    name="unet_small", build=build,
    profile={"image": ((1, 3, 16, 16), (2, 3, 32, 32), (3, 3, 48, 48))},
    cases=[{"image": rand(71, (1, 3, 16, 24))}, {"image": rand(72, (3, 3, 40, 32))}],
    tol=1e-4,
    note="Pad reflect/edge, Reshape/InstanceNormalization/Reshape/Mul/Add GroupNorm, "
         "GroupNormalization-21, SpaceToDepth, InstanceNormalization, ConvTranspose "
         "(pads, output_padding), DepthToSpace DCR and CRD, Clip(max only), Resize linear "
         "align_corners and nearest half_pixel/round_prefer_floor, Concat (opset 21)")]
