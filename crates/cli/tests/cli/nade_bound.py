#!/usr/bin/env python3
"""Independent numpy recomputation of a VRNN's ELBO with a NADE decoder.

Usage: python3 nade_bound.py WEIGHTS.safetensors SIGNALS.safetensors EXPECTED [TOL] [SAMPLES]

WEIGHTS is `neuromod export` (tensors `vrnn.*`, training config JSON in metadata["config"]),
SIGNALS is `neuromod signals --out X.safetensors` (only its "x" [n, T, D] and "mask" [n, T]
are read), EXPECTED is `neuromod eval --json`'s nll_per_step on the same split. Exits 1 when
|numpy - EXPECTED| > TOL (default 0.05 nats), 2 on a config this script does not cover.

Model (Chung et al. 2015, "A Recurrent Latent Variable Model for Sequential Data"), per step t
with h_{-1} the learned vector vrnn.h0 and every MLP layer Linear + ReLU:
  fx = phi_x(x_t); fz = phi_z(z_t)
  prior     p(z_t | h_{t-1})        = N(mu, sigma^2) from prior.trunk(h_{t-1})
  posterior q(z_t | x_t, h_{t-1})   = N(mu, sigma^2) from encoder.trunk([fx, h_{t-1}])
  decoder   p(x_t | z_t, h_{t-1})   from decoder.trunk([fz, h_{t-1}])  (heads: no ReLU)
  h_t = GRU([fx, fz], h_{t-1})  (PyTorch formulation, gates [r, u, n] along the output axis)
Gaussian heads: mu = a @ W_mu + b_mu, sigma = softplus(a @ W_s + b_s) + sigma_min.
Decoder likelihood: NADE (Larochelle & Murray 2011) conditioned as in RNN-NADE
(Boulanger-Lewandowski et al. 2012): visible biases b = decoder.mu(a), hidden biases
c = decoder.nade.hidden_bias(a), and with W, V [D, H]
  log p(x) = sum_d log Bernoulli(x_d | sigmoid(b_d + V_d . sigmoid(c + sum_{k<d} x_k W_k))).
Bound (what `neuromod eval` reports): sum over real steps (mask 1) of analytic KL(q || p)
(beta = 1) plus -log p(x_t | z_t, h_{t-1}) with one reparameterised z_t ~ q per step, divided
by the number of real steps. Dropout is off at evaluation. Burn stores Linear weights as
[in, out]: y = x @ W + b (no transpose).

Here SAMPLES (default 64) independent latent paths per sequence are drawn (float64, fixed
seed); each gives one estimate of the per-step bound over the whole split, and the script
prints their mean and standard error.
"""
import json
import sys

import numpy as np
from safetensors import safe_open

SEED = 20240611


def refuse(msg):
    print(f"nade_bound: refused: {msg}", file=sys.stderr)
    sys.exit(2)


def load_weights(path):
    """Tensors as float64 under their names without the "vrnn." prefix, and the model config."""
    with safe_open(path, "np") as f:
        meta = f.metadata() or {}
        if not meta.get("format", "").startswith("neuromod-vrnn/"):
            refuse(f"{path}: format {meta.get('format')!r} is not a neuromod VRNN export")
        cfg = json.loads(meta["config"])
        p = {k[len("vrnn."):]: f.get_tensor(k).astype(np.float64)
             for k in f.keys() if k.startswith("vrnn.")}
    m = cfg.get("model", {})
    if cfg.get("kind") != "vrnn":
        refuse(f"model kind {cfg.get('kind')!r}: only the VRNN is covered")
    if m.get("likelihood") != "nade":
        refuse(f"likelihood {m.get('likelihood')!r}: only the NADE likelihood is covered")
    if m.get("action_dim", 0) != 0:
        refuse("action_dim > 0: the signals export carries no actions")
    if "decoder.nade.w" not in p or "decoder.sigma.weight" in p:
        refuse("the export has no NADE decoder (decoder.nade.*) or has a Gaussian sigma head")
    return p, m


def mlp(p, prefix, x):
    """Linear + ReLU after every layer `prefix.layers.{i}` (none: the identity)."""
    i = 0
    while f"{prefix}.layers.{i}.weight" in p:
        x = np.maximum(x @ p[f"{prefix}.layers.{i}.weight"] + p[f"{prefix}.layers.{i}.bias"], 0.0)
        i += 1
    return x


def linear(p, prefix, x):
    return x @ p[f"{prefix}.weight"] + p[f"{prefix}.bias"]


def softplus(a):
    return np.logaddexp(0.0, a)


def sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))  # overflow-free


def gaussian_head(p, prefix, inp, sigma_min):
    a = mlp(p, f"{prefix}.trunk", inp)
    return linear(p, f"{prefix}.mu", a), softplus(linear(p, f"{prefix}.sigma", a)) + sigma_min


