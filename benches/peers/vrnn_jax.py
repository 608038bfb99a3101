#!/usr/bin/env python3
"""JAX (jit + lax.scan) peer of the Rust VRNN training step, for reference timings.

Usage:
    python3 benches/peers/vrnn_jax.py [--batch 32] [--steps 100] [--reps 10]
                                      [--threads N] [--json] [--device cpu|cuda]
    python3 benches/peers/vrnn_jax.py --check

Same model, loss and update as vrnn_torch.py (see its doc): x_dim 88, h_dim 256,
z_dim 32, width 256; the time loop is a lax.scan over the h-dependent chain
(encoder, sample, phi_z, GRU), phi_x runs over all B*T rows before it, prior and
decoder over all rows after it. The whole training step (value_and_grad,
per-tensor clipping to L2 norm 10, hand-written Adam lr 1e-3 with the same
formula as torch.optim.Adam) is one jax.jit with the parameters and Adam state
donated. `--steps` is the sequence length T; each timed repetition is one
optimiser step on a batch of `--batch` sequences.

Timing: 2 warm-up steps (the first includes compilation), then `--reps` timed
steps, each ended by jax.block_until_ready on (loss, params).

Threads: XLA's CPU thread pool is sized from the CPUs this process may run on,
so --threads N restricts the process's CPU affinity to N CPUs before JAX is
imported (and for N = 1 also sets XLA_FLAGS=--xla_cpu_multi_thread_eigen=false).
The reported "threads" is the number of CPUs in the affinity mask. The same can
be done from outside with `taskset -c 0 python3 ...`.

Output contract (stdout), relied on by benches/peers/run.py and the Rust CLI:
  * with --json: exactly one line, a JSON object with the keys
        {"peer": "jax-jit-scan", "batch": int, "steps": int,
         "median_s": float, "min_s": float, "reps": int, "threads": int,
         "version": "<jax.__version__>", "loss_first": float, "loss_last": float,
         "device": "cpu" or the GPU's kind, "gpu_peak_mib": float or null}
    median_s / min_s are seconds per training step over the timed reps;
    loss_first / loss_last are the losses of the first and last timed steps.
  * without --json: a human-readable summary line and the per-step losses.
  * --check: tiny shapes, float64; prints PASS or FAIL lines.

Exit codes: 0 success (or --check PASS); 1 --check FAIL or an error;
3 skipped because jax, jaxlib or numpy is not installed (one line on stdout:
"skip: jax not installed (pip install -r benches/peers/requirements.txt)").
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

# Look for the packages without importing JAX yet: --threads must act before JAX starts.
for _pkg in ("jax", "jaxlib", "numpy"):
    if importlib.util.find_spec(_pkg) is None:  # pragma: no cover - depends on the environment
        print(f"skip: {_pkg} not installed ({INSTALL_HINT})")
        sys.exit(SKIP_EXIT)

import numpy as np  # noqa: E402

sys.dont_write_bytecode = True  # leave no __pycache__ in the repo
sys.path.insert(0, HERE)
import vrnn_reference as ref  # noqa: E402  (numpy only)

PEER = "jax-jit-scan"
SIGMA_MIN = 1e-4
CLIP = 10.0
LR, BETA1, BETA2, ADAM_EPS = 1e-3, 0.9, 0.999, 1e-8


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


def build(jax):
    """The model's functions, closed over the imported jax module."""
    jnp, lax = jax.numpy, jax.lax
    relu, softplus = jax.nn.relu, jax.nn.softplus

    def init_params(key, D, H, Z, W, dtype):
        # Like nn.Linear's default: weight and bias uniform in +-1/sqrt(fan_in).
        params = {}
        for name, fan_in, fan_out in ref.layer_shapes(D, H, Z, W):
            key, kw, kb = jax.random.split(key, 3)
            bound = 1.0 / np.sqrt(fan_in)
            params[name] = {
                "w": jax.random.uniform(kw, (fan_in, fan_out), dtype, -bound, bound),
                "b": jax.random.uniform(kb, (fan_out,), dtype, -bound, bound),
            }
        params["h0"] = jnp.zeros((H,), dtype)
        return params

    def loss_fn(params, x, eps):
        """x: [T, B, D] (time-major), eps: [T, B, Z] -> negative ELBO per step (scalar)."""
        T, B, D = x.shape
        H = params["h0"].shape[0]
        W = params["phi_x.1"]["w"].shape[1]

        def lin(name, a):
            return a @ params[name]["w"] + params[name]["b"]

        # phi_x over all B*T rows at once.
        fx_all = relu(lin("phi_x.1", relu(lin("phi_x.0", x.reshape(T * B, D))))).reshape(T, B, W)

        def body(h, inp):  # only the h-dependent chain
            fx, eps_t = inp
            e = relu(lin("enc.1", relu(lin("enc.0", jnp.concatenate([fx, h], 1)))))
            mu_q = lin("enc.mu", e)
            s_q = softplus(lin("enc.sigma", e)) + SIGMA_MIN
            z = mu_q + s_q * eps_t
            fz = relu(lin("phi_z.0", z))
            gi = jnp.split(lin("gru.input", jnp.concatenate([fx, fz], 1)), 3, axis=1)
            gh = jnp.split(lin("gru.hidden", h), 3, axis=1)
            r = jax.nn.sigmoid(gi[0] + gh[0])
            u = jax.nn.sigmoid(gi[1] + gh[1])
            n = jnp.tanh(gi[2] + r * gh[2])
            return (1.0 - u) * n + u * h, (h, fz, mu_q, s_q)

        h_init = jnp.broadcast_to(params["h0"], (B, H))
        _, (hs, fzs, mqs, sqs) = lax.scan(body, h_init, (fx_all, eps))
        h_prev = hs.reshape(T * B, H)
        fz_all = fzs.reshape(T * B, W)
        mu_q = mqs.reshape(T * B, -1)
        s_q = sqs.reshape(T * B, -1)
        # prior and decoder over all steps at once.
        pr = relu(lin("prior.0", h_prev))
        mu_p = lin("prior.mu", pr)
        s_p = softplus(lin("prior.sigma", pr)) + SIGMA_MIN
        d = relu(lin("dec.1", relu(lin("dec.0", jnp.concatenate([fz_all, h_prev], 1)))))
        logits = lin("dec.out", d)
        xf = x.reshape(T * B, D)
        nll = -jnp.sum(xf * logits - softplus(logits))
        ratio = s_q / s_p
        kl = 0.5 * jnp.sum(ratio**2 + ((mu_q - mu_p) / s_p) ** 2 - 1.0 - 2.0 * jnp.log(ratio))
        return (kl + nll) / (B * T)

    def train_step(params, m, v, count, key, x):
        T, B, _ = x.shape
        Z = params["enc.mu"]["w"].shape[1]
        key, sub = jax.random.split(key)
        eps = jax.random.normal(sub, (T, B, Z), x.dtype)  # fresh noise every training step
        loss, grads = jax.value_and_grad(loss_fn)(params, x, eps)
        # Per-tensor clipping: g * min(1, CLIP / (||g|| + 1e-6)) (Burn's per-parameter Norm clipping).
        grads = jax.tree.map(lambda g: g * jnp.minimum(1.0, CLIP / (jnp.sqrt(jnp.sum(g * g)) + 1e-6)), grads)
        # Adam, the same formula as torch.optim.Adam (bias-corrected, eps outside the sqrt).
        count = count + 1
        m = jax.tree.map(lambda m_, g: BETA1 * m_ + (1.0 - BETA1) * g, m, grads)
        v = jax.tree.map(lambda v_, g: BETA2 * v_ + (1.0 - BETA2) * g * g, v, grads)
        c = count.astype(x.dtype)
        bc1, bc2 = 1.0 - BETA1**c, 1.0 - BETA2**c
        params = jax.tree.map(lambda p, m_, v_: p - LR * (m_ / bc1) / (jnp.sqrt(v_ / bc2) + ADAM_EPS), params, m, v)
        return params, m, v, count, key, loss

    return init_params, loss_fn, jax.jit(train_step, donate_argnums=(0, 1, 2))


