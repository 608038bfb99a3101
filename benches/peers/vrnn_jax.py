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
per-tensor clipping g * min(1, 10 / (||g|| + 1e-6)), hand-written Adam lr 1e-3
with the same formula and epsilon (1e-8) as torch.optim.Adam) is one jax.jit with
the parameters and Adam state donated (peer_common.py, which the DKF and SRNN
peers share; they use burn's epsilon and clipping constant instead). `--steps`
is the sequence length T; each timed repetition is one optimiser step on a batch
of `--batch` sequences.

Timing: 2 warm-up steps (the first includes compilation), then `--reps` timed
steps, each ended by jax.block_until_ready on (loss, params).

Threads: XLA's CPU thread pool is sized from the CPUs this process may run on,
so --threads N restricts the process's CPU affinity to N CPUs before JAX is
imported (and for N = 1 also sets XLA_FLAGS=--xla_cpu_multi_thread_eigen=false).
The reported "threads" is the number of CPUs in the affinity mask. The same can
be done from outside with `taskset -c 0 python3 ...`.

Output contract (stdout), relied on by benches/peers/run.py and the Rust CLI:
  * with --json: exactly one line, a JSON object with the keys
        {"peer": "jax-jit-scan", "model": "vrnn", "batch": int, "steps": int,
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

import os
import sys
import types

sys.dont_write_bytecode = True  # leave no __pycache__ in the repo
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common as pc  # noqa: E402  (exits 3 when jax is missing; does not import jax)
import vrnn_reference  # noqa: E402  (numpy only)

# vrnn_reference in the form peer_common expects (no identity layers; one learned vector, h0).
ref = types.SimpleNamespace(
    SIGMA_MIN=vrnn_reference.SIGMA_MIN,
    IDENTITY=(),
    layer_shapes=vrnn_reference.layer_shapes,
    vectors=lambda D, H, Z, W: [("h0", H)],
    loss=vrnn_reference.vrnn_loss,
    check_shapes=vrnn_reference.check_shapes,
)
# torch.optim.Adam's epsilon and the clipping constant of vrnn_torch.py (not burn's).
ADAM_EPS, CLIP_TINY = 1e-8, 1e-6


def build(jax):
    """loss_fn(params, x [T, B, D], eps [T, B, Z]) -> negative ELBO per step."""
    jnp, lax = jax.numpy, jax.lax
    relu, softplus = jax.nn.relu, jax.nn.softplus
    sigma_min = ref.SIGMA_MIN

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
            s_q = softplus(lin("enc.sigma", e)) + sigma_min
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
        s_p = softplus(lin("prior.sigma", pr)) + sigma_min
        d = relu(lin("dec.1", relu(lin("dec.0", jnp.concatenate([fz_all, h_prev], 1)))))
        logits = lin("dec.out", d)
        xf = x.reshape(T * B, D)
        return pc.kl_plus_nll(jnp, xf, logits, mu_q, s_q, mu_p, s_p) / (B * T)

    return loss_fn


if __name__ == "__main__":
    sys.exit(pc.main(__doc__, "vrnn", build, ref, adam_eps=ADAM_EPS, clip_tiny=CLIP_TINY))