def kl_diag(mq, sq, mp, sp):
    """KL(N(mq, sq^2) || N(mp, sp^2)) summed over the last axis."""
    r = (sq / sp) ** 2
    return 0.5 * np.sum(r + ((mq - mp) / sp) ** 2 - 1.0 - np.log(r), axis=-1)


def nade_log_prob(b, c, x, w, v):
    """log p(x) per row: b [N, D] visible biases, c [N, H] hidden biases, x [N, D], W, V [D, H].
    Runs the keys in order with the running hidden pre-activation a = c + sum_{k<d} x_k W_k."""
    a = c.copy()
    lp = np.zeros(x.shape[0])
    for d in range(x.shape[1]):
        logit = b[:, d] + sigmoid(a) @ v[d]
        lp += x[:, d] * logit - softplus(logit)  # log Bernoulli(x_d | sigmoid(logit))
        on = x[:, d] != 0.0
        if on.any():
            a[on] += x[on, d][:, None] * w[d]
    return lp


def gru(p, inp, h):
    """PyTorch GRU cell, gates [r, u, n]: h' = (1 - u) n + u h."""
    gi, gh = linear(p, "rnn.input", inp), linear(p, "rnn.hidden", h)
    k = h.shape[1]
    r = sigmoid(gi[:, :k] + gh[:, :k])
    u = sigmoid(gi[:, k:2 * k] + gh[:, k:2 * k])
    n = np.tanh(gi[:, 2 * k:] + r * gh[:, 2 * k:])
    return (1.0 - u) * n + u * h


def bound(p, m, x, mask, samples, rng):
    """Per latent sample: (sum of KL, sum of NLL) over all real steps, each [samples]."""
    n, t_len, d = x.shape
    sig_min = m["sigma_min"]
    z_dim = p["prior.mu.weight"].shape[1]
    w, v = p["decoder.nade.w"], p["decoder.nade.v"]
    # Rows are (sample, sequence) pairs: row s * n + i is latent path s of sequence i.
    h = np.tile(p["h0"], (samples * n, 1))
    kl_sum, nll_sum = np.zeros(samples), np.zeros(samples)
    for t in range(t_len):
        xt = np.tile(x[:, t], (samples, 1))
        mt = np.tile(mask[:, t], samples)
        fx = mlp(p, "phi_x", xt)
        mp, sp = gaussian_head(p, "prior", h, sig_min)
        mq, sq = gaussian_head(p, "encoder", np.concatenate([fx, h], 1), sig_min)
        z = mq + sq * rng.standard_normal((samples * n, z_dim))
        fz = mlp(p, "phi_z", z)
        live = mt > 0  # padding comes after a sequence's real steps: skip its decoder work
        if live.any():
            a = mlp(p, "decoder.trunk", np.concatenate([fz, h], 1)[live])
            b, c = linear(p, "decoder.mu", a), linear(p, "decoder.nade.hidden_bias", a)
            nll = np.zeros(samples * n)
            nll[live] = -nade_log_prob(b, c, xt[live], w, v)
            kl = kl_diag(mq, sq, mp, sp) * mt
            kl_sum += kl.reshape(samples, n).sum(1)
            nll_sum += (nll * mt).reshape(samples, n).sum(1)
        h = gru(p, np.concatenate([fx, fz], 1), h)
    return kl_sum, nll_sum


def main(argv):
    if len(argv) not in (4, 5, 6):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    try:
        expected = float(argv[3])
        tol = float(argv[4]) if len(argv) > 4 else 0.05
        samples = int(argv[5]) if len(argv) > 5 else 64
    except ValueError as e:
        refuse(f"bad number on the command line: {e}")
    if samples < 2:
        refuse("SAMPLES must be at least 2 (the standard error needs two)")
    p, m = load_weights(argv[1])
    with safe_open(argv[2], "np") as f:
        x = f.get_tensor("x").astype(np.float64)
        mask = f.get_tensor("mask").astype(np.float64)
    if x.shape[2] != m["x_dim"] or mask.shape != x.shape[:2]:
        refuse(f"signals x {x.shape} / mask {mask.shape} do not match x_dim {m['x_dim']}")
    if not np.all((x == 0.0) | (x == 1.0)):
        refuse("x is not binary: NADE is a Bernoulli model")
    steps = mask.sum()
    kl, nll = bound(p, m, x, mask, samples, np.random.default_rng(SEED))
    per = (kl + nll) / steps  # one estimate of the per-step bound per latent sample
    mean, se = per.mean(), per.std(ddof=1) / np.sqrt(samples)
    print(f"numpy {mean:.6f} +- {se:.6f} neuromod {expected:.6f} "
          f"(kl {kl.mean() / steps:.6f} rec {nll.mean() / steps:.6f}; {samples} samples, "
          f"{int(steps)} steps)")
    if not abs(mean - expected) <= tol:
        print(f"nade_bound: MISMATCH: |numpy {mean:.6f} - neuromod {expected:.6f}| = "
              f"{abs(mean - expected):.6f} > tolerance {tol}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv)
