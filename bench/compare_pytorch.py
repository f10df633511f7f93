#!/usr/bin/env python3
"""kiln vs PyTorch on the same GPU, in one run: ResNet-50 FP16 (batch 1/32/128) and BERT-base
FP16 (seq 128, batch 1/32). Models get random weights (nothing is downloaded), are exported to
ONNX, built with `kiln build --onnx ... --backend cuda --fp16` and timed with `kiln run`;
PyTorch is timed eager and as CUDA-graph replay on the same inputs, and with --torch-compile
also compiled by torch.compile (mode "max-autotune-no-cudagraphs", static shapes; the compiled
module run directly and replayed in a CUDA graph captured the same way). Latency is the median
of timed runs, each run synchronized (host wall clock around launch + sync, both frameworks).

    python3 bench/compare_pytorch.py --kiln build-gpu/bin/kiln --out bench-results.md
    python3 bench/compare_pytorch.py --kiln build-gpu/bin/kiln --torch-compile   # + compile
"""
import argparse
import copy
import os
import re
import subprocess
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models  # noqa: E402


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def time_torch(fn, iterations, warmup):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1000)
    return median(times)


def torch_eager_and_graph(model, inputs, iterations, warmup):
    with torch.inference_mode():
        eager = time_torch(lambda: model(*inputs), iterations, warmup)
        static = [x.clone() for x in inputs]
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                model(*static)
        torch.cuda.current_stream().wait_stream(s)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            model(*static)
        replay = time_torch(graph.replay, iterations, warmup)
    return eager, replay


def torch_compiled(model, inputs, iterations, warmup):
    """(compiled ms, compiled graph-replay ms), or None with the reason printed: torch.compile
    needs Triton and a working compiler toolchain, which a machine may lack."""
    try:
        compiled = torch.compile(model, mode="max-autotune-no-cudagraphs", dynamic=False)
        with torch.inference_mode():
            compiled(*inputs)  # compiles (minutes for max-autotune)
        return torch_eager_and_graph(compiled, inputs, iterations, warmup)
    except Exception as e:  # noqa: BLE001 - any compile failure leaves the column empty
        print(f"torch.compile failed: {type(e).__name__}: {str(e)[:300]}", file=sys.stderr)
        return None


