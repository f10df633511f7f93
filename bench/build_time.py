#!/usr/bin/env python3
"""Engine build time with a cold vs a warm timing cache, measured in one run.

For each model: `kiln build ... --timing-cache FILE` with no cache file (cold: every layer is
timed and the file is written), then the same command again (warm: every layer comes from the
file), each repeated --repeats times (a fresh cache file for every cold build). Printed: the
median build time that kiln reports (Builder::build_serialized_network: passes, tuning, memory
planning, plan serialization) and the median wall clock of the whole `kiln build` process
(process start with the CUDA libraries, model import, cache load and save, plan file write),
each with its ratio cold / warm. The warm plans must be byte-identical to the cold plan
(deterministic builds); the script fails otherwise.

GPU (the models of docs/performance.md; needs torch, torchvision, transformers — random
weights, nothing is downloaded; export code shared with bench/compare_pytorch.py):
    python3 bench/build_time.py --kiln build-gpu/bin/kiln --backend cuda --fp16
CPU (small models that ship with the repository; no torch needed):
    python3 bench/build_time.py --kiln build/bin/kiln --backend cpu
  plus a BERT-base-sized encoder (110M parameters; written by bench/bert_base_onnx.py, which needs
  numpy and onnx — the .venv of scripts/install-deps.sh; its cold build tunes for minutes):
    .venv/bin/python bench/build_time.py --kiln build/bin/kiln --backend cpu --bert-base

Each build runs with `--verbose --verbose`; the script also prints the median time of every
phase of the cold and the warm builds (the builder's and the CLI's "phases" log lines: device,
passes and each pass, tuning, memory plan, plan serialization, plan write, model import, cache
load/save, plan file write), which says where a warm build's time goes. (The CLI streams the plan
into the file as it is serialized: "plan write" and "plan file write" are the same writes, seen by
the builder and by the CLI; the build time the CLI reports leaves them out.)
"""
import argparse
import collections
import filecmp
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def gpu_models(work):
    """ResNet-50 (batch 1..32, opt 8) and BERT-base (batch 1..8, seq 128), exported to ONNX."""
    import torch
    sys.path.insert(0, HERE)
    import torch_models  # the same models and exporter settings as the comparison bench

    torch.manual_seed(0)
    models = []
    rn_path = os.path.join(work, "resnet50.onnx")
    torch_models.export_vision(torch_models.resnet50(), rn_path)
    models.append(("ResNet-50", ["--onnx", rn_path,
                                 "--profile", "x:1x3x224x224,8x3x224x224,32x3x224x224"]))
    seq = 128
    bert_path = os.path.join(work, "bert.onnx")
    torch_models.export_bert(torch_models.bert_base(), bert_path)
    shape = f"1x{seq},8x{seq},8x{seq}"
    models.append(("BERT-base", ["--onnx", bert_path, "--profile", f"input_ids:{shape}",
                                 "--profile", f"attention_mask:{shape}"]))
    return models


def cpu_models(work, bert_base):
    """The bundled demo CNN and the tiny BERT encoder of tests/data/onnx; with bert_base (a path,
    or "" to generate one) also a BERT-base-sized encoder, batch 1..8 (opt 1), sequence 128."""
    bert = os.path.join(REPO, "tests", "data", "onnx", "bert_tiny_legacy.onnx")
    models = [
        ("demo CNN (MNIST-sized)", ["--model", "demo"]),
        ("tiny BERT (2 layers, hidden 64)", ["--onnx", bert, "--profile", "input_ids:1x16,4x64,8x128",
                                             "--profile", "attention_mask:1x16,4x64,8x128"]),
    ]
    if bert_base is not None:
        path = bert_base
        if not path:
            path = os.path.join(work, "bert_base.onnx")
            subprocess.run([sys.executable, os.path.join(HERE, "bert_base_onnx.py"), path], check=True)
        shape = "1x128,1x128,8x128"
        models.append(("BERT-base-sized (12 layers, hidden 768)",
                       ["--onnx", path] + [a for name in ("input_ids", "attention_mask", "token_type_ids")
                                           for a in ("--profile", f"{name}:{shape}")]))
    return models


PHASE_LINE = re.compile(r"(?:kiln build phases|build phases|pass times): (.*)")
PHASE_ITEM = re.compile(r"([^,]+?) ([0-9.]+) ms")


def phase_times(text):
    """{phase: ms} from the verbose log ("pass ..." for the passes; the builder's build phase and
    the CLI's build phase are "build" and "kiln build")."""
    out = {}
    for line in text.splitlines():
        m = PHASE_LINE.search(line)
        if not m:
            continue
        prefix = "pass " if "pass times" in line else ""
        for item in m.group(1).split(", "):
            im = PHASE_ITEM.match(item.strip())
            if im:
                out[prefix + im.group(1).strip()] = float(im.group(2))
    return out


