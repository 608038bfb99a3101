"""What the JAX peers (vrnn_jax.py, dkf_jax.py, srnn_jax.py) share: the command line, thread
limiting, the training step (value_and_grad + per-tensor clipping + Adam in one jax.jit), the
timing loop with its JSON line, and the float64 --check harness (benches/peers/README.md).
Adam's epsilon and the clipping denominator's constant default to burn's (ADAM_EPS, CLIP_TINY:
the DKF and SRNN peers); vrnn_jax.py passes torch's (1e-8, and ||g|| + 1e-6) to `main`.

A model script passes `build(jax) -> loss_fn` and its NumPy reference module,
which provides `layer_shapes(D, H, Z, W)` [(name, fan_in, fan_out)], `vectors(D, H, Z, W)`
[(name, size)] (learned vectors, zero at initialisation), `IDENTITY` (layers initialised to
W = I, b = 0), `loss(p, x [B, T, D], eps [T, B, Z])` and `check_shapes()`.
`loss_fn(params, x [T, B, D], eps [T, B, Z])` is the negative ELBO per step.

Importing this module first checks that jax, jaxlib and numpy are installed (exit 3 if not)
without importing JAX, so that --threads can act before JAX starts.
"""

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time

SKIP_EXIT = 3
HERE = os.path.dirname(os.path.abspath(__file__))
INSTALL_HINT = "pip install -r benches/peers/requirements.txt"

for _pkg in ("jax", "jaxlib", "numpy"):
    if importlib.util.find_spec(_pkg) is None:  # pragma: no cover - depends on the environment
        print(f"skip: {_pkg} not installed ({INSTALL_HINT})")
        sys.exit(SKIP_EXIT)

import numpy as np  # noqa: E402

sys.dont_write_bytecode = True  # leave no __pycache__ in the repo
sys.path.insert(0, HERE)
from vrnn_reference import make_data  # noqa: E402,F401  (the same x as every other peer)

PEER = "jax-jit-scan"
SIGMA_MIN = 1e-4
CLIP = 10.0
# burn's AdamConfig defaults, which neuromod's Trainer uses (epsilon 1e-5, not torch's 1e-8).
LR, BETA1, BETA2, ADAM_EPS = 1e-3, 0.9, 0.999, 1e-5
# burn's GradientClipping::Norm divides by ||g|| + f32::MIN_POSITIVE (torch-style: 1e-6).
CLIP_TINY = float(np.finfo(np.float32).tiny)


def kl_plus_nll(jnp, x, logits, mu_q, s_q, mu_p, s_p):
    """KL(q || p) of diagonal Gaussians plus the Bernoulli NLL of x, summed over all rows (the
    JAX peers' loss tail; the NumPy references write their own)."""
    nll = -jnp.sum(x * logits - jnp.logaddexp(0.0, logits))
    ratio = s_q / s_p
    kl = 0.5 * jnp.sum(ratio**2 + ((mu_q - mu_p) / s_p) ** 2 - 1.0 - 2.0 * jnp.log(ratio))
    return kl + nll


def gpu_peak_mib(dev):
    """The device's peak bytes in use, MiB (None where the backend does not say)."""
    stats = dev.memory_stats() or {}
    peak = stats.get("peak_bytes_in_use")
    return None if peak is None else peak / 2**20


def limit_threads(n):
    """Must run before `import jax`."""
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, cpus[: max(1, min(n, len(cpus)))])
    if n == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_cpu_multi_thread_eigen" not in flags:
            os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false").strip()


def init_params(jax, ref, key, dims, dtype):
    """Linear layers as burn's default (W and b uniform in +-1/sqrt(fan_in)), the layers in
    ref.IDENTITY as W = I, b = 0, the learned vectors zero."""
    jnp = jax.numpy
    params = {}
    for name, fan_in, fan_out in ref.layer_shapes(*dims):
        key, kw, kb = jax.random.split(key, 3)
        bound = 1.0 / np.sqrt(fan_in)
        if name in ref.IDENTITY:
            params[name] = {"w": jnp.eye(fan_in, fan_out, dtype=dtype), "b": jnp.zeros((fan_out,), dtype)}
        else:
            params[name] = {
                "w": jax.random.uniform(kw, (fan_in, fan_out), dtype, -bound, bound),
                "b": jax.random.uniform(kb, (fan_out,), dtype, -bound, bound),
            }
    for name, size in ref.vectors(*dims):
        params[name] = jnp.zeros((size,), dtype)
    return params


