#!/usr/bin/env python3
"""Writes a BERT-base-sized ONNX encoder without torch: hidden 768, 12 layers, 12 heads, FFN 3072,
vocabulary 30522, 512 positions (110M parameters, 440 MB of float32 weights), seeded random
weights. The graph is tests/onnx/models/bert.py's `bert_legacy` (the TorchScript export form of
Hugging Face's BertModel: decomposed layer norm, Erf GELU, Shape/Gather/Concat head splits,
pooler) at BERT-base sizes. Needs numpy and onnx (the .venv of scripts/install-deps.sh).

    python3 bench/bert_base_onnx.py OUT.onnx [--layers 12]

Inputs: input_ids, attention_mask, token_type_ids, each int64 [batch, sequence]."""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "onnx", "models"))

import numpy as np  # noqa: E402
import onnx  # noqa: E402

import bert  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=12)
    a = ap.parse_args()
    # The generator reads its sizes from module globals.
    bert.D, bert.HEADS, bert.FF, bert.LAYERS = 768, 12, 3072, a.layers
    bert.VOCAB, bert.MAX_POS = 30522, 512
    bert.DH = bert.D // bert.HEADS
    model = bert.build_legacy(name="bert_base_sized")
    onnx.save(model, a.out)
    params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    print(f"{a.out}: {params / 1e6:.1f}M parameters, {os.path.getsize(a.out) / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
