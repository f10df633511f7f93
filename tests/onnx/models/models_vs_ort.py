#!/usr/bin/env python3
"""Model tests: kiln (CPU) against ONNX Runtime (CPU) on generated models.

For every model of the generator modules in this folder: generate it (seeded random weights,
dynamic batch and, where the model has them, sequence / spatial dims) into WORK, check it with
onnx.checker, build it once with `kiln build --onnx` over a profile covering every test shape,
and for each input set (at least two shapes per model) run ONNX Runtime and `kiln run
--load-inputs/--save-outputs`, then compare every output: same shape, finite values, and
    max |kiln - ort| / max(|ort|, 1e-6) <= tol      (float outputs; tol per model, in its Spec;
                                                     per field where Spec.scale_axis says so)
    kiln == ort                                      (integer and bool outputs)
A float output that hardly varies over a batch fails too (the generator lost the input's
signal), and a final self-check makes sure a slightly changed model fails the comparison.

    models_vs_ort.py KILN [--work DIR] [--filter SUBSTR] [--opt-level N] [--keep] [--large]

Exit 0: all passed; 1: a failure; 77: skipped (onnx, onnxruntime or numpy not importable).
"""
import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GENERATORS = ["resnet", "mobilenet", "efficientnet", "vit", "bert", "gpt", "llama", "yolo", "unet",
              "ops_mix", "real_exports"]

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
except ImportError as e:  # pragma: no cover - depends on the machine
    # scripts/install-deps.sh puts the tooling into the repository's .venv: use that Python.
    venv_python = os.path.join(HERE, "..", "..", "..", ".venv", "bin", "python")
    if os.access(venv_python, os.X_OK) and not os.environ.get("KILN_MODELS_REEXEC"):
        os.environ["KILN_MODELS_REEXEC"] = "1"
        os.execv(venv_python, [venv_python, os.path.abspath(__file__)] + sys.argv[1:])
    print(f"skipped: {e} (scripts/install-deps.sh installs onnx, onnxruntime and numpy into .venv)")
    sys.exit(77)

sys.path.insert(0, HERE)


def safe_name(name):
    """The file name `kiln run` uses for a tensor (tools/kiln/main.cpp: tensor_file)."""
    return "".join("_" if c in "/: " else c for c in name)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, (r.stdout + r.stderr).strip()


def dims(shape):
    return "x".join(str(int(d)) for d in shape)


def scale_of(ref, axis):
    """max(|ref|), or per index of `axis` (broadcastable to ref) when axis is not None."""
    a = np.abs(ref.astype(np.float64))
    if axis is None:
        return max(float(a.max()), 1e-6)
    other = tuple(i for i in range(ref.ndim) if i != axis % ref.ndim)
    return np.maximum(a.max(axis=other, keepdims=True), 1e-6)


def compare(got, ref, tol, axis):
    """Returns (ok, message)."""
    if got.shape != ref.shape:
        return False, f"shape {list(got.shape)} != {list(ref.shape)}"
    if ref.size == 0:
        return True, "empty"
    if ref.dtype.kind in "biu":
        bad = int(np.count_nonzero(got != ref))
        return bad == 0, f"{bad} of {ref.size} elements differ" if bad else "exact"
    if not np.all(np.isfinite(got)):
        return False, f"{int(np.count_nonzero(~np.isfinite(got)))} non-finite values"
    err = float(np.max(np.abs(got.astype(np.float64) - ref) / scale_of(ref, axis)))
    return err <= tol, f"max rel err {err:.2e} (tol {tol:.0e})"


# A generated model must depend on its input: where a case has a batch of two or more, each
# float output's spread over the batch (mean std / scale) must reach this, or errors in the
# input-dependent part could hide below the tolerance (the generator is then broken, not kiln).
MIN_INPUT_DEPENDENCE = 1e-2


def input_dependence(ref, axis):
    return float(np.mean((ref.astype(np.float64) / scale_of(ref, axis)).std(axis=0)))


