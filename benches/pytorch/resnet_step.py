#!/usr/bin/env python3
"""One SN-GAN training step of the paper's CIFAR-10 ResNet (Table 4, M = 32), in PyTorch.

The PyTorch side of a side-by-side comparison with the Rust bench `resnet_step`
(benches/src/bin/resnet_step.rs): the same networks (the parameter counts are asserted against
the hand-derived numbers of sngan/tests/resnet.rs) and the same steps. Run both on the same
machine, with the same thread count, in one session (benches/pytorch/table3_vs_torch.py --net
resnet does).

Networks (Miyato et al., ICLR 2018, Table 4, with the blocks of pfnet-research/sngan_projection):
  G: z in R^128 -> Linear -> 256x4x4 -> 3 up-blocks (256) -> BN, ReLU, Conv 3x3 -> 3, Tanh.
     Up-block: BN -> ReLU -> nearest 2x upsample -> Conv 3x3 -> BN -> ReLU -> Conv 3x3, plus
     shortcut Conv 1x1 -> upsample (a 1x1 conv commutes with nearest upsampling: the same
     function as upsample -> 1x1 conv at a quarter of the cost; the Rust side does the same).
  D: block 1 (Conv 3x3 -> ReLU -> Conv 3x3 -> AvgPool 2; shortcut AvgPool 2 -> Conv 1x1),
     block 2 down (ReLU -> Conv -> ReLU -> Conv -> AvgPool 2; shortcut AvgPool 2 -> Conv 1x1),
     blocks 3, 4 (ReLU -> Conv -> ReLU -> Conv, identity shortcut), 128 channels throughout,
     then ReLU -> sum over H, W -> Linear -> 1. With spectral normalization (config d_sn, or
     --sn for the G step) every D layer, 1x1 shortcuts and the dense layer included, is wrapped
     in torch.nn.utils.parametrizations.spectral_norm(n_power_iterations=1).
  BN eps 2e-5 (the reference code's Chainer default). Initialisation: PyTorch's default (it does
  not affect timings).

Measured steps (f32, training mode; the ResNet schedule: Adam lr 2e-4, betas (0, 0.9), hinge):
  d_plain / d_sn: zero_grad; z ~ N(0, I) (batch_d x 128); fake = G(z) under no_grad (G in
      training mode); D on batch_d fixed real images (N(0, 1), seed 0) and the fakes, as ONE
      forward of the concatenated batch (--separate: two forwards); hinge loss; backward; Adam
      on D.
  g: zero_grad; z (batch_g x 128); loss = -mean D(G(z)); backward; Adam on G only (D's
      parameters requires_grad = False). D is plain unless --sn.
  Each config: --warmup untimed steps, then --steps timed ones; the median is reported.

Usage (workspace root):
    python3 benches/pytorch/resnet_step.py --threads 2 --sn --json
    python3 benches/pytorch/resnet_step.py --batch-d 16 --batch-g 32 --steps 2 --warmup 1
With --json, stdout carries only the JSON lines; the tables go to stderr.
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

Z_DIM = 128
LR, BETAS = 2e-4, (0.0, 0.9)  # the ResNet schedule
BN_EPS = 2e-5

# Hand-derived parameter counts (weights + biases, BN gamma + beta), as in
# sngan/tests/resnet.rs: 3x3 conv I->O: 9*I*O + O; 1x1 conv: I*O + O; BN(C): 2C.
#   G: dense 128 -> 4096: 528,384; up-block 256->256: 512 + 590,080 + 512 + 590,080 + 65,792
#      = 1,246,976 (x3); final BN 512; conv 256 -> 3: 6,915.             total 4,276,739
#   D: block1 3,584 + 147,584 + 512 = 151,680; block2 2*147,584 + 16,512 = 311,680;
#      blocks 3, 4: 295,168 each; dense 129.                             total 1,053,825
EXPECTED_G = {"l1": 528_384, "block2": 1_246_976, "block3": 1_246_976, "block4": 1_246_976,
              "b5": 512, "c5": 6_915}
EXPECTED_D = {"block1": 151_680, "block2": 311_680, "block3": 295_168, "block4": 295_168,
              "l5": 129}
assert sum(EXPECTED_G.values()) == 4_276_739
assert sum(EXPECTED_D.values()) == 1_053_825


class GBlock(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.b1 = nn.BatchNorm2d(i, eps=BN_EPS)
        self.c1 = nn.Conv2d(i, o, 3, padding=1)
        self.b2 = nn.BatchNorm2d(o, eps=BN_EPS)
        self.c2 = nn.Conv2d(o, o, 3, padding=1)
        self.sc = nn.Conv2d(i, o, 1)

    def forward(self, x):
        h = F.interpolate(F.relu(self.b1(x)), scale_factor=2, mode="nearest")
        h = self.c2(F.relu(self.b2(self.c1(h))))
        return h + F.interpolate(self.sc(x), scale_factor=2, mode="nearest")


class Generator(nn.Module):
    def __init__(self, ch=256):
        super().__init__()
        self.ch = ch
        self.l1 = nn.Linear(Z_DIM, 4 * 4 * ch)
        self.block2, self.block3, self.block4 = GBlock(ch, ch), GBlock(ch, ch), GBlock(ch, ch)
        self.b5 = nn.BatchNorm2d(ch, eps=BN_EPS)
        self.c5 = nn.Conv2d(ch, 3, 3, padding=1)

    def forward(self, z):
        h = self.l1(z).view(-1, self.ch, 4, 4)
        h = self.block4(self.block3(self.block2(h)))
        return torch.tanh(self.c5(F.relu(self.b5(h))))


class DBlock(nn.Module):
    """first: no leading ReLU, pooled shortcut; down: avg-pool; learnable: 1x1 shortcut."""

    def __init__(self, i, o, wrap, first=False, down=False):
        super().__init__()
        self.first, self.down = first, down
        self.c1 = wrap(nn.Conv2d(i, o if first else i, 3, padding=1))
        self.c2 = wrap(nn.Conv2d(o if first else i, o, 3, padding=1))
        self.sc = wrap(nn.Conv2d(i, o, 1)) if (first or down or i != o) else None

    def forward(self, x):
        h = x if self.first else F.relu(x)
        h = self.c2(F.relu(self.c1(h)))
        if self.down or self.first:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.down or self.first:
            s = F.avg_pool2d(s, 2)
        if self.sc is not None:
            s = self.sc(s)
        return h + s


class Discriminator(nn.Module):
    def __init__(self, ch=128, sn=False):
        super().__init__()
        wrap = (lambda m: nn.utils.parametrizations.spectral_norm(m, n_power_iterations=1)) \
            if sn else (lambda m: m)
        self.block1 = DBlock(3, ch, wrap, first=True)
        self.block2 = DBlock(ch, ch, wrap, down=True)
        self.block3 = DBlock(ch, ch, wrap)
        self.block4 = DBlock(ch, ch, wrap)
        self.l5 = wrap(nn.Linear(ch, 1))

    def forward(self, x):
        h = self.block4(self.block3(self.block2(self.block1(x))))
        return self.l5(F.relu(h).sum(dim=(2, 3)))


def layer_params(model):
    out = {}
    for pname, p in model.named_parameters():
        out[pname.split(".")[0]] = out.get(pname.split(".")[0], 0) + p.numel()
    return out


def d_step(g, d, opt, real, separate, gen, batch_d):
    opt.zero_grad(set_to_none=True)
    z = torch.randn(batch_d, Z_DIM, generator=gen)
    with torch.no_grad():
        fake = g(z)
    if separate:
        out_real, out_fake = d(real), d(fake)
    else:
        out = d(torch.cat([real, fake], 0))
        out_real, out_fake = out[:batch_d], out[batch_d:]
    loss = F.relu(1.0 - out_real).mean() + F.relu(1.0 + out_fake).mean()
    loss.backward()
    opt.step()
    return loss


def g_step(g, d, opt, gen, batch_g):
    opt.zero_grad(set_to_none=True)
    z = torch.randn(batch_g, Z_DIM, generator=gen)
    loss = -d(g(z)).mean()
    loss.backward()
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
    return (s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])), times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--separate", action="store_true", help="D step: two forwards (real, fake)")
    ap.add_argument("--sn", action="store_true", help="config g: D wrapped in spectral_norm")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--batch-d", type=int, default=64, help="real (and fake) images per D step")
    ap.add_argument("--batch-g", type=int, default=128, help="samples per G step")
    ap.add_argument("--configs", default="d_plain,d_sn,g")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for c in configs:
        if c not in ("d_plain", "d_sn", "g"):
            ap.error(f"unknown config {c!r}; pick from d_plain, d_sn, g")
    if args.steps < 1 or args.warmup < 0 or args.batch_d < 1 or args.batch_g < 1:
        ap.error("--steps, --batch-d, --batch-g must be >= 1 and --warmup >= 0")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    log = sys.stderr if args.json else sys.stdout

    def say(*a):
        print(*a, file=log, flush=True)

    torch.manual_seed(0)
    g = Generator()
    d_plain, d_sn = Discriminator(sn=False), Discriminator(sn=True)
    gp, dp = layer_params(g), layer_params(d_plain)
    assert gp == EXPECTED_G, f"G parameter counts {gp} != hand-derived {EXPECTED_G}"
    assert dp == EXPECTED_D, f"D parameter counts {dp} != hand-derived {EXPECTED_D}"
    assert layer_params(d_sn) == dp, "SN must not change the parameter count"
    g_total, d_total = sum(gp.values()), sum(dp.values())
    say(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batches D {args.batch_d} "
        f"G {args.batch_g}; parameters G {g_total:,} D {d_total:,} [match the hand derivation]")

    real = torch.randn(args.batch_d, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        x = g(torch.randn(2, Z_DIM))
        assert x.shape == (2, 3, 32, 32) and d_plain(x).shape == (2, 1)

    results = {}
    for cfg in configs:
        if cfg in ("d_plain", "d_sn"):
            d = d_sn if cfg == "d_sn" else d_plain
            opt = torch.optim.Adam(d.parameters(), lr=LR, betas=BETAS)
            med, times = time_steps(
                lambda: d_step(g, d, opt, real, args.separate, gen, args.batch_d),
                args.warmup, args.steps)
        else:
            d = d_sn if args.sn else d_plain
            for p in d.parameters():
                p.requires_grad_(False)
            opt = torch.optim.Adam(g.parameters(), lr=LR, betas=BETAS)
            med, times = time_steps(lambda: g_step(g, d, opt, gen, args.batch_g),
                                    args.warmup, args.steps)
            for p in d.parameters():
                p.requires_grad_(True)
        results[cfg] = (med, times)

    say("\n| config | median (s) | steps (s) |\n|---|---|---|")
    for cfg, (med, times) in results.items():
        say(f"| {cfg} | {med:.4f} | {', '.join(f'{t:.4f}' for t in times)} |")
    if "d_plain" in results and "d_sn" in results:
        say(f"\nSN / plain (D step): {results['d_sn'][0] / results['d_plain'][0]:.3f}")
    if args.json:
        for cfg, (med, times) in results.items():
            print(json.dumps({
                "bench": "resnet_step", "impl": "pytorch", "torch": torch.__version__,
                "config": cfg, "median_s": med, "times_s": times,
                "threads": torch.get_num_threads(), "separate": args.separate,
                "g_with_sn_d": bool(cfg == "g" and args.sn),
                "batch_d": args.batch_d, "batch_g": args.batch_g,
                "params_g": g_total, "params_d": d_total,
            }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
