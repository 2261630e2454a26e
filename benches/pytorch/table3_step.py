#!/usr/bin/env python3
"""One SN-GAN training step of the paper's Table 3 standard CNN (CIFAR-10, M = 32), in PyTorch.

This is the PyTorch side of a side-by-side comparison with the Rust bench `table3_step` (to be
written): both must build the same networks (the parameter counts printed here are asserted
against hand-computed values and must match the Rust implementation's) and time the same steps,
defined below. Run both on the same machine, with the same thread count, in one session.

Networks (Miyato et al., ICLR 2018, Table 3; the paper's variant, not chainer-gan-lib's):
  G: z in R^128 -> Linear -> 512x4x4 (no BN/ReLU after the dense layer)
     -> ConvT 4x4 s2 p1 -> 256, BN, ReLU -> ConvT -> 128, BN, ReLU -> ConvT -> 64, BN, ReLU
     -> Conv 3x3 s1 p1 -> 3, Tanh                                    (output 3x32x32)
  D: Conv 3x3 s1 -> 64, Conv 4x4 s2 -> 64, 3x3 -> 128, 4x4 s2 -> 128, 3x3 -> 256, 4x4 s2 -> 256,
     3x3 -> 512 (padding 1, each followed by LeakyReLU(0.1)), flatten 512*4*4 = 8192 (C,H,W
     order) -> Linear -> 1.  With spectral normalization (config d_sn, or --sn for the G step)
     every D layer, the dense one included, is wrapped in
     torch.nn.utils.parametrizations.spectral_norm(n_power_iterations=1).
  Biases on every layer. PyTorch's default initialisation (it does not affect timings).
  --width w multiplies every hidden channel count (512/256/128/64) by w, rounded half up
  (minimum 1); the image channels (3), z (128) and the 4x4 spatial size are fixed.

Measured steps (f32, training mode, batch as in the paper's CIFAR runs):
  d_plain / d_sn  (one discriminator update, D without / with SN):
      zero_grad; z ~ N(0, I) (64 x 128); fake = G(z) under torch.no_grad() (G in training mode,
      so BN uses batch statistics); D on the 64 fixed real images (N(0,1), 3x32x32, seed 0) and
      the 64 fakes; hinge loss mean(relu(1 - D(real))) + mean(relu(1 + D(fake))); backward;
      Adam(lr 2e-4, betas (0.5, 0.999)) step on D.  G's no-grad forward is inside the timing.
      By default real and fake go through D as ONE forward of the concatenated 128-image batch;
      --separate does two 64-image forwards instead.
  g  (one generator update):
      zero_grad; z ~ N(0, I) (128 x 128); loss = -mean D(G(z)); backward; Adam step on G only.
      D's parameters have requires_grad = False during this step, so only input gradients flow
      through D (no D weight gradients are computed). D is plain unless --sn is given; with --sn
      its layers run their power iteration in this step too (as in training).
  Each config: --warmup untimed steps, then --steps timed ones (time.perf_counter around the
  whole step); the median is reported, and for d_sn the ratio d_sn / d_plain when both ran.

Usage (from the workspace root):
    python3 benches/pytorch/table3_step.py --threads 2 --json
    python3 benches/pytorch/table3_step.py --threads 2 --channels-last --configs d_plain,d_sn
    python3 benches/pytorch/table3_step.py --width 0.25 --steps 2 --warmup 1 --verbose
With --json, stdout carries only the JSON lines (one per measured config); the human-readable
tables go to stderr.
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

Z_DIM = 128
BATCH_D = 64  # real images per D step (and as many fakes)
BATCH_G = 128  # samples per G step
LR, BETAS = 2e-4, (0.5, 0.999)  # Table 1, setting C
LEAK = 0.1

# Hand-computed parameter counts at width 1.0 (weights + biases; BN gamma + beta; BN running
# statistics and SN's u, v are buffers, not parameters, and are not counted).
#
# Generator:
#   dense     128 -> 4*4*512 = 8192     128*8192 + 8192        = 1,056,768
#   deconv1   512 -> 256, 4x4           512*256*16 + 256       = 2,097,408
#   bn1       256                       2*256                  =       512
#   deconv2   256 -> 128, 4x4           256*128*16 + 128       =   524,416
#   bn2       128                       2*128                  =       256
#   deconv3   128 -> 64, 4x4            128*64*16 + 64         =   131,136
#   bn3       64                        2*64                   =       128
#   conv_out  64 -> 3, 3x3              64*3*9 + 3             =     1,731
#   total                                                      = 3,812,355
#
# Discriminator:
#   conv1     3 -> 64, 3x3              3*64*9 + 64            =     1,792
#   conv2     64 -> 64, 4x4             64*64*16 + 64          =    65,600
#   conv3     64 -> 128, 3x3            64*128*9 + 128         =    73,856
#   conv4     128 -> 128, 4x4           128*128*16 + 128       =   262,272
#   conv5     128 -> 256, 3x3           128*256*9 + 256        =   295,168
#   conv6     256 -> 256, 4x4           256*256*16 + 256       = 1,048,832
#   conv7     256 -> 512, 3x3           256*512*9 + 512        = 1,180,160
#   dense     8192 -> 1                 8192 + 1               =     8,193
#   total                                                      = 2,935,873
#
# With SN the parameter count is the same (the raw W is the parameter); the SN state is
# u in R^{d_out} and v in R^{d_in*kh*kw} per layer (buffers; for ConvTranspose it would be
# dim 1, but D has none).
EXPECTED_G = {
    "dense": 1_056_768, "deconv1": 2_097_408, "bn1": 512, "deconv2": 524_416, "bn2": 256,
    "deconv3": 131_136, "bn3": 128, "conv_out": 1_731,
}
EXPECTED_D = {
    "conv1": 1_792, "conv2": 65_600, "conv3": 73_856, "conv4": 262_272, "conv5": 295_168,
    "conv6": 1_048_832, "conv7": 1_180_160, "dense": 8_193,
}
assert sum(EXPECTED_G.values()) == 3_812_355
assert sum(EXPECTED_D.values()) == 2_935_873


def ch(c, width):
    """Channel count c scaled by width, rounded half up, at least 1."""
    return max(1, int(math.floor(c * width + 0.5)))


class Generator(nn.Module):
    def __init__(self, width=1.0, channels_last=False):
        super().__init__()
        c512, c256, c128, c64 = (ch(c, width) for c in (512, 256, 128, 64))
        self.c512 = c512
        self.channels_last = channels_last
        self.dense = nn.Linear(Z_DIM, 4 * 4 * c512)
        self.deconv1 = nn.ConvTranspose2d(c512, c256, 4, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(c256)
        self.deconv2 = nn.ConvTranspose2d(c256, c128, 4, stride=2, padding=1)
        self.bn2 = nn.BatchNorm2d(c128)
        self.deconv3 = nn.ConvTranspose2d(c128, c64, 4, stride=2, padding=1)
        self.bn3 = nn.BatchNorm2d(c64)
        self.conv_out = nn.Conv2d(c64, 3, 3, stride=1, padding=1)

    def forward(self, z):
        h = self.dense(z).view(-1, self.c512, 4, 4)  # paper's variant: no BN/ReLU here
        if self.channels_last:
            h = h.contiguous(memory_format=torch.channels_last)
        h = F.relu(self.bn1(self.deconv1(h)))
        h = F.relu(self.bn2(self.deconv2(h)))
        h = F.relu(self.bn3(self.deconv3(h)))
        return torch.tanh(self.conv_out(h))


class Discriminator(nn.Module):
    # (name, out channels before width scaling, kernel, stride)
    CONVS = [
        ("conv1", 64, 3, 1), ("conv2", 64, 4, 2), ("conv3", 128, 3, 1), ("conv4", 128, 4, 2),
        ("conv5", 256, 3, 1), ("conv6", 256, 4, 2), ("conv7", 512, 3, 1),
    ]

    def __init__(self, width=1.0, sn=False):
        super().__init__()
        wrap = (lambda m: nn.utils.parametrizations.spectral_norm(m, n_power_iterations=1)) \
            if sn else (lambda m: m)
        c_in = 3
        for name, c, k, s in self.CONVS:
            c_out = ch(c, width)
            setattr(self, name, wrap(nn.Conv2d(c_in, c_out, k, stride=s, padding=1)))
            c_in = c_out
        self.dense = wrap(nn.Linear(c_in * 4 * 4, 1))

    def forward(self, x):
        h = x
        for name, _, _, _ in self.CONVS:
            h = F.leaky_relu(getattr(self, name)(h), LEAK)
        return self.dense(torch.flatten(h, 1))  # (C, H, W) order


def layer_params(model):
    """{top-level layer name: number of trainable parameters} in definition order."""
    out = {}
    for pname, p in model.named_parameters():
        out[pname.split(".")[0]] = out.get(pname.split(".")[0], 0) + p.numel()
    return out


def sn_state(model):
    """{layer: (u numel, v numel)} for SN-wrapped layers."""
    out = {}
    for name, m in model.named_children():
        if hasattr(m, "parametrizations"):
            p = m.parametrizations.weight[0]
            out[name] = (p._u.numel(), p._v.numel())
    return out


def count_macs(g, d):
    """Multiply-adds per image of one forward, from the layers' shapes (hooks on a 1-image run)."""
    macs = {}

    def hook(name):
        def f(m, inp, out):
            x = inp[0]
            if isinstance(m, nn.ConvTranspose2d):
                n = x.shape[2] * x.shape[3] * m.in_channels * m.out_channels * m.kernel_size[0] * m.kernel_size[1]
            elif isinstance(m, nn.Conv2d):
                n = out.shape[2] * out.shape[3] * m.in_channels * m.out_channels * m.kernel_size[0] * m.kernel_size[1]
            elif isinstance(m, nn.Linear):
                n = m.in_features * m.out_features
            else:
                return
            macs[name] = n
        return f

    handles = []
    for prefix, model in (("G", g), ("D", d)):
        for name, m in model.named_children():
            handles.append(m.register_forward_hook(hook(f"{prefix}.{name}")))
    was = g.training, d.training
    g.eval(), d.eval()
    with torch.no_grad():
        d(g(torch.zeros(1, Z_DIM)))
    g.train(was[0]), d.train(was[1])
    for h in handles:
        h.remove()
    return macs


