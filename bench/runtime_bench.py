#!/usr/bin/env python3
"""Runtime concurrency benchmarks in one go on the GPU machine: exports ResNet-50 and BERT-base
(random weights, nothing downloaded; torch, torchvision and transformers) to ONNX exactly as
bench/compare_pytorch.py does, then runs bench/runtime_bench.cpp (kiln_runtime_bench) on them:
multi-stream pipeline (the seed's three conv + ReLU scenarios, 1 stream vs 2 and 4), CUDA graph
vs plain enqueue (launch-bound network, ResNet-50 and BERT-base at batch 1), thread scaling
(1/2/4/8 threads with their own contexts). Writes the markdown tables to --out.

    python3 bench/runtime_bench.py --bench build/bin/kiln_runtime_bench --out runtime-bench.md

Without PyTorch the ONNX models are left out (the other measurements still run).
"""
import argparse
import os
import subprocess
import sys
import tempfile


def export_models(work, bert_seq):
    """ResNet-50 and BERT-base with random weights, exported as in the PyTorch comparison."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torch
    import torch_models

    torch.manual_seed(0)
    paths = {}
    try:
        path = os.path.join(work, "resnet50.onnx")
        torch_models.export_vision(torch_models.resnet50(), path)
        paths["resnet50"] = path
    except Exception as e:  # noqa: BLE001 - report and go on without the model
        print(f"ResNet-50 export failed: {e}", file=sys.stderr)
    try:
        path = os.path.join(work, "bert.onnx")
        torch_models.export_bert(torch_models.bert_base(), path)
        paths["bert"] = path
    except Exception as e:  # noqa: BLE001
        print(f"BERT-base export failed: {e}", file=sys.stderr)
    return paths


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True, help="path to kiln_runtime_bench")
    ap.add_argument("--out", default="runtime-bench.md")
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--bert-seq", type=int, default=128)
    ap.add_argument("--only", default="", help="multistream,graphs,threads (default all)")
    a = ap.parse_args()
    work = tempfile.mkdtemp()
    try:
        paths = export_models(work, a.bert_seq)
    except ImportError as e:
        print(f"no PyTorch ({e}): running without the ONNX models", file=sys.stderr)
        paths = {}
    cmd = [a.bench, "--iterations", str(a.iterations), "--fp16", "--bert-seq", str(a.bert_seq)]
    if "resnet50" in paths:
        cmd += ["--resnet50", paths["resnet50"]]
    if "bert" in paths:
        cmd += ["--bert", paths["bert"]]
    if a.only:
        cmd += ["--only", a.only]
    print(" ".join(cmd), flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.strip()
    with open(a.out, "w") as f:
        f.write(f"GPU: {gpu or 'unknown'}; command: {' '.join(os.path.basename(c) for c in cmd)}\n")
        f.write(r.stdout)
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
