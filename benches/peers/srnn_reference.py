"""Naive float64 NumPy reference of neuromod's SRNN loss, used only by srnn_jax.py --check.

Written the slow, obvious way, as the Rust model's one-step API (`Srnn::filter_step`,
models/srnn/src/model.rs) runs it, with the default filtering posterior: at each step the
prior p(z_t | z_{t-1}, d_t), then d_{t+1} = GRU(x_t, d_t), the residual posterior
q(z_t | z_{t-1}, d_{t+1}) with mean mu_p + delta, z_t sampled, the emission
p(x_t | z_t, d_t). It shares no structure with the peer's restructured step (GRU scan,
contexts over all rows, latent-chain scan, emission over all rows).

Parameters: a dict mapping a layer name to (W [in, out], b [out]), plus the learned vectors
d0 [H] (the GRU's state before any observation, `Srnn::d0`) and z0 [Z] (z_0 of the chain).
The first layers of the prior and the posterior read [z_{t-1}, context]: the first Z rows of
their weights are z_{t-1}'s.
"""

import numpy as np

from vrnn_reference import gru, kl_plus_nll, sigmoid, softplus

SIGMA_MIN = 1e-4

IDENTITY = ()


def layer_shapes(D, H, Z, W):
    """(name, fan_in, fan_out); D = x_dim, H = h_dim (GRU state), Z = z_dim, W = hidden."""
    return [
        ("rnn.input", D, 3 * H),
        ("rnn.hidden", H, 3 * H),
        ("prior.0", Z + H, W),
        ("prior.mu", W, Z),
        ("prior.sigma", W, Z),
        ("posterior.0", Z + H, W),
        ("posterior.mu", W, Z),
        ("posterior.sigma", W, Z),
        ("emission.0", Z + H, W),
        ("emission.1", W, W),
        ("emission.out", W, D),
    ]


def vectors(D, H, Z, W):
    """Learned vectors (zero at initialisation): (name, size)."""
    return [("d0", H), ("z0", Z)]


def loss(p, x, eps):
    """Negative ELBO per step. x: [B, T, D] in {0, 1}; eps: [T, B, Z]."""
    relu = lambda a: np.maximum(a, 0.0)
    lin = lambda name, a: a @ p[name][0] + p[name][1]
    B, T, _ = x.shape
    d = np.broadcast_to(p["d0"], (B, p["d0"].shape[0]))
    z = np.broadcast_to(p["z0"], (B, p["z0"].shape[0]))
    total = 0.0
    for t in range(T):
        xt = x[:, t]
        # prior p(z_t | z_{t-1}, d_t)
        pr = relu(lin("prior.0", np.concatenate([z, d], 1)))
        mu_p, s_p = lin("prior.mu", pr), softplus(lin("prior.sigma", pr)) + SIGMA_MIN
        # d_{t+1} = GRU(x_t, d_t): the filtering posterior's a_t
        d_next = gru(p, "rnn", xt, d)
        # residual posterior: mu_q = mu_p + delta(z_{t-1}, a_t)
        q = relu(lin("posterior.0", np.concatenate([z, d_next], 1)))
        mu_q = mu_p + lin("posterior.mu", q)
        s_q = softplus(lin("posterior.sigma", q)) + SIGMA_MIN
        z = mu_q + s_q * eps[t]
        # emission p(x_t | z_t, d_t), Bernoulli logits
        e = relu(lin("emission.1", relu(lin("emission.0", np.concatenate([z, d], 1)))))
        logits = lin("emission.out", e)
        total += kl_plus_nll(xt, logits, mu_q, s_q, mu_p, s_p)
        d = d_next
    return total / (B * T)


def check_shapes():
    """Tiny shapes for the self-check: B, T, D, H, Z, W."""
    return dict(B=2, T=3, D=5, H=4, Z=3, W=6)