def make_train_step(jax, loss_fn, z_dim, adam_eps=ADAM_EPS, clip_tiny=CLIP_TINY):
    """The whole training step as one jax.jit, parameters and Adam state donated."""
    jnp = jax.numpy

    def train_step(params, m, v, count, key, x):
        T, B, _ = x.shape
        key, sub = jax.random.split(key)
        eps = jax.random.normal(sub, (T, B, z_dim), x.dtype)  # fresh noise every training step
        loss, grads = jax.value_and_grad(loss_fn)(params, x, eps)
        # Per-tensor clipping as burn's GradientClipping::Norm: g * min(1, CLIP / (||g|| + clip_tiny)).
        grads = jax.tree.map(lambda g: g * jnp.minimum(1.0, CLIP / (jnp.sqrt(jnp.sum(g * g)) + clip_tiny)), grads)
        # Adam as burn's: bias-corrected moments, eps outside the sqrt (the same as torch's formula).
        count = count + 1
        m = jax.tree.map(lambda m_, g: BETA1 * m_ + (1.0 - BETA1) * g, m, grads)
        v = jax.tree.map(lambda v_, g: BETA2 * v_ + (1.0 - BETA2) * g * g, v, grads)
        c = count.astype(x.dtype)
        bc1, bc2 = 1.0 - BETA1**c, 1.0 - BETA2**c
        params = jax.tree.map(lambda p, m_, v_: p - LR * (m_ / bc1) / (jnp.sqrt(v_ / bc2) + adam_eps), params, m, v)
        return params, m, v, count, key, loss

    return jax.jit(train_step, donate_argnums=(0, 1, 2))


def bench(args, model, build, ref, update):
    if args.threads:
        limit_threads(args.threads)
    os.environ["JAX_PLATFORMS"] = args.device  # "cuda" needs jax with CUDA support
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # peaks mean something
    import jax
    import jax.numpy as jnp

    try:
        dev = jax.devices()[0]
    except RuntimeError as e:
        print(f"error: --device {args.device}: {e}", file=sys.stderr)
        return 1

    loss_fn = build(jax)
    dims = (args.x_dim, args.h_dim, args.z_dim, args.width)
    train_step = make_train_step(jax, loss_fn, args.z_dim, **update)
    key = jax.random.key(args.seed)
    key, pkey = jax.random.split(key)
    params = init_params(jax, ref, pkey, dims, jnp.float32)
    m = jax.tree.map(jnp.zeros_like, params)
    v = jax.tree.map(jnp.zeros_like, params)
    count = jnp.zeros((), jnp.int32)
    x = jnp.asarray(make_data(args.seed, args.batch, args.steps, args.x_dim).transpose(1, 0, 2))
    state = (params, m, v, count, key)
    for _ in range(2):  # warm-up, the first compiles
        *state, loss = train_step(*state, x)
        jax.block_until_ready((loss, state[0]))
    times, losses = [], []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        *state, loss = train_step(*state, x)
        jax.block_until_ready((loss, state[0]))
        times.append(time.perf_counter() - t0)
        losses.append(float(loss))
    result = {
        "peer": PEER,
        "model": model,
        "batch": args.batch,
        "steps": args.steps,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "reps": args.reps,
        "threads": len(os.sched_getaffinity(0)),
        "version": jax.__version__,
        "loss_first": losses[0],
        "loss_last": losses[-1],
        "device": "cpu" if args.device == "cpu" else dev.device_kind,
        "gpu_peak_mib": gpu_peak_mib(dev) if args.device == "cuda" else None,
    }
    if args.json:
        print(json.dumps(result), flush=True)
    else:
        r = result
        print(
            f"{r['peer']} {model} ({r['version']}): batch {r['batch']} x {r['steps']} steps, "
            f"{r['threads']} threads: median {r['median_s']:.4f} s/step, min {r['min_s']:.4f} s "
            f"over {r['reps']} reps; loss {r['loss_first']:.4f} -> {r['loss_last']:.4f}"
        )
        print("losses: " + " ".join(f"{v_:.4f}" for v_ in losses))
    if len(losses) > 1 and not losses[-1] < losses[0]:
        print(f"warning: loss did not decrease ({losses[0]:.4f} -> {losses[-1]:.4f})", file=sys.stderr)
    return 0