def kiln_time(kiln, onnx_path, profile_args, shape_args, iterations, warmup, workdir, tag,
              build_args=()):
    plan = os.path.join(workdir, tag + ".plan")
    build = [kiln, "build", "--onnx", onnx_path, "--backend", "cuda", "--fp16", "--save", plan]
    build += list(build_args)
    for p in profile_args:
        build += ["--profile", p]
    r = subprocess.run(build, capture_output=True, text=True)
    if r.returncode != 0:
        return None, "build failed: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    times = []
    for graph in (False, True):
        run = [kiln, "run", "--plan", plan, "--iterations", str(iterations), "--warmup", str(warmup),
               "--print", "0"] + (["--cuda-graph"] if graph else [])
        for s in shape_args:
            run += ["--shape", s]
        r = subprocess.run(run, capture_output=True, text=True)
        if r.returncode != 0:
            return None, "run failed: " + (r.stderr.strip().splitlines() or ["?"])[-1]
        m = re.search(r"median ([0-9.]+) ms", r.stdout)
        if not m:
            return None, "no latency in: " + r.stdout[-200:]
        times.append(float(m.group(1)))
    return times, ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--out", default="bench-results.md")
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--only", default="", help="resnet50 or bert to run one")
    ap.add_argument("--torch-compile", action="store_true",
                    help="also time torch.compile'd models (adds minutes of compilation per row)")
    ap.add_argument("--build-arg", action="append", default=[],
                    help="extra argument for `kiln build` (repeat), e.g. --build-arg=--layouts=nchw")
    a = ap.parse_args()
    torch.manual_seed(0)
    gpu = torch.cuda.get_device_name(0)
    rows = []
    work = tempfile.mkdtemp()

    if a.only in ("", "resnet50"):
        model = torch_models.resnet50()
        onnx_path = os.path.join(work, "resnet50.onnx")
        torch_models.export_vision(model, onnx_path)
        half = model.half().cuda()
        # PyTorch's fastest FP16 convolutions need channels_last (NHWC) tensors; time both forms.
        half_cl = copy.deepcopy(half).to(memory_format=torch.channels_last)
        for batch in (1, 32, 128):
            x = torch.randn(batch, 3, 224, 224, device="cuda", dtype=torch.half)
            eager, graph = torch_eager_and_graph(half, [x], a.iterations, a.warmup)
            x_cl = x.to(memory_format=torch.channels_last)
            eager_cl, graph_cl = torch_eager_and_graph(half_cl, [x_cl], a.iterations, a.warmup)
            eager, graph = (eager, eager_cl), (graph, graph_cl)
            comp = torch_compiled(half_cl, [x_cl], a.iterations, a.warmup) if a.torch_compile else None
            k, log = kiln_time(a.kiln, onnx_path,
                               [f"x:{batch}x3x224x224,{batch}x3x224x224,{batch}x3x224x224"],
                               [f"x:{batch}x3x224x224"], a.iterations, a.warmup, work, f"rn50_b{batch}",
                               a.build_arg)
            rows.append(("ResNet-50 FP16", batch, "-", k, eager, graph, comp, log))

    if a.only in ("", "bert"):
        model = torch_models.bert_base()
        vocab = model.model.config.vocab_size
        seq = 128
        onnx_path = os.path.join(work, "bert.onnx")
        torch_models.export_bert(model, onnx_path)
        half = model.half().cuda()
        for batch in (1, 32):
            ids = torch.randint(0, vocab, (batch, seq), device="cuda")
            mask = torch.ones(batch, seq, dtype=torch.long, device="cuda")
            eager, graph = torch_eager_and_graph(half, [ids, mask], a.iterations, a.warmup)
            eager, graph = (eager,), (graph,)
            comp = torch_compiled(half, [ids, mask], a.iterations, a.warmup) if a.torch_compile else None
            shape = f"{batch}x{seq}"
            k, log = kiln_time(a.kiln, onnx_path,
                               [f"input_ids:{shape},{shape},{shape}", f"attention_mask:{shape},{shape},{shape}"],
                               [f"input_ids:{shape}", f"attention_mask:{shape}"], a.iterations, a.warmup,
                               work, f"bert_b{batch}", a.build_arg)
            rows.append(("BERT-base FP16", batch, seq, k, eager, graph, comp, log))

    lines = [f"GPU: {gpu}; torch {torch.__version__}; median of {a.iterations} synchronized runs "
             f"after {a.warmup} warm-up runs; ratio = PyTorch time / kiln time (>1: kiln faster). "
             "kiln: plain enqueue per run; kiln graph: `kiln run --cuda-graph` (GraphRunner replay). "
             "PyTorch ResNet-50 runs twice, NCHW and channels_last (NHWC); the ratios use PyTorch's "
             "faster form (eager: best eager; graph: best CUDA-graph replay). "
             + ("torch.compile (max-autotune-no-cudagraphs; ResNet-50 channels_last) counts in the "
                "best eager (compiled, run directly) and best graph (compiled, CUDA-graph replay) "
                "columns when it ran." if a.torch_compile else "torch.compile not measured."), "",
             "| model | batch | seq | kiln ms | kiln graph ms | eager ms | eager CL ms | torch graph ms | "
             "torch graph CL ms | compiled ms | compiled graph ms | best eager/kiln | "
             "best torch graph/kiln graph |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def cell(xs, i):
        return f"{xs[i]:.3f}" if len(xs) > i else "-"

    for name, b, s, k, e, g, comp, err in rows:
        comp = comp or ()
        torch_cells = (f"{cell(e, 0)} | {cell(e, 1)} | {cell(g, 0)} | {cell(g, 1)} | "
                       f"{cell(comp, 0)} | {cell(comp, 1)}")
        best_eager = min(list(e) + list(comp[:1]))
        best_graph = min(list(g) + list(comp[1:2]))
        if k is None:
            lines.append(f"| {name} | {b} | {s} | — | — | {torch_cells} | — | — |")
            lines.append(f"|  | | | kiln: {err.strip()[:200]} | | | | | | | | | |")
        else:
            lines.append(f"| {name} | {b} | {s} | {k[0]:.3f} | {k[1]:.3f} | {torch_cells} | "
                         f"{best_eager / k[0]:.2f} | {best_graph / k[1]:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(a.out, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