def test_model(spec, kiln, work, opt_level, sess_threads, kiln_model=None):
    """Returns a list of result rows (model, case, output, ok, message) and timings.
    kiln_model: a different model for kiln than for ONNX Runtime (the self-check only)."""
    rows = []
    path = os.path.join(work, spec.name + ".onnx")
    t0 = time.perf_counter()
    model = spec.build()
    onnx.save(model, path)
    gen_s = time.perf_counter() - t0
    kiln_path = path
    if kiln_model is not None:
        kiln_path = os.path.join(work, spec.name + ".kiln.onnx")
        onnx.save(kiln_model, kiln_path)

    opts = ort.SessionOptions()
    # The reference is ONNX semantics as ONNX Runtime's kernels compute them, without its graph
    # fusions (which may use approximations of their own).
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.intra_op_num_threads = sess_threads
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    out_names = [o.name for o in sess.get_outputs()]

    plan = os.path.join(work, spec.name + ".plan")
    cmd = [kiln, "build", "--onnx", kiln_path, "--save", plan, "--opt-level", str(opt_level)]
    for inp, (lo, opt, hi) in spec.profile.items():
        cmd += ["--profile", f"{inp}:{dims(lo)},{dims(opt)},{dims(hi)}"]
    t0 = time.perf_counter()
    rc, log = run(cmd)
    build_s = time.perf_counter() - t0
    if rc != 0:
        return [(spec.name, "build", "-", False, "kiln build failed: " + log[-1500:])], gen_s, build_s, 0.0

    run_s = 0.0
    for i, case in enumerate(spec.cases):
        label = " ".join(f"{k}:{dims(v.shape)}" for k, v in case.items())
        refs = sess.run(None, case)
        d = os.path.join(work, f"{spec.name}_case{i}")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        cmd = [kiln, "run", "--plan", plan, "--iterations", "1", "--warmup", "0", "--print", "0",
               "--load-inputs", d, "--save-outputs", d]
        for k, v in case.items():
            np.ascontiguousarray(v).tofile(os.path.join(d, safe_name(k) + ".bin"))
            cmd += ["--shape", f"{k}:{dims(v.shape)}"]
        t0 = time.perf_counter()
        rc, log = run(cmd)
        run_s += time.perf_counter() - t0
        if rc != 0:
            rows.append((spec.name, label, "-", False, "kiln run failed: " + log[-1500:]))
            continue
        for name, ref in zip(out_names, refs):
            ref = np.asarray(ref)
            f = os.path.join(d, safe_name(name) + ".bin")
            if not os.path.exists(f):
                rows.append((spec.name, label, name, False, "kiln wrote no output file"))
                continue
            raw = np.fromfile(f, dtype=ref.dtype)
            if raw.size != ref.size:
                rows.append((spec.name, label, name, False,
                             f"kiln output has {raw.size} elements, ONNX Runtime {ref.size} "
                             f"(shape {list(ref.shape)})"))
                continue
            axis = spec.scale_axis.get(name)
            ok, msg = compare(raw.reshape(ref.shape), ref, spec.tol, axis)
            if ref.dtype.kind == "f" and ref.ndim > 0 and ref.shape[0] > 1:
                dep = input_dependence(ref, axis)
                if dep < MIN_INPUT_DEPENDENCE:
                    ok = False
                    msg += f"; generator problem: output varies over the batch by only {dep:.1e} of its scale"
            rows.append((spec.name, label, name, ok, msg))
    return rows, gen_s, build_s, run_s


def self_check(kiln, work, opt_level):
    """The comparison must be able to fail: kiln gets resnet50_small with the epsilon of its
    last BatchNormalization changed from 1e-5 to 1e-2 (a 0.3 % effect on the logits), ONNX
    Runtime the original; every output check must fail. Returns an error message or None."""
    spec = next(s for s in importlib.import_module("resnet").MODELS if s.name == "resnet50_small")
    mutated = spec.build()
    bn = [n for n in mutated.graph.node if n.op_type == "BatchNormalization"][-1]
    next(a for a in bn.attribute if a.name == "epsilon").f = 1e-2
    work = os.path.join(work, "self_check")
    os.makedirs(work, exist_ok=True)
    rows, *_ = test_model(spec, kiln, work, opt_level, 2, kiln_model=mutated)
    if not rows or any(r[3] for r in rows):
        return "a mutated model passed the comparison: " + "; ".join(f"{r[1]} {r[2]}: {r[4]}" for r in rows)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kiln", help="path to the kiln CLI")
    ap.add_argument("--work", default="", help="directory for models, plans and tensors (default: a temp dir)")
    ap.add_argument("--filter", default="", help="only models whose name contains this")
    ap.add_argument("--opt-level", type=int, default=3, help="kiln builder optimization level")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--large", action="store_true",
                    help="also BERT-base at full size, sequence 128 (440 MB model; minutes)")
    a = ap.parse_args()
    if not os.access(a.kiln, os.X_OK):
        print(f"error: kiln CLI '{a.kiln}' is not an executable")
        return 1
    work = a.work or tempfile.mkdtemp(prefix="kiln-models-")
    os.makedirs(work, exist_ok=True)
    print(f"onnx {onnx.__version__}, onnxruntime {ort.__version__}, numpy {np.__version__}; "
          f"kiln {a.kiln}; opt level {a.opt_level}; work dir {work}")

    specs = []
    for mod in GENERATORS:
        specs += [s for s in importlib.import_module(mod).MODELS if a.filter in s.name]
    if a.large:
        specs += [s for s in [importlib.import_module("bert").bert_base_spec()] if a.filter in s.name]
    if not specs:
        print(f"error: no model matches '{a.filter}'")
        return 1

    all_rows = []
    for spec in specs:
        rows, gen_s, build_s, run_s = test_model(spec, a.kiln, work, a.opt_level, 2)
        all_rows += rows
        status = "PASS" if all(r[3] for r in rows) else "FAIL"
        print(f"{status} {spec.name}  (generate {gen_s:.1f} s, kiln build {build_s:.1f} s, "
              f"kiln run {run_s:.1f} s; tol {spec.tol:.0e})")
        if spec.note:
            print(f"     covers: {spec.note}")
        for _, label, out, ok, msg in rows:
            print(f"     {'ok  ' if ok else 'FAIL'} {label}  {out}: {msg}")

    failed = sorted({r[0] for r in all_rows if not r[3]})
    if not a.filter:
        err = self_check(a.kiln, work, a.opt_level)
        print("self-check: " + (err or "ok (kiln given resnet50_small with one BatchNormalization epsilon "
                                        "changed fails every output check)"))
        if err:
            failed.append("self-check")
    passed = len(specs) - len([f for f in failed if f != "self-check"])
    print(f"\nmodels_vs_ort: {passed} of {len(specs)} models passed, "
          f"{sum(1 for r in all_rows if r[3])} of {len(all_rows)} output checks")
    for f in failed:
        print(f"  FAILED: {f}")
    if not a.keep and not a.work:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