def check(model, build, ref, update):
    """Loss vs the NumPy reference, jax.grad vs central finite differences, in float64."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    loss_fn = build(jax)
    s = ref.check_shapes()
    B, T, D, H, Z, W = s["B"], s["T"], s["D"], s["H"], s["Z"], s["W"]
    dims = (D, H, Z, W)
    ok = True
    kp, kv, ke = jax.random.split(jax.random.key(0), 3)
    params = init_params(jax, ref, kp, dims, jnp.float64)
    for name, size in ref.vectors(*dims):  # exercise the learned vectors' gradient paths
        kv, k = jax.random.split(kv)
        params[name] = 0.5 * jax.random.normal(k, (size,), jnp.float64)
    x = jnp.asarray(make_data(1, B, T, D, p=0.4).astype(np.float64).transpose(1, 0, 2))
    eps = jax.random.normal(ke, (T, B, Z), jnp.float64)

    loss_j = jax.jit(loss_fn)
    loss = float(loss_j(params, x, eps))
    exported = {n: (np.asarray(p["w"]), np.asarray(p["b"])) if isinstance(p, dict) else np.asarray(p)
                for n, p in params.items()}
    want = ref.loss(exported, np.asarray(x).transpose(1, 0, 2), np.asarray(eps))
    rel = abs(loss - want) / abs(want)
    good = rel < 1e-10
    ok &= good
    print(f"{'PASS' if good else 'FAIL'} {model} loss vs NumPy reference: {loss:.12f} vs {want:.12f} (rel {rel:.1e})")

    grads = jax.grad(loss_fn)(params, x, eps)
    leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
    gleaves = jax.tree_util.tree_leaves(grads)
    rng = np.random.default_rng(2)
    worst, n_checked, n_tensors = 0.0, 0, 0
    for i, ((path, leaf), g) in enumerate(zip(leaves, gleaves)):
        flat, gflat = np.asarray(leaf).ravel(), np.asarray(g).ravel()
        n_tensors += 1
        for k in rng.permutation(flat.size)[:3]:
            h = 1e-6

            def at(delta):
                new = [lf for _, lf in leaves]
                new[i] = jnp.asarray(flat.copy()).at[k].add(delta).reshape(leaf.shape)
                return float(loss_j(jax.tree_util.tree_unflatten(treedef, new), x, eps))

            fd = (at(h) - at(-h)) / (2 * h)
            err = abs(fd - gflat[k]) / max(abs(fd), abs(gflat[k]), 1e-3)
            worst = max(worst, err)
            n_checked += 1
            if err > 1e-5:
                ok = False
                print(f"FAIL grad {jax.tree_util.keystr(path)}[{k}]: jax.grad {gflat[k]:.9e} vs fd {fd:.9e}")
    good = worst <= 1e-5
    ok &= good
    print(f"{'PASS' if good else 'FAIL'} gradient vs finite differences: {n_checked} entries of "
          f"{n_tensors} tensors, worst rel err {worst:.1e}")

    # The jitted train step runs in float64 too and lowers the loss on a fixed batch.
    train_step = make_train_step(jax, loss_fn, Z, **update)
    m = jax.tree.map(jnp.zeros_like, params)
    v = jax.tree.map(jnp.zeros_like, params)
    state = (params, m, v, jnp.zeros((), jnp.int32), jax.random.key(3))
    first = last = None
    for _ in range(20):
        *state, l = train_step(*state, x)
        first = float(l) if first is None else first
        last = float(l)
    good = last < first
    ok &= good
    print(f"{'PASS' if good else 'FAIL'} train step lowers the loss: {first:.6f} -> {last:.6f} over 20 steps")

    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main(doc, model, build, ref, adam_eps=ADAM_EPS, clip_tiny=CLIP_TINY):
    """The peer's command line; adam_eps and clip_tiny go to make_train_step."""
    update = {"adam_eps": adam_eps, "clip_tiny": clip_tiny}
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--batch", type=int, default=32, help="sequences per batch (B)")
    ap.add_argument("--steps", type=int, default=100, help="time steps per sequence (T)")
    ap.add_argument("--reps", type=int, default=10, help="timed training steps")
    ap.add_argument("--threads", type=int, default=None, help="limit XLA to N CPUs (affinity); default: all")
    ap.add_argument("--json", action="store_true", help="print one JSON object (see benches/peers/README.md)")
    ap.add_argument("--check", action="store_true", help="gradient self-check on tiny shapes, float64")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where to run")
    ap.add_argument("--seed", type=int, default=0)
    # Model dimensions: the defaults are the bench config; change them only for quick tests.
    ap.add_argument("--x-dim", type=int, default=88)
    ap.add_argument("--h-dim", type=int, default=256)
    ap.add_argument("--z-dim", type=int, default=32)
    ap.add_argument("--width", type=int, default=256)
    args = ap.parse_args()
    if args.check:
        return check(model, build, ref, update)
    if min(args.batch, args.steps, args.reps) < 1:
        ap.error("--batch, --steps and --reps must be at least 1")
    return bench(args, model, build, ref, update)
