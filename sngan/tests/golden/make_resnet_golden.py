#!/usr/bin/env python3
"""Golden outputs of tiny ResNet SN-GAN networks from an independent PyTorch implementation.

Writes sngan/tests/golden/resnet_tiny.json, read by sngan/tests/resnet.rs
(`matches_pytorch_on_the_same_weights`): every parameter and BN statistic under the Rust path
name, an input z and x, and PyTorch's outputs of
  - a Table 4 generator (M = 16, channels 8-8-8-8: dense 8x2x2, three up-blocks) in eval mode,
    with random BN gammas, betas and running statistics;
  - a Table 4 discriminator (M = 16, 8 channels) without SN;
  - a Table 5 discriminator (M = 16, channels 4-8-8-8-16: four down-blocks, then a block that
    changes the channels at 1x1) without SN.
The networks are the block definitions of benches/pytorch/resnet_step.py (the reference code's
blocks). Regenerate from the workspace root: python3 sngan/tests/golden/make_resnet_golden.py
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "benches", "pytorch"))
from resnet_step import BN_EPS, DBlock, GBlock  # noqa: E402


class G(nn.Module):
    def __init__(self, ch, bottom):
        super().__init__()
        self.ch, self.bottom = ch, bottom
        self.l1 = nn.Linear(128, bottom * bottom * ch[0])
        self.block2, self.block3, self.block4 = GBlock(ch[0], ch[1]), GBlock(ch[1], ch[2]), GBlock(ch[2], ch[3])
        self.b5 = nn.BatchNorm2d(ch[3], eps=BN_EPS)
        self.c5 = nn.Conv2d(ch[3], 3, 3, padding=1)

    def forward(self, z):
        h = self.l1(z).view(-1, self.ch[0], self.bottom, self.bottom)
        h = self.block4(self.block3(self.block2(h)))
        return torch.tanh(self.c5(F.relu(self.b5(h))))


class DCifar(nn.Module):
    def __init__(self, ch):
        super().__init__()
        same = lambda m: m
        self.block1 = DBlock(3, ch, same, first=True)
        self.block2 = DBlock(ch, ch, same, down=True)
        self.block3, self.block4 = DBlock(ch, ch, same), DBlock(ch, ch, same)
        self.l5 = nn.Linear(ch, 1)

    def forward(self, x):
        h = self.block4(self.block3(self.block2(self.block1(x))))
        return self.l5(F.relu(h).sum(dim=(2, 3)))


class DStl(nn.Module):
    def __init__(self, ch):
        super().__init__()
        same = lambda m: m
        self.block1 = DBlock(3, ch[0], same, first=True)
        self.block2 = DBlock(ch[0], ch[1], same, down=True)
        self.block3 = DBlock(ch[1], ch[2], same, down=True)
        self.block4 = DBlock(ch[2], ch[3], same, down=True)
        self.block5 = DBlock(ch[3], ch[4], same)
        self.l6 = nn.Linear(ch[4], 1)

    def forward(self, x):
        h = self.block5(self.block4(self.block3(self.block2(self.block1(x)))))
        return self.l6(F.relu(h).sum(dim=(2, 3)))


def flat(t):
    """Values as floats printed with 9 significant digits (exact for float32)."""
    return [float(f"{v:.9g}") for v in t.flatten().tolist()]


def rust_name(name, conv_wrapped):
    """PyTorch state-dict name -> the Rust network's tensor path."""
    parts = name.split(".")
    if parts[-1] == "weight" and parts[-2].startswith("b") and parts[-2][1:].isdigit():
        parts[-1] = "scale"  # BN gamma
    if conv_wrapped and parts[-1] in ("weight", "bias") and parts[-2] in ("c1", "c2", "sc"):
        parts.insert(-1, "conv")  # SnConv2d { conv, sn }
    return ".".join(parts)


def export(model, conv_wrapped):
    out = {}
    for name, t in model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        out[rust_name(name, conv_wrapped)] = flat(t)
    return out


def main():
    torch.manual_seed(20180215)
    g, dc, ds = G([8, 8, 8, 8], 2), DCifar(8), DStl([4, 8, 8, 8, 16])
    with torch.no_grad():
        for m in g.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    g.eval()
    z = torch.randn(3, 128)
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        fixture = {
            "g": export(g, False), "d_cifar": export(dc, True), "d_stl": export(ds, True),
            "z": flat(z), "x": flat(x), "g_out": flat(g(z)),
            "d_cifar_out": flat(dc(x)), "d_stl_out": flat(ds(x)),
            "torch": torch.__version__,
        }
    path = os.path.join(HERE, "resnet_tiny.json")
    with open(path, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
