#!/usr/bin/env python3
"""GPU model tests: ResNet-50, MobileNetV2 and BERT-base (seq 128 and 384) with random weights,
exported from PyTorch to ONNX with dynamic batch (and sequence), built by kiln for CUDA in FP32
(TF32 on) and FP16 with two optimization profiles, run at batch sizes of both profiles, and
compared with PyTorch FP32 on the GPU.

Tolerances (documented in docs/performance.md): the max abs difference relative to the max abs
value of the PyTorch output must stay below 2e-2 for FP32/TF32 and 5e-2 for FP16 (TF32 and FP16
round inputs of every GEMM/convolution to 10 mantissa bits; errors grow with depth).

Exit 77 (skipped) when there is no CUDA device or no PyTorch.
"""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
except ImportError:
    print("skipped: PyTorch/numpy not available")
    sys.exit(77)
if not torch.cuda.is_available():
    print("skipped: no CUDA device")
    sys.exit(77)

KILN = sys.argv[1] if len(sys.argv) > 1 else "build-gpu/bin/kiln"
ONLY = sys.argv[2] if len(sys.argv) > 2 else ""
TOL = {"fp32": 2e-2, "fp16": 5e-2}
work = tempfile.mkdtemp()
failures = []


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import torch_models  # noqa: E402


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def check(name, onnx_path, inputs, ref, profiles, profile_index, precision):
    """inputs: {name: np.ndarray}; ref: np.ndarray (PyTorch FP32 output)."""
    plan = os.path.join(work, f"{name}_{precision}.plan")
    if not os.path.exists(plan):
        cmd = [KILN, "build", "--onnx", onnx_path, "--backend", "cuda", "--save", plan, "--opt-level", "1"]
        if precision == "fp16":
            cmd.append("--fp16")
        for p in profiles:
            cmd += ["--profile", p]
        rc, out = run(cmd)
        if rc != 0:
            failures.append(f"{name} {precision}: build failed: {out.strip()[-400:]}")
            print(f"FAIL {name} {precision}: build: {out.strip()[-400:]}")
            return
    d = tempfile.mkdtemp(dir=work)
    shapes = []
    for n, a in inputs.items():
        a.tofile(os.path.join(d, n + ".bin"))
        shapes += ["--shape", f"{n}:" + "x".join(str(s) for s in a.shape)]
    rc, out = run([KILN, "run", "--plan", plan, "--profile-index", str(profile_index), "--iterations", "1",
                   "--warmup", "0", "--load-inputs", d, "--save-outputs", d] + shapes)
    if rc != 0:
        failures.append(f"{name} {precision}: run failed: {out.strip()[-400:]}")
        print(f"FAIL {name} {precision}: run: {out.strip()[-400:]}")
        return
    got = np.fromfile(os.path.join(d, "out.bin"), dtype=np.float32).reshape(ref.shape)
    err = float(np.max(np.abs(got - ref)) / max(float(np.max(np.abs(ref))), 1e-6))
    ok = err <= TOL[precision] and np.all(np.isfinite(got))
    print(f"{'PASS' if ok else 'FAIL'} {name} {precision} profile {profile_index} "
          f"shape {list(ref.shape)}: max rel err {err:.2e} (tolerance {TOL[precision]:.0e})")
    if not ok:
        failures.append(f"{name} {precision}: error {err:.3e}")


def vision(name, ctor):
    if ONLY and ONLY != name:
        return
    torch.manual_seed(0)
    model = ctor().eval()
    path = os.path.join(work, name + ".onnx")
    torch_models.export_vision(model, path)
    cuda = model.cuda()
    # Two profiles: batch 1..2 and 2..8; batch 1 runs on profile 0, batch 3 on profile 1.
    profiles = ["0@x:1x3x224x224,1x3x224x224,2x3x224x224", "1@x:2x3x224x224,4x3x224x224,8x3x224x224"]
    for batch, profile_index in ((1, 0), (3, 1)):
        x = np.random.RandomState(batch).uniform(-1, 1, (batch, 3, 224, 224)).astype(np.float32)
        with torch.inference_mode():
            ref = cuda(torch.from_numpy(x).cuda()).float().cpu().numpy()
        for precision in ("fp32", "fp16"):
            check(name, path, {"x": x}, ref, profiles, profile_index, precision)


def bert(seq):
    name = f"bert_seq{seq}"
    if ONLY and ONLY != "bert":
        return
    torch.manual_seed(0)
    model = torch_models.bert_base()
    path = os.path.join(work, "bert.onnx")
    if not os.path.exists(path):
        torch_models.export_bert(model, path)
    cuda = model.cuda()
    # Two profiles: batch 1..2 with sequences 16..seq, and batch 2..4 at sequences 64..seq.
    profiles = [f"0@input_ids:1x16,1x{seq},2x{seq}", f"0@attention_mask:1x16,1x{seq},2x{seq}",
                f"1@input_ids:2x64,4x{seq},4x{seq}", f"1@attention_mask:2x64,4x{seq},4x{seq}"]
    for batch, profile_index in ((1, 0), (4, 1)):
        rs = np.random.RandomState(seq + batch)
        ids = rs.randint(0, 30522, (batch, seq)).astype(np.int64)
        mask = np.ones((batch, seq), dtype=np.int64)
        mask[:, seq - seq // 4:] = 0  # padding: exercises the attention mask
        with torch.inference_mode():
            ref = cuda(torch.from_numpy(ids).cuda(), torch.from_numpy(mask).cuda()).float().cpu().numpy()
        for precision in ("fp32", "fp16"):
            check(name, path, {"input_ids": ids, "attention_mask": mask}, ref, profiles, profile_index,
                  precision)


import torchvision  # noqa: E402

vision("resnet50", lambda: torchvision.models.resnet50(weights=None))
vision("mobilenet_v2", lambda: torchvision.models.mobilenet_v2(weights=None))
bert(128)
bert(384)
print(f"models: {len(failures)} failure(s)")
for f in failures:
    print("  " + f)
sys.exit(1 if failures else 0)
