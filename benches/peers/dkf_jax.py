#!/usr/bin/env python3
"""JAX (jit + lax.scan) peer of neuromod's DKF training step, for reference timings.

Usage:
    python3 benches/peers/dkf_jax.py [--batch 32] [--steps 100] [--reps 10]
                                     [--threads N] [--json] [--device cpu|cuda]
    python3 benches/peers/dkf_jax.py --check

The model `neuromod bench speed --model dkf --size bench` trains (models/dkf/src): x_dim 88
Bernoulli, guide GRU width h_dim 256, z_dim 32, hidden 256, the default filtering guide.
  * guide: g_t = GRU(x_t, g_{t-1}) forward in time from a learned g0 (gates [r, u, n]);
  * combiner: c_t = (tanh(z_{t-1} W_c + b_c) + g_t) / 2, q(z_t) = N(c_t W_mu + b,
    softplus(c_t W_s + b) + 1e-4), z_t = mu + sigma eps_t, the chain from a learned zq0;
  * gated transition p(z_t | z_{t-1}) over [z0, z_1 .. z_{T-1}] (z0 learned):
    gate = sigmoid(W relu(W z + b) + b), prop = W relu(W z + b) + b,
    mu = (1 - gate) (z W_l + b_l) + gate prop (W_l = I, b_l = 0 at init),
    sigma = softplus(relu(prop) W_s + b_s) + 1e-4;
  * emission p(x_t | z_t): two ReLU layers of 256, then logits;
  * loss: sum over batch and time of KL(q || p) + Bernoulli NLL, divided by B*T.
Only the hidden projection of the GRU and the combiner run step by step (two lax.scans); the
GRU's input projection, the transition, the emission and the KL run over all B*T rows.
The step (value_and_grad, per-tensor clipping to L2 norm 10, Adam lr 1e-3 with burn's
defaults) is one jax.jit (peer_common.py). Output contract, timing, threads and exit codes
as vrnn_jax.py (benches/peers/README.md); the JSON line also carries "model": "dkf".
"""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common as pc  # noqa: E402  (exits 3 when jax is missing; does not import jax)
import dkf_reference as ref  # noqa: E402  (numpy only)


def build(jax):
    """loss_fn(params, x [T, B, D], eps [T, B, Z]) -> negative ELBO per step."""
    jnp, lax = jax.numpy, jax.lax
    relu, softplus, sigmoid = jax.nn.relu, jax.nn.softplus, jax.nn.sigmoid
    sigma_min = ref.SIGMA_MIN

    def loss_fn(params, x, eps):
        T, B, D = x.shape
        H = params["g0"].shape[0]
        Z = params["z0"].shape[0]

        def lin(name, a):
            return a @ params[name]["w"] + params[name]["b"]

        # Guide GRU: the input projection over all rows, the recurrence as a scan.
        gi_all = lin("rnn.input", x.reshape(T * B, D)).reshape(T, B, 3 * H)
        w_hh, b_hh = params["rnn.hidden"]["w"], params["rnn.hidden"]["b"]

        def gru_body(g, gi):
            gh = g @ w_hh + b_hh
            r = sigmoid(gi[:, :H] + gh[:, :H])
            u = sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
            n = jnp.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
            g = (1.0 - u) * n + u * g
            return g, g

        _, gs = lax.scan(gru_body, jnp.broadcast_to(params["g0"], (B, H)), gi_all)

        # Combiner chain: z_{t-1} -> q(z_t | z_{t-1}, g_t) -> z_t; both heads in one product.
        w_c, b_c = params["combine"]["w"], params["combine"]["b"]
        w_head = jnp.concatenate([params["posterior.mu"]["w"], params["posterior.sigma"]["w"]], 1)
        b_head = jnp.concatenate([params["posterior.mu"]["b"], params["posterior.sigma"]["b"]], 0)

        def comb_body(z_prev, inp):
            g_t, eps_t = inp
            c = 0.5 * (jnp.tanh(z_prev @ w_c + b_c) + g_t)
            hd = c @ w_head + b_head
            mu = hd[:, :Z]
            s = softplus(hd[:, Z:]) + sigma_min
            z = mu + s * eps_t
            return z, (mu, s, z)

        z_init = jnp.broadcast_to(params["zq0"], (B, Z))
        _, (mqs, sqs, zs) = lax.scan(comb_body, z_init, (gs, eps))
        mu_q, s_q, z_all = mqs.reshape(T * B, Z), sqs.reshape(T * B, Z), zs.reshape(T * B, Z)

        # Gated transition over all steps at once, from [z0, z_1 .. z_{T-1}].
        z_start = jnp.broadcast_to(params["z0"], (1, B, Z))
        z_before = jnp.concatenate([z_start, zs[:-1]], 0).reshape(T * B, Z)
        gate = sigmoid(lin("transition.gate_out", relu(lin("transition.gate_hidden", z_before))))
        prop = lin("transition.proposal_out", relu(lin("transition.proposal_hidden", z_before)))
        mu_p = (1.0 - gate) * lin("transition.linear", z_before) + gate * prop
        s_p = softplus(lin("transition.sigma", relu(prop))) + sigma_min

        # Emission over all steps at once.
        logits = lin("emission.out", relu(lin("emission.1", relu(lin("emission.0", z_all)))))
        xf = x.reshape(T * B, D)
        return pc.kl_plus_nll(jnp, xf, logits, mu_q, s_q, mu_p, s_p) / (B * T)

    return loss_fn


if __name__ == "__main__":
    sys.exit(pc.main(__doc__, "dkf", build, ref))
