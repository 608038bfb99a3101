#!/usr/bin/env python3
"""PyTorch (eager) peer of the Rust VRNN training step, for reference timings.

Usage:
    python3 benches/peers/vrnn_torch.py [--batch 32] [--steps 100] [--reps 10]
                                        [--threads N] [--json] [--gru-cell]
                                        [--device cpu|cuda] [--compile]
    python3 benches/peers/vrnn_torch.py --check

Model (the bench config of the Rust VRNN): x_dim 88 (binary), h_dim 256, z_dim 32,
hidden width 256; phi_x D->W->W, phi_z Z->W, prior H->W + heads, encoder
[phi_x, h] 512->W->W + heads, decoder [phi_z, h] 512->W->W->D logits, hand-written
GRU cell (two Linear layers 512->768 and 256->768, gates [r, u, n]), learned h0.
Loss: sum over batch and time of KL + NLL, divided by batch * steps. One training
step = forward, backward, per-tensor gradient clipping to L2 norm 10, Adam
(lr 1e-3). `--steps` is the sequence length T (time steps per sequence); each
timed repetition is one optimiser step on a batch of `--batch` sequences.

Timing: 2 warm-up steps, then `--reps` timed steps, each ended by `loss.item()` (which waits
for the device). `--device cuda` runs on the first CUDA GPU; `--compile` wraps the loss in
`torch.compile` (forward and backward compiled; the warm-up steps compile, peer name
"pytorch-compiled"; the optimiser stays eager).

Output contract (stdout), relied on by benches/peers/run.py and the Rust CLI:
  * with --json: exactly one line, a JSON object with the keys
        {"peer": "pytorch-eager" (or "pytorch-eager-grucell" with --gru-cell),
         "batch": int, "steps": int, "median_s": float, "min_s": float,
         "reps": int, "threads": int, "version": "<torch.__version__>",
         "loss_first": float, "loss_last": float,
         "device": "cpu" or the CUDA device's name, "gpu_peak_mib": float or null}
    median_s / min_s are seconds per training step over the timed reps;
    loss_first / loss_last are the losses of the first and last timed steps;
    threads is torch.get_num_threads() as used.
  * without --json: a human-readable summary line and the per-step losses.
  * --check: tiny shapes, float64; prints PASS or FAIL lines.

Exit codes: 0 success (or --check PASS); 1 --check FAIL or an error;
3 skipped because torch (or numpy) is not installed (one line on stdout:
"skip: torch not installed (pip install -r benches/peers/requirements.txt)").
"""

import argparse
import json
import os
import statistics
import sys
import time

SKIP_EXIT = 3
HERE = os.path.dirname(os.path.abspath(__file__))
INSTALL_HINT = "pip install -r benches/peers/requirements.txt"

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import numpy as np
except ImportError as err:  # pragma: no cover - depends on the environment
    missing = getattr(err, "name", None) or "torch"
    print(f"skip: {missing} not installed ({INSTALL_HINT})")
    sys.exit(SKIP_EXIT)

sys.dont_write_bytecode = True  # leave no __pycache__ in the repo
sys.path.insert(0, HERE)
import vrnn_reference as ref  # noqa: E402  (numpy only)

PEER = "pytorch-eager"
SIGMA_MIN = 1e-4
CLIP = 10.0
LR = 1e-3