def timed_build(cmd):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    ms = (time.perf_counter() - t0) * 1000
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
    m = re.search(r"(\d+) layers from the cache, (\d+) tuned", r.stdout)
    b = re.search(r"\bin ([0-9.]+) ms:", r.stdout)
    if not m or not b:
        raise RuntimeError(f"unexpected output of {' '.join(cmd)}:\n{r.stdout}")
    return ms, float(b.group(1)), int(m.group(1)), int(m.group(2)), phase_times(r.stderr)


def measure(a, work, name, args):
    """Median cold and warm build times of one model (build-reported and whole process)."""
    cache = os.path.join(work, "model.cache")
    base = [a.kiln, "build", "--backend", a.backend, "--progress", "off", "--verbose", "--verbose"] + args
    if a.fp16:
        base.append("--fp16")
    cold_ms, warm_ms, cold_build, warm_build = [], [], [], []
    phases = {"cold": collections.defaultdict(list), "warm": collections.defaultdict(list)}
    for rep in range(a.repeats):
        for f in (cache, cache + ".lock"):
            if os.path.exists(f):
                os.remove(f)
        cold_plan = os.path.join(work, "cold.plan")
        ms, build_ms, hits, tuned, ph = timed_build(base + ["--timing-cache", cache, "--save", cold_plan])
        for k, v in ph.items():
            phases["cold"][k].append(v)
        # (A cold build reports identical layers as cache hits: they share one entry.)
        if tuned == 0:
            raise RuntimeError(f"{name}: the cold build tuned nothing")
        cold_ms.append(ms)
        cold_build.append(build_ms)
        warm_plan = os.path.join(work, "warm.plan")
        ms, build_ms, hits, tuned, ph = timed_build(base + ["--timing-cache", cache, "--save", warm_plan])
        for k, v in ph.items():
            phases["warm"][k].append(v)
        if tuned != 0:
            raise RuntimeError(f"{name}: the warm build tuned {tuned} layers")
        warm_ms.append(ms)
        warm_build.append(build_ms)
        if not filecmp.cmp(cold_plan, warm_plan, shallow=False):
            raise RuntimeError(f"{name}: the warm plan differs from the cold plan")
    cold, warm = statistics.median(cold_ms), statistics.median(warm_ms)
    cb, wb = statistics.median(cold_build), statistics.median(warm_build)
    print(f"{name}: build cold {cb:.0f} ms, warm {wb:.0f} ms, ratio {cb / wb:.1f}x; process "
          f"cold {cold:.0f} ms, warm {warm:.0f} ms, ratio {cold / warm:.1f}x", flush=True)
    med = {kind: {k: statistics.median(v) for k, v in p.items()} for kind, p in phases.items()}
    return (name, hits, cb, wb, cold, warm, med)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--backend", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--fp16", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="", help="also write the markdown table here")
    ap.add_argument("--bert-base", nargs="?", const="", default=None, metavar="ONNX",
                    help="CPU: also a BERT-base-sized encoder (this file, or one written by "
                         "bench/bert_base_onnx.py)")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="kiln_build_time_")
    models = gpu_models(work) if a.backend == "cuda" else cpu_models(work, a.bert_base)
    rows = []
    failed = []
    for name, args in models:
        try:
            rows.append(measure(a, work, name, args))
        except RuntimeError as e:  # report the others; fail at the end
            print(f"{name}: FAILED: {e}", flush=True)
            failed.append(name)
    prec = "FP16" if a.fp16 else "FP32"
    lines = [f"Backend {a.backend}, {prec}; median of {a.repeats} builds each. Build: the time kiln "
             f"reports for the build itself; process: wall clock of the whole `kiln build` command. "
             f"Ratio = cold / warm (> 1: the warm build is faster).", "",
             "| model | layers | build cold ms | build warm ms | build cold/warm | "
             "process cold ms | process warm ms | process cold/warm |",
             "|---|---|---|---|---|---|---|---|"]
    for name, layers, cb, wb, cold, warm, _ in rows:
        lines.append(f"| {name} | {layers} | {cb:.0f} | {wb:.0f} | {cb / wb:.1f} | {cold:.0f} | "
                     f"{warm:.0f} | {cold / warm:.1f} |")
    for name in failed:
        lines.append(f"| {name} | failed (see the log above) | | | | | | |")
    # Where the time goes: every phase over 1 ms in the cold or the warm build (median ms).
    for name, _, _, _, _, _, med in rows:
        keys = [k for k in list(med["cold"]) + [k for k in med["warm"] if k not in med["cold"]]
                if max(med["cold"].get(k, 0), med["warm"].get(k, 0)) >= 1.0]
        if not keys:
            continue
        lines += ["", f"Phases of {name} (median ms; \"pass ...\" are parts of \"passes\", "
                      f"\"build\" of the CLI is the builder's phases plus plan serialization):", "",
                  "| phase | cold ms | warm ms |", "|---|---|---|"]
        for k in keys:
            c, w = med["cold"].get(k), med["warm"].get(k)
            lines.append(f"| {k} | {'' if c is None else f'{c:.1f}'} | {'' if w is None else f'{w:.1f}'} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