def d_step(g, d, opt, real, separate, gen):
    opt.zero_grad(set_to_none=True)
    z = torch.randn(BATCH_D, Z_DIM, generator=gen)
    with torch.no_grad():
        fake = g(z)
    if separate:
        # Two forwards: with SN, each forward runs its own power iteration (u is updated twice
        # per step) and the real and fake halves see slightly different W_bar.
        out_real, out_fake = d(real), d(fake)
    else:
        # ONE forward of the concatenated 128-image batch: with SN, the power iteration runs
        # once, and real and fake see the same W_bar (and the same u) in one graph.
        out = d(torch.cat([real, fake], 0))
        out_real, out_fake = out[:BATCH_D], out[BATCH_D:]
    loss = F.relu(1.0 - out_real).mean() + F.relu(1.0 + out_fake).mean()
    loss.backward()
    opt.step()
    return loss


def g_step(g, d, opt, gen):
    opt.zero_grad(set_to_none=True)
    z = torch.randn(BATCH_G, Z_DIM, generator=gen)
    loss = -d(g(z)).mean()
    loss.backward()  # D's params have requires_grad=False: only input grads flow through D
    opt.step()
    return loss


def time_steps(fn, warmup, steps):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    s = sorted(times)
    n = len(s)
    median = s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])
    return median, times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--width", type=float, default=1.0, help="channel multiplier (default 1.0)")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--channels-last", action="store_true", help="models and inputs in channels_last")
    ap.add_argument("--separate", action="store_true", help="D step: two forwards (real, fake) instead of one")
    ap.add_argument("--sn", action="store_true", help="config g: D wrapped in spectral_norm")
    ap.add_argument("--steps", type=int, default=5, help="timed steps per config (median reported)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps before timing")
    ap.add_argument("--configs", default="d_plain,d_sn,g", help="comma-separated subset of d_plain,d_sn,g")
    ap.add_argument("--json", action="store_true", help="one JSON line per config on stdout (tables to stderr)")
    ap.add_argument("--verbose", action="store_true", help="per-layer parameter counts and MACs")
    args = ap.parse_args()

    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for c in configs:
        if c not in ("d_plain", "d_sn", "g"):
            ap.error(f"unknown config {c!r}; pick from d_plain, d_sn, g")
    if args.steps < 1 or args.warmup < 0:
        ap.error("--steps must be >= 1 and --warmup >= 0")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    log = sys.stderr if args.json else sys.stdout

    def say(*a):
        print(*a, file=log, flush=True)

    mf = torch.channels_last if args.channels_last else torch.contiguous_format
    torch.manual_seed(0)
    g = Generator(args.width, args.channels_last).to(memory_format=mf)
    d_plain = Discriminator(args.width, sn=False).to(memory_format=mf)
    d_sn = Discriminator(args.width, sn=True).to(memory_format=mf)

    # ---- parameter counts ----
    gp, dp, dsp = layer_params(g), layer_params(d_plain), layer_params(d_sn)
    g_total, d_total = sum(gp.values()), sum(dp.values())
    assert dp == dsp, "SN must not change the parameter count"
    assert g_total == sum(p.numel() for p in g.parameters())
    if args.width == 1.0:
        assert gp == EXPECTED_G, f"G parameter counts {gp} != hand-computed {EXPECTED_G}"
        assert dp == EXPECTED_D, f"D parameter counts {dp} != hand-computed {EXPECTED_D}"
    say(f"torch {torch.__version__}, threads {torch.get_num_threads()}, width {args.width}, "
        f"{'channels_last' if args.channels_last else 'NCHW'}, "
        f"D step: {'two forwards (real, fake)' if args.separate else 'one forward of the 128-image batch'}")
    say(f"parameters: G {g_total:,}   D {d_total:,}   (D with SN: same; SN adds u, v buffers)"
        + ("   [match the hand-computed width-1.0 counts]" if args.width == 1.0 else ""))
    if args.verbose:
        macs = count_macs(g, d_plain)
        sn = sn_state(d_sn)
        say("\n| layer | parameters | MACs / image (forward) | SN u, v |")
        say("|---|---|---|---|")
        for prefix, counts in (("G", gp), ("D", dp)):
            for name, n in counts.items():
                key = f"{prefix}.{name}"
                m = f"{macs[key]:,}" if key in macs else "–"
                s = f"{sn[name][0]}, {sn[name][1]}" if prefix == "D" and name in sn else "–"
                say(f"| {key} | {n:,} | {m} | {s} |")
        gm = sum(v for k, v in macs.items() if k.startswith("G."))
        dm = sum(v for k, v in macs.items() if k.startswith("D."))
        say(f"| G total | {g_total:,} | {gm:,} | |")
        say(f"| D total | {d_total:,} | {dm:,} | |\n")

    # ---- data ----
    real = torch.randn(BATCH_D, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    real = real.contiguous(memory_format=mf)
    gen = torch.Generator().manual_seed(1)  # z stream

    # shape checks
    g.train()
    with torch.no_grad():
        x = g(torch.randn(2, Z_DIM, generator=torch.Generator().manual_seed(2)))
        assert x.shape == (2, 3, 32, 32), x.shape
        assert d_plain(x).shape == (2, 1)

    results = {}
    for cfg in configs:
        if cfg in ("d_plain", "d_sn"):
            d = d_sn if cfg == "d_sn" else d_plain
            g.train(), d.train()
            opt = torch.optim.Adam(d.parameters(), lr=LR, betas=BETAS)
            med, times = time_steps(lambda: d_step(g, d, opt, real, args.separate, gen), args.warmup, args.steps)
        else:
            d = d_sn if args.sn else d_plain
            g.train(), d.train()
            for p in d.parameters():
                p.requires_grad_(False)
            opt = torch.optim.Adam(g.parameters(), lr=LR, betas=BETAS)
            med, times = time_steps(lambda: g_step(g, d, opt, gen), args.warmup, args.steps)
            for p in d.parameters():
                p.requires_grad_(True)
        results[cfg] = (med, times)

    say("\n| config | median (s) | steps (s) |")
    say("|---|---|---|")
    for cfg, (med, times) in results.items():
        label = cfg + (" (D with SN)" if cfg == "g" and args.sn else "")
        say(f"| {label} | {med:.4f} | {', '.join(f'{t:.4f}' for t in times)} |")
    ratio = None
    if "d_plain" in results and "d_sn" in results:
        ratio = results["d_sn"][0] / results["d_plain"][0]
        say(f"\nSN / plain (D step): {ratio:.3f}")

    if args.json:
        for cfg, (med, times) in results.items():
            rec = {
                "bench": "table3_step", "impl": "pytorch", "torch": torch.__version__,
                "config": cfg, "median_s": med, "times_s": times,
                "threads": torch.get_num_threads(), "width": args.width,
                "channels_last": args.channels_last, "separate": args.separate,
                "g_with_sn_d": bool(cfg == "g" and args.sn),
                "batch": BATCH_G if cfg == "g" else 2 * BATCH_D,
                "steps": args.steps, "warmup": args.warmup,
                "params_g": g_total, "params_d": d_total,
            }
            if cfg == "d_sn" and ratio is not None:
                rec["ratio_sn_plain"] = ratio
            print(json.dumps(rec), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
