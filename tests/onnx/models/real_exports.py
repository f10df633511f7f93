"""Real exporter output: the tiny BERT encoders of tests/data/onnx, exported from Hugging Face's
BertModel by PyTorch's TorchScript exporter (opset 17) and its torch.export-based exporter
(opset 18) — see tests/data/onnx/README.md. Their attention masks use the forms of recent
transformers releases (GatherND / IsNaN / And / Max / GreaterOrEqual, Reshape allowzero=1).
Here they are compared with ONNX Runtime at shapes other than the stored PyTorch outputs'."""
import os

import onnx

from common import Spec, padding_mask, token_ids

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "onnx")


def case(b, s, seed):
    return {"input_ids": token_ids(seed, (b, s), 1000), "attention_mask": padding_mask(b, s)}


def spec(name, note):
    path = os.path.join(DATA, name + ".onnx")
    return Spec(name=name, build=lambda: onnx.load(path),
                profile={n: ((1, 4), (2, 16), (4, 64)) for n in ("input_ids", "attention_mask")},
                cases=[case(1, 7, 101), case(4, 64, 102)], tol=1e-4, note=note)


MODELS = [
    spec("bert_tiny_legacy", "PyTorch TorchScript exporter, opset 17"),
    spec("bert_tiny_dynamo", "PyTorch torch.export exporter, opset 18"),
]