class Vrnn(nn.Module):
    def __init__(self, D, H, Z, W, gru_cell=False):
        super().__init__()
        self.dims = (D, H, Z, W)
        self.names = [name for name, _, _ in ref.layer_shapes(D, H, Z, W)]
        # nn.Linear's default init: weight and bias uniform in +-1/sqrt(fan_in).
        self.layers = nn.ModuleDict(
            {name.replace(".", "_"): nn.Linear(i, o) for name, i, o in ref.layer_shapes(D, H, Z, W)}
        )
        self.h0 = nn.Parameter(torch.zeros(H))
        self.gru_cell = nn.GRUCell(2 * W, H) if gru_cell else None
        if gru_cell:  # the library cell replaces the two hand-written GRU layers
            del self.layers["gru_input"], self.layers["gru_hidden"]

    def lin(self, name, a):
        return self.layers[name.replace(".", "_")](a)

    def gru(self, inp, h):
        if self.gru_cell is not None:
            return self.gru_cell(inp, h)
        gi = self.lin("gru.input", inp).chunk(3, 1)
        gh = self.lin("gru.hidden", h).chunk(3, 1)
        r = torch.sigmoid(gi[0] + gh[0])
        u = torch.sigmoid(gi[1] + gh[1])
        n = torch.tanh(gi[2] + r * gh[2])
        return (1.0 - u) * n + u * h

    def loss(self, x, eps):
        """x: [T, B, D] (time-major), eps: [T, B, Z] -> negative ELBO per step (scalar)."""
        T, B, D = x.shape
        _, H, _, W = self.dims
        # phi_x over all B*T rows at once.
        fx_all = F.relu(self.lin("phi_x.1", F.relu(self.lin("phi_x.0", x.reshape(T * B, D))))).reshape(T, B, W)
        h = self.h0.expand(B, H)
        hs, fzs, mqs, sqs = [], [], [], []
        for t in range(T):  # only the h-dependent chain
            fx = fx_all[t]
            e = F.relu(self.lin("enc.1", F.relu(self.lin("enc.0", torch.cat([fx, h], 1)))))
            mu_q = self.lin("enc.mu", e)
            s_q = F.softplus(self.lin("enc.sigma", e)) + SIGMA_MIN
            z = mu_q + s_q * eps[t]
            fz = F.relu(self.lin("phi_z.0", z))
            hs.append(h)
            fzs.append(fz)
            mqs.append(mu_q)
            sqs.append(s_q)
            h = self.gru(torch.cat([fx, fz], 1), h)
        h_prev = torch.stack(hs).reshape(T * B, H)
        fz_all = torch.stack(fzs).reshape(T * B, W)
        mu_q = torch.stack(mqs).reshape(T * B, -1)
        s_q = torch.stack(sqs).reshape(T * B, -1)
        # prior and decoder over all steps at once.
        pr = F.relu(self.lin("prior.0", h_prev))
        mu_p = self.lin("prior.mu", pr)
        s_p = F.softplus(self.lin("prior.sigma", pr)) + SIGMA_MIN
        d = F.relu(self.lin("dec.1", F.relu(self.lin("dec.0", torch.cat([fz_all, h_prev], 1)))))
        logits = self.lin("dec.out", d)
        xf = x.reshape(T * B, D)
        nll = -(xf * logits - F.softplus(logits)).sum()
        ratio = s_q / s_p
        kl = 0.5 * (ratio.square() + ((mu_q - mu_p) / s_p).square() - 1.0 - 2.0 * torch.log(ratio)).sum()
        return (kl + nll) / (B * T)

    def export(self):
        """Parameters in vrnn_reference's layout (float64 NumPy)."""
        out = {}
        for name in self.names:
            if self.gru_cell is not None and name.startswith("gru."):
                cell = self.gru_cell
                w, b = (cell.weight_ih, cell.bias_ih) if name == "gru.input" else (cell.weight_hh, cell.bias_hh)
            else:
                layer = self.layers[name.replace(".", "_")]
                w, b = layer.weight, layer.bias
            out[name] = (w.detach().double().T.numpy().copy(), b.detach().double().numpy().copy())
        out["h0"] = self.h0.detach().double().numpy().copy()
        return out


def clip_per_tensor(params, max_norm=CLIP):
    """Each gradient scaled by min(1, max_norm / (||g|| + 1e-6)) (Burn's per-parameter Norm clipping)."""
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p.grad.mul_(torch.clamp(max_norm / (p.grad.norm() + 1e-6), max=1.0))


def train_step(model, opt, params, x, Z):
    T, B, _ = x.shape
    eps = torch.randn(T, B, Z, dtype=x.dtype, device=x.device)  # fresh noise every training step
    opt.zero_grad(set_to_none=True)
    loss = model.loss(x, eps)
    loss.backward()
    clip_per_tensor(params)
    opt.step()
    return loss


def bench(args):
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    D, H, Z, W = args.x_dim, args.h_dim, args.z_dim, args.width
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda but torch sees no CUDA GPU", file=sys.stderr)
        return 1
    device = torch.device(args.device)
    model = Vrnn(D, H, Z, W, gru_cell=args.gru_cell).to(device)
    if args.compile:
        model.loss = torch.compile(model.loss)
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    x = torch.from_numpy(ref.make_data(args.seed, args.batch, args.steps, D)).transpose(0, 1).contiguous()
    x = x.to(device)
    for _ in range(2):  # warm-up
        train_step(model, opt, params, x, Z).item()
    times, losses = [], []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        loss = train_step(model, opt, params, x, Z).item()
        times.append(time.perf_counter() - t0)
        losses.append(loss)
    cuda = device.type == "cuda"
    peer = "pytorch-compiled" if args.compile else PEER
    result = {
        "peer": peer + ("-grucell" if args.gru_cell else ""),
        "batch": args.batch,
        "steps": args.steps,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "reps": args.reps,
        "threads": torch.get_num_threads(),
        "version": torch.__version__,
        "loss_first": losses[0],
        "loss_last": losses[-1],
        "device": torch.cuda.get_device_name(device) if cuda else "cpu",
        "gpu_peak_mib": torch.cuda.max_memory_allocated(device) / 2**20 if cuda else None,
    }
    report(result, losses, args.json)
    return 0


