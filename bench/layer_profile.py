#!/usr/bin/env python3
"""Per-layer GPU times of ResNet-50 and BERT-base plans (`kiln run --dump-profile`), to see where
an inference's time goes. Models get random weights (bench/torch_models.py); each case is built
with `kiln build --onnx ... --backend cuda` and profiled at the given shapes; the plan's layers
and tactics (`kiln inspect`) are saved next to the profile.

    python3 bench/layer_profile.py --kiln build-gpu/bin/kiln --out-dir $OUT/profiles

Cases: ResNet-50 FP16 batch 1 (fixed profile) and with a dynamic 1/8/32 profile run at batch 1;
BERT-base FP16 seq 128 at batch 1 and 32; BERT-base FP32 (TF32) seq 128 batch 32.
"""
import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def export(work):
    import torch
    import torch_models

    torch.manual_seed(0)
    rn, bert = os.path.join(work, "resnet50.onnx"), os.path.join(work, "bert.onnx")
    torch_models.export_vision(torch_models.resnet50(), rn)
    torch_models.export_bert(torch_models.bert_base(), bert)
    return rn, bert


def case(kiln, out_dir, tag, onnx, profiles, shapes, build_args, iterations):
    plan = os.path.join(out_dir, tag + ".plan")
    build = [kiln, "build", "--onnx", onnx, "--backend", "cuda", "--save", plan] + build_args
    for p in profiles:
        build += ["--profile", p]
    log = open(os.path.join(out_dir, tag + ".txt"), "w")
    log.write(" ".join(build) + "\n")
    r = subprocess.run(build, capture_output=True, text=True)
    log.write(r.stdout + r.stderr)
    if r.returncode != 0:
        print(f"{tag}: build failed\n{r.stderr[-2000:]}")
        return False
    run = [kiln, "run", "--plan", plan, "--iterations", str(iterations), "--warmup", "10",
           "--dump-profile"]
    for s in shapes:
        run += ["--shape", s]
    for extra in ([], ["--cuda-graph"]):
        r = subprocess.run(run + extra, capture_output=True, text=True)
        log.write(" ".join(run + extra) + "\n" + r.stdout + r.stderr)
        if r.returncode != 0:
            print(f"{tag}: run failed\n{r.stderr[-2000:]}")
            return False
        lat = [l for l in r.stdout.splitlines() if l.startswith("latency")]
        print(f"{tag}{' graph' if extra else ''}: {lat[0] if lat else '?'}")
    r = subprocess.run([kiln, "inspect", "--plan", plan], capture_output=True, text=True)
    with open(os.path.join(out_dir, tag + ".inspect.json"), "w") as f:
        f.write(r.stdout + r.stderr)
    os.remove(plan)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--iterations", type=int, default=30)
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    work = tempfile.mkdtemp()
    rn, bert = export(work)
    img = "3x224x224"
    b1 = f"x:1x{img},1x{img},1x{img}"
    ok = True
    ok &= case(a.kiln, a.out_dir, "resnet50_fp16_b1", rn, [b1], [], ["--fp16"], a.iterations)
    ok &= case(a.kiln, a.out_dir, "resnet50_fp16_dyn_at_b1", rn, [f"x:1x{img},8x{img},32x{img}"],
               [f"x:1x{img}"], ["--fp16"], a.iterations)
    for batch in (1, 32):
        prof = [f"{n}:{batch}x128,{batch}x128,{batch}x128" for n in ("input_ids", "attention_mask")]
        ok &= case(a.kiln, a.out_dir, f"bert_fp16_b{batch}", bert, prof, [], ["--fp16"],
                   a.iterations)
    prof = [f"{n}:32x128,32x128,32x128" for n in ("input_ids", "attention_mask")]
    ok &= case(a.kiln, a.out_dir, "bert_tf32_b32", bert, prof, [], [], a.iterations)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
