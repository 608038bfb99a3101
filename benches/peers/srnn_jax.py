#!/usr/bin/env python3
"""JAX (jit + lax.scan) peer of neuromod's SRNN training step, for reference timings.

Usage:
    python3 benches/peers/srnn_jax.py [--batch 32] [--steps 100] [--reps 10]
                                      [--threads N] [--json] [--device cpu|cuda]
    python3 benches/peers/srnn_jax.py --check

The model `neuromod bench speed --model srnn --size bench` trains (models/srnn/src): x_dim
88 Bernoulli, GRU width h_dim 256, z_dim 32, hidden 256, the default filtering posterior,
dropout 0.
  * deterministic GRU: d_{t+1} = GRU(x_t, d_t) forward in time from a learned d0 (gates
    [r, u, n]); d_t is the state before x_t, a_t = d_{t+1} the state after it;
  * prior p(z_t | z_{t-1}, d_t): one ReLU layer of 256 on [z_{t-1}, d_t], then mu and
    sigma = softplus(.) + 1e-4;
  * residual ("Resq") posterior: one ReLU layer of 256 on [z_{t-1}, a_t], then delta and
    sigma_q = softplus(.) + 1e-4; mu_q = mu_p + delta; z_t = mu_q + sigma_q eps_t, the chain
    from a learned z0;
  * emission p(x_t | z_t, d_t): two ReLU layers of 256 on [z_t, d_t], then logits;
  * loss: sum over batch and time of KL(q || p) + Bernoulli NLL, divided by B*T.
As in the Rust model, the GRU runs first (its input projection over all rows, a lax.scan over
the hidden projection); the d_t and a_t parts of the prior's and the posterior's first layers
run over all rows; only the z_{t-1} part and the two heads run in the latent-chain lax.scan;
the KL and the emission run over all B*T rows. The step (value_and_grad, per-tensor clipping
to L2 norm 10, Adam lr 1e-3 with burn's defaults) is one jax.jit (peer_common.py). Output
contract, timing, threads and exit codes as vrnn_jax.py (benches/peers/README.md); the JSON
line also carries "model": "srnn".
"""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common as pc  # noqa: E402  (exits 3 when jax is missing; does not import jax)
import srnn_reference as ref  # noqa: E402  (numpy only)


def build(jax):
    """loss_fn(params, x [T, B, D], eps [T, B, Z]) -> negative ELBO per step."""
    jnp, lax = jax.numpy, jax.lax
    relu, softplus, sigmoid = jax.nn.relu, jax.nn.softplus, jax.nn.sigmoid
    sigma_min = ref.SIGMA_MIN

    def loss_fn(params, x, eps):
        T, B, D = x.shape
        H = params["d0"].shape[0]
        Z = params["z0"].shape[0]
        W = params["prior.0"]["w"].shape[1]

        def lin(name, a):
            return a @ params[name]["w"] + params[name]["b"]

        # Deterministic GRU: the input projection over all rows, the recurrence as a scan.
        gi_all = lin("rnn.input", x.reshape(T * B, D)).reshape(T, B, 3 * H)
        w_hh, b_hh = params["rnn.hidden"]["w"], params["rnn.hidden"]["b"]

        def gru_body(d, gi):
            gh = d @ w_hh + b_hh
            r = sigmoid(gi[:, :H] + gh[:, :H])
            u = sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
            n = jnp.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
            d = (1.0 - u) * n + u * d
            return d, d

        d0 = jnp.broadcast_to(params["d0"], (B, H))
        _, after = lax.scan(gru_body, d0, gi_all)  # after[t] = d_{t+1} = a_t
        before = jnp.concatenate([d0[None], after[:-1]], 0)  # before[t] = d_t
        before_f = before.reshape(T * B, H)

        # The context parts of both first layers (biases included) over all rows: [T, B, 2W].
        w_p, b_p = params["prior.0"]["w"], params["prior.0"]["b"]
        w_q, b_q = params["posterior.0"]["w"], params["posterior.0"]["b"]
        ctx = jnp.concatenate(
            [before_f @ w_p[Z:] + b_p, after.reshape(T * B, H) @ w_q[Z:] + b_q], 1
        ).reshape(T, B, 2 * W)
        w_z = jnp.concatenate([w_p[:Z], w_q[:Z]], 1)  # z_{t-1}'s rows of both: [Z, 2W]
        head = lambda n: (  # noqa: E731  [mu | pre-sigma] in one product
            jnp.concatenate([params[n + ".mu"]["w"], params[n + ".sigma"]["w"]], 1),
            jnp.concatenate([params[n + ".mu"]["b"], params[n + ".sigma"]["b"]], 0),
        )
        (hp_w, hp_b), (hq_w, hq_b) = head("prior"), head("posterior")

        def chain_body(z_prev, inp):
            c, eps_t = inp
            a = relu(z_prev @ w_z + c)
            hp = a[:, :W] @ hp_w + hp_b
            hq = a[:, W:] @ hq_w + hq_b
            mu_p = hp[:, :Z]
            s_p = softplus(hp[:, Z:]) + sigma_min
            mu_q = mu_p + hq[:, :Z]
            s_q = softplus(hq[:, Z:]) + sigma_min
            z = mu_q + s_q * eps_t
            return z, (mu_p, s_p, mu_q, s_q, z)

        z_init = jnp.broadcast_to(params["z0"], (B, Z))
        _, outs = lax.scan(chain_body, z_init, (ctx, eps))
        mu_p, s_p, mu_q, s_q, z_all = (o.reshape(T * B, Z) for o in outs)

        # Emission p(x_t | z_t, d_t) over all steps at once.
        e = relu(lin("emission.1", relu(lin("emission.0", jnp.concatenate([z_all, before_f], 1)))))
        logits = lin("emission.out", e)
        xf = x.reshape(T * B, D)
        return pc.kl_plus_nll(jnp, xf, logits, mu_q, s_q, mu_p, s_p) / (B * T)

    return loss_fn


if __name__ == "__main__":
    sys.exit(pc.main(__doc__, "srnn", build, ref))
