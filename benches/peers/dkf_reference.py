"""Naive float64 NumPy reference of neuromod's DKF loss, used only by dkf_jax.py --check.

Written the slow, obvious way, as the Rust model's one-step API (`Dkf::filter_step`,
models/dkf/src/model.rs) runs it: at each step the guide GRU reads x_t, the combiner gives
q(z_t | z_{t-1}, g_t), z_t is sampled, the transition gives p(z_t | z_{t-1}) and the emission
p(x_t | z_t). It shares no structure with the peer's restructured step (GRU scan, combiner
scan, transition and emission over all rows at once).

Parameters: a dict mapping a layer name to (W [in, out], b [out]), plus the learned vectors
z0 [Z] (the generative chain's z_0), zq0 [Z] (the guide chain's z_0) and g0 [H] (the guide
GRU's first state).
"""

import numpy as np

from vrnn_reference import gru, kl_plus_nll, sigmoid, softplus

SIGMA_MIN = 1e-4

# Layers initialised to W = I, b = 0 instead of burn's uniform default.
IDENTITY = ("transition.linear",)


def layer_shapes(D, H, Z, W):
    """(name, fan_in, fan_out); D = x_dim, H = h_dim (guide GRU), Z = z_dim, W = hidden."""
    return [
        ("transition.gate_hidden", Z, W),
        ("transition.gate_out", W, Z),
        ("transition.proposal_hidden", Z, W),
        ("transition.proposal_out", W, Z),
        ("transition.linear", Z, Z),
        ("transition.sigma", Z, Z),
        ("emission.0", Z, W),
        ("emission.1", W, W),
        ("emission.out", W, D),
        ("rnn.input", D, 3 * H),
        ("rnn.hidden", H, 3 * H),
        ("combine", Z, H),
        ("posterior.mu", H, Z),
        ("posterior.sigma", H, Z),
    ]


def vectors(D, H, Z, W):
    """Learned vectors (zero at initialisation): (name, size)."""
    return [("z0", Z), ("zq0", Z), ("g0", H)]


def loss(p, x, eps):
    """Negative ELBO per step. x: [B, T, D] in {0, 1}; eps: [T, B, Z]."""
    relu = lambda a: np.maximum(a, 0.0)
    lin = lambda name, a: a @ p[name][0] + p[name][1]
    B, T, _ = x.shape
    z_gen = np.broadcast_to(p["z0"], (B, p["z0"].shape[0]))
    z_guide = np.broadcast_to(p["zq0"], (B, p["zq0"].shape[0]))
    g = np.broadcast_to(p["g0"], (B, p["g0"].shape[0]))
    total = 0.0
    for t in range(T):
        xt = x[:, t]
        # guide: g_t = GRU(x_t, g_{t-1}) (forward in time: the filtering guide)
        g = gru(p, "rnn", xt, g)
        # combiner q(z_t | z_{t-1}, g_t)
        c = 0.5 * (np.tanh(lin("combine", z_guide)) + g)
        mu_q, s_q = lin("posterior.mu", c), softplus(lin("posterior.sigma", c)) + SIGMA_MIN
        z = mu_q + s_q * eps[t]
        # gated transition p(z_t | z_{t-1})
        gate = sigmoid(lin("transition.gate_out", relu(lin("transition.gate_hidden", z_gen))))
        prop = lin("transition.proposal_out", relu(lin("transition.proposal_hidden", z_gen)))
        mu_p = (1.0 - gate) * lin("transition.linear", z_gen) + gate * prop
        s_p = softplus(lin("transition.sigma", relu(prop))) + SIGMA_MIN
        # emission p(x_t | z_t), Bernoulli logits
        logits = lin("emission.out", relu(lin("emission.1", relu(lin("emission.0", z)))))
        total += kl_plus_nll(xt, logits, mu_q, s_q, mu_p, s_p)
        z_gen = z_guide = z
    return total / (B * T)


def check_shapes():
    """Tiny shapes for the self-check: B, T, D, H, Z, W."""
    return dict(B=2, T=3, D=5, H=4, Z=3, W=6)
