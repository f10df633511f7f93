"""The PyTorch models of kiln's GPU model tests and benchmarks, with random weights (nothing is
downloaded), and their ONNX export with dynamic batch (and sequence length).

Exports use example inputs whose dynamic dims are not 1: torch.export specializes a dim whose
example value is 1 (its 0/1 specialization), which would make a "dynamic" batch fixed at 1.
"""
import torch


class FirstOutput(torch.nn.Module):
    """Returns only the first output (BertModel also returns the pooled output)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args):
        return self.model(*args)[0]


def export(model, args, path, input_names, dynamic_axes, opset=17):
    """Exports with the TorchScript exporter where it works, else torch.export's."""
    kwargs = dict(input_names=input_names, output_names=["out"], dynamic_axes=dynamic_axes,
                  opset_version=opset)
    try:
        torch.onnx.export(model, args, path, dynamo=False, **kwargs)
    except TypeError:  # older torch without the dynamo argument
        torch.onnx.export(model, args, path, **kwargs)


def resnet50():
    import torchvision
    return torchvision.models.resnet50(weights=None).eval()


def mobilenet_v2():
    import torchvision
    return torchvision.models.mobilenet_v2(weights=None).eval()


def export_vision(model, path):
    export(model, (torch.randn(2, 3, 224, 224),), path, ["x"], {"x": {0: "N"}, "out": {0: "N"}})


def bert_base():
    """BERT-base (12 layers, hidden 768) returning the last hidden state."""
    import transformers
    return FirstOutput(transformers.BertModel(transformers.BertConfig()).eval()).eval()


def export_bert(model, path, seq=16):
    ids = torch.randint(0, 1000, (2, seq), dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[:, seq - seq // 4:] = 0
    dyn = {"input_ids": {0: "N", 1: "S"}, "attention_mask": {0: "N", 1: "S"}, "out": {0: "N", 1: "S"}}
    export(model, (ids, mask), path, ["input_ids", "attention_mask"], dyn)