def bench(args):
    if args.threads:
        limit_threads(args.threads)
    # The platform is fixed before jax starts: "cuda" needs jax with CUDA support.
    os.environ["JAX_PLATFORMS"] = args.device
    # Allocate what is used, not 75 % of the card up front, so peaks mean something.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    import jax
    import jax.numpy as jnp

    try:
        dev = jax.devices()[0]
    except RuntimeError as e:
        print(f"error: --device {args.device}: {e}", file=sys.stderr)
        return 1

    init_params, _, train_step = build(jax)
    D, H, Z, W = args.x_dim, args.h_dim, args.z_dim, args.width
    key = jax.random.key(args.seed)
    key, pkey = jax.random.split(key)
    params = init_params(pkey, D, H, Z, W, jnp.float32)
    m = jax.tree.map(jnp.zeros_like, params)
    v = jax.tree.map(jnp.zeros_like, params)
    count = jnp.zeros((), jnp.int32)
    x = jnp.asarray(ref.make_data(args.seed, args.batch, args.steps, D).transpose(1, 0, 2))
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
        "model": "vrnn",
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
            f"{r['peer']} ({r['version']}): batch {r['batch']} x {r['steps']} steps, "
            f"{r['threads']} threads: median {r['median_s']:.4f} s/step, min {r['min_s']:.4f} s "
            f"over {r['reps']} reps; loss {r['loss_first']:.4f} -> {r['loss_last']:.4f}"
        )
        print("losses: " + " ".join(f"{v_:.4f}" for v_ in losses))
    if len(losses) > 1 and not losses[-1] < losses[0]:
        print(f"warning: loss did not decrease ({losses[0]:.4f} -> {losses[-1]:.4f})", file=sys.stderr)
    return 0


