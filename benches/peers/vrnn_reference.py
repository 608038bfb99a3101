"""Naive float64 NumPy reference of the VRNN loss, used only by the peers' `--check`.

Written the slow, obvious way (one time step at a time, prior and decoder inside
the loop) so that it shares no structure with the peers' restructured training
step: agreement with it shows that each peer's loss is the VRNN negative ELBO.

Parameters use one layout shared by both peers: a dict mapping a layer name to
(W [in, out], b [out]), plus "h0" -> [H]. Layer names: phi_x.0, phi_x.1, phi_z.0,
prior.0, prior.mu, prior.sigma, enc.0, enc.1, enc.mu, enc.sigma, dec.0, dec.1,
dec.out, gru.input, gru.hidden.

It also holds the NumPy pieces every reference shares (softplus, sigmoid, the GRU cell, the
per-step KL and Bernoulli NLL); the JAX peers share none of them.
"""

import numpy as np

SIGMA_MIN = 1e-4

# (name, fan_in, fan_out) as functions of the dimensions; the order is the peers' parameter order.
def layer_shapes(D, H, Z, W):
    return [
        ("phi_x.0", D, W),
        ("phi_x.1", W, W),
        ("phi_z.0", Z, W),
        ("prior.0", H, W),
        ("prior.mu", W, Z),
        ("prior.sigma", W, Z),
        ("enc.0", W + H, W),
        ("enc.1", W, W),
        ("enc.mu", W, Z),
        ("enc.sigma", W, Z),
        ("dec.0", W + H, W),
        ("dec.1", W, W),
        ("dec.out", W, D),
        ("gru.input", 2 * W, 3 * H),
        ("gru.hidden", H, 3 * H),
    ]


def softplus(a):
    return np.logaddexp(0.0, a)


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def gru(p, name, x, h):
    """PyTorch-style GRU cell, gates [r, u, n]: p[name + ".input"], p[name + ".hidden"]."""
    gi = np.split(x @ p[name + ".input"][0] + p[name + ".input"][1], 3, axis=1)
    gh = np.split(h @ p[name + ".hidden"][0] + p[name + ".hidden"][1], 3, axis=1)
    r = sigmoid(gi[0] + gh[0])
    u = sigmoid(gi[1] + gh[1])
    n = np.tanh(gi[2] + r * gh[2])
    return (1.0 - u) * n + u * h


def kl_plus_nll(x, logits, mu_q, s_q, mu_p, s_p):
    """KL(q || p) of diagonal Gaussians plus the Bernoulli NLL of x, summed."""
    nll = -np.sum(x * logits - softplus(logits))
    ratio = s_q / s_p
    kl = 0.5 * np.sum(ratio**2 + ((mu_q - mu_p) / s_p) ** 2 - 1.0 - 2.0 * np.log(ratio))
    return kl + nll


def vrnn_loss(p, x, eps):
    """Negative ELBO per step. x: [B, T, D] in {0, 1}; eps: [T, B, Z]."""
    relu = lambda a: np.maximum(a, 0.0)
    lin = lambda name, a: a @ p[name][0] + p[name][1]
    B, T, _ = x.shape
    H = p["h0"].shape[0]
    h = np.broadcast_to(p["h0"], (B, H))
    total = 0.0
    for t in range(T):
        xt = x[:, t]
        fx = relu(lin("phi_x.1", relu(lin("phi_x.0", xt))))
        # prior p(z_t | h_{t-1})
        pr = relu(lin("prior.0", h))
        mu_p, s_p = lin("prior.mu", pr), softplus(lin("prior.sigma", pr)) + SIGMA_MIN
        # posterior q(z_t | x_t, h_{t-1})
        e = relu(lin("enc.1", relu(lin("enc.0", np.concatenate([fx, h], 1)))))
        mu_q, s_q = lin("enc.mu", e), softplus(lin("enc.sigma", e)) + SIGMA_MIN
        z = mu_q + s_q * eps[t]
        fz = relu(lin("phi_z.0", z))
        # decoder p(x_t | z_t, h_{t-1}), Bernoulli logits
        d = relu(lin("dec.1", relu(lin("dec.0", np.concatenate([fz, h], 1)))))
        logits = lin("dec.out", d)
        total += kl_plus_nll(xt, logits, mu_q, s_q, mu_p, s_p)
        h = gru(p, "gru", np.concatenate([fx, fz], 1), h)
    return total / (B * T)


def check_shapes():
    """Tiny shapes for the self-check: B, T, D, H, Z, W."""
    return dict(B=2, T=3, D=5, H=4, Z=3, W=6)


def make_data(seed, B, T, D, p=0.1):
    """x ~ Bernoulli(p), [B, T, D] float32, the same in every peer for a given seed."""
    rng = np.random.default_rng(seed)
    return (rng.random((B, T, D)) < p).astype(np.float32)
