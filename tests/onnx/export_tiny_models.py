#!/usr/bin/env python3
"""Exports the tiny BERT test models of tests/data/onnx (see its README) into $OUT."""
import os, sys, torch, transformers, numpy as np
out = os.environ["OUT"]
torch.manual_seed(0)
cfg = transformers.BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                              intermediate_size=128, vocab_size=1000, max_position_embeddings=128)
model = transformers.BertModel(cfg).eval()
class Wrap(torch.nn.Module):
    def __init__(s, m): super().__init__(); s.m = m
    def forward(s, i, a): return s.m(i, a)[0]
w = Wrap(model).eval()
ids = torch.randint(0, 1000, (2, 16)); mask = torch.ones_like(ids); mask[:, 12:] = 0
dyn = {"input_ids": {0: "N", 1: "S"}, "attention_mask": {0: "N", 1: "S"}, "out": {0: "N", 1: "S"}}
for dynamo in (False, True):
    p = os.path.join(out, f"bert_tiny_{'dynamo' if dynamo else 'legacy'}.onnx")
    try:
        if dynamo:
            torch.onnx.export(w, (ids, mask), p, input_names=["input_ids", "attention_mask"],
                              output_names=["out"], dynamic_axes=dyn, opset_version=18, dynamo=True,
                              external_data=False)
        else:
            torch.onnx.export(w, (ids, mask), p, input_names=["input_ids", "attention_mask"],
                              output_names=["out"], dynamic_axes=dyn, opset_version=17, dynamo=False)
        print("exported", p, os.path.getsize(p))
    except Exception as e:
        print("export failed", dynamo, repr(e)[:300])
# reference outputs at two shapes
for (b, s) in ((2, 16), (3, 24)):
    rs = np.random.RandomState(b * 100 + s)
    i = rs.randint(0, 1000, (b, s)).astype(np.int64); a = np.ones((b, s), np.int64); a[:, s - s // 4:] = 0
    with torch.inference_mode():
        y = w(torch.from_numpy(i), torch.from_numpy(a)).numpy()
    np.save(os.path.join(out, f"bert_in_ids_{b}x{s}.npy"), i)
    np.save(os.path.join(out, f"bert_in_mask_{b}x{s}.npy"), a)
    np.save(os.path.join(out, f"bert_out_{b}x{s}.npy"), y)