def check():
    """Loss vs the NumPy reference, jax.grad vs central finite differences, in float64."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    init_params, loss_fn, train_step = build(jax)
    s = ref.check_shapes()
    B, T, D, H, Z, W = s["B"], s["T"], s["D"], s["H"], s["Z"], s["W"]
    ok = True
    key = jax.random.key(0)
    kp, kh, ke = jax.random.split(key, 3)
    params = init_params(kp, D, H, Z, W, jnp.float64)
    params["h0"] = 0.5 * jax.random.normal(kh, (H,), jnp.float64)  # exercise h0's gradient path
    x = jnp.asarray(ref.make_data(1, B, T, D, p=0.4).astype(np.float64).transpose(1, 0, 2))
    eps = jax.random.normal(ke, (T, B, Z), jnp.float64)

    loss_j = jax.jit(loss_fn)
    loss = float(loss_j(params, x, eps))
    exported = {n: (np.asarray(p["w"]), np.asarray(p["b"])) for n, p in params.items() if n != "h0"}
    exported["h0"] = np.asarray(params["h0"])
    want = ref.vrnn_loss(exported, np.asarray(x).transpose(1, 0, 2), np.asarray(eps))
    rel = abs(loss - want) / abs(want)
    good = rel < 1e-10
    ok &= good
    print(f"{'PASS' if good else 'FAIL'} loss vs NumPy reference: {loss:.12f} vs {want:.12f} (rel {rel:.1e})")

    grads = jax.grad(loss_fn)(params, x, eps)
    leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
    gleaves = jax.tree_util.tree_leaves(grads)
    rng = np.random.default_rng(2)
    worst, n_checked = 0.0, 0
    for i, ((path, leaf), g) in enumerate(zip(leaves, gleaves)):
        flat, gflat = np.asarray(leaf).ravel(), np.asarray(g).ravel()
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
    print(f"{'PASS' if good else 'FAIL'} gradient vs finite differences: {n_checked} entries, worst rel err {worst:.1e}")

    # The jitted train step runs in float64 too and lowers the loss on a fixed batch.
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=32, help="sequences per batch (B)")
    ap.add_argument("--steps", type=int, default=100, help="time steps per sequence (T)")
    ap.add_argument("--reps", type=int, default=10, help="timed training steps")
    ap.add_argument("--threads", type=int, default=None, help="limit XLA to N CPUs (affinity); default: all")
    ap.add_argument("--json", action="store_true", help="print one JSON object (see the module doc)")
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
        return check()
    if min(args.batch, args.steps, args.reps) < 1:
        ap.error("--batch, --steps and --reps must be at least 1")
    return bench(args)


if __name__ == "__main__":
    sys.exit(main())
