"""Helpers for the model generators: a small graph builder over onnx.helper with seeded weights.

Each generator module defines `MODELS`, a list of `Spec`s. A spec says how to build the model
(a function returning an onnx.ModelProto), the optimization profile for kiln (min/opt/max per
input), the input sets to compare (at least two shapes), and the tolerance (see `Spec`).
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Tuple

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# The IR version each opset needs (onnx.helper.VERSION_TABLE): opset 11 -> IR 6, 12-14 -> 7,
# 15-18 -> 8, 19/20 -> 9, 21 -> 10. Using the lowest valid IR keeps the files readable by older
# runtimes, as exporters do.
_IR_FOR_OPSET = {11: 6, 12: 7, 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10}

FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64
INT32 = TensorProto.INT32
BOOL = TensorProto.BOOL


@dataclass
class Spec:
    """One model test.

    name     -- model name (file <name>.onnx in the work directory)
    build    -- () -> onnx.ModelProto
    profile  -- {input: (min, opt, max)} shapes for `kiln build --profile`
    cases    -- list of {input: np.ndarray}; each is run through ONNX Runtime and kiln
    tol      -- float outputs: max |kiln - ort| / max(|ort|) must not exceed it (per output);
                integer and bool outputs must match exactly
    scale_axis -- {output: axis}: for that output, max(|ort|) is taken per index of the axis
                (for fields of different scales in one tensor, like a detector's boxes and scores)
    note     -- what the model covers (printed in the summary)
    """
    name: str
    build: Callable[[], onnx.ModelProto]
    profile: Dict[str, Tuple[Tuple[int, ...], Tuple[int, ...], Tuple[int, ...]]]
    cases: List[Dict[str, np.ndarray]]
    tol: float
    scale_axis: Dict[str, int] = field(default_factory=dict)
    note: str = ""


class Graph:
    """Collects nodes, initializers and I/O; names tensors like PyTorch's exporter does
    (`/<scope>/<Op>_output_0`) so the models read like real exports."""

    def __init__(self, name: str, seed: int, opset: int = 17):
        self.name = name
        self.opset = opset
        self.rng = np.random.RandomState(seed)
        self.nodes: List[onnx.NodeProto] = []
        self.inits: List[onnx.TensorProto] = []
        self.inputs: List[onnx.ValueInfoProto] = []
        self.outputs: List[onnx.ValueInfoProto] = []
        self._counts: Dict[str, int] = {}
        self._const_cache: Dict[Tuple, str] = {}
        # Variance gain of convolution weights: 2 (He) keeps ReLU nets' activations O(1); SiLU
        # nets need more (SiLU passes less of a unit Gaussian's energy than ReLU does).
        self.conv_gain = 2.0

    # ---- naming ----
    def _unique(self, base: str) -> str:
        n = self._counts.get(base, 0)
        self._counts[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    # ---- I/O ----
    def input(self, name: str, elem_type: int, shape) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, list(shape)))
        return name

    def output(self, tensor: str, elem_type: int, shape) -> str:
        self.outputs.append(helper.make_tensor_value_info(tensor, elem_type, list(shape)))
        return tensor

    # ---- constants and weights ----
    def init(self, array: np.ndarray, name: str = None) -> str:
        name = self._unique(name or "onnx::Initializer")
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def weight(self, shape, fan_in: int = None, name: str = None, gain: float = 1.0) -> str:
        """Random normal weight with variance gain/fan_in (keeps activations O(1))."""
        fan_in = fan_in or int(np.prod(shape[1:])) or 1
        w = self.rng.standard_normal(shape) * np.sqrt(gain / fan_in)
        return self.init(w.astype(np.float32), name)

    def uniform(self, shape, lo: float, hi: float, name: str = None) -> str:
        return self.init(self.rng.uniform(lo, hi, shape).astype(np.float32), name)

    def const(self, value, dtype=np.int64, name: str = None) -> str:
        """A Constant node (how exporters write small values), cached by value."""
        arr = np.array(value, dtype=dtype)
        key = (arr.dtype.str, arr.shape, arr.tobytes(), name)
        if key in self._const_cache:
            return self._const_cache[key]
        out = self._unique((name or "/Constant") + "_output_0")
        self.nodes.append(helper.make_node("Constant", [], [out], name=self._unique(name or "/Constant"),
                                           value=numpy_helper.from_array(arr)))
        self._const_cache[key] = out
        return out

    # ---- nodes ----
    def op(self, op_type: str, inputs, scope: str = "", outputs: int = 1, out: str = None, **attrs):
        """Adds a node; returns its output name (or names). `out` names a single output."""
        base = f"{scope}/{op_type}"
        node_name = self._unique(base)
        outs = [out] if out else [f"{node_name}_output_{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=node_name, **attrs))
        return outs[0] if outputs == 1 else outs

    # ---- ops whose axes moved from attributes to inputs (opset 13 / 18) ----
    def unsqueeze(self, x: str, axes, scope: str = "", **kw) -> str:
        if self.opset >= 13:
            return self.op("Unsqueeze", [x, self.const(list(axes))], scope, **kw)
        return self.op("Unsqueeze", [x], scope, axes=list(axes), **kw)

    def squeeze(self, x: str, axes, scope: str = "", **kw) -> str:
        if self.opset >= 13:
            return self.op("Squeeze", [x, self.const(list(axes))], scope, **kw)
        return self.op("Squeeze", [x], scope, axes=list(axes), **kw)

    def split(self, x: str, sizes, axis: int, scope: str = ""):
        if self.opset >= 13:
            return self.op("Split", [x, self.const(list(sizes))], scope, outputs=len(sizes), axis=axis)
        return self.op("Split", [x], scope, outputs=len(sizes), axis=axis, split=list(sizes))

    def reduce_mean(self, x: str, axes, scope: str = "", keepdims: int = 1) -> str:
        if self.opset >= 18:
            return self.op("ReduceMean", [x, self.const(list(axes))], scope, keepdims=keepdims)
        return self.op("ReduceMean", [x], scope, axes=list(axes), keepdims=keepdims)

    # ---- common export patterns ----
    def dim(self, x: str, axis: int, scope: str = "") -> str:
        """Shape -> Gather(axis) -> Unsqueeze: a 1-element int64 tensor holding x.shape[axis]."""
        s = self.op("Shape", [x], scope)
        g = self.op("Gather", [s, self.const(axis)], scope, axis=0)
        return self.unsqueeze(g, [0], scope)

    def reshape_dyn(self, x: str, parts, scope: str = "") -> str:
        """Reshape to Concat(parts): parts are 1-element int64 tensors (from `dim`) or ints,
        the Shape->Gather->Unsqueeze->Concat->Reshape chain of PyTorch's view()."""
        names = [p if isinstance(p, str) else self.const([p]) for p in parts]
        shape = self.op("Concat", names, scope, axis=0)
        return self.op("Reshape", [x, shape], scope)

    def linear(self, x: str, din: int, dout: int, scope: str, bias: bool = True) -> str:
        """nn.Linear as exported for 3-D inputs: MatMul with a transposed weight, then Add."""
        w = self.weight((din, dout), fan_in=din, name=f"onnx::MatMul{scope}")
        y = self.op("MatMul", [x, w], scope)
        if bias:
            y = self.op("Add", [self.uniform((dout,), -0.1, 0.1, name=f"{scope}.bias"), y], scope)
        return y

    def gemm(self, x: str, din: int, dout: int, scope: str, out: str = None) -> str:
        """nn.Linear on a 2-D input: Gemm with transB=1 (PyTorch's form)."""
        w = self.weight((dout, din), fan_in=din, name=f"{scope}.weight")
        b = self.uniform((dout,), -0.1, 0.1, name=f"{scope}.bias")
        return self.op("Gemm", [x, w, b], scope, out=out, alpha=1.0, beta=1.0, transB=1)

    def conv(self, x: str, cin: int, cout: int, k: int, scope: str, stride: int = 1, pad=None,
             group: int = 1, bias: bool = True, gain: float = None, **attrs) -> str:
        p = k // 2 if pad is None else pad
        w = self.weight((cout, cin // group, k, k), name=f"{scope}.weight", gain=gain or self.conv_gain)
        ins = [x, w]
        if bias:
            ins.append(self.uniform((cout,), -0.1, 0.1, name=f"{scope}.bias"))
        if "auto_pad" not in attrs:
            attrs["pads"] = [p, p, p, p] if isinstance(p, int) else list(p)
        return self.op("Conv", ins, scope, kernel_shape=[k, k], strides=[stride, stride],
                       group=group, dilations=[1, 1], **attrs)

    def batchnorm(self, x: str, c: int, scope: str) -> str:
        """BatchNormalization with random running statistics (as in unfolded exports)."""
        ins = [x, self.uniform((c,), 0.5, 1.5, name=f"{scope}.weight"),
               self.uniform((c,), -0.2, 0.2, name=f"{scope}.bias"),
               self.uniform((c,), -0.2, 0.2, name=f"{scope}.running_mean"),
               self.uniform((c,), 0.5, 2.0, name=f"{scope}.running_var")]
        return self.op("BatchNormalization", ins, scope, epsilon=1e-5, momentum=0.9)

    def dropout(self, x: str, scope: str, ratio: float = 0.1) -> str:
        """Dropout kept by the export (inference: an identity); ratio is an input from opset 12."""
        if self.opset >= 12:
            return self.op("Dropout", [x, self.const(ratio, np.float32), self.const(False, np.bool_)], scope)
        return self.op("Dropout", [x], scope, ratio=ratio)

    def silu(self, x: str, scope: str) -> str:
        """SiLU as PyTorch exports it (no ONNX op): x * Sigmoid(x)."""
        return self.op("Mul", [x, self.op("Sigmoid", [x], scope)], scope)

    def layernorm(self, x: str, d: int, scope: str, fused: bool, eps: float = 1e-12) -> str:
        gamma = self.uniform((d,), 0.8, 1.2, name=f"{scope}.weight")
        beta = self.uniform((d,), -0.1, 0.1, name=f"{scope}.bias")
        if fused:
            return self.op("LayerNormalization", [x, gamma, beta], scope, axis=-1, epsilon=eps)
        # The opset < 17 export: ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add.
        mean = self.reduce_mean(x, [-1], scope)
        d0 = self.op("Sub", [x, mean], scope)
        sq = self.op("Pow", [d0, self.const(2.0, np.float32)], scope)
        var = self.reduce_mean(sq, [-1], scope)
        std = self.op("Sqrt", [self.op("Add", [var, self.const(eps, np.float32)], scope)], scope)
        y = self.op("Div", [d0, std], scope)
        return self.op("Add", [self.op("Mul", [y, gamma], scope), beta], scope)

    def gelu_erf(self, x: str, scope: str) -> str:
        """x * 0.5 * (1 + erf(x / sqrt(2))), as nn.GELU() exports before opset 20."""
        e = self.op("Erf", [self.op("Div", [x, self.const(1.4142135381698608, np.float32)], scope)], scope)
        a = self.op("Add", [e, self.const(1.0, np.float32)], scope)
        return self.op("Mul", [self.op("Mul", [x, a], scope), self.const(0.5, np.float32)], scope)

    def gelu_tanh(self, x: str, scope: str) -> str:
        """0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))), GPT-2's / HF 'gelu_new'."""
        cube = self.op("Pow", [x, self.const(3.0, np.float32)], scope)
        inner = self.op("Add", [x, self.op("Mul", [cube, self.const(0.044715, np.float32)], scope)], scope)
        t = self.op("Tanh", [self.op("Mul", [inner, self.const(0.7978845608028654, np.float32)], scope)], scope)
        half = self.op("Mul", [x, self.const(0.5, np.float32)], scope)
        return self.op("Mul", [half, self.op("Add", [t, self.const(1.0, np.float32)], scope)], scope)

    # ---- finish ----
    def model(self) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                              producer_name="kiln-model-tests")
        m.ir_version = _IR_FOR_OPSET[self.opset]
        onnx.checker.check_model(m, full_check=True)
        return m


def rand(seed: int, shape, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    return np.random.RandomState(seed).uniform(lo, hi, shape).astype(np.float32)


def token_ids(seed: int, shape, vocab: int) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, vocab, shape).astype(np.int64)


def padding_mask(batch: int, seq: int) -> np.ndarray:
    """1 for tokens, 0 for padding: row b has its last (b + 1) * seq // 8 positions padded."""
    m = np.ones((batch, seq), np.int64)
    for b in range(batch):
        m[b, seq - (b + 1) * seq // 8:] = 0
    return m
