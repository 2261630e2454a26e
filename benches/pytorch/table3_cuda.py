#!/usr/bin/env python3
"""The Table 3 SN-GAN's D and G steps in PyTorch on a CUDA GPU: the PyTorch side of
`gpu_check speed` (benches/src/bin/gpu_check.rs), run on the same GPU in the same session.

The networks are those of table3_step.py (imported from it: same layers, same parameter counts).
The steps are the same as there, on the GPU:
  d_plain / d_sn: z ~ N(0, I) (64 x 128) drawn on the GPU; fake = G(z) without gradient (G in
      training mode); D on 64 fixed real images and the 64 fakes (two forwards, as the Rust side
      does; --concat for one 128-image forward); hinge loss; backward; Adam(2e-4, 0.5, 0.999).
  g: 128 samples, loss = -mean D(G(z)) with D's parameters frozen, backward, Adam on G.
f32 throughout: TF32 is off for matmuls and cuDNN convolutions unless --tf32 (dfdx uses plain
f32 cuBLAS GEMMs, so TF32 would compare different arithmetic). cuDNN autotuning
(benchmark = True) is on, as a user tuning for speed would set it.
Timing: blocks of --steps steps between torch.cuda.synchronize() calls; the median block /
steps is reported.

    python3 benches/pytorch/table3_cuda.py [--steps 10] [--warmup 3] [--tf32] [--concat]
Prints one JSON line per config.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import table3_step as t3  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=10, help="steps per timed block")
    ap.add_argument("--blocks", type=int, default=5, help="timed blocks (median reported)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--tf32", action="store_true", help="allow TF32 in matmuls and convolutions")
    ap.add_argument("--concat", action="store_true", help="D step: one forward of real+fake")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("table3_cuda.py: no CUDA device visible to PyTorch")
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda")
    torch.manual_seed(0)
    g = t3.Generator(1.0, False).to(dev)
    nets = {"d_plain": t3.Discriminator(1.0, sn=False).to(dev),
            "d_sn": t3.Discriminator(1.0, sn=True).to(dev)}
    real = torch.randn(t3.BATCH_D, 3, 32, 32, device=dev)

    def d_step(d, opt):
        opt.zero_grad(set_to_none=True)
        z = torch.randn(t3.BATCH_D, t3.Z_DIM, device=dev)
        with torch.no_grad():
            fake = g(z)
        if a.concat:
            out = d(torch.cat([real, fake], 0))
            o_real, o_fake = out[: t3.BATCH_D], out[t3.BATCH_D:]
        else:
            o_real, o_fake = d(real), d(fake)
        loss = F.relu(1.0 - o_real).mean() + F.relu(1.0 + o_fake).mean()
        loss.backward()
        opt.step()

    def g_step(d, opt):
        opt.zero_grad(set_to_none=True)
        z = torch.randn(t3.BATCH_G, t3.Z_DIM, device=dev)
        loss = -d(g(z)).mean()
        loss.backward()
        opt.step()

    def timed(fn):
        for _ in range(a.warmup):
            fn()
        times = []
        for _ in range(a.blocks):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(a.steps):
                fn()
            torch.cuda.synchronize()
            times.append((time.perf_counter() - t0) / a.steps)
        return sorted(times)[len(times) // 2]

    g.train()
    results = {}
    for cfg, d in nets.items():
        d.train()
        opt = torch.optim.Adam(d.parameters(), lr=t3.LR, betas=t3.BETAS)
        results[cfg] = timed(lambda: d_step(d, opt))
    d = nets["d_sn"]
    for p in d.parameters():
        p.requires_grad_(False)
    opt_g = torch.optim.Adam(g.parameters(), lr=t3.LR, betas=t3.BETAS)
    results["g"] = timed(lambda: g_step(d, opt_g))
    for cfg, s in results.items():
        print(json.dumps({"bench": "table3_step", "impl": "pytorch-cuda", "config": cfg,
                          "median_s": round(s, 6), "torch": torch.__version__,
                          "gpu": torch.cuda.get_device_name(0), "tf32": a.tf32,
                          "d_forwards": "one 128" if a.concat else "two 64"}), flush=True)


if __name__ == "__main__":
    main()
