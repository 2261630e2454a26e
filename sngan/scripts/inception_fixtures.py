"""Fixtures of sngan's Inception network test (sngan/tests/inception.rs), without the real
weights (which are 95 MB and not ours to commit).

Builds pytorch-fid's FID Inception-v3 in PyTorch (fid_inception.py), fills every tensor with
the formula weights of `formula_tensor` (a counter hash of the tensor's name and index, which
the Rust test computes identically), runs it in float64 on formula-defined images, and writes
into sngan/tests/fixtures/inception/:
- expected.npz: pool3 (N, 2048) and logits (N, 1008) per input batch (float32);
- checksums.json: the sum of every weight tensor (float64) and the first values of a few,
  so that a mismatch between the Python and Rust formulas shows up as such.

Inputs: batch "a", 1 image 299x299 (the resize is the identity); batch "b", 2 images 32x32
(CIFAR-10 size, upsampled); batch "c", 1 image 331x307 (non-square, downsampled). Pixel
(n, c, y, x) of batch B is (hash_uniform("input_B", ...) + 1) / 2 in [0, 1], pytorch-fid's
input range; the Rust test feeds hash_uniform itself, sngan's [-1, 1] range.

Usage (needs torch): python sngan/scripts/inception_fixtures.py
"""

import json
import os

import numpy as np
import torch

from fid_inception import FIDInceptionV3, fid_state_dict_keys, formula_tensor, hash_uniform

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "inception")
BATCHES = {"a": (1, 299, 299), "b": (2, 32, 32), "c": (1, 331, 307)}


def formula_model():
    model = FIDInceptionV3()
    state = model.state_dict()
    sums = {}
    for k in fid_state_dict_keys(model):
        t = formula_tensor(k, tuple(state[k].shape))
        state[k] = torch.from_numpy(t)
        sums[k] = float(t.astype(np.float64).sum())
    model.load_state_dict(state)
    return model.eval(), sums


def main():
    torch.set_num_threads(2)
    model, sums = formula_model()
    model = model.double()
    out = {}
    with torch.no_grad():
        for name, (n, h, w) in BATCHES.items():
            u = hash_uniform(f"input_{name}", n * 3 * h * w).reshape(n, 3, h, w)
            x = torch.from_numpy((u + 1.0) / 2.0)
            pool3, logits = model(x)
            out[f"pool3_{name}"] = pool3.numpy().astype(np.float32)
            out[f"logits_{name}"] = logits.numpy().astype(np.float32)
            print(name, "pool3 mean", float(pool3.mean()), "max", float(pool3.max()),
                  "logits std", float(logits.std()))
    os.makedirs(OUT, exist_ok=True)
    np.savez_compressed(os.path.join(OUT, "expected.npz"), **out)
    first = {k: [float(v) for v in formula_tensor(k, tuple(model.state_dict()[k].shape))
                 .reshape(-1)[:4]]
             for k in ["Conv2d_1a_3x3.conv.weight", "Mixed_7c.branch_pool.bn.running_var",
                       "fc.weight"]}
    with open(os.path.join(OUT, "checksums.json"), "w") as f:
        json.dump({"sums": sums, "first": first}, f, indent=0, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