def report(result, losses, as_json):
    if as_json:
        print(json.dumps(result), flush=True)
    else:
        r = result
        print(
            f"{r['peer']} ({r['version']}): batch {r['batch']} x {r['steps']} steps, "
            f"{r['threads']} threads: median {r['median_s']:.4f} s/step, min {r['min_s']:.4f} s "
            f"over {r['reps']} reps; loss {r['loss_first']:.4f} -> {r['loss_last']:.4f}"
        )
        print("losses: " + " ".join(f"{v:.4f}" for v in losses))
    if len(losses) > 1 and not losses[-1] < losses[0]:
        print(f"warning: loss did not decrease ({losses[0]:.4f} -> {losses[-1]:.4f})", file=sys.stderr)



def check():
    """Loss vs the NumPy reference, autograd vs central finite differences, hand GRU vs nn.GRUCell."""
    s = ref.check_shapes()
    B, T, D, H, Z, W = s["B"], s["T"], s["D"], s["H"], s["Z"], s["W"]
    torch.manual_seed(0)
    ok = True
    x = torch.from_numpy(ref.make_data(1, B, T, D, p=0.4)).double().transpose(0, 1).contiguous()
    eps = torch.randn(T, B, Z, dtype=torch.float64)
    model = Vrnn(D, H, Z, W).double()
    with torch.no_grad():  # a non-zero h0 so its gradient path is exercised too
        model.h0.copy_(torch.randn(H, dtype=torch.float64) * 0.5)

    loss = model.loss(x, eps)
    want = ref.vrnn_loss(model.export(), x.transpose(0, 1).numpy(), eps.numpy())
    rel = abs(loss.item() - want) / abs(want)
    good = rel < 1e-10
    ok &= good
    print(f"{'PASS' if good else 'FAIL'} loss vs NumPy reference: {loss.item():.12f} vs {want:.12f} (rel {rel:.1e})")

    loss.backward()
    gen = torch.Generator().manual_seed(2)
    worst = 0.0
    n_checked = 0
    for name, p in model.named_parameters():
        flat, gflat = p.data.view(-1), p.grad.view(-1)
        for k in torch.randperm(flat.numel(), generator=gen)[:3].tolist():
            h = 1e-6
            orig = flat[k].item()
            with torch.no_grad():
                flat[k] = orig + h
                up = model.loss(x, eps).item()
                flat[k] = orig - h
                down = model.loss(x, eps).item()
                flat[k] = orig
            fd = (up - down) / (2 * h)
            err = abs(fd - gflat[k].item()) / max(abs(fd), abs(gflat[k].item()), 1e-3)
            worst = max(worst, err)
            n_checked += 1
            if err > 1e-5:
                ok = False
                print(f"FAIL grad {name}[{k}]: autograd {gflat[k].item():.9e} vs fd {fd:.9e}")
    good = worst <= 1e-5
    print(f"{'PASS' if good else 'FAIL'} gradient vs finite differences: {n_checked} entries, worst rel err {worst:.1e}")

    # The hand-written GRU cell equals torch.nn.GRUCell with the same weights (gate order [r, u, n]).
    cell = nn.GRUCell(2 * W, H).double()
    with torch.no_grad():
        cell.weight_ih.copy_(model.layers["gru_input"].weight)
        cell.bias_ih.copy_(model.layers["gru_input"].bias)
        cell.weight_hh.copy_(model.layers["gru_hidden"].weight)
        cell.bias_hh.copy_(model.layers["gru_hidden"].bias)
        inp, h = torch.randn(B, 2 * W, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64)
        diff = (cell(inp, h) - model.gru(inp, h)).abs().max().item()
    good = diff < 1e-12
    ok &= good
    print(f"{'PASS' if good else 'FAIL'} hand-written GRU vs nn.GRUCell: max abs diff {diff:.1e}")

    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=32, help="sequences per batch (B)")
    ap.add_argument("--steps", type=int, default=100, help="time steps per sequence (T)")
    ap.add_argument("--reps", type=int, default=10, help="timed training steps")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads(N); default: torch's")
    ap.add_argument("--json", action="store_true", help="print one JSON object (see the module doc)")
    ap.add_argument("--check", action="store_true", help="gradient self-check on tiny shapes, float64")
    ap.add_argument("--gru-cell", action="store_true", help="variant: torch.nn.GRUCell instead of the hand cell")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where to run")
    ap.add_argument("--compile", action="store_true", help="torch.compile the loss (forward and backward)")
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
